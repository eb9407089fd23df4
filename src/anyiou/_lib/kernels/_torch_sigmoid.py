"""torch kernel of the sigmoid + dense statistics (binary and multilabel targets): the
fused autograd function `SigmoidDenseStats`, ``(I, Sp, St)`` of ``sigmoid(x)`` and the
targets, ``I`` the product or smp's L1 form.

Like `_torch.SoftmaxLabelStats` (see its module for the transforms it supports), it keeps
one logits-sized buffer (the sigmoid output), which a plain ``.backward()`` turns into the
gradient in place, and bounds its temporaries by `_torch`'s pixel blocks; soft targets
get a gradient too.

A layer of the router's table over `_torch`: the router asks it first for torch tensors,
and it defines only `sigmoid_dense_stats`.
"""

from __future__ import annotations

from typing import Any

import torch

from ._torch import _blocks, _lean, _like, _no_autocast, _transformed
from ._torch_forward import sigmoid_tangents

__all__ = ["SigmoidDenseStats", "sigmoid_dense_stats"]


def sigmoid_dense_stats(
    xp: Any, logits: Any, t: Any, valid: Any, hard: bool, acc: Any
) -> tuple[Any, Any, Any]:
    """The router's ``sigmoid_dense_stats`` as `SigmoidDenseStats` (plain ops while
    ``torch.compile`` traces)."""
    with _no_autocast(logits.device):
        if torch.compiler.is_compiling():
            stats = _sigmoid_forward(logits, t, valid, hard, acc, False)
        else:
            stats = SigmoidDenseStats.apply(logits, t, valid, hard, acc)
    return stats[0], stats[1], stats[2]


def _target(buffer: Any, t: Any, valid: Any) -> Any:
    """A float copy of one block of targets in ``buffer`` (ignored pixels: 0)."""
    tf = _like(buffer, t).copy_(t)
    return tf if valid is None else tf.masked_fill_(~valid, 0)


def _chunk(a: Any, i: int | slice, lo: int, hi: int) -> Any:
    return None if a is None else a[i, :, lo:hi]


def _sigmoid_plain(x: Any, t: Any, valid: Any, acc: Any) -> tuple[Any, Any]:
    """Masked sigmoid(x) and float targets, out of place (differentiable)."""
    p, tf = torch.sigmoid(x.to(acc)), t.to(acc)
    if valid is not None:
        p, tf = p.masked_fill(~valid, 0), tf.masked_fill(~valid, 0)
    return p, tf


def _sigmoid_forward(x: Any, t: Any, valid: Any, hard: bool, acc: Any, inplace: bool) -> Any:
    """``(I, Sp, St, p)``; in place and chunked on plain tensors, plain ops otherwise."""
    if not inplace:
        p, tf = _sigmoid_plain(x, t, valid, acc)
        pred_sum, target_sum = p.sum(dim=2), tf.sum(dim=2)
        if hard:
            inter = (p * tf).sum(dim=2)
        else:  # L1 form
            inter = (pred_sum + target_sum - (p - tf).abs().sum(dim=2)) / 2
        return inter, pred_sum, target_sum, p
    n, c, pixels = x.shape
    p = torch.sigmoid(x.to(acc))
    if valid is not None:  # ignored pixels predict 0 (also hides NaN logits there)
        p.masked_fill_(~valid, 0)
    pred_sum = p.sum(dim=2)
    inter, target_sum = torch.zeros_like(pred_sum), torch.zeros_like(pred_sum)
    # blocks: (C, L) on a CPU, (N, C, L) on an accelerator; reductions over the last axis
    blocks, buffer = _blocks(p, acc)
    for i, lo, hi in blocks:
        pc = p[i, :, lo:hi]
        tf = _target(buffer, t[i, :, lo:hi], _chunk(valid, i, lo, hi))
        # ``add_`` on the row's view: ``a[i] += b`` would also copy the view onto itself
        target_sum[i].add_(tf.sum(dim=-1))
        if hard:
            inter[i].add_(tf.mul_(pc).sum(dim=-1))  # in place: no copy of a strided pc
        else:  # L1 form: (Sp + St - sum|p - t|) / 2, assembled below
            inter[i].sub_(tf.sub_(pc).abs_().sum(dim=-1))
    if not hard:
        inter = (inter + pred_sum + target_sum) / 2
    return inter, pred_sum, target_sum, p


