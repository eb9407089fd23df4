"""torch fast path of the overlap losses (Jaccard, Dice, Tversky): one routed call from
``(y_pred, y_true)`` to the loss, with the fewest torch operations and little Python.

The generic pipeline (`anyiou.losses._overlap`) goes through the array-API namespace
for every step and records a dozen small autograd operations for the (N, C) epilogue;
on small inputs, and on a GPU where the kernels run asynchronously, that Python and
dispatch cost is the whole cost of a call. Here the loss is one autograd node
(`_OverlapLoss`): the statistics' forward pass (`_torch_batch`'s whole-batch kernels for
inputs of at most one CPU chunk, `_torch`'s per-sample kernels above), the epilogue
unrecorded (`_torch_epilogue`), and in the backward pass the epilogue's gradient by
hand handed to the statistics' lean backward pass. The same values and gradients as the
generic path, up to the order of float32 sums.

It serves only the usual case and answers ``None`` for anything else, which the caller
then computes with the generic pipeline (that also raises the errors): options outside
`_allowed.TORCH` (an allow-list: an option it does not know, or a value outside it,
declines the call), such as probabilities (``from_logits=False``), ``eps <= 0``, focal
``gamma != 1``, a class axis other than 1, sums of squares (``squared_pred``), separate
``smooth_nr``/``smooth_dr`` or ``empty="keep"``; empty inputs, unusual dtypes, shapes
or devices that the checks would refuse, labels or targets out of range (checked on
eager CPU tensors with one ``aminmax``), and every traced or transformed call
(``torch.compile``, ``torch.jit.trace``, ``torch.func``,
tensor subclasses): those take the generic path as before. With ``sync`` or under
forward-mode AD the loss is composed of the kernels' autograd Functions and the
epilogue's operations (`_composed`); a backward pass with ``create_graph=True`` or a
batched incoming gradient differentiates that composition.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any, NamedTuple

import torch
from torch.autograd import forward_ad as _forward_ad

from . import _allowed, _chunks, _torch, _torch_sigmoid
from . import _torch_batch as _batch
from . import _torch_epilogue as _epilogue
from . import _torch_host as _host

__all__ = ["overlap_loss"]

# ``Function.apply`` binds the arguments to ``forward``'s signature (``inspect``) on
# every call before the C apply; outside functorch transforms the C apply is the same
# call (`_plain` checks that none is active).
_apply_softmax = super(torch.autograd.Function, _torch.SoftmaxLabelStats).apply
_apply_sigmoid = super(torch.autograd.Function, _torch_sigmoid.SigmoidDenseStats).apply

_PLAIN = (torch.Tensor, torch.nn.Parameter)
_LABEL_DTYPES = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)
_TARGET_INTS = (*_LABEL_DTYPES, torch.bool)
_FLOATS = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def _plain(x: Any, *others: Any) -> bool:
    """Eager, untraced, untransformed plain tensors (see `_torch.values_checkable`);
    ``x`` may also not be a batched tensor of the legacy vmap (gradcheck's batched
    gradients)."""
    # `torch._C._is_tracing` is `torch.jit.is_tracing` outside TorchScript
    if torch.compiler.is_compiling() or torch._C._is_tracing():
        return False
    if torch._C._are_functorch_transforms_active():
        return False
    for t in (x, *others):
        if type(t) not in _PLAIN or torch._C._functorch.is_functorch_wrapped_tensor(t):
            return False
    return not torch._C._functorch.is_legacy_batchedtensor(x)


def _ignored(t: Any, ignore_index: int | tuple[int, ...] | None) -> Any | None:
    """`_values.ignore_mask` of integer, bool or float ``t`` (by value, never wrapped);
    several values: the ``|`` of one comparison each."""
    if ignore_index is None:
        return None
    if isinstance(ignore_index, tuple):
        mask = None
        for one in (_ignored(t, v) for v in ignore_index):
            if one is not None:
                mask = one if mask is None else mask | one
        return mask
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
        type(y_true) not in _PLAIN or y_pred.dtype not in _FLOATS or y_pred.ndim < 2
        or y_pred.device != y_true.device or not _plain(y_pred, y_true)
        # the options it computes (an allow-list); after `_plain`, which declines while
        # dynamo traces: traced, the gate's memo would be guarded entry by entry
        or not _allowed.TORCH_GATE(loss)
    ):
        return None
    if y_pred.numel() == 0:
        return None
    if loss.sync is None and _forward_ad._current_level < 0 and _host.serves(loss, y_pred,
                                                                               y_true):
        return _host_loss(loss, y_pred, y_true)
    if loss.mode == "multiclass":
        inputs = _multiclass(loss, y_pred, y_true)
    else:
        inputs = _dense(loss, y_pred, y_true)
    if inputs is None or not _fits(loss, inputs.x.shape[1]):
        return None
    x, t = inputs[0], inputs[1]
    if loss.sync is not None or _forward_ad._current_level >= 0:
        # autograd through the statistics' Functions and the epilogue's operations
        return _composed(loss, inputs)
    if not (torch.is_grad_enabled() and (x.requires_grad or t.requires_grad)):
        return _OverlapLoss.forward(None, x, t, loss, inputs)
    return _apply_loss(x, t, loss, inputs)


def _host_loss(loss: Any, y_pred: Any, y_true: Any) -> Any | None:
    """`overlap_loss` by the host lane (`_torch_host`): the loss and its gradient from
    the detached logits, and one autograd node on ``y_pred`` that returns them."""
    c = _classes(loss, y_pred.shape, y_true)
    if c is None or not _fits(loss, c):
        return None
    keep = torch.is_grad_enabled() and y_pred.requires_grad
    done = _host.forward(loss, y_pred.detach(), y_true, c, keep)
    if done is None or not keep:  # None: values out of range (the generic path raises)
        return None if done is None else done.out
    return _apply_loss(y_pred, y_true, loss, done)


def _classes(loss: Any, pshape: Any, t: Any) -> int | None:
    """The classes C of the logits' shape ``pshape`` (1 in binary mode) where the
    targets ``t`` have a shape and dtype this path takes, else None: labels (N, *S) or
    (N, 1, *S) of an integer dtype (multiclass); targets of the logits' shape, or
    without its channel of 1 in binary mode, integer, bool or float."""
    tshape = t.shape
    if loss.mode == "multiclass":
        if t.dtype not in _LABEL_DTYPES or tshape[:1] != pshape[:1] or not (
            tshape[1:] == pshape[2:] or (tshape[1:2] == (1,) and tshape[2:] == pshape[2:])
        ):
            return None
        return pshape[1]
    if t.dtype not in _TARGET_INTS and t.dtype not in _FLOATS:
        return None
    if loss.mode == "binary":
        if (pshape == tshape or (pshape[1] == 1 and pshape[:1] + pshape[2:] == tshape)
                or (len(tshape) > 1 and tshape[1] == 1 and tshape[:1] + tshape[2:] == pshape)):
            return 1
        return None
    return pshape[1] if pshape == tshape else None


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


def _values(ignore_index: int | tuple[int, ...] | None) -> tuple[int, ...]:
    """The ignored values as a tuple (none: empty); `_options.ignore_values`, which the
    kernel layer may not import."""
    if ignore_index is None:
        return ()
    return ignore_index if isinstance(ignore_index, tuple) else (ignore_index,)


class _Inputs(NamedTuple):
    """The prepared arguments of a statistics kernel: softmax (``safe`` and ``binned``
    set; ``t`` the labels) or sigmoid (``t`` the targets)."""

    x: Any  # (N, C, P) logits
    t: Any  # (N, P) labels or (N, C, P) targets
    acc: Any
    valid: Any | None  # the mask the kernel takes
    safe: Any = None
    binned: Any = None
    hard: bool = False


def _multiclass(loss: Any, x: Any, raw: Any) -> _Inputs | None:
    """`_statistics._multiclass_statistics` of softmax logits (N, C, *S), up to the
    kernel: the labels and their masks."""
    c = _classes(loss, x.shape, raw)
    if c is None:
        return None
    n = x.shape[0]
    pixels = x.numel() // (n * c)
    x = x.reshape(n, c, pixels)
    raw = raw.reshape(n, pixels)
    ignore_index = loss.ignore_index
    ignored = _ignored(raw, ignore_index)
    labels = raw.to(torch.int64)
    in_range = inside = None
    if not _torch._accelerator(labels):  # values_checkable, given `_plain`
        lo, hi = (v.item() for v in torch.aminmax(labels))
        in_range = lo >= 0 and hi < c
        if not in_range:
            inside = labels < c if lo >= 0 else (labels >= 0) & (labels < c)
            if not bool((inside if ignored is None else inside | ignored).all()):
                return None  # the generic path raises the error
    if in_range and ignored is None:
        valid = None
        binned = safe = labels
    elif inside is not None and lo >= 0 and not any(0 <= v < c for v in _values(ignore_index)):
        # every label outside [0, C) is an ignored one above C - 1 (a void label such
        # as 255): two clamps instead of the masks' selections (``safe`` may be any
        # class where nothing counts: p is 0 there and the label term adds 0)
        valid, binned, safe = inside, labels.clamp(max=c), labels.clamp(max=c - 1)
    else:
        valid = ~ignored if in_range else (labels >= 0) & (labels < c)
        if ignored is not None and not in_range:
            valid = valid & ~ignored
        binned = torch.where(valid, labels, c)
        safe = torch.where(valid, labels, 0)
    acc = torch.float64 if x.dtype == torch.float64 else torch.float32
    return _Inputs(x, labels, acc, valid if ignore_index is not None else None, safe,
                   binned)


def _dense(loss: Any, x: Any, t: Any) -> _Inputs | None:
    """`_statistics._dense_statistics` of sigmoid logits, up to the kernel: binary
    (N, *S) or (N, 1, *S) against targets of that shape or without the channel;
    multilabel (N, C, *S) both."""
    c = _classes(loss, x.shape, t)
    if c is None:
        return None
    n = x.shape[0]
    pixels = x.numel() // (n * c)
    x, t = x.reshape(n, c, pixels), t.reshape(n, c, pixels)
    checkable = not _torch._accelerator(t)  # values_checkable, given `_plain`
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


def _small(inputs: _Inputs) -> bool:
    """Whole-batch statistics (`_torch_batch`) for inputs no larger than one of
    `_torch`'s per-sample blocks; the per-sample kernels of `_torch` above that."""
    return inputs.x.numel() <= _chunks.CHUNK_ELEMENTS


