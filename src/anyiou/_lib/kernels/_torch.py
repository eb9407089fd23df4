"""torch kernels: fused autograd functions for the loss statistics, gathers and
scatter-adds for the label sums.

`SoftmaxLabelStats` and `SigmoidDenseStats` keep one logits-sized buffer (the softmax or
sigmoid output), which their backward pass turns into the gradient in place; on CPU
their broadcast temporaries are bounded by pixel chunks (`_chunks.pixel_chunks`).
"""

from __future__ import annotations

from typing import Any

import torch

from ._chunks import pixel_chunks

__all__ = [
    "SigmoidDenseStats",
    "SoftmaxLabelStats",
    "clip",
    "row_bincount",
    "sigmoid",
    "sigmoid_dense_stats",
    "softmax",
    "softmax_label_stats",
    "sort_along_last",
    "take_labels",
]


def softmax(xp: Any, x: Any, axis: int) -> Any:
    return torch.softmax(x, dim=axis)


def sigmoid(xp: Any, x: Any) -> Any:
    return torch.sigmoid(x)


def take_labels(xp: Any, p: Any, labels: Any) -> Any:
    """``p[n, labels[n, i], i]`` as one ``torch.gather``."""
    return torch.gather(p, 1, labels.to(torch.int64).unsqueeze(1)).squeeze(1)


def row_bincount(
    xp: Any, labels: Any, num_bins: int, weights: Any | None = None, *, scratch: bool = False
) -> Any:
    """Per-row histogram (N, num_bins): a scatter-add of ``weights`` (differentiable), or
    counts. On CPU the counts are taken one row at a time (no (N, P) int64 temporary);
    elsewhere, or when ``labels`` is the caller's ``scratch`` temporary (offsets added in
    place), as one ``bincount`` with row offsets (no Python loop on a GPU)."""
    n = labels.shape[0]
    idx = labels.to(torch.int64)
    if weights is not None:
        out = torch.zeros((n, num_bins), dtype=weights.dtype, device=weights.device)
        return out.scatter_add(1, idx, weights)
    if labels.device.type == "cpu" and not scratch:
        rows = [torch.bincount(row, minlength=num_bins) for row in idx]
        return torch.stack(rows) if rows else labels.new_zeros((0, num_bins))
    offsets = torch.arange(n, device=labels.device).unsqueeze(1) * num_bins
    flat = (idx.add_(offsets) if scratch and idx is labels else idx + offsets).reshape(-1)
    return torch.bincount(flat, minlength=n * num_bins).reshape(n, num_bins)


def clip(xp: Any, x: Any, lo: int, hi: int) -> Any:
    """Integer clip; on CPU no copy when the values are in range (the usual case)."""
    if x.device.type == "cpu" and x.numel():
        x_min, x_max = torch.aminmax(x)
        if x_min >= lo and x_max <= hi:
            return x
    return torch.clamp(x, lo, hi)


def sort_along_last(xp: Any, key: Any, *arrays: Any) -> tuple[Any, ...]:
    """Descending stable argsort, then ``torch.gather`` (the compat ``take_along_axis``
    rewrites the indices into two fresh int64 arrays per call)."""
    perm = xp.argsort(key, axis=-1, descending=True, stable=True)
    return tuple(torch.gather(a, -1, perm) for a in arrays)


def softmax_label_stats(
    xp: Any, logits: Any, safe: Any, binned: Any, valid: Any, acc: Any, class_last: bool
) -> tuple[Any, Any]:
    """The router's ``softmax_label_stats`` as `SoftmaxLabelStats`."""
    return SoftmaxLabelStats.apply(
        logits, safe.to(torch.int64), binned.to(torch.int64), valid, acc
    )


def sigmoid_dense_stats(
    xp: Any, logits: Any, t: Any, valid: Any, hard: bool, acc: Any
) -> tuple[Any, Any, Any]:
    """The router's ``sigmoid_dense_stats`` as `SigmoidDenseStats`."""
    return SigmoidDenseStats.apply(logits, t, valid, hard, acc)


