"""Result rows -> console and Markdown tables."""

from __future__ import annotations

from collections.abc import Sequence

COLUMNS = ("case", "backend", "implementation", "fwd ms", "fwd+bwd ms", "x baseline",
           "(minima)", "peak extra", "target", "status")

FAMILY_LABEL = {
    "torch": "torch CPU",
    "jax": "JAX jit (CPU)",
    "numpy": "NumPy",
    "metrics-numpy": "metric, NumPy",
    "metrics-torch": "metric, torch CPU",
    "metrics-jax": "metric, JAX jit",
}


def _ms(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.3g}" if v < 10 else f"{v:.0f}"


def _x(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}x"


def row_cells(row: dict) -> list[str]:
    if row.get("error"):
        err = row["error"]
        status = "n/a" if err.startswith("n/a") else "error"
        return [row["case"], FAMILY_LABEL[row["family"]], row["impl"], "-", "-", "-", "-",
                "-", "", f"{status}: {err[:60]}"]
    mem = row.get("mem_x")
    mem_cell = "-" if mem is None else f"{mem:.2f}x {row['mem_basis']}"
    if row.get("mem_note"):
        mem_cell += f" ({row['mem_note']})"
    checks = row.get("checks", [])
    ratio, ratio_min = _x(row.get("ratio")), _x(row.get("ratio_min"))
    if row.get("is_baseline"):
        ratio, ratio_min = "1 (base)", ""
    return [
        row["case"],
        FAMILY_LABEL[row["family"]],
        row["impl"],
        _ms(row.get("fwd_ms")),
        _ms(row.get("fb_ms")),
        ratio,
        ratio_min,
        mem_cell,
        ", ".join(c["label"] for c in checks),
        "/".join(c["status"] for c in checks),
    ]


def before_of(earlier: dict) -> dict:
    """What a later run keeps of an earlier run's results: its date, commit and the
    ratio and memory figure of every measured row."""
    keep = ("case", "family", "impl", "ratio", "ratio_min", "mem_x")
    meta = earlier.get("meta", {})
    return {"date": meta.get("date"), "commit": meta.get("commit"),
            "rows": [{k: r.get(k) for k in keep} for r in earlier.get("rows", [])
                     if not r.get("error") and not r.get("is_baseline")]}


def before_after_table(results: dict, markdown: bool) -> str:
    """anyiou's rows of this run beside the same rows of ``results["before"]``: the
    ratio to the baseline (minima in brackets) and the peak extra memory, before and
    after."""
    before = {(r["case"], r["family"], r["impl"]): r for r in results["before"]["rows"]}
    head = ("case", "backend", "implementation", "x baseline before", "after",
            "peak extra before", "after")
    body = []
    for r in results["rows"]:
        old = before.get((r["case"], r["family"], r["impl"]))
        if old is None or r.get("error") or not r["impl"].startswith("anyiou"):
            continue
        body.append((r["case"], FAMILY_LABEL[r["family"]], r["impl"], _x(old.get("ratio")),
                     _x(r.get("ratio")), _x(old.get("mem_x")), _x(r.get("mem_x"))))
    info = results["before"]
    title = (f"Before: the run of {info.get('date')}"
             + (f" (commit {info['commit']})" if info.get("commit") else "")
             + f"; after: this run ({results['meta'].get('date')}"
             + (f", commit {results['meta']['commit']}" if results["meta"].get("commit")
                else "") + ").")
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(b) + " |" for b in body]
        return "_" + title + "_\n\n" + "\n".join(lines)
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    return title + "\n" + "\n".join(_fixed(x, widths) for x in [head, *body])