def _statistics(loss: Any, inputs: _Inputs, x: Any, t: Any) -> tuple[Any, Any, Any, Any, Any]:
    """``(I, Sp, St, p, aux)`` after the batch sum (`_torch_epilogue.reduced`), by the
    kernels' forward passes (in place on their fresh ``p``); ``aux`` is what the
    gradients take besides ``p``: the whole-batch kernels' (`_small` inputs), ``p`` at
    the labels for `_torch`'s softmax kernel, None for `_torch_sigmoid`'s kernel."""
    per_image = loss.per_image
    with _torch._no_autocast(x.device):
        if _small(inputs):
            if inputs.safe is not None:
                return _batch.softmax_stats(x, inputs.safe, inputs.binned, inputs.valid,
                                            inputs.acc, per_image)
            return _batch.sigmoid_stats(x, t, inputs.valid, inputs.hard, inputs.acc,
                                        per_image)
        if inputs.safe is not None:
            inter, pred_sum, p, p_true = _torch._softmax_forward(
                x, inputs.safe, inputs.binned, inputs.valid, inputs.acc, True
            )
            target_sum = _label_counts(inputs)
            return (*_epilogue.reduced(loss, inter, pred_sum, target_sum), p, p_true)
        else:
            inter, pred_sum, target_sum, p = _torch_sigmoid._sigmoid_forward(
                x, t, inputs.valid, inputs.hard, inputs.acc, True
            )
    return (*_epilogue.reduced(loss, inter, pred_sum, target_sum), p, None)


