"""The kernel router: every function here picks the kernel module of the library of the
arrays at hand, and falls back to the pure array-API module `_standard`.

Backend modules (`_numpy`, `_torch`, `_jax`, `_cupy`, `_dask`) import their framework
at the top and are imported only when an array of that library arrives, so importing
anyiou never imports a framework. A backend module defines only the kernels it speeds
up; a missing name means "use the standard one". Kernels composed of others (the
label statistics, the pair counts) are written once here from the routed pieces.

``USE_NATIVE = False`` (the one switch, read only by `backend_module`) forces the
pure-standard path everywhere, so the tests can check that both paths agree.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import array_api_compat as aac

from . import _standard

#: Use the per-backend kernel modules; False forces `_standard` everywhere.
USE_NATIVE = True

__all__ = [
    "USE_NATIVE",
    "backend_module",
    "probs_dense_stats",
    "label_counts",
    "label_sums",
    "pair_counts",
    "probs_label_stats",
    "run_compiled",
    "sigmoid",
    "sigmoid_dense_stats",
    "softmax",
    "softmax_label_stats",
    "sort_along_last",
    "take_labels",
]

# (library test, module name): the first test that accepts the array picks the module
_BACKENDS = (
    (aac.is_torch_array, "_torch"),
    (aac.is_jax_array, "_jax"),
    (aac.is_numpy_array, "_numpy"),
    (aac.is_cupy_array, "_cupy"),
    (aac.is_dask_array, "_dask"),
)


def backend_module(x: Any) -> Any:
    """The kernel module for ``x``'s library (imported on first use), else `_standard`."""
    if USE_NATIVE:
        for is_library, name in _BACKENDS:
            if is_library(x):
                return importlib.import_module(f"{__name__}.{name}")
    return _standard


def _kernel(x: Any, name: str) -> Callable[..., Any]:
    """The backend's kernel ``name`` for ``x``, or the standard one."""
    module = backend_module(x)
    return getattr(module, name, None) or getattr(_standard, name)


def _native(x: Any, name: str) -> Callable[..., Any] | None:
    """The backend's own kernel ``name`` for ``x``, or None (no standard fallback)."""
    module = backend_module(x)
    return None if module is _standard else getattr(module, name, None)


# -- elementwise and gather primitives --------------------------------------------------


def softmax(xp: Any, x: Any, axis: int) -> Any:
    """Softmax of ``x`` over ``axis``; stable for logits of any magnitude."""
    return _kernel(x, "softmax")(xp, x, axis)


def sigmoid(xp: Any, x: Any) -> Any:
    """Logistic sigmoid, finite with finite gradients for logits of any magnitude."""
    return _kernel(x, "sigmoid")(xp, x)


def take_labels(xp: Any, p: Any, labels: Any) -> Any:
    """``p[n, labels[n, i], i]`` for ``p`` (N, C, P) and ``labels`` (N, P) in [0, C);
    shape (N, P)."""
    return _kernel(p, "take_labels")(xp, p, labels)


def sort_along_last(xp: Any, key: Any, *arrays: Any) -> tuple[Any, ...]:
    """Permute each of ``arrays`` by the descending, stable order of ``key`` on the
    last axis.

    ``key`` and every array share one shape (..., L). Returns one permuted array per
    input array (``key`` itself is not returned), differentiable with respect to
    ``arrays`` (the permutation is an integer array).
    """
    return _kernel(key, "sort_along_last")(xp, key, *arrays)


# -- per-row histograms -----------------------------------------------------------------


def label_sums(xp: Any, values: Any, labels: Any, num_bins: int) -> Any:
    """Per-row segment sums: ``out[n, c] = sum(values[n, i] for i with labels[n, i] == c)``.

    ``values`` (N, P) float, ``labels`` (N, P) integers in [0, num_bins). Returns
    (N, num_bins) in ``values``' dtype, differentiable with respect to ``values``.
    """
    out = _kernel(values, "row_bincount")(xp, labels, num_bins, values)
    return xp.astype(out, values.dtype, copy=False)


def label_counts(xp: Any, labels: Any, num_bins: int) -> Any:
    """Per-row histogram of integer ``labels`` (N, P) in [0, num_bins): (N, num_bins) int."""
    return _kernel(labels, "row_bincount")(xp, labels, num_bins)


