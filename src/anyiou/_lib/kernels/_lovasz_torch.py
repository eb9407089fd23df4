"""torch kernel of the Lovasz extension: one sort per row, the weights computed in sorted
order and scattered back once, as a `LovaszExtension` autograd function.

Order of the pixels (it decides the gradient where errors tie; the value does not depend
on it): decreasing error, ties in increasing position along the row; errors at or below
zero in the hinge (which count 0) tie at 0; ignored pixels come last. This is the stable
descending order of the pure array-API path.

The sort key is an integer: a non-negative float orders like its bit pattern, so
``TOP - bits(max(e, 0))`` sorts ascending in the wanted order, and on CPU torch sorts a
1-D tensor of non-negative integers with a parallel radix sort (2-3x faster than its
comparison sort of the floats). Long rows are therefore sorted one at a time, each row's
temporaries (key, permutation, weights) released before the next; the weights, scattered
back to the pixels' positions, are the one errors-sized buffer kept for the backward
pass (the gradient is ``weights * grad``, the weights being constant between ties).

Transforms: ``torch.func`` (``generate_vmap_rule``; the functorch-wrapped tensors take
the vectorised path, one float sort of all rows, same order), forward mode (a ``jvp``
rule: the weights times the tangent; with a tangent of ``g`` the router's composition
runs, as with a gradient for ``g``), double backward (the
backward is a differentiable product with the constant weights), ``torch.compile`` (the
kernel leaves the loss to the array-API composition while dynamo traces).

A layer of the router's table over `_torch`: the router asks it first for torch
tensors, and it defines only `lovasz_extension`.
"""

from __future__ import annotations

from typing import Any

import torch

from . import _standard
from ._torch import _lean, _transformed
from ._torch_forward import may_have_tangent

__all__ = ["LovaszExtension", "lovasz_extension"]

#: rows at least this long on CPU are sorted one at a time with an integer key
ROW_LOOP_MIN = 1 << 14

_INT = {torch.float32: torch.int32, torch.float64: torch.int64}
_MASK = {torch.int32: 0x7FFFFFFF, torch.int64: 0x7FFFFFFFFFFFFFFF}  # drops the sign bit


def lovasz_extension(xp: Any, x: Any, g: Any, valid: Any, hinge: bool, probs: bool) -> Any:
    """Lovasz extension of each row ``x[b, k]`` (flattened), (B, K, ...) -> (B, K); with
    ``probs``, ``x`` holds probabilities and ``g`` bool, and the errors are
    ``|g - x|``. The array-API composition (`_standard.lovasz_extension`) while dynamo
    traces, for dtypes without an integer twin, or when a gradient with respect to ``g``
    is asked for (the weights here are constants)."""
    if (torch.compiler.is_compiling() or x.dtype not in _INT or g.requires_grad
            or may_have_tangent(g)):
        return _standard.lovasz_extension(xp, x, g, valid, hinge, probs)
    return LovaszExtension.apply(x, g, valid, hinge, probs)[0]


def _sorted_weights(g_sorted: Any, g_total: Any, n_valid: Any | None) -> Any:
    """``J_k - J_{k-1}`` along the last axis from the sorted ground truth (ignored pixels
    last with g 0): ``J_k = seen_k / (G + seen_k - sum_{j<=k} g_j)``, 0 where the
    denominator is 0 (before any valid pixel)."""
    length = g_sorted.shape[-1]
    seen = torch.arange(1, length + 1, dtype=g_sorted.dtype, device=g_sorted.device)
    if n_valid is not None:
        seen = torch.minimum(seen, n_valid)
    union = g_total + (seen - torch.cumsum(g_sorted, dim=-1))
    ok = union != 0
    jaccard = torch.where(ok, seen / torch.where(ok, union, 1), 0)
    return torch.diff(jaccard, dim=-1, prepend=torch.zeros_like(jaccard[..., :1]))


