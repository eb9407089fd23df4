"""The host lane of the torch fast path (`_torch_overlap`) for tiny CPU inputs: the
statistics as one stacked sum read to the host (``tolist``), the (N, C) epilogue and
its gradient in Python floats, and the gradient with respect to the logits in two
operations.

On tiny inputs each torch operation costs more than its arithmetic, so the epilogue's
dozen (C,)-sized operations and their hand-written gradient (`_torch_epilogue`) are
most of a call. Here a forward pass is the activation, the per-pixel rows
``[I, p, t]`` stacked and summed (``p t``, or ``|p - t|`` for soft targets: smp's L1
form), and one host read; the backward pass builds two (C,) coefficient rows ``a, b``
from the upstream gradient and returns ``act'(a + b w)`` with ``w`` the targets
(one-hot labels) or ``sign(p - t)`` (soft targets): ``_softmax_backward_data`` or
``sigmoid_backward``, the activation's own backward kernel. The epilogue is computed
in float64 from the float32 sums (at least as exact as the float32 epilogue).

Only CPU tensors (the host read is free there; on an accelerator it would be a
synchronisation, so also not on `_torch`'s accelerator path forced on the CPU), inputs
of at most `HOST_ELEMENTS` values and `HOST_CELLS` (sample, class) cells, targets that
need no gradient; everything else takes the whole-batch or per-sample kernels as
before.
"""

from __future__ import annotations

import math
from array import array
from typing import Any, NamedTuple

import torch

from . import _torch
from . import _torch_batch as _batch
from . import _torch_epilogue as _epilogue

__all__ = ["HOST_CELLS", "HOST_ELEMENTS", "Done", "State", "backward", "forward", "serves"]

#: the most logits (N * C * P) the host lane takes
HOST_ELEMENTS = 1 << 14
#: the most (sample, class) cells of the epilogue it takes (N * C with per_image, else C)
HOST_CELLS = 256

def serves(loss: Any, x: Any, t: Any) -> bool:
    """Whether the host lane serves the logits ``x`` (N, C, *S) and targets ``t``
    (non-empty plain tensors, checked by the caller)."""
    if _torch._accelerator(x) or t.requires_grad or x.numel() > HOST_ELEMENTS:
        return False
    c = 1 if loss.mode == "binary" else x.shape[1]
    return (x.shape[0] * c if loss.per_image else c) <= HOST_CELLS


def _class_index(c: int, device: Any) -> Any:
    """The class indices (1, C, 1): the one-hot labels by one comparison."""
    return _epilogue._constant(tuple(range(c)), device, torch.int64, (1, c, 1))


def _tensor(values: list, dtype: Any) -> Any:
    """A 1-D CPU tensor of Python floats (``frombuffer``: a third of ``torch.tensor``'s
    cost on a short list)."""
    if dtype == torch.float64:
        return torch.frombuffer(array("d", values), dtype=torch.float64)
    return torch.frombuffer(array("f", values), dtype=torch.float32)


class State(NamedTuple):
    """What the backward pass takes: the activation, the gradient's weight ``w``, the
    epilogue's cells and the layout."""

    p: Any
    w: Any  # the targets (float, one-hot) or p - t (soft targets: its sign)
    cells: list  # `_cells` of the statistics
    softmax: bool
    soft: bool
    shape: tuple  # (rows, C) of the coefficients
    dtype: Any  # the logits' dtype (the gradient's)
    xshape: Any  # the logits' shape (the gradient's)


class Done(NamedTuple):
    """A forward pass: the prepared inputs, the loss and its gradient's `State`."""

    inputs: Any
    out: Any
    state: State | None


def forward(loss: Any, inputs: Any, keep: bool, xshape: Any) -> Done | None:
    """The loss (a tensor in the accumulation dtype) and, with ``keep``, the `State`
    of its gradient with respect to the logits of shape ``xshape``; None where the
    targets are out of range: labels without ``ignore_index`` and integer targets,
    which `_torch_overlap` leaves to the checks here (the counts of the one-hot labels
    must add up to the pixels; ``sum t^2 == sum t`` per class holds for integers
    exactly where every ``t`` is 0 or 1, and the float32 sums of at most
    `HOST_ELEMENTS` such values are exact).
    """
    x, t, valid, acc = inputs.x, inputs.t, inputs.valid, inputs.acc
    n, c, _ = x.shape
    softmax = inputs.safe is not None
    if softmax:
        p = torch.softmax(x, dim=1, dtype=acc)
        if valid is not None:
            p.masked_fill_(~valid.unsqueeze(1), 0)
        # ``binned`` is C where not counted: no class matches it
        tf = (inputs.binned.unsqueeze(1) == _class_index(c, x.device)).to(acc)
    else:
        p, tf = _batch.masked_sigmoid(x, t, valid, acc)
    soft = not softmax and not inputs.hard
    if soft:
        w = p - tf
        first = w.abs()
    else:
        w, first = tf, p * tf
    rows_in = [first, p, tf]
    squares = not softmax and inputs.hard and t.dtype != torch.bool
    if squares:
        rows_in.append(tf * tf)
    dims = 3 if loss.per_image else (1, 3)
    stats = torch.stack(rows_in).sum(dim=dims).tolist()
    if not loss.per_image:
        stats = [[row] for row in stats]
    if squares:
        if stats.pop() != stats[2]:
            return None
    elif softmax and loss.ignore_index is None:
        if sum(sum(row) for row in stats[2]) != x.numel() // c:
            return None
    rows = n if loss.per_image else 1
    cells = _cells(loss, stats, soft)
    value = _reduce(loss, cells, rows, c)
    if isinstance(value, list):  # reduction="none": (C,) or (N, C)
        flat = [v for row in value for v in row] if loss.per_image else value
        shape = (n, -1) if loss.per_image else (-1,)
        out = _tensor(flat, acc).view(shape)
    else:
        out = torch.scalar_tensor(value, dtype=acc)
    if not keep:
        return Done(inputs, out, None)
    return Done(inputs, out, State(p, w, cells, softmax, soft, (rows, c), x.dtype,
                                   xshape))


