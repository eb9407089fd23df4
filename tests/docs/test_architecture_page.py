"""docs/architecture.md maps the code: its tree lists every module under src/anyiou.

The tree is the ``text`` block that starts with ``src/anyiou/``. An entry is a line whose
name column (before a space) is one ``name.py`` or ``name/``; its indentation (two
spaces a level) places it in the folder above it. Lines that continue a description
(indented past the name column) are skipped. The expected set is the hand-written
reading of the files on disk, so a module added, renamed or moved without its line on
the page fails here.
"""

from __future__ import annotations

import re

from tests.docs.pages import ROOT

PAGE = ROOT / "docs" / "architecture.md"
SRC = ROOT / "src" / "anyiou"
ENTRY = re.compile(r"^(?P<indent> *)(?P<name>[A-Za-z0-9_]+(?:\.py|/))(?: |$)")


def _tree_lines() -> list[str]:
    text = PAGE.read_text(encoding="utf-8")
    start = text.index("```text\nsrc/anyiou/\n") + len("```text\n")
    block = text[start : text.index("```", start)]
    lines = block.splitlines()
    # the src/anyiou/ part ends at the next top-level entry (tests/, benchmarks/, ...)
    end = next((i for i, line in enumerate(lines[1:], 1) if line and not line.startswith(" ")),
               len(lines))
    return lines[1:end]


def listed_modules() -> set[str]:
    """The paths (relative to src/anyiou, with ``/``) of the .py files the tree lists."""
    folders: list[tuple[int, str]] = []  # (indent, name/) of the enclosing folders
    found = set()
    for line in _tree_lines():
        match = ENTRY.match(line)
        if match is None:
            continue
        indent, name = len(match["indent"]), match["name"]
        while folders and folders[-1][0] >= indent:
            folders.pop()
        if name.endswith("/"):
            folders.append((indent, name))
        else:
            found.add("".join(f for _, f in folders) + name)
    return found


def test_the_tree_parser_reads_nested_entries() -> None:
    """Hand-checked entries of three depths, so the parser is not vacuous."""
    listed = listed_modules()
    assert {"__init__.py", "losses/_overlap.py", "_lib/kernels/_standard.py"} <= listed


def test_every_module_is_on_the_architecture_page() -> None:
    on_disk = {p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py")}
    listed = listed_modules()
    missing = sorted(on_disk - listed)
    stale = sorted(listed - on_disk)
    assert not missing, f"modules without a line in docs/architecture.md's tree: {missing}"
    assert not stale, f"docs/architecture.md's tree lists modules that do not exist: {stale}"
