"""optax's `dice_loss` and `binary_dice_loss` on every array library."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import array_api_compat as aac

from .._lib._namespace import device_of, is_floating
from .._lib._types import ArrayT, IgnoreIndex, LossReduction
from ..losses._class_losses import as_array, tversky_score
from ._statistics import align, is_labels, namespace, statistics

__all__ = ["binary_dice_loss", "class_losses", "dice_loss", "reduce_classes"]

REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}; got {reduction!r}")


def _weights(xp: Any, class_weights: Any, loss: Any) -> Any:
    """``class_weights`` as an array of rank 1 beside ``loss``: an array of the loss's
    library keeps its dtype (optax promotes), anything else (a list, a NumPy array) takes
    the loss's dtype and device."""
    try:
        same = aac.array_namespace(class_weights) is aac.array_namespace(loss)
    except TypeError:
        same = False
    w = class_weights if same else xp.asarray(class_weights, device=device_of(loss))
    if w.ndim != 1:
        raise ValueError(
            f"class_weights must have rank 1 (one weight per class); got shape {tuple(w.shape)}"
        )
    if not same or not is_floating(xp, w.dtype):
        w = xp.astype(w, loss.dtype)
    if loss.ndim and w.shape[0] not in (1, loss.shape[-1]):
        raise ValueError(
            f"class_weights must hold one weight per class ({loss.shape[-1]}); got "
            f"{w.shape[0]}"
        )
    return w


def class_losses(
    xp: Any,
    predictions: Any,
    targets: Any,
    *,
    smooth: Any,
    alpha: Any,
    beta: Any,
    apply_softmax: bool,
    axis: Any,
    ignore_index: IgnoreIndex,
    mask: Any | None = None,
) -> tuple[Any, Any, int]:
    """optax's per-class losses ``1 - dice`` (kept axes, classes last) before weights and
    background, the per-class target sums, and the number of channels of the input."""
    if not is_labels(xp, predictions, targets):
        predictions, targets = align(predictions, targets)
    stats = statistics(
        xp, predictions, targets, apply_softmax=apply_softmax, axis=axis,
        ignore_index=ignore_index, mask=mask,
    )
    # eps = -inf: optax's plain ratio (no lower bound, a negative denominator too),
    # except that 0 / 0 (smooth = 0, an empty class with no prediction) scores 0 with a
    # zero gradient instead of NaN
    score = tversky_score(
        xp, stats.intersection, stats.pred_sum, stats.target_sum, alpha, beta, smooth,
        -math.inf, for_loss=False,
    )
    return 1.0 - score, stats.target_sum, predictions.shape[-1]


def reduce_classes(xp: Any, loss: Any, reduction: str) -> Any:
    """optax's reduction over the last axis."""
    if reduction == "mean":
        return as_array(xp.mean(loss, axis=-1))
    if reduction == "sum":
        return as_array(xp.sum(loss, axis=-1))
    return loss


