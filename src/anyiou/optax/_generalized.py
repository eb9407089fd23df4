"""optax's `multiclass_generalized_dice_loss`: the per-class Dice losses weighted by the
inverse squared class volumes of the batch.

This is not Sudre et al.'s ratio of weighted sums (`anyiou.losses._generalized`'s
score): optax weights each class's ``1 - dice`` of each example by
``w_c = 1 / (T_c**2 + 1e-7)``, ``T_c`` the class's target volume over the whole batch,
normalised to sum to C, and returns the mean over examples and classes. The weights are
the core's (`generalized_weights`, its ``"offset"`` rule), the per-class losses
`dice_loss`'s.
"""

from __future__ import annotations

from typing import Any

from .._lib._types import ArrayT, IgnoreIndex
from ..losses._class_losses import as_array
from ..losses._generalized import generalized_weights
from ._dice import class_losses
from ._statistics import is_labels, namespace

__all__ = ["multiclass_generalized_dice_loss"]

#: optax's offset of the squared class volume (keeps an absent class's weight finite)
OFFSET = 1e-7


def multiclass_generalized_dice_loss(
    predictions: ArrayT,
    targets: Any,
    *,
    smooth: Any = 1.0,
    apply_softmax: bool = True,
    ignore_background: bool = False,
    ignore_index: IgnoreIndex = None,
    mask: Any | None = None,
) -> ArrayT:
    r"""optax's Generalized Dice loss: per-class Dice losses weighted by the inverse
    squared class volumes of the batch, averaged.

    The same arguments, values and gradients as
    ``optax.losses.multiclass_generalized_dice_loss`` (optax 0.2.8), on any array
    library. With ``L_{n,c}`` the per-class losses of `dice_loss` (``alpha = beta = 0.5``)
    and ``T_c`` the target volume of class ``c`` over the whole batch,

    $$
    w_c = \frac{C\,v_c}{\sum_k v_k},\quad v_c = \frac{1}{T_c^2 + 10^{-7}},\qquad
    L = \operatorname{mean}_{n,c}\, w_c L_{n,c},
    $$

    the mean over examples and classes (without class 0 under ``ignore_background``,
    whose weight still counts in the normalisation). A class absent from the batch gets
    by far the largest weight (optax's rule).

    Parameters
    ----------
    predictions : array
        Logits (probabilities with ``apply_softmax=False``), shape (N, ..., C), floating
        point.
    targets : array
        One-hot or soft targets of the predictions' shape, float, integer or bool; or
        integer class labels of shape (N, ...) (no one-hot is built).
    smooth : float or array
        Added to each class's numerator and denominator.
    apply_softmax : bool
        Softmax over the last axis. False: the predictions are probabilities; where
        values can be read (not on JAX or Dask) they must sum to 1 over the last axis.
    ignore_background : bool
        Leave class 0 out of the mean when there is more than one channel.
    ignore_index : int or sequence of int, optional
        anyiou's addition, for integer labels only: pixels with this label (or any of
        these labels) count in neither prediction nor target (nor the class volumes).
    mask : array, optional
        anyiou's addition: a boolean array of shape (N, ...) (the predictions' shape
        without the channel axis); pixels where it is False count in neither prediction
        nor target (nor the class volumes).

    Returns
    -------
    array
        Shape (): float32 (float64 for float64 input).

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.optax import multiclass_generalized_dice_loss
    >>> logits = np.zeros((1, 4, 2), dtype=np.float32)
    >>> labels = np.array([[0, 0, 0, 1]])
    >>> print(f"{float(multiclass_generalized_dice_loss(logits, labels)):.4f}")
    0.3886
    """
    xp, targets = namespace(predictions, targets)
    if not is_labels(xp, predictions, targets) and tuple(predictions.shape) != tuple(
        targets.shape
    ):
        raise ValueError(
            f"Shape mismatch: got predictions {tuple(predictions.shape)} and targets "
            f"{tuple(targets.shape)}; targets must be one-hot (or soft) of the predictions' "
            "shape, or integer labels without its last axis"
        )
    loss, target_sum, channels = class_losses(
        xp, predictions, targets, smooth=smooth, alpha=0.5, beta=0.5,
        apply_softmax=apply_softmax, axis=None, ignore_index=ignore_index, mask=mask,
    )
    volumes = xp.sum(target_sum, axis=tuple(range(target_sum.ndim - 1)))  # (C,)
    raw = generalized_weights(xp, volumes, "square", absent="offset", offset=OFFSET)
    weights = raw / xp.sum(raw) * raw.shape[0]
    loss = loss * weights
    if ignore_background and channels > 1:
        loss = loss[..., 1:]
    return as_array(xp.mean(loss))
