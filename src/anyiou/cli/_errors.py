"""The one exception type of the command line, and how it shows names in messages."""

from __future__ import annotations

from typing import Any

__all__ = ["EvaluationError", "shown"]


class EvaluationError(Exception):
    """Bad input met while evaluating (files, shapes, labels, options).

    ``anyiou evaluate`` prints its message to stderr on one line and exits with status
    1, writing nothing else.
    """


def _escape(c: str) -> str:
    return c if c.isprintable() else c.encode("unicode_escape").decode("ascii")


def shown(text: Any) -> str:
    """``text`` as printable text on one line: a file name or a message.

    Bytes of a file name that are not UTF-8 (kept by Python as surrogate escapes) are
    written ``\\xNN``, control characters (newlines, tabs...) as Python escapes, so a
    name always fits any report and any terminal, the same way everywhere.

    Examples
    --------
    >>> import os
    >>> shown(os.fsdecode(b"scene_\\xff.png"))
    'scene_\\\\xff.png'
    >>> shown("a\\nb")
    'a\\\\nb'
    """
    s = str(text)
    try:
        s = s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that is not an escaped byte
        s = s.encode("utf-8", "backslashreplace").decode("utf-8")
    return s if s.isprintable() else "".join(_escape(c) for c in s)
