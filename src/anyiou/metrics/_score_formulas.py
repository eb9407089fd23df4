"""Elementwise formulas of the smp-style scores, from float ``tp, fp, fn, tn``.

smp's formulas, with IEEE results (0/0 = NaN, x/0 = +-inf) but no NumPy warnings; the
reduction (`anyiou.metrics._averaging.compute_score`) then replaces NaN by
``zero_division``. Each takes ``(xp, tp, fp, fn, tn)`` and returns an array of their
broadcast shape.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "accuracy",
    "balanced_accuracy",
    "fbeta",
    "false_discovery_rate",
    "false_negative_rate",
    "false_omission_rate",
    "false_positive_rate",
    "iou",
    "negative_likelihood_ratio",
    "negative_predictive_value",
    "positive_likelihood_ratio",
    "positive_predictive_value",
    "sensitivity",
    "specificity",
]


def _div(xp: Any, a: Any, b: Any) -> Any:
    """``a / b`` with IEEE results (0/0 = NaN, x/0 = +-inf) but no NumPy warnings."""
    nz = b != 0
    q = a / xp.where(nz, b, xp.ones_like(b))
    inf = xp.full_like(a, math.inf)
    at_zero = xp.where(a > 0, inf, xp.where(a < 0, -inf, xp.full_like(a, math.nan)))
    return xp.where(nz, q, at_zero)


def fbeta(xp: Any, tp: Any, fp: Any, fn: Any, tn: Any, beta: float = 1.0) -> Any:
    """``(1 + b^2) tp / ((1 + b^2) tp + b^2 fn + fp)``."""
    b2 = beta**2
    btp = (1 + b2) * tp
    return _div(xp, btp, btp + b2 * fn + fp)


def iou(xp: Any, tp: Any, fp: Any, fn: Any, tn: Any) -> Any:
    """``tp / (tp + fp + fn)``."""
    return _div(xp, tp, tp + fp + fn)


def accuracy(xp: Any, tp: Any, fp: Any, fn: Any, tn: Any) -> Any:
    """``(tp + tn) / (tp + fp + fn + tn)``."""
    return _div(xp, tp + tn, tp + fp + fn + tn)


def sensitivity(xp: Any, tp: Any, fp: Any, fn: Any, tn: Any) -> Any:
    """``tp / (tp + fn)``."""
    return _div(xp, tp, tp + fn)


def specificity(xp: Any, tp: Any, fp: Any, fn: Any, tn: Any) -> Any:
    """``tn / (tn + fp)``."""
    return _div(xp, tn, tn + fp)


def balanced_accuracy(xp: Any, tp: Any, fp: Any, fn: Any, tn: Any) -> Any:
    """``(sensitivity + specificity) / 2``."""
    return (sensitivity(xp, tp, fp, fn, tn) + specificity(xp, tp, fp, fn, tn)) / 2


def positive_predictive_value(xp: Any, tp: Any, fp: Any, fn: Any, tn: Any) -> Any:
    """``tp / (tp + fp)``."""
    return _div(xp, tp, tp + fp)


def negative_predictive_value(xp: Any, tp: Any, fp: Any, fn: Any, tn: Any) -> Any:
    """``tn / (tn + fn)``."""
    return _div(xp, tn, tn + fn)


def false_negative_rate(xp: Any, tp: Any, fp: Any, fn: Any, tn: Any) -> Any:
    """``1 - sensitivity``."""
    return 1 - sensitivity(xp, tp, fp, fn, tn)


def false_positive_rate(xp: Any, tp: Any, fp: Any, fn: Any, tn: Any) -> Any:
    """``1 - specificity``."""
    return 1 - specificity(xp, tp, fp, fn, tn)


def false_discovery_rate(xp: Any, tp: Any, fp: Any, fn: Any, tn: Any) -> Any:
    """``1 - positive_predictive_value``."""
    return 1 - positive_predictive_value(xp, tp, fp, fn, tn)


def false_omission_rate(xp: Any, tp: Any, fp: Any, fn: Any, tn: Any) -> Any:
    """``1 - negative_predictive_value``."""
    return 1 - negative_predictive_value(xp, tp, fp, fn, tn)


def positive_likelihood_ratio(xp: Any, tp: Any, fp: Any, fn: Any, tn: Any) -> Any:
    """``sensitivity / false_positive_rate``."""
    return _div(xp, sensitivity(xp, tp, fp, fn, tn), false_positive_rate(xp, tp, fp, fn, tn))


def negative_likelihood_ratio(xp: Any, tp: Any, fp: Any, fn: Any, tn: Any) -> Any:
    """``false_negative_rate / specificity``."""
    return _div(xp, false_negative_rate(xp, tp, fp, fn, tn), specificity(xp, tp, fp, fn, tn))
