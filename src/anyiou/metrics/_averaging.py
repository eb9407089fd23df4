"""Metric reductions: counts -> scores -> one number (or one per class or image).

* Confusion-matrix metrics (`jaccard_index`, `dice_score`, ``*_from_confusion_matrix``,
  `MeanIoU`): per-class IoU/Dice from a (C, C) or (C, 2, 2) matrix and their
  ``average`` (micro, macro, weighted, none).
* smp-style scores (`iou_score`, `f1_score`, ...): `compute_score` applies an
  elementwise formula to (N, C) ``tp, fp, fn, tn`` with smp's ``reduction``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from .._lib import kernels
from .._lib._checks import check_confmat, check_stats_shapes
from .._lib._namespace import (
    device_of,
    get_namespace,
    index_dtype,
    is_floating,
    is_integral,
    values_checkable,
)
from .._lib._numerics import safe_divide
from .._lib._options import (
    AVERAGES,
    SCORE_REDUCTIONS,
    check_class_weights,
    check_class_weights_length,
    check_ignore_index,
    check_optional_choice,
    check_zero_division,
    ignored_classes,
)
from .._lib._types import Average, IgnoreValues, ZeroDivision
from ._counts import float_dtype

__all__ = [
    "ZeroDivision",
    "check_average",
    "check_confmat_zero_division",
    "compute_score",
    "overlap_from_confmat",
    "reduce_confmat",
    "reduce_overlap",
    "score_confmat",
]



# -- confusion-matrix metrics -------------------------------------------------------------


def check_average(average: Any) -> Average:
    """``average`` of the confusion-matrix metrics (None means ``'none'``)."""
    return check_optional_choice("average", average, AVERAGES)


def check_confmat_zero_division(zero_division: Any) -> float:
    """``zero_division`` of the confusion-matrix metrics: a number (no ``'warn'``)."""
    return check_zero_division(zero_division, allow_warn=False)  # type: ignore[return-value]


def overlap_from_confmat(xp: Any, confmat: Any, multilabel: bool) -> tuple[Any, Any, Any]:
    """tp, fp, fn per class, each (C,), of a (C, C) or (C, 2, 2) (``multilabel``) matrix."""
    if multilabel:
        return confmat[:, 1, 1], confmat[:, 0, 1], confmat[:, 1, 0]
    c = confmat.shape[0]
    dev = device_of(confmat)
    diag_idx = xp.arange(c, dtype=index_dtype(xp, dev), device=dev) * (c + 1)
    tp = xp.take(xp.reshape(confmat, (c * c,)), diag_idx, axis=0)
    fp = xp.sum(confmat, axis=0) - tp
    fn = xp.sum(confmat, axis=1) - tp
    return tp, fp, fn


def reduce_overlap(
    xp: Any,
    tp: Any,
    fp: Any,
    fn: Any,
    *,
    dice: bool,
    multilabel: bool,
    average: str,
    ignore_index: IgnoreValues,
    zero_division: float,
) -> Any:
    """IoU or Dice from per-class counts (C,), or (..., C) for one reduction per leading
    index (the per-image Boundary IoU), reduced like torchmetrics' JaccardIndex.

    * per class: ``tp / (tp + fp + fn)`` (Dice: ``2tp / (2tp + fp + fn)``); 0/0 gives
      ``zero_division``;
    * ``micro``: sums over classes first (an in-range ``ignore_index`` class left out);
    * ``macro``: mean over classes; multiclass leaves out classes whose union is 0 and an
      in-range ``ignore_index`` class; NaN scores (``zero_division=nan``) are left out;
    * ``weighted``: mean weighted by support ``tp + fn``;
    * nothing left to average (all weights 0): ``zero_division``.
    """
    like = tp
    fdt = float_dtype(xp, like) if is_integral(xp, tp.dtype) else tp.dtype
    tpf, fpf, fnf = (xp.astype(x, fdt) for x in (tp, fp, fn))
    num = 2 * tpf if dice else tpf
    den = num + fpf + fnf
    c = tp.shape[-1]
    keep = xp.ones((c,), dtype=fdt, device=device_of(like))
    left_out = () if multilabel else ignored_classes(ignore_index, c)
    if left_out:
        classes = xp.arange(c, dtype=index_dtype(xp, device_of(like)), device=device_of(like))
        for k in left_out:
            keep = keep * xp.astype(classes != k, fdt)
    if average == "micro":
        return safe_divide(xp, xp.sum(num * keep, axis=-1), xp.sum(den * keep, axis=-1),
                           fill=zero_division)
    per_class = safe_divide(xp, num, den, fill=zero_division)
    if average == "none":
        return per_class
    if average == "weighted":
        weights = (tpf + fnf) * keep
    else:
        weights = keep if multilabel else keep * xp.astype(den > 0, fdt)
    ok = ~xp.isnan(per_class)
    zero = xp.zeros_like(per_class)
    weights = xp.where(ok, weights, zero)
    scores = xp.where(ok, per_class, zero)
    return safe_divide(xp, xp.sum(weights * scores, axis=-1), xp.sum(weights, axis=-1),
                       fill=zero_division)


def reduce_confmat(
    xp: Any,
    confmat: Any,
    *,
    dice: bool,
    average: str,
    ignore_index: IgnoreValues,
    zero_division: float,
) -> Any:
    """Scores of a (C, C) or (C, 2, 2) matrix with checked options (see `reduce_overlap`),
    as one compiled program on eager JAX."""
    multilabel = check_confmat(xp, confmat)
    # static jit arguments are compared with ==, and nan != nan: pass NaN as a string
    zd = "nan" if math.isnan(zero_division) else zero_division
    return kernels.run_compiled(
        _reduce_confmat_core, xp, confmat, dice=dice, multilabel=multilabel, average=average,
        ignore_index=ignore_index, zero_division=zd,
    )


def _reduce_confmat_core(xp: Any, confmat: Any, **options: Any) -> Any:
    if options["zero_division"] == "nan":
        options["zero_division"] = math.nan
    tp, fp, fn = overlap_from_confmat(xp, confmat, options["multilabel"])
    return reduce_overlap(xp, tp, fp, fn, **options)


def score_confmat(
    confmat: Any, average: Any, ignore_index: Any, zero_division: Any, *, dice: bool
) -> Any:
    """IoU (or Dice) of a user-supplied confusion matrix: checks the options, then
    `reduce_confmat`."""
    xp = get_namespace(confmat=confmat)
    average = check_average(average)
    ignore_index = check_ignore_index(ignore_index)
    zero_division = check_confmat_zero_division(zero_division)
    return reduce_confmat(xp, confmat, dice=dice, average=average,
                          ignore_index=ignore_index, zero_division=zero_division)


# -- smp-style scores ---------------------------------------------------------------------


def _fill_nan(xp: Any, score: Any, zero_division: float | str) -> Any:
    """Replace NaN (0/0) by ``zero_division``; ``'warn'`` acts as 0 and warns (eager)."""
    nans = xp.isnan(score)
    if zero_division == "warn":
        if values_checkable(score) and bool(xp.any(nans)):
            # stacklevel: _fill_nan, score, compute_score, the public function, its caller
            warnings.warn("Zero division in metric calculation!", UserWarning, stacklevel=5)
        value = 0.0
    else:
        value = zero_division
    if isinstance(value, float) and math.isnan(value):
        return score
    return xp.where(nans, xp.full_like(score, value), score)


def _mean_over_images(xp: Any, x: Any) -> Any:
    """Mean over axis 0; NaN (then ``zero_division``) for an empty batch, without the
    warnings of a 0/0."""
    if x.shape[0] == 0:
        return xp.full(tuple(x.shape[1:]), math.nan, dtype=x.dtype, device=device_of(x))
    return xp.mean(x, axis=0)


def compute_score(
    formula: Callable[..., Any],
    tp: Any,
    fp: Any,
    fn: Any,
    tn: Any,
    reduction: str | None,
    class_weights: Sequence[float] | None,
    zero_division: ZeroDivision,
    **formula_kwargs: Any,
) -> Any:
    """An smp-style score: checks the arguments, applies ``formula(xp, tp, fp, fn, tn,
    **formula_kwargs)`` (see `anyiou.metrics._score_formulas`) in floating point and
    reduces it with ``reduction`` (see `iou_score`)."""
    xp = get_namespace(tp=tp, fp=fp, fn=fn, tn=tn)
    shape = check_stats_shapes(tp, fp, fn, tn)
    reduction = check_optional_choice("reduction", reduction, SCORE_REDUCTIONS)
    if len(shape) < 2:
        # smp's reductions read axis 0 as images: (N,) and () stats are N (or one)
        # images of one class; only micro-imagewise (a sum over axis 1) has no meaning
        if reduction == "micro-imagewise":
            raise ValueError(
                f"reduction='micro-imagewise' sums each image's classes: it needs (N, C) "
                f"stats as get_stats returns; got shape {shape}"
            )
        size = math.prod(shape)
        tp, fp, fn, tn = (xp.reshape(x, (size, 1)) for x in (tp, fp, fn, tn))
        out = compute_score(formula, tp, fp, fn, tn, reduction, class_weights, zero_division,
                            **formula_kwargs)
        return xp.reshape(out, shape) if reduction == "none" else out
    zero_division = check_zero_division(zero_division)
    if class_weights is None and "weighted" in reduction:
        raise ValueError(
            f"class_weights must be given for reduction={reduction!r} (one weight per class)"
        )
    if class_weights is not None:
        class_weights = check_class_weights_length(
            check_class_weights(class_weights, "multiclass"), tp.shape[1]
        )
    fdt = tp.dtype if is_floating(xp, tp.dtype) else float_dtype(xp, tp)
    weights = None
    if class_weights is not None and reduction in (
        "macro", "weighted", "macro-imagewise", "weighted-imagewise"
    ):
        w = xp.asarray(class_weights, dtype=fdt, device=device_of(tp))
        weights = w / xp.sum(w)

    def score(parts: tuple) -> Any:
        floats = tuple(xp.astype(x, fdt) for x in parts)
        return _fill_nan(xp, formula(xp, *floats, **formula_kwargs), zero_division)

    stats = (tp, fp, fn, tn)
    if reduction == "micro":
        return score(tuple(xp.sum(x) for x in stats))
    if reduction in ("macro", "weighted"):
        s = score(tuple(xp.sum(x, axis=0) for x in stats))
        # [...]: NumPy reductions give scalars; the result is a 0-d array everywhere
        return (xp.mean(s) if weights is None else xp.sum(s * weights))[...]
    if reduction == "micro-imagewise":
        per_image = score(tuple(xp.sum(x, axis=1) for x in stats))
        return _fill_nan(xp, _mean_over_images(xp, per_image), zero_division)
    per_image = score(stats)
    if reduction == "none":
        return per_image
    per_class = _fill_nan(xp, _mean_over_images(xp, per_image), zero_division)
    return (xp.mean(per_class) if weights is None else xp.sum(per_class * weights))[...]
