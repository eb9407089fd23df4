"""torch fast path of the overlap losses (Jaccard, Dice, Tversky): one routed call from
``(y_pred, y_true)`` to the loss, with the fewest torch operations and little Python.

The generic pipeline (`anyiou.losses._overlap`) goes through the array-API namespace
for every step; on small inputs, and on a GPU where the kernels run asynchronously, its
Python and dispatch cost is the whole cost of a call. This layer of the router (over
`_torch`) computes the same values with the same torch kernels (`SoftmaxLabelStats`,
`SigmoidDenseStats`, applied without ``Function.apply``'s per-call signature binding)
and the (N, C) epilogue written as the generic one's operations, in the same order.

It serves only the usual case and answers ``None`` for anything else, which the caller
then computes with the generic pipeline (that also raises the errors): probabilities
(``from_logits=False``), ``eps <= 0``, focal ``gamma != 1``, a class axis other than 1,
empty inputs, unusual dtypes, shapes or devices that the checks would refuse, labels or
targets out of range (checked on eager CPU tensors with one ``aminmax``), and every
traced or transformed call (``torch.compile``, ``torch.jit.trace``, ``torch.func``,
tensor subclasses): those take the generic path as before.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any, NamedTuple

import torch
from torch.autograd import forward_ad as _forward_ad

from . import _torch

__all__ = ["overlap_loss"]

# ``Function.apply`` binds the arguments to ``forward``'s signature (``inspect``) on
# every call before the C apply; outside functorch transforms the C apply is the same
# call (`_plain` checks that none is active).
_apply_softmax = super(torch.autograd.Function, _torch.SoftmaxLabelStats).apply
_apply_sigmoid = super(torch.autograd.Function, _torch.SigmoidDenseStats).apply

_PLAIN = (torch.Tensor, torch.nn.Parameter)
_LABEL_DTYPES = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)
_TARGET_INTS = (*_LABEL_DTYPES, torch.bool)
_FLOATS = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
_BATCHED = torch._C.DispatchKey.FuncTorchBatched

#: class weights and class indices as tensors, per (values, device, dtype)
_constants: dict[tuple, Any] = {}


def _plain(*tensors: Any) -> bool:
    """Eager, untraced, untransformed plain tensors (see `_torch.values_checkable`)."""
    if torch.compiler.is_compiling() or torch.jit.is_tracing():
        return False
    if torch._C._are_functorch_transforms_active():
        return False
    for t in tensors:
        if type(t) not in _PLAIN or torch._C._functorch.is_functorch_wrapped_tensor(t):
            return False
        if torch._C._dispatch_keys(t).has(_BATCHED):  # the legacy vmap
            return False
    return True


def _constant(values: tuple, device: Any, dtype: Any) -> Any:
    key = (values, device, dtype)
    out = _constants.get(key)
    if out is None:
        if len(_constants) > 64:
            _constants.clear()
        out = _constants[key] = torch.tensor(values, dtype=dtype, device=device)
    return out


def _ignored(t: Any, ignore_index: int | None) -> Any | None:
    """`_values.ignore_mask` of integer, bool or float ``t`` (by value, never wrapped)."""
    if ignore_index is None:
        return None
    dtype = t.dtype
    if dtype == torch.bool:
        if ignore_index not in (0, 1):
            return None
        return t if ignore_index == 1 else ~t
    if dtype.is_floating_point:
        held = float(torch.tensor(float(ignore_index), dtype=dtype))
        return t == float(ignore_index) if held == ignore_index else None
    info = torch.iinfo(dtype)
    if not info.min <= ignore_index <= info.max:
        return None
    return t == ignore_index


def overlap_loss(loss: Any, y_pred: Any, y_true: Any) -> Any | None:
    """The value of ``loss(y_pred, y_true)`` for an `OverlapLoss` ``loss``, or None
    where this path does not serve the call (see the module docstring)."""
    if (
        not loss.from_logits or loss.eps <= 0 or loss.gamma != 1.0 or loss.class_axis != 1
        or type(y_true) not in _PLAIN or y_pred.dtype not in _FLOATS or y_pred.ndim < 2
        or y_pred.device != y_true.device or not _plain(y_pred, y_true)
    ):
        return None
    if y_pred.numel() == 0:
        return None
    if loss.mode == "multiclass":
        inputs = _multiclass(loss, y_pred, y_true)
    else:
        inputs = _dense(loss, y_pred, y_true)
    if inputs is None or not _fits(loss, inputs.x.shape[1]):
        return None
    x, t = inputs[0], inputs[1]
    if not (torch.is_grad_enabled() and (x.requires_grad or t.requires_grad)):
        with torch.no_grad():
            return _OverlapLoss.forward(None, x, t, loss, inputs)
    if loss.sync is not None or _forward_ad._current_level >= 0:
        # autograd through the statistics' Function and the epilogue's operations
        return _composed(loss, inputs)
    return _apply_loss(x, t, loss, inputs)


def _fits(loss: Any, num_classes: int) -> bool:
    """Whether ``classes`` and ``class_weights`` fit ``num_classes`` (else the generic
    path raises the error)."""
    classes, class_weights = loss.classes, loss.class_weights
    if classes is not None and max(classes) >= num_classes:
        return False
    if class_weights is None:
        return True
    if len(class_weights) != num_classes:
        return False
    return any(class_weights[k] > 0 for k in (classes or range(num_classes)))


class _Inputs(NamedTuple):
    """The prepared arguments of a statistics kernel: softmax (``safe``, ``binned``,
    ``valid``, ``target_sum`` set; ``t`` the labels) or sigmoid (``t`` the targets)."""

    x: Any  # (N, C, P) logits
    t: Any  # (N, P) labels or (N, C, P) targets
    acc: Any
    valid: Any | None  # the mask the kernel takes
    safe: Any = None
    binned: Any = None
    target_sum: Any = None
    hard: bool = False


def _multiclass(loss: Any, x: Any, raw: Any) -> _Inputs | None:
    """`_statistics._multiclass_statistics` of softmax logits (N, C, *S), up to the
    kernel: the labels, their masks and the target sums."""
    pshape, tshape = x.shape, raw.shape
    n, c = pshape[0], pshape[1]
    if raw.dtype not in _LABEL_DTYPES or not (
        tshape[1:] == pshape[2:] or (tshape[1:2] == (1,) and tshape[2:] == pshape[2:])
    ) or tshape[:1] != pshape[:1]:
        return None
    pixels = x.numel() // (n * c)
    x = x.reshape(n, c, pixels)
    raw = raw.reshape(n, pixels)
    ignore_index = loss.ignore_index
    ignored = _ignored(raw, ignore_index)
    labels = raw.to(torch.int64)
    in_range = False
    if labels.device.type == "cpu":  # values_checkable, given `_plain`
        lo, hi = (v.item() for v in torch.aminmax(labels))
        if lo >= 0 and hi < c:
            in_range = True
        else:
            bad = (labels < 0) | (labels >= c)
            if ignored is not None:
                bad &= ~ignored
            if bad.any():
                return None  # the generic path raises the error
    if in_range and ignored is None:
        valid = None
        binned = safe = labels
    else:
        valid = ~ignored if in_range else (labels >= 0) & (labels < c)
        if ignored is not None and not in_range:
            valid = valid & ~ignored
        binned = torch.where(valid, labels, c)
        safe = torch.where(valid, labels, 0)
    acc = torch.float64 if x.dtype == torch.float64 else torch.float32
    ones = torch.ones((1, 1), dtype=torch.int64, device=x.device).expand(n, pixels)
    counts = torch.zeros((n, c + 1), dtype=torch.int64, device=x.device)
    target_sum = counts.scatter_add_(1, binned, ones)[:, :c].to(acc)
    return _Inputs(x, labels, acc, valid if ignore_index is not None else None, safe,
                   binned, target_sum)


def _dense(loss: Any, x: Any, t: Any) -> _Inputs | None:
    """`_statistics._dense_statistics` of sigmoid logits, up to the kernel: binary
    (N, *S) or (N, 1, *S) against targets of that shape or without the channel;
    multilabel (N, C, *S) both."""
    pshape, tshape = x.shape, t.shape
    n = pshape[0]
    if loss.mode == "binary":
        if not (
            pshape == tshape
            or (pshape[1] == 1 and pshape[:1] + pshape[2:] == tshape)
            or (len(tshape) > 1 and tshape[1] == 1 and tshape[:1] + tshape[2:] == pshape)
        ):
            return None
        c = 1
    elif pshape != tshape:
        return None
    else:
        c = pshape[1]
    if t.dtype not in _TARGET_INTS and t.dtype not in _FLOATS:
        return None
    pixels = x.numel() // (n * c)
    x, t = x.reshape(n, c, pixels), t.reshape(n, c, pixels)
    checkable = t.device.type == "cpu"  # values_checkable, given `_plain`
    hard = checkable and not t.dtype.is_floating_point
    ignored = _ignored(t, loss.ignore_index)
    if checkable and t.dtype != torch.bool:
        lo, hi = (v.item() for v in torch.aminmax(t))
        if not (lo >= 0 and hi <= 1):  # also NaN
            if math.isnan(lo) or math.isnan(hi):
                return None  # the generic path raises the error
            bad = (t < 0) | (t > 1)
            if ignored is not None:
                bad &= ~ignored
            if bad.any():
                return None  # the generic path raises the error
    valid = None if ignored is None else ~ignored
    acc = torch.float64 if x.dtype == torch.float64 else torch.float32
    return _Inputs(x, t, acc, valid, hard=hard)


# -- the loss as one autograd Function --------------------------------------------------


def _statistics(inputs: _Inputs, x: Any, t: Any) -> tuple[Any, Any, Any, Any]:
    """``(I, Sp, St, p)`` by the kernels' forward (in place on their fresh ``p``)."""
    with _torch._no_autocast(x.device):
        if inputs.safe is not None:
            inter, pred_sum, p = _torch._softmax_forward(
                x, inputs.safe, inputs.binned, inputs.valid, inputs.acc, True
            )
            return inter, pred_sum, inputs.target_sum, p
        return _torch._sigmoid_forward(x, t, inputs.valid, inputs.hard, inputs.acc, True)


