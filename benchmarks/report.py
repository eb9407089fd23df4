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
