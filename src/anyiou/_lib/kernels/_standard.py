"""Pure array-API kernels: the fallback for every library (the router's `get` answers
from here whatever a backend module does not define), and the reference the per-backend
modules are tested against.

Every kernel takes the namespace ``xp`` first. Nothing here imports a framework or
calls anything outside the standard (``take_along_axis`` is avoided on purpose: the
Dask namespace lacks it). Two references live in sibling modules and are re-exported:
the Lovasz extension (`_standard_lovasz`) and Boundary IoU's box test
(`_standard_box`). The fallbacks of the fused statistics (`softmax_label_stats`,
`sigmoid_dense_stats`) and `pair_counts` are compositions of routed pieces: they call
the router for them, so a backend's own softmax or bincount still serves them.
"""

from __future__ import annotations

from typing import Any

import array_api_compat as aac

from ._device import device_of
from ._standard_box import box_interior
from ._standard_lovasz import lovasz_extension

__all__ = [
    "box_interior",
    "clip",
    "cumulative_sum",
    "lovasz_extension",
    "negative_sums",
    "overlap_loss",
    "pair_counts",
    "probs_dense_stats",
    "row_bincount",
    "run_compiled",
    "sigmoid",
    "sigmoid_dense_stats",
    "softmax",
    "softmax_label_stats",
    "sort_along_last",
    "take_labels",
    "value_range",
    "values_checkable",
]

#: Pixels per step of the one-hot counting fallbacks (float32 one-hot entries stay exact
#: integers as long as one step counts at most 2**24 of them).
FALLBACK_CHUNK_ELEMENTS = 2**24


def cumulative_sum(xp: Any, x: Any) -> Any:
    """Inclusive cumulative sum along the last axis."""
    return xp.cumulative_sum(x, axis=-1)


def softmax(xp: Any, x: Any, axis: int) -> Any:
    """Softmax of ``x`` over ``axis``; stable for logits of any magnitude."""
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    e = xp.exp(shifted)
    return e / xp.sum(e, axis=axis, keepdims=True)


def sigmoid(xp: Any, x: Any) -> Any:
    """Logistic sigmoid, finite with finite gradients for logits of any magnitude."""
    # exp(-|x|) never overflows, so neither branch of the where produces inf/NaN
    # (an inf in the unused branch would still poison the gradient).
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def take_labels(xp: Any, p: Any, labels: Any) -> Any:
    """``p[n, labels[n, i], i]`` for ``p`` (N, C, P) and ``labels`` (N, P) in [0, C)."""
    classes = xp.arange(p.shape[1], dtype=labels.dtype, device=device_of(labels))
    match = xp.expand_dims(labels, axis=1) == classes[None, :, None]
    return xp.sum(xp.where(match, p, xp.zeros_like(p)), axis=1)


def row_bincount(
    xp: Any, labels: Any, num_bins: int, weights: Any | None = None, *, scratch: bool = False
) -> Any:
    """Per-row histogram of ``labels`` (N, P), integers in [0, num_bins).

    Without ``weights``: (N, num_bins) integer counts. With ``weights`` (N, P) float:
    per-row segment sums in ``weights``' dtype, differentiable with respect to them.
    """
    bins = xp.arange(num_bins, dtype=labels.dtype, device=device_of(labels))
    match = xp.expand_dims(labels, axis=1) == bins[None, :, None]
    if weights is None:
        return xp.count_nonzero(match, axis=2)
    zero = xp.zeros((), dtype=weights.dtype, device=device_of(weights))
    return xp.sum(xp.where(match, xp.expand_dims(weights, axis=1), zero), axis=2)


def value_range(xp: Any, x: Any) -> tuple[Any, Any]:
    """``(min(x), max(x))`` of a non-empty 1-D ``x``, as 0-D arrays."""
    return xp.min(x), xp.max(x)


def clip(xp: Any, x: Any, lo: int, hi: int) -> Any:
    """Integers of ``x`` clipped to [lo, hi]."""
    return xp.clip(x, min=lo, max=hi)


def probs_dense_stats(
    xp: Any, p: Any, t: Any, valid: Any | None, hard: bool, acc: Any
) -> tuple[Any, Any, Any]:
    """Binary/multilabel ``(I, Sp, St)`` from probabilities ``p`` and targets ``t``.

    ``p`` and ``t`` are (N, C, P); ``valid`` (N, C, P) bool or None. ``I`` is smp's
    ``(Sp + St - sum|p - t|) / 2``, summed elementwise as ``sum(min(p, t))``: the same
    value without the cancellation, and the same derivative as torch gives smp's form
    (``min`` splits a tie in halves on torch and JAX, as ``|x|' = 0`` at 0 does; JAX's
    own ``abs`` would give 1 there). ``hard`` (the caller knows that the product
    ``sum(p * t)`` has that value and gradient) takes the product, whose autodiff is
    cheaper.
    """
    if valid is not None:
        t = xp.where(valid, t, xp.zeros_like(t))
        p = xp.where(valid, p, xp.zeros((), dtype=p.dtype, device=device_of(p)))
    t = xp.astype(t, p.dtype, copy=False)
    pred_sum = xp.sum(p, axis=2, dtype=acc)
    target_sum = xp.sum(t, axis=2, dtype=acc)
    overlap = p * t if hard else xp.minimum(p, t)
    intersection = xp.sum(overlap, axis=2, dtype=acc)
    return intersection, pred_sum, target_sum


def negative_sums(xp: Any, p: Any, acc: Any) -> Any:
    """``sum(min(p, 0), axis=2)`` of (N, C, P) ``p`` in ``acc``; a tie at ``p == 0`` gets
    the derivative 1/2 (torch and JAX split ties of ``minimum``)."""
    zero = xp.zeros((), dtype=p.dtype, device=device_of(p))
    return xp.sum(xp.minimum(p, zero), axis=2, dtype=acc)


