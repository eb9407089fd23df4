"""The host lane of the torch fast path (`_torch_overlap`) for tiny CPU inputs: one
torch operation (the activation), the rest in NumPy on the CPU tensors' own memory, the
(N, C) epilogue and its gradient in Python floats, and for a scalar loss the gradient
with respect to the logits already in the forward pass.

On tiny inputs each torch operation costs more than its arithmetic (a few microseconds
of dispatch each; a NumPy operation on such arrays about one), so the lane leaves torch
after the activation: ``torch.softmax``/``torch.sigmoid`` of the detached logits (the
same probabilities as the other paths), read as a NumPy array (``Tensor.numpy``: no
copy on the CPU), the per-class sums ``[I, Sp, St]`` (``I`` the products ``p t``, or
smp's L1 form from ``|p - t|`` for soft targets) and the value checks in NumPy, and the
epilogue in float64 Python floats from the float32 sums (at least as exact as the
float32 epilogue). A scalar loss (``reduction`` "mean" or "sum") has the gradient
``g G`` for an upstream gradient ``g``, so the forward pass computes ``G`` (`_grad`,
upstream gradient 1) and the backward pass hands it over (``g = 1``, the usual
``loss.backward()``) or scales it by ``g``, once; a non-finite ``g``, a second backward
pass and ``reduction="none"`` build the coefficients from ``g`` instead.
The gradient is ``act'(a + b w)``: two (rows, C) coefficient rows ``a, b`` and ``w``
the targets (one-hot labels) or ``sign(p - t)`` (soft targets), through the softmax's
``p (v - sum_c p v)`` or the sigmoid's ``v p (1 - p)``.

Only CPU tensors (the host read is free there; on an accelerator it would be a
synchronisation, so also not on `_torch`'s accelerator path forced on the CPU), inputs
of at most `HOST_ELEMENTS` values and `HOST_CELLS` (sample, class) cells, targets that
need no gradient and that NumPy reads (not bfloat16); everything else takes the
whole-batch or per-sample kernels as before.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import torch

from . import _torch

__all__ = ["HOST_CELLS", "HOST_ELEMENTS", "Done", "State", "backward", "forward", "serves"]

#: the most logits (N * C * P) the host lane takes
HOST_ELEMENTS = 1 << 14
#: the most (sample, class) cells of the epilogue it takes (N * C with per_image, else C)
HOST_CELLS = 256


def serves(loss: Any, x: Any, t: Any) -> bool:
    """Whether the host lane serves the logits ``x`` (N, C, *S) and targets ``t``
    (non-empty plain tensors, checked by the caller)."""
    if (_torch._accelerator(x) or t.requires_grad or x.numel() > HOST_ELEMENTS
            or t.dtype == torch.bfloat16 or t.is_neg()):
        return False
    c = 1 if loss.mode == "binary" else x.shape[1]
    return (x.shape[0] * c if loss.per_image else c) <= HOST_CELLS


_ranges: dict[int, Any] = {}


def _class_index(c: int) -> Any:
    """The class indices (1, C, 1): the one-hot labels by one comparison."""
    out = _ranges.get(c)
    if out is None:
        out = _ranges[c] = np.arange(c).reshape(1, c, 1)
    return out


def _ignored(t: Any, ignore_index: Any) -> Any | None:
    """Where the NumPy targets ``t`` hold an ignored value (`_torch_overlap._ignored`:
    values the dtype cannot hold ignore nothing), or None."""
    if ignore_index is None:
        return None
    mask = None
    dtype = t.dtype
    for v in ignore_index if isinstance(ignore_index, tuple) else (ignore_index,):
        if dtype == np.bool_:
            if v not in (0, 1):
                continue
            one = t if v == 1 else ~t
        elif dtype.kind == "f":
            if float(dtype.type(v)) != v:
                continue
            one = t == dtype.type(v)
        else:
            info = np.iinfo(dtype)
            if not info.min <= v <= info.max:
                continue
            one = t == v
        mask = one if mask is None else mask | one
    return mask


class State(NamedTuple):
    """What the backward pass takes: the activation, the gradient's weight ``w``, the
    epilogue's cells and the layout (NumPy arrays)."""

    p: Any  # (N, C, P)
    w: Any  # the targets (one-hot, bool or float) or p - t (soft targets: its sign)
    cells: list  # `_cells` of the statistics
    softmax: bool
    soft: bool
    shape: tuple  # (rows, C) of the coefficients
    dtype: Any  # the logits' dtype (the gradient's)
    xshape: Any  # the logits' shape (the gradient's)


class Done(NamedTuple):
    """A forward pass: the loss, its gradient's `State` and, for a scalar loss, its
    gradient (NumPy, the logits' shape) for an upstream gradient of 1 (else None)."""

    out: Any
    state: State | None
    unit: Any = None


