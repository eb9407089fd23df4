"""anyiou.monai against MONAI: ``DiceLoss(to_onehot_y=True, softmax=True)`` forward +
backward on torch CPU, the same logits and labels, in one run.

    python -m benchmarks.monai            # logits (2, 14, 64, 64, 64), labels (2, 1, ...)
    python -m benchmarks.monai --quick    # (2, 14, 16, 32, 32) (a smoke test, seconds)
    python -m benchmarks.monai --threads 1

(also part of ``python -m benchmarks.run --monai``). Times are minima over interleaved
repeats (MONAI and anyiou alternate, so machine load hits both); peak extra memory is
measured in a fresh process per implementation (``benchmarks/memory.py``, the gradient
included). Targets: anyiou at most 0.5x MONAI's time and 0.5x its peak extra memory.
MONAI builds the one-hot of the labels; anyiou gathers each voxel's probability of its
label and never does.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np

from .memory import memory_in_module, peak_extra, set_threads

SHAPE = (2, 14, 64, 64, 64)
QUICK_SHAPE = (2, 14, 16, 32, 32)
TIME_FACTOR = 0.5
MEMORY_FACTOR = 0.5
IMPLS = ("monai", "anyiou")


def make_inputs(shape: tuple[int, ...], seed: int = 0) -> tuple[Any, Any]:
    """float32 logits (N, C, *S) and int64 labels (N, 1, *S) as torch tensors."""
    import torch

    rng = np.random.default_rng(seed)
    logits = torch.from_numpy(rng.normal(size=shape).astype(np.float32))
    labels = rng.integers(0, shape[1], size=(shape[0], 1, *shape[2:]))
    return logits, torch.from_numpy(labels)


def _step(impl: str, logits: Any, labels: Any) -> Any:
    """One forward + backward of ``impl``'s DiceLoss; returns (loss, gradient)."""
    import torch

    if impl == "monai":
        from monai.losses import DiceLoss
    else:
        from anyiou.monai import DiceLoss
    loss_fn = DiceLoss(to_onehot_y=True, softmax=True)
    x = logits.detach().requires_grad_(True)

    def run() -> Any:
        loss = loss_fn(x, labels)
        (grad,) = torch.autograd.grad(loss, x)
        return loss.detach(), grad

    return run


def time_both(shape: tuple[int, ...], repeats: int) -> dict:
    """Minimum seconds of each implementation, interleaved over ``repeats`` rounds;
    the two losses and gradients agree (a sanity check, not a test)."""
    logits, labels = make_inputs(shape)
    fns = {impl: _step(impl, logits, labels) for impl in IMPLS}
    (v0, g0), (v1, g1) = fns["monai"](), fns["anyiou"]()
    np.testing.assert_allclose(v1.numpy(), v0.numpy(), rtol=1e-5)
    np.testing.assert_allclose(g1.numpy(), g0.numpy(), rtol=1e-4, atol=1e-10)
    best = {impl: float("inf") for impl in IMPLS}
    for _ in range(repeats):
        for impl, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[impl] = min(best[impl], time.perf_counter() - start)
    return best


def memory_of(impl: str, shape: tuple[int, ...]) -> dict:
    """Peak extra memory of one forward + backward, in this (fresh) process."""
    logits, labels = make_inputs(shape)
    fn = _step(impl, logits, labels)
    fn()  # imports and first-call caches are not the call's memory
    result = peak_extra(fn, lambda _: None)
    result["logit_bytes"] = int(logits.numel() * logits.element_size())
    return result


def measure(quick: bool = False, repeats: int | None = None,
            threads: int | None = None) -> dict:
    """Times, memory and ratios; the dict ``benchmarks.run --monai`` stores."""
    shape = QUICK_SHAPE if quick else SHAPE
    repeats = repeats or (3 if quick else 5)
    set_threads(threads)
    seconds = time_both(shape, repeats)
    memory = {impl: memory_in_module("benchmarks.monai", [impl], shape, threads)
              for impl in IMPLS}
    ratios = {"time": seconds["anyiou"] / seconds["monai"]}
    if all("bytes" in memory[i] for i in IMPLS) and memory["monai"]["bytes"] > 0:
        ratios["memory"] = memory["anyiou"]["bytes"] / memory["monai"]["bytes"]
    return {"shape": shape, "repeats": repeats, "torch_threads": threads,
            "seconds": seconds, "memory": memory, "ratios": ratios}


def markdown(result: dict) -> str:
    """The results of :func:`measure` as the Markdown block of docs/benchmarks.md (also
    what ``python -m benchmarks.monai`` prints)."""
    threads = result.get("torch_threads") or "default"
    s, m, q = result["seconds"], result["memory"], result["ratios"]

    def mib(impl: str) -> str:
        return f"{m[impl]['bytes'] / 2**20:.0f} MiB" if "bytes" in m[impl] else str(
            m[impl].get("error"))

    mem_ratio = f"{q['memory']:.2f}x" if "memory" in q else "-"
    return "\n".join([
        f"DiceLoss(to_onehot_y=True, softmax=True) forward + backward, torch CPU, logits "
        f"{tuple(result['shape'])} float32, int64 labels (min of {result['repeats']} "
        f"interleaved repeats; torch threads: {threads})",
        "",
        "| | MONAI | anyiou.monai | ratio (<= 0.5) |",
        "| --- | --- | --- | --- |",
        f"| time | {s['monai'] * 1e3:.0f} ms | {s['anyiou'] * 1e3:.0f} ms | {q['time']:.2f}x |",
        f"| peak extra memory | {mib('monai')} | {mib('anyiou')} | {mem_ratio} |",
    ])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="logits (2, 14, 16, 32, 32)")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None, help="torch's intra-op threads")
    ap.add_argument("--memory", metavar="IMPL", choices=IMPLS,
                    help="(internal) peak memory of one call in this process, as JSON")
    ap.add_argument("--shape", nargs="+", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.memory:
        set_threads(args.threads)
        print(json.dumps(memory_of(args.memory, tuple(args.shape or SHAPE))))
        return 0
    result = measure(args.quick, args.repeats, args.threads)
    print(markdown(result))
    print(json.dumps(result, indent=1, default=str), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
