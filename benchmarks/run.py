"""anyiou benchmark: time, ratios and peak memory against cross-entropy, smp, optax,
NumPy, bincount and sklearn, on the same inputs, in one run.

    python -m benchmarks.run                  # default run (minutes; see docs/benchmarks.md)
    python -m benchmarks.run --quick          # small inputs, a smoke test (about 2 minutes)
    python -m benchmarks.run --cases multiclass-N8-C21-512x512 --families torch jax
    python -m benchmarks.run --update-docs    # also refresh docs/benchmarks.md and its chart

(from the repository root: the package ``benchmarks`` and the tests' smp loader,
``tests.support.oracles``, are imported from there).

Each (case, library) is measured in a fresh process (``worker.py``; ``--isolate``: one
per loss implementation): the peak extra memory of each implementation in turn
(``memory.py``), then the median times of forward and forward+backward after warm-up,
all implementations interleaved (``timing.py``). Prints ratios to the family's
baseline, checks the performance targets (``targets.py``), and writes
``<out>/benchmarks.json`` (and a dated copy) and ``<out>/benchmarks.png``. No timing is
asserted anywhere: timings on a shared machine are noisy, the ratios are what to read.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, replace
from importlib import metadata
from pathlib import Path

from . import cases as _cases
from . import report
from .impls import BASELINE, FAMILIES, LOSS_FAMILIES, impl_names
from .memory import run_isolated
from .targets import checks_for
from .timing import QUICK_POLICY, Policy

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

DOC = ROOT / "docs" / "benchmarks.md"
DOC_IMG = ROOT / "docs" / "img" / "benchmarks.png"
DOC_JSON = ROOT / "docs" / "benchmarks.json"  # the data of the page (tests/docs checks it)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for dist in ("anyiou", "numpy", "torch", "jax", "jaxlib", "optax",
                 "segmentation-models-pytorch", "scikit-learn", "array-api-compat"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def _commit() -> str | None:
    """The short git commit of the measured checkout (None outside a git checkout)."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _machine() -> dict:
    info = {"platform": platform.platform(), "cpus": os.cpu_count(),
            "processor": platform.processor()}
    try:
        model = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        if model:
            info["cpu_model"] = model.group(1).strip()
    except OSError:
        pass
    try:
        info["load_average_at_start"] = os.getloadavg()
    except OSError:
        pass
    return info


# -- measuring -------------------------------------------------------------------------


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


# -- docs ------------------------------------------------------------------------------


def update_docs(results: dict, png: Path | None) -> None:
    """Render the generated blocks of docs/benchmarks.md (tables and the figures quoted in
    its prose) from ``results``, and commit-ready copies of the JSON and the chart."""
    text = report.render_page(DOC.read_text(), results)
    DOC_JSON.write_text(json.dumps(results, indent=1, default=str) + "\n")
    DOC.write_text(text)
    if png is not None and png.exists():
        DOC_IMG.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, DOC_IMG)


# -- main ------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="small inputs and few repeats (a smoke test)")
    ap.add_argument("--cases", nargs="+", metavar="CASE",
                    help="case names (default: all five; 'ref' = the reference case, "
                         "'none' = no case, e.g. for the scaling tables alone)")
    ap.add_argument("--families", nargs="+", choices=FAMILIES, metavar="FAMILY",
                    help=f"subset of {', '.join(FAMILIES)} (default: all)")
    ap.add_argument("--isolate", action="store_true",
                    help="one process per loss implementation (default: per case and "
                         "library)")
    ap.add_argument("--threads", type=int, default=None, metavar="N",
                    help="torch/NumPy threads in the workers (OMP_NUM_THREADS and "
                         "torch.set_num_threads; default: the libraries' own default)")
    ap.add_argument("--scaling-threads", type=int, default=1, metavar="N",
                    help="torch threads of the scaling tables (default 1: the cost of the "
                         "algorithm, not the wait for a free core; 0 = torch's default)")
    ap.add_argument("--lovasz", choices=("some", "all", "none"), default="some",
                    help="Lovasz losses on the reference and binary cases (some, the "
                         "default), on every case (all) or nowhere (none)")
    ap.add_argument("--no-scaling", action="store_true", help="skip the scaling tables")
    ap.add_argument("--no-evaluate", action="store_true",
                    help="skip `anyiou evaluate` against the hand-written loop "
                         "(benchmarks/evaluate.py; run by default without --cases/--families)")
    ap.add_argument("--out", type=Path, default=HERE / "results",
                    help="output folder (default: benchmarks/results)")
    ap.add_argument("--update-docs", action="store_true",
                    help="write the tables into docs/benchmarks.md and the chart to "
                         "docs/img/benchmarks.png")
    ap.add_argument("--no-plot", action="store_true", help="do not draw the PNG chart")
    ap.add_argument("--before", type=Path, default=None, metavar="JSON",
                    help="an earlier run's benchmarks.json (e.g. of the previous release): "
                         "its ratios and memory figures are printed, charted and written to "
                         "the docs beside this run's")
    ap.add_argument("--boundary", action="store_true",
                    help="also run the Boundary IoU benchmark (benchmarks/boundary.py)")
    return ap.parse_args(argv)