def _contrib(e: Any, v: Any, hinge: bool) -> Any:
    """The counted error: 0 at ignored pixels and, in the hinge, where ``e <= 0`` (NaN
    kept)."""
    keep = ~(e <= 0) if hinge else None
    if v is not None:
        keep = v if keep is None else keep & v
    return e if keep is None else torch.where(keep, e, 0)


def _vectorised(x: Any, g: Any, valid: Any, hinge: bool, probs: bool) -> tuple[Any, Any]:
    """Every row at once with out-of-place ops (any device, any transform): a stable
    descending float sort of the counted errors (ignored pixels keyed -1)."""
    n, k = x.shape[:2]
    errors = (torch.where(g, 1 - x, x) if probs else x).reshape(n, k, -1)
    g = g.expand(x.shape).reshape(n, k, -1)
    valid = None if valid is None else valid.expand(x.shape).reshape(n, k, -1)
    contrib = _contrib(errors, valid, hinge)
    key = contrib if valid is None else torch.where(valid, contrib, -1)
    e_sorted, perm = torch.sort(key, dim=-1, descending=True, stable=True)
    if valid is not None:
        e_sorted = torch.clamp(e_sorted, min=0)  # ignored: 0 (keeps NaN)
    g_sorted = torch.gather(g, -1, perm).to(x.dtype)
    n_valid = None if valid is None else valid.sum(dim=-1, keepdim=True, dtype=x.dtype)
    w = _sorted_weights(g_sorted, g.sum(dim=-1, keepdim=True, dtype=x.dtype), n_valid)
    losses = (e_sorted * w).sum(dim=-1)
    if hinge:  # relu: no gradient where the error is <= 0 (NaN kept)
        w = torch.where(e_sorted <= 0, 0, w)
    weights = torch.zeros_like(w).scatter(-1, perm, w)
    if probs:  # d|g - p| / dp = -1 where g, else 1
        weights = torch.where(g, -weights, weights)
    return losses, weights.reshape(x.shape)


def _by_rows(x: Any, g: Any, valid: Any, hinge: bool, probs: bool) -> tuple[Any, Any]:
    """CPU, plain tensors: one integer radix sort per row; the weights are computed on
    the counted prefix of the sorted row only (past it they are 0), and every temporary
    is row-sized (also the errors, with ``probs``)."""
    n, k = x.shape[:2]
    length = x[0, 0].numel()
    itype = _INT[x.dtype]
    mask = _MASK[itype]
    top = mask - 1  # key of error 0; ignored pixels get top + 1
    # the counted pixels are the keys below `top` (hinge: error > 0 or NaN), or up to it
    bound = torch.tensor(top if hinge else top + 1, dtype=itype)
    seen = torch.arange(1, length + 1, dtype=x.dtype)
    g_total = g.sum(dim=tuple(range(2, g.ndim)), dtype=x.dtype)
    losses = x.new_zeros((n, k))
    weights = torch.empty_like(x)  # x's layout (strides): the gradient's
    for b in range(n):
        for c in range(k):
            gr = g[b, c].reshape(-1)
            e = torch.where(gr, 1 - x[b, c].reshape(-1), x[b, c].reshape(-1)) if probs else (
                x[b, c].reshape(-1))
            key = e.view(itype) & mask  # |e| bits: -0.0 and 0.0 alike
            if hinge:
                key.masked_fill_(e <= 0, 0)
            del e
            key.neg_().add_(top)
            if valid is not None:
                key.masked_fill_(~valid[b, c].reshape(-1), top + 1)
            sorted_key, perm = torch.sort(key, stable=True)
            del key
            m = int(torch.searchsorted(sorted_key, bound))
            out = weights[b, c]
            flat = out.view(-1) if out.is_contiguous() else torch.empty(length, dtype=x.dtype)
            flat.zero_()
            if m > 0:
                perm = perm[:m]
                # J_k = seen_k / (G + seen_k - cumsum(g)_k); union >= seen_k >= 1 here
                jac = torch.cumsum(gr[perm], dim=0, dtype=x.dtype)
                torch.sub(seen[:m], jac, out=jac).add_(g_total[b, c])
                torch.div(seen[:m], jac, out=jac)
                w = torch.empty_like(jac)
                w[0] = jac[0]
                torch.sub(jac[1:], jac[:-1], out=w[1:])
                del jac
                e_sorted = sorted_key[:m].neg_().add_(top).view(x.dtype)
                losses[b, c] = torch.dot(e_sorted, w)
                if probs:  # d|g - p| / dp = -1 where g, else 1
                    w = torch.where(gr[perm], -w, w)
                flat.scatter_(0, perm, w)
                del e_sorted, w
            if flat.data_ptr() != out.data_ptr():
                out.copy_(flat.view(out.shape))
            del sorted_key, perm, flat
    return losses, weights