class SoftmaxLabelStats(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, safe, binned, valid, acc):  # type: ignore[override]
        n, c, _ = x.shape
        p = torch.softmax(x, dim=1, dtype=acc)
        if valid is not None:  # ignored pixels predict 0 (also hides NaN logits there)
            p.masked_fill_(~valid.unsqueeze(1), 0)
        p_true = p.gather(1, safe.unsqueeze(1)).squeeze(1)
        inter = torch.zeros((n, c + 1), dtype=acc, device=x.device)
        inter = inter.scatter_add_(1, binned, p_true)[:, :c]
        pred_sum = p.sum(dim=2)
        # p (an intermediate, not an input or output, so outside autograd's version
        # tracking) is kept for the backward pass, which turns it into the gradient.
        ctx.save_for_backward(x, safe, binned, valid)
        ctx.acc = acc
        ctx.probs = p
        return inter, pred_sum

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g_inter, g_pred):  # type: ignore[override]
        # L depends on p = softmax(x) through Sp_c = sum_i v_i p_ci and
        # I_c = sum_i v_i p_ci [y_i = c], so dL/dp_ci = v_i (gSp_c + gI_c [y_i = c]) =: g_ci
        # and dL/dx_ci = p_ci (g_ci - s_i) with s_i = sum_k p_ki g_ki.
        x, safe, binned, valid = ctx.saved_tensors
        n, c, _ = x.shape
        p, ctx.probs = ctx.probs, None
        if p is None:  # a second backward (retain_graph=True): p was consumed
            p = torch.softmax(x, dim=1, dtype=ctx.acc)
            if valid is not None:
                p.masked_fill_(~valid.unsqueeze(1), 0)
        if g_inter is None:
            g_inter = torch.zeros((n, c), dtype=ctx.acc, device=x.device)
        if g_pred is None:
            g_pred = torch.zeros((n, c), dtype=ctx.acc, device=x.device)
        g_pad = torch.cat([g_inter, g_inter.new_zeros((n, 1))], dim=1)
        s = torch.bmm(g_pred.unsqueeze(1), p).squeeze(1)
        # p_true * gI at each pixel's label (0 when ignored), in place: (N, P) buffers only
        pg_true = p.gather(1, safe.unsqueeze(1)).squeeze(1).mul_(g_pad.gather(1, binned))
        s.add_(pg_true)
        g_col = g_pred.unsqueeze(2)
        for i, lo, hi in pixel_chunks(n, c, x.shape[2]):  # small (C, chunk) temporaries
            p[i, :, lo:hi].mul_(g_col[i] - s[i, lo:hi])
        p.scatter_add_(1, safe.unsqueeze(1), pg_true.unsqueeze(1))
        if valid is not None:
            p.masked_fill_(~valid.unsqueeze(1), 0)
        return p.to(x.dtype), None, None, None, None



def _target(t: Any, valid: Any, acc: Any) -> Any:
    # a float copy of one chunk (t.to(acc) may return the caller's own tensor)
    tf = t.to(acc, copy=True)
    return tf if valid is None else tf.masked_fill_(~valid, 0)

def _chunk(a: Any, i: int, lo: int, hi: int) -> Any:
    return None if a is None else a[i, :, lo:hi]


class SigmoidDenseStats(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, t, valid, hard, acc):  # type: ignore[override]
        n, c, pixels = x.shape
        p = torch.sigmoid(x.to(acc))
        if valid is not None:  # ignored pixels predict 0 (also hides NaN logits there)
            p.masked_fill_(~valid, 0)
        pred_sum = p.sum(dim=2)
        inter, target_sum = torch.zeros_like(pred_sum), torch.zeros_like(pred_sum)
        for i, lo, hi in pixel_chunks(n, c, pixels):
            pc = p[i, :, lo:hi]
            tf = _target(t[i, :, lo:hi], _chunk(valid, i, lo, hi), acc)
            target_sum[i] += tf.sum(dim=1)
            if hard:
                inter[i] += torch.einsum("cp,cp->c", pc, tf)
            else:  # L1 form: (Sp + St - sum|p - t|) / 2, assembled below
                inter[i] -= tf.sub_(pc).abs_().sum(dim=1)
        if not hard:
            inter = (inter + pred_sum + target_sum) / 2
        ctx.save_for_backward(x, t, valid)
        ctx.acc, ctx.hard, ctx.probs = acc, hard, p
        return inter, pred_sum, target_sum

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g_inter, g_pred, g_target):  # type: ignore[override]
        # dI/dp = t (hard) or (1 - sign(p - t)) / 2 (L1 form); dSp/dp = 1; then the
        # sigmoid's p (1 - p), which is 0 where ignored pixels were set to p = 0.
        x, t, valid = ctx.saved_tensors
        n, c, pixels = x.shape
        p, ctx.probs = ctx.probs, None
        if p is None:  # a second backward (retain_graph=True)
            p = torch.sigmoid(x.to(ctx.acc))
            if valid is not None:
                p.masked_fill_(~valid, 0)
        zeros = x.new_zeros((n, c), dtype=ctx.acc)
        gi = (zeros if g_inter is None else g_inter).unsqueeze(2)
        gp = (zeros if g_pred is None else g_pred).unsqueeze(2)
        grad_t = None
        if ctx.needs_input_grad[1]:  # soft targets: dSt/dt = 1, dI/dt = (1 + sign) / 2
            gt = (zeros if g_target is None else g_target).unsqueeze(2)
            grad_t = (p - t.to(ctx.acc)).sign_().add_(1).mul_(0.5 * gi).add_(gt)
            if valid is not None:
                grad_t.masked_fill_(~valid, 0)
            grad_t = grad_t.to(t.dtype)
        for i, lo, hi in pixel_chunks(n, c, pixels):
            pc = p[i, :, lo:hi]
            g = _target(t[i, :, lo:hi], _chunk(valid, i, lo, hi), ctx.acc)
            if ctx.hard:
                g.mul_(gi[i]).add_(gp[i])
            else:
                g.neg_().add_(pc).sign_().mul_(-0.5 * gi[i]).add_(gp[i] + 0.5 * gi[i])
            torch.ops.aten.sigmoid_backward.grad_input(g, pc, grad_input=pc)
        return p.to(x.dtype), grad_t, None, None, None

