"""Whole-batch statistics of small inputs for the torch fast path (`_torch_overlap`):
the softmax/sigmoid statistics of `_torch`'s kernels and their lean backward passes in
a few operations over all samples at once, for inputs of at most
`_chunks.CHUNK_ELEMENTS` values (the bound of `_torch`'s per-sample blocks, so no
temporary is larger than theirs). Without ``per_image`` the statistics come out summed
over the batch, (C,), and take (C,) gradients; with it (N, C).

The formulas are those of `_torch.SoftmaxLabelStats` and `_torch_sigmoid.SigmoidDenseStats`
(see their backward passes); the gradients are written in place into the forward pass's
probability buffer (the caller calls them once, with grad mode off).
"""

from __future__ import annotations

from typing import Any

import torch

from . import _torch

__all__ = ["masked_sigmoid", "sigmoid_grad", "sigmoid_stats", "softmax_grad", "softmax_stats"]


def softmax_stats(x: Any, safe: Any, binned: Any, valid: Any, acc: Any,
                  per_image: bool) -> tuple[Any, Any, Any, Any, Any]:
    """``(I, Sp, St, p, p_true)`` of (N, C, P) logits ``x`` and (N, P) labels: ``safe``
    in [0, C), ``binned`` in [0, C] (C: not counted), ``valid`` (N, P) or None (masks
    the prediction). ``p`` is the softmax, ``p_true`` (N, 1, P) its value at the label."""
    n, c, pixels = x.shape
    p = torch.softmax(x, dim=1, dtype=acc)
    if valid is not None:
        p.masked_fill_(~valid.unsqueeze(1), 0)
    p_true = p.gather(1, safe.unsqueeze(1))
    if per_image:
        inter = torch.zeros((n, c + 1), dtype=acc, device=x.device)
        inter = inter.scatter_add_(1, binned, p_true.squeeze(1))[:, :c]
        ones = torch.ones((1, 1), dtype=torch.int64, device=x.device).expand(n, pixels)
        counts = torch.zeros((n, c + 1), dtype=torch.int64, device=x.device)
        counts = counts.scatter_add_(1, binned, ones)
        return inter, p.sum(dim=2), counts[:, :c].to(acc), p, p_true
    flat, bins = binned.reshape(-1), c if binned is safe else c + 1  # c + 1: a dump bin
    if not _torch._accelerator(x):
        inter = torch.bincount(flat, weights=p_true.reshape(-1), minlength=bins)
        counts = torch.bincount(flat, minlength=bins)
    else:  # bincount reads the largest value on the host
        inter = torch.zeros((bins,), dtype=acc, device=x.device)
        inter = inter.index_add_(0, flat, p_true.reshape(-1))
        counts = torch.zeros((bins,), dtype=acc, device=x.device)
        counts = counts.index_add_(0, flat, torch.ones_like(flat, dtype=acc))
    if bins > c:
        inter, counts = inter[:c], counts[:c]
    return inter, p.sum(dim=(0, 2)), counts.to(acc), p, p_true


def softmax_grad(p: Any, p_true: Any, safe: Any, binned: Any, valid: Any, g_inter: Any,
                 g_pred: Any) -> Any:
    """dL/dx (in ``p``'s dtype, written into ``p``) from the gradients of ``I`` and
    ``Sp``, (C,) or (N, C): with ``g_ci = v_i (gSp_c + gI_c [y_i = c])``,
    ``dL/dx_ci = p_ci (g_ci - s_i)`` and ``s_i = sum_k p_ki g_ki``."""
    n, c, _ = p.shape
    if g_inter.ndim == 1:  # summed over the batch: one gradient per class
        if binned is not safe:  # 0 in the dump bin
            g_inter = torch.cat([g_inter, g_inter.new_zeros((1,))])
        g_at = torch.take(g_inter, binned)
        s = torch.matmul(g_pred, p)  # (N, P)
        g_col = g_pred.view(1, c, 1)
    else:
        g_at = torch.cat([g_inter, g_inter.new_zeros((n, 1))], dim=1).gather(1, binned)
        s = torch.bmm(g_pred.unsqueeze(1), p).squeeze(1)
        g_col = g_pred.unsqueeze(2)
    pg = p_true.squeeze(1).mul_(g_at)  # p at the label times gI there (0 when not counted)
    s += pg
    p.mul_(g_col - s.unsqueeze(1))
    p.scatter_add_(1, safe.unsqueeze(1), pg.unsqueeze(1))
    if valid is not None:
        p.masked_fill_(~valid.unsqueeze(1), 0)
    return p


def masked_sigmoid(x: Any, t: Any, valid: Any, acc: Any) -> tuple[Any, Any]:
    """``sigmoid(x)`` (a fresh tensor) and the targets, both as ``acc`` with 0 at the
    ignored pixels (``valid`` false)."""
    p = torch.sigmoid(x.to(acc))
    tf = t.to(acc)
    if valid is not None:
        hide = ~valid
        p.masked_fill_(hide, 0)
        tf = tf.masked_fill(hide, 0)
    return p, tf


def sigmoid_stats(x: Any, t: Any, valid: Any, hard: bool, acc: Any,
                  per_image: bool) -> tuple[Any, Any, Any, Any, Any]:
    """``(I, Sp, St, p, tf)`` of (N, C, P) logits and targets: ``p`` the sigmoid and
    ``tf`` the float targets (0 at ignored pixels, as ``p``); ``I`` the product sum
    (``hard``) or smp's L1 form ``(Sp + St - sum|p - t|) / 2``."""
    p, tf = masked_sigmoid(x, t, valid, acc)
    dims: Any = 2 if per_image else (0, 2)
    pred_sum, target_sum = p.sum(dim=dims), tf.sum(dim=dims)
    if hard:
        inter = (p * tf).sum(dim=dims)
    else:
        inter = (pred_sum + target_sum - (tf - p).abs_().sum(dim=dims)) / 2
    return inter, pred_sum, target_sum, p, tf


def sigmoid_grad(p: Any, tf: Any, t: Any, valid: Any, hard: bool, g_inter: Any,
                 g_pred: Any, g_target: Any) -> tuple[Any, Any]:
    """``(dL/dx, dL/dt)`` (the second None unless ``g_target`` is given), dL/dx in
    ``p``'s dtype and written into ``p``: dI/dp = t (``hard``) or (1 - sign(p - t)) / 2,
    dSp/dp = 1, times the sigmoid's ``p (1 - p)`` (0 at ignored pixels, where p = 0)."""
    shape = (1, -1, 1) if g_inter.ndim == 1 else (*g_inter.shape, 1)
    gi, gp = g_inter.view(shape), g_pred.view(shape)
    sign = None if hard and g_target is None else (p - tf).sign_()
    if hard:
        g = torch.addcmul(gp, tf, gi)
    else:
        g = torch.addcmul(gp + 0.5 * gi, sign, -0.5 * gi)  # type: ignore[arg-type]
    grad_t = None
    if g_target is not None:  # soft targets: dSt/dt = 1, dI/dt = (1 + sign) / 2
        grad_t = sign.add_(1).mul_(0.5 * gi).add_(g_target.view(shape))  # type: ignore[union-attr]
        if valid is not None:
            grad_t.masked_fill_(~valid, 0)
        grad_t = grad_t.to(t.dtype)
    return torch.ops.aten.sigmoid_backward.grad_input(g, p, grad_input=p), grad_t
