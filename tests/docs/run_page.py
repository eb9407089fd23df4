"""Run one page's examples in this process: ``python tests/docs/run_page.py PAGE`` (PAGE
relative to the repository root). Blocks run in page order in one namespace; a block
with an output block must print exactly that text. Exit status 1 names the failing block.

``--update`` writes what each block printed into its output block instead of comparing
(for a maintainer who changed an example; review the diff)."""

from __future__ import annotations

import contextlib
import io
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.docs.pages import ROOT, parse  # noqa: E402


def _normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def main(name: str, update: bool = False) -> int:
    page = parse(ROOT / name)
    namespace: dict = {"__name__": "__main__"}
    replacements: list[tuple[int, int, str]] = []
    for block in page.examples:
        out = io.StringIO()
        where = f"{page.name}:{block.line}"
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(block.code, where, "exec"), namespace)
        except BaseException:
            sys.stdout.write(out.getvalue())
            print(f"\nthe example at {where} raised:", file=sys.stderr)
            traceback.print_exc()
            return 1
        sys.stdout.write(out.getvalue())
        if update and block.output_block is not None:
            ob = block.output_block
            replacements.append((ob.line, ob.end, out.getvalue()))
            continue
        if block.output is not None and _normalise(out.getvalue()) != _normalise(block.output):
            print(
                f"\nthe example at {where} printed\n{out.getvalue()}\n"
                f"but the page shows\n{block.output}",
                file=sys.stderr,
            )
            return 1
    if replacements:
        lines = page.path.read_text(encoding="utf-8").splitlines(keepends=True)
        for first, end, text in sorted(replacements, reverse=True):
            lines[first - 1 : end - 1] = [ln + "\n" for ln in text.rstrip("\n").splitlines()]
        page.path.write_text("".join(lines), encoding="utf-8")
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    update = "--update" in args
    sys.exit(main(next(a for a in args if a != "--update"), update))
