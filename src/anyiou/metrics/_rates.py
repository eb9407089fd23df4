"""Predictive values, error rates and likelihood ratios from tp/fp/fn/tn statistics, with
smp.metrics' signatures and reductions (the differences from smp are those listed in
`anyiou.metrics._scores`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _score_formulas as formulas
from ._reduce import ZeroDivision, compute_score

__all__ = [
    "false_discovery_rate",
    "false_negative_rate",
    "false_omission_rate",
    "false_positive_rate",
    "negative_likelihood_ratio",
    "negative_predictive_value",
    "positive_likelihood_ratio",
    "positive_predictive_value",
    "precision",
]


def positive_predictive_value(
    tp: Any,
    fp: Any,
    fn: Any,
    tn: Any,
    reduction: str | None = None,
    class_weights: Sequence[float] | None = None,
    zero_division: ZeroDivision = 1.0,
) -> Any:
    """Precision (positive predictive value) per image and class, reduced.

    ``tp / (tp + fp)``. `precision` is the same function.

    Parameters
    ----------
    tp, fp, fn, tn : array
        True/false positives and negatives, each (N, C), as returned by `get_stats`.
    reduction : str or None, default None
        ``'micro'``, ``'macro'``, ``'weighted'``, ``'micro-imagewise'``,
        ``'macro-imagewise'``, ``'weighted-imagewise'`` or ``'none'``/None, as in
        `iou_score`.
    class_weights : sequence of float, optional
        One non-negative weight per class; required by the ``weighted*`` reductions.
    zero_division : float or 'warn', default 1.0
        Value of a score whose formula is 0/0 (``'warn'``: 0, with a warning).

    Returns
    -------
    array
        0-d, or (N, C) for ``reduction='none'``; floating.

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
    tp: Any,
    fp: Any,
    fn: Any,
    tn: Any,
    reduction: str | None = None,
    class_weights: Sequence[float] | None = None,
    zero_division: ZeroDivision = 1.0,
) -> Any:
    """Negative predictive value per image and class, reduced.

    ``tn / (tn + fn)``.

    Parameters
    ----------
    tp, fp, fn, tn : array
        True/false positives and negatives, each (N, C), as returned by `get_stats`.
    reduction : str or None, default None
        ``'micro'``, ``'macro'``, ``'weighted'``, ``'micro-imagewise'``,
        ``'macro-imagewise'``, ``'weighted-imagewise'`` or ``'none'``/None, as in
        `iou_score`.
    class_weights : sequence of float, optional
        One non-negative weight per class; required by the ``weighted*`` reductions.
    zero_division : float or 'warn', default 1.0
        Value of a score whose formula is 0/0 (``'warn'``: 0, with a warning).

    Returns
    -------
    array
        0-d, or (N, C) for ``reduction='none'``; floating.

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
    tp: Any,
    fp: Any,
    fn: Any,
    tn: Any,
    reduction: str | None = None,
    class_weights: Sequence[float] | None = None,
    zero_division: ZeroDivision = 1.0,
) -> Any:
    """False negative rate (miss rate) per image and class, reduced.

    ``1 - sensitivity = fn / (tp + fn)``.

    Parameters
    ----------
    tp, fp, fn, tn : array
        True/false positives and negatives, each (N, C), as returned by `get_stats`.
    reduction : str or None, default None
        ``'micro'``, ``'macro'``, ``'weighted'``, ``'micro-imagewise'``,
        ``'macro-imagewise'``, ``'weighted-imagewise'`` or ``'none'``/None, as in
        `iou_score`.
    class_weights : sequence of float, optional
        One non-negative weight per class; required by the ``weighted*`` reductions.
    zero_division : float or 'warn', default 1.0
        Value of a score whose formula is 0/0 (``'warn'``: 0, with a warning).

    Returns
    -------
    array
        0-d, or (N, C) for ``reduction='none'``; floating.

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
    tp: Any,
    fp: Any,
    fn: Any,
    tn: Any,
    reduction: str | None = None,
    class_weights: Sequence[float] | None = None,
    zero_division: ZeroDivision = 1.0,
) -> Any:
    """False positive rate (fall-out) per image and class, reduced.

    ``1 - specificity = fp / (tn + fp)``.

    Parameters
    ----------
    tp, fp, fn, tn : array
        True/false positives and negatives, each (N, C), as returned by `get_stats`.
    reduction : str or None, default None
        ``'micro'``, ``'macro'``, ``'weighted'``, ``'micro-imagewise'``,
        ``'macro-imagewise'``, ``'weighted-imagewise'`` or ``'none'``/None, as in
        `iou_score`.
    class_weights : sequence of float, optional
        One non-negative weight per class; required by the ``weighted*`` reductions.
    zero_division : float or 'warn', default 1.0
        Value of a score whose formula is 0/0 (``'warn'``: 0, with a warning).

    Returns
    -------
    array
        0-d, or (N, C) for ``reduction='none'``; floating.

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
    tp: Any,
    fp: Any,
    fn: Any,
    tn: Any,
    reduction: str | None = None,
    class_weights: Sequence[float] | None = None,
    zero_division: ZeroDivision = 1.0,
) -> Any:
    """False discovery rate per image and class, reduced.

    ``1 - precision = fp / (tp + fp)``.

    Parameters
    ----------
    tp, fp, fn, tn : array
        True/false positives and negatives, each (N, C), as returned by `get_stats`.
    reduction : str or None, default None
        ``'micro'``, ``'macro'``, ``'weighted'``, ``'micro-imagewise'``,
        ``'macro-imagewise'``, ``'weighted-imagewise'`` or ``'none'``/None, as in
        `iou_score`.
    class_weights : sequence of float, optional
        One non-negative weight per class; required by the ``weighted*`` reductions.
    zero_division : float or 'warn', default 1.0
        Value of a score whose formula is 0/0 (``'warn'``: 0, with a warning).

    Returns
    -------
    array
        0-d, or (N, C) for ``reduction='none'``; floating.

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
    tp: Any,
    fp: Any,
    fn: Any,
    tn: Any,
    reduction: str | None = None,
    class_weights: Sequence[float] | None = None,
    zero_division: ZeroDivision = 1.0,
) -> Any:
    """False omission rate per image and class, reduced.

    ``1 - negative_predictive_value = fn / (tn + fn)``.

    Parameters
    ----------
    tp, fp, fn, tn : array
        True/false positives and negatives, each (N, C), as returned by `get_stats`.
    reduction : str or None, default None
        ``'micro'``, ``'macro'``, ``'weighted'``, ``'micro-imagewise'``,
        ``'macro-imagewise'``, ``'weighted-imagewise'`` or ``'none'``/None, as in
        `iou_score`.
    class_weights : sequence of float, optional
        One non-negative weight per class; required by the ``weighted*`` reductions.
    zero_division : float or 'warn', default 1.0
        Value of a score whose formula is 0/0 (``'warn'``: 0, with a warning).

    Returns
    -------
    array
        0-d, or (N, C) for ``reduction='none'``; floating.

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
    tp: Any,
    fp: Any,
    fn: Any,
    tn: Any,
    reduction: str | None = None,
    class_weights: Sequence[float] | None = None,
    zero_division: ZeroDivision = 1.0,
) -> Any:
    """Positive likelihood ratio per image and class, reduced.

    ``sensitivity / false_positive_rate``.

    Parameters
    ----------
    tp, fp, fn, tn : array
        True/false positives and negatives, each (N, C), as returned by `get_stats`.
    reduction : str or None, default None
        ``'micro'``, ``'macro'``, ``'weighted'``, ``'micro-imagewise'``,
        ``'macro-imagewise'``, ``'weighted-imagewise'`` or ``'none'``/None, as in
        `iou_score`.
    class_weights : sequence of float, optional
        One non-negative weight per class; required by the ``weighted*`` reductions.
    zero_division : float or 'warn', default 1.0
        Value of a score whose formula is 0/0 (``'warn'``: 0, with a warning).

    Returns
    -------
    array
        0-d, or (N, C) for ``reduction='none'``; floating.

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
    tp: Any,
    fp: Any,
    fn: Any,
    tn: Any,
    reduction: str | None = None,
    class_weights: Sequence[float] | None = None,
    zero_division: ZeroDivision = 1.0,
) -> Any:
    """Negative likelihood ratio per image and class, reduced.

    ``false_negative_rate / specificity``.

    Parameters
    ----------
    tp, fp, fn, tn : array
        True/false positives and negatives, each (N, C), as returned by `get_stats`.
    reduction : str or None, default None
        ``'micro'``, ``'macro'``, ``'weighted'``, ``'micro-imagewise'``,
        ``'macro-imagewise'``, ``'weighted-imagewise'`` or ``'none'``/None, as in
        `iou_score`.
    class_weights : sequence of float, optional
        One non-negative weight per class; required by the ``weighted*`` reductions.
    zero_division : float or 'warn', default 1.0
        Value of a score whose formula is 0/0 (``'warn'``: 0, with a warning).

    Returns
    -------
    array
        0-d, or (N, C) for ``reduction='none'``; floating.

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
precision = positive_predictive_value
"""Alias of `positive_predictive_value` (smp's name): ``tp / (tp + fp)``, same arguments."""