def dice_loss(
    predictions: ArrayT,
    targets: Any,
    *,
    class_weights: Any | None = None,
    smooth: Any = 1.0,
    alpha: Any = 0.5,
    beta: Any = 0.5,
    apply_softmax: bool = True,
    reduction: LossReduction = "mean",
    ignore_background: bool = False,
    axis: int | Sequence[int] | None = None,
    ignore_index: IgnoreIndex = None,
    mask: Any | None = None,
) -> ArrayT:
    r"""optax's Dice (Tversky) loss of channels-last logits, one loss per example.

    The same arguments, values and gradients as ``optax.losses.dice_loss`` (optax
    0.2.8), on any array library. Per class ``c``, summed over ``axis``:

    $$
    L_c = 1 - \frac{I_c + s}{I_c + \alpha (P_c - I_c) + \beta (T_c - I_c) + s},
    \quad I_c = \sum p\,t,\ P_c = \sum p,\ T_c = \sum t,
    $$

    with ``p`` the softmax of ``predictions`` over the last axis (the sigmoid of a
    single channel), then weighted by ``class_weights``, without class 0 under
    ``ignore_background`` and reduced over the classes.

    Parameters
    ----------
    predictions : array
        Logits (probabilities with ``apply_softmax=False``), shape (..., C), floating
        point; (...,) or (..., 1) for binary segmentation.
    targets : array
        One-hot or soft targets of the predictions' shape ((...,) or (..., 1) for
        binary), float, integer or bool. With C > 1 also integer class labels of shape
        (...,) (the predictions' shape without its last axis): no one-hot is built.
        Where values can be read (not on JAX or Dask) a label outside [0, C) that is
        neither ``ignore_index`` nor masked is a ``ValueError``.
    class_weights : array or sequence of float, optional
        One weight per class, rank 1 (length C, or 1); each class's loss is multiplied by
        its weight before the reduction.
    smooth : float or array
        Added to the numerator and the denominator.
    alpha : float or array
        Weight of the false positives ``P - I``; 0.5 with ``beta=0.5`` is Dice.
    beta : float or array
        Weight of the false negatives ``T - I``.
    apply_softmax : bool
        Softmax over the last axis (sigmoid of a single channel). False: the predictions
        are probabilities; where values can be read (not on JAX or Dask) they must sum
        to 1 over the last axis (lie in [0, 1] for a single channel).
    reduction : {"mean", "sum", "none"}
        Over the classes (the last axis): their mean, sum, or every class's loss.
    ignore_background : bool
        Leave class 0 out (after weighting) when there is more than one channel.
    axis : int or sequence of int, optional
        The axes summed over; None: every axis but the first and the last. Integer
        labels take any ``axis`` too, as their one-hot target would (the class axis is
        the predictions' last).
    ignore_index : int or sequence of int, optional
        anyiou's addition, for integer labels only: pixels with this label (or any of
        these labels) count in neither prediction nor target.
    mask : array, optional
        anyiou's addition: a boolean array of the pixels' shape (the predictions' shape
        without the channel axis, after optax's shape rule); pixels where it is False
        count in neither prediction nor target, for one-hot targets and labels alike.

    Returns
    -------
    array
        Shape (N,) for (N, ..., C) predictions and the default ``axis`` (the kept axes
        without the class axis), or (N, C) with ``reduction="none"`` (C - 1 with
        ``ignore_background``). float32 (float64 for float64 input).

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.optax import dice_loss
    >>> logits = np.array([[1.0, -1.0], [0.5, 0.5]], dtype=np.float32)
    >>> targets = np.array([[1.0, 0.0], [1.0, 0.0]], dtype=np.float32)
    >>> dice_loss(logits[..., None], targets[..., None]).shape
    (2,)
    >>> labels = np.array([[0, 1, 1], [1, 0, 0]])
    >>> logits = np.zeros((2, 3, 2), dtype=np.float32)
    >>> dice_loss(logits, labels).round(4)  # labels without a one-hot
    array([0.303, 0.303], dtype=float32)
    """
    _check_reduction(reduction)
    xp, targets = namespace(predictions, targets)
    loss, _, channels = class_losses(
        xp, predictions, targets, smooth=smooth, alpha=alpha, beta=beta,
        apply_softmax=apply_softmax, axis=axis, ignore_index=ignore_index, mask=mask,
    )
    if class_weights is not None:
        loss = loss * _weights(xp, class_weights, loss)
    if ignore_background and channels > 1:
        loss = loss[..., 1:]
    return reduce_classes(xp, loss, reduction)


def binary_dice_loss(
    predictions: ArrayT,
    targets: Any,
    *,
    smooth: Any = 1.0,
    apply_sigmoid: bool = True,
    mask: Any | None = None,
) -> ArrayT:
    """optax's binary Dice loss: `dice_loss` of one channel, mean reduction.

    Parameters
    ----------
    predictions : array
        Logits (probabilities in [0, 1] with ``apply_sigmoid=False``), shape (N, ...)
        or (N, ..., 1), floating point.
    targets : array
        0/1 or soft targets of the predictions' shape (or with/without the trailing
        singleton axis), float, integer or bool.
    smooth : float or array
        Added to the numerator and the denominator.
    apply_sigmoid : bool
        Apply the sigmoid to ``predictions``.
    mask : array, optional
        anyiou's addition, as `dice_loss`'s: a boolean array of the pixels' shape (the
        predictions' shape without a trailing singleton channel axis, shape (N, ...));
        pixels where it is False count in neither prediction nor target.

    Returns
    -------
    array
        Shape (N,): one loss per example, summed over every axis but the first.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.optax import binary_dice_loss
    >>> logits = np.zeros((2, 4, 4), dtype=np.float32)
    >>> binary_dice_loss(logits, np.ones((2, 4, 4), dtype=np.float32)).round(4)
    array([0.3077, 0.3077], dtype=float32)
    """
    if predictions.ndim == targets.ndim and predictions.shape[-1] != 1:
        predictions, targets = predictions[..., None], targets[..., None]
    return dice_loss(
        predictions, targets, smooth=smooth, apply_softmax=apply_sigmoid, reduction="mean",
        mask=mask,
    )
