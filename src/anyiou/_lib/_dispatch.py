"""Backend fast paths, each with a pure array-API fallback.

This is the only module that touches backend-specific functions. Setting the module
flag ``USE_NATIVE = False`` forces the pure-standard path everywhere, so the test suite
can check that both paths agree. Framework modules are reached through
``sys.modules`` (an array of that library exists, so its module is loaded) and are
never imported here.
"""

from __future__ import annotations

import sys
from typing import Any

import array_api_compat as aac
import numpy as np

#: Use backend fast paths (torch/JAX/NumPy kernels); False forces the pure standard.
USE_NATIVE = True

__all__ = [
    "USE_NATIVE",
    "label_counts",
    "label_sums",
    "probs_dense_stats",
    "probs_label_stats",
    "sigmoid_dense_stats",
    "sigmoid",
    "softmax",
    "softmax_label_stats",
    "sort_along_last",
    "take_labels",
    "value_range",
]


def _torch(x: Any) -> Any:
    return sys.modules["torch"] if aac.is_torch_array(x) else None


def _jax_nn(x: Any) -> Any:
    if aac.is_jax_array(x):
        return sys.modules["jax"].nn
    return None


def softmax(xp: Any, x: Any, axis: int) -> Any:
    """Softmax of ``x`` over ``axis``; stable for logits of any magnitude."""
    if USE_NATIVE:
        if (torch := _torch(x)) is not None:
            return torch.softmax(x, dim=axis)
        if (nn := _jax_nn(x)) is not None:
            return nn.softmax(x, axis=axis)
        if aac.is_numpy_array(x) and x.dtype.kind == "f":
            return _numpy_softmax(x, axis)
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    e = xp.exp(shifted)
    return e / xp.sum(e, axis=axis, keepdims=True)


def sigmoid(xp: Any, x: Any) -> Any:
    """Logistic sigmoid, finite with finite gradients for logits of any magnitude."""
    if USE_NATIVE:
        if (torch := _torch(x)) is not None:
            return torch.sigmoid(x)
        if (nn := _jax_nn(x)) is not None:
            return nn.sigmoid(x)
        if aac.is_numpy_array(x) and x.dtype.kind == "f":
            return _numpy_sigmoid(x)
    # exp(-|x|) never overflows, so neither branch of the where produces inf/NaN
    # (an inf in the unused branch would still poison the gradient).
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def value_range(xp: Any, x: Any) -> tuple[Any, Any]:
    """``(min(x), max(x))`` over all elements, as 0-D arrays (eager, non-empty ``x``)."""
    if USE_NATIVE and (torch := _torch(x)) is not None:
        # one pass; torch.amin over a tuple of dims (what the compat layer's min calls)
        # is 10-20x slower than a full reduction on CPU
        return torch.aminmax(x)
    return xp.min(x), xp.max(x)


def take_labels(xp: Any, p: Any, labels: Any) -> Any:
    """``p[n, labels[n, i], i]`` for ``p`` of shape (N, C, P) and ``labels`` (N, P).

    ``labels`` must lie in [0, C). Returns shape (N, P).
    """
    if USE_NATIVE and (torch := _torch(p)) is not None:
        return torch.gather(p, 1, labels.to(torch.int64).unsqueeze(1)).squeeze(1)
    if USE_NATIVE and hasattr(xp, "take_along_axis"):
        idx = xp.expand_dims(labels, axis=1)
        return xp.take_along_axis(p, idx, axis=1)[:, 0, :]
    classes = xp.arange(p.shape[1], dtype=labels.dtype, device=aac.device(labels))
    match = xp.expand_dims(labels, axis=1) == classes[None, :, None]
    return xp.sum(xp.where(match, p, xp.zeros_like(p)), axis=1)


def label_sums(xp: Any, values: Any, labels: Any, num_bins: int) -> Any:
    """Per-row segment sums: ``out[n, c] = sum(values[n, i] for i with labels[n, i] == c)``.

    ``values`` (N, P) float, ``labels`` (N, P) integers in [0, num_bins). Returns
    (N, num_bins) in ``values``' dtype, differentiable with respect to ``values``.
    """
    n = values.shape[0]
    if USE_NATIVE:
        if (torch := _torch(values)) is not None:
            out = torch.zeros((n, num_bins), dtype=values.dtype, device=values.device)
            return out.scatter_add(1, labels.to(torch.int64), values)
        if aac.is_numpy_array(values):  # weighted bincount (float64 sums), no (N, K, P) mask
            out = _numpy_row_bincount(labels, num_bins, weights=values)
            return out.astype(values.dtype, copy=False)
        if aac.is_jax_array(values):
            rows = xp.arange(n)[:, None]
            out = xp.zeros((n, num_bins), dtype=values.dtype)
            return out.at[rows, labels].add(values)
    bins = xp.arange(num_bins, dtype=labels.dtype, device=aac.device(labels))
    match = xp.expand_dims(labels, axis=1) == bins[None, :, None]
    zero = xp.zeros((), dtype=values.dtype, device=aac.device(values))
    return xp.sum(xp.where(match, xp.expand_dims(values, axis=1), zero), axis=2)


