"""NumPy <-> array-library conversion, shared by the demo, the CLI, the benchmarks and the
test suite (one place that knows how each library takes and gives back host arrays).

Backends are named as in the test matrix: ``numpy``, ``array_api_strict``, ``torch``,
``torch_cuda``, ``jax``, ``jax_gpu``, ``dask``, ``cupy``. Libraries are imported only
when a conversion for them is asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

import array_api_compat as aac
import numpy as np

__all__ = ["BACKENDS", "backend_library", "from_numpy", "to_numpy"]

#: backend name -> the module that provides its arrays
BACKENDS = {
    "numpy": "numpy",
    "array_api_strict": "array_api_strict",
    "torch": "torch",
    "torch_cuda": "torch",
    "jax": "jax.numpy",
    "jax_gpu": "jax.numpy",
    "dask": "dask.array",
    "cupy": "cupy",
}


def backend_library(name: str) -> Any:
    """Import and return the array module of backend ``name`` (ImportError if absent)."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
    return importlib.import_module(BACKENDS[name])


def from_numpy(a: Any, backend: str, *, chunks: Any = "auto", copy: bool = True) -> Any:
    """``a`` (anything ``np.asarray`` takes) as an array of ``backend``.

    ``chunks`` is used by Dask only; ``copy=False`` lets NumPy and torch CPU share
    ``a``'s memory (the caller promises not to modify it).
    """
    a = np.asarray(a)
    lib = backend_library(backend)
    if backend == "numpy":
        return a.copy() if copy else a
    if backend == "array_api_strict":
        return lib.asarray(a.copy() if copy else a)
    if backend in ("torch", "torch_cuda"):
        t = lib.from_numpy(a.copy() if copy or not a.flags.writeable else a)  # C order
        return t.cuda() if backend == "torch_cuda" else t
    if backend in ("jax", "jax_gpu"):
        jax = importlib.import_module("jax")
        device = jax.devices("gpu" if backend == "jax_gpu" else "cpu")[0]
        return jax.device_put(lib.asarray(a), device)
    if backend == "dask":
        return lib.from_array(a, chunks=chunks)
    return lib.asarray(a)  # cupy


def to_numpy(x: Any) -> np.ndarray:
    """A host NumPy copy (or view) of an array of any supported library."""
    if aac.is_torch_array(x):
        return x.detach().cpu().numpy()
    if aac.is_dask_array(x):
        return np.asarray(x.compute())
    if aac.is_cupy_array(x):
        return x.get()
    if aac.is_jax_array(x):
        return np.asarray(x)
    if aac.is_numpy_array(x):
        return np.asarray(x)
    if type(x).__module__.startswith("array_api_strict"):
        # its private NumPy buffer: works on every strict device (DLPack does not)
        return np.array(x._array, copy=True)
    return np.asarray(x)
