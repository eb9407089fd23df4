"""The ``Examples`` of every public docstring (shown in the API reference) run as
doctests, each module in the session that has its library (as the pages,
tests/docs/test_pages.py): ``anyiou.torch`` and ``anyiou.distributed`` in the torch
session, ``anyiou.keras`` in the keras sessions, everything else in the numpy session."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

import anyiou
from tests.docs.test_pages import _sessions

SESSION_OF = {"anyiou.torch": "torch", "anyiou.distributed": "torch", "anyiou.keras": "keras"}
SKIP = ("anyiou._lib", "anyiou.cli", "anyiou.__main__", "anyiou._demo")


def _session(name: str) -> str:
    for prefix, session in SESSION_OF.items():
        if name == prefix or name.startswith(prefix + "."):
            return session
    return "numpy"


def _modules() -> list[str]:
    """Module names from the files (nothing is imported here: ``anyiou.keras`` must not
    be imported outside the keras sessions)."""
    root = Path(anyiou.__file__).parent
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if not name.startswith(SKIP):
            names.append(name)
    wanted = _sessions()
    return [n for n in names if _session(n) in wanted]


MODULES = _modules()


@pytest.mark.own_session  # MODULES holds this session's modules
def _check_module(name: str) -> None:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name):
        if test.name.split(".")[-1].startswith("_") and test.name != name:
            continue
        # objects imported from elsewhere are tested in their own module
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed (see output)"


if MODULES:  # an empty parametrization would be reported as a skip in other sessions
    test_docstring_examples = pytest.mark.parametrize("name", MODULES)(_check_module)