def _label_counts(inputs: _Inputs) -> Any:
    """(N, C) target sums of the labels (``binned``: C counts nothing)."""
    binned = inputs.binned
    n, c, pixels = inputs.x.shape
    ones = torch.ones((1, 1), dtype=torch.int64, device=binned.device).expand(n, pixels)
    counts = torch.zeros((n, c + 1), dtype=torch.int64, device=binned.device)
    return counts.scatter_add_(1, binned, ones)[:, :c].to(inputs.acc)


def _composed(loss: Any, inputs: _Inputs) -> Any:
    """The loss as the kernels' autograd Functions and the epilogue's operations
    (differentiable in every way the Functions are: ``sync``, forward mode, a
    differentiable backward pass)."""
    x, t = inputs.x, inputs.t
    with _torch._no_autocast(x.device):
        if inputs.safe is not None:
            inter, pred_sum, *_ = _apply_softmax(
                x, inputs.safe, inputs.binned, inputs.valid, inputs.acc
            )
            target_sum = _label_counts(inputs)
        else:
            inter, pred_sum, target_sum, _ = _apply_sigmoid(
                x, t, inputs.valid, inputs.hard, inputs.acc
            )
    return _epilogue.epilogue(loss, inter, pred_sum, target_sum)


class _OverlapLoss(torch.autograd.Function):
    """The whole loss as one autograd node: the statistics' forward pass, the epilogue
    without recording, and in the backward pass the epilogue's gradient
    (`_torch_epilogue.epilogue_grad`) fed to the statistics' lean backward pass. With
    grad mode on in the backward pass (``create_graph=True``), or a batched incoming
    gradient, it differentiates `_composed` instead."""

    @staticmethod
    def forward(ctx, x, t, loss, inputs):  # type: ignore[override]
        if type(inputs) is _host.Done:  # `_host_loss`: computed; x, t are as given
            ctx.save_for_backward(x, t)
            ctx.loss, ctx.inputs, ctx.host, ctx.unit = loss, None, inputs.state, inputs.unit
            return inputs.out
        inter, pred_sum, target_sum, p, aux = _statistics(loss, inputs, x, t)
        out, parts = _epilogue.from_reduced(loss, inter, pred_sum, target_sum)
        if ctx is not None:
            ctx.save_for_backward(x, t)
            ctx.loss, ctx.inputs, ctx.parts, ctx.buffers = loss, inputs, parts, (p, aux)
            ctx.host = None
        return out

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        host = ctx.host
        if host is not None and not torch.is_grad_enabled() and _plain(g):
            unit, ctx.unit = ctx.unit, None  # handed over: used by one backward pass
            return _host.backward(ctx.loss, host, g, unit), None, None, None
        x, t = ctx.saved_tensors
        loss, inputs = ctx.loss, ctx.inputs
        if inputs is None:  # the host lane's node: the kernels' inputs of the same values
            inputs = (_multiclass if loss.mode == "multiclass" else _dense)(
                loss, x.detach(), t)
            t = inputs.t
        need_t = ctx.needs_input_grad[1]
        differentiable = torch.is_grad_enabled()  # create_graph=True
        if differentiable or not _plain(g):  # or a batched gradient (gradcheck's vmap)
            wrt = (x, t) if need_t else (x,)
            with torch.enable_grad():
                flat = x if x.shape == inputs.x.shape else x.reshape(inputs.x.shape)
                out = _composed(loss, inputs._replace(x=flat, t=t))
            grads = torch.autograd.grad(out, wrt, g, create_graph=differentiable,
                                        allow_unused=True)
            return grads[0], grads[1] if need_t else None, None, None
        g_inter, g_pred, g_target = _epilogue.epilogue_grad(loss, ctx.parts, g, need_t)
        p, aux = ctx.buffers
        ctx.buffers = None, None  # consumed below
        if p is None:  # a second backward pass (retain_graph=True): recompute them
            p, aux = _statistics(loss, inputs, x.detach(), t.detach())[3:]
        if _small(inputs):  # the whole-batch statistics
            if inputs.safe is not None:
                grad = _batch.softmax_grad(p, aux, inputs.safe, inputs.binned, inputs.valid,
                                           g_inter, g_pred)
                return grad.to(x.dtype), None, None, None
            grad, grad_t = _batch.sigmoid_grad(p, aux, t, inputs.valid, inputs.hard,
                                               g_inter, g_pred, g_target)
            return grad.to(x.dtype), grad_t, None, None
        if not loss.per_image:  # the batch sums: every sample gets the class's gradient
            n, c = x.shape[0], g_inter.shape[0]
            g_inter, g_pred = g_inter.expand(n, c), g_pred.expand(n, c)
            g_target = None if g_target is None else g_target.expand(n, c)
        kernel_ctx = SimpleNamespace(acc=inputs.acc, probs=p, true=aux, hard=inputs.hard,
                                     needs_input_grad=(True, need_t, False, False, False))
        if inputs.safe is not None:
            kernel_ctx.saved_tensors = (x, inputs.safe, inputs.binned, inputs.valid)
            grad_x = _torch.SoftmaxLabelStats.backward(kernel_ctx, g_inter, g_pred, None,
                                                      None)[0]
            return grad_x, None, None, None
        kernel_ctx.saved_tensors = (x, t, inputs.valid)
        grads = _torch_sigmoid.SigmoidDenseStats.backward(kernel_ctx, g_inter, g_pred, g_target,
                                                          None)
        return grads[0], grads[1], None, None


_apply_loss = super(torch.autograd.Function, _OverlapLoss).apply
