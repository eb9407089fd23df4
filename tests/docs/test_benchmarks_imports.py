"""benchmarks/ imports one way: no import cycle between its modules (imports at module
level and inside functions alike) and nothing from ``tests`` (the tests may import the
benchmarks' page renderer, never the other way round). Read statically with ``ast``."""

from __future__ import annotations

import ast

from tests.docs.pages import ROOT

PACKAGE = ROOT / "benchmarks"


def _imports(path, modules: set[str]) -> set[str]:
    """Every module ``path`` imports anywhere in its body, as a dotted name; the
    package's own modules as ``benchmarks.<name>``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "benchmarks" if node.level else ""
            if node.module:
                base = f"{base}.{node.module}" if base else node.module
            found.add(base)
            for alias in node.names:  # ``from . import page``: the submodule page
                if f"{base}.{alias.name}" in modules:
                    found.add(f"{base}.{alias.name}")
    return found - {"benchmarks"}


def import_graph() -> dict[str, set[str]]:
    """``{module: modules it imports}`` for every module of benchmarks/."""
    files = {f"benchmarks.{p.stem}" if p.stem != "__init__" else "benchmarks": p
             for p in PACKAGE.glob("*.py")}
    return {name: _imports(path, set(files)) for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or None (depth-first
    search; edges to names outside the graph are ignored)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_the_cycle_finder_on_hand_made_graphs() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"a"}}) == ["a", "a"]
    assert find_cycle({"a": {"numpy"}}) is None


def test_the_graph_holds_the_imports_of_the_sources() -> None:
    """Module-level, relative ``from . import x`` and function-level imports are read
    (edges written in the sources)."""
    graph = import_graph()
    assert {"benchmarks.run", "benchmarks.page", "benchmarks.worker"} <= set(graph)
    assert {"benchmarks.page", "benchmarks.cpu", "benchmarks.evaluate"} <= graph["benchmarks.run"]
    assert {"benchmarks.cpu", "benchmarks.evaluate", "benchmarks.boundary",
            "benchmarks.paths"} <= graph["benchmarks.page"]
    assert "benchmarks.plot" in graph["benchmarks.run"]  # imported inside main()
    assert "anyiou" in graph["benchmarks.impls"]  # imported inside a function


def test_benchmarks_import_no_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle in benchmarks/: " + " -> ".join(cycle or [])


def test_benchmarks_import_nothing_from_tests() -> None:
    bad = {name: sorted(m for m in imported if m == "tests" or m.startswith("tests."))
           for name, imported in import_graph().items()}
    assert {k: v for k, v in bad.items() if v} == {}


def test_nothing_imports_run() -> None:
    """``run`` is the top of the graph: the suites and the page renderer below it."""
    importers = [name for name, imported in import_graph().items()
                 if "benchmarks.run" in imported]
    assert importers == []