def sort_along_last(xp: Any, key: Any, *arrays: Any) -> tuple[Any, ...]:
    """Permute each of ``arrays`` by the descending, stable order of ``key`` on the
    last axis (all of one shape (..., L)); a ``take`` on the flattened array with row
    offsets, which stays lazy on Dask."""
    perm = xp.argsort(key, axis=-1, descending=True, stable=True)
    shape = tuple(key.shape)
    length = shape[-1]
    rows = 1
    for s in shape[:-1]:
        rows *= s
    offsets = xp.arange(rows, dtype=perm.dtype, device=device_of(perm)) * length
    flat_idx = xp.reshape(xp.reshape(perm, (rows, length)) + offsets[:, None], (-1,))
    return tuple(xp.reshape(xp.take(xp.reshape(a, (-1,)), flat_idx, axis=0), shape) for a in arrays)


def values_checkable(x: Any) -> bool:
    """False for lazy arrays (JAX, Dask) and CuPy arrays (a check would cost a host
    synchronisation); the torch module adds its own rules (see the router's
    ``values_checkable``)."""
    return not (aac.is_lazy_array(x) or aac.is_cupy_array(x))


def overlap_loss(loss: Any, y_pred: Any, y_true: Any) -> None:
    """No fast path of a whole overlap loss: the losses compose it (the router's
    ``overlap_loss``; torch has one, `_torch_overlap`)."""
    return None


def run_compiled(fn: Any, xp: Any, *args: Any, static: tuple[int, ...] = (), **kwargs: Any) -> Any:
    """``fn(xp, *args, **kwargs)``: only JAX compiles (`_jax.run_compiled`)."""
    return fn(xp, *args, **kwargs)


# -- compositions of routed pieces ------------------------------------------------------


def softmax_label_stats(
    xp: Any,
    logits: Any,
    safe: Any,
    binned: Any,
    valid: Any | None,
    acc: Any,
    class_last: bool = False,
) -> tuple[Any, Any]:
    """The router's ``probs_label_stats`` of its ``softmax(logits, axis=1)``, in the
    product form (``class_last`` matters only to the JAX rule)."""
    from . import probs_label_stats
    from . import softmax as routed_softmax

    p = routed_softmax(xp, logits, 1)
    return probs_label_stats(xp, p, safe, binned, valid, acc, product=True)


def sigmoid_dense_stats(
    xp: Any, logits: Any, t: Any, valid: Any | None, hard: bool, acc: Any
) -> tuple[Any, Any, Any]:
    """The router's ``probs_dense_stats`` of its ``sigmoid(logits)``; ``hard`` is kept
    only where a backend module serves ``logits`` (see the router's
    ``sigmoid_dense_stats``)."""
    from . import is_native, probs_dense_stats
    from . import sigmoid as routed_sigmoid

    hard = hard and is_native(logits)
    return probs_dense_stats(xp, routed_sigmoid(xp, logits), t, valid, hard, acc)


def pair_counts(xp: Any, a: Any, b: Any, num_a: int, num_b: int) -> Any:
    """Joint per-row histogram with border bins (see the router's ``pair_counts`` for the
    layout): where the backend has its own ``row_bincount``, its integer clip and one
    per-row bincount of the pair code ``a * (num_b + 2) + b``; else `one_hot_pair_counts`."""
    from . import get

    bincount = get(a, "row_bincount")
    if bincount is row_bincount:
        return one_hot_pair_counts(xp, a, b, num_a, num_b)
    n = a.shape[0]
    rows_a, rows_b = num_a + 2, num_b + 2
    backend_clip = get(a, "clip")
    code = backend_clip(xp, a, -1, num_a) * rows_b  # a fresh array: in-place adds save copies
    code += backend_clip(xp, b, -1, num_b)
    code += rows_b + 1  # the code of (a, b) = (-1, -1) becomes 0
    out = bincount(xp, code, rows_a * rows_b, scratch=True)
    return xp.reshape(xp.astype(out, a.dtype, copy=False), (n, rows_a, rows_b))


def one_hot_pair_counts(xp: Any, a: Any, b: Any, num_a: int, num_b: int) -> Any:
    """Joint per-row histogram with border bins, as batched one-hot matrix products
    (``onehot(a).T @ onehot(b)``) in float32 steps of at most 2**24 pixels, each step's
    result exact and cast back to integers before summing. See the router's
    ``pair_counts`` for the layout of the result."""
    dev = device_of(a)
    n, total = a.shape
    rows_a, rows_b = num_a + 2, num_b + 2
    a = xp.clip(a, min=-1, max=num_a)
    b = xp.clip(b, min=-1, max=num_b)
    bins_a = xp.arange(-1, num_a + 1, dtype=a.dtype, device=dev)
    bins_b = xp.arange(-1, num_b + 1, dtype=b.dtype, device=dev)
    budget = FALLBACK_CHUNK_ELEMENTS // max(n * max(rows_a, rows_b), 1)
    step = max(1, min(FALLBACK_CHUNK_ELEMENTS, budget))
    out = xp.zeros((n, rows_a, rows_b), dtype=a.dtype, device=dev)
    for start in range(0, total, step):
        stop = min(start + step, total)
        oa = xp.astype(xp.expand_dims(a[:, start:stop], axis=2) == bins_a, xp.float32)
        ob = xp.astype(xp.expand_dims(b[:, start:stop], axis=2) == bins_b, xp.float32)
        out = out + xp.astype(xp.matmul(xp.matrix_transpose(oa), ob), a.dtype)
    return out
