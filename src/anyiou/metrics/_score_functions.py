"""The 17 smp-style score functions (`iou_score`, `f1_score`, ..., the predictive values,
error rates and likelihood ratios) from tp/fp/fn/tn statistics, with smp.metrics'
signatures and reductions.

Every function takes four (N, C) arrays (``get_stats``' output; (N,) and 0-d as smp), a
``reduction``, optional ``class_weights`` and ``zero_division``, like
``segmentation_models_pytorch.metrics``; the parameters are documented once, on
`iou_score`, and each function applies its formula from `anyiou.metrics._score_formulas`
through `anyiou.metrics._averaging.compute_score`. Differences from smp 0.6.0, both
deliberate:

* ``zero_division`` is applied to every reduction; smp skips it for ``'micro'``
  (returning NaN for 0/0 there).
* ``class_weights`` give the weighted mean ``sum(w * s) / sum(w)`` for ``'macro'``,
  ``'weighted'``, ``'macro-imagewise'`` and ``'weighted-imagewise'``; smp divides by C a
  second time for all but ``'weighted'`` (``(s * w / sum(w)).mean()``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._lib._options import check_nonnegative
from .._lib._types import ArrayT, ScoreReduction, ZeroDivision
from . import _score_formulas as formulas
from ._averaging import compute_score

__all__ = [
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


def iou_score(
    tp: ArrayT, fp: Any, fn: Any, tn: Any, reduction: ScoreReduction | None = None,
    class_weights: Sequence[float] | None = None, zero_division: ZeroDivision = 1.0,
) -> ArrayT:
    """IoU (Jaccard index) per image and class, reduced.

    ``tp / (tp + fp + fn)``.

    Parameters
    ----------
    tp, fp, fn, tn : array
        True positives, false positives, false negatives, true negatives, each of shape
        (N, C), as returned by `get_stats` (integer or float). As in smp, also (N,) or
        0-d: N images (or one) of a single class, e.g. data-set totals wrapped as
        ``[tp]`` (``'micro-imagewise'`` then raises: there is no class axis to sum).
    reduction : str or None, default None
        ``'micro'`` (sum everything, one score), ``'macro'`` (sum over images, score per
        class, mean over classes), ``'weighted'`` (as macro, weighted mean with
        ``class_weights``), ``'micro-imagewise'`` (sum over classes, score per image, mean
        over images), ``'macro-imagewise'`` / ``'weighted-imagewise'`` (score per image and
        class, mean over images, then (weighted) mean over classes), ``'none'``/``None``
        (the (N, C) scores).
    class_weights : sequence of float, optional
        One non-negative weight per class (length C, checked whenever given); required by
        the ``weighted*`` reductions. With ``'macro'``/``'macro-imagewise'`` they also give
        ``sum(w * s) / sum(w)`` (smp divides by C once more there; see ``docs/metrics.md``).
    zero_division : float or 'warn', default 1.0
        Value of a score whose formula is 0/0 (0, 1, nan, ...), for every reduction, and
        of the ``*-imagewise`` means over an empty batch (N = 0). ``'warn'`` acts as 0 and
        warns (eager arrays only; silent under ``jax.jit``).

    Returns
    -------
    array
        0-d, or the stats' shape for ``reduction='none'``; floating (the namespace's default
        float dtype for integer statistics: float32 for torch, float64 for NumPy).

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import iou_score
    >>> tp, fp = np.array([[4, 0]]), np.array([[1, 2]])
    >>> fn, tn = np.array([[1, 0]]), np.array([[2, 6]])
    >>> np.round(iou_score(tp, fp, fn, tn, reduction="none"), 6).tolist()
    [[0.666667, 0.0]]
    """
    return compute_score(formulas.iou, tp, fp, fn, tn, reduction, class_weights, zero_division)


def f1_score(
    tp: ArrayT, fp: Any, fn: Any, tn: Any, reduction: ScoreReduction | None = None,
    class_weights: Sequence[float] | None = None, zero_division: ZeroDivision = 1.0,
) -> ArrayT:
    """F1 score (Dice) per image and class, reduced.

    ``2 tp / (2 tp + fp + fn)``: `fbeta_score` with ``beta = 1``.

    Parameters and returns are those of `iou_score`.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import f1_score
    >>> tp, fp = np.array([[4, 0]]), np.array([[1, 2]])
    >>> fn, tn = np.array([[1, 0]]), np.array([[2, 6]])
    >>> np.round(f1_score(tp, fp, fn, tn, reduction="none"), 6).tolist()
    [[0.8, 0.0]]
    """
    return compute_score(
        formulas.fbeta, tp, fp, fn, tn, reduction, class_weights, zero_division, beta=1.0
    )


def fbeta_score(
    tp: ArrayT, fp: Any, fn: Any, tn: Any, beta: float = 1.0,
    reduction: ScoreReduction | None = None,
    class_weights: Sequence[float] | None = None, zero_division: ZeroDivision = 1.0,
) -> ArrayT:
    """F-beta score per image and class, reduced.

    ``(1 + b^2) tp / ((1 + b^2) tp + b^2 fn + fp)`` with ``b = beta``; ``beta`` comes
    before ``reduction``, as in smp.

    Parameters and returns are those of `iou_score`. ``beta`` (float, default 1.0) is the
    non-negative weight of recall against precision (1: `f1_score`).

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import fbeta_score
    >>> tp, fp = np.array([[4, 0]]), np.array([[1, 2]])
    >>> fn, tn = np.array([[1, 0]]), np.array([[2, 6]])
    >>> round(float(fbeta_score(tp, fp, fn, tn, beta=2.0, reduction="micro")), 6)
    0.740741
    """
    beta = check_nonnegative("beta", beta)
    return compute_score(
        formulas.fbeta, tp, fp, fn, tn, reduction, class_weights, zero_division, beta=beta
    )


def accuracy(
    tp: ArrayT, fp: Any, fn: Any, tn: Any, reduction: ScoreReduction | None = None,
    class_weights: Sequence[float] | None = None, zero_division: ZeroDivision = 1.0,
) -> ArrayT:
    """Accuracy per image and class, reduced.

    ``(tp + tn) / (tp + fp + fn + tn)``.

    Parameters and returns are those of `iou_score`.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import accuracy
    >>> tp, fp = np.array([[4, 0]]), np.array([[1, 2]])
    >>> fn, tn = np.array([[1, 0]]), np.array([[2, 6]])
    >>> np.round(accuracy(tp, fp, fn, tn, reduction="none"), 6).tolist()
    [[0.75, 0.75]]
    """
    return compute_score(formulas.accuracy, tp, fp, fn, tn, reduction, class_weights, zero_division)


def sensitivity(
    tp: ArrayT, fp: Any, fn: Any, tn: Any, reduction: ScoreReduction | None = None,
    class_weights: Sequence[float] | None = None, zero_division: ZeroDivision = 1.0,
) -> ArrayT:
    """Sensitivity (recall, true positive rate) per image and class, reduced.

    ``tp / (tp + fn)``. `recall` is the same function.

    Parameters and returns are those of `iou_score`.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import sensitivity
    >>> tp, fp = np.array([[4, 0]]), np.array([[1, 2]])
    >>> fn, tn = np.array([[1, 0]]), np.array([[2, 6]])
    >>> np.round(sensitivity(tp, fp, fn, tn, reduction="none"), 6).tolist()
    [[0.8, 1.0]]
    """
    return compute_score(
        formulas.sensitivity, tp, fp, fn, tn, reduction, class_weights, zero_division
    )


def specificity(
    tp: ArrayT, fp: Any, fn: Any, tn: Any, reduction: ScoreReduction | None = None,
    class_weights: Sequence[float] | None = None, zero_division: ZeroDivision = 1.0,
) -> ArrayT:
    """Specificity (true negative rate) per image and class, reduced.

    ``tn / (tn + fp)``.

    Parameters and returns are those of `iou_score`.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import specificity
    >>> tp, fp = np.array([[4, 0]]), np.array([[1, 2]])
    >>> fn, tn = np.array([[1, 0]]), np.array([[2, 6]])
    >>> np.round(specificity(tp, fp, fn, tn, reduction="none"), 6).tolist()
    [[0.666667, 0.75]]
    """
    return compute_score(
        formulas.specificity, tp, fp, fn, tn, reduction, class_weights, zero_division
    )


def balanced_accuracy(
    tp: ArrayT, fp: Any, fn: Any, tn: Any, reduction: ScoreReduction | None = None,
    class_weights: Sequence[float] | None = None, zero_division: ZeroDivision = 1.0,
) -> ArrayT:
    """Balanced accuracy per image and class, reduced.

    ``(sensitivity + specificity) / 2``.

    Parameters and returns are those of `iou_score`.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import balanced_accuracy
    >>> tp, fp = np.array([[4, 0]]), np.array([[1, 2]])
    >>> fn, tn = np.array([[1, 0]]), np.array([[2, 6]])
    >>> np.round(balanced_accuracy(tp, fp, fn, tn, reduction="none"), 6).tolist()
    [[0.733333, 1.0]]
    """
    return compute_score(
        formulas.balanced_accuracy, tp, fp, fn, tn, reduction, class_weights, zero_division
    )


def positive_predictive_value(
    tp: ArrayT, fp: Any, fn: Any, tn: Any, reduction: ScoreReduction | None = None,
    class_weights: Sequence[float] | None = None, zero_division: ZeroDivision = 1.0,
) -> ArrayT:
    """Precision (positive predictive value) per image and class, reduced.

    ``tp / (tp + fp)``. `precision` is the same function.

    Parameters and returns are those of `iou_score`.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import positive_predictive_value
    >>> tp, fp = np.array([[4, 0]]), np.array([[1, 2]])
    >>> fn, tn = np.array([[1, 0]]), np.array([[2, 6]])
    >>> np.round(positive_predictive_value(tp, fp, fn, tn, reduction="none"), 6).tolist()
    [[0.8, 0.0]]
    """
    return compute_score(
        formulas.positive_predictive_value, tp, fp, fn, tn, reduction, class_weights, zero_division
    )


def negative_predictive_value(
    tp: ArrayT, fp: Any, fn: Any, tn: Any, reduction: ScoreReduction | None = None,
    class_weights: Sequence[float] | None = None, zero_division: ZeroDivision = 1.0,
) -> ArrayT:
    """Negative predictive value per image and class, reduced.

    ``tn / (tn + fn)``.

    Parameters and returns are those of `iou_score`.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import negative_predictive_value
    >>> tp, fp = np.array([[4, 0]]), np.array([[1, 2]])
    >>> fn, tn = np.array([[1, 0]]), np.array([[2, 6]])
    >>> np.round(negative_predictive_value(tp, fp, fn, tn, reduction="none"), 6).tolist()
    [[0.666667, 1.0]]
    """
    return compute_score(
        formulas.negative_predictive_value, tp, fp, fn, tn, reduction, class_weights, zero_division
    )


def false_negative_rate(
    tp: ArrayT, fp: Any, fn: Any, tn: Any, reduction: ScoreReduction | None = None,
    class_weights: Sequence[float] | None = None, zero_division: ZeroDivision = 1.0,
) -> ArrayT:
    """False negative rate (miss rate) per image and class, reduced.

    ``1 - sensitivity = fn / (tp + fn)``.

    Parameters and returns are those of `iou_score`.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import false_negative_rate
    >>> tp, fp = np.array([[4, 0]]), np.array([[1, 2]])
    >>> fn, tn = np.array([[1, 0]]), np.array([[2, 6]])
    >>> np.round(false_negative_rate(tp, fp, fn, tn, reduction="none"), 6).tolist()
    [[0.2, 1.0]]
    """
    return compute_score(
        formulas.false_negative_rate, tp, fp, fn, tn, reduction, class_weights, zero_division
    )


def false_positive_rate(
    tp: ArrayT, fp: Any, fn: Any, tn: Any, reduction: ScoreReduction | None = None,
    class_weights: Sequence[float] | None = None, zero_division: ZeroDivision = 1.0,
) -> ArrayT:
    """False positive rate (fall-out) per image and class, reduced.

    ``1 - specificity = fp / (tn + fp)``.

    Parameters and returns are those of `iou_score`.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import false_positive_rate
    >>> tp, fp = np.array([[4, 0]]), np.array([[1, 2]])
    >>> fn, tn = np.array([[1, 0]]), np.array([[2, 6]])
    >>> np.round(false_positive_rate(tp, fp, fn, tn, reduction="none"), 6).tolist()
    [[0.333333, 0.25]]
    """
    return compute_score(
        formulas.false_positive_rate, tp, fp, fn, tn, reduction, class_weights, zero_division
    )


def false_discovery_rate(
    tp: ArrayT, fp: Any, fn: Any, tn: Any, reduction: ScoreReduction | None = None,
    class_weights: Sequence[float] | None = None, zero_division: ZeroDivision = 1.0,
) -> ArrayT:
    """False discovery rate per image and class, reduced.

    ``1 - precision = fp / (tp + fp)``.

    Parameters and returns are those of `iou_score`.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import false_discovery_rate
    >>> tp, fp = np.array([[4, 0]]), np.array([[1, 2]])
    >>> fn, tn = np.array([[1, 0]]), np.array([[2, 6]])
    >>> np.round(false_discovery_rate(tp, fp, fn, tn, reduction="none"), 6).tolist()
    [[0.2, 1.0]]
    """
    return compute_score(
        formulas.false_discovery_rate, tp, fp, fn, tn, reduction, class_weights, zero_division
    )


def false_omission_rate(
    tp: ArrayT, fp: Any, fn: Any, tn: Any, reduction: ScoreReduction | None = None,
    class_weights: Sequence[float] | None = None, zero_division: ZeroDivision = 1.0,
) -> ArrayT:
    """False omission rate per image and class, reduced.

    ``1 - negative_predictive_value = fn / (tn + fn)``.

    Parameters and returns are those of `iou_score`.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import false_omission_rate
    >>> tp, fp = np.array([[4, 0]]), np.array([[1, 2]])
    >>> fn, tn = np.array([[1, 0]]), np.array([[2, 6]])
    >>> np.round(false_omission_rate(tp, fp, fn, tn, reduction="none"), 6).tolist()
    [[0.333333, 0.0]]
    """
    return compute_score(
        formulas.false_omission_rate, tp, fp, fn, tn, reduction, class_weights, zero_division
    )


def positive_likelihood_ratio(
    tp: ArrayT, fp: Any, fn: Any, tn: Any, reduction: ScoreReduction | None = None,
    class_weights: Sequence[float] | None = None, zero_division: ZeroDivision = 1.0,
) -> ArrayT:
    """Positive likelihood ratio per image and class, reduced.

    ``sensitivity / false_positive_rate``.

    Parameters and returns are those of `iou_score`.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import positive_likelihood_ratio
    >>> tp, fp = np.array([[4, 0]]), np.array([[1, 2]])
    >>> fn, tn = np.array([[1, 0]]), np.array([[2, 6]])
    >>> np.round(positive_likelihood_ratio(tp, fp, fn, tn, reduction="none"), 6).tolist()
    [[2.4, 1.0]]
    """
    return compute_score(
        formulas.positive_likelihood_ratio, tp, fp, fn, tn, reduction, class_weights, zero_division
    )


def negative_likelihood_ratio(
    tp: ArrayT, fp: Any, fn: Any, tn: Any, reduction: ScoreReduction | None = None,
    class_weights: Sequence[float] | None = None, zero_division: ZeroDivision = 1.0,
) -> ArrayT:
    """Negative likelihood ratio per image and class, reduced.

    ``false_negative_rate / specificity``.

    Parameters and returns are those of `iou_score`.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import negative_likelihood_ratio
    >>> tp, fp = np.array([[4, 0]]), np.array([[1, 2]])
    >>> fn, tn = np.array([[1, 0]]), np.array([[2, 6]])
    >>> np.round(negative_likelihood_ratio(tp, fp, fn, tn, reduction="none"), 6).tolist()
    [[0.3, 1.0]]
    """
    return compute_score(
        formulas.negative_likelihood_ratio, tp, fp, fn, tn, reduction, class_weights, zero_division
    )


#: Alias, as in smp.
recall = sensitivity
"""Alias of `sensitivity` (smp's name): ``tp / (tp + fn)``, same arguments."""


#: Alias, as in smp.
precision = positive_predictive_value
"""Alias of `positive_predictive_value` (smp's name): ``tp / (tp + fp)``, same arguments."""
