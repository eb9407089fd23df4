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

from .._namespace import device_of, is_torch_tensor
from . import _standard

#: Use the per-backend kernel modules; False forces `_standard` everywhere.
USE_NATIVE = True

__all__ = [
    "USE_NATIVE",
    "backend_module",
    "box_interior",
    "cumulative_sum",
    "probs_dense_stats",
    "label_counts",
    "inside_unit_interval",
    "label_sums",
    "negative_sums",
    "pair_counts",
    "probs_label_stats",
    "run_compiled",
    "sigmoid",
    "sigmoid_dense_stats",
    "softmax",
    "softmax_label_stats",
    "lovasz_kernel",
    "sort_along_last",
    "take_labels",
    "value_range",
]

# (library test, module name): the first test that accepts the array picks the module
# (torch's test is an isinstance, which torch.compile traces without a warning)
_BACKENDS = (
    (is_torch_tensor, "_torch"),
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
                return _import_kernels(name)
    return _standard


def _import_kernels(name: str) -> Any:
    """The backend module ``name``, by ``import`` statements: ``torch.compile`` traces
    them (dynamo refuses ``importlib.import_module``), also on the first call."""
    if name == "_torch":
        from . import _torch as module
    elif name == "_jax":
        from . import _jax as module
    elif name == "_numpy":
        from . import _numpy as module
    elif name == "_cupy":
        from . import _cupy as module
    elif name == "_dask":
        from . import _dask as module
    else:  # pragma: no cover - a backend added to _BACKENDS only
        module = importlib.import_module(f"{__name__}.{name}")
    return module


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


def value_range(xp: Any, x: Any) -> tuple[Any, Any]:
    """``(min(x), max(x))`` of a non-empty 1-D ``x`` as 0-D arrays (eager value checks)."""
    return _kernel(x, "value_range")(xp, x)


def sort_along_last(xp: Any, key: Any, *arrays: Any) -> tuple[Any, ...]:
    """Permute each of ``arrays`` by the descending, stable order of ``key`` on the
    last axis.

    ``key`` and every array share one shape (..., L). Returns one permuted array per
    input array (``key`` itself is not returned), differentiable with respect to
    ``arrays`` (the permutation is an integer array).
    """
    return _kernel(key, "sort_along_last")(xp, key, *arrays)


def cumulative_sum(xp: Any, x: Any) -> Any:
    """Inclusive cumulative sum of ``x`` along its last axis (the namespace's
    ``cumulative_sum``; torch's ``cumsum``, which dynamo traces without array-api-compat's
    lru-cached namespace lookup)."""
    return _kernel(x, "cumulative_sum")(xp, x)


def lovasz_kernel(errors: Any, g: Any) -> Callable[..., Any] | None:
    """The backend's fused Lovasz extension for these arrays, else None (the caller's
    array-API composition); called as ``kernel(xp, x, g, valid, hinge, probs)``, one loss
    per row ``x[b, k]``: (B, K, ...) -> (B, K), ``valid`` broadcastable to ``x``; with
    ``probs``, ``x`` holds probabilities, ``g`` is bool and the errors are ``|g - x|``.
    Its module is imported on first use, like the backend modules."""
    if not USE_NATIVE:
        return None
    if is_torch_tensor(errors):
        from . import _lovasz_torch as module
    elif aac.is_jax_array(errors):
        from . import _lovasz_jax as module
    else:
        return None
    return module.lovasz_kernel(errors, g)


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


def box_interior(xp: Any, labels: Any, axes: tuple[int, ...], d: int, outside: Any,
                 standard: Callable[..., Any]) -> Any:
    """Boundary IoU's box test (``anyiou._lib._box.box_interior``): the backend's own
    kernel (Dask: blocks with halos), else ``standard(xp, labels, axes, d, outside)``."""
    native = _native(labels, "box_interior")
    if native is None:
        return standard(xp, labels, axes, d, outside)
    return native(xp, labels, axes, d, outside, standard)


# -- fused loss statistics --------------------------------------------------------------


def negative_sums(xp: Any, p: Any, acc: Any) -> Any:
    """``sum(min(p, 0), axis=2)`` of (N, C, P) ``p``, (N, C) in ``acc``."""
    return _kernel(p, "negative_sums")(xp, p, acc)


def inside_unit_interval(xp: Any, x: Any, upper: bool = True) -> bool:
    """Whether every value of ``x`` is above 0 (and, with ``upper``, below 1): where it
    is, the product form of the statistics is smp's L1 form in value *and* gradient.
    Reads the values: call it only on arrays whose values may be read
    (``values_checkable``). True for an empty ``x``; False where ``x`` holds NaN."""
    if any(s == 0 for s in x.shape):
        return True
    if not bool(xp.min(x) > 0):  # no reshape: a transposed view would be copied
        return False
    return not upper or bool(xp.max(x) < 1)


def probs_label_stats(
    xp: Any,
    p: Any,
    safe: Any,
    binned: Any,
    valid: Any | None,
    acc: Any,
    product: bool = False,
    positive: bool = False,
) -> tuple[Any, Any]:
    """Multiclass ``(I, Sp)`` from probabilities ``p`` (N, C, P), each (N, C) in ``acc``.

    ``Sp[n, c]`` sums ``p[n, c, i]`` over valid pixels (all pixels when ``valid`` is
    None). ``I`` is smp's ``(Sp + St - sum|p - onehot|) / 2`` for any ``p`` (outside
    [0, 1], or exactly 0 or 1), value and gradient, without a one-hot: summed elementwise
    as ``sum(min(p, onehot))``, that is ``min(p, 0)`` at every valid pixel and class
    (`negative_sums`) plus ``min(p, 1) - min(p, 0)`` at each pixel's label (one gather,
    one per-class scatter-add). ``positive`` (the caller has seen every ``p > 0``) drops
    the ``min(p, 0)`` sums, which are then 0 with gradient 0. ``product=True`` (``p`` is
    a softmax output) takes the product form, each pixel's probability of its label
    summed per class: the same value there. ``safe`` (N, P) holds labels clipped to
    [0, C); ``binned`` (N, P) holds labels in [0, C] where C marks ignored pixels.
    """
    c = p.shape[1]
    if valid is not None:
        zero = xp.zeros((), dtype=p.dtype, device=device_of(p))
        p = xp.where(xp.expand_dims(valid, axis=1), p, zero)
    p_true = xp.astype(take_labels(xp, p, safe), acc, copy=False)
    if product:
        at_label = p_true
    else:
        one = xp.ones((), dtype=acc, device=device_of(p_true))
        zero_acc = xp.zeros((), dtype=acc, device=device_of(p_true))
        at_label = xp.minimum(p_true, one) - xp.minimum(p_true, zero_acc)
    intersection = label_sums(xp, at_label, binned, c + 1)[:, :c]
    if not (product or positive):
        intersection = intersection + negative_sums(xp, p, acc)
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
    p = softmax(xp, logits, 1)
    return probs_label_stats(xp, p, safe, binned, valid, acc, product=True)


def probs_dense_stats(
    xp: Any, p: Any, t: Any, valid: Any | None, hard: bool, acc: Any
) -> tuple[Any, Any, Any]:
    """Binary/multilabel ``(I, Sp, St)``, each (N, C), from probabilities ``p`` and
    targets ``t`` (N, C, P); ``valid`` (N, C, P) bool or None. ``I`` is smp's L1 form
    ``(Sp + St - sum|p - t|) / 2`` (as ``sum(min(p, t))``), value and gradient, for any
    ``p`` and ``t``. ``hard``: the caller knows that the product ``sum(p * t)`` has that
    value and gradient (0/1 targets and every ``p`` strictly inside (0, 1), or no
    gradient is taken), which the kernels then use."""
    return _kernel(p, "probs_dense_stats")(xp, p, t, valid, hard, acc)


def sigmoid_dense_stats(
    xp: Any, logits: Any, t: Any, valid: Any | None, hard: bool, acc: Any
) -> tuple[Any, Any, Any]:
    """`probs_dense_stats` of ``sigmoid(logits)``; one fused autodiff rule on torch and JAX.

    ``hard``: 0/1 targets. The fused rules take the product only where it is exact (torch:
    the sigmoid's derivative ``p (1 - p)`` is 0 where ``p`` rounds to 0 or 1). So does a
    backend module that leaves the sigmoid to this composition (NumPy, no autodiff); the
    pure-standard path may be differentiated (torch or JAX with ``USE_NATIVE`` off),
    where its sigmoid's derivative at ``p == 1`` is not 0, and keeps the L1 form.
    """
    fused = _native(logits, "sigmoid_dense_stats")
    if fused is not None:
        return fused(xp, logits, t, valid, hard, acc)
    hard = hard and backend_module(logits) is not _standard
    return probs_dense_stats(xp, sigmoid(xp, logits), t, valid, hard, acc)


# -- compilation ------------------------------------------------------------------------


def run_compiled(fn: Any, xp: Any, *args: Any, static: tuple[int, ...] = (), **kwargs: Any) -> Any:
    """``fn(xp, *args, **kwargs)``; on JAX arrays as one cached ``jax.jit`` program.

    Eager JAX compiles every operation separately for each new shape; a pure helper made
    of many small operations compiles once this way (under an outer ``jit`` it is
    inlined). ``static`` lists the positions in ``args`` that are Python values
    (hashable); keyword arguments are always static. Other backends call ``fn``.
    """
    compiled = next((_native(a, "run_compiled") for a in args
                     if not is_torch_tensor(a) and aac.is_jax_array(a)), None)
    if compiled is None:
        return fn(xp, *args, **kwargs)
    return compiled(fn, xp, *args, static=static, **kwargs)
