"""Fused Triton kernels of the loss statistics (opt-in: ``ANYIOU_FUSED=1``; not yet run
on a GPU).

A priority layer of the router over `_torch` (see ``docs/architecture.md``): for CUDA
tensors (or, for the tests, CPU tensors under ``ANYIOU_ACCELERATOR_PATH=1`` and
``TRITON_INTERPRET=1``) `softmax_label_stats` and `sigmoid_dense_stats` read the logits
and labels in one Triton pass that writes per-class partial sums (one small torch sum
adds them), and the backward pass reads them once more and writes the gradient: no
logits-sized temporary. Everything else comes from `_torch`.

Inputs a fused kernel does not cover go to the torch kernel of the same name
(`_torch`'s, `_torch_sigmoid`'s), which handles every case: a transform
(``torch.compile`` tracing, ``torch.jit.trace``, ``torch.func`` wrappers, forward-mode
dual tensors), more than `MAX_CLASSES` classes, a dtype other than
float16/bfloat16/float32/float64 logits, and soft targets that require a gradient. A
double backward (``create_graph=True``) takes that module's differentiable formula in
the backward pass (so do batched gradients, ``check_batched_grad``).

Every launch goes through `_launch` (the cost model and the tests wrap it to count).
"""

from __future__ import annotations

from typing import Any

import torch
import triton
import triton.language as tl

from . import _torch, _torch_sigmoid

__all__ = ["MAX_CLASSES", "overlap_loss", "sigmoid_dense_stats", "softmax_label_stats"]

#: The most classes the softmax kernel holds in one tile (more: `_torch`'s kernel).
MAX_CLASSES = 1024
#: Elements of one (classes, pixels) tile; pixel tiles per program, at most.
TILE_ELEMENTS = 4096
TILES_PER_PROGRAM = 32
#: Programs per sample (or row) the pixel loop aims for, at least; the most there may be.
MIN_PROGRAMS = 8
MAX_GRID_Y = 65535

_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_ACC = {torch.float32: tl.float32, torch.float64: tl.float64}


def overlap_loss(loss: Any, y_pred: Any, y_true: Any) -> Any | None:
    """The whole loss in three launches (`_triton_loss`), or None: the overlap loss is
    then composed from the fused statistics below, not taken whole by `_torch_overlap`
    (a layer further down)."""
    from . import _triton_loss

    return _triton_loss.overlap_loss(loss, y_pred, y_true)


def _launch(kernel: Any, grid: tuple[int, ...], *args: Any, **meta: Any) -> None:
    """Launch one Triton kernel (the one place; wrapped to count launches)."""
    kernel[grid](*args, **meta)


def _plain(*tensors: Any) -> bool:
    """No transform is active on ``tensors`` (else `_torch`'s composable kernels run)."""
    if _torch._transformed(*tensors):
        return False
    from torch.autograd import forward_ad

    return not any(t is not None and forward_ad.unpack_dual(t).tangent is not None
                   for t in tensors)


