"""The loss and metric benchmark's results -> console and Markdown tables (``cpu.py``
prints them, ``page.py`` puts the Markdown ones on docs/benchmarks.md)."""

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


def fmt_ms(v: float | None) -> str:
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
        fmt_ms(row.get("fwd_ms")),
        fmt_ms(row.get("fb_ms")),
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
            fmt_ms(p.get("ce_ms")),
            fmt_ms(p.get("anyiou_ms")),
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


def results_stamp(meta: dict) -> str:
    load = ", ".join(f"{x:.1f}" for x in meta["machine"].get("load_average_at_start", []))
    return (f"_Run of {meta['date']} on {meta['machine'].get('cpu_model', 'CPU')} "
            f"({meta['machine']['cpus']} cores, load average at start {load}), "
            f"torch {meta['versions']['torch']}, jax {meta['versions']['jax']}, "
            f"`{meta['command']}`, {meta['elapsed_s'] / 60:.1f} min._")


def scaling_stamp(meta: dict, threads: int | None) -> str:
    how = f"with {threads} thread(s)" if threads else "default threads"
    return f"_Run of {meta['date']}, torch {how}._"
