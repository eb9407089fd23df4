"""Confusion-matrix IoU and Dice: the dataset-level mIoU of torchmetrics, Keras, sklearn
and mmseg.

Counts are exact integers (int64; int32 for JAX without x64), accumulated by the
backend's own ``bincount`` where it has one (NumPy, torch, JAX, CuPy, Dask) and by a
pure array-API one-hot matmul otherwise (``anyiou._lib._dispatch.pair_counts``).
"""

from __future__ import annotations

import math
from typing import Any

from .._lib import _dispatch
from .._lib._aggregate import safe_divide
from .._lib._namespace import device_of, get_namespace, index_dtype, is_integral
from .._lib._validation import (
    AVERAGES,
    MULTICLASS_MODE,
    check_choice,
    check_confmat,
    check_ignore_index,
    check_num_classes,
    check_optional_choice,
    check_zero_division,
)
from ._stats import (
    binary_counts,
    binary_masks,
    float_dtype,
    multiclass_histogram,
)

__all__ = [
    "AVERAGES",
    "confusion_matrix",
    "dice_from_confusion_matrix",
    "dice_score",
    "iou_from_confusion_matrix",
    "jaccard_index",
]

_MODES = ("multiclass", "binary", "multilabel")


# -- counting -----------------------------------------------------------------------------


def confusion_matrix(
    preds: Any, target: Any, num_classes: int | None, ignore_index: int | None = None
) -> Any:
    """Multiclass confusion matrix: rows are target classes, columns predicted classes.

    Parameters
    ----------
    preds : array
        Integer labels of ``target``'s shape (N, *S), or scores (N, C, *S) of any dtype
        (logits, probabilities; their argmax over axis 1 is taken).
    target : array
        Integer labels, shape (N, *S).
    num_classes : int or None
        C. May be None only for score predictions (C is their axis 1).
    ignore_index : int, optional
        Target value whose pixels are left out (255, -1, or a class in [0, C): that
        class's row is then all zero, while its column still counts the pixels predicted
        as it).

    Returns
    -------
    array
        Shape (C, C), integer counts (int64; int32 for JAX without x64), in ``target``'s
        library and device. ``confmat[i, j]`` = number of counted pixels with target
        ``i`` predicted as ``j``.

    Raises
    ------
    ValueError, TypeError
        Shapes or dtypes that do not fit; on eager CPU arrays, target labels outside
        [0, C) that are not ``ignore_index`` and predicted labels outside [0, C) at
        counted pixels. Under ``jax.jit``, GPU or Dask such pixels are not counted.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import confusion_matrix
    >>> target = np.array([[0, 255, 1, 2]])
    >>> preds = np.array([[0, 0, 1, 1]])
    >>> confusion_matrix(preds, target, num_classes=3, ignore_index=255).tolist()
    [[1, 0, 0], [0, 1, 0], [0, 1, 0]]
    """
    xp = get_namespace(preds=preds, target=target)
    ignore_index = check_ignore_index(ignore_index)
    if num_classes is not None:
        num_classes = check_num_classes(num_classes)
    hist, c = multiclass_histogram(xp, preds, target, num_classes, ignore_index,
                                   per_image=False)
    return hist[0, 1 : c + 1, 1 : c + 1]


def multilabel_confusion_matrix(
    preds: Any,
    target: Any,
    mode: str,
    num_classes: int | None,
    ignore_index: int | None,
    threshold: Any,
) -> Any:
    """Per-class 2x2 matrices ``[[tn, fp], [fn, tp]]``, shape (C, 2, 2) (C = 1 for binary).

    The layout of ``torchmetrics.functional.multilabel_confusion_matrix``.
    """
    xp = get_namespace(preds=preds, target=target)
    pos_o, pos_t, counted = binary_masks(
        xp, preds, target, mode, num_classes, threshold, ignore_index,
        threshold_target=False, output_name="preds",
    )
    tp, fp, fn, tn = _dispatch.run_compiled(binary_counts, xp, pos_o, pos_t, counted,
                                            axis=(0, 2))
    return xp.stack([xp.stack([tn, fp], axis=-1), xp.stack([fn, tp], axis=-1)], axis=-2)


# -- reduction ----------------------------------------------------------------------------


def _check_average(average: Any) -> str:
    return check_optional_choice("average", average, AVERAGES)


def _check_zero_division(zero_division: Any) -> float:
    return check_zero_division(zero_division, allow_warn=False)  # type: ignore[return-value]


def _overlap_from_confmat(xp: Any, confmat: Any, multilabel: bool) -> tuple[Any, Any, Any]:
    """tp, fp, fn per class, each (C,)."""
    if multilabel:
        return confmat[:, 1, 1], confmat[:, 0, 1], confmat[:, 1, 0]
    c = confmat.shape[0]
    dev = device_of(confmat)
    diag_idx = xp.arange(c, dtype=index_dtype(xp, dev), device=dev) * (c + 1)
    tp = xp.take(xp.reshape(confmat, (c * c,)), diag_idx, axis=0)
    fp = xp.sum(confmat, axis=0) - tp
    fn = xp.sum(confmat, axis=1) - tp
    return tp, fp, fn


