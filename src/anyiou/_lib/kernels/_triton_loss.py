"""The whole overlap loss on the fused Triton layer (opt-in with `_triton`): three
launches for one forward + backward pass.

1. the statistics kernel (`_triton.softmax_partials` or `sigmoid_partials`) reads the
   logits and the raw labels or targets (any integer, bool or float dtype, any strides)
   and writes per-program partial sums of ``I``, ``Sp`` and ``St``; the valid mask
   (``ignore_index``, labels outside ``[0, C)``) is applied inside it, so no label
   preparation runs;
2. `_loss_tail_kernel`, one program, adds the partials (per sample or over the batch)
   and computes the Tversky score, the per-class loss (``log_loss``), the empty rule
   (``"keep"`` included), the class selection and weights, the reduction and
   ``gamma``: it writes the loss and the gradient of the loss with respect to the
   statistics, ``(2, rows, C)`` and a scale;
3. in the backward pass the statistics' gradient kernel multiplies those by the output's
   gradient in its prologue and writes dL/dlogits.

It serves the options in `_allowed.TRITON` (an allow-list: an option it does not know,
or a value outside it, takes the composable path, whose statistics are `_triton`'s fused
kernels): logits (``from_logits``), ``reduction`` mean or sum (``"none"`` declined),
``eps > 0``, any ``class_axis`` (channels-last logits are read in place, by strides), no
``sync``, an integer or no ``ignore_index``, the Jaccard, Dice and Tversky losses
themselves (not subclasses). A transform, forward-mode AD, targets that require a
gradient, multiclass one-hot or soft targets and more than `_triton.MAX_CLASSES` classes
are declined too; a backward pass with ``create_graph=True`` (or a batched gradient)
differentiates the composable path instead.
"""

from __future__ import annotations

import contextlib
import struct
import threading
from typing import Any, NamedTuple

import torch
import triton
import triton.language as tl
from torch.autograd import forward_ad as _forward_ad

from . import _torch, _triton
from . import _torch_epilogue as _epilogue
from ._allowed import TRITON_GATE as _TRITON_GATE

__all__ = ["overlap_loss"]

_LOSSES = ("JaccardLoss", "DiceLoss", "TverskyLoss")
_LABELS = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)
_TARGETS = (*_LABELS, torch.bool, torch.float16, torch.bfloat16, torch.float32, torch.float64)


_local = threading.local()


@contextlib.contextmanager
def _declined() -> Any:
    """`overlap_loss` answers None inside (the composable path, for a double backward)."""
    _local.off = True
    try:
        yield
    finally:
        _local.off = False


def _allowed(loss: Any) -> bool:
    cls = type(loss)
    if cls.__name__ not in _LOSSES or not cls.__module__.startswith("anyiou.losses."):
        return False
    return _TRITON_GATE(loss)


class _Plan(NamedTuple):
    """The call's static arguments: shapes, kernels' switches and the loss's options."""

    loss: Any
    dense: bool
    axis: int  # the class axis of y_pred (binary: 1, its channel if any is a singleton)
    n: int
    c: int
    pixels: int
    acc: Any
    ignore: Any  # multiclass: int or None; dense: (kind, value) or None


def _dense_ignore(t: Any, ignore_index: int | None) -> tuple[int, Any] | None:
    """`_triton._sigmoid_tile`'s (kind, value) of ``ignore_index`` for targets ``t``,
    compared by value in their dtype (a value the dtype cannot hold ignores nothing)."""
    if ignore_index is None:
        return None
    dtype = t.dtype
    if dtype == torch.bool:
        return (1, ignore_index) if ignore_index in (0, 1) else None
    if dtype.is_floating_point:
        held = float(torch.tensor(float(ignore_index), dtype=dtype))
        return (2, float(ignore_index)) if held == ignore_index else None
    info = torch.iinfo(dtype)
    return (1, ignore_index) if info.min <= ignore_index <= info.max else None


