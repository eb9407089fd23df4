"""Every page's Python examples run, and shown output matches (tests/docs/pages.py).

A page is collected only in the nox session it names (``<!-- examples: SESSION -->``),
so it is never a skip elsewhere: ``ANYIOU_BACKENDS`` selects the ``tests`` session's
backend and ``KERAS_BACKEND`` marks the ``keras`` sessions. Without ``ANYIOU_BACKENDS``
every page whose libraries import runs (Keras pages only with ``KERAS_BACKEND`` set).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.pages import ROOT, all_pages

_MODULES = {"numpy": "numpy", "torch": "torch", "jax": "jax", "dask": "dask", "keras": "keras"}


def _sessions() -> set[str]:
    keras = os.environ.get("KERAS_BACKEND", "").strip()
    if keras:  # a keras session: only the Keras pages
        return {"keras"}
    raw = os.environ.get("ANYIOU_BACKENDS", "").strip()
    if raw in ("", "auto", "all"):
        return {s for s, m in _MODULES.items() if s != "keras" and importlib.util.find_spec(m)}
    return {s.strip() for s in raw.split(",")} & set(_MODULES)


PAGES = [p for p in all_pages() if p.examples and p.session in _sessions()]


def test_every_page_declares_a_known_session() -> None:
    """Parsing succeeds for every page (an unknown session is an error), and every page
    with examples is run by some session."""
    pages = all_pages()
    assert any(p.examples for p in pages)


@pytest.mark.slow  # a Python subprocess per page
@pytest.mark.own_session  # PAGES holds this session's pages
def _check_page(page, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    env.pop("JAX_ENABLE_X64", None)
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "docs" / "run_page.py"), page.name],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-8000:]


if PAGES:  # an empty parametrization would be reported as a skip in other sessions
    test_page_examples = pytest.mark.parametrize(
        "page", PAGES, ids=[p.name for p in PAGES])(_check_page)


@pytest.mark.slow  # a Python subprocess per page
def _check_cli_example_output(tmp_path: Path) -> None:
    """The table docs/cli.md shows for ``anyiou evaluate --example`` is what it prints."""
    page = next(p for p in all_pages() if p.name == "docs/cli.md")
    blocks = page.blocks
    shown = next(
        b2.code for b1, b2 in zip(blocks, blocks[1:], strict=False)
        if b1.lang == "bash" and "anyiou evaluate --example" in b1.code and b2.title == "Output"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, "-m", "anyiou", "evaluate", "--example", "--quiet"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == shown.strip()


if "numpy" in _sessions():  # collected in the numpy session only, never a skip elsewhere
    test_cli_example_output_on_the_page = _check_cli_example_output