def forward(loss: Any, x: Any, y: Any, c: int, keep: bool) -> Done | None:
    """The loss of the detached logits ``x`` (N, C, *S) against the targets ``y`` (their
    shape and dtype checked by the caller; ``c`` classes, 1 in binary mode): a tensor in
    the accumulation dtype and, with ``keep``, the `State` of its gradient with respect
    to the logits. None where the targets are out of range, which the caller leaves to
    the checks here: labels whose one-hot counts do not add up to the counted pixels,
    integer targets other than 0 and 1, float targets outside [0, 1] or NaN (at pixels
    not ignored; the generic path then raises the error).
    """
    n = x.shape[0]
    acc = torch.float64 if x.dtype == torch.float64 else torch.float32
    softmax = loss.mode == "multiclass"
    t = y.numpy().reshape(n, 1 if softmax else c, -1)
    ignored = _ignored(t, loss.ignore_index)
    if softmax:
        p = torch.softmax(x, dim=1, dtype=acc).numpy().reshape(n, c, -1)
        onehot = t == _class_index(c)  # no class matches a label out of range
        if ignored is not None:
            np.copyto(p, 0, where=ignored)  # also hides NaN logits there
            onehot &= ~ignored
        tf = onehot.astype(p.dtype)  # float operands: NumPy's fast loops
        soft = False
    else:
        p = torch.sigmoid(x if x.dtype == acc else x.to(acc)).numpy().reshape(n, c, -1)
        soft = t.dtype.kind == "f"
        if t.dtype != np.bool_ and not _in_unit_range(t, soft, ignored):
            return None
        tf = t.astype(p.dtype)
        if ignored is not None:
            np.copyto(p, 0, where=ignored)
            np.copyto(tf, 0, where=ignored)
    w = p - tf if soft else tf
    if loss.per_image or c > 1:
        first = np.abs(w) if soft else p * tf
        dims = 2 if loss.per_image else (0, 2)
        stats = [np.add.reduce(a, dims).tolist() for a in (first, p, tf)]
    else:  # one cell: whole-array sums, the products' by one dot product
        first = np.add.reduce(np.abs(w), None) if soft else np.dot(p.ravel(), tf.ravel())
        stats = [[float(first)], [float(np.add.reduce(p, None))],
                 [float(np.add.reduce(tf, None))]]
    if softmax:  # every counted label is a class
        total = sum(stats[2]) if not loss.per_image else sum(map(sum, stats[2]))
        counted = t.size if ignored is None else t.size - np.count_nonzero(ignored)
        if total != counted:
            return None
    if not loss.per_image:
        stats = [[row] for row in stats]
    rows = n if loss.per_image else 1
    cells = _cells(loss, stats, soft)
    value, weights = _reduce(loss, cells, rows, c)
    if isinstance(value, list):  # reduction="none": (C,) or (N, C)
        flat = [v for row in value for v in row] if loss.per_image else value
        out = torch.from_numpy(np.array(flat, dtype=p.dtype))
        if loss.per_image:
            out = out.view(n, -1)
    else:
        out = torch.scalar_tensor(value, dtype=acc)
    if not keep:
        return Done(out, None)
    state = State(p, w, cells, softmax, soft, (rows, c), x.dtype, x.shape)
    if loss.reduction == "none":
        return Done(out, state)
    # a scalar loss: its gradient for an upstream gradient of 1
    return Done(out, state, _grad(loss, state, _cell_grads(loss, cells, rows, c, 1.0, weights)))


_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _in_unit_range(t: Any, soft: bool, ignored: Any | None) -> bool:
    """Whether the integer or float NumPy targets ``t`` are 0 or 1 (in [0, 1], not NaN)
    wherever not ``ignored``."""
    if soft:
        lo, hi = np.minimum.reduce(t, None), np.maximum.reduce(t, None)
        if lo >= 0 and hi <= 1:
            return True
        if math.isnan(lo) or math.isnan(hi):
            return False
        bad = (t < 0) | (t > 1)
    else:  # as unsigned, every value but 0 and 1 is above 1
        unsigned = t.view(_UNSIGNED[t.itemsize])
        if ignored is None:
            return bool(np.maximum.reduce(unsigned, None) <= 1)
        bad = unsigned > 1
    if ignored is not None:
        bad &= ~ignored
    return not bad.any()


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


def _reduce(loss: Any, cells: list, rows: int, c: int) -> tuple[Any, tuple]:
    """The loss value(s) as Python floats (`_torch_epilogue.from_reduced`'s reduction)
    and the cells' weights (`_weights`: for `_cell_grads`)."""
    idx = _selected(loss, c)
    reduction = loss.reduction
    if reduction == "none":
        vals = [[row[j][3] for j in idx] for row in cells]
        return (vals if loss.per_image else vals[0]), (None, 0.0)
    weights = w, wsum = _weights(loss, cells, idx)
    if w is None:
        total = sum(row[j][3] for row in cells for j in idx)
        return (total if reduction == "sum" else total / (rows * len(idx))), weights
    total = sum(row[j][3] * wv for row, wr in zip(cells, w, strict=True)
                for j, wv in zip(idx, wr, strict=True))
    if reduction == "sum":
        return total, weights
    return (total / wsum if wsum != 0 else 0.0), weights