def pair_counts(xp: Any, a: Any, b: Any, num_a: int, num_b: int) -> Any:
    """Joint histogram per row, with border bins for values outside the ranges.

    ``a`` and ``b`` are signed integer arrays of one shape (N, P) and dtype. Returns
    ``out`` of shape (N, num_a + 2, num_b + 2), exact counts in ``a``'s dtype:
    ``out[n, i + 1, j + 1] = #{k : a[n, k] == i and b[n, k] == j}`` for i in
    [0, num_a), j in [0, num_b); index 0 of an axis collects the values below 0 and
    index ``num + 1`` the values from ``num`` up (both are clipped to [-1, num]).

    Native path: the backend's integer clip and one per-row bincount of the pair code
    ``a * (num_b + 2) + b``; pure path: one-hot matrix products (`_standard.pair_counts`).
    """
    fused = _native(a, "pair_counts")  # JAX: one compiled program
    if fused is not None:
        return fused(xp, a, b, num_a, num_b)
    if backend_module(a) is _standard:
        return _standard.pair_counts(xp, a, b, num_a, num_b)
    n = a.shape[0]
    rows_a, rows_b = num_a + 2, num_b + 2
    clip = _kernel(a, "clip")
    code = clip(xp, a, -1, num_a) * rows_b  # a fresh array: in-place adds save copies
    code += clip(xp, b, -1, num_b)
    code += rows_b + 1  # the code of (a, b) = (-1, -1) becomes 0
    out = _kernel(a, "row_bincount")(xp, code, rows_a * rows_b, scratch=True)
    return xp.reshape(xp.astype(out, a.dtype, copy=False), (n, rows_a, rows_b))


# -- fused loss statistics --------------------------------------------------------------


def probs_label_stats(
    xp: Any, p: Any, safe: Any, binned: Any, valid: Any | None, acc: Any
) -> tuple[Any, Any]:
    """Multiclass ``(I, Sp)`` from probabilities ``p`` (N, C, P), each (N, C) in ``acc``.

    ``I[n, c]`` sums ``p[n, c, i]`` over pixels labelled ``c``; ``Sp[n, c]`` sums
    ``p[n, c, i]`` over valid pixels (all pixels when ``valid`` is None). ``safe`` (N, P)
    holds labels clipped to [0, C); ``binned`` (N, P) holds labels in [0, C] where C marks
    ignored pixels.
    """
    c = p.shape[1]
    p_true = xp.astype(take_labels(xp, p, safe), acc, copy=False)
    intersection = label_sums(xp, p_true, binned, c + 1)[:, :c]
    if valid is not None:
        zero = xp.zeros((), dtype=p.dtype, device=aac.device(p))
        p = xp.where(xp.expand_dims(valid, axis=1), p, zero)
    return intersection, xp.sum(p, axis=2, dtype=acc)


def softmax_label_stats(
    xp: Any,
    logits: Any,
    safe: Any,
    binned: Any,
    valid: Any | None,
    acc: Any,
    class_last: bool = False,
) -> tuple[Any, Any]:
    """`probs_label_stats` of ``softmax(logits, axis=1)``; one fused, memory-lean
    autodiff rule on torch and JAX. ``class_last`` tells that ``logits`` is a
    transposed view of channels-last (N, P, C) logits (the JAX rule then works on that
    layout, where the transposes cancel)."""
    fused = _native(logits, "softmax_label_stats")
    if fused is not None:
        return fused(xp, logits, safe, binned, valid, acc, class_last)
    return probs_label_stats(xp, softmax(xp, logits, 1), safe, binned, valid, acc)


def probs_dense_stats(
    xp: Any, p: Any, t: Any, valid: Any | None, hard: bool, acc: Any
) -> tuple[Any, Any, Any]:
    """Binary/multilabel ``(I, Sp, St)``, each (N, C), from probabilities ``p`` and
    targets ``t`` (N, C, P); ``valid`` (N, C, P) bool or None. Hard targets use
    ``I = sum(p * t)``, soft ones the L1 form ``(Sp + St - sum|p - t|) / 2``."""
    return _kernel(p, "probs_dense_stats")(xp, p, t, valid, hard, acc)


def sigmoid_dense_stats(
    xp: Any, logits: Any, t: Any, valid: Any | None, hard: bool, acc: Any
) -> tuple[Any, Any, Any]:
    """`probs_dense_stats` of ``sigmoid(logits)``; one fused autodiff rule on torch and JAX."""
    fused = _native(logits, "sigmoid_dense_stats")
    if fused is not None:
        return fused(xp, logits, t, valid, hard, acc)
    return probs_dense_stats(xp, sigmoid(xp, logits), t, valid, hard, acc)


# -- compilation ------------------------------------------------------------------------


def run_compiled(fn: Any, xp: Any, *args: Any, static: tuple[int, ...] = (), **kwargs: Any) -> Any:
    """``fn(xp, *args, **kwargs)``; on JAX arrays as one cached ``jax.jit`` program.

    Eager JAX compiles every operation separately for each new shape; a pure helper made
    of many small operations compiles once this way (under an outer ``jit`` it is
    inlined). ``static`` lists the positions in ``args`` that are Python values
    (hashable); keyword arguments are always static. Other backends call ``fn``.
    """
    compiled = next((_native(a, "run_compiled") for a in args if aac.is_jax_array(a)), None)
    if compiled is None:
        return fn(xp, *args, **kwargs)
    return compiled(fn, xp, *args, static=static, **kwargs)