def _composed(loss: Any, inputs: _Inputs) -> Any:
    """The loss as the kernels' autograd Functions and the epilogue's operations
    (differentiable in every way the Functions are)."""
    x, t = inputs.x, inputs.t
    with _torch._no_autocast(x.device):
        if inputs.safe is not None:
            inter, pred_sum, _ = _apply_softmax(
                x, inputs.safe, inputs.binned, inputs.valid, inputs.acc
            )
            target_sum = inputs.target_sum
        else:
            inter, pred_sum, target_sum, _ = _apply_sigmoid(
                x, t, inputs.valid, inputs.hard, inputs.acc
            )
    return _epilogue(loss, inter, pred_sum, target_sum)


class _OverlapLoss(torch.autograd.Function):
    """The whole loss as one autograd node: the statistics kernel's forward, the
    epilogue without recording, and in the backward pass the epilogue's gradient
    (`_epilogue_grad`) fed to the kernel's own lean backward. With grad mode on in the
    backward pass (``create_graph=True``) it differentiates `_composed` instead."""

    @staticmethod
    def forward(ctx, x, t, loss, inputs):  # type: ignore[override]
        inter, pred_sum, target_sum, p = _statistics(inputs, x, t)
        reduced = _reduced(loss, inter, pred_sum, target_sum)
        if ctx is not None:
            ctx.save_for_backward(x, t)
            ctx.loss, ctx.inputs, ctx.reduced = loss, inputs, reduced
            ctx.shape, ctx.probs = inter.shape, p
        return _from_reduced(loss, *reduced)

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        x, t = ctx.saved_tensors
        loss, inputs = ctx.loss, ctx.inputs
        need_t = ctx.needs_input_grad[1]
        if torch.is_grad_enabled():  # create_graph=True: a differentiable gradient
            wrt = (x, t) if need_t else (x,)
            grads = torch.autograd.grad(
                _composed(loss, inputs._replace(x=x, t=t)), wrt, g, create_graph=True,
                allow_unused=True,
            )
            return grads[0], grads[1] if need_t else None, None, None
        n, c = ctx.shape
        g_inter, g_pred, g_target = _epilogue_grad(loss, *ctx.reduced, g)
        if not loss.per_image:  # the batch sums: every sample gets the class's gradient
            g_inter, g_pred = g_inter.expand(n, c), g_pred.expand(n, c)
            g_target = g_target.expand(n, c)
        kernel_ctx = SimpleNamespace(acc=inputs.acc, probs=ctx.probs, hard=inputs.hard,
                                     needs_input_grad=(True, need_t, False, False, False))
        ctx.probs = None  # a second backward (retain_graph=True) recomputes it
        if inputs.safe is not None:
            kernel_ctx.saved_tensors = (x, inputs.safe, inputs.binned, inputs.valid)
            grad_x = _torch.SoftmaxLabelStats.backward(kernel_ctx, g_inter, g_pred, None)[0]
            return grad_x, None, None, None
        kernel_ctx.saved_tensors = (x, t, inputs.valid)
        grads = _torch.SigmoidDenseStats.backward(kernel_ctx, g_inter, g_pred, g_target, None)
        return grads[0], grads[1], None, None