def select_cases(args: argparse.Namespace) -> list[_cases.Case]:
    pool = _cases.QUICK_CASES if args.quick else _cases.CASES
    if args.cases:
        known = _cases.all_cases()
        chosen = []
        for name in args.cases:
            if name == "none":  # e.g. the scaling tables alone
                continue
            if name == "ref":
                name = pool[0].name
            if name not in known:
                raise SystemExit(f"unknown case {name!r}; known: {', '.join(known)}")
            chosen.append(known[name])
        pool = chosen
    if args.lovasz != "some":
        pool = [replace(c, lovasz=args.lovasz == "all") for c in pool]
    return pool


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    policy = QUICK_POLICY if args.quick else Policy()
    chosen = select_cases(args)
    families = list(args.families or FAMILIES)
    started = time.perf_counter()
    results: dict = {
        "meta": {
            "date": _dt.datetime.now().isoformat(timespec="seconds"),
            "command": "python -m benchmarks.run " + " ".join(sys.argv[1:] if argv is None
                                                              else argv),
            "quick": args.quick,
            "threads": args.threads,
            "policy": asdict(policy),
            "machine": _machine(),
            "versions": _versions(),
            "reference_case": chosen[0].name if chosen else None,
            "commit": _commit(),
        },
        "cases": [],
        "rows": [],
        "checks": [],
    }
    for case in chosen:
        _log(f"{case.name}: {case.describe()}, logits {case.logits_bytes / 2**20:.0f} MiB")
        measured = measure_case(case, families, policy, args.isolate, args.threads)
        rows = rows_of(case, measured)
        results["cases"].append({"case": case.name, "mode": case.mode,
                                 "shape": case.logits_shape,
                                 "logits_bytes": case.logits_bytes, "measured": measured})
        results["rows"] += rows
        results["checks"] += [c for r in rows for c in r.get("checks", [])]
    if not args.no_scaling and (args.families is None or "torch" in families):
        by_c = _cases.QUICK_SCALING_CLASSES if args.quick else _cases.SCALING_CLASSES
        by_p = _cases.QUICK_SCALING_PIXELS if args.quick else _cases.SCALING_PIXELS
        _log(f"scaling (torch CPU, JaccardLoss vs cross-entropy, "
             f"{args.scaling_threads or 'default'} thread(s))")
        results["scaling"] = {
            "threads": args.scaling_threads or None,
            "classes": scaling_points(by_c, policy, args.isolate, args.scaling_threads or None),
            "pixels": scaling_points(by_p, policy, args.isolate, args.scaling_threads or None),
        }
    if not (args.no_evaluate or args.cases or args.families):
        from . import evaluate as cli_bench

        _log("anyiou evaluate vs the hand-written bincount loop")
        results["evaluate"] = cli_bench.run(cli_bench.QUICK_PAIRS if args.quick else 100)
    if args.boundary:
        from . import boundary

        _log("boundary_iou vs confusion_matrix and the OpenCV per-mask loop")
        results["boundary"] = boundary.measure(quick=args.quick, threads=args.threads)
    if args.before is not None:
        results["before"] = report.before_of(json.loads(args.before.read_text()))
    results["meta"]["elapsed_s"] = time.perf_counter() - started

    print()
    print(report.console_table(results["rows"]))
    if results.get("before"):
        print()
        print(report.before_after_table(results, markdown=False))
    print()
    print("Performance targets (ratios; noisy on a shared machine):")
    print(report.checks_table(results["checks"], markdown=False))
    if results.get("scaling"):
        print()
        threads = results["scaling"]["threads"]
        print(f"Scaling, torch CPU forward+backward ({threads or 'default'} thread(s)), "
              "classes at fixed pixels:")
        print(report.scaling_table(results["scaling"]["classes"], "classes", False))
        print()
        print("Scaling, pixels at fixed classes:")
        print(report.scaling_table(results["scaling"]["pixels"], "image", False))

    if results.get("evaluate"):
        from .evaluate import summary

        print()
        print(summary(results["evaluate"]))
    if results.get("boundary"):
        from .boundary import table

        print()
        print(table(results["boundary"]))

    args.out.mkdir(parents=True, exist_ok=True)
    json_path = args.out / "benchmarks.json"
    text = json.dumps(results, indent=1, default=str)
    json_path.write_text(text)  # the latest run, and a dated copy
    stamp = results["meta"]["date"].replace(":", "")
    (args.out / f"benchmarks-{stamp}.json").write_text(text)
    png = None
    if not args.no_plot and results["rows"]:
        try:
            from . import plot

            png = plot.draw(results, args.out / "benchmarks.png")
        except ImportError as exc:
            _log(f"no chart: {exc}")
    print(f"\nwrote {json_path}" + (f" and {png}" if png else "")
          + f" in {results['meta']['elapsed_s'] / 60:.1f} min")
    if args.update_docs:
        update_docs(results, png)
        print(f"updated {DOC.relative_to(ROOT)}"
              + (f" and {DOC_IMG.relative_to(ROOT)}" if png else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
