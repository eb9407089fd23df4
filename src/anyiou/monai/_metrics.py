"""DiceMetric and MeanIoU with MONAI 1.6.1's arguments, buffer and reductions.

``metric(y_pred=..., y=...)`` returns the batch's per-image, per-class scores (N, C')
(NaN for a class absent from the ground truth with ``ignore_empty``) and appends them
to the metric's buffer; ``aggregate()`` reduces the whole buffer (MONAI's
``do_metric_reduction``, `metric_reduction`), ``reset()`` empties it.

Scores follow MONAI's ``DiceHelper`` and ``compute_iou``; the sums are taken with
array-API operations over the spatial axes, per image and class.
"""

from __future__ import annotations

import math
from typing import Any

from anyiou._lib._namespace import accumulation_dtype, device_of, get_namespace
from anyiou._lib._numerics import safe_divide
from anyiou._lib._options import check_ignore_value

from ._prepare import check_reduction, dense_ignore_mask
from ._reduction import METRIC_REDUCTIONS, metric_reduction

__all__ = ["DiceMetric", "MeanIoU", "compute_dice", "compute_iou"]


class _Cumulative:
    """MONAI's ``CumulativeIterationMetric``: a buffer of per-batch (N, C') scores."""

    def __init__(self, include_background: bool, reduction: str, get_not_nans: bool,
                 ignore_empty: bool, ignore_index: int | None) -> None:
        self.include_background = include_background
        self.reduction = check_reduction(reduction, METRIC_REDUCTIONS)
        self.get_not_nans = get_not_nans
        self.ignore_empty = ignore_empty
        self.ignore_index = check_ignore_value(ignore_index)
        self._buffer: list[Any] = []

    def __call__(self, y_pred: Any, y: Any) -> Any:
        """The scores (N, C') of one batch, appended to the buffer.

        ``y_pred`` and ``y`` are arrays of one library (N, C, *S); a list of (C, *S)
        items is stacked into a batch first."""
        if isinstance(y_pred, (list, tuple)) or isinstance(y, (list, tuple)):
            y_pred, y = _stacked(y_pred), _stacked(y)
        xp = get_namespace(y_pred=y_pred, y=y)
        if y_pred.ndim < 3:
            raise ValueError(
                "y_pred should have at least 3 dimensions (batch, channel, spatial), "
                f"got {y_pred.ndim}."
            )
        scores = self._compute(xp, y_pred, y)
        self._buffer.append(scores)
        return scores

    def _compute(self, xp: Any, y_pred: Any, y: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_buffer(self) -> Any:
        """The buffered scores, concatenated over the batches: (sum of N, C')."""
        if not self._buffer:
            raise ValueError("the metric holds no scores yet: call it on a batch first")
        xp = get_namespace(scores=self._buffer[0])
        return xp.concat(self._buffer, axis=0) if len(self._buffer) > 1 else self._buffer[0]

    def aggregate(self, reduction: str | None = None) -> Any:
        """The buffer reduced by ``reduction`` (default: the metric's); with
        ``get_not_nans`` the pair ``(scores, not_nans)``, the count of scores that are
        not NaN, in the same shape."""
        data = self.get_buffer()
        xp = get_namespace(scores=data)
        chosen = self.reduction if reduction is None else check_reduction(
            reduction, METRIC_REDUCTIONS)
        f, not_nans = metric_reduction(xp, data, chosen)
        return (f, not_nans) if self.get_not_nans else f

    def reset(self) -> None:
        """Empty the buffer."""
        self._buffer = []


def _stacked(items: Any) -> Any:
    if not isinstance(items, (list, tuple)):
        return items
    xp = get_namespace(**{f"item{i}": v for i, v in enumerate(items)})
    return xp.stack(list(items), axis=0)


def _float_dtype(xp: Any, *arrays: Any) -> Any:
    """float64 if an input is float64, else float32 (MONAI's scores are float32)."""
    return xp.float64 if any(a.dtype == xp.float64 for a in arrays) else xp.float32


class DiceMetric(_Cumulative):
    """MONAI's ``DiceMetric`` (``monai.metrics.DiceMetric``, 1.6.1) on any array library.

    ``metric(y_pred=..., y=...)``: ``y_pred`` one-hot (N, C, *S) (any non-zero value
    counts as predicted) or labels (N, 1, *S) with ``num_classes``; ``y`` one-hot or
    soft (N, C, *S) or labels (N, 1, *S). Returns the Dice score of each image and
    class, (N, C') in float32 (float64 for float64 inputs): ``2 I / (P + T)`` where the
    class is present in ``y``; where it is absent NaN with ``ignore_empty``, else 1 if
    the prediction is empty too and 0 otherwise.

    Parameters
    ----------
    include_background : bool
        Keep channel 0.
    reduction : {"mean", "sum", "mean_batch", "sum_batch", "mean_channel", "sum_channel", "none"}
        What `aggregate` returns (NaN scores are left out of the means).
    get_not_nans : bool
        `aggregate` also returns the count of scores that are not NaN.
    ignore_empty : bool
        NaN for a class absent from the ground truth.
    num_classes : int or None
        The number of classes of label inputs (default ``y_pred.shape[1]``).
    return_with_label : bool or list of str
        With ``reduction="mean_batch"``, `aggregate` returns a dict of per-class floats.
    per_component : bool
        MONAI's connected-component Dice: not supported (True raises ``ValueError``).
    ignore_index : int or None
        Pixels to leave out (MONAI's ``create_ignore_mask`` of ``y``).
    """

    def __init__(
        self,
        include_background: bool = True,
        reduction: str = "mean",
        get_not_nans: bool = False,
        ignore_empty: bool = True,
        num_classes: int | None = None,
        return_with_label: bool | list[str] = False,
        per_component: bool = False,
        ignore_index: int | None = None,
    ) -> None:
        super().__init__(include_background, reduction, get_not_nans, ignore_empty, ignore_index)
        if per_component:
            raise ValueError("per_component=True (connected-component Dice) is not supported "
                             "by anyiou.monai.DiceMetric; use monai.metrics.DiceMetric")
        self.num_classes = num_classes
        self.return_with_label = return_with_label
        self.per_component = False

    def _compute(self, xp: Any, y_pred: Any, y: Any) -> Any:
        n = y_pred.shape[0]
        pixels = math.prod(y_pred.shape[2:])
        if math.prod(y.shape[2:]) != pixels or y.shape[0] != n:
            raise ValueError(f"y_pred and y must share batch and spatial sizes, got "
                             f"{tuple(y_pred.shape)} and {tuple(y.shape)}")
        classes_n = self.num_classes if self.num_classes is not None else y_pred.shape[1]
        first = 0 if self.include_background else 1
        classes = list(range(first, classes_n)) if classes_n > 1 else [1]
        dtype = _float_dtype(xp, y_pred, y)
        dev = device_of(y_pred)
        yp = xp.reshape(y_pred, (n, y_pred.shape[1], pixels))
        yt = xp.reshape(y, (n, y.shape[1], pixels))
        cls = xp.asarray(classes, device=dev)[None, :, None]
        if yp.shape[1] == 1:
            pred = yp == xp.astype(cls, yp.dtype)
        else:
            pred = xp.take(yp, xp.asarray(classes, device=dev), axis=1) != 0
        if yt.shape[1] == 1:
            truth = xp.astype(yt == xp.astype(cls, yt.dtype), dtype)
        else:
            truth = xp.astype(xp.take(yt, xp.asarray(classes, device=device_of(y)), axis=1), dtype)
        pred = xp.astype(pred, dtype)
        if self.ignore_index is not None:
            mask = dense_ignore_mask(xp, yt, self.ignore_index, dtype)
            pred = pred * xp.astype(mask != 0, dtype)
            truth = truth * mask
        inter = xp.sum(pred * truth, axis=2)
        t_sum = xp.sum(truth, axis=2)
        p_sum = xp.sum(pred, axis=2)
        dice = safe_divide(xp, 2.0 * inter, t_sum + p_sum)
        present = t_sum > 0
        if self.ignore_empty:
            other = xp.full_like(dice, math.nan)
        else:
            other = xp.where(t_sum + p_sum <= 0, xp.ones_like(dice), xp.zeros_like(dice))
        return xp.where(present, dice, other)

    def aggregate(self, reduction: str | None = None) -> Any:
        """The buffer reduced (see `_Cumulative.aggregate`); with
        ``return_with_label`` and ``reduction="mean_batch"`` a dict ``{name: float}``
        (``label_<i>``, or the given names), each rounded to 4 digits."""
        out = super().aggregate(reduction)
        if self.reduction != "mean_batch" or not self.return_with_label:
            return out
        f, not_nans = out if self.get_not_nans else (out, None)
        if isinstance(self.return_with_label, bool):
            first = 0 if self.include_background else 1
            names = [f"label_{i + first}" for i in range(f.shape[0])]
        else:
            names = list(self.return_with_label)
        labelled = {k: round(float(f[i]), 4) for i, k in enumerate(names[: f.shape[0]])}
        return (labelled, not_nans) if self.get_not_nans else labelled


class MeanIoU(_Cumulative):
    """MONAI's ``MeanIoU`` (``monai.metrics.MeanIoU``, 1.6.1) on any array library.

    ``metric(y_pred=..., y=...)``: both one-hot (or soft) (N, C, *S), used as given (no
    threshold). Returns ``I / (P + T - I)`` per image and class, (N, C') in float32
    (float64 for float64 inputs), with ``I = sum(y_pred * y)``; a class absent from
    ``y`` scores NaN with ``ignore_empty``, else 1 where the union is empty.

    The parameters are those of `DiceMetric`, but ``ignore_index`` follows MONAI's
    ``compute_iou``: a class index zeroes that class (its score is then NaN or 1), any
    other value leaves out the pixels whose ``y`` is 0 in every channel.
    """

    def __init__(
        self,
        include_background: bool = True,
        reduction: str = "mean",
        get_not_nans: bool = False,
        ignore_empty: bool = True,
        ignore_index: int | None = None,
    ) -> None:
        super().__init__(include_background, reduction, get_not_nans, ignore_empty, ignore_index)

    def _compute(self, xp: Any, y_pred: Any, y: Any) -> Any:
        if tuple(y_pred.shape) != tuple(y.shape):
            raise ValueError(f"y_pred and y should have same shapes, got {tuple(y_pred.shape)} "
                             f"and {tuple(y.shape)}.")
        n, c = y_pred.shape[0], y_pred.shape[1]
        pixels = math.prod(y_pred.shape[2:])
        dtype = _float_dtype(xp, y_pred, y)
        p = xp.astype(xp.reshape(y_pred, (n, c, pixels)), dtype)
        t = xp.astype(xp.reshape(y, (n, c, pixels)), dtype)
        original = t
        if not self.include_background and c > 1:
            p, t = p[:, 1:, :], t[:, 1:, :]
        kept = p.shape[1]
        ii = self.ignore_index
        if ii is not None and 0 <= ii < kept + (0 if self.include_background else 1):
            channel = ii if self.include_background else ii - 1
            if 0 <= channel < kept:  # that class zeroed
                keep = xp.arange(kept, device=device_of(p)) != channel
                keep = xp.astype(keep, dtype)[None, :, None]
                p, t = p * keep, t * keep
        elif ii is not None:
            mask = dense_ignore_mask(xp, original, ii, dtype)
            p, t = p * mask, t * mask
        acc = accumulation_dtype(xp, dtype)
        inter = xp.sum(t * p, axis=2, dtype=acc)
        t_sum = xp.sum(t, axis=2, dtype=acc)
        union = t_sum + xp.sum(p, axis=2, dtype=acc) - inter
        iou = safe_divide(xp, inter, union)
        if self.ignore_empty:
            return xp.where(t_sum > 0, iou, xp.full_like(iou, math.nan))
        return xp.where(union > 0, iou, xp.ones_like(iou))


def compute_dice(
    y_pred: Any,
    y: Any,
    include_background: bool = True,
    ignore_empty: bool = True,
    num_classes: int | None = None,
    ignore_index: int | None = None,
) -> Any:
    """MONAI's ``compute_dice``: the (N, C') scores of `DiceMetric` for one batch
    ``y_pred``, ``y``, without a buffer (a pure function: ``jax.jit`` traces it).
    The other parameters are those of `DiceMetric`."""
    metric = DiceMetric(include_background, "none", False, ignore_empty, num_classes,
                        ignore_index=ignore_index)
    return metric._compute(get_namespace(y_pred=y_pred, y=y), y_pred, y)


def compute_iou(
    y_pred: Any,
    y: Any,
    include_background: bool = True,
    ignore_empty: bool = True,
    ignore_index: int | None = None,
) -> Any:
    """MONAI's ``compute_iou``: the (N, C') scores of `MeanIoU` for one batch
    ``y_pred``, ``y``, without a buffer (a pure function). The other parameters are
    those of `DiceMetric` (``ignore_index`` as in `MeanIoU`)."""
    metric = MeanIoU(include_background, "none", False, ignore_empty, ignore_index)
    return metric._compute(get_namespace(y_pred=y_pred, y=y), y_pred, y)
