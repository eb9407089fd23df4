"""Confusion-matrix IoU and Dice: the dataset-level mIoU of torchmetrics, Keras, sklearn
and mmseg.

Counts are exact integers (int64; int32 for JAX without x64), accumulated by the
backend's own ``bincount`` where it has one (NumPy, torch, JAX, CuPy, Dask) and by a
pure array-API one-hot matmul otherwise (``anyiou._lib.kernels.pair_counts``).
"""

from __future__ import annotations

from typing import Any

from .._lib import kernels
from .._lib._namespace import get_namespace
from .._lib._options import (
    MODES,
    MULTICLASS_MODE,
    check_choice,
    check_ignore_index,
    check_num_classes,
)
from .._lib._types import ArrayT, Average, IgnoreIndex, IgnoreValues, Mode
from ._averaging import check_average, check_confmat_zero_division, reduce_confmat, score_confmat
from ._counts import binary_counts, binary_masks, multiclass_histogram

__all__ = [
    "confusion_matrix",
    "counts",
    "dice_from_confusion_matrix",
    "dice_score",
    "iou_from_confusion_matrix",
    "jaccard_index",
    "multilabel_confusion_matrix",
]


# -- counting -----------------------------------------------------------------------------


def confusion_matrix(
    preds: ArrayT, target: Any, num_classes: int | None, ignore_index: IgnoreIndex = None
) -> ArrayT:
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
    ignore_index : int or sequence of int, optional
        Target value (or values) whose pixels are left out (255, -1, or a class in [0, C): that
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
    ignore_index: IgnoreValues,
    threshold: Any,
) -> Any:
    """Per-class 2x2 matrices ``[[tn, fp], [fn, tp]]``, shape (C, 2, 2) (C = 1 for binary).

    The layout of ``torchmetrics.functional.multilabel_confusion_matrix``.
    """
    xp = get_namespace(preds=preds, target=target)
    pos_o, pos_t, counted = binary_masks(
        xp, preds, target, mode, num_classes, threshold, ignore_index,
        output_name="preds",
    )
    tp, fp, fn, tn = kernels.run_compiled(binary_counts, xp, pos_o, pos_t, counted,
                                          axis=(0, 2))
    return xp.stack([xp.stack([tn, fp], axis=-1), xp.stack([fn, tp], axis=-1)], axis=-2)


# -- from an accumulated matrix ---------------------------------------------------------


def iou_from_confusion_matrix(
    confmat: ArrayT,
    average: Average | None = "macro",
    ignore_index: IgnoreIndex = None,
    zero_division: float = 0.0,
) -> ArrayT:
    """IoU from an accumulated confusion matrix (see `jaccard_index`).

    Parameters
    ----------
    confmat : array
        (C, C) from `confusion_matrix` (rows target, columns prediction), or
        (C, 2, 2) per-class ``[[tn, fp], [fn, tp]]`` matrices (binary/multilabel, as in
        ``MeanIoU(mode='multilabel').state``).
    average : str
        One of ``"macro"``, ``"micro"``, ``"weighted"``, ``"none"``.
        How the per-class IoUs are averaged, as in `jaccard_index`.
    ignore_index : int or sequence of int, optional
        Only matters when it lies in [0, C): that class is left out of the averages.
    zero_division : float, default 0.0
        The score of a class with an empty union, and the result when nothing is left.

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
    return score_confmat(confmat, average, ignore_index, zero_division, dice=False)


def dice_from_confusion_matrix(
    confmat: ArrayT,
    average: Average | None = "macro",
    ignore_index: IgnoreIndex = None,
    zero_division: float = 0.0,
) -> ArrayT:
    """Dice (F1) from an accumulated confusion matrix (see `dice_score`).

    Parameters
    ----------
    confmat : array
        (C, C) from `confusion_matrix`, or (C, 2, 2) per-class ``[[tn, fp], [fn, tp]]``
        matrices, as in `iou_from_confusion_matrix`.
    average : str
        One of ``"macro"``, ``"micro"``, ``"weighted"``, ``"none"``.
        How the per-class Dice scores are averaged, as in `dice_score`.
    ignore_index : int or sequence of int, optional
        Only matters when it lies in [0, C): that class is left out of the averages.
    zero_division : float, default 0.0
        The score of a class with nothing in target and prediction.

    Returns
    -------
    array
        0-d, or (C,) for ``average='none'``; the namespace's default float dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import dice_from_confusion_matrix
    >>> cm = np.array([[1, 1, 0], [0, 2, 0], [0, 0, 0]])
    >>> round(float(dice_from_confusion_matrix(cm)), 6)  # mean of 2/3 and 4/5
    0.733333
    """
    return score_confmat(confmat, average, ignore_index, zero_division, dice=True)


# -- one-call metrics ---------------------------------------------------------------------


def counts(
    preds: Any,
    target: Any,
    num_classes: int | None,
    ignore_index: IgnoreValues,
    mode: str,
    threshold: Any,
) -> Any:
    """The summable state of one batch: (C, C) multiclass, (C, 2, 2) otherwise."""
    mode = check_choice("mode", mode, MODES)
    if mode == MULTICLASS_MODE:
        return confusion_matrix(preds, target, num_classes, ignore_index)
    ignore_index = check_ignore_index(ignore_index)
    return multilabel_confusion_matrix(preds, target, mode, num_classes, ignore_index, threshold)


def _one_call(
    preds: Any,
    target: Any,
    num_classes: int | None,
    average: Any,
    ignore_index: Any,
    zero_division: Any,
    mode: str,
    threshold: Any,
    dice: bool,
) -> Any:
    """Count one batch (`counts`) and reduce it (`reduce_confmat`)."""
    average = check_average(average)
    zero_division = check_confmat_zero_division(zero_division)
    ignore_index = check_ignore_index(ignore_index)
    cm = counts(preds, target, num_classes, ignore_index, mode, threshold)
    xp = get_namespace(confmat=cm)
    return reduce_confmat(xp, cm, dice=dice, average=average, ignore_index=ignore_index,
                          zero_division=zero_division)


def jaccard_index(
    preds: ArrayT,
    target: Any,
    num_classes: int | None = None,
    average: Average | None = "macro",
    ignore_index: IgnoreIndex = None,
    zero_division: float = 0.0,
    *,
    mode: Mode = "multiclass",
    threshold: Any = 0.5,
) -> ArrayT:
    """Dataset-level IoU from the confusion matrix (torchmetrics ``JaccardIndex``).

    Per class ``tp / (tp + fp + fn)``, with the counts summed over every image and pixel,
    then averaged over the classes. Equals
    ``torchmetrics.functional.classification.multiclass_jaccard_index`` (and its
    binary/multilabel siblings with ``mode=``) on every backend, with exact integer
    counts.

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
    average : str or None, default 'macro'
        One of ``"macro"``, ``"micro"``, ``"weighted"``, ``"none"``.
        ``'macro'``: mean of the per-class scores, in multiclass mode over the classes
        whose union (target or prediction) is not empty, as torchmetrics, Keras and
        sklearn (``labels=None``) do; in binary/multilabel mode over every class, as
        torchmetrics does (``zero_division=nan`` leaves empty classes out instead).
        ``'micro'``: one score from the counts summed over classes. ``'weighted'``: mean
        weighted by support (target pixels). ``'none'``/None: per-class scores (C,).
    ignore_index : int or sequence of int, optional
        Target value (or values) whose pixels are left out (255, -1, ...). Multiclass: a value in
        [0, C) also leaves that class out of ``'macro'``/``'weighted'``/``'micro'``
        (torchmetrics). Binary/multilabel: compared element-wise with the target.
    zero_division : float, default 0
        Score of a class whose denominator is 0 (``'none'``, ``'micro'``, binary and
        multilabel ``'macro'``), and the result when nothing is left to average (every
        pixel ignored; torchmetrics returns NaN there: pass ``zero_division=nan``).
    mode : str, default 'multiclass'
        One of ``"multiclass"``, ``"binary"``, ``"multilabel"``.
        Layout of ``preds`` and ``target`` (keyword-only).
    threshold : float or sequence of float, default 0.5
        Keyword-only. For floating binary/multilabel ``preds``: positive where
        ``preds >= threshold`` (smp, Keras; torchmetrics uses ``>`` and applies a sigmoid
        to values outside [0, 1]; anyiou never does).

    Returns
    -------
    array
        0-d, or (C,) for ``average='none'``; the namespace's default float dtype
        (float32 for torch, float64 for NumPy), in ``target``'s library and device.

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
    return _one_call(preds, target, num_classes, average, ignore_index, zero_division, mode,
                     threshold, dice=False)


