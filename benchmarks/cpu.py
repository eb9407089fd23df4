"""The loss and metric benchmark on the CPU libraries: each (case, library) in a fresh
process (``worker.py``; ``isolate``: one per loss implementation), the ratios of every
implementation to its family's baseline (``impls.py``) and the performance targets
(``targets.py``); and the scaling series (torch CPU, JaccardLoss against cross-entropy,
classes at fixed pixels and pixels at fixed classes). ``python -m benchmarks.run`` runs
it; the tables are in ``report.py``.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict

from . import cases as _cases
from . import report
from .impls import BASELINE, FAMILIES, LOSS_FAMILIES, impl_names
from .memory import run_isolated
from .targets import checks_for
from .timing import Policy


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _isolated(base: dict, impls: list[str]) -> dict:
    result = run_isolated({**base, "impls": impls})
    if "error" in result and not set(impls) & set(result):
        return {impl: {"error": result["error"]} for impl in impls}
    return result


def measure_case(case: _cases.Case, families: list[str], policy: Policy,
                 isolate: bool = False, threads: int | None = None) -> dict:
    """{family: {impl: raw worker result}} for one case.

    One fresh process per (case, family); with ``isolate``, one per (case, loss
    implementation).
    """
    out: dict = {}
    for family in families:
        names = impl_names(family, case)
        base = {"case": case.name, "family": family, "policy": asdict(policy),
                "threads": threads}
        groups = [[n] for n in names] if (isolate and family in LOSS_FAMILIES) else [names]
        out[family] = {}
        for group in groups:
            t0 = time.perf_counter()
            out[family].update(_isolated(base, group))
            label = group[0] if len(group) == 1 else "(all)"
            _log(f"  {case.name:28s} {family:14s} {label:16s} "
                 f"{time.perf_counter() - t0:6.1f} s")
    return out


# -- rows and checks -------------------------------------------------------------------


def rows_of(case: _cases.Case, measured: dict) -> list[dict]:
    """Flat table rows (with ratios and target checks) of one case's measurements."""
    rows = []
    sklearn = measured.get("metrics-numpy", {}).get("sklearn", {})
    sklearn_ms = sklearn.get("fwd", {}).get("median_ms")
    for family in FAMILIES:
        if family not in measured:
            continue
        results = measured[family]
        base_res = results.get(BASELINE[family], {})
        for impl, res in results.items():
            row: dict = {"case": case.name, "family": family, "impl": impl,
                         "is_baseline": impl == BASELINE[family]}
            if "error" in res:
                row["error"] = res["error"]
                rows.append(row)
                continue
            row["fwd_ms"] = res.get("fwd", {}).get("median_ms")
            row["fb_ms"] = res.get("fb", {}).get("median_ms")
            key = "fb" if "fb" in res else "fwd"
            mine = res.get(key, {}).get("median_ms")
            theirs = base_res.get(key, {}).get("median_ms")
            row["ratio"] = mine / theirs if (mine and theirs) else None
            # ratio of the fastest repeats: less sensitive to other load on the machine
            mine = res.get(key, {}).get("min_ms")
            theirs = base_res.get(key, {}).get("min_ms")
            row["ratio_min"] = mine / theirs if (mine and theirs) else None
            row["ratio_of"] = key
            if impl == "anyiou-lovasz" and "sort" in results:  # its floor, in the same run
                sort = results["sort"].get(key, {})
                for mine_key, sort_key in (("median_ms", "sort_ratio"), ("min_ms",
                                                                        "sort_ratio_min")):
                    mine, theirs = res.get(key, {}).get(mine_key), sort.get(mine_key)
                    row[sort_key] = mine / theirs if (mine and theirs) else None
            basis = res.get("basis_bytes") or 0
            mem = res.get("xla_extra_bytes", res.get("mem_bytes"))
            row["mem_bytes"] = mem
            row["mem_x"] = mem / basis if (mem is not None and basis) else None
            row["mem_basis"] = "logits" if family in LOSS_FAMILIES else "labels"
            if "xla_extra_bytes" in res:
                row["mem_note"] = "XLA"
                row["rss_mem_x"] = res["mem_bytes"] / basis if basis else None
            row["checks"] = [c.as_dict() for c in checks_for(case.name, family, impl, row,
                                                             sklearn_ms)]
            rows.append(row)
    return rows