def _cells(loss: Any, stats: list, soft: bool) -> list:
    """Per (row, class): ``(score, clamped, den_ok, per_class, present)``, the
    operations of `_torch_epilogue.from_reduced` in Python floats."""
    alpha, beta, smooth, eps = loss.alpha, loss.beta, loss.smooth, loss.eps
    k = 1.0 - alpha - beta
    log_loss = loss.log_loss
    out = []
    for first_row, sp_row, st_row in zip(*stats, strict=True):
        row = []
        for first, sp, st in zip(first_row, sp_row, st_row, strict=True):
            inter = (sp + st - first) / 2 if soft else first
            den = alpha * sp + beta * st + k * inter + smooth
            clamped = eps if den < eps else den  # NaN passes, as torch.clamp
            score = (inter + smooth) / clamped
            if log_loss:
                per_class = -math.log(eps if score < eps else score)
            else:
                per_class = 1.0 - score
            present = st > 0
            row.append((score, clamped, den >= eps, per_class * present, present))
        out.append(row)
    return out


def _weights(loss: Any, cells: list, idx: Any) -> tuple[list | None, float]:
    """The weight of each selected cell and their sum (None: unweighted, no exclude)."""
    class_weights, exclude = loss.class_weights, loss.empty == "exclude"
    if class_weights is None and not exclude:
        return None, 0.0
    ws = [1.0 if class_weights is None else float(class_weights[j]) for j in idx]
    out = [[w * row[j][4] if exclude else w for w, j in zip(ws, idx, strict=True)] for row in cells]
    return out, sum(sum(r) for r in out)


def _selected(loss: Any, c: int) -> Any:
    return loss.classes if loss.classes is not None else range(c)


def _reduce(loss: Any, cells: list, rows: int, c: int) -> Any:
    """The loss value(s) as Python floats (`_torch_epilogue.from_reduced`'s reduction)."""
    idx = _selected(loss, c)
    vals = [[row[j][3] for j in idx] for row in cells]
    reduction = loss.reduction
    if reduction == "none":
        return vals if loss.per_image else vals[0]
    w, wsum = _weights(loss, cells, idx)
    if w is None:
        total = sum(sum(r) for r in vals)
        return total if reduction == "sum" else total / (rows * len(idx))
    total = sum(v * wv for vr, wr in zip(vals, w, strict=True)
                for v, wv in zip(vr, wr, strict=True))
    if reduction == "sum":
        return total
    return total / wsum if wsum != 0 else 0.0


def backward(loss: Any, state: State, g: Any) -> Any:
    """dL/dx (N, C, P) in the logits' dtype for the upstream gradient ``g``."""
    rows, c = state.shape
    cells = state.cells
    idx = _selected(loss, c)
    reduction = loss.reduction
    # dL/d(per_class) of every cell
    g_cell = [[0.0] * c for _ in range(rows)]
    if reduction == "none":
        gv = g.tolist()
        gv = gv if loss.per_image else [gv]
        for r in range(rows):
            for j, cls in enumerate(idx):
                g_cell[r][cls] = gv[r][j]
    else:
        gs = g.item()
        w, wsum = _weights(loss, cells, idx)
        if w is None:
            one = gs if reduction == "sum" else gs / (rows * len(idx))
            for r in range(rows):
                for cls in idx:
                    g_cell[r][cls] = one
        else:
            scale = gs if reduction == "sum" else (gs / wsum if wsum != 0 else 0.0)
            for r in range(rows):
                for j, cls in enumerate(idx):
                    g_cell[r][cls] = scale * w[r][j]
    alpha, beta, eps = loss.alpha, loss.beta, loss.eps
    k = 1.0 - alpha - beta
    a_row: list[float] = []
    b_row: list[float] = []
    for r in range(rows):
        for cls in range(c):
            score, clamped, den_ok, _, present = cells[r][cls]
            gl = g_cell[r][cls] * present
            if loss.log_loss:  # d(-log(max(s, eps)))/ds = -1/s where s >= eps
                gl = gl / (eps if score < eps else score) if score >= eps else 0.0
            q = gl / clamped
            g_den = q * score * (1.0 if den_ok else 0.0)
            g_inter, g_pred = k * g_den - q, alpha * g_den
            if state.soft:  # dI/dp = (1 - sign(p - t)) / 2
                a_row.append(g_pred + 0.5 * g_inter)
                b_row.append(-0.5 * g_inter)
            else:  # dI/dp = t
                a_row.append(g_pred)
                b_row.append(g_inter)
    p = state.p
    coef = _tensor(a_row + b_row, p.dtype).view(2, rows, c, 1)
    w = state.w.sign() if state.soft else state.w
    grad = torch.addcmul(coef[0], w, coef[1])
    if state.softmax:
        grad = torch._softmax_backward_data(grad, p, 1, p.dtype)
    else:
        grad = torch.ops.aten.sigmoid_backward(grad, p)
    grad = grad.view(state.xshape)
    return grad if grad.dtype == state.dtype else grad.to(state.dtype)