def dice_score(
    preds: ArrayT,
    target: Any,
    num_classes: int | None = None,
    average: Average | None = "macro",
    ignore_index: IgnoreIndex = None,
    zero_division: float = 0.0,
    *,
    mode: Mode = "multiclass",
    threshold: Any = 0.5,
) -> ArrayT:
    """Dataset-level Dice (F1) ``2tp / (2tp + fp + fn)`` from the confusion matrix.

    The same counts and averaging rules as `jaccard_index`; without an in-range
    ``ignore_index`` this equals ``torchmetrics.functional.classification
    .multiclass_f1_score`` (whose macro mean keeps an in-range ignored class).

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
    average : str or None, default 'macro'
        One of ``"macro"``, ``"micro"``, ``"weighted"``, ``"none"``.
        ``'macro'``: mean of the per-class scores, in multiclass mode over the classes
        whose union (target or prediction) is not empty, as torchmetrics, Keras and
        sklearn (``labels=None``) do; in binary/multilabel mode over every class, as
        torchmetrics does (``zero_division=nan`` leaves empty classes out instead).
        ``'micro'``: one score from the counts summed over classes. ``'weighted'``: mean
        weighted by support (target pixels). ``'none'``/None: per-class scores (C,).
    ignore_index : int or sequence of int, optional
        Target value (or values) whose pixels are left out (255, -1, ...). Multiclass: a value in
        [0, C) also leaves that class out of ``'macro'``/``'weighted'``/``'micro'``
        (torchmetrics). Binary/multilabel: compared element-wise with the target.
    zero_division : float, default 0
        Score of a class whose denominator is 0 (``'none'``, ``'micro'``, binary and
        multilabel ``'macro'``), and the result when nothing is left to average (every
        pixel ignored; torchmetrics returns NaN there: pass ``zero_division=nan``).
    mode : str, default 'multiclass'
        One of ``"multiclass"``, ``"binary"``, ``"multilabel"``.
        Layout of ``preds`` and ``target`` (keyword-only).
    threshold : float or sequence of float, default 0.5
        Keyword-only. For floating binary/multilabel ``preds``: positive where
        ``preds >= threshold`` (smp, Keras; torchmetrics uses ``>`` and applies a sigmoid
        to values outside [0, 1]; anyiou never does).

    Returns
    -------
    array
        0-d, or (C,) for ``average='none'``; the namespace's default float dtype
        (float32 for torch, float64 for NumPy), in ``target``'s library and device.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import dice_score
    >>> target = np.array([[0, 0, 1, 1]])
    >>> preds = np.array([[0, 1, 1, 1]])
    >>> round(float(dice_score(preds, target, num_classes=3)), 6)
    0.733333
    """
    return _one_call(preds, target, num_classes, average, ignore_index, zero_division, mode,
                     threshold, dice=True)
