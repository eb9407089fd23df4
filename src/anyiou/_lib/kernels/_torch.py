"""torch kernels: the fused autograd function of the softmax + label statistics,
gathers and scatter-adds for the label sums, and the helpers the other torch kernel
modules share (the accelerator switch, the transform tests, the pixel blocks).

`SoftmaxLabelStats` (and `_torch_sigmoid.SigmoidDenseStats`, a layer of the router's
table over this module) keep one logits-sized buffer (the softmax or sigmoid output),
which a plain ``.backward()`` turns into the gradient in place; their broadcast
temporaries are bounded by pixel blocks (`_blocks`, `_chunks.pixel_blocks`): per-sample
chunks on the CPU, a fixed number of blocks over all samples on an accelerator
(`_accelerator`), where no Python loop grows with the input: the operations launched
per forward and backward pass are the same for any N, C and P.

Every torch transform works on them (see ``docs/errors.md``):

* ``torch.func`` (``grad``, ``vmap``, ``jacrev``, ...): the functions use the
  ``forward`` + ``setup_context`` form with ``generate_vmap_rule``; on functorch-wrapped
  tensors they write nothing in place;
* forward mode (``torch.func.jvp``, ``jacfwd``, ``hessian``, ``torch.autograd.forward_ad``
  dual tensors): a ``jvp`` rule each, from differentiable out-of-place ops (it recomputes
  ``p`` from the saved logits), so forward over reverse and reverse over forward work;
* double backward (``create_graph=True``): with grad mode on, the backward pass computes
  the gradient out of place from differentiable torch ops, so it can be differentiated;
* ``torch.compile``: while dynamo traces, the kernels are the plain torch ops (no
  autograd Function, no data-dependent shapes) and the compiler derives the backward;
* ``torch.autocast``: the statistics are computed with autocast off, in float32 (or
  float64).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import torch

from ._chunks import pixel_blocks
from ._torch_forward import softmax_tangents

__all__ = [
    "SoftmaxLabelStats",
    "clip",
    "cumulative_sum",
    "row_bincount",
    "sigmoid",
    "softmax",
    "softmax_label_stats",
    "sort_along_last",
    "take_labels",
    "values_checkable",
]


def softmax(xp: Any, x: Any, axis: int) -> Any:
    return torch.softmax(x, dim=axis)


def cumulative_sum(xp: Any, x: Any) -> Any:
    """``torch.cumsum`` (the compat ``cumulative_sum`` looks the namespace up again)."""
    return torch.cumsum(x, dim=-1)


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
    if _transformed(labels):  # bincount's length depends on the values: a static scatter
        out = torch.zeros((n, num_bins), dtype=torch.int64, device=labels.device)
        return out.scatter_add(1, idx, torch.ones_like(idx))
    if not _accelerator(labels) and not scratch:
        rows = [torch.bincount(row, minlength=num_bins) for row in idx]
        return torch.stack(rows) if rows else labels.new_zeros((0, num_bins))
    offsets = torch.arange(n, device=labels.device).unsqueeze(1) * num_bins
    flat = (idx.add_(offsets) if scratch and idx is labels else idx + offsets).reshape(-1)
    return torch.bincount(flat, minlength=n * num_bins).reshape(n, num_bins)


def value_range(xp: Any, x: Any) -> tuple[Any, Any]:
    """One ``aminmax`` pass (the namespace's ``min`` calls ``amin``, which is about 15x
    slower than ``amax`` for int64 on CPU)."""
    return torch.aminmax(x)


def clip(xp: Any, x: Any, lo: int, hi: int) -> Any:
    """Integer clip; on CPU no copy when the values are in range (the usual case)."""
    if not _accelerator(x) and x.numel() and not _transformed(x):
        x_min, x_max = torch.aminmax(x)
        if x_min >= lo and x_max <= hi:
            return x
    return torch.clamp(x, lo, hi)


def sort_along_last(xp: Any, key: Any, *arrays: Any) -> tuple[Any, ...]:
    """Descending stable argsort, then ``torch.gather`` (the compat ``take_along_axis``
    rewrites the indices into two fresh int64 arrays per call)."""
    perm = xp.argsort(key, axis=-1, descending=True, stable=True)
    return tuple(torch.gather(a, -1, perm) for a in arrays)


#: ``ANYIOU_ACCELERATOR_PATH=1`` (read once, at import): CPU tensors take the accelerator
#: path too, with the eager value checks off as on a GPU (`values_checkable`), so a whole
#: test or benchmark run on a CPU executes the code a GPU runs.
FORCE_ACCELERATOR_PATH = os.environ.get("ANYIOU_ACCELERATOR_PATH", "") == "1"


def _accelerator(x: Any) -> bool:
    """Whether ``x`` is on an accelerator (any device but the CPU): the kernels then take
    no per-row or per-chunk loop and read no value on the host. The one place the device
    decides a code path (the tests patch it, or set ``ANYIOU_ACCELERATOR_PATH=1``, to run
    that path on CPU tensors)."""
    return FORCE_ACCELERATOR_PATH or x.device.type != "cpu"


def _transformed(*tensors: Any) -> bool:
    """True while ``torch.compile`` or ``torch.jit.trace`` traces, or when a tensor is
    wrapped by a transform (`_wrapped`): no in-place writes and no data-dependent shapes
    then."""
    if torch.compiler.is_compiling() or torch.jit.is_tracing():
        return True
    return any(t is not None and _wrapped(t) for t in tensors)


def _wrapped(t: Any) -> bool:
    """A functorch wrapper (``torch.func`` transforms) or a batched tensor of the legacy
    vmap (``gradcheck(check_batched_grad=True)``)."""
    return (torch._C._functorch.is_functorch_wrapped_tensor(t)
            or torch._C._functorch.is_legacy_batchedtensor(t))


def _lean(*tensors: Any) -> bool:
    """Whether a backward pass may take the in-place, memory-lean path: plain tensors and
    grad mode off (``create_graph=True`` and the functorch transforms need the gradient
    as a differentiable function of the inputs)."""
    return not torch.is_grad_enabled() and not _transformed(*tensors)


def _no_autocast(device: Any) -> Any:
    """A context without autocast on ``device`` (the sums stay in float32)."""
    kind = device.type
    if kind in ("cpu", "cuda", "xpu", "mps") and torch.is_autocast_enabled(kind):
        return torch.autocast(kind, enabled=False)
    return contextlib.nullcontext()


def softmax_label_stats(
    xp: Any, logits: Any, safe: Any, binned: Any, valid: Any, acc: Any, class_last: bool
) -> tuple[Any, Any]:
    """The router's ``softmax_label_stats`` as `SoftmaxLabelStats` (plain ops while
    ``torch.compile`` traces)."""
    safe, binned = safe.to(torch.int64), binned.to(torch.int64)
    with _no_autocast(logits.device):
        if torch.compiler.is_compiling():
            inter, pred_sum, *_ = _softmax_forward(logits, safe, binned, valid, acc, False)
        else:
            inter, pred_sum, *_ = SoftmaxLabelStats.apply(logits, safe, binned, valid, acc)
    return inter, pred_sum


# -- pixel blocks -------------------------------------------------------------------------


def _blocks(x: Any, dtype: Any) -> tuple[list[tuple[Any, int, int]], Any]:
    """The pixel blocks of (N, C, P) ``x`` (`_chunks.pixel_blocks`) and one float buffer
    of the largest block's size, which every block's temporary reuses: no allocation per
    block (on a CPU, freed blocks of a few MiB stayed in glibc's heap and raised the
    resident peak by up to half the logits)."""
    n, c, pixels = x.shape
    blocks = list(pixel_blocks(n, c, pixels, _accelerator(x)))
    rows = n if blocks and isinstance(blocks[0][0], slice) else 1
    largest = max((rows * c * (hi - lo) for _, lo, hi in blocks), default=0)
    return blocks, torch.empty((largest,), dtype=dtype, device=x.device)


def _like(buffer: Any, block: Any) -> Any:
    """The first elements of ``buffer`` viewed with ``block``'s shape (contiguous)."""
    return buffer[: block.numel()].view(block.shape)