def _plan(loss: Any, y_pred: Any, y_true: Any) -> _Plan | None:
    """The plan of the call, or None where the fused loss does not serve it."""
    if getattr(_local, "off", False):
        return None
    if (type(y_true) not in (torch.Tensor, torch.nn.Parameter) or y_pred.ndim < 2
            or y_pred.dtype not in _triton._FLOATS or y_pred.numel() == 0
            or y_pred.device != y_true.device or y_true.requires_grad
            or _forward_ad._current_level >= 0 or not _triton._plain(y_pred, y_true)):
        return None
    # the options last: `_plain` declines while dynamo traces, which must not trace the
    # gate (its memo would be guarded entry by entry)
    if not _allowed(loss):
        return None
    pshape, tshape = tuple(y_pred.shape), tuple(y_true.shape)
    n, ndim = pshape[0], len(pshape)
    if not -ndim <= loss.class_axis < ndim or loss.class_axis % ndim == 0:
        return None  # the composable path raises the error
    axis = 1 if loss.mode == "binary" else loss.class_axis % ndim
    dense = loss.mode != "multiclass"
    if not dense:
        c = pshape[axis]
        spatial = pshape[1:axis] + pshape[axis + 1:]
        if y_true.dtype not in _LABELS or not (
                tshape == (n, *spatial) or (axis == 1 and tshape == (n, 1, *spatial))):
            return None
        ignore = loss.ignore_index
    else:
        if loss.mode == "binary":
            if not (pshape == tshape or (pshape[1] == 1 and pshape[:1] + pshape[2:] == tshape)
                    or (len(tshape) > 1 and tshape[1] == 1
                        and tshape[:1] + tshape[2:] == pshape)):
                return None
            c = 1
        elif pshape != tshape:
            return None
        else:
            c = pshape[axis]
        if y_true.dtype not in _TARGETS:
            return None
        ignore = _dense_ignore(y_true, loss.ignore_index)
    if c > _triton.MAX_CLASSES or not _fits(loss, c):
        return None
    acc = torch.float64 if y_pred.dtype == torch.float64 else torch.float32
    return _Plan(loss, dense, axis, n, c, y_pred.numel() // (n * c), acc, ignore)


def _fits(loss: Any, c: int) -> bool:
    """``classes`` and ``class_weights`` fit ``c`` classes (else the composable path
    raises the error)."""
    classes, weights = loss.classes, loss.class_weights
    if classes is not None and (max(classes) >= c or min(classes) < 0):
        return False
    if weights is None:
        return True
    return len(weights) == c and any(weights[k] > 0 for k in (classes or range(c)))


# -- the (N, C) tail --------------------------------------------------------------------


@triton.jit
def _loss_tail_kernel(part_ptr, w_ptr, out_ptr, coef_ptr, PROG, C, ROWS, PER_ROW, s_k, s_n,
                      s_j, s_c, alpha_hi, alpha_lo, beta_hi, beta_lo, smooth_hi, smooth_lo,
                      eps_hi, eps_lo, gamma_hi, gamma_lo, zero_pow, HAS_W: tl.constexpr,
                      DENSE: tl.constexpr, LOG: tl.constexpr, EXCLUDE: tl.constexpr,
                      KEEP: tl.constexpr, MEAN: tl.constexpr, POW: tl.constexpr,
                      BLOCK_C: tl.constexpr, BLOCK_J: tl.constexpr, ACC: tl.constexpr):
    """The loss from partial sums ``part`` of (I, Sp, St), sample n, program j, class c
    at ``k s_k + n s_n + j s_j + c s_c`` (DENSE: the first is sum|p - t|). The scalars
    come as float32 pairs ``hi + lo`` (float64 sums keep their precision); ``w`` holds
    the classes' reduction weights (C,) where HAS_W (else 1). Writes the 0-d loss to
    ``out`` and, to ``coef``, dL/dI and dL/dSp of each row's statistics (2, ROWS, C)
    up to the scale at ``coef[2 ROWS C]``."""
    cls = tl.arange(0, BLOCK_C)
    cmask = cls < C
    alpha = tl.cast(alpha_hi, ACC) + tl.cast(alpha_lo, ACC)
    beta = tl.cast(beta_hi, ACC) + tl.cast(beta_lo, ACC)
    smooth = tl.cast(smooth_hi, ACC) + tl.cast(smooth_lo, ACC)
    eps = tl.cast(eps_hi, ACC) + tl.cast(eps_lo, ACC)
    if HAS_W:
        w = tl.load(w_ptr + cls, mask=cmask, other=0.0).to(ACC)
    else:
        w = tl.where(cmask, 1.0, 0.0).to(ACC)
    k = 1.0 - alpha - beta
    total = tl.zeros([BLOCK_C], dtype=ACC)
    weight = tl.zeros([BLOCK_C], dtype=ACC)
    for r in range(ROWS):
        inter = tl.zeros([BLOCK_C], dtype=ACC)
        pred = tl.zeros([BLOCK_C], dtype=ACC)
        target = tl.zeros([BLOCK_C], dtype=ACC)
        for i in range(PER_ROW):
            n = (r * PER_ROW + i).to(tl.int64)
            for j0 in range(0, PROG, BLOCK_J):
                j = j0 + tl.arange(0, BLOCK_J)
                m = (j < PROG)[:, None] & cmask[None, :]
                at = n * s_n + j[:, None] * s_j + cls[None, :] * s_c
                inter += tl.sum(tl.load(part_ptr + at, mask=m, other=0.0), axis=0)
                pred += tl.sum(tl.load(part_ptr + s_k + at, mask=m, other=0.0), axis=0)
                target += tl.sum(tl.load(part_ptr + 2 * s_k + at, mask=m, other=0.0),
                                 axis=0)
        if DENSE:  # smp's L1 form (Sp + St - sum|p - t|) / 2
            inter = (pred + target - inter) / 2
        den = alpha * pred + beta * target + k * inter + smooth
        clamped = tl.maximum(den, eps)
        score = (inter + smooth) / clamped
        if KEEP:  # every class's computed loss counts
            present = tl.where(cmask, 1.0, 0.0).to(ACC)
        else:
            present = tl.where((target > 0) & cmask, 1.0, 0.0).to(ACC)
        if LOG:
            per_class = -tl.log(tl.maximum(score, eps))
        else:
            per_class = 1.0 - score
        wc = w
        if EXCLUDE:
            wc = w * present
        total += tl.where(cmask, wc * (per_class * present), 0.0)
        weight += wc
        g = wc * present
        if LOG:  # d(-log(max(s, eps)))/ds = -1/s where s >= eps
            g = tl.where(score >= eps, g / tl.maximum(score, eps), 0.0)
        q = g / clamped
        g_den = tl.where(den >= eps, q * score, 0.0)
        tl.store(coef_ptr + r * C + cls, g_den * k - q, mask=cmask)
        tl.store(coef_ptr + (ROWS + r) * C + cls, g_den * alpha, mask=cmask)
    numer = tl.sum(total, axis=0)
    if MEAN:
        denom = tl.sum(weight, axis=0)
        ok = denom != 0
        safe = tl.where(ok, denom, 1.0)
        red = tl.where(ok, numer / safe, 0.0)
        scale = tl.where(ok, 1.0 / safe, 0.0)
    else:
        red = numer
        scale = numer * 0.0 + 1.0
    if POW:  # safe_power: x ** gamma, gradient 0 at x == 0
        gamma = tl.cast(gamma_hi, ACC) + tl.cast(gamma_lo, ACC)
        nonzero = red != 0
        safe_red = tl.where(nonzero, red, 1.0)
        powered = tl.exp(gamma * tl.log(safe_red))
        scale = scale * tl.where(nonzero, gamma * powered / safe_red, 0.0)
        red = tl.where(nonzero, powered, zero_pow)
    tl.store(out_ptr, red)
    tl.store(coef_ptr + 2 * ROWS * C, scale)


def _class_weights(plan: _Plan, device: Any) -> Any | None:
    """The reduction weight of each class (that of each selected class, counted as often
    as it is selected; 0 for the others), or None: every class weighs 1."""
    loss, c = plan.loss, plan.c
    if loss.classes is None and loss.class_weights is None:
        return None
    values = [0.0] * c
    for k in loss.classes if loss.classes is not None else range(c):
        values[k] += 1.0 if loss.class_weights is None else float(loss.class_weights[k])
    return _epilogue._constant(tuple(values), device, plan.acc)


def _split(v: float) -> tuple[float, float]:
    """``v`` as float32 ``hi + lo`` (Triton passes a Python float as float32)."""
    hi = struct.unpack("f", struct.pack("f", v))[0]
    return hi, struct.unpack("f", struct.pack("f", v - hi))[0]


def _views(plan: _Plan, y_pred: Any, y_true: Any) -> tuple[Any, Any]:
    """(N, C, P) logits and (N, P) labels or (N, C, P) targets (views where the strides
    allow)."""
    shape = (plan.n, plan.c, plan.pixels)
    x = y_pred.movedim(plan.axis, 1).reshape(shape)
    if not plan.dense:
        return x, y_true.reshape(plan.n, plan.pixels)
    if plan.c == 1:  # binary: the targets' channel, if any, is a singleton
        return x, y_true.reshape(shape)
    return x, y_true.movedim(plan.axis, 1).reshape(shape)


def _forward(plan: _Plan, x: Any, t: Any) -> tuple[Any, Any]:
    """The loss (0-d) and the tail's gradient coefficients (see `_loss_tail_kernel`)."""
    loss, n, c = plan.loss, plan.n, plan.c
    if plan.dense:  # (3, N * C, programs) as (3, N, programs, C)
        part = _triton.sigmoid_partials(x, t, None, plan.ignore, False, plan.acc)
        programs = part.shape[2]
        strides = (part.stride(0), c * programs, 1, programs)
    else:  # (3, N, programs, C)
        part = _triton.softmax_partials(x, t, loss.ignore_index is not None, plan.ignore,
                                        plan.acc)
        programs = part.shape[2]
        strides = part.stride()
    rows, per_row = (n, 1) if loss.per_image else (1, n)
    out = torch.empty((), dtype=plan.acc, device=x.device)
    coef = torch.empty(2 * rows * c + 1, dtype=plan.acc, device=x.device)
    block_c = triton.next_power_of_2(c)
    weights = _class_weights(plan, x.device)
    scalars = [h for v in (loss.alpha, loss.beta, loss.smooth, loss.eps, loss.gamma)
               for h in _split(float(v))]
    _triton._launch(_loss_tail_kernel, (1,), part, coef if weights is None else weights, out,
                    coef, programs, c, rows, per_row, *strides, *scalars,
                    0.0 ** float(loss.gamma), HAS_W=weights is not None, DENSE=plan.dense,
                    LOG=loss.log_loss, EXCLUDE=loss.empty == "exclude",
                    KEEP=loss.empty == "keep",
                    MEAN=loss.reduction == "mean", POW=loss.gamma != 1.0, BLOCK_C=block_c,
                    BLOCK_J=max(1, _triton.TILE_ELEMENTS // block_c),
                    ACC=_triton._ACC[plan.acc])
    return out, coef


def _grad_out(y_pred: Any, plan: _Plan) -> tuple[Any, Any]:
    """A fresh gradient of y_pred's shape and strides, and its (N, C, P) view (a
    contiguous one where the strides do not allow a view)."""
    shape = (plan.n, plan.c, plan.pixels)
    grad = torch.empty_like(y_pred)
    try:
        return grad, grad.movedim(plan.axis, 1).view(shape)
    except RuntimeError:
        flat = torch.empty(shape, dtype=y_pred.dtype, device=y_pred.device)
        moved = y_pred.movedim(plan.axis, 1).shape
        return flat.view(moved).movedim(1, plan.axis), flat


class FusedOverlapLoss(torch.autograd.Function):
    """The overlap loss as one autograd node of three Triton launches."""

    @staticmethod
    def forward(ctx, y_pred, y_true, plan):  # type: ignore[override]
        x, t = _views(plan, y_pred, y_true)
        with _torch._no_autocast(y_pred.device):
            out, coef = _forward(plan, x, t)
        ctx.save_for_backward(y_pred, y_true)
        ctx.plan, ctx.coef = plan, coef
        return out

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        y_pred, y_true = ctx.saved_tensors
        plan, coef = ctx.plan, ctx.coef
        if not _torch._lean(y_pred, g):  # create_graph, vmap: the composable path
            differentiable = torch.is_grad_enabled()
            with torch.enable_grad(), _declined():
                out = plan.loss(y_pred, y_true)
            (grad,) = torch.autograd.grad(out, y_pred, g, create_graph=differentiable)
            return grad, None, None
        x, t = _views(plan, y_pred, y_true)
        rows = plan.n if plan.loss.per_image else 1
        c = plan.c
        g_inter, g_pred = coef[:rows * c], coef[rows * c:2 * rows * c]
        scale = (g.to(plan.acc), coef[2 * rows * c])
        stride = c if plan.loss.per_image else 0
        grad, view = _grad_out(y_pred, plan)
        with _torch._no_autocast(y_pred.device):
            if plan.dense:
                _triton.sigmoid_grad(x, t, None, plan.ignore, False, plan.acc, g_inter, g_pred,
                                     stride, scale, view)
            else:
                _triton.softmax_grad(x, t, plan.loss.ignore_index is not None, plan.ignore,
                                     plan.acc, g_inter, g_pred, stride, scale, view)
        return grad, None, None


def overlap_loss(loss: Any, y_pred: Any, y_true: Any) -> Any | None:
    """The value of ``loss(y_pred, y_true)`` by `FusedOverlapLoss`, or None where the
    fused loss does not serve the call (see the module docstring)."""
    plan = _plan(loss, y_pred, y_true)
    if plan is None:
        return None
    if not (torch.is_grad_enabled() and y_pred.requires_grad):
        x, t = _views(plan, y_pred, y_true)
        with _torch._no_autocast(y_pred.device):
            return _forward(plan, x, t)[0]
    return FusedOverlapLoss.apply(y_pred, y_true, plan)
