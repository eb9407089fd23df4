"""The statistics a loss object asks for, and their pooling over the batch.

`statistics_of` adds the sums of squares (`squared_sums`) to `overlap_statistics` when
the loss has ``squared_pred``; `pooled_statistics` sums them over the batch (and over
workers with ``sync``) unless ``per_image``, and names the sums its denominator takes.
Shared by the overlap losses and `GeneralizedDiceLoss`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from ._squared import squared_sums
from ._statistics import OverlapStats, overlap_statistics

__all__ = ["PooledStats", "SquaredStats", "batch_sums", "pooled_statistics", "statistics_of"]


class SquaredStats(NamedTuple):
    """`OverlapStats` and the sums of squares ``sum p**2``, ``sum t**2``; each (N, C)."""

    intersection: Any
    pred_sum: Any
    target_sum: Any
    pred_sq: Any
    target_sq: Any


class PooledStats(NamedTuple):
    """Statistics of shape (C,) (pooled) or (N, C) (``per_image``): the sums, and the
    prediction and target sums of the denominator (the sums of squares with
    ``squared_pred``, else ``pred_sum`` and ``target_sum`` again)."""

    intersection: Any
    pred_sum: Any
    target_sum: Any
    pred_den: Any
    target_den: Any


def statistics_of(xp: Any, loss: Any, y_pred: Any, y_true: Any) -> OverlapStats | SquaredStats:
    """The statistics of ``(y_pred, y_true)`` under ``loss``'s options (its ``mode``,
    ``from_logits``, ``ignore_index``, ``class_axis``, ``squared_pred``)."""
    options = {
        "mode": loss.mode,
        "from_logits": loss.from_logits,
        "ignore_index": loss.ignore_index,
        "class_axis": loss.class_axis,
    }
    stats = overlap_statistics(xp, y_pred, y_true, **options)
    if not loss.squared_pred:
        return stats
    pred_sq, target_sq = squared_sums(xp, y_pred, y_true, stats.target_sum, **options)
    return SquaredStats(*stats, pred_sq, target_sq)


def batch_sums(
    xp: Any, arrays: Sequence[Any], *, sync: Callable[[Any], Any] | None = None
) -> list[Any]:
    """The sums over the batch (axis 0) of k statistics of one shape (N, C) and dtype,
    each (C,); with ``sync`` summed over the workers too, as one (k, C) array (one
    all-reduce): the statistics of the global batch."""
    stacked = xp.sum(xp.stack(list(arrays)), axis=1)  # (k, C)
    if sync is not None:
        # Global batch: sum the statistics over workers before the ratio.
        stacked = sync(stacked)
    return [stacked[i, ...] for i in range(stacked.shape[0])]


def pooled_statistics(
    xp: Any,
    stats: OverlapStats | SquaredStats | tuple[Any, ...],
    *,
    per_image: bool,
    sync: Callable[[Any], Any] | None = None,
) -> PooledStats:
    """Sum (N, C) statistics over the batch (then through ``sync``, shape (k, C), k = 3
    or 5) unless ``per_image``."""
    arrays = list(stats)
    if not per_image:
        arrays = batch_sums(xp, arrays, sync=sync)
    if len(arrays) == 3:
        arrays += arrays[1:3]
    return PooledStats(*arrays)
