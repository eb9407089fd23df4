"""Ctrl-C at any moment of a command-line run: exit status 130, one line on stderr.

:func:`install` (the very first thing ``python -m anyiou`` and the ``anyiou`` script
do) replaces Python's SIGINT handler. Python's own raises ``KeyboardInterrupt``
wherever the main thread happens to be: inside an import (a traceback), inside a
finalizer or a callback of a library (printed as "Exception ignored", then the run
went on and wrote its report), or while a library's threads shut down (SIGABRT). This
handler raises nothing: it writes the line with ``os.write`` and ends the process with
``os._exit(130)`` (no finalizer, no thread join). The one moment that must not be cut
is the writing of ``--output`` (a temporary file, then a rename): inside
:func:`deferred` the signal is only recorded, and the writer drops its temporary file
and stops (:func:`stop_if_interrupted`) instead of renaming it. Once the report is
written (:func:`finished`), a late signal changes nothing: the run ends with status 0.

In-process calls of :func:`anyiou.cli.main` (tests, notebooks) install nothing and see
``KeyboardInterrupt`` as before (:func:`anyiou.cli._guarded` turns it into 130). The
module lives outside :mod:`anyiou.cli` so that installing it imports nothing else.
"""

from __future__ import annotations

import os
import signal
import sys

__all__ = ["deferred", "finished", "install", "pending", "stop_if_interrupted"]

EXIT_STATUS = 130
_state = {"installed": False, "deferred": False, "pending": False, "finished": False}


def _prog() -> str:
    """``anyiou evaluate`` / ``anyiou demo`` from the raw arguments (nothing parsed yet)."""
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    return f"anyiou {command}" if command in ("evaluate", "demo") else "anyiou"


def _stop() -> None:
    try:
        os.write(2, f"{_prog()}: interrupted\n".encode())
    finally:
        os._exit(EXIT_STATUS)


def _handler(signum: int, frame: object) -> None:
    if _state["finished"]:
        return
    if _state["deferred"]:
        _state["pending"] = True
        return
    _stop()


def install() -> None:
    """Handle SIGINT as described above (main thread of a command-line run only)."""
    try:
        signal.signal(signal.SIGINT, _handler)
    except (ValueError, OSError):  # not the main thread: leave Python's handler
        return
    _state["installed"] = True


class deferred:  # noqa: N801 (used as a function: ``with deferred():``)
    """Within: a SIGINT is recorded, not acted on (see :func:`stop_if_interrupted`).

    A class, not ``contextlib``: this module is imported before anything else (it
    imports only ``os``, ``signal`` and ``sys``).
    """

    def __enter__(self) -> None:
        self._previous = _state["deferred"]
        _state["deferred"] = True

    def __exit__(self, *exc: object) -> None:
        _state["deferred"] = self._previous


def pending() -> bool:
    """Whether a SIGINT came during :func:`deferred` (always False when not installed)."""
    return _state["installed"] and _state["pending"]


def stop_if_interrupted() -> None:
    """End the process as interrupted if a SIGINT came during :func:`deferred`."""
    if _state["installed"] and _state["pending"]:
        _stop()


def finished() -> None:
    """The report is out: a SIGINT from now on changes nothing (status 0)."""
    if _state["installed"]:
        _state["finished"] = True