def _reduce(
    xp: Any,
    tp: Any,
    fp: Any,
    fn: Any,
    *,
    dice: bool,
    multilabel: bool,
    average: str,
    ignore_index: int | None,
    zero_division: float,
) -> Any:
    """IoU or Dice from per-class counts, reduced like torchmetrics' JaccardIndex.

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
    c = tp.shape[0]
    keep = xp.ones((c,), dtype=fdt, device=device_of(like))
    if not multilabel and ignore_index is not None and 0 <= ignore_index < c:
        classes = xp.arange(c, dtype=index_dtype(xp, device_of(like)), device=device_of(like))
        keep = xp.astype(classes != ignore_index, fdt)
    if average == "micro":
        return safe_divide(xp, xp.sum(num * keep), xp.sum(den * keep), fill=zero_division)
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
    return safe_divide(xp, xp.sum(weights * scores), xp.sum(weights), fill=zero_division)


def _reduce_confmat(xp: Any, confmat: Any, **options: Any) -> Any:
    """Scores of a (C, C) or (C, 2, 2) matrix (one compiled program on eager JAX)."""
    options["multilabel"] = check_confmat(xp, confmat)
    zd = options["zero_division"]
    # static jit arguments are compared with ==, and nan != nan: pass NaN as a string
    options["zero_division"] = "nan" if math.isnan(zd) else zd
    return _dispatch.run_compiled(_reduce_confmat_core, xp, confmat, **options)


def _reduce_confmat_core(xp: Any, confmat: Any, **options: Any) -> Any:
    if options["zero_division"] == "nan":
        options["zero_division"] = math.nan
    tp, fp, fn = _overlap_from_confmat(xp, confmat, options["multilabel"])
    return _reduce(xp, tp, fp, fn, **options)


def _from_confmat(confmat: Any, average: Any, ignore_index: Any, zero_division: Any,
                  dice: bool) -> Any:
    xp = get_namespace(confmat=confmat)
    average = _check_average(average)
    ignore_index = check_ignore_index(ignore_index)
    zero_division = _check_zero_division(zero_division)
    return _reduce_confmat(xp, confmat, dice=dice, average=average,
                           ignore_index=ignore_index, zero_division=zero_division)


def iou_from_confusion_matrix(
    confmat: Any,
    average: str | None = "macro",
    ignore_index: int | None = None,
    zero_division: float = 0.0,
) -> Any:
    """IoU from an accumulated confusion matrix (see `jaccard_index`).

    Parameters
    ----------
    confmat : array
        (C, C) from `confusion_matrix` (rows target, columns prediction), or
        (C, 2, 2) per-class ``[[tn, fp], [fn, tp]]`` matrices (binary/multilabel, as in
        ``MeanIoU(mode='multilabel').state``).
    average, ignore_index, zero_division
        As in `jaccard_index`; ``ignore_index`` only matters when it lies in
        [0, C) (that class is left out of the averages).

    Returns
    -------
    array
        0-d, or (C,) for ``average='none'``; the namespace's default float dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import iou_from_confusion_matrix
    >>> cm = np.array([[1, 1, 0], [0, 2, 0], [0, 0, 0]])
    >>> round(float(iou_from_confusion_matrix(cm)), 6)  # class 2 absent: mean of 1/2, 2/3
    0.583333
    """
    return _from_confmat(confmat, average, ignore_index, zero_division, dice=False)


def dice_from_confusion_matrix(
    confmat: Any,
    average: str | None = "macro",
    ignore_index: int | None = None,
    zero_division: float = 0.0,
) -> Any:
    """Dice (F1) from an accumulated confusion matrix (see `dice_score`).

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import dice_from_confusion_matrix
    >>> cm = np.array([[1, 1, 0], [0, 2, 0], [0, 0, 0]])
    >>> round(float(dice_from_confusion_matrix(cm)), 6)  # mean of 2/3 and 4/5
    0.733333
    """
    return _from_confmat(confmat, average, ignore_index, zero_division, dice=True)


# -- one-call metrics ---------------------------------------------------------------------


def counts(
    preds: Any,
    target: Any,
    num_classes: int | None,
    ignore_index: int | None,
    mode: str,
    threshold: Any,
) -> Any:
    """The summable state of one batch: (C, C) multiclass, (C, 2, 2) otherwise."""
    mode = check_choice("mode", mode, _MODES)
    if mode == MULTICLASS_MODE:
        return confusion_matrix(preds, target, num_classes, ignore_index)
    ignore_index = check_ignore_index(ignore_index)
    return multilabel_confusion_matrix(preds, target, mode, num_classes, ignore_index, threshold)


def _one_call(preds, target, num_classes, average, ignore_index, zero_division, mode,
              threshold, dice):
    average = _check_average(average)
    zero_division = _check_zero_division(zero_division)
    ignore_index = check_ignore_index(ignore_index)
    cm = counts(preds, target, num_classes, ignore_index, mode, threshold)
    xp = get_namespace(confmat=cm)
    return _reduce_confmat(xp, cm, dice=dice, average=average, ignore_index=ignore_index,
                           zero_division=zero_division)


_COMMON = """
    Parameters
    ----------
    preds : array
        ``mode='multiclass'``: integer labels (N, *S) or scores (N, C, *S) (argmax over
        axis 1). ``'binary'``: (N, *S) or (N, 1, *S); ``'multilabel'``: (N, C, *S); 0/1
        integers/bools, or floats binarised with ``preds >= threshold``.
    target : array
        Multiclass: integer labels (N, *S). Binary/multilabel: ``preds``' shape, 0/1.
    num_classes : int, optional
        C; required for multiclass label predictions, else checked against the shapes.
    average : {'macro', 'micro', 'weighted', 'none'} or None, default 'macro'
        ``'macro'``: mean of the per-class scores, in multiclass mode over the classes
        whose union (target or prediction) is not empty, as torchmetrics, Keras and
        sklearn (``labels=None``) do; in binary/multilabel mode over every class, as
        torchmetrics does (``zero_division=nan`` leaves empty classes out instead).
        ``'micro'``: one score from the counts summed over classes. ``'weighted'``: mean
        weighted by support (target pixels). ``'none'``/None: per-class scores (C,).
    ignore_index : int, optional
        Target value whose pixels are left out (255, -1, ...). Multiclass: a value in
        [0, C) also leaves that class out of ``'macro'``/``'weighted'``/``'micro'``
        (torchmetrics). Binary/multilabel: compared element-wise with the target.
    zero_division : float, default 0
        Score of a class whose denominator is 0 (``'none'``, ``'micro'``, binary and
        multilabel ``'macro'``), and the result when nothing is left to average (every
        pixel ignored; torchmetrics returns NaN there: pass ``zero_division=nan``).
    mode : {'multiclass', 'binary', 'multilabel'}, default 'multiclass'
    threshold : float or sequence of float, default 0.5
        For floating binary/multilabel ``preds``: positive where ``preds >= threshold``
        (smp, Keras; torchmetrics uses ``>`` and applies a sigmoid to values outside
        [0, 1]; anyiou never does).

    Returns
    -------
    array
        0-d, or (C,) for ``average='none'``; the namespace's default float dtype
        (float32 for torch, float64 for NumPy), in ``target``'s library and device.
