"""NumPy kernels: one-buffer softmax and sigmoid, weighted-bincount label sums, chunked
dense statistics."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _standard
from ._chunks import pixel_chunks

__all__ = ["clip", "negative_sums", "probs_dense_stats", "row_bincount", "sigmoid", "softmax",
           "sort_along_last", "take_labels"]


def softmax(xp: Any, x: Any, axis: int) -> Any:
    """Softmax in one output buffer (the generic form makes three)."""
    if x.dtype.kind != "f":
        return _standard.softmax(xp, x, axis)
    out = np.subtract(x, x.max(axis=axis, keepdims=True))
    np.exp(out, out=out)
    out /= out.sum(axis=axis, keepdims=True)
    return out


def sigmoid(xp: Any, x: Any) -> Any:
    """``1 / (1 + exp(-x))`` in one buffer of at least float32; ``exp`` overflows to inf
    only where the sigmoid is below the smallest normal float, giving 0."""
    if x.dtype.kind != "f":
        return _standard.sigmoid(xp, x)
    out = np.negative(x, dtype=np.result_type(x.dtype, np.float32))
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1
    np.reciprocal(out, out=out)
    return out


def take_labels(xp: Any, p: Any, labels: Any) -> Any:
    """``p[n, labels[n, i], i]`` as one gather."""
    return np.take_along_axis(p, labels[:, None, :], axis=1)[:, 0, :]


def row_bincount(
    xp: Any, labels: Any, num_bins: int, weights: Any | None = None, *, scratch: bool = False
) -> Any:
    """Per-row ``np.bincount`` of (N, P) ``labels`` as one call (row offsets); float64
    sums with ``weights`` (N, P), int64 counts without. ``scratch``: ``labels`` is a
    temporary of the caller's that may receive the offsets in place."""
    n = labels.shape[0]
    flat = labels.astype(np.int64, copy=n > 1 and not scratch)
    if n > 1:
        flat += np.arange(n)[:, None] * num_bins
    flat = flat.reshape(-1)
    w = None if weights is None else weights.reshape(-1)
    return np.bincount(flat, weights=w, minlength=n * num_bins).reshape(n, num_bins)


def clip(xp: Any, x: Any, lo: int, hi: int) -> Any:
    """Two reductions are cheaper than a clip's copy; labels are usually in range."""
    if x.size == 0 or (x.min() >= lo and x.max() <= hi):
        return x
    return np.clip(x, lo, hi)


def probs_dense_stats(
    xp: Any, p: Any, t: Any, valid: Any | None, hard: bool, acc: Any
) -> tuple[Any, Any, Any]:
    """Float copies of the target one pixel chunk at a time; ``sum(min(p, t))`` (smp's L1
    form, see `_standard.probs_dense_stats`) in that chunk's buffer, or ``sum(p * t)``
    when ``hard`` says that the product has the same value."""
    n, c, pixels = p.shape
    if valid is not None:  # ignored pixels predict 0 (p is ours or a masked copy)
        p = np.where(valid, p, 0).astype(p.dtype, copy=False)
    pred_sum = p.sum(axis=2, dtype=acc)
    inter, target_sum = np.zeros_like(pred_sum), np.zeros_like(pred_sum)
    for i, lo, hi in pixel_chunks(n, c, pixels):
        pc = p[i, :, lo:hi]
        tf = t[i, :, lo:hi].astype(acc)
        if valid is not None:
            np.copyto(tf, 0, where=~valid[i, :, lo:hi])
        target_sum[i] += tf.sum(axis=1)
        if hard:
            inter[i] += np.einsum("cp,cp->c", pc, tf)
        else:
            inter[i] += np.minimum(pc, tf, out=tf).sum(axis=1)
    return inter, pred_sum, target_sum


def negative_sums(xp: Any, p: Any, acc: Any) -> Any:
    """``sum(min(p, 0), axis=2)``, one pixel chunk at a time (no logits-sized temporary)."""
    n, c, pixels = p.shape
    out = np.zeros((n, c), dtype=acc)
    buf = None
    for i, lo, hi in pixel_chunks(n, c, pixels):
        chunk = p[i, :, lo:hi]
        if buf is None or buf.shape != chunk.shape:
            buf = np.empty(chunk.shape, dtype=np.result_type(p.dtype, acc))
        out[i] += np.minimum(chunk, 0, out=buf).sum(axis=1)
    return out


def sort_along_last(xp: Any, key: Any, *arrays: Any) -> tuple[Any, ...]:
    """Descending stable argsort of ``key``, then one gather per array."""
    perm = xp.argsort(key, axis=-1, descending=True, stable=True)
    return tuple(np.take_along_axis(a, perm, axis=-1) for a in arrays)