def _sigmoid_grads(x: Any, t: Any, valid: Any, hard: bool, acc: Any, gi: Any, gp: Any,
                   gt: Any) -> tuple[Any, Any]:
    """(dL/dx, dL/dt) out of place, from differentiable ops (the formulas of
    `SigmoidDenseStats.backward`)."""
    p, tf = _sigmoid_plain(x, t, valid, acc)
    gi, gp, gt = gi.unsqueeze(2), gp.unsqueeze(2), gt.unsqueeze(2)
    if hard:
        dp = tf * gi + gp
    else:
        dp = gp + 0.5 * gi - 0.5 * gi * torch.sign(p - tf)
    grad_t = (torch.sign(p - tf) + 1) * (0.5 * gi) + gt
    if valid is not None:
        grad_t = grad_t.masked_fill(~valid, 0)
    return dp * p * (1 - p), grad_t


class SigmoidDenseStats(torch.autograd.Function):
    """``(I, Sp, St, p)`` of sigmoid(x) and dense targets; ``p`` is a non-differentiable
    output the backward pass reuses (the public wrapper drops it)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x, t, valid, hard, acc):  # type: ignore[override]
        return _sigmoid_forward(x, t, valid, hard, acc, not _transformed(x, t, valid))

    @staticmethod
    def setup_context(ctx, inputs, output):  # type: ignore[override]
        x, t, valid, hard, acc = inputs
        ctx.save_for_backward(x, t, valid)
        ctx.save_for_forward(x, t, valid)  # the same tuple (functorch's vmap)
        ctx.mark_non_differentiable(output[3])
        ctx.set_materialize_grads(False)  # no logits-sized zero gradient for p
        ctx.acc, ctx.hard, ctx.probs = acc, hard, output[3]

    @staticmethod
    def backward(ctx, g_inter, g_pred, g_target, _g_probs):  # type: ignore[override]
        # dI/dp = t (hard) or (1 - sign(p - t)) / 2 (L1 form); dSp/dp = 1; then the
        # sigmoid's p (1 - p), which is 0 where ignored pixels were set to p = 0.
        x, t, valid = ctx.saved_tensors
        n, c, pixels = x.shape
        p, ctx.probs = ctx.probs, None
        need_t = ctx.needs_input_grad[1]
        if g_inter is None or g_pred is None or (need_t and g_target is None):
            zeros = x.new_zeros((n, c), dtype=ctx.acc)  # only where a gradient is None
            g_inter = zeros if g_inter is None else g_inter
            g_pred = zeros if g_pred is None else g_pred
            g_target = zeros if g_target is None else g_target
        if not _lean(x, t, g_inter, g_pred, g_target):  # differentiable, out of place
            if g_target is None:
                g_target = torch.zeros_like(g_pred)
            grad_x, grad_t = _sigmoid_grads(
                x, t, valid, ctx.hard, ctx.acc, g_inter, g_pred, g_target
            )
            return grad_x.to(x.dtype), grad_t.to(t.dtype) if need_t else None, None, None, None
        if p is None:  # a second backward (retain_graph=True)
            p = torch.sigmoid(x.to(ctx.acc))
            if valid is not None:
                p.masked_fill_(~valid, 0)
        gi, gp = g_inter.unsqueeze(2), g_pred.unsqueeze(2)
        grad_t = None
        if need_t:  # soft targets: dSt/dt = 1, dI/dt = (1 + sign) / 2
            gt = g_target.unsqueeze(2)
            grad_t = (p - t.to(ctx.acc)).sign_().add_(1).mul_(0.5 * gi).add_(gt)
            if valid is not None:
                grad_t.masked_fill_(~valid, 0)
            grad_t = grad_t.to(t.dtype)
        if not ctx.hard:  # the L1 form's coefficients, once for every block
            gi, gp = -0.5 * gi, gp + 0.5 * gi  # of sign(p - t), and the constant
        blocks, buffer = _blocks(p, ctx.acc)
        for i, lo, hi in blocks:
            pc = p[i, :, lo:hi]
            g = _target(buffer, t[i, :, lo:hi], _chunk(valid, i, lo, hi))
            if ctx.hard:
                g.mul_(gi[i]).add_(gp[i])
            else:
                g.neg_().add_(pc).sign_().mul_(gi[i]).add_(gp[i])
            torch.ops.aten.sigmoid_backward.grad_input(g, pc, grad_input=pc)
        return p.to(x.dtype), grad_t, None, None, None

    @staticmethod
    def jvp(ctx, x_t, t_t, _valid_t, _hard_t, _acc_t):  # type: ignore[override]
        # forward mode: the derivatives of the backward pass, applied to the tangents
        x, t, valid = ctx.saved_tensors
        p, tf = _sigmoid_plain(x, t, valid, ctx.acc)
        return sigmoid_tangents(p, tf, valid, ctx.hard, ctx.acc, x_t, t_t)
