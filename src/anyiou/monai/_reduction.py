"""MONAI's ``do_metric_reduction``: per-image, per-class scores (NaN: not counted) to
one of MONAI's ``MetricReduction`` values, with the count of the scores kept.

Shapes follow MONAI 1.6.1: ``"mean"`` gives shape (1,) and a 0-D count, ``"sum"`` 0-D,
``"mean_batch"``/``"sum_batch"`` (C,), ``"mean_channel"``/``"sum_channel"`` (N,),
``"none"`` the scores unchanged. A mean over no scores is 0.
"""

from __future__ import annotations

from typing import Any

from anyiou._lib._namespace import device_of

__all__ = ["METRIC_REDUCTIONS", "metric_reduction"]

#: MONAI's ``MetricReduction`` values.
METRIC_REDUCTIONS = ("none", "mean", "sum", "mean_batch", "sum_batch", "mean_channel",
                     "sum_channel")


def _mean(xp: Any, total: Any, count: Any) -> Any:
    ok = count > 0
    one = xp.ones((), dtype=count.dtype, device=device_of(count))
    zero = xp.zeros((1,), dtype=total.dtype, device=device_of(total))
    return xp.where(ok, total / xp.where(ok, count, one), zero)


def metric_reduction(xp: Any, f: Any, reduction: str) -> tuple[Any, Any]:
    """``(reduced, not_nans)`` of ``f`` (N, C) (float); see the module docstring."""
    nans = xp.isnan(f)
    not_nans = xp.astype(~nans, xp.float32)
    if reduction == "none":
        return f, not_nans
    f = xp.where(nans, xp.zeros_like(f), f)
    if reduction == "mean":
        count = xp.sum(not_nans, axis=1)
        per_image = _mean(xp, xp.astype(xp.sum(f, axis=1), xp.float32), count)
        images = xp.astype(xp.sum(xp.astype(count > 0, xp.int64), axis=0), xp.float32)
        return _mean(xp, xp.sum(per_image, axis=0, keepdims=True), images), images
    if reduction == "sum":
        return xp.sum(f), xp.sum(not_nans)
    axis = 0 if reduction.endswith("_batch") else 1
    count = xp.sum(not_nans, axis=axis)
    total = xp.astype(xp.sum(f, axis=axis), xp.float32)
    if reduction.startswith("sum"):
        return total, count
    return _mean(xp, total, count), count
