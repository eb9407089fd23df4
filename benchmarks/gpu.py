"""GPU benchmark: anyiou's overlap losses against cross-entropy on torch CUDA, JAX GPU
and CuPy, with peak memory from each framework's allocator statistics.

    python -m benchmarks.gpu                     # the five cases, every GPU library found
    python -m benchmarks.gpu --families torch    # one library
    python -m benchmarks.gpu --losses jaccard dice   # DiceLoss too (same kernels)
    python -m benchmarks.gpu --device cpu        # dry run of the same code on the CPU
    nox -s bench-gpu                             # the same in a fresh environment

(from the repository root; about 3-5 minutes on one GPU). For each case and library a
fresh process (JAX: one per implementation, since its peak statistic cannot be reset)
builds the inputs on the device and measures:

* time: median and minimum of ``--repeats`` calls after warm-up, the device
  synchronised after each call; forward+backward for torch and JAX (``loss.backward()``,
  ``jax.jit(jax.value_and_grad(...))``), forward for CuPy (no autodiff);
* peak extra memory of one call beyond its inputs, as a multiple of the logits' bytes
  (it includes the gradient, 1x): torch ``torch.cuda.max_memory_allocated`` after
  ``reset_peak_memory_stats``; JAX the device's ``memory_stats()["peak_bytes_in_use"]``
  (also XLA's own buffer assignment, ``memory_analysis()``); CuPy the growth of a fresh
  memory pool (the pool keeps freed blocks, so it holds the call's peak).

Baselines (ratio 1): torch ``F.cross_entropy`` (BCE with logits for binary and
multilabel), optax's softmax (sigmoid) cross-entropy, a CuPy softmax (sigmoid). Targets:
fwd+bwd at most 1.5x the baseline and peak extra memory at most 2x the logits on torch
and JAX; CuPy forward at most 1.5x. Writes ``<out>/gpu.json``, ``<out>/gpu.md`` (the
table in Markdown) and ``<out>/gpu.png``. The implementations are built by ``impls.py``,
as for the CPU benchmark. Without a GPU the run stops with a message (exit 1);
``--device cpu`` runs the whole path on small inputs (no allocator statistics there).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from . import cases as _cases
from .impls import GPU_BASELINE as BASELINE
from .impls import GPU_FAMILIES as FAMILIES
from .impls import anyiou_loss, optax_ce, softmax, torch_ce
from .paths import RESULTS, ROOT

TIME_TARGET, MEM_TARGET = 1.5, 2.0


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- worker (one fresh process) -----------------------------------------------------------


def _timed(fn, sync, repeats: int, warmup: int = 3) -> dict:
    for _ in range(warmup):
        sync(fn())
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        sync(fn())
        samples.append((time.perf_counter() - t0) * 1e3)
    return {"median_ms": statistics.median(samples), "min_ms": min(samples),
            "repeats": repeats}


def _torch(case, inp, impls, device: str, repeats: int) -> dict:
    import torch

    if device == "gpu" and not torch.cuda.is_available():
        raise RuntimeError("no GPU: torch.cuda.is_available() is False")
    dev = torch.device("cuda" if device == "gpu" else "cpu")
    cuda = dev.type == "cuda"
    sync = (lambda _: torch.cuda.synchronize()) if cuda else (lambda _: None)
    x = torch.from_numpy(inp.logits).to(dev)
    y = torch.from_numpy(inp.target).to(dev)
    yf = None if inp.target_float is None else torch.from_numpy(inp.target_float).to(dev)
    out = {}
    for impl in impls:
        fn = torch_ce(case.mode, yf) if impl == "cross-entropy" else anyiou_loss(impl,
                                                                                 case.mode)
        xg = x.detach().requires_grad_(True)

        def fb(fn=fn, xg=xg):
            xg.grad = None
            fn(xg, y).backward()
            return xg.grad

        res: dict = {}
        sync(fb())  # warm-up (lazy imports, cuDNN/cuBLAS handles)
        if cuda:
            xg.grad = None
            torch.cuda.synchronize()
            base = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
            sync(fb())
            res["mem_bytes"] = torch.cuda.max_memory_allocated() - base
        res["fb"] = _timed(fb, sync, repeats)
        xg.grad = None
        out[impl] = res
    return out


def _jax(case, inp, impls, device: str, repeats: int) -> dict:
    import jax
    import numpy as np

    try:
        dev = jax.devices("gpu" if device == "gpu" else "cpu")[0]
    except RuntimeError as exc:
        raise RuntimeError(f"no GPU: jax has no gpu devices ({exc})") from None
    x = jax.device_put(inp.logits, dev)
    (impl,) = impls  # one per process: the peak statistic cannot be reset
    if impl == "optax-ce":
        fn, target = optax_ce(case.mode, inp)
        y = jax.device_put(target, dev)
    else:
        y = jax.device_put(inp.target.astype(np.int32), dev)
        fn = anyiou_loss(impl, case.mode)
    fb = jax.jit(jax.value_and_grad(fn)).lower(x, y).compile()
    res: dict = {}
    try:
        m = fb.memory_analysis()
        res["xla_extra_bytes"] = int(m.temp_size_in_bytes + m.output_size_in_bytes
                                     - m.alias_size_in_bytes)
    except Exception as exc:  # noqa: BLE001 - optional information
        res["xla_memory_analysis"] = f"unavailable: {exc}"
    stats = dev.memory_stats() or {}
    if "peak_bytes_in_use" in stats:
        base, peak0 = stats["bytes_in_use"], stats["peak_bytes_in_use"]
        result = jax.block_until_ready(fb(x, y))
        peak = dev.memory_stats()["peak_bytes_in_use"]
        del result
        res["mem_bytes"] = peak - base
        if peak <= peak0:  # the compile's own scratch was higher: an upper bound only
            res["mem_note"] = "at most (compile peak)"
    res["fb"] = _timed(lambda: fb(x, y), jax.block_until_ready, repeats)
    return {impl: res}


def _cupy(case, inp, impls, device: str, repeats: int) -> dict:
    if device != "gpu":
        raise RuntimeError("CuPy runs on a GPU only")
    import cupy

    pool = cupy.cuda.MemoryPool()
    cupy.cuda.set_allocator(pool.malloc)
    x, y = cupy.asarray(inp.logits), cupy.asarray(inp.target)

    def sync(_):
        cupy.cuda.Device().synchronize()

    out = {}
    for impl in impls:
        if impl == "softmax":
            fwd = softmax(cupy, case.mode, x)
        else:
            loss = anyiou_loss(impl, case.mode)

            def fwd(loss=loss):
                return loss(x, y)
        sync(fwd())
        pool.free_all_blocks()
        base = pool.total_bytes()
        result = fwd()
        sync(result)
        res = {"mem_bytes": pool.total_bytes() - base}
        del result
        res["fwd"] = _timed(fwd, sync, repeats)
        out[impl] = res
    return out


def worker(request: dict) -> dict:
    case = _cases.get_case(request["case"])
    if request.get("tiny"):
        case = _cases.tiny(case)
    inp = _cases.make_inputs(case)
    run = {"torch": _torch, "jax": _jax, "cupy": _cupy}[request["family"]]
    try:
        return run(case, inp, request["impls"], request["device"], request["repeats"])
    except ImportError as exc:
        return {impl: {"error": f"n/a: {exc}"} for impl in request["impls"]}
    except RuntimeError as exc:
        return {impl: {"error": str(exc)} for impl in request["impls"]}


# -- driver ---------------------------------------------------------------------------------


def _spawn(request: dict, timeout_s: float) -> dict:
    env = {**os.environ, "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    cmd = [sys.executable, "-m", "benchmarks.gpu", "--worker", json.dumps(request)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s,
                              env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {i: {"error": f"timed out after {timeout_s:.0f} s"} for i in request["impls"]}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        return {i: {"error": f"worker exit {proc.returncode}: {tail}"} for i in request["impls"]}
    return json.loads(lines[-1])


def _rows(case, family: str, measured: dict) -> list[dict]:
    key = "fwd" if family == "cupy" else "fb"
    base = measured.get(BASELINE[family], {})
    rows = []
    for impl, res in measured.items():
        row = {"case": case.name, "family": family, "impl": impl, "of": key,
               "logits_bytes": case.logits_bytes, **res}
        mine, theirs = res.get(key, {}).get("min_ms"), base.get(key, {}).get("min_ms")
        row["ratio"] = mine / theirs if mine and theirs else None
        mem = res.get("mem_bytes")
        row["mem_x"] = mem / case.logits_bytes if mem is not None else None
        if impl != BASELINE[family]:
            row["time_ok"] = None if row["ratio"] is None else row["ratio"] <= TIME_TARGET
            row["mem_ok"] = (None if row["mem_x"] is None or family == "cupy"
                             else row["mem_x"] <= MEM_TARGET)
        rows.append(row)
    return rows


def measure(names: list[str], families: list[str] | tuple[str, ...] = FAMILIES,
            losses: list[str] | tuple[str, ...] = ("jaccard",), device: str = "gpu",
            repeats: int | None = None) -> dict:
    """Every (case, library) in fresh processes; the dict written to ``gpu.json``:
    ``{"device", "dry_run", "seconds", "rows"}``. ``device="cpu"``: a dry run on tiny
    inputs (default 3 repeats; on a GPU 20)."""
    dry = device == "cpu"
    repeats = repeats or (3 if dry else 20)
    rows: list[dict] = []
    t_start = time.perf_counter()
    for name in names:
        case = _cases.get_case(name)
        for family in families:
            impls = [BASELINE[family], *(f"anyiou-{loss}" for loss in losses)]
            groups = [[i] for i in impls] if family == "jax" else [impls]
            measured: dict = {}
            for group in groups:
                t0 = time.perf_counter()
                request = {"case": name, "family": family, "impls": group,
                           "device": device, "repeats": repeats, "tiny": dry}
                measured.update(_spawn(request, timeout_s=300))
                _log(f"  {name:28s} {family:6s} {' '.join(group):40s} "
                     f"{time.perf_counter() - t0:5.1f} s")
            rows.extend(_rows(case, family, measured))
    return {"device": device, "dry_run": dry, "seconds": time.perf_counter() - t_start,
            "rows": rows}


def _fmt(v, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def _marks(r: dict) -> str:
    return ", ".join(f"{k[:-3]} {'ok' if r[k] else 'MISS'}" for k in ("time_ok", "mem_ok")
                     if r.get(k) is not None)


def _print(rows: list[dict]) -> None:
    print(f"{'case':28s} {'library':6s} {'impl':15s} {'ms':>8s} {'ratio':>6s} {'mem x':>6s}  "
          "targets")
    for r in rows:
        if "error" in r:
            print(f"{r['case']:28s} {r['family']:6s} {r['impl']:15s} {r['error']}")
            continue
        ms = r.get(r["of"], {}).get("min_ms")
        print(f"{r['case']:28s} {r['family']:6s} {r['impl']:15s} {_fmt(ms, '8.3f')} "
              f"{_fmt(r['ratio'], '6.2f')} {_fmt(r['mem_x'], '6.2f')}  {_marks(r)}")


def markdown(result: dict) -> str:
    """The rows of :func:`measure` as a Markdown table (minimum ms of the timed calls,
    the ratio to the library's baseline, peak extra memory / logits, the targets)."""
    head = "| case | library | implementation | min ms | x baseline | peak extra | targets |"
    lines = [f"_{'Dry run on the CPU' if result['dry_run'] else 'GPU run'}._", "", head,
             "|" + "---|" * 7]
    for r in result["rows"]:
        if "error" in r:
            lines.append(f"| {r['case']} | {r['family']} | {r['impl']} | - | - | - | "
                         f"{r['error'][:60].replace('|', '/')} |")
            continue
        ms = r.get(r["of"], {}).get("min_ms")
        lines.append(f"| {r['case']} | {r['family']} | {r['impl']} | {_fmt(ms, '.3f')} | "
                     f"{_fmt(r['ratio'], '.2f')} | {_fmt(r['mem_x'], '.2f')} | "
                     f"{_marks(r)} |")
    return "\n".join(lines)


def _plot(rows: list[dict], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        _log("matplotlib not installed: no chart")
        return
    mine = [r for r in rows if r.get("ratio") is not None and r["impl"] != BASELINE[r["family"]]]
    if not mine:
        return
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.35 * len(mine) + 1.5))
    labels = [f"{r['family']} {r['impl'][7:]} {r['case']}" for r in mine]
    axes[0].barh(labels, [r["ratio"] for r in mine])
    axes[0].axvline(TIME_TARGET, color="red", linestyle="--")
    axes[0].set_xlabel("time / cross-entropy (fwd+bwd; CuPy fwd)")
    axes[1].barh(labels, [r["mem_x"] or 0 for r in mine])
    axes[1].axvline(MEM_TARGET, color="red", linestyle="--")
    axes[1].set_xlabel("peak extra memory / logits")
    axes[1].set_yticklabels([])
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", choices=("gpu", "cpu"), default="gpu",
                    help="gpu (default), or cpu: a dry run on small inputs")
    ap.add_argument("--cases", nargs="+",
                    help="case names (default: the five cases; 'ref' = the reference case)")
    ap.add_argument("--families", nargs="+", choices=FAMILIES, default=list(FAMILIES))
    ap.add_argument("--losses", nargs="+", choices=("jaccard", "dice"), default=["jaccard"],
                    help="anyiou losses to measure (default: jaccard; dice shares its kernels)")
    ap.add_argument("--repeats", type=int, default=None,
                    help="timed calls per implementation (default 20; dry run 3)")
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    names = [_cases.REFERENCE if n == "ref" else n for n in args.cases or
             [c.name for c in _cases.CASES]]
    for name in names:
        _cases.get_case(name)  # unknown names fail before any process starts
    result = measure(names, args.families, args.losses, args.device, args.repeats)
    rows = result["rows"]
    if result["dry_run"]:
        _log("dry run on the CPU: one-sample inputs of 8 pixels per axis; times are not "
             "GPU times and no allocator statistics are read")
    _print(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu.json").write_text(json.dumps(result, indent=1))
    (out / "gpu.md").write_text(markdown(result) + "\n")
    _plot(rows, out / "gpu.png")
    _log(f"wrote {out / 'gpu.json'}")
    measured_any = any("error" not in r for r in rows)
    if not measured_any:
        _log("nothing measured: no GPU library found a GPU (see the errors above); "
             "`--device cpu` runs a dry run")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