# -- softmax + label statistics -----------------------------------------------------------


def _softmax_probs(x: Any, valid: Any, acc: Any, inplace: bool) -> Any:
    """softmax over the classes; ignored pixels predict 0 (also hides NaN logits there)."""
    p = torch.softmax(x, dim=1, dtype=acc)
    if valid is None:
        return p
    return _hide(p, valid) if inplace else p.masked_fill(~valid.unsqueeze(1), 0)


def _hide(a: Any, valid: Any) -> Any:
    """``a`` (N, C, P) with 0 at the ignored pixels (``valid`` (N, P) false), in place.
    On a CPU by the indices of the ignored pixels: a ``masked_fill_`` with the (N, 1, P)
    mask broadcast over the classes reads the mask once per class and took several
    times a softmax's time; on an accelerator ``masked_fill_`` (no host-side shapes)."""
    if _accelerator(a):
        return a.masked_fill_(~valid.unsqueeze(1), 0)
    rows, pixels = torch.nonzero(~valid, as_tuple=True)
    return a.transpose(1, 2).index_put_((rows, pixels), a.new_zeros(())).transpose(1, 2)


def _finite_cpu(*grads: Any) -> bool:
    """Whether the incoming (N, C) gradients are finite, on a CPU (False on an
    accelerator: no host read). p is 0 at the ignored pixels since the forward pass, so
    with finite gradients the backward pass leaves 0 there and need not mask again."""
    if _accelerator(grads[0]):
        return False
    return all(bool(torch.isfinite(g).all()) for g in grads)


