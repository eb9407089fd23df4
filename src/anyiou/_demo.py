"""``python -m anyiou demo``: the same losses on every installed backend, side by side."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from . import DiceLoss, JaccardLoss, LovaszLoss, TverskyLoss
from ._lib._convert import backend_library, from_numpy, to_numpy

BACKENDS = ("numpy", "array_api_strict", "torch", "jax", "dask", "cupy")
LOSSES = (JaccardLoss, DiceLoss, TverskyLoss, LovaszLoss)
MODES = ("binary", "multiclass", "multilabel")
TOLERANCE = 1e-5  # largest difference between backends that passes


def _inputs(mode: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if mode == "multiclass":
        return rng.normal(size=(2, 4, 32, 32)).astype(np.float32), rng.integers(0, 4, (2, 32, 32))
    c = 1 if mode == "binary" else 3
    return rng.normal(size=(2, c, 32, 32)).astype(np.float32), rng.integers(0, 2, (2, c, 32, 32))


def _chunks(a: np.ndarray) -> tuple[int, ...]:
    """Dask chunks: one per sample, whole along every other axis."""
    return (1, *a.shape[1:])


def _to(name: str, a: np.ndarray) -> Any:
    return from_numpy(a, name, chunks=_chunks(a))


def _value_and_grad_norm(name: str, loss: Any, p: np.ndarray, t: np.ndarray):
    if name == "torch":
        x = _to(name, p).requires_grad_(True)
        out = loss(x, _to(name, t))
        out.backward()
        return float(to_numpy(out)), float(x.grad.norm())
    if name == "jax":
        jax = importlib.import_module("jax")
        v, g = jax.jit(jax.value_and_grad(loss))(_to(name, p), _to(name, t))
        return float(to_numpy(v)), float(np.linalg.norm(to_numpy(g)))
    return float(to_numpy(loss(_to(name, p), _to(name, t)))), None


def available_backends() -> dict[str, Any]:
    """The backends of :data:`BACKENDS` whose library imports (and, for CuPy, has a GPU)."""
    found = {}
    for name in BACKENDS:
        try:
            found[name] = backend_library(name)
            if name == "cupy":
                found[name].cuda.runtime.getDeviceCount()
        except Exception:
            found.pop(name, None)
    return found


def _cell(name: str, loss: Any, p: np.ndarray, t: np.ndarray) -> tuple[str, float | None]:
    try:
        value, gnorm = _value_and_grad_norm(name, loss, p, t)
    except Exception as exc:  # one backend failing does not stop the table
        return f"failed: {type(exc).__name__}", None
    return f"{value:.6f}" + (f" |g|={gnorm:.2e}" if gnorm is not None else ""), value


def run() -> int:
    """Print the table; exit status 0 when every backend agrees to :data:`TOLERANCE`."""
    rng = np.random.default_rng(0)
    libs = available_backends()
    print(f"anyiou demo: backends found: {', '.join(libs)}")
    print("loss value (and gradient norm where the library differentiates), same inputs\n")
    header = f"{'loss':<12}{'mode':<12}" + "".join(f"{n:>22}" for n in libs)
    print(header)
    print("-" * len(header))
    worst, failed = 0.0, False
    for loss_cls in LOSSES:
        for mode in MODES:
            p, t = _inputs(mode, rng)
            loss = loss_cls(mode)
            cells, values = [], []
            for name in libs:
                cell, value = _cell(name, loss, p, t)
                cells.append(cell)
                if value is None:
                    failed = True
                else:
                    values.append(value)
            if values:
                worst = max(worst, max(values) - min(values))
            print(f"{loss_cls.__name__:<12}{mode:<12}" + "".join(f"{c:>22}" for c in cells),
                  flush=True)
    print(f"\nlargest difference between backends: {worst:.2e}")
    return 0 if worst < TOLERANCE and not failed else 1
