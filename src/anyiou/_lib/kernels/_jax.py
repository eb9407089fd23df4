"""JAX kernels: custom VJP rules for the loss statistics shaped for XLA's buffer
assignment, scatter-add label sums, and one compiled program per small helper.

`softmax_label_stats`: the one logits-sized temporary is ``e = exp(x - max_c x)``, read
only by reductions and by two batched mat-vec products (``Sp`` forward, ``s`` backward);
the gradient is recomputed from ``x`` and the per-pixel max and log-sum, so ``e`` is
dead before the gradient is written and XLA places both in one buffer. The
intersection is a scatter-add of each pixel's true-class probability (one gather),
never a (N, C, P) select.

`sigmoid_dense_stats`: every logits-sized value is an elementwise input of a reduction
or of the gradient itself, so XLA allocates no logits-sized temporary.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "pair_counts",
    "row_bincount",
    "run_compiled",
    "sigmoid",
    "sigmoid_dense_stats",
    "softmax",
    "softmax_label_stats",
    "take_labels",
]


def softmax(xp: Any, x: Any, axis: int) -> Any:
    return jax.nn.softmax(x, axis=axis)


def sigmoid(xp: Any, x: Any) -> Any:
    return jax.nn.sigmoid(x)


def take_labels(xp: Any, p: Any, labels: Any) -> Any:
    """``p[n, labels[n, i], i]`` as one gather."""
    return jnp.take_along_axis(p, labels[:, None, :], axis=1)[:, 0, :]


def row_bincount(
    xp: Any, labels: Any, num_bins: int, weights: Any | None = None, *, scratch: bool = False
) -> Any:
    """Per-row histogram (N, num_bins): a scatter-add of ``weights`` (differentiable), or
    one ``bincount`` of the labels shifted by row offsets."""
    n = labels.shape[0]
    if weights is not None:
        rows = jnp.arange(n)[:, None]
        return jnp.zeros((n, num_bins), dtype=weights.dtype).at[rows, labels].add(weights)
    flat = (labels + jnp.arange(n, dtype=labels.dtype)[:, None] * num_bins).reshape(-1)
    return jnp.bincount(flat, length=n * num_bins).reshape(n, num_bins)


@functools.partial(jax.jit, static_argnums=(3, 4))
def _pair_counts(xp: Any, a: Any, b: Any, num_a: int, num_b: int) -> Any:
    n = a.shape[0]
    rows_a, rows_b = num_a + 2, num_b + 2
    code = jnp.clip(a, -1, num_a) * rows_b + jnp.clip(b, -1, num_b) + (rows_b + 1)
    out = row_bincount(xp, code, rows_a * rows_b)
    return out.astype(a.dtype).reshape(n, rows_a, rows_b)


def pair_counts(xp: Any, a: Any, b: Any, num_a: int, num_b: int) -> Any:
    """The router's ``pair_counts`` as one compiled program (inlined under ``jit``)."""
    return _pair_counts(None, a, b, num_a, num_b)


@functools.cache
def _compiled(fn: Any, static: tuple[int, ...], names: tuple[str, ...]) -> Any:
    return jax.jit(fn, static_argnums=(0,) + tuple(i + 1 for i in static),
                   static_argnames=names)


def run_compiled(fn: Any, xp: Any, *args: Any, static: tuple[int, ...] = (), **kwargs: Any) -> Any:
    """``fn(xp, *args, **kwargs)`` as one cached ``jax.jit`` program."""
    return _compiled(fn, tuple(static), tuple(sorted(kwargs)))(xp, *args, **kwargs)


# -- multiclass: softmax statistics -----------------------------------------------------


def _pixelwise(a: Any, ca: int) -> Any:  # (N, P) -> broadcastable against the logits
    return jnp.expand_dims(a, ca)


def _classwise(a: Any, ca: int) -> Any:  # (N, C) -> broadcastable against the logits
    return jnp.expand_dims(a, 3 - ca)


def _layout(x: Any, class_last: bool) -> Any:
    return jnp.swapaxes(x, 1, 2) if class_last else x


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4))
def _softmax_stats(x: Any, binned: Any, vmask: Any, acc: Any, class_last: bool) -> Any:
    return _softmax_stats_fwd(x, binned, vmask, acc, class_last)[0]


def _softmax_stats_fwd(x: Any, binned: Any, vmask: Any, acc: Any, class_last: bool) -> Any:
    n, c = x.shape[0], x.shape[1]
    ca = 2 if class_last else 1  # class axis of the working layout
    spec = "npc" if class_last else "ncp"
    xa = _layout(x, class_last).astype(acc)
    m = jnp.max(xa, axis=ca)
    e = jnp.exp(xa - _pixelwise(m, ca))
    if vmask is not None:  # ignored pixels predict 0 (also hides NaN logits there)
        e = jnp.where(_pixelwise(vmask, ca) > 0, e, 0)
    z = jnp.sum(e, axis=ca)
    ok = z > 0
    rz = jnp.where(ok, 1 / jnp.where(ok, z, 1), 0)
    log_z = jnp.where(ok, jnp.log(jnp.where(ok, z, 1)), jnp.inf)
    # probability of each pixel's own class: one gather, then a per-class scatter-add
    x_true = jnp.take_along_axis(xa, _pixelwise(binned, ca), axis=ca, mode="clip")
    p_true = jnp.exp((jnp.squeeze(x_true, ca) - m) - log_z)
    if vmask is not None:
        p_true = jnp.where(vmask > 0, p_true, 0)
    flat = (binned + (c + 1) * jnp.arange(n, dtype=binned.dtype)[:, None]).reshape(-1)
    inter = jnp.zeros(n * (c + 1), acc).at[flat].add(p_true.reshape(-1), mode="drop")
    inter = inter.reshape(n, c + 1)[:, :c]  # bin c collects ignored pixels
    pred = jnp.einsum(f"{spec},np->nc", e, rz)
    return (inter, pred), (x, binned, vmask, e, m, rz, log_z, p_true)