def _numpy_row_bincount(labels: Any, num_bins: int, weights: Any | None = None) -> Any:
    """Per-row ``np.bincount`` of (N, P) ``labels`` in [0, num_bins) as one call (row
    offsets); (N, num_bins), float64 with ``weights`` (N, P), int64 without."""
    np = sys.modules["numpy"]
    n = labels.shape[0]
    flat = (labels.astype(np.int64) + np.arange(n)[:, None] * num_bins).reshape(-1)
    w = None if weights is None else weights.reshape(-1)
    return np.bincount(flat, weights=w, minlength=n * num_bins).reshape(n, num_bins)


def label_counts(xp: Any, labels: Any, num_bins: int) -> Any:
    """Per-row histogram of integer ``labels`` (N, P) in [0, num_bins): (N, num_bins) int."""
    n = labels.shape[0]
    if USE_NATIVE:
        if (torch := _torch(labels)) is not None:  # one row at a time: no (N, P) temporary
            rows = [torch.bincount(row, minlength=num_bins) for row in labels.to(torch.int64)]
            return torch.stack(rows) if rows else labels.new_zeros((0, num_bins))
        if aac.is_numpy_array(labels):
            return _numpy_row_bincount(labels, num_bins)
        if aac.is_jax_array(labels):
            jnp = sys.modules["jax.numpy"]
            offsets = jnp.arange(n)[:, None] * num_bins
            flat = (labels + offsets).reshape(-1)
            return jnp.bincount(flat, length=n * num_bins).reshape(n, num_bins)
    bins = xp.arange(num_bins, dtype=labels.dtype, device=aac.device(labels))
    match = xp.expand_dims(labels, axis=1) == bins[None, :, None]
    return xp.count_nonzero(match, axis=2)


def probs_label_stats(
    xp: Any, p: Any, safe: Any, binned: Any, valid: Any | None, acc: Any
) -> tuple[Any, Any]:
    """Multiclass ``(I, Sp)`` from probabilities ``p`` (N, C, P), each (N, C) in ``acc``.

    ``I[n, c]`` sums ``p[n, c, i]`` over pixels labelled ``c``; ``Sp[n, c]`` sums
    ``p[n, c, i]`` over valid pixels (all pixels when ``valid`` is None). ``safe`` (N, P)
    holds labels clipped to [0, C); ``binned`` (N, P) holds labels in [0, C] where C marks
    ignored pixels. Pure standard apart from the gather/scatter helpers above.
    """
    c = p.shape[1]
    p_true = xp.astype(take_labels(xp, p, safe), acc, copy=False)
    intersection = label_sums(xp, p_true, binned, c + 1)[:, :c]
    if valid is not None:
        zero = xp.zeros((), dtype=p.dtype, device=aac.device(p))
        p = xp.where(xp.expand_dims(valid, axis=1), p, zero)
    return intersection, xp.sum(p, axis=2, dtype=acc)


def softmax_label_stats(
    xp: Any,
    logits: Any,
    safe: Any,
    binned: Any,
    valid: Any | None,
    acc: Any,
    class_last: bool = False,
) -> tuple[Any, Any]:
    """`probs_label_stats` of ``softmax(logits, axis=1)``, fused on torch.

    The JAX path is a ``custom_vjp`` (see `_jax_softmax_label_stats`). The torch
    path is one autograd function whose only logits-sized buffer is the
    softmax output: the backward pass turns it into the gradient in place, so
    forward+backward needs about one extra logits-sized buffer instead of the four or
    five that autograd of the composed operations allocates. ``class_last`` tells that
    ``logits`` is a transposed view of channels-last (N, P, C) logits (used by JAX).
    """
    if USE_NATIVE and (torch := _torch(logits)) is not None:
        fn = _torch_softmax_label_stats(torch)
        return fn.apply(logits, safe.to(torch.int64), binned.to(torch.int64), valid, acc)
    if USE_NATIVE and aac.is_jax_array(logits):
        vmask = None if valid is None else xp.astype(valid, acc)
        stats = _jax_softmax_label_stats(logits.shape[1], acc, class_last)
        return stats(logits, binned, vmask)
    return probs_label_stats(xp, softmax(xp, logits, 1), safe, binned, valid, acc)


