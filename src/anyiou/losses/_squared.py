"""Per-class sums of squares ``sum p**2`` and ``sum t**2`` (MONAI's ``squared_pred``).

The overlap losses take them in place of ``sum p`` and ``sum t`` in the denominator
when built with ``squared_pred=True``. They follow `overlap_statistics` pixel for pixel
(the same activation, the same ignored pixels with prediction 0 and target 0), and are
only computed when asked for, after it (which checks the pair and its values).

Integer labels build no one-hot: a hard target is 0 or 1, so ``sum t**2 = sum t``, the
label counts that `overlap_statistics` already returns.
"""

from __future__ import annotations

import math
from typing import Any

from .._lib import kernels
from .._lib._checks import is_dense_multiclass_target
from .._lib._namespace import accumulation_dtype, device_of, is_integral
from .._lib._options import BINARY_MODE, MULTICLASS_MODE
from .._lib._types import IgnoreValues
from .._lib._values import ignore_mask, index_labels, widen_unsigned
from ._statistics import _flatten

__all__ = ["squared_sums"]


def squared_sums(
    xp: Any,
    y_pred: Any,
    y_true: Any,
    target_sum: Any,
    *,
    mode: str,
    from_logits: bool,
    ignore_index: IgnoreValues,
    class_axis: int = 1,
) -> tuple[Any, Any]:
    """``(sum p**2, sum t**2)`` per sample and class, each (N, C) in the accumulation
    dtype, for a pair that `overlap_statistics` accepted; ``target_sum`` is its
    (N, C) target sum (the answer for integer labels and 0/1 integer targets)."""
    n = y_pred.shape[0]
    acc = accumulation_dtype(xp, y_pred.dtype)
    if n == 0:
        return target_sum, target_sum
    if mode == BINARY_MODE:
        pixels = math.prod(y_pred.shape) // n
        p = xp.reshape(y_pred, (n, 1, pixels))
        t = xp.reshape(y_true, (n, 1, pixels))
        return _dense(xp, p, t, ignore_index, from_logits, target_sum, acc, softmax=False)
    axis = class_axis % y_pred.ndim  # checked by overlap_statistics
    pixels = math.prod(y_pred.shape) // (n * y_pred.shape[axis])
    p = _flatten(xp, y_pred, axis, pixels)
    if mode == MULTICLASS_MODE and is_dense_multiclass_target(xp, y_pred, y_true, axis):
        t = _flatten(xp, y_true, axis, pixels)
        return _dense(xp, p, t, None, from_logits, target_sum, acc, softmax=True)
    if mode == MULTICLASS_MODE:
        probs = kernels.softmax(xp, p, 1) if from_logits else p
        if ignore_index is not None:  # smp masks the prediction only then
            raw = xp.reshape(y_true, (n, pixels))
            labels = index_labels(xp, raw)
            valid = (labels >= 0) & (labels < p.shape[1])
            ignored = ignore_mask(xp, raw, ignore_index)
            if ignored is not None:
                valid = valid & ~ignored
            zero = xp.zeros((), dtype=probs.dtype, device=device_of(probs))
            probs = xp.where(valid[:, None, :], probs, zero)
        return _sum_squares(xp, probs, acc), target_sum
    t = _flatten(xp, y_true, axis, pixels)
    return _dense(xp, p, t, ignore_index, from_logits, target_sum, acc, softmax=False)


def _sum_squares(xp: Any, x: Any, acc: Any) -> Any:
    x = xp.astype(x, acc, copy=False)
    return xp.sum(x * x, axis=2)


def _dense(
    xp: Any,
    x: Any,
    t: Any,
    ignore_index: IgnoreValues,
    from_logits: bool,
    target_sum: Any,
    acc: Any,
    *,
    softmax: bool,
) -> tuple[Any, Any]:
    if from_logits:
        p = kernels.softmax(xp, x, 1) if softmax else kernels.sigmoid(xp, x)
    else:
        p = x
    ignored = ignore_mask(xp, t, ignore_index)
    if ignored is not None:
        p = xp.where(ignored, xp.zeros((), dtype=p.dtype, device=device_of(p)), p)
    pred_sq = _sum_squares(xp, p, acc)
    if is_integral(xp, t.dtype):  # 0/1 (checked on eager arrays): t**2 = t
        return pred_sq, target_sum
    t = widen_unsigned(xp, t)
    if ignored is not None:
        t = xp.where(ignored, xp.zeros_like(t), t)
    return pred_sq, _sum_squares(xp, t, acc)
