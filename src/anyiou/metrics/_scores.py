"""Scores from tp/fp/fn/tn statistics with smp.metrics' signatures and reductions.

Every function takes four (N, C) arrays (``get_stats``' output), a ``reduction``,
optional ``class_weights`` and ``zero_division``, like
``segmentation_models_pytorch.metrics``. Differences from smp 0.6.0, both deliberate:

* ``zero_division`` is applied to every reduction; smp skips it for ``'micro'``
  (returning NaN for 0/0 there).
* ``class_weights`` give the weighted mean ``sum(w * s) / sum(w)`` for ``'macro'``,
  ``'weighted'``, ``'macro-imagewise'`` and ``'weighted-imagewise'``; smp divides by C a
  second time for all but ``'weighted'`` (``(s * w / sum(w)).mean()``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from .._lib._namespace import device_of, get_namespace, is_floating, values_checkable
from .._lib._validation import (
    SCORE_REDUCTIONS,
    check_class_weights,
    check_class_weights_length,
    check_nonnegative,
    check_optional_choice,
    check_stats_shapes,
    check_zero_division,
)
from ._stats import float_dtype

__all__ = [
    "REDUCTIONS",
    "accuracy",
    "balanced_accuracy",
    "f1_score",
    "false_discovery_rate",
    "false_negative_rate",
    "false_omission_rate",
    "false_positive_rate",
    "fbeta_score",
    "iou_score",
    "negative_likelihood_ratio",
    "negative_predictive_value",
    "positive_likelihood_ratio",
    "positive_predictive_value",
    "precision",
    "recall",
    "sensitivity",
    "specificity",
]

REDUCTIONS = SCORE_REDUCTIONS

ZeroDivision = float | str


# -- elementwise formulas (smp's, with 0/0 -> NaN and x/0 -> inf, warning-free) -----------


def _div(xp: Any, a: Any, b: Any) -> Any:
    """``a / b`` with IEEE results (0/0 = NaN, x/0 = +-inf) but no NumPy warnings."""
    nz = b != 0
    q = a / xp.where(nz, b, xp.ones_like(b))
    inf = xp.full_like(a, math.inf)
    at_zero = xp.where(a > 0, inf, xp.where(a < 0, -inf, xp.full_like(a, math.nan)))
    return xp.where(nz, q, at_zero)


def _fbeta(xp, tp, fp, fn, tn, beta=1.0):
    b2 = beta**2
    btp = (1 + b2) * tp
    return _div(xp, btp, btp + b2 * fn + fp)


def _iou(xp, tp, fp, fn, tn):
    return _div(xp, tp, tp + fp + fn)


def _accuracy(xp, tp, fp, fn, tn):
    return _div(xp, tp + tn, tp + fp + fn + tn)


def _sensitivity(xp, tp, fp, fn, tn):
    return _div(xp, tp, tp + fn)


def _specificity(xp, tp, fp, fn, tn):
    return _div(xp, tn, tn + fp)


def _balanced_accuracy(xp, tp, fp, fn, tn):
    return (_sensitivity(xp, tp, fp, fn, tn) + _specificity(xp, tp, fp, fn, tn)) / 2


def _ppv(xp, tp, fp, fn, tn):
    return _div(xp, tp, tp + fp)


def _npv(xp, tp, fp, fn, tn):
    return _div(xp, tn, tn + fn)


def _fnr(xp, tp, fp, fn, tn):
    return 1 - _sensitivity(xp, tp, fp, fn, tn)


def _fpr(xp, tp, fp, fn, tn):
    return 1 - _specificity(xp, tp, fp, fn, tn)


def _fdr(xp, tp, fp, fn, tn):
    return 1 - _ppv(xp, tp, fp, fn, tn)


def _for(xp, tp, fp, fn, tn):
    return 1 - _npv(xp, tp, fp, fn, tn)


def _lr_plus(xp, tp, fp, fn, tn):
    return _div(xp, _sensitivity(xp, tp, fp, fn, tn), _fpr(xp, tp, fp, fn, tn))


def _lr_minus(xp, tp, fp, fn, tn):
    return _div(xp, _fnr(xp, tp, fp, fn, tn), _specificity(xp, tp, fp, fn, tn))


# -- checks and the shared reduction ------------------------------------------------------


def _fill_nan(xp: Any, score: Any, zero_division: float | str) -> Any:
    """Replace NaN (0/0) by ``zero_division``; ``'warn'`` acts as 0 and warns (eager)."""
    nans = xp.isnan(score)
    if zero_division == "warn":
        if values_checkable(score) and bool(xp.any(nans)):
            warnings.warn("Zero division in metric calculation!", UserWarning, stacklevel=5)
        value = 0.0
    else:
        value = zero_division
    if isinstance(value, float) and math.isnan(value):
        return score
    return xp.where(nans, xp.full_like(score, value), score)


def _stats_namespace(tp: Any, fp: Any, fn: Any, tn: Any) -> Any:
    xp = get_namespace(tp=tp, fp=fp, fn=fn, tn=tn)
    check_stats_shapes(tp, fp, fn, tn)
    return xp


def _weights(xp: Any, weights: Any, like: Any, dtype: Any) -> Any:
    w = xp.asarray(weights, dtype=dtype, device=device_of(like))
    return w / xp.sum(w)


def _mean_over_images(xp: Any, x: Any) -> Any:
    """Mean over axis 0; NaN (then ``zero_division``) for an empty batch, without the
    warnings of a 0/0."""
    if x.shape[0] == 0:
        return xp.full(tuple(x.shape[1:]), math.nan, dtype=x.dtype, device=device_of(x))
    return xp.mean(x, axis=0)


def _compute_metric(
    metric_fn: Callable[..., Any],
    tp: Any,
    fp: Any,
    fn: Any,
    tn: Any,
    reduction: str | None,
    class_weights: Sequence[float] | None,
    zero_division: ZeroDivision,
    **metric_kwargs: Any,
) -> Any:
    xp = _stats_namespace(tp, fp, fn, tn)
    reduction = check_optional_choice("reduction", reduction, REDUCTIONS)
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
        weights = _weights(xp, class_weights, tp, fdt)

    def score(parts: tuple) -> Any:
        floats = tuple(xp.astype(x, fdt) for x in parts)
        return _fill_nan(xp, metric_fn(xp, *floats, **metric_kwargs), zero_division)

    stats = (tp, fp, fn, tn)
    if reduction == "micro":
        return score(tuple(xp.sum(x) for x in stats))
    if reduction in ("macro", "weighted"):
        s = score(tuple(xp.sum(x, axis=0) for x in stats))
        return xp.mean(s) if weights is None else xp.sum(s * weights)
    if reduction == "micro-imagewise":
        per_image = score(tuple(xp.sum(x, axis=1) for x in stats))
        return _fill_nan(xp, _mean_over_images(xp, per_image), zero_division)
    per_image = score(stats)
    if reduction == "none":
        return per_image
    per_class = _fill_nan(xp, _mean_over_images(xp, per_image), zero_division)
    return xp.mean(per_class) if weights is None else xp.sum(per_class * weights)


_DOC = """

    Parameters
    ----------
    tp, fp, fn, tn : array
        True positives, false positives, false negatives, true negatives, each of shape
        (N, C), as returned by `get_stats` (integer or float).
    reduction : str or None
        ``'micro'`` (sum everything, one score), ``'macro'`` (sum over images, score per
        class, mean over classes), ``'weighted'`` (as macro, weighted mean with
        ``class_weights``), ``'micro-imagewise'`` (sum over classes, score per image, mean
        over images), ``'macro-imagewise'`` / ``'weighted-imagewise'`` (score per image and
        class, mean over images, then (weighted) mean over classes), ``'none'``/``None``
        (the (N, C) scores).
    class_weights : sequence of float, optional
        One non-negative weight per class (length C, checked whenever given); required by
        the ``weighted*`` reductions. With ``'macro'``/``'macro-imagewise'`` they also give
        ``sum(w * s) / sum(w)`` (smp divides by C once more there; see the module notes).
    zero_division : float or 'warn', default 1.0
        Value of a score whose formula is 0/0 (0, 1, nan, ...), for every reduction, and
        of the ``*-imagewise`` means over an empty batch (N = 0). ``'warn'`` acts as 0 and
        warns (eager arrays only; silent under ``jax.jit``).

    Returns
    -------
    array
        0-d, or (N, C) for ``reduction='none'``; floating (the namespace's default
        float dtype for integer statistics: float32 for torch, float64 for NumPy).
