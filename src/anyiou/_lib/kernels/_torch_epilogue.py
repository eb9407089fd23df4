"""The (C,) or (N, C) epilogue of the torch fast path (`_torch_overlap`) and its
gradient by hand: batch sums -> Tversky score -> per-class loss -> empty rule, classes,
class weights, reduction, written as the operations of `OverlapLoss.loss_from_statistics`
and `reduce_class_losses` in their order (``eps > 0`` and ``gamma = 1``: the fast path
serves nothing else).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

__all__ = ["Parts", "epilogue", "epilogue_grad", "from_reduced", "reduced"]

#: class weights and class indices as tensors, per (values, device, dtype, shape): the
#: torch modules' one cache of small constant tensors (at most 65 entries)
_constants: dict[tuple, Any] = {}


def _constant(values: tuple, device: Any, dtype: Any, shape: tuple | None = None) -> Any:
    """``torch.tensor(values)`` on ``device`` as ``dtype`` (viewed as ``shape``), made
    once per key."""
    key = (values, device, dtype, shape)
    out = _constants.get(key)
    if out is None:
        if len(_constants) > 64:
            _constants.clear()
        out = torch.tensor(values, dtype=dtype, device=device)
        out = _constants[key] = out if shape is None else out.view(shape)
    return out


class Parts(NamedTuple):
    """What the gradient reuses of the forward pass (each (C,) or (N, C))."""

    num: Any  # the score's numerator
    den: Any  # its denominator before the clamp at eps
    clamped: Any  # after it
    score: Any
    present: Any  # where the class has target pixels (bool)


def reduced(loss: Any, inter: Any, pred_sum: Any, target_sum: Any) -> tuple[Any, Any, Any]:
    """The statistics the score takes: (N, C) summed over the batch unless
    ``per_image`` (then also through ``sync``)."""
    if loss.per_image:
        return inter, pred_sum, target_sum
    stacked = torch.stack([inter, pred_sum, target_sum]).sum(dim=1)  # (3, C)
    if loss.sync is not None:
        stacked = loss.sync(stacked)
    return stacked[0], stacked[1], stacked[2]


def _selection(loss: Any, num_classes: int, dev: Any, dtype: Any) -> tuple[Any, Any]:
    """The class index tensor (None: all classes) and the selected classes' weights
    (None: unweighted), checked against the number of classes by the caller."""
    classes, class_weights = loss.classes, loss.class_weights
    idx = None if classes is None else _constant(classes, dev, torch.int64)
    if class_weights is None:
        return idx, None
    chosen = classes if classes is not None else range(num_classes)
    return idx, _constant(tuple(class_weights[k] for k in chosen), dev, dtype)


def epilogue(loss: Any, inter: Any, pred_sum: Any, target_sum: Any) -> Any:
    """The loss from (N, C) statistics (differentiable torch operations)."""
    return from_reduced(loss, *reduced(loss, inter, pred_sum, target_sum))[0]


def from_reduced(loss: Any, inter: Any, pred_sum: Any, target_sum: Any) -> tuple[Any, Parts]:
    """The loss from the statistics after the batch sum (`reduced`), and the `Parts`
    its gradient reuses."""
    alpha, beta, smooth = loss.alpha, loss.beta, loss.smooth
    # I + alpha FP + beta FN = alpha Sp + beta St + (1 - alpha - beta) I
    k = 1.0 - alpha - beta
    if alpha == beta:
        den = torch.add(pred_sum, target_sum)
        if alpha != 1.0:
            den = den.mul_(alpha)
    else:
        den = torch.add(pred_sum * alpha, target_sum, alpha=beta)
    if k:
        den = den.sub_(inter) if k == -1.0 else den.add_(inter, alpha=k)
    num = inter
    if smooth:
        num, den = inter + smooth, den.add_(smooth)
    clamped = torch.clamp(den, min=loss.eps)
    score = num / clamped
    if loss.log_loss:
        per_class = -torch.log(torch.clamp(score, min=loss.eps))
    else:
        per_class = 1.0 - score
    present = target_sum > 0
    parts = Parts(num, den, clamped, score, present)
    per_class = per_class * present
    idx, weights = _selection(loss, per_class.shape[-1], per_class.device, per_class.dtype)
    if idx is not None:
        per_class = per_class.index_select(-1, idx)
        present = present.index_select(-1, idx)
    reduction, exclude = loss.reduction, loss.empty == "exclude"
    if reduction == "none":
        return per_class, parts
    if weights is None and not exclude:
        return (per_class.sum() if reduction == "sum" else per_class.mean()), parts
    w = torch.ones_like(per_class) if weights is None else weights.expand(per_class.shape)
    if exclude:
        w = w * present
    if reduction == "sum":
        return (per_class * w).sum(), parts
    total, wsum = (per_class * w).sum(), w.sum()
    ok = wsum != 0
    return torch.where(ok, total / torch.where(ok, wsum, 1.0), 0.0), parts


def epilogue_grad(loss: Any, parts: Parts, g: Any, need_target: bool) -> tuple[Any, Any, Any]:
    """The gradient of `from_reduced` (no ``sync``) with respect to its statistics
    ``(I, Sp, St)``, given the output's gradient ``g`` (``St``'s is None unless
    ``need_target``)."""
    num, den, clamped, score, present = parts
    idx, weights = _selection(loss, present.shape[-1], num.device, num.dtype)
    picked = present if idx is None else present.index_select(-1, idx)
    reduction, exclude = loss.reduction, loss.empty == "exclude"
    if reduction == "none":
        g_sel = g
    elif weights is None and not exclude:
        g_sel = g if reduction == "sum" else g / picked.numel()
    else:
        w = (torch.ones_like(picked, dtype=num.dtype) if weights is None
             else weights.expand(picked.shape))
        if exclude:
            w = w * picked
        if reduction == "sum":
            g_sel = g * w
        else:
            wsum = w.sum()
            ok = wsum != 0
            g_sel = torch.where(ok, g / torch.where(ok, wsum, 1.0), 0.0) * w
    if idx is None:
        g_loss = present * g_sel
    else:
        g_sel = g_sel.expand(picked.shape)
        g_loss = torch.zeros_like(present, dtype=num.dtype).index_add_(-1, idx, g_sel)
        g_loss = g_loss.mul_(present)
    if loss.log_loss:  # d(-log(max(s, eps)))/ds = -1/s where s >= eps
        g_loss = torch.where(score >= loss.eps, g_loss / torch.clamp(score, min=loss.eps),
                             0.0)
    # With q = -dL/dnum: dL/dden = q * score where den >= eps (the clamp's rule), and
    # dnum/dI = 1, dden/dI = 1 - alpha - beta, dden/dSp = alpha, dden/dSt = beta.
    q = g_loss / clamped
    g_den = (q * score).mul_(den >= loss.eps)
    alpha, beta = loss.alpha, loss.beta
    k = 1.0 - alpha - beta
    if k == 0:
        g_inter = q.neg()
    elif k == -1.0:
        g_inter = torch.add(q, g_den).neg_()
    else:
        g_inter = torch.sub(g_den * k, q)
    g_pred = g_den if alpha == 1.0 else g_den * alpha
    g_target = None
    if need_target:
        g_target = g_den if beta == 1.0 else g_den * beta
    return g_inter, g_pred, g_target