def _cell_grads(loss: Any, cells: list, rows: int, c: int, g: Any,
                weights: tuple | None = None) -> list:
    """dL/d(per_class) of every cell for the upstream gradient ``g``: a Python float
    (a scalar loss) or the nested list of ``reduction="none"``'s (C,) or (N, C);
    ``weights``: `_reduce`'s, if at hand."""
    idx = _selected(loss, c)
    if loss.reduction == "none":
        g_cell = [[0.0] * c for _ in range(rows)]
        gv = g if loss.per_image else [g]
        for r in range(rows):
            for j, cls in enumerate(idx):
                g_cell[r][cls] = gv[r][j]
        return g_cell
    w, wsum = _weights(loss, cells, idx) if weights is None else weights
    if w is None:
        one = g if loss.reduction == "sum" else g / (rows * len(idx))
        if loss.classes is None:
            return [[one] * c for _ in range(rows)]
        g_cell = [[0.0] * c for _ in range(rows)]
        for r in range(rows):
            for cls in idx:
                g_cell[r][cls] = one
        return g_cell
    g_cell = [[0.0] * c for _ in range(rows)]
    scale = g if loss.reduction == "sum" else (g / wsum if wsum != 0 else 0.0)
    for r in range(rows):
        for j, cls in enumerate(idx):
            g_cell[r][cls] = scale * w[r][j]
    return g_cell


def _grad(loss: Any, state: State, g_cell: list) -> Any:
    """dL/dx (the logits' shape, NumPy, the accumulation dtype) for the gradients of
    the cells' per-class losses ``g_cell``: ``act'(a + b w)``."""
    alpha, beta, eps, log_loss = loss.alpha, loss.beta, loss.eps, loss.log_loss
    k = 1.0 - alpha - beta
    soft = state.soft
    a_row: list[float] = []
    b_row: list[float] = []
    for cell_row, g_row in zip(state.cells, g_cell, strict=True):
        for (score, clamped, den_ok, _, present), gl in zip(cell_row, g_row, strict=True):
            gl = gl * present
            if log_loss:  # d(-log(max(s, eps)))/ds = -1/s where s >= eps
                gl = gl / score if score >= eps else 0.0
            q = gl / clamped
            g_den = q * score * (1.0 if den_ok else 0.0)
            g_inter, g_pred = k * g_den - q, alpha * g_den
            if soft:  # dI/dp = (1 - sign(p - t)) / 2
                a_row.append(g_pred + 0.5 * g_inter)
                b_row.append(-0.5 * g_inter)
            else:  # dI/dp = t
                a_row.append(g_pred)
                b_row.append(g_inter)
    p = state.p
    if len(a_row) == 1:  # one cell (binary mode): Python floats, no coefficient rows
        a, b = a_row[0], b_row[0]
    else:
        a, b = np.array(a_row + b_row, dtype=p.dtype).reshape(2, *state.shape, 1)
    v = (np.sign(state.w) if soft else state.w) * b
    v += a
    if state.softmax:  # p (v - sum_c p v)
        v -= np.add.reduce(v * p, 1, keepdims=True)
        v *= p
    else:  # v p (1 - p)
        q = 1 - p
        q *= p
        v *= q
    return v.reshape(state.xshape)


def backward(loss: Any, state: State, g: Any, unit: Any = None) -> Any:
    """dL/dx in the logits' dtype and shape for the upstream gradient ``g`` (a plain CPU
    tensor of the loss's shape); ``unit``: the forward pass's gradient for an upstream
    gradient of 1 (`Done.unit`), handed over (returned as it is for ``g == 1``)."""
    if unit is not None:
        gs = g.item()
        if gs == 1.0:
            return _tensor(unit, state.dtype)
        if math.isfinite(gs):  # linear in g: the forward pass's gradient times g
            unit *= gs
            return _tensor(unit, state.dtype)
        g = gs
    else:  # a float (scalar loss) or the nested list of reduction="none"
        g = g.tolist()
    rows, c = state.shape
    return _tensor(_grad(loss, state, _cell_grads(loss, state.cells, rows, c, g)),
                   state.dtype)


def _tensor(a: Any, dtype: Any) -> Any:
    """The NumPy array ``a`` as a tensor of ``dtype`` (no copy where it is ``a``'s)."""
    out = torch.from_numpy(a)
    return out if out.dtype == dtype else out.to(dtype)
