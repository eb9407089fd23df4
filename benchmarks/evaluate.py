"""``anyiou evaluate`` against the loop a user writes by hand, whole commands timed.

    python -m benchmarks.evaluate                 # 100 Cityscapes-sized pairs (2048x1024)
    python -m benchmarks.evaluate --quick         # 12 pairs, a smoke test
    python -m benchmarks.evaluate --pairs 40 --runs 5 --keep /tmp/evaldata
    python -m benchmarks.evaluate --update-docs   # also refresh docs/benchmarks.md
    python -m benchmarks.evaluate --quick --boundary  # also time --boundary

The data are made here, in a temporary folder (or ``--keep DIR``, reused when it already
holds them): blocky 19-class label maps (2048x1024 uint8 PNG) with noisy pixels and
about 2% void (255) in the targets, predictions that differ from them by blocks and
noise. Two commands, each in a fresh process, are run in turn (A B A B ...) so that a
change of the machine's load hits both alike:

* ``anyiou evaluate PRED GT --num-classes 19 --ignore-index 255 --format json -q``;
* the hand-written loop (:data:`HAND_LOOP`): Pillow ``open``, ``np.asarray``,
  ``np.bincount(gt[m] * C + pred[m])`` one pair after the other.

With ``--boundary``, a third command, the first with ``--boundary`` (Boundary IoU
counted in the same pass), joins the rotation, and its wall time over the plain
command's is reported (target: at most 2).

Their confusion matrices must be equal. Printed: the minimum over runs of wall time,
user+system CPU time and peak resident memory of each, the ratios ours / hand loop
(minimum over minimum), and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .paths import DOC_JSON, ROOT

NUM_CLASSES = 19
VOID = 255
SHAPE = (1024, 2048)  # rows, columns: Cityscapes
QUICK_PAIRS = 12

#: The ten-line loop a user writes by hand (argv: PRED GT C IGNORE); prints the (C, C)
#: confusion matrix (rows target) as JSON.
HAND_LOOP = """
import json, sys
from pathlib import Path
import numpy as np
from PIL import Image
pred_dir, gt_dir = Path(sys.argv[1]), Path(sys.argv[2])
C, ignore = int(sys.argv[3]), int(sys.argv[4])
cm = np.zeros(C * C, dtype=np.int64)
for p in sorted(pred_dir.glob("*.png")):
    pred = np.asarray(Image.open(p))
    gt = np.asarray(Image.open(gt_dir / p.name))
    m = gt != ignore
    cm += np.bincount(gt[m].astype(np.int64) * C + pred[m], minlength=C * C)
