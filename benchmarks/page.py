"""Render the generated blocks of docs/benchmarks.md from the benchmarks' JSON.

    python -m benchmarks.page      # render docs/benchmarks.md from docs/benchmarks.json
    python -m benchmarks.page --costmodel benchmarks/results/costmodel.json \
        --host benchmarks/results/host.json   # first merge those runs into the JSON

Every figure on the page comes from the run's JSON (docs/benchmarks.json): the tables,
and the figures quoted in the prose (:func:`summary_text`, :func:`scaling_text`). Each
block sits between ``<!-- name:start -->`` and ``<!-- name:end -->`` (:data:`BLOCKS`);
the tables of each benchmark come from its own module's ``markdown()``.
``benchmarks.run --update-docs`` and ``benchmarks.evaluate --update-docs`` write the
page through this module; tests/docs/test_benchmarks_page.py renders it again from the
committed JSON and compares.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from . import boundary, costmodel, cpu, evaluate, host, monai
from .paths import DOC, DOC_IMG, DOC_JSON, ROOT
from .report import before_after_table, checks_table, fmt_ms, scaling_stamp, scaling_table

BLOCKS = ("headline", "results", "checks", "summary", "before-after", "scaling-classes",
          "scaling-pixels", "scaling-summary", "evaluate", "boundary", "costmodel", "host",
          "monai")
#: results of the suites run on their own (``benchmarks.costmodel``, ``benchmarks.host``,
#: ``benchmarks.monai``), kept in docs/benchmarks.json when a run without them updates
#: the page
STANDALONE = ("costmodel", "host", "monai")


def _span(values: Sequence[float], fmt: str = "{:.2f}", unit: str = "x") -> str:
    lo, hi = min(values), max(values)
    a, b = fmt.format(lo), fmt.format(hi)
    return f"{a}{unit}" if a == b else f"{a}-{b}{unit}"


def _measured(rows: Sequence[dict], family: str, impls: Sequence[str]) -> list[dict]:
    return [r for r in rows if r["family"] == family and r["impl"] in impls
            and not r.get("error") and r.get("ratio") is not None
            and not r.get("is_baseline")]


def _figures(rows: Sequence[dict], family: str, impls: Sequence[str]) -> str | None:
    """'a-bx <baseline> over N cases, c-dx the <basis> in extra memory'."""
    found = _measured(rows, family, impls)
    if not found:
        return None
    text = f"{_span([r['ratio'] for r in found])}"
    sorts = [r["sort_ratio"] for r in found if r.get("sort_ratio") is not None]
    if sorts:
        text += f" ({_span(sorts)} one sort of its errors)"
    mems = [r["mem_x"] for r in found if r.get("mem_x") is not None]
    if mems:
        text += f" with {_span(mems)} the {found[0]['mem_basis']} in extra memory"
    cases = len({r["case"] for r in found})
    return text + f" ({cases} case{'s' if cases > 1 else ''})"


# (family, label, baseline name, [(label, implementations)])
_SUMMARY = (
    ("torch", "torch CPU", "cross-entropy", (
        ("Jaccard and Dice", ("anyiou-jaccard", "anyiou-dice")),
        ("smp 0.6.0's Jaccard and Dice", ("smp-jaccard", "smp-dice")),
        ("Lovász", ("anyiou-lovasz",)),
        ("smp 0.6.0's Lovász", ("smp-lovasz",)),
    )),
    ("jax", "JAX jit (CPU)", "optax's cross-entropy", (
        ("Jaccard and Dice", ("anyiou-jaccard", "anyiou-dice")),
        ("Lovász", ("anyiou-lovasz",)),
    )),
    ("numpy", "NumPy (forward)", "a NumPy softmax (sigmoid)", (
        ("Jaccard and Dice", ("anyiou-jaccard", "anyiou-dice")),
        ("Lovász", ("anyiou-lovasz",)),
    )),
    ("metrics-numpy", "metric, NumPy", "`bincount`", (
        ("confusion matrix and `MeanIoU.update`", ("anyiou-confmat", "anyiou-meaniou")),
        ("sklearn's `jaccard_score`", ("sklearn",)),
    )),
    ("metrics-torch", "metric, torch CPU", "`bincount`", (
        ("confusion matrix and `MeanIoU.update`", ("anyiou-confmat", "anyiou-meaniou")),
    )),
    ("metrics-jax", "metric, JAX jit", "`bincount`", (
        ("confusion matrix and `MeanIoU.update`", ("anyiou-confmat", "anyiou-meaniou")),
    )),
)


# (family, label, implementations) of the headline table, baseline first
_HEADLINE = (
    ("torch", "torch CPU", ("cross-entropy", "anyiou-jaccard", "anyiou-dice", "anyiou-lovasz",
                            "smp-jaccard", "smp-dice", "smp-lovasz")),
    ("jax", "JAX jit (CPU)", ("optax-ce", "anyiou-jaccard", "anyiou-dice", "anyiou-lovasz")),
    ("metrics-numpy", "metric, NumPy", ("bincount", "anyiou-meaniou", "sklearn")),
)


def headline_table(results: dict) -> str:
    """The reference case (the run's first) in a few rows: time of one call
    (forward+backward for the losses), its ratio to the backend's baseline and the peak
    extra memory."""
    case = results["cases"][0]["case"]
    rows = {(r["family"], r["impl"]): r for r in results["rows"] if r["case"] == case}
    out = [f"Case `{case}`; lower is better.", "",
           "| backend | implementation | ms | x baseline | peak extra memory |",
           "|---|---|---|---|---|"]
    for family, label, impls in _HEADLINE:
        for impl in impls:
            r = rows.get((family, impl))
            if r is None or r.get("error"):
                continue
            ms = r.get("fb_ms") if r.get("fb_ms") is not None else r.get("fwd_ms")
            ratio = "1 (base)" if r.get("is_baseline") else (
                "-" if r.get("ratio") is None else f"{r['ratio']:.2f}x")
            mem = "-" if r.get("mem_x") is None else f"{r['mem_x']:.2f}x {r['mem_basis']}"
            if r.get("mem_note") and r.get("mem_x") is not None:
                mem += f" ({r['mem_note']})"
            out.append(f"| {label} | {impl} | {fmt_ms(ms)} | {ratio} | {mem} |")
    return "\n".join(out)


def summary_text(rows: Sequence[dict]) -> str:
    """The figures of the results table, as ranges over the cases (ratios of medians,
    forward+backward where measured): one bullet per backend."""
    out = []
    for family, label, baseline, groups in _SUMMARY:
        parts = []
        for what, impls in groups:
            figures = _figures(rows, family, impls)
            if figures is not None:
                parts.append(f"{what} {figures}")
        if parts:
            out.append(f"- **{label}**, against {baseline}: " + "; ".join(parts) + ".")
    return "\n".join(out)


def scaling_text(scaling: dict) -> str:
    """The figures of the scaling tables, in one paragraph."""
    points = [*scaling.get("classes", []), *scaling.get("pixels", [])]
    points = [p for p in points if p.get("ratio") is not None]
    if not points:
        return ""
    ns = [p["ns_per_elem"] for p in points if p.get("ns_per_elem") is not None]
    mib = [p["logits_bytes"] / 2**20 for p in points]
    big = [p for p in points if p["logits_bytes"] >= 64 * 2**20]
    smallest = min(points, key=lambda p: p["logits_bytes"])
    mems = [p["anyiou_mem_x"] for p in points if p.get("anyiou_mem_x") is not None]
    text = (f"In these runs anyiou costs {_span(ns, '{:.1f}', ' ns')} per logit element from "
            f"{min(mib):.0f} MiB to {max(mib):.0f} MiB of logits")
    if big:
        text += (f"; from 64 MiB of logits up it takes {_span([p['ratio'] for p in big])} "
                 "the time of cross-entropy")
    text += (f". The smallest input ({smallest['logits_bytes'] / 2**20:.1f} MiB) shows the "
             f"fixed cost per call: {fmt_ms(smallest.get('anyiou_ms'))} ms against "
             f"{fmt_ms(smallest.get('ce_ms'))} ms. Peak extra memory spans "
             f"{_span(mems)} the logits.")
    return text


def replace_block(text: str, name: str, body: str) -> str:
    """Replace what lies between ``<!-- name:start -->`` and ``<!-- name:end -->``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if text.count(start) != 1 or text.count(end) != 1:
        raise ValueError(f"docs/benchmarks.md needs one {start} ... {end} block")
    head, rest = text.split(start)
    _, tail = rest.split(end)
    return f"{head}{start}\n{body}\n{end}{tail}"


def render_page(text: str, results: dict) -> str:
    """docs/benchmarks.md with every generated block rendered from ``results``."""
    meta = results["meta"]
    if results.get("rows"):
        text = replace_block(text, "headline", headline_table(results))
        text = replace_block(text, "results", cpu.markdown(results))
        text = replace_block(text, "checks", checks_table(results["checks"], True))
        checks = results.get("checks") or []
        passed = sum(c["status"] == "PASS" for c in checks)
        head = (f"- **Targets of the specification**: {passed} of {len(checks)} checks pass "
                "(table above).\n" if checks else "")
        text = replace_block(text, "summary", head + summary_text(results["rows"]))
    if results.get("before"):
        text = replace_block(text, "before-after", before_after_table(results, True))
    scaling = results.get("scaling") or {}
    stamp = scaling_stamp(meta, scaling.get("threads")) + "\n\n"
    if scaling.get("classes"):
        text = replace_block(text, "scaling-classes",
                             stamp + scaling_table(scaling["classes"], "classes", True))
    if scaling.get("pixels"):
        text = replace_block(text, "scaling-pixels",
                             stamp + scaling_table(scaling["pixels"], "image", True))
    if scaling.get("classes") or scaling.get("pixels"):
        text = replace_block(text, "scaling-summary", scaling_text(scaling))
    if results.get("evaluate"):
        text = replace_block(text, "evaluate", evaluate.markdown(results["evaluate"]))
    if results.get("boundary"):
        text = replace_block(text, "boundary", boundary.markdown(results["boundary"]))
    if results.get("costmodel"):
        text = replace_block(text, "costmodel", costmodel.page_table(results["costmodel"]))
    if results.get("host"):
        note = results["host"].get("note")
        text = replace_block(text, "host", host.markdown(results["host"])
                             + (f"\n\n{note}" if note else ""))
    if results.get("monai"):
        text = replace_block(text, "monai", monai.markdown(results["monai"]))
    return text


def update_docs(results: dict, png: Path | None = None) -> None:
    """Write ``results`` to docs/benchmarks.json, render the generated blocks of
    docs/benchmarks.md from it and copy the chart ``png`` to docs/img/benchmarks.png."""
    if DOC_JSON.exists():
        committed = json.loads(DOC_JSON.read_text())
        results = {**{k: committed[k] for k in STANDALONE if k in committed}, **results}
    text = render_page(DOC.read_text(), results)
    DOC_JSON.write_text(json.dumps(results, indent=1, default=str) + "\n")
    DOC.write_text(text)
    if png is not None and png.exists():
        DOC_IMG.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, DOC_IMG)


def main(argv: list[str] | None = None) -> int:
    """Render docs/benchmarks.md from the committed docs/benchmarks.json (after merging
    the standalone runs given)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for key in STANDALONE:
        ap.add_argument(f"--{key}", metavar="JSON",
                        help=f"merge this {key} result into docs/benchmarks.json first")
    ap.add_argument("--note", default=None,
                    help="a line under the host table (the machine, its load)")
    args = ap.parse_args(argv)
    results = json.loads(DOC_JSON.read_text())
    merged = False
    for key in STANDALONE:
        path = getattr(args, key)
        if path:
            results[key] = json.loads(Path(path).read_text())
            merged = True
    if args.note and "host" in results:
        results["host"]["note"] = args.note
        merged = True
    if merged:
        DOC_JSON.write_text(json.dumps(results, indent=1, default=str) + "\n")
    text = DOC.read_text()
    new = render_page(text, results)
    if new != text:
        DOC.write_text(new)
    print(f"{DOC.relative_to(ROOT)} {'updated' if new != text else 'unchanged'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