def _softmax_forward(x: Any, safe: Any, binned: Any, valid: Any, acc: Any, inplace: bool) -> Any:
    """``(I, Sp, p, p_true)`` (``p_true`` (N, P): ``p`` at each pixel's label, which the
    lean backward pass reuses): differentiable torch ops (in place only on the fresh
    ``p``)."""
    n, c, _ = x.shape
    p = _softmax_probs(x, valid, acc, inplace)
    p_true = p.gather(1, safe.unsqueeze(1)).squeeze(1)
    inter = torch.zeros((n, c + 1), dtype=acc, device=x.device).scatter_add(1, binned, p_true)
    return inter[:, :c], p.sum(dim=2), p, p_true


def _softmax_grad(x: Any, safe: Any, binned: Any, valid: Any, acc: Any, g_inter: Any,
                  g_pred: Any) -> Any:
    """dL/dx out of place, from differentiable ops on ``x`` and the incoming gradients
    (the formula of `SoftmaxLabelStats.backward`)."""
    n = x.shape[0]
    p = _softmax_probs(x, valid, acc, False)
    g_pad = torch.cat([g_inter, torch.zeros_like(g_inter[:, :1])], dim=1)
    pg_true = p.gather(1, safe.unsqueeze(1)).squeeze(1) * g_pad.gather(1, binned)
    s = torch.bmm(g_pred.reshape(n, 1, -1), p).squeeze(1) + pg_true
    grad = p * (g_pred.unsqueeze(2) - s.unsqueeze(1))
    grad = grad.scatter_add(1, safe.unsqueeze(1), pg_true.unsqueeze(1))
    return grad if valid is None else grad.masked_fill(~valid.unsqueeze(1), 0)