def _forward(x: Any, g: Any, valid: Any, hinge: bool, probs: bool) -> tuple[Any, Any]:
    if valid is not None:
        valid = valid.expand(x.shape)  # a view
    rows = (not _transformed(x, g, valid) and x.device.type == "cpu"
            and x[0, 0].numel() >= ROW_LOOP_MIN)
    if rows:
        return _by_rows(x, g, valid, hinge, probs)
    return _vectorised(x, g, valid, hinge, probs)


class LovaszExtension(torch.autograd.Function):
    """``(losses, weights)``: ``losses`` (B, K) and the gradient of each row's loss with
    respect to ``x`` (x's shape), a non-differentiable output the backward pass
    multiplies by the incoming gradient."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x, g, valid, hinge, probs):  # type: ignore[override]
        with torch.no_grad():
            return _forward(x, g, valid, hinge, probs)

    @staticmethod
    def setup_context(ctx, inputs, output):  # type: ignore[override]
        x, g, valid, hinge, probs = inputs
        # the inputs, to recompute the weights where they were consumed (a second
        # backward: retain_graph=True, gradcheck) or for a transform; with probs, x is
        # the softmax output its own backward keeps anyway
        ctx.save_for_backward(x, g, valid)
        ctx.save_for_forward(x, g, valid)  # the same tuple (functorch's vmap)
        ctx.mark_non_differentiable(output[1])
        ctx.set_materialize_grads(False)
        ctx.hinge, ctx.probs = hinge, probs
        # kept outside autograd's version tracking: the lean backward overwrites them
        ctx.weights = None if _transformed(x, g, valid) else output[1]

    @staticmethod
    def backward(ctx, g_losses, _g_weights):  # type: ignore[override]
        x, g, valid = ctx.saved_tensors
        if g_losses is None:
            return None, None, None, None, None
        scale = g_losses.reshape(g_losses.shape + (1,) * (x.ndim - 2))
        weights = ctx.weights
        if weights is not None and _lean(weights, g_losses):
            ctx.weights = None  # the weights become the gradient
            return weights.mul_(scale), None, None, None, None
        if weights is None:
            with torch.no_grad():
                weights = _forward(x, g, valid, ctx.hinge, ctx.probs)[1]
        # differentiable in g_losses (double backward); the weights are constants
        return weights * scale, None, None, None, None

    @staticmethod
    def jvp(ctx, x_t, _g_t, _valid_t, _hinge_t, _probs_t):  # type: ignore[override]
        # forward mode: each row's loss is linear in x between ties, d loss = sum(w * dx)
        x, g, valid = ctx.saved_tensors
        if x_t is None:
            return x.new_zeros(x.shape[:2]), None
        weights = ctx.weights
        if weights is None:  # a transform: recomputed (the vectorised path)
            with torch.no_grad():
                weights = _forward(x, g, valid, ctx.hinge, ctx.probs)[1]
        n, k = x.shape[:2]
        return (weights * x_t).reshape(n, k, -1).sum(dim=-1), None