print(json.dumps(cm.reshape(C, C).tolist()))
"""


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- data ----------------------------------------------------------------------------------


def make_pair(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(prediction, target) uint8 label maps of :data:`SHAPE`: blocks of classes, noise,
    about 2% void (255) in the target."""
    h, w = SHAPE
    coarse = rng.integers(0, NUM_CLASSES, size=(h // 32, w // 32), dtype=np.uint8)
    target = np.repeat(np.repeat(coarse, 32, axis=0), 32, axis=1)
    noisy = rng.random(SHAPE) < 0.02
    target[noisy] = rng.integers(0, NUM_CLASSES, size=int(noisy.sum()), dtype=np.uint8)
    pred = target.copy()
    wrong = np.repeat(np.repeat(rng.random(coarse.shape) < 0.15, 32, 0), 32, 1)
    pred[wrong] = (pred[wrong] + 1) % NUM_CLASSES
    noisy = rng.random(SHAPE) < 0.05
    pred[noisy] = rng.integers(0, NUM_CLASSES, size=int(noisy.sum()), dtype=np.uint8)
    void = np.repeat(np.repeat(rng.random((h // 16, w // 16)) < 0.015, 16, 0), 16, 1)
    void |= rng.random(SHAPE) < 0.005
    target[void] = VOID
    return pred, target


def make_dataset(root: Path, pairs: int, seed: int = 0) -> tuple[Path, Path]:
    """``root/pred`` and ``root/gt`` holding ``pairs`` PNG pairs (kept if already there)."""
    from PIL import Image

    pred_dir, gt_dir = root / "pred", root / "gt"
    names = [f"frame_{k:04d}.png" for k in range(pairs)]
    if all((pred_dir / n).exists() and (gt_dir / n).exists() for n in names) and len(
        list(pred_dir.glob("*.png"))
    ) == pairs:
        return pred_dir, gt_dir
    shutil.rmtree(pred_dir, ignore_errors=True)
    shutil.rmtree(gt_dir, ignore_errors=True)
    pred_dir.mkdir(parents=True)
    gt_dir.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    for n in names:
        pred, target = make_pair(rng)
        Image.fromarray(pred).save(pred_dir / n)
        Image.fromarray(target).save(gt_dir / n)
    _log(f"wrote {pairs} pairs of {SHAPE[1]}x{SHAPE[0]} PNGs to {root} in "
         f"{time.perf_counter() - t0:.1f} s")
    return pred_dir, gt_dir


# -- running -------------------------------------------------------------------------------


#: Runs argv[2:] and writes its wall and CPU seconds and peak RSS as JSON to argv[1]. A
#: process spawned by a large one starts with that one's peak as its own (Linux keeps the
#: high-water mark across exec), so the commands are started by this small process.
_MEASURE = """
import json, os, subprocess, sys, time
t0 = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:])
_, status, ru = os.wait4(proc.pid, 0)
wall = time.perf_counter() - t0
with open(sys.argv[1], "w") as f:
    json.dump({"status": os.waitstatus_to_exitcode(status), "wall_s": wall,
               "user_s": ru.ru_utime, "sys_s": ru.ru_stime,
               "peak_mib": ru.ru_maxrss / 1024}, f)
"""


def run_once(cmd: list[str]) -> dict:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one command, and its stdout."""
    with tempfile.TemporaryDirectory(prefix="anyiou-bench-") as tmp:
        stats = Path(tmp) / "stats.json"
        proc = subprocess.run([sys.executable, "-c", _MEASURE, str(stats), *cmd],
                              capture_output=True, text=True, check=False)
        res = json.loads(stats.read_text()) if stats.exists() else {"status": proc.returncode}
    if proc.returncode != 0 or res["status"] != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res['status']}): {proc.stderr}")
    del res["status"]
    return {**res, "stdout": proc.stdout}


def commands(pred_dir: Path, gt_dir: Path, workers: int | None = None,
             boundary: bool = False) -> dict[str, list[str]]:
    ours = [sys.executable, "-m", "anyiou", "evaluate", str(pred_dir), str(gt_dir),
            "--num-classes", str(NUM_CLASSES), "--ignore-index", str(VOID), "--format",
            "json", "-q"]
    if workers is not None:
        ours += ["--workers", str(workers)]
    hand = [sys.executable, "-c", HAND_LOOP, str(pred_dir), str(gt_dir), str(NUM_CLASSES),
            str(VOID)]
    cmds = {"anyiou": ours, "hand_loop": hand}
    if boundary:
        cmds["anyiou_boundary"] = [*ours, "--boundary"]
    return cmds


def measure_dirs(pred_dir: Path, gt_dir: Path, runs: int, workers: int | None = None,
                 boundary: bool = False) -> dict:
    """Interleaved runs of the commands; minima, ratios and the load average."""
    cmds = commands(pred_dir, gt_dir, workers, boundary)
    load_before = os.getloadavg()
    runs_of: dict[str, list[dict]] = {k: [] for k in cmds}
    confmats = {}
    for r in range(runs):
        for name, cmd in cmds.items():
            res = run_once(cmd)
            out = json.loads(res.pop("stdout"))
            confmats[name] = out if name == "hand_loop" else out["confusion_matrix"]
            runs_of[name].append(res)
            _log(f"  run {r + 1}/{runs} {name:15s} wall {res['wall_s']:6.2f} s  "
                 f"cpu {res['user_s'] + res['sys_s']:6.2f} s (sys {res['sys_s']:.2f})  "
                 f"peak {res['peak_mib']:6.0f} MiB")
    if any(cm != confmats["hand_loop"] for cm in confmats.values()):
        raise AssertionError("anyiou evaluate and the hand loop count differently")
    best = {name: {k: min(r[k] for r in rs) for k in ("wall_s", "user_s", "sys_s", "peak_mib")}
            for name, rs in runs_of.items()}
    ours, hand = best["anyiou"], best["hand_loop"]
    extra = {}
    if boundary:
        extra["boundary_wall_ratio"] = best["anyiou_boundary"]["wall_s"] / ours["wall_s"]
    return {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "pairs": len(list(pred_dir.glob("*.png"))),
        "runs": runs,
        "workers": workers,
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "min": best,
        "all": runs_of,
        "wall_ratio": ours["wall_s"] / hand["wall_s"],
        "peak_ratio": ours["peak_mib"] / hand["peak_mib"],
        **extra,
    }


def summary(res: dict) -> str:
    ours, hand = res["min"]["anyiou"], res["min"]["hand_loop"]
    load = ", ".join(f"{x:.2f}" for x in res["load_average_before"])
    return "\n".join([
        f"anyiou evaluate vs the hand-written bincount loop: {res['pairs']} pairs of "
        f"{SHAPE[1]}x{SHAPE[0]}, {NUM_CLASSES} classes, minima of {res['runs']} interleaved "
        f"runs, {res['cpus']} CPUs, load average {load} at start",
        f"  {'':10s} {'wall s':>8s} {'user s':>8s} {'sys s':>8s} {'peak MiB':>9s}",
        *(f"  {name:10s} {r['wall_s']:8.2f} {r['user_s']:8.2f} {r['sys_s']:8.2f} "
          f"{r['peak_mib']:9.0f}" for name, r in (("anyiou", ours), ("hand loop", hand))),
        f"  ratio wall {res['wall_ratio']:.2f}x (target <= 0.75), peak memory "
        f"{res['peak_ratio']:.2f}x (target <= 2)",
        *_boundary_lines(res),
    ])


def _boundary_lines(res: dict) -> list[str]:
    if "boundary_wall_ratio" not in res:
        return []
    r = res["min"]["anyiou_boundary"]
    return [f"  --boundary {r['wall_s']:8.2f} {r['user_s']:8.2f} {r['sys_s']:8.2f} "
            f"{r['peak_mib']:9.0f}",
            f"  --boundary / plain anyiou: wall {res['boundary_wall_ratio']:.2f}x "
            "(target <= 2)"]


def markdown(res: dict) -> str:
    """The results as the Markdown block of docs/benchmarks.md."""
    ours, hand = res["min"]["anyiou"], res["min"]["hand_loop"]
    load = ", ".join(f"{x:.1f}" for x in res["load_average_before"])
    stamp = (f"_Run of {res['date']}: {res['pairs']} pairs, minima of "
             f"{res['runs']} interleaved runs, {res['cpus']} CPUs, load average {load} at "
             "start._")
    rows = ["| command | wall s | user s | sys s | peak MiB |", "|---|---|---|---|---|"]
    for name, r in (("`anyiou evaluate`", ours), ("hand-written loop", hand)):
        rows.append(f"| {name} | {r['wall_s']:.2f} | {r['user_s']:.2f} | {r['sys_s']:.2f} | "
                    f"{r['peak_mib']:.0f} |")
    rows.append(f"| ratio | **{res['wall_ratio']:.2f}x** | | | **{res['peak_ratio']:.2f}x** |")
    if "boundary_wall_ratio" in res:
        r = res["min"]["anyiou_boundary"]
        rows.append(f"| `anyiou evaluate --boundary` | {r['wall_s']:.2f} | {r['user_s']:.2f} | "
                    f"{r['sys_s']:.2f} | {r['peak_mib']:.0f} |")
        rows.append(f"| `--boundary` / plain | **{res['boundary_wall_ratio']:.2f}x** | | | |")
    return stamp + "\n\n" + "\n".join(rows)


def update_docs(res: dict) -> None:
    """Store ``res`` as the ``evaluate`` entry of docs/benchmarks.json, then render the
    page from that JSON with ``python -m benchmarks.page`` (in its own process: the page
    renderer imports this module, never the other way round)."""
    results = json.loads(DOC_JSON.read_text())
    results["evaluate"] = res
    DOC_JSON.write_text(json.dumps(results, indent=1, default=str) + "\n")
    subprocess.run([sys.executable, "-m", "benchmarks.page"], cwd=ROOT, check=True)


def measure(pairs: int, runs: int = 3, keep: Path | None = None,
            workers: int | None = None, boundary: bool = False) -> dict:
    """Make the data, measure, return the results (see :func:`measure_dirs`)."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        return measure_dirs(*make_dataset(keep, pairs), runs, workers, boundary)
    with tempfile.TemporaryDirectory(prefix="anyiou-evaluate-bench-") as tmp:
        return measure_dirs(*make_dataset(Path(tmp), pairs), runs, workers, boundary)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=100, help="label-map pairs (default 100)")
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_PAIRS} pairs")
    ap.add_argument("--runs", type=int, default=3, help="runs of each command (default 3)")
    ap.add_argument("--workers", type=int, default=None,
                    help="pass --workers N to anyiou evaluate (default: its own default)")
    ap.add_argument("--boundary", action="store_true",
                    help="also time anyiou evaluate --boundary against the plain command")
    ap.add_argument("--keep", type=Path, metavar="DIR",
                    help="make (or reuse) the data in DIR instead of a temporary folder")
    ap.add_argument("--json", type=Path, metavar="FILE", help="also write the results here")
    ap.add_argument("--update-docs", action="store_true",
                    help="write the table into docs/benchmarks.md")
    args = ap.parse_args(argv)
    res = measure(QUICK_PAIRS if args.quick else args.pairs, args.runs, args.keep,
                  args.workers, args.boundary)
    print(summary(res))
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))
    if args.update_docs:
        update_docs(res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
