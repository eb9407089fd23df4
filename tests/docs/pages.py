"""Read the fenced Python examples of README.md and docs/ (see docs/architecture.md,
"Examples on the pages").

* Every ```` ```python ```` block of a page runs, in page order, in one fresh process.
* A block whose fence title starts with ``Sketch`` or ``GPU`` (```` ```python
  title="Sketch: ..." ````) is shown but not run; the title tells the reader why.
* A ```` ```text title="Output" ```` block right after a Python block is what that block
  prints; the test compares it with the captured standard output.
* ``<!-- examples: SESSION -->`` in a page names the nox session whose environment has
  the page's libraries: ``numpy`` (the default), ``torch``, ``jax``, ``dask`` or
  ``keras``. The page is collected only there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SESSIONS = ("numpy", "torch", "jax", "dask", "keras")
NOT_RUN = ("Sketch", "GPU")

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<ticks>`{3,})(?P<lang>[\w+-]*)(?P<info>.*)$")
_TITLE = re.compile(r'title="(?P<title>[^"]*)"')
_SESSION = re.compile(r"^<!--\s*examples:\s*(?P<session>[\w-]+)\s*-->\s*$", re.MULTILINE)


@dataclass
class Block:
    """One fenced block: its language, fence title, first code line (1-based) and text."""

    lang: str
    title: str
    line: int
    code: str
    output: str | None = None  # the ```text title="Output" block that follows, if any
    output_block: Block | None = None
    end: int = 0  # the line of the closing fence (1-based)

    @property
    def runs(self) -> bool:
        return self.lang in ("python", "py") and not self.title.startswith(NOT_RUN)


@dataclass
class Page:
    path: Path
    session: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.relative_to(ROOT).as_posix()

    @property
    def examples(self) -> list[Block]:
        return [b for b in self.blocks if b.runs]


def parse(path: Path) -> Page:
    """The page's session and its fenced blocks (an output block is attached to the
    Python block right before it, with only blank lines between)."""
    text = path.read_text(encoding="utf-8")
    found = _SESSION.search(text)
    session = found["session"] if found else "numpy"
    if session not in SESSIONS:
        raise ValueError(f"{path}: unknown examples session {session!r}; use one of {SESSIONS}")
    page = Page(path, session)
    lines = text.splitlines()
    i, last_end = 0, -10
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, ticks = m["indent"], m["ticks"]
        title_m = _TITLE.search(m["info"])
        start = i + 1
        j = start
        while j < len(lines) and lines[j].strip() != ticks:
            j += 1
        body = [ln[len(indent):] if ln.startswith(indent) else ln.lstrip() for ln in lines[start:j]]
        title = title_m["title"] if title_m else ""
        block = Block(m["lang"], title, start + 1, "\n".join(body) + "\n", end=j + 1)
        between = lines[last_end + 1 : i]
        if (
            block.lang == "text"
            and block.title == "Output"
            and page.blocks
            and page.blocks[-1].runs
            and all(not ln.strip() for ln in between)
        ):
            page.blocks[-1].output = block.code
            page.blocks[-1].output_block = block
        page.blocks.append(block)
        last_end = j
        i = j + 1
    return page


def all_pages() -> list[Page]:
    paths = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [parse(p) for p in paths]
