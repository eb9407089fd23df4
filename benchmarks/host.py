"""Host cost per call: torch CPU forward+backward of JaccardLoss and DiceLoss in every
mode, on small inputs (where Python and dispatch are the whole cost, as on a GPU) and
up a sweep of sizes, against smp 0.6.0 and cross-entropy (BCE) on the same tensors.

    python -m benchmarks.host            # the sweep, printed with PASS/MISS
    python -m benchmarks.host --quick    # fewer repeats (a smoke test)

(also part of ``python -m benchmarks.run --host``). One torch thread; every time is the
minimum over interleaved rounds after a warm-up (anyiou, smp and cross-entropy
alternate, in rounds of about 30 ms each), so that machine load hits all three alike.
Targets: anyiou at most ``TINY_FACTOR`` times smp on the tiny inputs, at most
``SIZE_FACTOR`` times smp at every size of the sweep. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from .impls import smp_losses
from .paths import RESULTS, save_result

TINY_FACTOR = 0.5
SIZE_FACTOR = 0.75

#: (mode, N, C, spatial side); C is 1 in binary mode
SWEEP: tuple[tuple[str, int, int, int], ...] = (
    ("multiclass", 2, 4, 8),
    ("binary", 2, 1, 8),
    ("multilabel", 2, 4, 8),
    ("multiclass", 8, 4, 64),
    ("binary", 8, 1, 128),
    ("multilabel", 8, 5, 64),
    ("multiclass", 4, 21, 128),
)
LOSSES = ("JaccardLoss", "DiceLoss")


def _tiny(n: int, side: int) -> bool:
    return n <= 2 and side <= 8


def _inputs(mode: str, n: int, c: int, side: int) -> tuple[Any, Any, Any]:
    """Logits (requiring grad), the anyiou/smp target and the cross-entropy target."""
    import torch

    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, c, side, side, generator=g).requires_grad_(True)
    if mode == "multiclass":
        y = torch.randint(0, c, (n, side, side), generator=g)
        return x, y, y
    y = torch.randint(0, 2, (n, c, side, side), generator=g)
    return x, y, y.float()


def _calls(loss: str, mode: str, x: Any, y: Any, y_ce: Any) -> dict[str, Any]:
    import torch.nn.functional as F

    import anyiou

    ours, theirs = getattr(anyiou, loss)(mode), getattr(smp_losses(), loss)(mode)
    ce = F.cross_entropy if mode == "multiclass" else F.binary_cross_entropy_with_logits

    def fb(fn: Any, target: Any) -> Any:
        def call() -> None:
            x.grad = None
            fn(x, target).backward()
        return call

    return {"anyiou": fb(ours, y), "smp": fb(theirs, y), "ce": fb(ce, y_ce)}


def _warm(fn: Any, seconds: float = 0.05, calls: int = 200) -> float:
    """Call ``fn`` until ``calls`` calls or ``seconds`` have passed (the allocator's
    caches, autograd's and the interpreter's are then warm, as in a training loop);
    the seconds of its last call."""
    end = time.perf_counter() + seconds
    one = 0.0
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        one = time.perf_counter() - t0
        if t0 + one > end:
            break
    return one


def _time(calls: dict[str, Any], rounds: int) -> dict[str, float]:
    """Microseconds per call: the minimum over ``rounds`` interleaved rounds, each of
    about 30 ms of calls of every callable (after a warm-up; long enough that the first,
    cold call of a round weighs little)."""
    one = max(_warm(fn) for fn in calls.values())
    inner = max(1, min(200, int(0.03 / max(one, 1e-6))))
    best = {k: float("inf") for k in calls}
    for _ in range(rounds):
        for key, fn in calls.items():
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            best[key] = min(best[key], (time.perf_counter() - t0) / inner)
    return {k: v * 1e6 for k, v in best.items()}


def measure(quick: bool = False, threads: int = 1) -> dict:
    """``{"threads", "rows"}``: one row per (loss, mode, size) with the per-call times
    (µs) of anyiou, smp and cross-entropy, anyiou/smp, its target and whether it holds."""
    import torch

    torch.set_num_threads(threads)
    rows = []
    for mode, n, c, side in SWEEP:
        x, y, y_ce = _inputs(mode, n, c, side)
        for loss in LOSSES:
            calls = _calls(loss, mode, x, y, y_ce)
            us = _time(calls, 5 if quick else 25)
            target = TINY_FACTOR if _tiny(n, side) else SIZE_FACTOR
            ratio = us["anyiou"] / us["smp"]
            rows.append({"loss": loss, "mode": mode, "case": f"N{n} C{c} {side}x{side}",
                         "anyiou_us": us["anyiou"], "smp_us": us["smp"], "ce_us": us["ce"],
                         "ratio_smp": ratio, "ratio_ce": us["anyiou"] / us["ce"],
                         "target": target, "ok": ratio <= target})
            print(f"  {loss:11s} {mode:10s} {rows[-1]['case']:14s} "
                  f"{ratio:5.2f}x smp", file=sys.stderr, flush=True)
    return {"threads": threads, "rows": rows}


def markdown(result: dict) -> str:
    """The sweep as a Markdown table (times in µs, ratios, PASS/MISS per target)."""
    lines = [
        f"Host cost per call, torch CPU forward+backward ({result['threads']} thread(s), "
        "minimum of interleaved rounds):",
        "",
        "| loss | mode | case | anyiou µs | smp µs | CE/BCE µs | anyiou / smp | target |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for r in result["rows"]:
        verdict = "PASS" if r["ok"] else "MISS"
        lines.append(
            f"| {r['loss']} | {r['mode']} | {r['case']} | {r['anyiou_us']:.0f} | "
            f"{r['smp_us']:.0f} | {r['ce_us']:.0f} | {r['ratio_smp']:.2f} | "
            f"≤ {r['target']:.2f}: {verdict} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds (a smoke test)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--out", default=str(RESULTS), help="output folder (host.json)")
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    result = measure(args.quick, args.threads)
    print(markdown(result))
    save_result(result, args.out, "host.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
