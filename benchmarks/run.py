"""anyiou benchmark: time, ratios and peak memory against cross-entropy, smp, optax,
NumPy, bincount and sklearn, on the same inputs, in one run.

    python -m benchmarks.run                  # default run (minutes; see docs/benchmarks.md)
    python -m benchmarks.run --quick          # small inputs, a smoke test (about 2 minutes)
    python -m benchmarks.run --cases multiclass-N8-C21-512x512 --families torch jax
    python -m benchmarks.run --update-docs    # also refresh docs/benchmarks.md and its chart

(from the repository root, where the package ``benchmarks`` is imported from).

This module runs the suites and writes their results: the losses and metrics
(``cpu.py``), ``anyiou evaluate`` (``evaluate.py``), Boundary IoU (``boundary.py``) and
the host cost per call (``host.py``, ``--host``); ``costmodel.py`` (``--costmodel``) the
launches and bytes of the losses on a GPU, counted without one; ``page.py`` renders
docs/benchmarks.md from the results. Nothing imports this module.

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
import subprocess
import sys
import time
from dataclasses import asdict, replace
from importlib import metadata
from pathlib import Path

from . import boundary, costmodel, cpu, evaluate, host, monai, page, report
from . import cases as _cases
from .impls import FAMILIES
from .paths import DOC, DOC_IMG, RESULTS, ROOT
from .timing import QUICK_POLICY, Policy


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
    ap.add_argument("--out", type=Path, default=RESULTS,
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
    ap.add_argument("--monai", action="store_true",
                    help="also run anyiou.monai.DiceLoss against MONAI's (benchmarks/monai.py)")
    ap.add_argument("--costmodel", action="store_true",
                    help="also the GPU cost model: launches and bytes of one "
                         "forward+backward (benchmarks/costmodel.py)")
    ap.add_argument("--host", action="store_true",
                    help="also run the host-cost sweep (benchmarks/host.py): torch CPU "
                         "forward+backward per call against smp on small inputs")
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
    results.update(cpu.measure(chosen, families, policy, args.isolate, args.threads))
    if not args.no_scaling and (args.families is None or "torch" in families):
        results["scaling"] = cpu.measure_scaling(args.quick, policy, args.isolate,
                                                 args.scaling_threads or None)
    if not (args.no_evaluate or args.cases or args.families):
        _log("anyiou evaluate vs the hand-written bincount loop")
        results["evaluate"] = evaluate.measure(evaluate.QUICK_PAIRS if args.quick else 100)
    if args.boundary:
        _log("boundary_iou vs confusion_matrix and the OpenCV per-mask loop")
        results["boundary"] = boundary.measure(quick=args.quick, threads=args.threads)
    if args.monai:
        _log("anyiou.monai.DiceLoss vs MONAI's DiceLoss (torch CPU)")
        results["monai"] = monai.measure(quick=args.quick, threads=args.threads)
    if args.costmodel:
        _log("GPU cost model: launches and bytes against cross-entropy and smp")
        results["costmodel"] = costmodel.measure()
    if args.host:
        _log("host cost per call: anyiou vs smp vs cross-entropy (torch CPU)")
        results["host"] = host.measure(quick=args.quick)
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
        print()
        print(evaluate.summary(results["evaluate"]))
    if results.get("boundary"):
        print()
        print(boundary.markdown(results["boundary"]))
    if results.get("monai"):
        print()
        print(monai.markdown(results["monai"]))
    if results.get("costmodel"):
        print()
        print(costmodel.markdown(results["costmodel"]))
    if results.get("host"):
        print()
        print(host.markdown(results["host"]))

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
        page.update_docs(results, png)
        print(f"updated {DOC.relative_to(ROOT)}"
              + (f" and {DOC_IMG.relative_to(ROOT)}" if png else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