_apply_loss = super(torch.autograd.Function, _OverlapLoss).apply


# -- the (N, C) epilogue and its gradient ------------------------------------------------


def _reduced(loss: Any, inter: Any, pred_sum: Any, target_sum: Any) -> tuple[Any, Any, Any]:
    """The statistics the score takes: summed over the batch unless ``per_image``."""
    if loss.per_image:
        return inter, pred_sum, target_sum
    stacked = torch.stack([inter, pred_sum, target_sum]).sum(dim=1)  # (3, C)
    if loss.sync is not None:
        stacked = loss.sync(stacked)
    return stacked[0], stacked[1], stacked[2]


def _score_parts(loss: Any, inter: Any, pred_sum: Any, target_sum: Any) -> tuple[Any, Any]:
    """The Tversky score's numerator and unclamped denominator (`tversky_score`)."""
    alpha, beta, smooth = loss.alpha, loss.beta, loss.smooth
    fp, fn = pred_sum - inter, target_sum - inter
    den = inter + (fp if alpha == 1.0 else alpha * fp) + (fn if beta == 1.0 else beta * fn)
    if smooth:
        return inter + smooth, den + smooth
    return inter, den


def _selection(loss: Any, num_classes: int, dev: Any, dtype: Any) -> tuple[Any, Any]:
    """The class index tensor (None: all classes) and the selected classes' weights
    (None: unweighted), as `reduce_class_losses` takes them (checked at construction
    and, against the number of classes, before the call)."""
    classes, class_weights = loss.classes, loss.class_weights
    idx = None if classes is None else _constant(classes, dev, torch.int64)
    if class_weights is None:
        return idx, None
    chosen = classes if classes is not None else range(num_classes)
    return idx, _constant(tuple(class_weights[k] for k in chosen), dev, dtype)


