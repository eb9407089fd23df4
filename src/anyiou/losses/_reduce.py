"""The Tversky score of the overlap losses and the reduction of their per-class losses
(empty classes, selected classes, class weights)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._lib._namespace import device_of, index_dtype
from .._lib._numerics import safe_divide
from .._lib._options import check_class_weights_length

__all__ = ["reduce_class_losses", "tversky_score"]


def tversky_score(
    xp: Any,
    intersection: Any,
    pred_sum: Any,
    target_sum: Any,
    alpha: float,
    beta: float,
    smooth: float,
    eps: float,
) -> Any:
    """``(I + smooth) / max(I + alpha*FP + beta*FN + smooth, eps)``, elementwise.

    ``FP = pred_sum - I`` and ``FN = target_sum - I`` (Tversky 2017; Salehi et al. 2017).
    Jaccard is alpha = beta = 1, Dice alpha = beta = 0.5.
    """
    fp = pred_sum - intersection
    fn = target_sum - intersection
    den = intersection + alpha * fp + beta * fn + smooth
    return (intersection + smooth) / xp.clip(den, min=eps)


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
      in the mean; ``"exclude"``: they are left out of the mean (0 if none is present).
    * ``classes`` selects channels; ``class_weights`` (length C) gives ``sum(w*l)/sum(w)``.
    * ``reduction``: ``"mean"`` -> 0-d, ``"sum"`` -> 0-d (weighted sum), ``"none"`` ->
      the per-class losses, shape (len(classes),) or (N, len(classes)).
    * ``gamma`` (focal Tversky): the reduced value is raised to ``gamma``; with
      ``reduction="none"`` each element is.
    """
    num_classes = loss.shape[-1]
    dev = device_of(loss)
    present_f = xp.astype(present, loss.dtype)
    loss = loss * present_f
    weights = None
    if class_weights is not None:
        check_class_weights_length(class_weights, num_classes)
        weights = xp.asarray(class_weights, dtype=loss.dtype, device=dev)
    if classes is not None:
        if max(classes) >= num_classes:
            raise ValueError(
                f"classes must be class indices in [0, {num_classes}); got {list(classes)}"
            )
        idx = xp.asarray(classes, dtype=index_dtype(xp, dev), device=dev)
        loss = xp.take(loss, idx, axis=-1)
        present_f = xp.take(present_f, idx, axis=-1)
        if weights is not None:
            weights = xp.take(weights, idx, axis=0)
    if weights is not None and not any(
        class_weights[c] > 0 for c in (classes if classes is not None else range(num_classes))
    ):
        raise ValueError("class_weights of the selected classes must not all be zero")

    if reduction == "none":
        return loss**gamma if gamma != 1.0 else loss
    w = xp.ones_like(loss) if weights is None else xp.broadcast_to(weights, loss.shape)
    if empty == "exclude":
        w = w * present_f
    if reduction == "sum":
        out = xp.sum(loss * w) if (weights is not None or empty == "exclude") else xp.sum(loss)
    elif weights is None and empty == "zero" and loss.shape[0] > 0:
        out = xp.mean(loss)
    else:
        out = safe_divide(xp, xp.sum(loss * w), xp.sum(w))
    return out**gamma if gamma != 1.0 else out