class SoftmaxLabelStats(torch.autograd.Function):
    """``(I, Sp, p, p_true)`` of softmax(x) and labels; ``p`` and ``p_true`` are
    non-differentiable outputs the backward pass reuses (the public wrapper drops
    them)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x, safe, binned, valid, acc):  # type: ignore[override]
        return _softmax_forward(x, safe, binned, valid, acc, not _transformed(x, valid))

    @staticmethod
    def setup_context(ctx, inputs, output):  # type: ignore[override]
        x, safe, binned, valid, acc = inputs
        ctx.save_for_backward(x, safe, binned, valid)
        ctx.save_for_forward(x, safe, binned, valid)  # the same tuple (functorch's vmap)
        ctx.mark_non_differentiable(output[2], output[3])
        ctx.set_materialize_grads(False)  # no logits-sized zero gradient for p
        # p and p_true are kept outside autograd's version tracking: the lean backward
        # overwrites them.
        ctx.acc, ctx.probs, ctx.true = acc, output[2], output[3]

    @staticmethod
    def backward(ctx, g_inter, g_pred, _g_probs, _g_true):  # type: ignore[override]
        # L depends on p = softmax(x) through Sp_c = sum_i v_i p_ci and
        # I_c = sum_i v_i p_ci [y_i = c], so dL/dp_ci = v_i (gSp_c + gI_c [y_i = c]) =: g_ci
        # and dL/dx_ci = p_ci (g_ci - s_i) with s_i = sum_k p_ki g_ki.
        x, safe, binned, valid = ctx.saved_tensors
        n, c, _ = x.shape
        p, ctx.probs = ctx.probs, None
        p_true, ctx.true = getattr(ctx, "true", None), None
        if g_inter is None:
            g_inter = torch.zeros((n, c), dtype=ctx.acc, device=x.device)
        if g_pred is None:
            g_pred = torch.zeros((n, c), dtype=ctx.acc, device=x.device)
        if not _lean(x, g_inter, g_pred):  # differentiable, out of place
            grad = _softmax_grad(x, safe, binned, valid, ctx.acc, g_inter, g_pred)
            return grad.to(x.dtype), None, None, None, None
        if p is None:  # a second backward (retain_graph=True): p was consumed
            p = _softmax_probs(x, valid, ctx.acc, True)
            p_true = None
        if p_true is None:
            p_true = p.gather(1, safe.unsqueeze(1)).squeeze(1)
        # pg_i = p_i gI_{y_i} (0 when ignored: gI is padded with a 0), in place on p_true
        g_pad = torch.cat([g_inter, g_inter.new_zeros((n, 1))], dim=1)
        pg_true = p_true.mul_(g_pad.gather(1, binned)).unsqueeze(1)  # (N, 1, P)
        # block by block (blocks (1, C, L) of one sample on a CPU, (N, C, L) of every
        # sample on an accelerator), so that the (g - s) temporary stays one block and a
        # block is read from memory once: s (its matmul), p (g - s), the label term
        g_row, g_col = g_pred.unsqueeze(1), g_pred.unsqueeze(2)
        at_label = safe.unsqueeze(1)
        blocks, buffer = _blocks(p, ctx.acc)
        for i, lo, hi in blocks:
            rows = slice(i, i + 1) if isinstance(i, int) else i
            block, pg = p[rows, :, lo:hi], pg_true[rows, :, lo:hi]
            s = torch.baddbmm(pg, g_row[rows], block)  # s_i + pg_i, (., 1, L)
            block.mul_(torch.sub(g_col[rows], s, out=_like(buffer, block)))
            block.scatter_add_(1, at_label[rows, :, lo:hi], pg)
        if valid is not None and not _finite_cpu(g_inter, g_pred):
            _hide(p, valid)
        return p.to(x.dtype), None, None, None, None

    @staticmethod
    def jvp(ctx, x_t, _safe_t, _binned_t, _valid_t, _acc_t):  # type: ignore[override]
        # forward mode (torch.func.jvp, jacfwd, hessian, autograd.forward_ad):
        # dp_ci = p_ci (dx_ci - sum_k p_ki dx_ki), then the sums of the forward pass
        x, safe, binned, valid = ctx.saved_tensors
        p = _softmax_probs(x, valid, ctx.acc, False)
        return (*softmax_tangents(p, safe, binned, valid, ctx.acc, x_t), None)


# -- the eager value-check switch (the torch internals the router asks for) ------------


def values_checkable(x: Any) -> bool:
    """The router's ``values_checkable`` for a torch tensor: CPU, eager and plain only
    (not while dynamo or ``torch.jit.trace`` traces, not functorch-wrapped, no tensor
    subclass, not under the legacy vmap)."""
    if x.device.type != "cpu" or FORCE_ACCELERATOR_PATH:  # a GPU, or the forced GPU path
        return False
    if torch.compiler.is_compiling() or torch.jit.is_tracing():
        return False
    if type(x) not in (torch.Tensor, torch.nn.Parameter):
        return False
    if torch._C._functorch.is_functorch_wrapped_tensor(x):
        return False
    return "Batched" not in str(torch._C._dispatch_keys(x))  # the legacy vmap
