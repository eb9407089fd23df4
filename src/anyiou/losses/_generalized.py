r"""Generalized Dice (Sudre et al. 2017): class weights from the target volumes, and the
score of per-class statistics reduced over the class axis.

The weighted score of one row (one sample, or the whole batch) is

$$
GD = \frac{\sum_c w_c I_c + s_{nr}}
          {\max\big(\sum_c w_c (I_c + \tfrac12 FP_c + \tfrac12 FN_c) + s_{dr},\ \varepsilon\big)}
   = \frac{2\sum_c w_c I_c + 2 s_{nr}}
          {\max\big(\sum_c w_c (P_c + T_c) + 2 s_{dr},\ 2\varepsilon\big)},
$$

the halved (Tversky, alpha = beta = 1/2) form of `DiceLoss`, so ``smooth`` and ``eps``
act on the halved sums as in smp's Dice (MONAI's ``smooth_nr``/``smooth_dr`` are twice
these). With ``squared_pred`` the sums ``P_c``, ``T_c`` of the denominator are the sums
of squares (``FP = P2 - I``, ``FN = T2 - I``); the weights always come from ``T_c``.

Weights (``weight_type``): ``"square"`` ``1 / T_c**2``, ``"simple"`` ``1 / T_c``,
``"uniform"`` 1. An absent class (``T_c == 0``) has an infinite weight; the ``absent``
rule replaces it:

* ``"max"`` (MONAI 1.6.1): the largest finite weight of the row; a row with no finite
  weight (no class present) gets weight 0 for every class;
* ``"offset"`` (optax 0.2.8): ``1 / (T_c**k + offset)`` for every class (``k`` = 2 or 1;
  ``offset = 0``: weight 0 for an absent class);
* ``"zero"``: weight 0 (the class enters neither sum).

Any weight that is not finite (also ``1 / T**2`` overflowing for a tiny soft ``T``) is
treated as absent, as MONAI does. No value or gradient is NaN or infinite: the weights
are built with guarded divisions, and a zero denominator (eps = 0, smooth_dr = 0 and every
weight 0) gives the score 1 with gradient 0.
"""

from __future__ import annotations

from typing import Any

from .._lib._namespace import device_of
from .._lib._numerics import clip_below, safe_divide

__all__ = [
    "ABSENT_RULES",
    "WEIGHT_TYPES",
    "generalized_dice_score",
    "generalized_weights",
]

WEIGHT_TYPES = ("square", "simple", "uniform")
ABSENT_RULES = ("max", "offset", "zero")


def generalized_weights(
    xp: Any,
    target_sum: Any,
    weight_type: str = "square",
    *,
    absent: str = "max",
    offset: float = 0.0,
) -> Any:
    """Per-class weights from the target volumes ``target_sum`` of shape (C,) or (N, C).

    Returns an array of ``target_sum``'s shape and dtype, finite, non-negative; the rule
    for absent classes (``absent``, ``offset``) is described in the module docstring.
    The weights are constants of the loss in MONAI and optax alike, but they are
    differentiable here too, with finite gradients everywhere.
    """
    if weight_type not in WEIGHT_TYPES:
        raise ValueError(f"weight_type must be one of {WEIGHT_TYPES}; got {weight_type!r}")
    if absent not in ABSENT_RULES:
        raise ValueError(f"absent must be one of {ABSENT_RULES}; got {absent!r}")
    dev = device_of(target_sum)
    zero = xp.zeros((), dtype=target_sum.dtype, device=dev)
    one = xp.ones((), dtype=target_sum.dtype, device=dev)
    if weight_type == "uniform":
        if absent == "zero":
            return xp.where(target_sum > 0, one, zero)
        return xp.ones_like(target_sum)
    volume = target_sum * target_sum if weight_type == "square" else target_sum
    if absent == "offset":
        # offset = 0 leaves an absent class weight 0 (the "zero" rule)
        return safe_divide(xp, xp.ones_like(volume), volume + offset)
    raw = safe_divide(xp, xp.ones_like(volume), volume)
    finite = (volume > 0) & xp.isfinite(raw)
    w = xp.where(finite, raw, zero)
    if absent == "zero":
        return w
    # the largest finite weight of the row (0 where none is finite)
    row_max = xp.max(w, axis=-1, keepdims=True)
    return xp.where(finite, w, row_max)


def generalized_dice_score(
    xp: Any,
    intersection: Any,
    pred_sum: Any,
    target_sum: Any,
    *,
    weight_type: str = "square",
    smooth_nr: float = 0.0,
    smooth_dr: float = 0.0,
    eps: float = 0.0,
    absent: str = "max",
    offset: float = 0.0,
    pred_sq: Any | None = None,
    target_sq: Any | None = None,
    empty_one: bool = True,
) -> Any:
    """The Generalized Dice score of (C,) or (N, C) statistics, reduced over the last axis.

    Parameters
    ----------
    xp : namespace
        The arrays' array API namespace.
    intersection, pred_sum, target_sum : array
        Per-class sums ``I``, ``P = I + FP``, ``T = I + FN``, shape (C,) or (N, C), float.
    weight_type : {"square", "simple", "uniform"}
        The class weights from ``target_sum`` (`generalized_weights`).
    smooth_nr, smooth_dr : float
        Added to the halved numerator and denominator (MONAI's values halved).
    eps : float
        Lower bound of the halved denominator (0: none).
    absent, offset : str, float
        The rule for the weight of a class with ``T == 0`` (`generalized_weights`).
    pred_sq, target_sq : array, optional
        Sums of squares ``sum p**2``, ``sum t**2`` of ``pred_sum``'s shape: when given
        (MONAI's ``squared_pred``), the denominator uses them in place of ``P`` and ``T``.
    empty_one : bool
        A row in which no class has target pixels scores 1 (loss 0), whatever the
        smoothing; False: the formula (weights all 0 under ``"max"``, so
        ``smooth_nr / max(smooth_dr, eps)``, MONAI's value).

    Returns
    -------
    array
        Shape () for (C,) statistics, (N,) for (N, C); the statistics' dtype.
    """
    w = generalized_weights(xp, target_sum, weight_type, absent=absent, offset=offset)
    p = pred_sum if pred_sq is None else pred_sq
    t = target_sum if target_sq is None else target_sq
    den_c = 0.5 * (p + t)  # I + FP/2 + FN/2
    num = xp.sum(w * intersection, axis=-1) + smooth_nr
    den = clip_below(xp, xp.sum(w * den_c, axis=-1) + smooth_dr, eps)
    score = safe_divide(xp, num, den, fill=1.0)
    if not empty_one:
        return score
    present = xp.sum(xp.astype(target_sum > 0, score.dtype), axis=-1) > 0
    one = xp.ones((), dtype=score.dtype, device=device_of(score))
    return xp.where(present, score, one)
