"""``python -m anyiou demo``: the same losses on every installed backend, side by side."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from . import DiceLoss, JaccardLoss, TverskyLoss

BACKENDS = ("numpy", "array_api_strict", "torch", "jax", "dask", "cupy")


def _inputs(mode: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if mode == "multiclass":
        return rng.normal(size=(2, 4, 32, 32)).astype(np.float32), rng.integers(0, 4, (2, 32, 32))
    c = 1 if mode == "binary" else 3
    return rng.normal(size=(2, c, 32, 32)).astype(np.float32), rng.integers(0, 2, (2, c, 32, 32))


def _convert(name: str, lib: Any, a: np.ndarray) -> Any:
    if name == "torch":
        return lib.from_numpy(a)
    if name == "dask":
        return lib.from_array(a, chunks=1)
    return lib.asarray(a)


def _value_and_grad_norm(name: str, lib: Any, loss: Any, p: np.ndarray, t: np.ndarray):
    if name == "torch":
        x = lib.from_numpy(p).requires_grad_(True)
        out = loss(x, lib.from_numpy(t))
        out.backward()
        return float(out.detach()), float(x.grad.norm())
    if name == "jax":
        jax = importlib.import_module("jax")
        v, g = jax.jit(jax.value_and_grad(loss))(lib.asarray(p), lib.asarray(t))
        return float(v), float(np.linalg.norm(np.asarray(g)))
    out = loss(_convert(name, lib, p), _convert(name, lib, t))
    if name == "dask":
        out = out.compute()
    if name == "cupy":
        out = out.get()
    return float(np.asarray(out)), None


def available_backends() -> dict[str, Any]:
    found = {}
    for name in BACKENDS:
        module = {"dask": "dask.array", "jax": "jax.numpy"}.get(name, name)
        try:
            found[name] = importlib.import_module(module)
            if name == "cupy":
                found[name].cuda.runtime.getDeviceCount()
        except Exception:
            found.pop(name, None)
    return found


def run() -> int:
    rng = np.random.default_rng(0)
    libs = available_backends()
    print(f"anyiou demo: backends found: {', '.join(libs)}")
    print("loss value (and gradient norm where the library differentiates), same inputs\n")
    header = f"{'loss':<12}{'mode':<12}" + "".join(f"{n:>22}" for n in libs)
    print(header)
    print("-" * len(header))
    worst = 0.0
    for loss_cls in (JaccardLoss, DiceLoss, TverskyLoss):
        for mode in ("binary", "multiclass", "multilabel"):
            p, t = _inputs(mode, rng)
            loss = loss_cls(mode)
            cells, values = [], []
            for name, lib in libs.items():
                value, gnorm = _value_and_grad_norm(name, lib, loss, p, t)
                values.append(value)
                cells.append(f"{value:.6f}" + (f" |g|={gnorm:.2e}" if gnorm is not None else ""))
            worst = max(worst, max(values) - min(values))
            print(f"{loss_cls.__name__:<12}{mode:<12}" + "".join(f"{c:>22}" for c in cells))
    print(f"\nlargest difference between backends: {worst:.2e}")
    return 0 if worst < 1e-5 else 1