"""


def jaccard_index(
    preds: Any,
    target: Any,
    num_classes: int | None = None,
    average: str | None = "macro",
    ignore_index: int | None = None,
    zero_division: float = 0.0,
    *,
    mode: str = "multiclass",
    threshold: Any = 0.5,
) -> Any:
    return _one_call(preds, target, num_classes, average, ignore_index, zero_division, mode,
                     threshold, dice=False)


jaccard_index.__doc__ = (
    """Dataset-level IoU from the confusion matrix (torchmetrics ``JaccardIndex``).

    Equals ``torchmetrics.functional.classification.multiclass_jaccard_index`` (and its
    binary/multilabel siblings with ``mode=``) on every backend, with exact integer
    counts.
"""
    + _COMMON
    + """
    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import jaccard_index
    >>> target = np.array([[0, 0, 1, 1]])
    >>> preds = np.array([[0, 1, 1, 1]])
    >>> round(float(jaccard_index(preds, target, num_classes=3)), 6)  # class 2 left out
    0.583333
    >>> np.round(jaccard_index(preds, target, 3, average="none"), 6).tolist()
    [0.5, 0.666667, 0.0]
"""
)


def dice_score(
    preds: Any,
    target: Any,
    num_classes: int | None = None,
    average: str | None = "macro",
    ignore_index: int | None = None,
    zero_division: float = 0.0,
    *,
    mode: str = "multiclass",
    threshold: Any = 0.5,
) -> Any:
    return _one_call(preds, target, num_classes, average, ignore_index, zero_division, mode,
                     threshold, dice=True)


dice_score.__doc__ = (
    """Dataset-level Dice (F1) ``2tp / (2tp + fp + fn)`` from the confusion matrix.

    The same averaging rules as `jaccard_index`; without an in-range
    ``ignore_index`` this equals ``torchmetrics.functional.classification
    .multiclass_f1_score`` (whose macro mean keeps an in-range ignored class).
"""
    + _COMMON
    + """
    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import dice_score
    >>> target = np.array([[0, 0, 1, 1]])
    >>> preds = np.array([[0, 1, 1, 1]])
    >>> round(float(dice_score(preds, target, num_classes=3)), 6)
    0.733333
"""
)