def _tiling(pixels: int, block_p: int) -> tuple[int, int]:
    """(pixel tiles per program, programs per sample or row)."""
    tiles = triton.cdiv(pixels, block_p)
    per_program = max(1, min(TILES_PER_PROGRAM, tiles // MIN_PROGRAMS))
    # CUDA allows at most 65535 programs along the grid's second axis
    per_program = max(per_program, triton.cdiv(tiles, MAX_GRID_Y))
    return per_program, triton.cdiv(tiles, per_program)


# -- softmax + label statistics -----------------------------------------------------------


@triton.jit
def _softmax_tile(x_ptr, lab_ptr, n, pix, cls, C, P, sxn, sxc, sxp, sln, slp, ignore,
                  MASKED: tl.constexpr, HAS_IGNORE: tl.constexpr, ACC: tl.constexpr):
    """(p, onehot, inside) of one (classes, pixels) tile: p the softmax over the classes,
    0 outside the tile and, with MASKED, at invalid pixels; onehot at valid pixels only.
    A pixel is valid where its label (any integer dtype) lies in [0, C) and, with
    HAS_IGNORE, differs from ``ignore``."""
    pmask = pix < P
    cmask = cls < C
    lab = tl.load(lab_ptr + n * sln + pix * slp, mask=pmask, other=0).to(tl.int64)
    ok = pmask & (lab >= 0) & (lab < C)
    if HAS_IGNORE:
        ok = ok & (lab != ignore)
    inside = cmask[:, None] & pmask[None, :]
    x = tl.load(x_ptr + n * sxn + cls[:, None] * sxc + pix[None, :] * sxp, mask=inside,
                other=float("-inf")).to(ACC)
    top = tl.where(pmask, tl.max(x, axis=0), 0.0)
    e = tl.where(inside, tl.exp(x - top[None, :]), 0.0)
    total = tl.sum(e, axis=0)
    valid = pmask
    if MASKED:
        valid = ok
    keep = cmask[:, None] & valid[None, :]
    p = tl.where(keep, e / tl.where(total > 0, total, 1.0)[None, :], 0.0)
    onehot = (cls[:, None] == lab[None, :]) & ok[None, :]
    return p, onehot, inside


@triton.jit
def _softmax_stats_kernel(x_ptr, lab_ptr, out_ptr, C, P, sxn, sxc, sxp, sln, slp, ignore,
                          programs, MASKED: tl.constexpr, HAS_IGNORE: tl.constexpr,
                          BLOCK_C: tl.constexpr, BLOCK_P: tl.constexpr, TILES: tl.constexpr,
                          ACC: tl.constexpr):
    """Partial sums of I, Sp and St of one sample's pixel range: out (3, N, programs, C)."""
    n = tl.program_id(0).to(tl.int64)
    chunk = tl.program_id(1).to(tl.int64)
    cls = tl.arange(0, BLOCK_C)
    inter = tl.zeros([BLOCK_C], dtype=ACC)
    pred = tl.zeros([BLOCK_C], dtype=ACC)
    target = tl.zeros([BLOCK_C], dtype=ACC)
    for t in range(TILES):
        pix = (chunk * TILES + t) * BLOCK_P + tl.arange(0, BLOCK_P)
        p, onehot, _ = _softmax_tile(x_ptr, lab_ptr, n, pix, cls, C, P, sxn, sxc, sxp, sln,
                                     slp, ignore, MASKED, HAS_IGNORE, ACC)
        pred += tl.sum(p, axis=1)
        inter += tl.sum(tl.where(onehot, p, 0.0), axis=1)
        target += tl.sum(onehot.to(ACC), axis=1)
    rows = tl.num_programs(0).to(tl.int64)
    at = (n * programs + chunk) * C + cls
    plane = rows * programs * C
    tl.store(out_ptr + at, inter, mask=cls < C)
    tl.store(out_ptr + plane + at, pred, mask=cls < C)
    tl.store(out_ptr + 2 * plane + at, target, mask=cls < C)


@triton.jit
def _softmax_grad_kernel(x_ptr, lab_ptr, gi_ptr, gp_ptr, g_ptr, k_ptr, out_ptr, C, P, sxn,
                         sxc, sxp, sln, slp, sgn, ignore, son, soc, sop, MASKED: tl.constexpr,
                         HAS_IGNORE: tl.constexpr, SCALED: tl.constexpr,
                         BLOCK_C: tl.constexpr, BLOCK_P: tl.constexpr, TILES: tl.constexpr,
                         ACC: tl.constexpr):
    """dL/dx = p (a - sum_j p_j a_j), a = dL/dSp + onehot dL/dI, per pixel. The (N, C)
    gradients of I and Sp are read at row ``n * sgn`` (0: one row for the batch) and,
    with SCALED, times ``g * k`` (the output's gradient and the loss's scale, 0-d)."""
    n = tl.program_id(0).to(tl.int64)
    chunk = tl.program_id(1).to(tl.int64)
    cls = tl.arange(0, BLOCK_C)
    gi = tl.load(gi_ptr + n * sgn + cls, mask=cls < C, other=0.0).to(ACC)
    gp = tl.load(gp_ptr + n * sgn + cls, mask=cls < C, other=0.0).to(ACC)
    if SCALED:
        scale = tl.load(g_ptr).to(ACC) * tl.load(k_ptr).to(ACC)
        gi = gi * scale
        gp = gp * scale
    for t in range(TILES):
        pix = (chunk * TILES + t) * BLOCK_P + tl.arange(0, BLOCK_P)
        p, onehot, inside = _softmax_tile(x_ptr, lab_ptr, n, pix, cls, C, P, sxn, sxc, sxp,
                                          sln, slp, ignore, MASKED, HAS_IGNORE, ACC)
        a = gp[:, None] + tl.where(onehot, gi[:, None], 0.0)
        s = tl.sum(p * a, axis=0)
        grad = p * (a - s[None, :])
        tl.store(out_ptr + n * son + cls[:, None] * soc + pix[None, :] * sop,
                 grad.to(out_ptr.dtype.element_ty), mask=inside)


def _softmax_blocks(c: int, pixels: int) -> tuple[int, int, int, int]:
    block_c = triton.next_power_of_2(c)
    block_p = max(16, TILE_ELEMENTS // block_c)
    tiles, programs = _tiling(pixels, block_p)
    return block_c, block_p, tiles, programs


def softmax_partials(x: Any, labels: Any, masked: bool, ignore: int | None, acc: Any) -> Any:
    """(3, N, programs, C) partial sums of I, Sp and St of (N, C, P) logits and (N, P)
    labels (any integer dtype; valid in [0, C) and, given, unequal to ``ignore``)."""
    n, c, pixels = x.shape
    block_c, block_p, tiles, programs = _softmax_blocks(c, pixels)
    out = torch.empty((3, n, programs, c), dtype=acc, device=x.device)
    _launch(_softmax_stats_kernel, (n, programs), x, labels, out, c, pixels, *x.stride(),
            *labels.stride(), 0 if ignore is None else ignore, programs, MASKED=masked,
            HAS_IGNORE=ignore is not None, BLOCK_C=block_c, BLOCK_P=block_p, TILES=tiles,
            ACC=_ACC[acc])
    return out


def softmax_grad(x: Any, labels: Any, masked: bool, ignore: int | None, acc: Any,
                 g_inter: Any, g_pred: Any, row_stride: int, scale: Any = None,
                 out: Any = None) -> Any:
    """dL/dx of `softmax_partials`' statistics into ``out`` (a fresh (N, C, P) tensor
    of x's strides if None), given their (rows, C) gradients (``row_stride`` 0: one row
    for every sample) and, where given, the pair of 0-d tensors ``scale`` they are
    multiplied by."""
    n, c, pixels = x.shape
    block_c, block_p, tiles, programs = _softmax_blocks(c, pixels)
    grad = torch.empty_like(x) if out is None else out
    g, k = (g_inter, g_inter) if scale is None else scale
    _launch(_softmax_grad_kernel, (n, programs), x, labels, g_inter, g_pred, g, k, grad, c,
            pixels, *x.stride(), *labels.stride(), row_stride, 0 if ignore is None else ignore,
            *grad.stride(), MASKED=masked, HAS_IGNORE=ignore is not None,
            SCALED=scale is not None, BLOCK_C=block_c, BLOCK_P=block_p, TILES=tiles,
            ACC=_ACC[acc])
    return grad


class FusedSoftmaxLabelStats(torch.autograd.Function):
    """``(I, Sp)`` of softmax(x) and binned labels in one Triton pass; the backward pass
    is one more (`_torch`'s differentiable formula under ``create_graph=True``)."""

    @staticmethod
    def forward(ctx, x, binned, masked, acc):  # type: ignore[override]
        ctx.save_for_backward(x, binned)
        ctx.masked, ctx.acc = masked, acc
        ctx.set_materialize_grads(False)
        sums = softmax_partials(x, binned, masked, None, acc)[:2].sum(dim=2)
        return sums[0], sums[1]

    @staticmethod
    def backward(ctx, g_inter, g_pred):  # type: ignore[override]
        x, binned = ctx.saved_tensors
        n, c, pixels = x.shape
        zeros = torch.zeros((n, c), dtype=ctx.acc, device=x.device)
        g_inter = zeros if g_inter is None else g_inter.to(ctx.acc).contiguous()
        g_pred = zeros if g_pred is None else g_pred.to(ctx.acc).contiguous()
        if not _torch._lean(x, g_inter, g_pred):  # create_graph, vmap: differentiable ops
            valid = binned < c
            safe = torch.where(valid, binned, 0)
            grad = _torch._softmax_grad(x, safe, binned, valid if ctx.masked else None,
                                        ctx.acc, g_inter, g_pred)
            return grad.to(x.dtype), None, None, None
        grad = softmax_grad(x, binned, ctx.masked, None, ctx.acc, g_inter, g_pred, c)
        return grad, None, None, None


def softmax_label_stats(
    xp: Any, logits: Any, safe: Any, binned: Any, valid: Any, acc: Any, class_last: bool
) -> tuple[Any, Any]:
    """The router's ``softmax_label_stats``: `FusedSoftmaxLabelStats` (``valid`` is
    ``binned < C`` where given, so the kernel reads ``binned`` alone), else `_torch`'s."""
    if (logits.shape[1] > MAX_CLASSES or logits.numel() == 0 or logits.dtype not in _FLOATS
            or acc not in _ACC or not _plain(logits, safe, binned, valid)):
        return _torch.softmax_label_stats(xp, logits, safe, binned, valid, acc, class_last)
    with _torch._no_autocast(logits.device):
        return FusedSoftmaxLabelStats.apply(logits, binned, valid is not None, acc)


# -- sigmoid + dense statistics -----------------------------------------------------------


@triton.jit
def _sigmoid_tile(x_ptr, t_ptr, v_ptr, n, c, pix, P, sxn, sxc, sxp, stn, stc, stp, svn, svc,
                  svp, ignore, HAS_VALID: tl.constexpr, IGNORE: tl.constexpr,
                  ACC: tl.constexpr):
    """(p, t) of one row's pixel tile, 0 outside it and at invalid pixels: where
    ``valid`` is 0 (HAS_VALID) or the target equals ``ignore`` (IGNORE 1: compared as
    an integer, 2: as a float64)."""
    pmask = pix < P
    x = tl.load(x_ptr + n * sxn + c * sxc + pix * sxp, mask=pmask, other=0.0).to(ACC)
    raw = tl.load(t_ptr + n * stn + c * stc + pix * stp, mask=pmask, other=0)
    keep = pmask
    if HAS_VALID:
        v = tl.load(v_ptr + n * svn + c * svc + pix * svp, mask=pmask, other=0)
        keep = keep & (v != 0)
    if IGNORE == 1:
        keep = keep & (raw.to(tl.int64) != ignore)
    if IGNORE == 2:
        keep = keep & (raw.to(tl.float64) != ignore)
    p = tl.where(keep, 1.0 / (1.0 + tl.exp(-x)), 0.0)
    return p, tl.where(keep, raw.to(ACC), 0.0)


@triton.jit
def _sigmoid_stats_kernel(x_ptr, t_ptr, v_ptr, out_ptr, C, P, sxn, sxc, sxp, stn, stc, stp,
                          svn, svc, svp, ignore, programs, HAS_VALID: tl.constexpr,
                          IGNORE: tl.constexpr, HARD: tl.constexpr, BLOCK_P: tl.constexpr,
                          TILES: tl.constexpr, ACC: tl.constexpr):
    """Partial sums of one row's pixel range: out (3, N * C, programs) holding
    sum(p t) (HARD) or sum|p - t|, sum(p) and sum(t)."""
    row = tl.program_id(0).to(tl.int64)
    chunk = tl.program_id(1).to(tl.int64)
    n = row // C
    c = row % C
    inter = tl.zeros([BLOCK_P], dtype=ACC)
    pred = tl.zeros([BLOCK_P], dtype=ACC)
    target = tl.zeros([BLOCK_P], dtype=ACC)
    for i in range(TILES):
        pix = (chunk * TILES + i) * BLOCK_P + tl.arange(0, BLOCK_P)
        p, t = _sigmoid_tile(x_ptr, t_ptr, v_ptr, n, c, pix, P, sxn, sxc, sxp, stn, stc, stp,
                             svn, svc, svp, ignore, HAS_VALID, IGNORE, ACC)
        pred += p
        target += t
        if HARD:
            inter += p * t
        else:
            inter += tl.abs(p - t)
    rows = tl.num_programs(0).to(tl.int64)
    at = row * programs + chunk
    tl.store(out_ptr + at, tl.sum(inter, axis=0))
    tl.store(out_ptr + rows * programs + at, tl.sum(pred, axis=0))
    tl.store(out_ptr + 2 * rows * programs + at, tl.sum(target, axis=0))


@triton.jit
def _sigmoid_grad_kernel(x_ptr, t_ptr, v_ptr, gi_ptr, gp_ptr, g_ptr, k_ptr, out_ptr, C, P,
                         sxn, sxc, sxp, stn, stc, stp, svn, svc, svp, sgn, ignore, son, soc,
                         sop, HAS_VALID: tl.constexpr, IGNORE: tl.constexpr,
                         HARD: tl.constexpr, SCALED: tl.constexpr, BLOCK_P: tl.constexpr,
                         TILES: tl.constexpr, ACC: tl.constexpr):
    """dL/dx = dL/dp p (1 - p); dL/dp = gSp + t gI (HARD) or gSp + gI (1 - sign(p - t)) / 2.
    The gradients of I and Sp are read at ``n * sgn + c`` and, with SCALED, times
    ``g * k`` (as in `_softmax_grad_kernel`)."""
    row = tl.program_id(0).to(tl.int64)
    chunk = tl.program_id(1).to(tl.int64)
    n = row // C
    c = row % C
    gi = tl.load(gi_ptr + n * sgn + c).to(ACC)
    gp = tl.load(gp_ptr + n * sgn + c).to(ACC)
    if SCALED:
        scale = tl.load(g_ptr).to(ACC) * tl.load(k_ptr).to(ACC)
        gi = gi * scale
        gp = gp * scale
    for i in range(TILES):
        pix = (chunk * TILES + i) * BLOCK_P + tl.arange(0, BLOCK_P)
        p, t = _sigmoid_tile(x_ptr, t_ptr, v_ptr, n, c, pix, P, sxn, sxc, sxp, stn, stc, stp,
                             svn, svc, svp, ignore, HAS_VALID, IGNORE, ACC)
        if HARD:
            dp = gp + t * gi
        else:
            d = p - t
            sign = tl.where(d > 0, 1.0, tl.where(d < 0, -1.0, 0.0))
            dp = gp + 0.5 * gi - 0.5 * gi * sign
        grad = dp * p * (1.0 - p)
        tl.store(out_ptr + n * son + c * soc + pix * sop, grad.to(out_ptr.dtype.element_ty),
                 mask=pix < P)


def _sigmoid_args(x: Any, t: Any, valid: Any) -> tuple[tuple[Any, ...], tuple[int, ...]]:
    """The three tensors of both sigmoid kernels, then their strides (``valid`` None: a
    one-element stand-in, unread)."""
    v = x.new_empty((1, 1, 1), dtype=torch.bool) if valid is None else valid
    return (x, t, v), (*x.stride(), *t.stride(), *v.stride())


SIGMOID_BLOCK = 1024


def sigmoid_partials(x: Any, t: Any, valid: Any, ignore: tuple[int, Any] | None, hard: bool,
                     acc: Any) -> Any:
    """(3, N * C, programs) partial sums of sum(p t) (``hard``) or sum|p - t|, Sp and St
    of (N, C, P) logits and targets, masked by ``valid`` and by ``ignore`` (kind 1 or 2
    of `_sigmoid_tile`, value)."""
    n, c, pixels = x.shape
    tiles, programs = _tiling(pixels, SIGMOID_BLOCK)
    out = torch.empty((3, n * c, programs), dtype=acc, device=x.device)
    tensors, strides = _sigmoid_args(x, t, valid)
    kind, value = (0, 0) if ignore is None else ignore
    _launch(_sigmoid_stats_kernel, (n * c, programs), *tensors, out, c, pixels, *strides,
            value, programs, HAS_VALID=valid is not None, IGNORE=kind, HARD=hard,
            BLOCK_P=SIGMOID_BLOCK, TILES=tiles, ACC=_ACC[acc])
    return out


def sigmoid_grad(x: Any, t: Any, valid: Any, ignore: tuple[int, Any] | None, hard: bool,
                 acc: Any, g_inter: Any, g_pred: Any, row_stride: int, scale: Any = None,
                 out: Any = None) -> Any:
    """dL/dx of `sigmoid_partials`' statistics (arguments as in `softmax_grad`)."""
    n, c, pixels = x.shape
    tiles, programs = _tiling(pixels, SIGMOID_BLOCK)
    grad = torch.empty_like(x) if out is None else out
    tensors, strides = _sigmoid_args(x, t, valid)
    kind, value = (0, 0) if ignore is None else ignore
    g, k = (g_inter, g_inter) if scale is None else scale
    _launch(_sigmoid_grad_kernel, (n * c, programs), *tensors, g_inter, g_pred, g, k, grad, c,
            pixels, *strides, row_stride, value, *grad.stride(), HAS_VALID=valid is not None,
            IGNORE=kind, HARD=hard, SCALED=scale is not None, BLOCK_P=SIGMOID_BLOCK,
            TILES=tiles, ACC=_ACC[acc])
    return grad


def _sigmoid_stats(x: Any, t: Any, valid: Any, hard: bool, acc: Any) -> tuple[Any, ...]:
    n, c, _ = x.shape
    sums = sigmoid_partials(x, t, valid, None, hard, acc).sum(dim=2).view(3, n, c)
    inter, pred_sum, target_sum = sums[0], sums[1], sums[2]
    if not hard:  # smp's L1 form (Sp + St - sum|p - t|) / 2
        inter = (pred_sum + target_sum - inter) / 2
    return inter, pred_sum, target_sum


class FusedSigmoidDenseStats(torch.autograd.Function):
    """``(I, Sp, St)`` of sigmoid(x) and dense targets in one Triton pass; the backward
    pass is one more (`_torch_sigmoid`'s differentiable formula under
    ``create_graph=True``). No gradient for the targets (a target requiring one goes to
    `_torch_sigmoid`)."""

    @staticmethod
    def forward(ctx, x, t, valid, hard, acc):  # type: ignore[override]
        ctx.save_for_backward(x, t, valid)
        ctx.hard, ctx.acc = hard, acc
        ctx.set_materialize_grads(False)
        return _sigmoid_stats(x, t, valid, hard, acc)

    @staticmethod
    def backward(ctx, g_inter, g_pred, _g_target):  # type: ignore[override]
        x, t, valid = ctx.saved_tensors
        n, c, pixels = x.shape
        zeros = torch.zeros((n, c), dtype=ctx.acc, device=x.device)
        g_inter = zeros if g_inter is None else g_inter.to(ctx.acc).contiguous()
        g_pred = zeros if g_pred is None else g_pred.to(ctx.acc).contiguous()
        if not _torch._lean(x, g_inter, g_pred):  # create_graph, vmap: differentiable ops
            grad, _ = _torch_sigmoid._sigmoid_grads(x, t, valid, ctx.hard, ctx.acc, g_inter,
                                                    g_pred, zeros)
            return grad.to(x.dtype), None, None, None, None
        grad = sigmoid_grad(x, t, valid, None, ctx.hard, ctx.acc, g_inter, g_pred, c)
        return grad, None, None, None, None


def sigmoid_dense_stats(
    xp: Any, logits: Any, t: Any, valid: Any, hard: bool, acc: Any
) -> tuple[Any, Any, Any]:
    """The router's ``sigmoid_dense_stats``: `FusedSigmoidDenseStats`, else
    `_torch_sigmoid`'s (targets requiring a gradient, other dtypes, transforms)."""
    if (logits.numel() == 0 or logits.dtype not in _FLOATS or acc not in _ACC or t.requires_grad
            or t.dtype.is_complex or not _plain(logits, t, valid)):
        return _torch_sigmoid.sigmoid_dense_stats(xp, logits, t, valid, hard, acc)
    with _torch._no_autocast(logits.device):
        return FusedSigmoidDenseStats.apply(logits, t, valid, hard, acc)
