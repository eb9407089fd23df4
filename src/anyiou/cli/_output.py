"""Writing the report: to stdout, or to ``--output`` whole, with the usual permissions."""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from .._interrupt import deferred, finished, pending, stop_if_interrupted
from ._errors import EvaluationError, shown

__all__ = ["check_output", "write_report"]

_PREFIX_CHARS = 100  # of the output's name kept in its temporary file's name


def _stdout(pieces: Iterable[str]) -> None:
    for text in pieces:
        try:
            sys.stdout.write(text)
        except UnicodeEncodeError:  # a terminal that cannot show every character
            enc = sys.stdout.encoding or "ascii"
            sys.stdout.write(text.encode(enc, "backslashreplace").decode(enc))
    sys.stdout.flush()


def _write(f: BinaryIO, pieces: Iterable[str]) -> None:
    for text in pieces:
        f.write(text.encode("utf-8", "backslashreplace"))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mode(target: Path) -> int:
    """The existing file's permissions, or those of a new file (0666 less the umask)."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _special(target: Path) -> bool:
    """Whether ``target`` exists and is neither a regular file nor a folder (a device such
    as /dev/null or /dev/stdout, a named pipe): written in place, never replaced."""
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def check_output(output: str | None) -> None:
    """Refuse an ``--output`` whose folder does not exist (or is no folder), naming the
    folder: checked before any file is read, and again when the report is written.

    Raises
    ------
    EvaluationError
        The folder that would hold ``output`` is missing or not a folder.
    """
    if output is None:
        return
    folder = Path(output).parent  # as written; where a link leads, if it is there
    if folder.is_dir():
        folder = Path(os.path.realpath(output)).parent
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "does not exist"
        raise EvaluationError(
            f"cannot write --output {shown(output)}: the folder {shown(folder)} {problem}"
        )


def write_report(text: str | Iterable[str], output: str | None) -> None:
    """Print ``text`` (a string, or its pieces in order), or write it to ``output``
    whole: a temporary file in the same folder, renamed over ``output`` once complete.

    A new file gets the permissions of any new file (0666 less the umask); a file
    overwritten keeps its own. A symbolic link is followed (the file it names is
    replaced, the link kept); a device or a named pipe is written into, not replaced.
    The temporary file never outlives this call.

    Raises
    ------
    EvaluationError
        ``output`` cannot be written (a missing folder, no permission, a folder...).
    """
    pieces = [text] if isinstance(text, str) else text
    if output is None:
        _stdout(pieces)
        finished()
        return
    target = Path(os.path.realpath(output))
    label = f"--output {shown(output)}"
    if target.is_dir():
        raise EvaluationError(f"cannot write {label}: it is a folder")
    check_output(output)
    if _special(target):
        try:
            with open(target, "wb") as f:
                _write(f, pieces)
        except OSError as exc:
            raise EvaluationError(f"cannot write {label}: {exc}") from exc
        finished()
        return
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp",
                                   prefix=f".{target.name[:_PREFIX_CHARS]}.")
        with deferred():  # a Ctrl-C now: no rename, the temporary file removed below
            with os.fdopen(fd, "wb") as f:
                _write(f, pieces)
            os.chmod(tmp, _mode(target))  # mkstemp makes it 0600
            if not pending():
                os.replace(tmp, target)
                tmp = None
                finished()
    except OSError as exc:
        raise EvaluationError(f"cannot write {label}: {exc}") from exc
    finally:
        if tmp is not None:  # any error, KeyboardInterrupt or SIGINT included
            try:
                os.remove(tmp)
            except OSError:
                pass
    stop_if_interrupted()