"""


def _public(metric_fn: Callable[..., Any], name: str, summary: str, example: str) -> Callable:
    def metric(
        tp: Any,
        fp: Any,
        fn: Any,
        tn: Any,
        reduction: str | None = None,
        class_weights: Sequence[float] | None = None,
        zero_division: ZeroDivision = 1.0,
    ) -> Any:
        return _compute_metric(
            metric_fn, tp, fp, fn, tn, reduction, class_weights, zero_division
        )

    metric.__name__ = metric.__qualname__ = name
    metric.__doc__ = summary + _DOC + example
    metric.__module__ = __name__
    return metric


def _example(name: str, value: str) -> str:
    return f"""
    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import {name}
    >>> tp, fp = np.array([[4, 0]]), np.array([[1, 2]])
    >>> fn, tn = np.array([[1, 0]]), np.array([[2, 6]])
    >>> np.round({name}(tp, fp, fn, tn, reduction="none"), 6).tolist()  # class 1: tp = fn = 0
    {value}
"""


iou_score = _public(
    _iou, "iou_score", "IoU (Jaccard index) ``tp / (tp + fp + fn)``.",
    _example("iou_score", "[[0.666667, 0.0]]"),
)
accuracy = _public(
    _accuracy, "accuracy", "Accuracy ``(tp + tn) / (tp + fp + fn + tn)``.",
    _example("accuracy", "[[0.75, 0.75]]"),
)
sensitivity = _public(
    _sensitivity, "sensitivity", "Sensitivity, recall, true positive rate ``tp / (tp + fn)``.",
    _example("sensitivity", "[[0.8, 1.0]]"),
)
specificity = _public(
    _specificity, "specificity", "Specificity, true negative rate ``tn / (tn + fp)``.",
    _example("specificity", "[[0.666667, 0.75]]"),
)
balanced_accuracy = _public(
    _balanced_accuracy, "balanced_accuracy",
    "Balanced accuracy ``(sensitivity + specificity) / 2``.",
    _example("balanced_accuracy", "[[0.733333, 1.0]]"),
)
positive_predictive_value = _public(
    _ppv, "positive_predictive_value", "Precision, positive predictive value ``tp / (tp + fp)``.",
    _example("positive_predictive_value", "[[0.8, 0.0]]"),
)
negative_predictive_value = _public(
    _npv, "negative_predictive_value", "Negative predictive value ``tn / (tn + fn)``.",
    _example("negative_predictive_value", "[[0.666667, 1.0]]"),
)
false_negative_rate = _public(
    _fnr, "false_negative_rate", "Miss rate ``1 - sensitivity``.",
    _example("false_negative_rate", "[[0.2, 1.0]]"),
)
false_positive_rate = _public(
    _fpr, "false_positive_rate", "Fall-out ``1 - specificity``.",
    _example("false_positive_rate", "[[0.333333, 0.25]]"),
)
false_discovery_rate = _public(
    _fdr, "false_discovery_rate", "False discovery rate ``1 - precision``.",
    _example("false_discovery_rate", "[[0.2, 1.0]]"),
)
false_omission_rate = _public(
    _for, "false_omission_rate", "False omission rate ``1 - negative_predictive_value``.",
    _example("false_omission_rate", "[[0.333333, 0.0]]"),
)
positive_likelihood_ratio = _public(
    _lr_plus, "positive_likelihood_ratio",
    "Positive likelihood ratio ``sensitivity / false_positive_rate``.",
    _example("positive_likelihood_ratio", "[[2.4, 1.0]]"),
)
negative_likelihood_ratio = _public(
    _lr_minus, "negative_likelihood_ratio",
    "Negative likelihood ratio ``false_negative_rate / specificity``.",
    _example("negative_likelihood_ratio", "[[0.3, 1.0]]"),
)


def f1_score(
    tp: Any,
    fp: Any,
    fn: Any,
    tn: Any,
    reduction: str | None = None,
    class_weights: Sequence[float] | None = None,
    zero_division: ZeroDivision = 1.0,
) -> Any:
    return _compute_metric(
        _fbeta, tp, fp, fn, tn, reduction, class_weights, zero_division, beta=1.0
    )


f1_score.__doc__ = (
    "F1 score (Dice) ``2 tp / (2 tp + fp + fn)``." + _DOC + _example("f1_score", "[[0.8, 0.0]]")
)


def fbeta_score(
    tp: Any,
    fp: Any,
    fn: Any,
    tn: Any,
    beta: float = 1.0,
    reduction: str | None = None,
    class_weights: Sequence[float] | None = None,
    zero_division: ZeroDivision = 1.0,
) -> Any:
    beta = check_nonnegative("beta", beta)
    return _compute_metric(
        _fbeta, tp, fp, fn, tn, reduction, class_weights, zero_division, beta=beta
    )


fbeta_score.__doc__ = (
    "F-beta score ``(1 + b^2) tp / ((1 + b^2) tp + b^2 fn + fp)``; ``beta`` (default 1) "
    "comes before ``reduction``, as in smp." + _DOC + """
    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import fbeta_score
    >>> tp, fp = np.array([[4, 0]]), np.array([[1, 2]])
    >>> fn, tn = np.array([[1, 0]]), np.array([[2, 6]])
    >>> round(float(fbeta_score(tp, fp, fn, tn, beta=2.0, reduction="micro")), 6)
    0.740741
"""
)

#: Aliases, as in smp.
precision = positive_predictive_value
recall = sensitivity