def _fixed(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(s.ljust(w) for s, w in zip(cells, widths, strict=True)).rstrip()


def console_table(rows: Sequence[dict]) -> str:
    body = [row_cells(r) for r in rows]
    widths = [max(len(c[i]) for c in [list(COLUMNS), *body]) for i in range(len(COLUMNS))]
    lines = [_fixed(COLUMNS, widths), _fixed(["-" * w for w in widths], widths)]
    previous_case = None
    for c in body:
        if c[0] == previous_case:
            c = ["", *c[1:]]
        else:
            if previous_case is not None:
                lines.append("")
            previous_case = c[0]
        lines.append(_fixed(c, widths))
    return "\n".join(lines)


def markdown_table(rows: Sequence[dict]) -> str:
    out = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    previous_case = None
    for r in rows:
        c = row_cells(r)
        if c[0] == previous_case:
            c[0] = ""
        else:
            previous_case = c[0]
            c[0] = f"**{c[0]}**"
        out.append("| " + " | ".join(s.replace("|", "/") for s in c) + " |")
    return "\n".join(out)


def checks_table(checks: Sequence[dict], markdown: bool) -> str:
    head = ("case", "backend", "implementation", "check", "measured", "status",
            "ratio of minima")
    body = []
    for c in checks:
        measured = "-" if c["value"] is None else f"{c['value']:.2f}x"
        best = "" if c.get("value_min") is None else f"{c['value_min']:.2f}x"
        body.append((c["case"], FAMILY_LABEL[c["family"]], c["impl"], c["label"], measured,
                     c["status"], best))
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(b) + " |" for b in body]
        return "\n".join(lines)
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    return "\n".join(_fixed(x, widths) for x in [head, *body])


def scaling_table(points: Sequence[dict], axis: str, markdown: bool) -> str:
    """``axis``: "classes" or "image" (the spatial size), the column that varies."""
    head = (axis, "logits MiB", "CE fwd+bwd ms", "anyiou fwd+bwd ms", "x CE",
            "x CE (medians)", "anyiou ns/elem", "anyiou mem", "CE mem")
    body = []
    for p in points:
        def mem(key: str, p=p) -> str:
            v = p.get(key)
            return "-" if v is None else f"{v:.2f}x"

        body.append((
            str(p[axis]),
            f"{p['logits_bytes'] / 2**20:.1f}",
            _ms(p.get("ce_ms")),
            _ms(p.get("anyiou_ms")),
            _x(p.get("ratio")),
            _x(p.get("ratio_median")),
            "-" if p.get("ns_per_elem") is None else f"{p['ns_per_elem']:.2f}",
            mem("anyiou_mem_x"),
            mem("ce_mem_x"),
        ))
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(b) + " |" for b in body]
        return "\n".join(lines)
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    return "\n".join(_fixed(x, widths) for x in [head, *body])


# -- the generated parts of docs/benchmarks.md ------------------------------------------
# Every figure on the page comes from the run's JSON (docs/benchmarks.json): the tables,
# and the figures quoted in the prose (summary_text, scaling_text).
# tests/docs/test_benchmarks_page.py renders them from the committed JSON and compares.

BLOCKS = ("results", "checks", "summary", "before-after", "scaling-classes",
          "scaling-pixels", "scaling-summary", "evaluate", "boundary")


def results_stamp(meta: dict) -> str:
    load = ", ".join(f"{x:.1f}" for x in meta["machine"].get("load_average_at_start", []))
    return (f"_Run of {meta['date']} on {meta['machine'].get('cpu_model', 'CPU')} "
            f"({meta['machine']['cpus']} cores, load average at start {load}), "
            f"torch {meta['versions']['torch']}, jax {meta['versions']['jax']}, "
            f"`{meta['command']}`, {meta['elapsed_s'] / 60:.1f} min._")


def scaling_stamp(meta: dict, threads: int | None) -> str:
    how = f"with {threads} thread(s)" if threads else "default threads"
    return f"_Run of {meta['date']}, torch {how}._"


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
             f"fixed cost per call: {_ms(smallest.get('anyiou_ms'))} ms against "
             f"{_ms(smallest.get('ce_ms'))} ms. Peak extra memory spans "
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
        text = replace_block(text, "results", results_stamp(meta) + "\n\n"
                             + markdown_table(results["rows"]))
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
        from .evaluate import markdown

        text = replace_block(text, "evaluate", markdown(results["evaluate"]))
    if results.get("boundary"):
        from .boundary import table

        text = replace_block(text, "boundary", table(results["boundary"]))
    return text