def _softmax_stats_bwd(acc: Any, class_last: bool, res: Any, g: Any) -> Any:
    # dL/dx_ci = p_ci (g_ci - s_i), g_ci = v_i (gSp_c + gI_c [y_i = c]),
    # s_i = sum_k p_ki g_ki = rz_i sum_k e_ki gSp_k + p_true_i gI_{y_i}
    x, binned, vmask, e, m, rz, log_z, p_true = res
    c = x.shape[1]
    ca = 2 if class_last else 1
    spec = "npc" if class_last else "ncp"
    g_inter, g_pred = g
    g_true = jnp.take_along_axis(g_inter, binned, axis=1, mode="fill", fill_value=0)
    s = jnp.einsum(f"{spec},nc->np", e, g_pred) * rz + p_true * g_true
    classes = _classwise(jnp.arange(c, dtype=binned.dtype)[None, :], ca)
    onehot = _pixelwise(binned, ca) == classes
    gfull = _classwise(g_pred, ca) + jnp.where(onehot, _classwise(g_inter, ca), 0)
    # p recomputed as exp((x - m) - log z): precise for large logits, and a different
    # expression from e, so XLA does not merge the two and keep e alive until here
    p = jnp.exp((_layout(x, class_last).astype(acc) - _pixelwise(m, ca)) - _pixelwise(log_z, ca))
    grad = p * (gfull - _pixelwise(s, ca))
    if vmask is not None:
        grad = jnp.where(_pixelwise(vmask, ca) > 0, grad, 0)
    zero_int = np.zeros(binned.shape, dtype=jax.dtypes.float0)
    zero_mask = None if vmask is None else jnp.zeros_like(vmask)
    return _layout(grad, class_last).astype(x.dtype), zero_int, zero_mask


_softmax_stats.defvjp(_softmax_stats_fwd, _softmax_stats_bwd)


def softmax_label_stats(
    xp: Any, logits: Any, safe: Any, binned: Any, valid: Any, acc: Any, class_last: bool
) -> tuple[Any, Any]:
    """The router's ``softmax_label_stats`` as a custom VJP (``safe`` is not needed: the
    gather clips ``binned``)."""
    vmask = None if valid is None else valid.astype(acc)
    return _softmax_stats(logits, binned, vmask, jnp.dtype(acc), class_last)


# -- binary / multilabel: sigmoid statistics --------------------------------------------


def _masked(a: Any, valid: Any) -> Any:  # ignored pixels: 0 (hides NaN there too)
    return a if valid is None else jnp.where(valid, a, 0)


def _add3(a: Any, b: Any) -> Any:
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4))
def _sigmoid_stats(x: Any, t: Any, valid: Any, hard: bool, acc: Any) -> Any:
    return _sigmoid_stats_fwd(x, t, valid, hard, acc)[0]


def _sigmoid_stats_fwd(x: Any, t: Any, valid: Any, hard: bool, acc: Any) -> Any:
    p, tf = _masked(jax.nn.sigmoid(x.astype(acc)), valid), _masked(t.astype(acc), valid)
    overlap = p * tf if hard else jnp.abs(p - tf)
    # one variadic reduction: XLA fuses the sigmoid into it instead of materialising
    # p and the float target for three separate sums
    zero = jnp.zeros((), acc)
    pred, target, o = jax.lax.reduce((p, tf, overlap), (zero,) * 3, _add3, (x.ndim - 1,))
    inter = o if hard else (pred + target - o) / 2
    return (inter, pred, target), (x, t, valid)


def _sigmoid_stats_bwd(hard: bool, acc: Any, res: Any, g: Any) -> Any:
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
    tf = _masked(t.astype(acc), valid)
    d_inter = tf if hard else (1 - jnp.sign(p - tf)) / 2
    grad = _masked(e * r * r * (g_pred + g_inter * d_inter), valid)
    if jnp.issubdtype(t.dtype, jnp.inexact):  # soft targets: dSt/dt = 1, dI/dt = (1 + sign) / 2
        grad_t = _masked(g_tsum + g_inter * (1 + jnp.sign(p - tf)) / 2, valid).astype(t.dtype)
    else:
        grad_t = np.zeros(t.shape, dtype=jax.dtypes.float0)
    grad_valid = None if valid is None else np.zeros(valid.shape, dtype=jax.dtypes.float0)
    return grad.astype(x.dtype), grad_t, grad_valid


_sigmoid_stats.defvjp(_sigmoid_stats_fwd, _sigmoid_stats_bwd)


def sigmoid_dense_stats(
    xp: Any, logits: Any, t: Any, valid: Any, hard: bool, acc: Any
) -> tuple[Any, Any, Any]:
    """The router's ``sigmoid_dense_stats`` as a custom VJP."""
    return _sigmoid_stats(logits, t, valid, hard, jnp.dtype(acc))