def scaling_points(series: list[_cases.Case], policy: Policy, isolate: bool,
                   threads: int | None) -> list[dict]:
    points = []
    for case in series:
        base = {"case": case.name, "family": "torch", "policy": asdict(policy),
                "threads": threads}
        names = ["cross-entropy", "anyiou-jaccard"]
        groups = [[n] for n in names] if isolate else [names]
        t0 = time.perf_counter()
        measured: dict = {}
        for group in groups:
            measured.update(_isolated(base, group))
        _log(f"  {case.name:28s} {'torch':14s} {'(scaling)':16s} "
             f"{time.perf_counter() - t0:6.1f} s")
        ce, mine = measured.get("cross-entropy", {}), measured.get("anyiou-jaccard", {})
        # The fastest repeat: on a busy machine the median of a small case measures
        # mostly the wait for a free core (see docs/benchmarks.md, Noise).
        ce_ms = ce.get("fb", {}).get("min_ms")
        my_ms = mine.get("fb", {}).get("min_ms")
        ce_med = ce.get("fb", {}).get("median_ms")
        my_med = mine.get("fb", {}).get("median_ms")
        elems = case.logits_bytes // 4
        points.append({
            "case": case.name,
            "classes": case.c,
            "image": "x".join(map(str, case.spatial)),
            "pixels": case.pixels,
            "logits_bytes": case.logits_bytes,
            "ce_ms": ce_ms,
            "anyiou_ms": my_ms,
            "ce_median_ms": ce_med,
            "anyiou_median_ms": my_med,
            "ratio": my_ms / ce_ms if (my_ms and ce_ms) else None,
            "ratio_median": my_med / ce_med if (my_med and ce_med) else None,
            "ns_per_elem": my_ms * 1e6 / elems if my_ms else None,
            "anyiou_mem_x": (mine["mem_bytes"] / case.logits_bytes
                             if "mem_bytes" in mine else None),
            "ce_mem_x": ce["mem_bytes"] / case.logits_bytes if "mem_bytes" in ce else None,
            "errors": {k: v["error"] for k, v in measured.items() if "error" in v},
        })
    return points


def measure(chosen: list[_cases.Case], families: list[str], policy: Policy,
            isolate: bool = False, threads: int | None = None) -> dict:
    """Every case of ``chosen`` on ``families``: ``{"cases", "rows", "checks"}`` (the
    raw measurements per case, the table rows with ratios, the target checks)."""
    out: dict = {"cases": [], "rows": [], "checks": []}
    for case in chosen:
        _log(f"{case.name}: {case.describe()}, logits {case.logits_bytes / 2**20:.0f} MiB")
        measured = measure_case(case, families, policy, isolate, threads)
        rows = rows_of(case, measured)
        out["cases"].append({"case": case.name, "mode": case.mode,
                             "shape": case.logits_shape,
                             "logits_bytes": case.logits_bytes, "measured": measured})
        out["rows"] += rows
        out["checks"] += [c for r in rows for c in r.get("checks", [])]
    return out


def measure_scaling(quick: bool, policy: Policy, isolate: bool = False,
                    threads: int | None = None) -> dict:
    """The scaling series: ``{"threads", "classes", "pixels"}`` (points of
    :func:`scaling_points`; ``threads``: torch's threads, None = its default)."""
    by_c = _cases.QUICK_SCALING_CLASSES if quick else _cases.SCALING_CLASSES
    by_p = _cases.QUICK_SCALING_PIXELS if quick else _cases.SCALING_PIXELS
    _log(f"scaling (torch CPU, JaccardLoss vs cross-entropy, "
         f"{threads or 'default'} thread(s))")
    return {
        "threads": threads,
        "classes": scaling_points(by_c, policy, isolate, threads),
        "pixels": scaling_points(by_p, policy, isolate, threads),
    }


def markdown(results: dict) -> str:
    """The results block of docs/benchmarks.md: the run's stamp (``results["meta"]``)
    and the table of every row."""
    return report.results_stamp(results["meta"]) + "\n\n" + report.markdown_table(
        results["rows"])
