"""Mode dispatch, activation, ignore masking and per-class overlap statistics.

One code path for every overlap loss: `overlap_statistics` turns a
``(y_pred, y_true)`` pair of any mode into three (N, C) arrays, the intersection
``I``, the prediction sum ``Sp = I + FP`` and the target sum ``St = I + FN``, per
sample and class. Losses only add their score and aggregation on top.

Semantics follow segmentation_models_pytorch 0.6.0:

* multiclass one-hot or soft targets of ``y_pred``'s shape (told apart from labels by
  the shape, `is_dense_multiclass_target`) take the dense path of the binary and
  multilabel modes on ``softmax(y_pred)``; ``ignore_index`` does not apply to them;
* multiclass labels become a one-hot target *implicitly*: no (N, C, *S) one-hot is
  built; per-pixel values at each pixel's label are gathered and scattered per class
  (``kernels.take_labels``/``label_sums``);
* ignored pixels get prediction 0 and target 0 in every class;
* every mode and target dtype uses smp's L1 form
  ``I = (sum(p) + sum(t) - sum(|p - t|)) / 2``, value and gradient (torch's derivative
  0 of ``|x|`` at 0), for probabilities outside [0, 1] or exactly 0 or 1 too. The
  product ``sum(p * t)`` (a sigmoid/softmax output against labels or 0/1 targets) is
  taken only where it gives the same value and gradient (see the kernels).

All sums accumulate in float32 or wider (see ``accumulation_dtype``).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from .._lib import kernels
from .._lib._checks import check_loss_pair, is_dense_multiclass_target
from .._lib._namespace import (
    accumulation_dtype,
    device_of,
    is_integral,
    move_axis,
    values_checkable,
)
from .._lib._options import BINARY_MODE, MULTICLASS_MODE
from .._lib._types import IgnoreValues
from .._lib._values import (
    check_labels_in_range,
    check_targets_in_unit_interval,
    ignore_mask,
    index_labels,
    widen_unsigned,
)

__all__ = ["OverlapStats", "label_bins", "overlap_statistics"]


class OverlapStats(NamedTuple):
    """Per-sample, per-class sums, each of shape (N, C) in the accumulation dtype."""

    intersection: Any
    pred_sum: Any
    target_sum: Any


def _flatten(xp: Any, x: Any, axis: int, pixels: int) -> Any:
    """(N, ..., C at ``axis``, ...) -> (N, C, P). Channels-last input is reshaped first
    (free) and then viewed transposed, which a lazy backend can fuse away."""
    n, c = x.shape[0], x.shape[axis]
    if axis == 1:
        return xp.reshape(x, (n, c, pixels))
    if axis == x.ndim - 1:
        return xp.permute_dims(xp.reshape(x, (n, pixels, c)), (0, 2, 1))
    return xp.reshape(move_axis(xp, x, axis, 1), (n, c, pixels))


def overlap_statistics(
    xp: Any,
    y_pred: Any,
    y_true: Any,
    *,
    mode: str,
    from_logits: bool,
    ignore_index: IgnoreValues,
    class_axis: int = 1,
) -> OverlapStats:
    """Compute `OverlapStats` for a validated mode and options.

    Shapes (see ``docs/modes.md``): ``y_pred`` is moved to (N, C, P) with P the
    flattened spatial size, ``y_true`` to (N, P) labels (multiclass) or (N, C, P)
    targets (binary: C = 1; multiclass one-hot or soft targets of ``y_pred``'s shape).
    """
    axis = check_loss_pair(xp, y_pred, y_true, mode, class_axis)
    n = y_pred.shape[0]
    if n == 0:  # empty batch: no statistics; stay connected to y_pred for autodiff
        acc = accumulation_dtype(xp, y_pred.dtype)
        c = 1 if mode == BINARY_MODE else y_pred.shape[axis]
        zero = xp.zeros((0, c), dtype=acc, device=device_of(y_pred))
        zero = zero + xp.astype(xp.sum(y_pred), acc) * 0.0
        return OverlapStats(zero, zero, zero)
    if mode == BINARY_MODE:  # the channel axis, if any, is a singleton
        pixels = math.prod(y_pred.shape) // n
        p = xp.reshape(y_pred, (n, 1, pixels))
        t = xp.reshape(y_true, (n, 1, pixels))
        return _dense_statistics(xp, p, t, ignore_index, from_logits)
    pixels = math.prod(y_pred.shape) // (n * y_pred.shape[axis])
    if mode == MULTICLASS_MODE and is_dense_multiclass_target(xp, y_pred, y_true, axis):
        p = _flatten(xp, y_pred, axis, pixels)
        t = _flatten(xp, y_true, axis, pixels)
        return _dense_multiclass_statistics(xp, p, t, ignore_index, from_logits)
    if mode == MULTICLASS_MODE:
        p = _flatten(xp, y_pred, axis, pixels)
        raw = xp.reshape(y_true, (n, pixels))
        # ignore_index is compared with the labels as given (by value, never wrapped)
        ignored = ignore_mask(xp, raw, ignore_index)
        labels = index_labels(xp, raw)
        checked = check_labels_in_range(
            xp, labels, p.shape[1], ignore_index, ignored, original=raw
        )
        class_last = axis == y_pred.ndim - 1 and axis != 1
        return _multiclass_statistics(
            xp, p, labels, ignored, ignore_index is not None, from_logits, checked,
            class_last=class_last,
        )
    # multilabel: targets have y_pred's layout
    p = _flatten(xp, y_pred, axis, pixels)
    t = _flatten(xp, y_true, axis, pixels)
    return _dense_statistics(xp, p, t, ignore_index, from_logits)


def label_bins(
    xp: Any, labels: Any, c: int, ignored: Any | None, in_range: bool
) -> tuple[Any | None, Any, Any]:
    """``(valid, binned, safe)`` of (N, P) ``labels`` in the indexing dtype: pixels that
    are ``ignored`` (or, where ``in_range`` is False because the values were not
    checked, out of [0, c)) go to an extra dump bin ``c`` in ``binned``, which the
    kernels slice away, and to class 0 in ``safe`` (a gather index); ``valid`` is their
    complement, None when every pixel counts."""
    if in_range and ignored is None:
        return None, labels, labels
    valid = ~ignored if in_range else (labels >= 0) & (labels < c)
    if ignored is not None and not in_range:
        valid = valid & ~ignored
    dump = xp.asarray(c, dtype=labels.dtype, device=device_of(labels))
    return valid, xp.where(valid, labels, dump), xp.where(valid, labels, xp.zeros_like(labels))


def _multiclass_statistics(
    xp: Any,
    x: Any,
    labels: Any,
    ignored: Any | None,
    masked: bool,
    from_logits: bool,
    in_range: bool,
    class_last: bool = False,
) -> OverlapStats:
    """``labels`` in the indexing dtype, ``ignored`` their ignore mask (None: nothing
    ignored), ``masked`` whether an ``ignore_index`` was given at all."""
    n, c, _ = x.shape
    acc = accumulation_dtype(xp, x.dtype)
    valid, binned, safe = label_bins(xp, labels, c, ignored, in_range)
    # smp masks the prediction only when ignore_index is given.
    mask = valid if masked else None
    if from_logits:
        intersection, pred_sum = kernels.softmax_label_stats(
            xp, x, safe, binned, mask, acc, class_last=class_last
        )
    else:
        # smp's L1 form; its sums of min(p, 0) are 0 with gradient 0 where every p > 0,
        # which eager arrays can tell (a torch autodiff pass less)
        positive = values_checkable(x) and kernels.inside_unit_interval(xp, x, upper=False)
        intersection, pred_sum = kernels.probs_label_stats(
            xp, x, safe, binned, mask, acc, positive=positive
        )
    target_sum = xp.astype(kernels.label_counts(xp, binned, c + 1)[:, :c], acc)
    return OverlapStats(intersection, pred_sum, target_sum)


def _dense_statistics(
    xp: Any, x: Any, t: Any, ignore_index: IgnoreValues, from_logits: bool
) -> OverlapStats:
    acc = accumulation_dtype(xp, x.dtype)
    # The product sum(p * t) is smp's L1 form, value and gradient, only for targets known
    # to be 0/1 (integers or bools whose values are checked below) and a p that is a
    # sigmoid output (see the kernels) or lies strictly inside (0, 1).
    hard = is_integral(xp, t.dtype) and values_checkable(t)
    ignored = ignore_mask(xp, t, ignore_index)  # by value: uint8 targets never equal -1
    check_targets_in_unit_interval(xp, t, ignore_index, ignored)
    valid = None if ignored is None else ~ignored
    t = widen_unsigned(xp, t)
    if from_logits:
        stats = kernels.sigmoid_dense_stats(xp, x, t, valid, hard, acc)
    else:
        hard = hard and values_checkable(x) and kernels.inside_unit_interval(xp, x)
        stats = kernels.probs_dense_stats(xp, x, t, valid, hard, acc)
    return OverlapStats(*stats)


def _dense_multiclass_statistics(
    xp: Any, x: Any, t: Any, ignore_index: IgnoreValues, from_logits: bool
) -> OverlapStats:
    """Multiclass statistics of a dense (one-hot or soft) target ``t`` (N, C, P): smp's
    L1 form with ``p = softmax(x)`` over the classes (``x`` itself without
    ``from_logits``). One-hot ``t`` gives the statistics of its labels."""
    if ignore_index is not None:
        raise ValueError(
            f"ignore_index={ignore_index} applies to integer labels, but y_true is a one-hot "
            "or soft target (y_pred's shape) in multiclass mode; pass integer labels to "
            "ignore pixels, or build the loss without ignore_index"
        )
    acc = accumulation_dtype(xp, x.dtype)
    check_targets_in_unit_interval(xp, t, None, None)
    # 0/1 targets (integers or bools, values checked above) take the product form, as
    # the label path does: the softmax's derivative vanishes where p is exactly 0 or 1,
    # the only points where it differs from the L1 form's gradient
    hard = is_integral(xp, t.dtype) and values_checkable(t)
    t = widen_unsigned(xp, t)
    if from_logits:
        p = kernels.softmax(xp, x, 1)
    else:
        p = x
        hard = hard and values_checkable(x) and kernels.inside_unit_interval(xp, x)
    return OverlapStats(*kernels.probs_dense_stats(xp, p, t, None, hard, acc))