def _epilogue(loss: Any, inter: Any, pred_sum: Any, target_sum: Any) -> Any:
    """`OverlapLoss.loss_from_statistics` and `reduce_class_losses`, in their order."""
    return _from_reduced(loss, *_reduced(loss, inter, pred_sum, target_sum))


def _from_reduced(loss: Any, inter: Any, pred_sum: Any, target_sum: Any) -> Any:
    """`_epilogue` after the batch sum (`_reduced`)."""
    num, den = _score_parts(loss, inter, pred_sum, target_sum)
    score = num / torch.clamp(den, min=loss.eps)
    if loss.log_loss:
        per_class = -torch.log(torch.clamp(score, min=loss.eps))
    else:
        per_class = 1.0 - score
    present = (target_sum > 0).to(per_class.dtype)
    per_class = per_class * present
    idx, weights = _selection(loss, per_class.shape[-1], per_class.device, per_class.dtype)
    if idx is not None:
        per_class = per_class.index_select(-1, idx)
        present = present.index_select(-1, idx)
    reduction, exclude = loss.reduction, loss.empty == "exclude"
    if reduction == "none":
        return per_class
    if weights is None and not exclude:
        return per_class.sum() if reduction == "sum" else per_class.mean()
    w = torch.ones_like(per_class) if weights is None else weights.expand(per_class.shape)
    if exclude:
        w = w * present
    if reduction == "sum":
        return (per_class * w).sum()
    total, wsum = (per_class * w).sum(), w.sum()
    ok = wsum != 0
    return torch.where(ok, total / torch.where(ok, wsum, 1.0), 0.0)


def _epilogue_grad(loss: Any, inter: Any, pred_sum: Any, target_sum: Any,
                   g: Any) -> tuple[Any, Any, Any]:
    """The gradient of `_from_reduced` (no ``sync``) with respect to its statistics
    (`_reduced`), given the output's gradient ``g``: (C,) each without ``per_image``
    (the batch sum's gradient is their broadcast), (N, C) with it."""
    num, den = _score_parts(loss, inter, pred_sum, target_sum)
    clamped = torch.clamp(den, min=loss.eps)
    present = (target_sum > 0).to(inter.dtype)
    shape, num_classes = inter.shape, inter.shape[-1]
    idx, weights = _selection(loss, num_classes, inter.device, inter.dtype)
    picked = present if idx is None else present.index_select(-1, idx)
    reduction, exclude = loss.reduction, loss.empty == "exclude"
    if reduction == "none":
        g_sel = g
    elif weights is None and not exclude:
        g_sel = (g if reduction == "sum" else g / picked.numel()).expand(picked.shape)
    else:
        w = torch.ones_like(picked) if weights is None else weights.expand(picked.shape)
        if exclude:
            w = w * picked
        if reduction == "sum":
            g_sel = g * w
        else:
            wsum = w.sum()
            ok = wsum != 0
            g_sel = torch.where(ok, g / torch.where(ok, wsum, 1.0), 0.0) * w
    if idx is None:
        g_loss = g_sel * present
    else:
        g_loss = torch.zeros(shape, dtype=inter.dtype, device=inter.device)
        g_loss = g_loss.index_add_(-1, idx, g_sel) * present
    if loss.log_loss:  # d(-log(max(s, eps)))/ds = -1/s where s >= eps
        score = num / clamped
        g_score = torch.where(score >= loss.eps, -g_loss / torch.clamp(score, min=loss.eps),
                              0.0)
    else:
        g_score = -g_loss
    g_num = g_score / clamped
    g_den = torch.where(den >= loss.eps, -g_score * num / (clamped * clamped), 0.0)
    alpha, beta = loss.alpha, loss.beta
    g_inter = g_num + g_den * (1.0 - alpha - beta)
    return g_inter, g_den * alpha, g_den * beta
