"""Forward mode of the torch kernels: the tangents that the ``jvp`` rules of
`_torch.SoftmaxLabelStats` and `_torch_sigmoid.SigmoidDenseStats` return, and the test for a
forward-mode tangent that keeps `_lovasz_torch`'s kernel away from target tangents.

The tangents are computed from differentiable out-of-place torch ops, so that forward
over reverse (``torch.func.hessian``) and reverse over forward (``jacrev(jacfwd(f))``)
work; the ``jvp`` rules pass them the softmax or sigmoid recomputed from the saved
logits (the forward pass's probabilities may be overwritten by the in-place backward
pass).
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["may_have_tangent", "sigmoid_tangents", "softmax_tangents"]


def softmax_tangents(p: Any, safe: Any, binned: Any, valid: Any, acc: Any,
                     x_t: Any) -> tuple[Any, Any, None]:
    """The tangents of ``(I, Sp)`` for a tangent ``x_t`` of the logits (None: zero), from
    differentiable out-of-place ops (forward over reverse, reverse over forward); ``p``
    (N, C, P) is the masked softmax of the logits, which has no tangent output."""
    n, c, _ = p.shape
    if x_t is None:
        zeros = torch.zeros((n, c), dtype=acc, device=p.device)
        return zeros, zeros.clone(), None
    pt = p * x_t.to(acc)
    dp = pt - p * pt.sum(dim=1, keepdim=True)
    if valid is not None:
        dp = dp.masked_fill(~valid.unsqueeze(1), 0)
    dp_true = dp.gather(1, safe.unsqueeze(1)).squeeze(1)
    inter = torch.zeros((n, c + 1), dtype=acc, device=p.device).scatter_add(1, binned, dp_true)
    return inter[:, :c], dp.sum(dim=2), None


def sigmoid_tangents(p: Any, tf: Any, valid: Any, hard: bool, acc: Any, x_t: Any,
                     t_t: Any) -> tuple[Any, Any, Any, None]:
    """The tangents of ``(I, Sp, St)`` for tangents ``x_t`` of the logits and ``t_t`` of
    the targets (None: zero), from differentiable out-of-place ops: dI/dp and dI/dt of
    `_sigmoid_grads` (the L1 form's ``sign(0) = 0``). ``p`` and ``tf`` are the masked
    sigmoid and float targets; ``p`` has no tangent output."""
    zeros = torch.zeros_like(p)
    dp = zeros if x_t is None else p * (1 - p) * x_t.to(acc)
    dt = zeros if t_t is None else t_t.to(acc)
    if valid is not None:
        dp, dt = dp.masked_fill(~valid, 0), dt.masked_fill(~valid, 0)
    sign = torch.sign(p - tf)
    di_dp = tf if hard else 0.5 - 0.5 * sign
    inter = (di_dp * dp + (sign + 1) * 0.5 * dt).sum(dim=2)
    return inter, dp.sum(dim=2), dt.sum(dim=2), None


def may_have_tangent(t: Any) -> bool:
    """Whether ``t`` may carry a forward-mode tangent: a dual tensor of
    ``torch.autograd.forward_ad``, or a functorch-wrapped tensor while a forward-mode
    transform (``jvp``, ``jacfwd``, ``hessian``) runs."""
    if torch._C._functorch.is_functorch_wrapped_tensor(t):
        from torch._C._functorch import TransformType
        from torch._functorch.pyfunctorch import retrieve_all_functorch_interpreters

        return any(i.key() == TransformType.Jvp for i in retrieve_all_functorch_interpreters())
    forward_ad = torch.autograd.forward_ad
    return forward_ad._current_level >= 0 and forward_ad.unpack_dual(t).tangent is not None
