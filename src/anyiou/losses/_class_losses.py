"""The Tversky score of the overlap losses and the reduction of their per-class losses
(empty classes, selected classes, class weights)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._lib._namespace import device_of, index_dtype
from .._lib._numerics import clip_below, safe_divide
from .._lib._options import check_class_weights_length

__all__ = ["as_array", "class_index", "reduce_class_losses", "safe_power", "tversky_score"]


def as_array(x: Any) -> Any:
    """``x`` as an array of the standard: NumPy reductions return a scalar
    (``numpy.float32``), which ``x[...]`` turns into a 0-d array; on every other array
    (a 0-d NumPy array included) it is a view, connected for autodiff."""
    return x[...]


def safe_power(xp: Any, x: Any, gamma: float) -> Any:
    """``x ** gamma`` with a finite gradient at ``x == 0``.

    The value is the power's (``0 ** gamma`` is 0, or 1 for ``gamma == 0``; a negative
    ``x`` with a fractional ``gamma`` gives NaN, as in smp). Where ``x == 0`` the
    gradient is 0: for ``gamma < 1`` the power's own derivative there is infinite, and
    ``inf * 0`` (an absent class's masked loss) would make every gradient NaN. The inner
    ``where`` keeps the power away from 0, as in `safe_divide`.
    """
    if gamma == 1.0:
        return x
    ok = x != 0
    one = xp.ones((), dtype=x.dtype, device=device_of(x))
    at_zero = xp.asarray(0.0**gamma, dtype=x.dtype, device=device_of(x))
    return xp.where(ok, xp.where(ok, x, one) ** gamma, at_zero)


def tversky_score(
    xp: Any,
    intersection: Any,
    pred_sum: Any,
    target_sum: Any,
    alpha: float,
    beta: float,
    smooth: float,
    eps: float,
    *,
    for_loss: bool = True,
    smooth_nr: float | None = None,
) -> Any:
    """``(I + smooth_nr) / max(I + alpha*FP + beta*FN + smooth, eps)``, elementwise.

    ``smooth_nr`` (default ``smooth``) is the numerator's smoothing, ``smooth`` the
    denominator's.

    ``FP = pred_sum - I`` and ``FN = target_sum - I`` (Tversky 2017; Salehi et al. 2017).
    Jaccard is alpha = beta = 1, Dice alpha = beta = 0.5. With ``eps > 0`` the
    denominator is at least ``eps`` (smp). ``eps = 0`` (smp accepts it, then divides
    0 by 0 for a class with no prediction and no target, and takes ``log(0)`` under
    ``log_loss``) is made safe, each with a zero gradient:

    * ``0 / 0`` scores 0, the value for every ``eps > 0``;
    * ``for_loss``: a class with no target pixels scores 1. The losses set its loss to 0
      anyway (the empty rule), and so neither ``1 - score`` nor ``-log(score)`` is NaN
      or infinite there.

    Any other division by 0 stays smp's ``inf``.
    """
    fp = pred_sum - intersection
    fn = target_sum - intersection
    num = intersection + (smooth if smooth_nr is None else smooth_nr)
    den = clip_below(xp, intersection + alpha * fp + beta * fn + smooth, eps)
    if eps > 0:
        return num / den
    dev = device_of(num)
    undefined = (den == 0) & (num == 0)
    score = xp.where(undefined, xp.zeros((), dtype=num.dtype, device=dev),
                     num / xp.where(undefined, xp.ones((), dtype=den.dtype, device=dev), den))
    if not for_loss:
        return score
    return xp.where(target_sum > 0, score, xp.ones((), dtype=score.dtype, device=dev))


def class_index(xp: Any, classes: Sequence[int], num_classes: int, device: Any) -> Any:
    """``classes`` (checked non-negative ints) as an index array on ``device`` for
    ``xp.take``; a ``ValueError`` for a class id beyond ``num_classes``."""
    if max(classes) >= num_classes:
        raise ValueError(
            f"classes must be class indices in [0, {num_classes}); got {list(classes)}"
        )
    return xp.asarray(classes, dtype=index_dtype(xp, device), device=device)


def reduce_class_losses(
    xp: Any,
    loss: Any,
    present: Any,
    *,
    classes: Sequence[int] | None,
    class_weights: Sequence[float] | None,
    empty: str,
    reduction: str,
    gamma: float = 1.0,
) -> Any:
    """Reduce per-class losses of shape (C,) or (N, C) to the requested output.

    * ``empty="zero"`` (smp): classes with no target pixels get loss 0 and still count
      in the mean; ``"exclude"``: they are left out of the mean (0 if none is present);
      ``"keep"`` (MONAI): their computed loss is kept, in the mean too.
    * ``classes`` selects channels; ``class_weights`` (length C) gives ``sum(w*l)/sum(w)``.
    * ``reduction``: ``"mean"`` -> 0-d, ``"sum"`` -> 0-d (weighted sum), ``"none"`` ->
      the per-class losses, shape (len(classes),) or (N, len(classes)).
    * ``gamma`` (focal Tversky): the reduced value is raised to ``gamma``; with
      ``reduction="none"`` each element is.
    """
    num_classes = loss.shape[-1]
    dev = device_of(loss)
    present_f = xp.astype(present, loss.dtype)
    if empty != "keep":
        loss = loss * present_f
    weights = None
    if class_weights is not None:
        check_class_weights_length(class_weights, num_classes)
        weights = xp.asarray(class_weights, dtype=loss.dtype, device=dev)
    if classes is not None:
        idx = class_index(xp, classes, num_classes, dev)
        loss = xp.take(loss, idx, axis=-1)
        present_f = xp.take(present_f, idx, axis=-1)
        if weights is not None:
            weights = xp.take(weights, idx, axis=0)
    if weights is not None and not any(
        class_weights[c] > 0 for c in (classes if classes is not None else range(num_classes))
    ):
        raise ValueError("class_weights of the selected classes must not all be zero")

    if reduction == "none":
        return safe_power(xp, loss, gamma)
    w = xp.ones_like(loss) if weights is None else xp.broadcast_to(weights, loss.shape)
    if empty == "exclude":
        w = w * present_f
    if reduction == "sum":
        out = xp.sum(loss * w) if (weights is not None or empty == "exclude") else xp.sum(loss)
    elif weights is None and empty == "zero" and loss.shape[0] > 0:
        out = xp.mean(loss)
    else:
        out = safe_divide(xp, xp.sum(loss * w), xp.sum(w))
    return as_array(safe_power(xp, out, gamma))
