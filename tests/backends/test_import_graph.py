"""The layers of ``src/anyiou`` import downwards only, read statically from the source
(every ``import`` statement, at module level and inside functions, relative and
absolute): the kernels import nothing else of anyiou; the rest of ``_lib`` nothing of
the losses, metrics, CLI or framework adapters; the losses and metrics nothing of the
CLI or the adapters. A pure check of the files: it runs once, on no backend."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

#: (package prefix, rank): a module may import modules of its own rank or lower. The
#: first matching prefix decides; anything else of anyiou (the package root, `_demo`,
#: `data`) counts as the top.
LAYERS = (
    ("anyiou._lib.kernels", 0),
    ("anyiou._lib", 1),
    ("anyiou.losses", 2),
    ("anyiou.metrics", 2),
    ("anyiou.cli", 3),
    ("anyiou.torch", 3),
    ("anyiou.keras", 3),
    ("anyiou.distributed", 3),
    ("anyiou.monai", 3),
)
TOP = 3


def _rank(module: str) -> int:
    for prefix, rank in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return rank
    return TOP


def _module_name(path: Path) -> tuple[str, bool]:
    """The dotted name of a source file, and whether it is a package's ``__init__``."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    package = parts[-1] == "__init__"
    if package:
        parts.pop()
    return ".".join(parts), package


def _is_module(name: str) -> bool:
    base = SRC.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports_of(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` for every anyiou module that ``path`` imports, anywhere in it."""
    name, package = _module_name(path)
    here = name.split(".") if package else name.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(here[: len(here) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            for alias in node.names:  # `from pkg import module` imports pkg.module
                sub = f"{target}.{alias.name}"
                found.append((node.lineno, sub if _is_module(sub) else target))
    return [(line, m) for line, m in found if m == "anyiou" or m.startswith("anyiou.")]


def upward_imports(src: Path = SRC) -> list[str]:
    """Every import of a higher layer, as ``file:line: module -> module``."""
    bad = []
    for path in sorted((src / "anyiou").rglob("*.py")):
        name, _ = _module_name(path)
        for line, target in imports_of(path):
            if _rank(target) > _rank(name):
                bad.append(f"{path.relative_to(src)}:{line}: {name} -> {target}")
    return bad


def test_the_reader_sees_every_kind_of_import():
    """The reader itself, on this tree's own files: relative and absolute imports, at
    module level and inside functions (hand-checked lines)."""
    lovasz = imports_of(SRC / "anyiou" / "losses" / "_lovasz.py")
    assert any(m == "anyiou._lib.kernels" for _, m in lovasz)  # from .._lib import kernels
    assert any(m == "anyiou._lib._namespace" for _, m in lovasz)  # from .._lib._namespace
    lovasz_ref = imports_of(SRC / "anyiou" / "_lib" / "kernels" / "_standard_lovasz.py")
    # `from . import cumulative_sum, sort_along_last` inside a function
    assert any(m == "anyiou._lib.kernels" for _, m in lovasz_ref)
    assert _rank("anyiou._lib.kernels._torch") < _rank("anyiou._lib._values")
    assert _rank("anyiou.metrics._boundary") < _rank("anyiou.torch")
    assert _rank("anyiou") == TOP


def test_no_layer_imports_a_higher_one():
    assert upward_imports() == []
