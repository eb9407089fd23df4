"""Finding label maps (folders, single files, globs) and pairing predictions with targets."""

from __future__ import annotations

import fnmatch
import glob
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._errors import EvaluationError, shown

__all__ = ["LABEL_SUFFIXES", "LabelSource", "Pair", "expand", "match"]

#: File types read as label maps.
LABEL_SUFFIXES = (".png", ".tif", ".tiff", ".npy", ".npz")
_GLOB_CHARS = set("*?[")
_LISTED = 20  # names listed per side in an "unmatched files" error


@dataclass(frozen=True)
class LabelSource:
    """One label map: a file, or one array (``member``) of an ``.npz`` file."""

    path: Path
    member: str | None = None

    def __str__(self) -> str:
        """The path (and ``[member]``) as shown in messages and reports (see ``shown``)."""
        text = f"{self.path}[{self.member}]" if self.member is not None else str(self.path)
        return shown(text)


@dataclass(frozen=True)
class Pair:
    """A prediction and its target, with the key they were matched by."""

    key: str
    pred: LabelSource
    target: LabelSource


@dataclass(frozen=True)
class _Entry:
    rel_key: str  # path relative to the folder (or glob prefix), without suffix
    stem_key: str  # file stem only
    source: LabelSource


def _npz_members(path: Path) -> list[str]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return list(z.files)
    except Exception as exc:  # zipfile.BadZipFile, OSError, ValueError...
        raise EvaluationError(f"cannot read {shown(path)}: {exc}") from exc


def _entries(path: Path, rel_key: str, stem_key: str, single: bool) -> list[_Entry]:
    if path.suffix.lower() != ".npz":
        return [_Entry(rel_key, stem_key, LabelSource(path))]
    members = _npz_members(path)
    if not members:
        raise EvaluationError(f"{shown(path)} holds no array")
    if len(members) == 1:
        return [_Entry(rel_key, stem_key, LabelSource(path, members[0]))]
    # Several arrays: one label map each. Inside a single file they are matched by
    # array name; inside a folder by "<file>/<array>".
    out = []
    for m in members:
        rel, stem = (m, m) if single else (f"{rel_key}/{m}", f"{stem_key}/{m}")
        out.append(_Entry(rel, stem, LabelSource(path, m)))
    return out


def _dangling(p: Path, role: str) -> EvaluationError:
    return EvaluationError(
        f"{role} {shown(p)} is a symbolic link to {shown(os.readlink(p))}, which does not "
        "exist; remove the link or restore its file"
    )


def _walk(root: Path, role: str) -> list[Path]:
    """Every entry but folders under ``root``, links to folders followed, breadth first.

    Each real folder is listed once (by ``(st_dev, st_ino)``), at the shallowest path
    that reaches it: a link back to a folder already seen (a loop such as ``up -> ..``)
    or to one met elsewhere adds nothing.
    """
    seen = {_identity(root)}
    files: list[Path] = []
    level = [root]
    while level:
        deeper = []
        for folder in level:
            with os.scandir(folder) as it:
                names = sorted(e.name for e in it)
            for name in names:
                p = folder / name
                if p.is_dir():  # follows links
                    ident = _identity(p)
                    if ident not in seen:
                        seen.add(ident)
                        deeper.append(p)
                else:  # a file, or a dangling link (refused by _label_files)
                    files.append(p)
        level = deeper
    return files


def _label_files(paths: list[Path], role: str) -> list[Path]:
    """The label maps among ``paths``, each real file once (:func:`_once`); a dangling
    link named like a label map is an error (never skipped silently)."""
    out = []
    for p in paths:
        if p.suffix.lower() not in LABEL_SUFFIXES:
            continue
        if p.is_file():
            out.append(p)
        elif p.is_symlink() and not p.exists():
            raise _dangling(p, role)
    return _once(out)


def _identity(p: Path) -> tuple[int, int]:
    st = os.stat(p)
    return st.st_dev, st.st_ino


def _once(files: list[Path]) -> list[Path]:
    """``files`` with each real file (``os.path.realpath``) kept once, at its shortest
    path (then the first in order): a file reached through links (a loop, a second link
    to a folder) is scored once. Hard links are distinct files."""
    best: dict[str, Path] = {}
    for p in files:
        real = os.path.realpath(p)
        kept = best.get(real)
        if kept is None or (len(p.parts), str(p)) < (len(kept.parts), str(kept)):
            best[real] = p
    return sorted(best.values())


def _segment_matches(name: str, pattern: str) -> bool:
    """One path component against one glob component, as :mod:`glob` (hidden names only
    by a pattern that starts with a dot)."""
    if name.startswith(".") and not pattern.startswith("."):
        return False
    return fnmatch.fnmatchcase(name, pattern)


