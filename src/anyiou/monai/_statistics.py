"""MONAI's per-class loss statistics ``(tp, fp, fn)`` of one ``(input, target)`` pair.

MONAI 1.6.1 (``monai.losses.utils.compute_tp_fp_fn``) works on a one-hot target:

* ``soft_label=False`` and ``squared_pred=False``: the product form
  ``tp = sum(p * t)``, ``fp = sum(p) - tp``, ``fn = sum(t) - tp``;
* otherwise the norm form of order ``ord`` (1, or 2 for ``squared_pred``):
  ``tp = (|p|_o + |t|_o - |p - t|_o) / 2`` with ``|x|_1 = sum(|x|)`` and
  ``|x|_2 = sum(x ** 2)`` (MONAI squares the 2-norm), ``fp = |p|_o - tp``,
  ``fn = |t|_o - tp``.

Both are computed here with array-API operations on dense (one-hot or soft) targets.
Integer labels of shape (N, 1, *S) with ``to_onehot_y`` never become a one-hot: each
pixel's value at its label is gathered and summed per class (the kernels'
``take_labels``/``label_sums``), and the softmax of the logits against labels takes
the kernels' fused, memory-lean ``softmax_label_stats``.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from anyiou._lib import kernels
from anyiou._lib._namespace import accumulation_dtype, device_of, index_dtype
from anyiou._lib._values import check_labels_in_range, ignore_mask, index_labels
from anyiou.losses._statistics import label_bins

__all__ = ["ClassStats", "dense_statistics", "label_statistics"]


class ClassStats(NamedTuple):
    """``tp``, ``fp``, ``fn`` (each (N, C), the accumulation dtype) and the target sum
    ``ground`` (``sum(t)``, for the Generalized Dice weights)."""

    tp: Any
    fp: Any
    fn: Any
    ground: Any


def _abs(xp: Any, x: Any) -> Any:
    """``|x|`` with torch's derivative 0 at 0 on every library (JAX's ``abs`` has 1)."""
    return x * xp.sign(x)


def _norm_sum(xp: Any, x: Any, order: int, acc: Any) -> Any:
    """``sum(|x|)`` (order 1) or ``sum(x ** 2)`` (order 2) over the last axis."""
    y = _abs(xp, x) if order == 1 else x * x
    return xp.sum(y, axis=-1, dtype=acc)


def dense_statistics(
    xp: Any, p: Any, t: Any, mask: Any | None, *, squared: bool, soft_label: bool
) -> ClassStats:
    """Statistics of probabilities ``p`` and a dense target ``t``, both (N, C, P);
    ``mask`` (N, 1, P) of 0/1 in ``p``'s dtype multiplies both (None: no mask)."""
    acc = accumulation_dtype(xp, p.dtype)
    t = xp.astype(t, p.dtype, copy=False)
    if mask is not None:
        p = p * mask
        t = t * mask
    ground = xp.sum(t, axis=-1, dtype=acc)
    if not (squared or soft_label):
        tp = xp.sum(p * t, axis=-1, dtype=acc)
        return ClassStats(tp, xp.sum(p, axis=-1, dtype=acc) - tp, ground - tp, ground)
    order = 2 if squared else 1
    pred_o = _norm_sum(xp, p, order, acc)
    ground_o = _norm_sum(xp, t, order, acc)
    tp = (pred_o + ground_o - _norm_sum(xp, p - t, order, acc)) / 2
    return ClassStats(tp, pred_o - tp, ground_o - tp, ground)


def integer_labels(xp: Any, raw: Any) -> Any:
    """Labels as MONAI's ``one_hot`` reads them (``labels.long()``: floats truncated),
    in the indexing dtype."""
    if xp.isdtype(raw.dtype, "real floating"):
        return xp.astype(raw, index_dtype(xp, device_of(raw)))
    return index_labels(xp, raw)


def label_statistics(
    xp: Any,
    x: Any,
    target: Any,
    ignore_index: int | None,
    *,
    softmax: bool,
    squared: bool,
    soft_label: bool,
) -> ClassStats:
    """Statistics of ``x`` (N, C, *S) against labels ``target`` (N, 1, *S), as MONAI
    computes them on ``one_hot(target)``, without building it.

    ``softmax``: ``x`` holds logits, the probabilities are their softmax over axis 1;
    else ``x`` holds the (activated) predictions. Pixels labelled ``ignore_index``
    count nowhere (MONAI masks prediction and target there).
    """
    n, c = x.shape[0], x.shape[1]
    pixels = math.prod(x.shape[2:])
    p = xp.reshape(x, (n, c, pixels))
    raw = xp.reshape(target, (n, pixels))
    ignored = ignore_mask(xp, raw, ignore_index)
    labels = integer_labels(xp, raw)
    in_range = check_labels_in_range(
        xp, labels, c, ignore_index, ignored, name="target", original=raw
    )
    acc = accumulation_dtype(xp, p.dtype)
    dev = device_of(p)
    valid, binned, safe = label_bins(xp, labels, c, ignored, in_range)
    mask = None if ignore_index is None else valid
    counts = xp.astype(kernels.label_counts(xp, binned, c + 1)[:, :c], acc)
    if softmax and not squared:  # the fused path: no (N, C, P) probabilities kept
        tp, pred_sum = kernels.softmax_label_stats(xp, p, safe, binned, mask, acc)
        return ClassStats(tp, pred_sum - tp, counts - tp, counts)
    if softmax:
        p = kernels.softmax(xp, p, 1)
    if not (squared or soft_label):
        tp, pred_sum = kernels.probs_label_stats(xp, p, safe, binned, mask, acc, product=True)
        return ClassStats(tp, pred_sum - tp, counts - tp, counts)
    if mask is not None:
        p = xp.where(xp.expand_dims(mask, axis=1), p, xp.zeros((), dtype=p.dtype, device=dev))
    at_label = xp.astype(kernels.take_labels(xp, p, safe), acc, copy=False)
    if squared:  # (sum p^2 + n - sum (p - t)^2) / 2 = sum(p * t); MONAI's ord=2
        pred_o = xp.sum(p * p, axis=-1, dtype=acc)
    else:  # ord=1: (|p| + 1 - |p - 1|) / 2 at the label, 0 elsewhere
        pred_o = xp.sum(_abs(xp, p), axis=-1, dtype=acc)
        at_label = (_abs(xp, at_label) + 1 - _abs(xp, at_label - 1)) / 2
    tp = kernels.label_sums(xp, at_label, binned, c + 1)[:, :c]
    return ClassStats(tp, pred_o - tp, counts - tp, counts)
