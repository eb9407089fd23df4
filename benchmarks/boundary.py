"""Boundary IoU benchmark: time and peak memory of `anyiou.metrics.boundary_iou` against
`confusion_matrix` (the same library, the same labels) and against the OpenCV per-mask
loop of the reference implementation, in one run.

    python -m benchmarks.boundary            # reference labels: 8 x 512 x 512, 21 classes
    python -m benchmarks.boundary --quick    # 2 x 128 x 128 (a smoke test, seconds)
    python -m benchmarks.boundary --threads 1  # torch on one thread

(also part of ``python -m benchmarks.run --boundary``). Times are minima over interleaved
repeats (baseline and ours alternate, so machine load hits both); peak extra memory is
measured in a fresh process per (library, implementation) (``benchmarks/memory.py``),
reported as a multiple of the target labels' bytes. Targets: boundary IoU at most 5x
the time of ``confusion_matrix`` on NumPy and torch, faster than the OpenCV loop, and
at most 4x the label bytes of extra memory.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np

from .memory import memory_in_module, peak_extra, set_threads

C = 21
SHAPE = (8, 512, 512)
QUICK_SHAPE = (2, 128, 128)
TIME_FACTOR = 5.0
MEMORY_FACTOR = 4.0


def make_labels(shape: tuple[int, ...], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """int64 target and prediction label maps: blocky regions (8-pixel cells, so there
    are interiors to erode), the prediction shifted by 3 pixels with 10% noise."""
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, C, (shape[0], shape[1] // 8 + 1, shape[2] // 8 + 1))
    target = np.repeat(np.repeat(cells, 8, axis=1), 8, axis=2)[:, : shape[1], : shape[2]]
    target = np.ascontiguousarray(target, dtype=np.int64)
    preds = np.roll(target, 3, axis=2)
    noise = rng.random(shape) < 0.1
    preds = np.where(noise, rng.integers(0, C, shape), preds).astype(np.int64)
    return preds, target


def opencv_loop(preds: np.ndarray, target: np.ndarray, d: int) -> np.ndarray:
    """The reference recipe, one mask at a time: per image and class,
    ``mask_to_boundary`` (zero border, ``cv2.erode`` with 3x3 ones, ``iterations=d``)
    of both masks, then the band counts; per-class boundary IoU (C,)."""
    import cv2

    kernel = np.ones((3, 3), dtype=np.uint8)
    inter = np.zeros(C)
    union = np.zeros(C)
    h, w = target.shape[1:]

    def band(mask: np.ndarray) -> np.ndarray:
        padded = cv2.copyMakeBorder(mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
        eroded = cv2.erode(padded, kernel, iterations=d)[1 : h + 1, 1 : w + 1]
        return (mask - eroded).astype(bool)

    for i in range(target.shape[0]):
        for k in range(C):
            g = band((target[i] == k).astype(np.uint8))
            p = band((preds[i] == k).astype(np.uint8))
            inter[k] += np.count_nonzero(g & p)
            union[k] += np.count_nonzero(g | p)
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0)


def _functions(library: str, preds: np.ndarray, target: np.ndarray, d: int) -> dict:
    from anyiou.metrics import boundary_iou, confusion_matrix

    if library == "torch":
        import torch

        p, t = torch.from_numpy(preds), torch.from_numpy(target)
    else:
        p, t = preds, target
    out = {
        "confusion_matrix": lambda: confusion_matrix(p, t, C),
        "boundary_iou": lambda: boundary_iou(p, t, C, "none", dilation=d),
    }
    if library == "numpy":
        out["opencv_loop"] = lambda: opencv_loop(preds, target, d)
    return out


def time_library(library: str, shape: tuple[int, ...], repeats: int) -> dict:
    """Minimum seconds of each implementation, interleaved over ``repeats`` rounds."""
    from anyiou.metrics._boundary import resolve_dilation

    preds, target = make_labels(shape)
    d = resolve_dilation(shape[1:], 0.02, None)
    fns = _functions(library, preds, target, d)
    ours = np.asarray(fns["boundary_iou"]())
    if "opencv_loop" in fns:  # the two agree (a sanity check, not a test)
        np.testing.assert_allclose(ours, fns["opencv_loop"](), rtol=1e-9)
    best = {name: float("inf") for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def memory_of(library: str, impl: str, shape: tuple[int, ...]) -> dict:
    """Peak extra memory of one call, in this (fresh) process."""
    from anyiou.metrics._boundary import resolve_dilation

    preds, target = make_labels(shape)
    d = resolve_dilation(shape[1:], 0.02, None)
    fn = _functions(library, preds, target, d)[impl]
    fn()  # imports and first-call caches are not the call's memory
    result = peak_extra(fn, lambda _: None)
    result["label_bytes"] = int(target.nbytes)
    return result


def measure(quick: bool = False, repeats: int | None = None,
            threads: int | None = None) -> dict:
    """Times, memory and ratios; the dict ``benchmarks.run --boundary`` stores.
    ``threads``: torch's intra-op threads (default: torch's)."""
    shape = QUICK_SHAPE if quick else SHAPE
    repeats = repeats or (3 if quick else 5)
    set_threads(threads)
    out: dict[str, Any] = {"shape": shape, "classes": C, "repeats": repeats,
                           "torch_threads": threads, "libraries": {}}
    for library in ("numpy", "torch"):
        times = time_library(library, shape, repeats)
        mem = {impl: memory_in_module("benchmarks.boundary", [library, impl], shape, threads)
               for impl in ("confusion_matrix", "boundary_iou")}
        ratios = {"time_vs_confusion_matrix": times["boundary_iou"] / times["confusion_matrix"]}
        if "opencv_loop" in times:
            ratios["opencv_loop_vs_ours"] = times["opencv_loop"] / times["boundary_iou"]
        if "bytes" in mem["boundary_iou"]:
            ratios["memory_vs_label_bytes"] = (mem["boundary_iou"]["bytes"]
                                               / mem["boundary_iou"]["label_bytes"])
        out["libraries"][library] = {"seconds": times, "memory": mem, "ratios": ratios}
    return out


def markdown(result: dict) -> str:
    """The results of :func:`measure` as the Markdown block of docs/benchmarks.md (also
    what ``python -m benchmarks.boundary`` prints)."""
    threads = result.get("torch_threads") or "default"
    lines = [f"Boundary IoU, labels {tuple(result['shape'])}, C = {result['classes']} "
             f"(min of {result['repeats']} interleaved repeats; torch threads: {threads})",
             "",
             "| library | confusion_matrix | boundary_iou | ratio (<= 5) | OpenCV loop | "
             "OpenCV / ours (> 1) | memory / label bytes (<= 4) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for lib, r in result["libraries"].items():
        s, q = r["seconds"], r["ratios"]
        cv = f"{s['opencv_loop'] * 1e3:.1f} ms" if "opencv_loop" in s else "-"
        cv_ratio = f"{q['opencv_loop_vs_ours']:.1f}x" if "opencv_loop_vs_ours" in q else "-"
        mem = (f"{q['memory_vs_label_bytes']:.2f}x" if "memory_vs_label_bytes" in q
               else str(r["memory"]["boundary_iou"].get("error")))
        lines.append(f"| {lib} | {s['confusion_matrix'] * 1e3:.1f} ms | "
                     f"{s['boundary_iou'] * 1e3:.1f} ms | "
                     f"{q['time_vs_confusion_matrix']:.2f}x | {cv} | {cv_ratio} | {mem} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 x 128 x 128 labels")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None, help="torch's intra-op threads")
    ap.add_argument("--memory", nargs=2, metavar=("LIBRARY", "IMPL"),
                    help="(internal) peak memory of one call in this process, as JSON")
    ap.add_argument("--shape", nargs="+", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.memory:
        set_threads(args.threads)
        print(json.dumps(memory_of(*args.memory, tuple(args.shape or SHAPE))))
        return 0
    result = measure(args.quick, args.repeats, args.threads)
    print(markdown(result))
    print(json.dumps(result["libraries"], indent=1, default=str), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