def _glob_matches(parts: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    """Whether the components ``parts`` match the glob components ``pattern``, where
    ``**`` stands for any number of (non-hidden) folders."""
    if not pattern:
        return not parts
    if pattern[0] == "**":
        return any(_glob_matches(parts[k:], pattern[1:]) for k in range(len(parts) + 1)
                   if not any(q.startswith(".") for q in parts[:k]))
    return bool(parts) and _segment_matches(parts[0], pattern[0]) and _glob_matches(
        parts[1:], pattern[1:])


def _glob(spec: str, root: Path, role: str) -> list[Path]:
    """The files ``spec`` matches. A recursive ``**`` is matched on one walk of ``root``
    (:func:`_walk`: each real folder once, loops cut) instead of :func:`glob.glob`,
    which follows a link loop until the path is too long (and multiplies the paths
    with every loop)."""
    if "**" not in Path(spec).parts:
        return [Path(p) for p in glob.glob(spec, recursive=True)]
    rest = Path(spec).parts[len(root.parts) if root != Path(".") else 0:]
    if not root.is_dir():
        return []
    return [p for p in _walk(root, role) if _glob_matches(p.relative_to(root).parts, rest)]


def _rel_key(p: Path, root: Path) -> str:
    return p.relative_to(root).with_suffix("").as_posix()


def _glob_root(pattern: str) -> Path:
    parts = Path(pattern).parts
    fixed = []
    for part in parts[:-1]:
        if _GLOB_CHARS & set(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def expand(spec: str, role: str) -> list[_Entry]:
    """The label maps named by ``spec``: a folder (searched recursively), a file or a glob.

    ``role`` ("PRED" or "TARGET") names the argument in error messages.
    """
    try:
        return _expand(spec, role)
    except OSError as exc:  # an unreadable folder, a name too long...
        raise EvaluationError(f"cannot read {role} {shown(spec)}: {exc}") from exc


def _expand(spec: str, role: str) -> list[_Entry]:
    path = Path(spec)
    if path.is_dir():
        files = _label_files(_walk(path, role), role)
        if not files:
            raise EvaluationError(
                f"{role} folder {shown(spec)} holds no label map ({', '.join(LABEL_SUFFIXES)})"
            )
        out = []
        for p in files:
            out += _entries(p, _rel_key(p, path), p.stem, single=False)
        return out
    if path.is_file():
        if path.suffix.lower() not in LABEL_SUFFIXES:
            raise EvaluationError(
                f"{role} file {shown(spec)} is not a label map: expected one of "
                f"{', '.join(LABEL_SUFFIXES)}"
            )
        return _entries(path, path.stem, path.stem, single=True)
    if _GLOB_CHARS & set(spec):
        root = _glob_root(spec)
        files = _label_files(_glob(spec, root, role), role)
        if not files:
            raise EvaluationError(f"{role} pattern {shown(repr(spec))} matches no label map")
        out = []
        for p in files:
            rel = os.path.relpath(p, root)
            out += _entries(p, Path(rel).with_suffix("").as_posix(), p.stem, single=False)
        return out
    raise EvaluationError(
        f"{role} {shown(spec)} does not exist (expected a folder, a file or a glob)"
    )


def _keyed(entries: list[_Entry], attr: str) -> tuple[dict[str, LabelSource], list[str]]:
    """Entries by key, and the keys that more than one entry share."""
    out: dict[str, LabelSource] = {}
    repeated = []
    for e in entries:
        k = getattr(e, attr)
        if k in out:
            repeated.append(k)
        out.setdefault(k, e.source)
    return out, repeated


def _listing(sources: list[LabelSource]) -> str:
    shown_ = [str(s) for s in sources[:_LISTED]]
    if len(sources) > _LISTED:
        shown_.append(f"... and {len(sources) - _LISTED} more")
    return ", ".join(shown_)


def _same_name(entries: list[_Entry], key: str, role: str) -> EvaluationError:
    files = [str(e.source) for e in entries if e.rel_key == key]
    return EvaluationError(
        f"{role} holds {len(files)} label maps named {shown(key)!r}: {', '.join(files)}; "
        "keep one"
    )


def match(pred_spec: str, target_spec: str) -> list[Pair]:
    """Pair every prediction with its target, sorted by key.

    Two single files (PRED and TARGET each naming one file that holds one label map) are
    paired whatever their names. Otherwise label maps are matched by their path relative
    to the folder (or to the fixed part of a glob) without suffix or, when the layouts
    differ, by file stem; a folder holding one file is matched by name like any other.
    Any prediction without a target, or target without a prediction, is an error that
    names them (up to 20 per side), on one line.
    """
    preds = expand(pred_spec, "PRED")
    targets = expand(target_spec, "TARGET")
    single = Path(pred_spec).is_file() and Path(target_spec).is_file()
    if single and len(preds) == 1 and len(targets) == 1:
        p, t = preds[0], targets[0]
        return [Pair(p.stem_key or p.source.path.stem, p.source, t.source)]
    best: tuple[int, str, dict, dict] | None = None
    for attr in ("rel_key", "stem_key"):
        (kp, rep_p), (kt, rep_t) = _keyed(preds, attr), _keyed(targets, attr)
        if attr == "rel_key" and (rep_p or rep_t):
            raise (_same_name(preds, rep_p[0], "PRED") if rep_p
                   else _same_name(targets, rep_t[0], "TARGET"))
        if rep_p or rep_t:  # stems repeat in different folders: no matching by stem
            continue
        if kp.keys() == kt.keys():
            return [Pair(k, kp[k], kt[k]) for k in sorted(kp)]
        overlap = len(kp.keys() & kt.keys())
        if best is None or overlap > best[0]:
            best = (overlap, attr, kp, kt)
    assert best is not None  # relative paths never repeat once past the check above
    _, attr, kp, kt = best
    how = "relative path" if attr == "rel_key" else "file stem"
    msg = [f"PRED and TARGET files do not match (by {how})"]
    lone_p = [kp[k] for k in sorted(kp.keys() - kt.keys())]
    lone_t = [kt[k] for k in sorted(kt.keys() - kp.keys())]
    if lone_p:
        msg.append(f"{len(lone_p)} of {len(kp)} predictions have no target: {_listing(lone_p)}")
    if lone_t:
        msg.append(f"{len(lone_t)} of {len(kt)} targets have no prediction: {_listing(lone_t)}")
    raise EvaluationError("; ".join(msg))