_BUILT_FUNCTIONS: dict[str, Any] = {}

#: Elements per pixel chunk of the torch and NumPy kernels (bounds their temporaries).
_CHUNK_ELEMENTS = 1 << 20


def _pixel_chunks(n: int, c: int, pixels: int) -> Any:
    """``(sample, start, stop)`` pixel ranges whose (C, stop - start) blocks hold about
    ``_CHUNK_ELEMENTS`` values: a broadcast temporary of one block stays small (a whole
    (C, P) sample would be half the logits at N = 2)."""
    step = max(1, _CHUNK_ELEMENTS // max(c, 1))
    for i in range(n):
        for lo in range(0, pixels, step):
            yield i, lo, min(lo + step, pixels)


def _torch_softmax_label_stats(torch: Any) -> Any:
    """Build (once) the torch.autograd.Function behind `softmax_label_stats`."""
    if "softmax_label_stats" in _BUILT_FUNCTIONS:
        return _BUILT_FUNCTIONS["softmax_label_stats"]

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
            for i, lo, hi in _pixel_chunks(n, c, x.shape[2]):  # small (C, chunk) temporaries
                p[i, :, lo:hi].mul_(g_col[i] - s[i, lo:hi])
            p.scatter_add_(1, safe.unsqueeze(1), pg_true.unsqueeze(1))
            if valid is not None:
                p.masked_fill_(~valid.unsqueeze(1), 0)
            return p.to(x.dtype), None, None, None, None

    _BUILT_FUNCTIONS["softmax_label_stats"] = SoftmaxLabelStats
    return SoftmaxLabelStats


def _jax_softmax_label_stats(c: int, acc: Any, class_last: bool) -> Any:
    """Build (once per class count, dtype and layout) the ``jax.custom_vjp`` behind
    `softmax_label_stats`, on (N, C, P) logits.

    Shaped for XLA's buffer assignment: the one logits-sized temporary is
    ``e = exp(x - max_c x)``, read only by reductions and by the two batched
    mat-vec products (``Sp`` in the forward pass, ``s`` in the backward pass); the
    gradient is recomputed from ``x`` and the per-pixel max and log-sum, so ``e`` is dead
    before the gradient is written and XLA places both in one buffer. The
    intersection is a scatter-add of the per-pixel true-class probability (one
    gather), never a (N, C, P) select. Peak extra memory is about 1.3x the logits'
    bytes, below jitted optax cross-entropy.

    ``class_last``: the (N, C, P) input is a transposed view of (N, P, C) logits
    (channels-last); the work then runs on (N, P, C), where the transposes cancel.
    """
    key = ("jax_softmax_label_stats", c, str(acc), class_last)
    if key in _BUILT_FUNCTIONS:
        return _BUILT_FUNCTIONS[key]
    jax = sys.modules["jax"]
    jnp = sys.modules["jax.numpy"]
    ca = 2 if class_last else 1  # class axis of the working layout
    spec = "npc" if class_last else "ncp"

    def pixelwise(a: Any) -> Any:  # (N, P) -> broadcastable against the logits
        return jnp.expand_dims(a, ca)

    def classwise(a: Any) -> Any:  # (N, C) -> broadcastable against the logits
        return jnp.expand_dims(a, 3 - ca)

    def layout(x: Any) -> Any:
        return jnp.swapaxes(x, 1, 2) if class_last else x

    def fwd(x: Any, binned: Any, vmask: Any) -> Any:
        n = x.shape[0]
        xa = layout(x).astype(acc)
        m = jnp.max(xa, axis=ca)
        e = jnp.exp(xa - pixelwise(m))
        if vmask is not None:  # ignored pixels predict 0 (also hides NaN logits there)
            e = jnp.where(pixelwise(vmask) > 0, e, 0)
        z = jnp.sum(e, axis=ca)
        ok = z > 0
        rz = jnp.where(ok, 1 / jnp.where(ok, z, 1), 0)
        log_z = jnp.where(ok, jnp.log(jnp.where(ok, z, 1)), jnp.inf)
        # probability of each pixel's own class: one gather, then a per-class scatter-add
        x_true = jnp.take_along_axis(xa, pixelwise(binned), axis=ca, mode="clip")
        p_true = jnp.exp((jnp.squeeze(x_true, ca) - m) - log_z)
        if vmask is not None:
            p_true = jnp.where(vmask > 0, p_true, 0)
        flat = (binned + (c + 1) * jnp.arange(n, dtype=binned.dtype)[:, None]).reshape(-1)
        inter = jnp.zeros(n * (c + 1), acc).at[flat].add(p_true.reshape(-1), mode="drop")
        inter = inter.reshape(n, c + 1)[:, :c]  # bin c collects ignored pixels
        pred = jnp.einsum(f"{spec},np->nc", e, rz)
        return (inter, pred), (x, binned, vmask, e, m, rz, log_z, p_true)

    def bwd(res: Any, g: Any) -> Any:
        # dL/dx_ci = p_ci (g_ci - s_i), g_ci = v_i (gSp_c + gI_c [y_i = c]),
        # s_i = sum_k p_ki g_ki = rz_i sum_k e_ki gSp_k + p_true_i gI_{y_i}
        x, binned, vmask, e, m, rz, log_z, p_true = res
        g_inter, g_pred = g
        g_true = jnp.take_along_axis(g_inter, binned, axis=1, mode="fill", fill_value=0)
        s = jnp.einsum(f"{spec},nc->np", e, g_pred) * rz + p_true * g_true
        onehot = pixelwise(binned) == classwise(jnp.arange(c, dtype=binned.dtype)[None, :])
        gfull = classwise(g_pred) + jnp.where(onehot, classwise(g_inter), 0)
        # p recomputed as exp((x - m) - log z): precise for large logits, and a different
        # expression from e, so XLA does not merge the two and keep e alive until here
        p = jnp.exp((layout(x).astype(acc) - pixelwise(m)) - pixelwise(log_z))
        grad = p * (gfull - pixelwise(s))
        if vmask is not None:
            grad = jnp.where(pixelwise(vmask) > 0, grad, 0)
        zero_int = np.zeros(binned.shape, dtype=jax.dtypes.float0)
        zero_mask = None if vmask is None else jnp.zeros_like(vmask)
        return layout(grad).astype(x.dtype), zero_int, zero_mask

    @jax.custom_vjp
    def stats(x: Any, binned: Any, vmask: Any) -> Any:
        return fwd(x, binned, vmask)[0]

    stats.defvjp(fwd, bwd)
    _BUILT_FUNCTIONS[key] = stats
    return stats


def probs_dense_stats(
    xp: Any, p: Any, t: Any, valid: Any | None, hard: bool, acc: Any
) -> tuple[Any, Any, Any]:
    """Binary/multilabel ``(I, Sp, St)`` from probabilities ``p`` and targets ``t``.

    ``p`` and ``t`` are (N, C, P); ``valid`` (N, C, P) bool or None. Hard targets use
    ``I = sum(p * t)``, soft ones the L1 form ``(Sp + St - sum|p - t|) / 2``.
    """
    if USE_NATIVE and aac.is_numpy_array(p):
        return _numpy_dense_stats(p, t, valid, hard, acc)
    if valid is not None:
        t = xp.where(valid, t, xp.zeros_like(t))
        p = xp.where(valid, p, xp.zeros((), dtype=p.dtype, device=aac.device(p)))
    t = xp.astype(t, p.dtype, copy=False)
    pred_sum = xp.sum(p, axis=2, dtype=acc)
    target_sum = xp.sum(t, axis=2, dtype=acc)
    if hard:
        intersection = xp.sum(p * t, axis=2, dtype=acc)
    else:
        l1 = xp.sum(xp.abs(p - t), axis=2, dtype=acc)
        intersection = (pred_sum + target_sum - l1) / 2
    return intersection, pred_sum, target_sum


def sigmoid_dense_stats(
    xp: Any, logits: Any, t: Any, valid: Any | None, hard: bool, acc: Any
) -> tuple[Any, Any, Any]:
    """:func:`probs_dense_stats` of ``sigmoid(logits)``, fused on torch like
    :func:`softmax_label_stats` (the sigmoid output becomes the gradient buffer) and a
    ``custom_vjp`` on JAX whose backward pass recomputes the sigmoid from the logits."""
    if USE_NATIVE and (torch := _torch(logits)) is not None:
        return _torch_sigmoid_dense_stats(torch).apply(logits, t, valid, hard, acc)
    if USE_NATIVE and aac.is_jax_array(logits):
        return _jax_sigmoid_dense_stats(hard, acc)(logits, t, valid)
    return probs_dense_stats(xp, sigmoid(xp, logits), t, valid, hard, acc)


def _jax_sigmoid_dense_stats(hard: bool, acc: Any) -> Any:
    """Build (once per target kind and dtype) the ``jax.custom_vjp`` behind
    :func:`sigmoid_dense_stats`: every logits-sized value is an elementwise input of a
    reduction or of the gradient itself, so XLA allocates no logits-sized temporary."""
    key = ("jax_sigmoid_dense_stats", hard, str(acc))
    if key in _BUILT_FUNCTIONS:
        return _BUILT_FUNCTIONS[key]
    jax = sys.modules["jax"]
    jnp = sys.modules["jax.numpy"]

    def masked(a: Any, valid: Any) -> Any:  # ignored pixels: 0 (hides NaN there too)
        return a if valid is None else jnp.where(valid, a, 0)

    def add3(a: Any, b: Any) -> Any:
        return a[0] + b[0], a[1] + b[1], a[2] + b[2]

    def fwd(x: Any, t: Any, valid: Any) -> Any:
        p, tf = masked(jax.nn.sigmoid(x.astype(acc)), valid), masked(t.astype(acc), valid)
        overlap = p * tf if hard else jnp.abs(p - tf)
        # one variadic reduction: XLA fuses the sigmoid into it instead of materialising
        # p and the float target for three separate sums
        zero = jnp.zeros((), acc)
        pred, target, o = jax.lax.reduce((p, tf, overlap), (zero,) * 3, add3, (x.ndim - 1,))
        inter = o if hard else (pred + target - o) / 2
        return (inter, pred, target), (x, t, valid)

    def bwd(res: Any, g: Any) -> Any:
        # dI/dp = t (hard) or (1 - sign(p - t)) / 2 (L1 form); dSp/dp = 1; then the
        # sigmoid's p (1 - p); ignored pixels get 0.
        x, t, valid = res
        g_inter, g_pred, g_tsum = (a[..., None] for a in g)
        # The sigmoid again, written unlike jax.nn.sigmoid so that XLA does not merge it
        # with the forward's (which would keep a logits-sized p alive until here):
        # e = exp(-|x|), p = 1 / (1 + e) or e / (1 + e), p (1 - p) = e / (1 + e)^2.
        xa = x.astype(acc)
        e = jnp.exp(-jnp.abs(xa))
        r = 1 / (1 + e)
        p = jnp.where(xa >= 0, r, e * r)
        tf = masked(t.astype(acc), valid)
        d_inter = tf if hard else (1 - jnp.sign(p - tf)) / 2
        grad = masked(e * r * r * (g_pred + g_inter * d_inter), valid)
        if jnp.issubdtype(t.dtype, jnp.inexact):  # soft targets: dSt/dt = 1, dI/dt = (1 + sign) / 2
            g_target = masked(g_tsum + g_inter * (1 + jnp.sign(p - tf)) / 2, valid)
            grad_t = g_target.astype(t.dtype)
        else:
            grad_t = np.zeros(t.shape, dtype=jax.dtypes.float0)
        grad_valid = None if valid is None else np.zeros(valid.shape, dtype=jax.dtypes.float0)
        return grad.astype(x.dtype), grad_t, grad_valid

    @jax.custom_vjp
    def stats(x: Any, t: Any, valid: Any) -> Any:
        return fwd(x, t, valid)[0]

    stats.defvjp(fwd, bwd)
    _BUILT_FUNCTIONS[key] = stats
    return stats


def _torch_sigmoid_dense_stats(torch: Any) -> Any:
    """Build (once) the torch.autograd.Function behind :func:`sigmoid_dense_stats`.

    The only logits-sized buffer is the sigmoid output, which the backward pass turns
    into the gradient in place; targets are converted to floats one pixel chunk at a
    time (see `_pixel_chunks`), so an int64 target never gets a float copy.
    """
    key = "torch_sigmoid_dense_stats"
    if key in _BUILT_FUNCTIONS:
        return _BUILT_FUNCTIONS[key]

    def target(t: Any, valid: Any, acc: Any) -> Any:
        # a float copy of one chunk (t.to(acc) may return the caller's own tensor)
        tf = t.to(acc, copy=True)
        return tf if valid is None else tf.masked_fill_(~valid, 0)

    def chunk(a: Any, i: int, lo: int, hi: int) -> Any:
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
            for i, lo, hi in _pixel_chunks(n, c, pixels):
                pc = p[i, :, lo:hi]
                tf = target(t[i, :, lo:hi], chunk(valid, i, lo, hi), acc)
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
            for i, lo, hi in _pixel_chunks(n, c, pixels):
                pc = p[i, :, lo:hi]
                g = target(t[i, :, lo:hi], chunk(valid, i, lo, hi), ctx.acc)
                if ctx.hard:
                    g.mul_(gi[i]).add_(gp[i])
                else:
                    g.neg_().add_(pc).sign_().mul_(-0.5 * gi[i]).add_(gp[i] + 0.5 * gi[i])
                torch.ops.aten.sigmoid_backward.grad_input(g, pc, grad_input=pc)
            return p.to(x.dtype), grad_t, None, None, None

    _BUILT_FUNCTIONS[key] = SigmoidDenseStats
    return SigmoidDenseStats


def _numpy_softmax(x: Any, axis: int) -> Any:
    """NumPy softmax in one output buffer (the generic form makes three)."""
    np = sys.modules["numpy"]
    out = np.subtract(x, x.max(axis=axis, keepdims=True))
    np.exp(out, out=out)
    out /= out.sum(axis=axis, keepdims=True)
    return out


def _numpy_sigmoid(x: Any) -> Any:
    """NumPy ``1 / (1 + exp(-x))`` in one buffer of at least float32; ``exp`` overflows
    to inf only where the sigmoid is below the smallest normal float, giving 0."""
    np = sys.modules["numpy"]
    out = np.negative(x, dtype=np.result_type(x.dtype, np.float32))
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1
    np.reciprocal(out, out=out)
    return out


def _numpy_dense_stats(p: Any, t: Any, valid: Any | None, hard: bool, acc: Any) -> Any:
    """:func:`probs_dense_stats` on NumPy: float copies of the target one pixel chunk at
    a time (see `_pixel_chunks`), products and differences in that chunk's buffer."""
    np = sys.modules["numpy"]
    n, c, pixels = p.shape
    if valid is not None:  # ignored pixels predict 0 (p is ours or a masked copy)
        p = np.where(valid, p, 0).astype(p.dtype, copy=False)
    pred_sum = p.sum(axis=2, dtype=acc)
    inter, target_sum = np.zeros_like(pred_sum), np.zeros_like(pred_sum)
    for i, lo, hi in _pixel_chunks(n, c, pixels):
        pc = p[i, :, lo:hi]
        tf = t[i, :, lo:hi].astype(acc)
        if valid is not None:
            np.copyto(tf, 0, where=~valid[i, :, lo:hi])
        target_sum[i] += tf.sum(axis=1)
        if hard:
            inter[i] += np.einsum("cp,cp->c", pc, tf)
        else:
            np.subtract(pc, tf, out=tf)
            inter[i] -= np.abs(tf, out=tf).sum(axis=1)
    if not hard:
        inter = (inter + pred_sum + target_sum) / 2
    return inter, pred_sum, target_sum


def sort_along_last(xp: Any, key: Any, *arrays: Any) -> tuple[Any, ...]:
    """Permute each of ``arrays`` by the descending, stable order of ``key`` on the last axis.

    ``key`` and every array share one shape (..., L). Returns one permuted array per
    input array (``key`` itself is not returned). Differentiable with respect to
    ``arrays`` (the permutation is an integer array).

    ``xp.take_along_axis`` where the namespace has it (NumPy, strict, torch, JAX, CuPy);
    otherwise (the compat Dask namespace lacks it) the same gather as a ``xp.take`` on
    the flattened array with row offsets, which stays lazy on Dask.
    """
    perm = xp.argsort(key, axis=-1, descending=True, stable=True)
    if USE_NATIVE and (torch := _torch(key)) is not None:
        # the compat take_along_axis rewrites the indices (negative ones) into two fresh
        # int64 arrays per call; a permutation has none
        return tuple(torch.gather(a, -1, perm) for a in arrays)
    if USE_NATIVE and hasattr(xp, "take_along_axis"):
        return tuple(xp.take_along_axis(a, perm, axis=-1) for a in arrays)
    shape = tuple(key.shape)
    length = shape[-1]
    rows = 1
    for s in shape[:-1]:
        rows *= s
    offsets = xp.arange(rows, dtype=perm.dtype, device=aac.device(perm)) * length
    flat_idx = xp.reshape(xp.reshape(perm, (rows, length)) + offsets[:, None], (-1,))
    return tuple(xp.reshape(xp.take(xp.reshape(a, (-1,)), flat_idx, axis=0), shape) for a in arrays)


# -- integer counting (metrics) -------------------------------------------------------
__all__ += ["bincount", "pair_counts"]  # noqa: PLE0605

#: Pixels per step of the pure one-hot fallback (float32 one-hot entries stay exact
#: integers as long as one step counts at most 2**24 of them).
_FALLBACK_CHUNK_ELEMENTS = 2**24


def _native_bincount(x: Any, length: int) -> Any:
    """The backend's own ``bincount`` of 1-D ``x`` with output length ``length``, or None."""
    if (torch := _torch(x)) is not None:
        return torch.bincount(x, minlength=length)
    if aac.is_numpy_array(x):
        return sys.modules["numpy"].bincount(x, minlength=length)
    if aac.is_jax_array(x):
        return sys.modules["jax.numpy"].bincount(x, length=length)
    if aac.is_cupy_array(x):
        return sys.modules["cupy"].bincount(x, minlength=length)
    if aac.is_dask_array(x):
        return sys.modules["dask.array"].bincount(x, minlength=length)
    return None


def bincount(xp: Any, x: Any, length: int) -> Any:
    """Histogram of 1-D integers ``x`` in [0, length): shape (length,), integer counts.

    Values outside [0, length) are a caller error on the native path (NumPy, torch,
    JAX, CuPy, Dask ``bincount``); the pure fallback does not count them. The result's
    dtype is the backend's (int64, or int32 for JAX without x64); cast as needed.
    """
    if USE_NATIVE:
        out = _native_bincount(x, length)
        if out is not None:
            return out
    dev = aac.device(x)
    bins = xp.arange(length, dtype=x.dtype, device=dev)
    total = x.shape[0]
    step = max(1, _FALLBACK_CHUNK_ELEMENTS // max(length, 1))
    out = xp.zeros((length,), dtype=x.dtype, device=dev)
    for start in range(0, total, step):
        part = x[start : min(start + step, total)]
        match = xp.expand_dims(part, axis=1) == xp.expand_dims(bins, axis=0)
        out = out + xp.astype(xp.count_nonzero(match, axis=0), x.dtype)
    return out


def _native_clip(x: Any, lo: int, hi: int) -> Any:
    """The backend's own integer clip (array_api_compat's NumPy ``clip`` makes copies)."""
    if (torch := _torch(x)) is not None:
        if x.device.type == "cpu" and x.numel():  # in range (the usual case): no copy
            x_min, x_max = torch.aminmax(x)
            if x_min >= lo and x_max <= hi:
                return x
        return torch.clamp(x, lo, hi)
    if aac.is_numpy_array(x):
        # two reductions are cheaper than a clip's copy; labels are usually in range
        if x.size == 0 or (x.min() >= lo and x.max() <= hi):
            return x
        return sys.modules["numpy"].clip(x, lo, hi)
    if aac.is_jax_array(x):
        return sys.modules["jax.numpy"].clip(x, lo, hi)
    if aac.is_cupy_array(x):
        return sys.modules["cupy"].clip(x, lo, hi)
    if aac.is_dask_array(x):
        return sys.modules["dask.array"].clip(x, lo, hi)
    return None


def pair_counts(xp: Any, a: Any, b: Any, num_a: int, num_b: int) -> Any:
    """Joint histogram per row, with border bins for values outside the ranges.

    ``a`` and ``b`` are signed integer arrays of one shape (N, P) and dtype. Returns
    ``out`` of shape (N, num_a + 2, num_b + 2), exact counts in ``a``'s dtype:
    ``out[n, i + 1, j + 1] = #{k : a[n, k] == i and b[n, k] == j}`` for i in
    [0, num_a), j in [0, num_b); index 0 of an axis collects the values below 0 and
    index ``num + 1`` the values from ``num`` up (both are clipped to [-1, num]).

    Native path: the backend's ``clip`` and one ``bincount`` of
    ``a * (num_b + 2) + b`` plus per-row offsets. Pure fallback: ``xp.clip``, then
    batched one-hot matrices multiplied (``onehot(a).T @ onehot(b)``) in float32 steps
    of at most 2**24 pixels, each step's result exact and cast back to integers before
    summing.
    """
    dev = aac.device(a)
    n, total = a.shape
    rows_a, rows_b = num_a + 2, num_b + 2
    if USE_NATIVE and aac.is_jax_array(a):
        # one compiled program instead of ~8 eagerly compiled ops (inlined under jit)
        return _jax_pair_counts()(a, b, num_a, num_b)
    if USE_NATIVE:
        ca, cb = _native_clip(a, -1, num_a), _native_clip(b, -1, num_b)
        if ca is not None and cb is not None:
            # ``ca * rows_b`` is a fresh array: the in-place adds save two allocations
            # (JAX and Dask rebind instead).
            flat = ca * rows_b
            flat += cb
            shift = rows_b + 1  # the code of (a, b) = (-1, -1) becomes 0
            if n > 1:
                starts = xp.arange(n, dtype=a.dtype, device=dev) * (rows_a * rows_b) + shift
                flat += xp.expand_dims(starts, axis=1)
            else:
                flat += shift
            out = _native_bincount(xp.reshape(flat, (n * total,)), n * rows_a * rows_b)
            return xp.reshape(xp.astype(out, a.dtype, copy=False), (n, rows_a, rows_b))
    a = xp.clip(a, min=-1, max=num_a)
    b = xp.clip(b, min=-1, max=num_b)
    bins_a = xp.arange(-1, num_a + 1, dtype=a.dtype, device=dev)
    bins_b = xp.arange(-1, num_b + 1, dtype=b.dtype, device=dev)
    budget = _FALLBACK_CHUNK_ELEMENTS // max(n * max(rows_a, rows_b), 1)
    step = max(1, min(_FALLBACK_CHUNK_ELEMENTS, budget))
    out = xp.zeros((n, rows_a, rows_b), dtype=a.dtype, device=dev)
    for start in range(0, total, step):
        stop = min(start + step, total)
        oa = xp.astype(xp.expand_dims(a[:, start:stop], axis=2) == bins_a, xp.float32)
        ob = xp.astype(xp.expand_dims(b[:, start:stop], axis=2) == bins_b, xp.float32)
        out = out + xp.astype(xp.matmul(xp.matrix_transpose(oa), ob), a.dtype)
    return out


_JAX_PAIR_COUNTS: list[Any] = []


def _jax_pair_counts() -> Any:
    """``pair_counts``' native path for JAX, jitted once (num_a, num_b static)."""
    if not _JAX_PAIR_COUNTS:
        jax = sys.modules["jax"]
        jnp = sys.modules["jax.numpy"]

        def counts(a: Any, b: Any, num_a: int, num_b: int) -> Any:
            n = a.shape[0]
            rows_a, rows_b = num_a + 2, num_b + 2
            flat = jnp.clip(a, -1, num_a) * rows_b + jnp.clip(b, -1, num_b)
            starts = jnp.arange(n, dtype=a.dtype) * (rows_a * rows_b) + (rows_b + 1)
            flat = (flat + starts[:, None]).reshape(n * a.shape[1])
            out = jnp.bincount(flat, length=n * rows_a * rows_b)
            return out.astype(a.dtype).reshape(n, rows_a, rows_b)

        _JAX_PAIR_COUNTS.append(jax.jit(counts, static_argnums=(2, 3)))
    return _JAX_PAIR_COUNTS[0]


__all__ += ["run_compiled"]  # noqa: PLE0605

_JAX_COMPILED: dict[Any, Any] = {}


def run_compiled(fn: Any, xp: Any, *args: Any, static: tuple[int, ...] = (), **kwargs: Any) -> Any:
    """``fn(xp, *args, **kwargs)``; on JAX arrays as one cached ``jax.jit`` program.

    Eager JAX compiles every operation separately for each new shape; a pure helper made
    of many small operations compiles once this way (under an outer ``jit`` it is
    inlined). ``static`` lists the positions in ``args`` that are Python values (hashable);
    keyword arguments are always static. Other backends call ``fn`` directly.
    """
    if not (USE_NATIVE and any(aac.is_jax_array(a) for a in args)):
        return fn(xp, *args, **kwargs)
    key = (fn, tuple(static), tuple(sorted(kwargs)))
    jitted = _JAX_COMPILED.get(key)
    if jitted is None:
        jax = sys.modules["jax"]
        names = tuple(sorted(kwargs))
        jitted = jax.jit(fn, static_argnums=(0,) + tuple(i + 1 for i in static),
                         static_argnames=names)
        _JAX_COMPILED[key] = jitted
    return jitted(xp, *args, **kwargs)
