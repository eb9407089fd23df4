"""Check that the API reference will render every public object correctly.

Run by the ``docs`` nox session before ``mkdocs build`` (it needs griffe, which
mkdocstrings installs): ``python tests/docs/check_api.py``. For every name in the
``__all__`` of anyiou's public modules that is a class or a function, the numpydoc
"Parameters" section must list exactly the signature's parameters (``self``, ``*args``
and ``**kwargs`` aside), in order, one per entry, each with a type, and a default given
in the docstring (``{"a", "b"}`` choices default to their first value) must be the
signature's. Every public object and public method needs a docstring whose first line is
its summary, and every exported object is rendered by a page of docs/api/. A docstring without a
Parameters section may refer to another public object's ("Parameters ... are those of
`X`", written once per family): `X` must exist, and each parameter of the signature must
be in X's Parameters section (with the same default, where X gives one) or be named in
the docstring's own text as ````name````. Exit status 1 lists the problems.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import griffe

ROOT = Path(__file__).resolve().parents[2]
MODULES = (
    "anyiou",
    "anyiou.losses",
    "anyiou.metrics",
    "anyiou.distributed",
    "anyiou.torch",
    "anyiou.keras",
    "anyiou.monai",
)

# "Parameters and returns are those of `iou_score`", "Other parameters, ... are those of `X`"
REFERENCE = re.compile(r"parameters[^.`]*(?:``[^`]*``[^.`]*)* are those of `([^`]+)`", re.I)


def _norm(value: object) -> object:
    if value is None:
        return None
    text = str(value).strip()
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _grouped_entries(doc: str) -> list[str]:
    """The entries of the Parameters section that name several parameters."""
    lines = doc.splitlines()
    out, inside = [], False
    for i, line in enumerate(lines):
        if line.strip() == "Parameters" and i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}:
            inside = True
            continue
        if inside and i + 1 < len(lines) and lines[i + 1].strip() and set(lines[i + 1].strip()) == {"-"}:
            break  # the next section
        if inside and line and not line.startswith(" ") and "," in line.split(" : ")[0]:
            out.append(line)
    return out


def _entry_names(entry: str) -> list[str]:
    return [n.strip() for n in entry.split(" : ")[0].split(",")]


def _check_function(path: str, func: griffe.Function, problems: list[str], method: bool) -> None:
    if func.docstring is None or not func.docstring.value.strip():
        problems.append(f"{path}: no docstring")
        return
    summary = func.docstring.value.strip().splitlines()[0]
    if not summary.strip():
        problems.append(f"{path}: the docstring starts with a blank line")
    sig = [
        p for p in func.parameters
        if p.name not in ("self", "cls") and p.kind.value not in ("variadic positional", "variadic keyword")
    ]
    sections = func.docstring.parse("numpy")
    documented = [
        p for s in sections if s.kind.value == "parameters" for p in s.value
    ]
    if not documented:
        # no Parameters section: the rendered signature carries types and defaults; a
        # reference to another object's section must cover the signature
        _check_reference(path, func, sig, problems)
        return
    names = [p.name for p in documented]
    defaults = {p.name for p in sig if p.default is not None}
    for entry in _grouped_entries(func.docstring.value):
        if " : " not in entry or any(n in defaults for n in _entry_names(entry)):
            problems.append(
                f"{path}: '{entry.strip()}' groups parameters without one type or with "
                "defaults; write one entry per parameter"
            )
    if names != [p.name for p in sig]:
        problems.append(f"{path}: Parameters {names} != signature {[p.name for p in sig]}")
        return
    for doc, real in zip(documented, sig, strict=True):
        if not doc.annotation:
            problems.append(f"{path}({doc.name}): no type in the docstring")
        if doc.value is not None and _norm(doc.value) != _norm(real.default):
            problems.append(
                f"{path}({doc.name}): docstring default {doc.value!s} != signature {real.default!s}"
            )


def _parameters_section(obj: griffe.Object) -> list:
    if obj.docstring is None:
        return []
    sections = obj.docstring.parse("numpy")
    return [p for s in sections if s.kind.value == "parameters" for p in s.value]


def _resolve(func: griffe.Object, name: str) -> griffe.Object | None:
    """``name`` as a reader finds it: a full ``anyiou.`` path, or a name of the module, of
    its public package or of ``anyiou``."""
    package = func.package
    module = func.module if func.module is not None else package
    candidates = [name.removeprefix("anyiou.")] if name.startswith("anyiou.") else []
    for scope in (module, module.parent, package):
        if scope is not None and scope is not package:
            candidates.append(f"{scope.path.removeprefix('anyiou.')}.{name}")
    candidates.append(name)
    for candidate in candidates:
        try:
            obj = package[candidate]
        except KeyError:
            continue
        return obj.final_target if obj.is_alias else obj
    return None


def _check_reference(path: str, func: griffe.Function, sig: list, problems: list[str]) -> None:
    """Follow "Parameters ... are those of `X`" (X may refer on) to a Parameters section."""
    text, obj, documented = func.docstring.value, func, {}
    for _ in range(4):
        match = REFERENCE.search(obj.docstring.value)
        if match is None:
            break
        target = _resolve(obj, match[1])
        if target is None or target.docstring is None:
            problems.append(f"{path}: refers to the parameters of unknown `{match[1]}`")
            return
        documented = {p.name: p for p in _parameters_section(target)}
        if documented:
            break
        text += target.docstring.value  # the parameters its own text names count too
        obj = target
    if match is None and obj is func:
        return  # no reference: the rendered signature carries types and defaults
    if not documented:
        problems.append(f"{path}: its reference leads to no Parameters section")
        return
    for real in sig:
        doc = documented.get(real.name)
        own = f"``{real.name}``" in text
        if doc is None and not own:
            problems.append(
                f"{path}({real.name}): neither in `{match[1]}`'s Parameters nor named here"
            )
        elif doc is not None and not own and doc.value is not None and (
            _norm(doc.value) != _norm(real.default)
        ):
            problems.append(
                f"{path}({real.name}): `{match[1]}`'s default {doc.value!s} != signature "
                f"{real.default!s}"
            )


def _documented(package: griffe.Module) -> set[str]:
    """The canonical paths of the objects that the API pages (docs/api/*.md) render
    (``::: a.b.c``)."""
    paths = set()
    for page in sorted((ROOT / "docs" / "api").glob("*.md")):
        for line in page.read_text(encoding="utf-8").splitlines():
            if line.startswith("::: anyiou."):
                obj = package[line.removeprefix("::: anyiou.").strip()]
                paths.add((obj.final_target if obj.is_alias else obj).path)
    return paths


def check() -> list[str]:
    loader = griffe.GriffeLoader(search_paths=[str(ROOT / "src")], docstring_parser=griffe.Parser.numpy)
    loader.load("anyiou")
    loader.resolve_aliases(implicit=True, external=False)
    package = loader.modules_collection["anyiou"]
    problems: list[str] = []
    documented = _documented(package)
    for module_path in MODULES:
        module = package if module_path == "anyiou" else package[module_path.removeprefix("anyiou.")]
        exported = module.exports or []
        for name in exported:
            name = str(name)
            obj = module[name]
            target = obj.final_target if obj.is_alias else obj
            path = f"{module_path}.{name}"
            if target.is_module or name.startswith("__"):
                continue
            if target.path not in documented:
                problems.append(f"{path}: on no API page (add a `::: {path}` entry to docs/api/)")
            if target.is_function:
                _check_function(path, target, problems, method=False)
            elif target.is_class:
                if target.docstring is None:
                    problems.append(f"{path}: no docstring")
                    continue
                init = target.all_members.get("__init__")
                if init is not None and init.is_function:
                    fake = griffe.Function(
                        "__init__", parameters=init.parameters, docstring=target.docstring,
                        parent=target.parent,
                    )
                    _check_function(path, fake, problems, method=False)
                for member_name, member in target.members.items():
                    if member_name.startswith("_") or member.is_alias:
                        continue
                    if (member.is_function or member.is_attribute and member.labels & {"property"}) and (
                        member.docstring is None
                    ):
                        problems.append(f"{path}.{member_name}: no docstring")
                    elif member.is_function:
                        _check_function(f"{path}.{member_name}", member, problems, method=True)
    return problems


if __name__ == "__main__":
    found = check()
    print("\n".join(found) or "API docstrings: every public object checked")
    sys.exit(1 if found else 0)
