"""JAX kernels: custom JVP rules for the loss statistics shaped for XLA's buffer
assignment, scatter-add label sums, and one compiled program per small helper.

The statistics are `jax.custom_jvp` functions, so every transform works on them:
forward mode (`jax.jvp`, `jacfwd`, `linearize`), reverse mode (`grad`, `jacrev`, by JAX's
transposition of the rule), any order (`hessian`, grad of grad: each rule is written in
differentiable operations, the sigmoid one calls itself for its primal), `vmap`, `jit`
and `shard_map`. The rules are written so that the transposed program under `jit` has no
logits-sized temporary beyond what the forward needs:

`softmax_label_stats`: the one logits-sized temporary is ``e = exp(x - max_c x)``, read
only by reductions and by two batched mat-vec products (``Sp`` forward, the per-pixel
``s`` of the tangent); the tangent's coefficient ``p`` is recomputed from ``x`` and the
per-pixel max and log-sum, so after transposition ``e`` is dead before the gradient is
written and XLA places both in one buffer. The intersection is a scatter-add of each
pixel's true-class probability (one gather), never a (N, C, P) select.

`sigmoid_dense_stats`: every logits-sized value is an elementwise input of a reduction
or of the gradient itself, so XLA allocates no logits-sized temporary.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp

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


def _label_sums(v: Any, binned: Any, c: int) -> Any:
    """(N, C) sums of ``v`` (N, P) per label; bin ``c`` collects ignored pixels."""
    n = binned.shape[0]
    flat = (binned + (c + 1) * jnp.arange(n, dtype=binned.dtype)[:, None]).reshape(-1)
    out = jnp.zeros(n * (c + 1), v.dtype).at[flat].add(v.reshape(-1), mode="drop")
    return out.reshape(n, c + 1)[:, :c]


@functools.partial(jax.custom_jvp, nondiff_argnums=(3, 4))
def _softmax_stats(x: Any, binned: Any, valid: Any, acc: Any, class_last: bool) -> Any:
    return _softmax_primal(x, binned, valid, acc, class_last)[0]


def _softmax_primal(x: Any, binned: Any, valid: Any, acc: Any, class_last: bool) -> Any:
    """``(I, Sp)`` and what the tangent reuses, in differentiable operations."""
    c = x.shape[1]
    ca = 2 if class_last else 1  # class axis of the working layout
    spec = "npc" if class_last else "ncp"
    xa = _layout(x, class_last).astype(acc)
    m = jax.lax.stop_gradient(jnp.max(xa, axis=ca))  # the softmax does not depend on m
    e = jnp.exp(xa - _pixelwise(m, ca))
    if valid is not None:  # ignored pixels predict 0 (also hides NaN logits there)
        e = jnp.where(_pixelwise(valid, ca) > 0, e, 0)
    # z >= 1 at every valid pixel (the max term is exp(0)); z = 0 at ignored ones, whose
    # p is masked. Clamped at 1 rather than selected: the gradient then reads z alone,
    # not z and a select of its log (a per-pixel array less)
    z1 = jnp.maximum(jnp.sum(e, axis=ca), 1)
    rz, log_z = 1 / z1, jnp.log(z1)
    # probability of each pixel's own class: one gather, then a per-class scatter-add
    x_true = jnp.take_along_axis(xa, _pixelwise(binned, ca), axis=ca, mode="clip")
    p_true = jnp.exp((jnp.squeeze(x_true, ca) - m) - log_z)
    if valid is not None:
        p_true = jnp.where(valid > 0, p_true, 0)
    pred = jnp.einsum(f"{spec},np->nc", e, rz)
    return (_label_sums(p_true, binned, c), pred), (m, e, rz, log_z, p_true)


@_softmax_stats.defjvp
def _softmax_stats_jvp(acc: Any, class_last: bool, primals: Any, tangents: Any) -> Any:
    # dp_ci = p_ci (dx_ci - s_i), s_i = sum_k p_ki dx_ki; dSp_c = sum_i dp_ci and
    # dI_c = sum_{i: y_i = c} p_true_i (dx_{y_i, i} - s_i). Transposed (reverse mode):
    # dL/dx_ci = p_ci (gSp_c - rz_i sum_k e_ki gSp_k - a_i) + [y_i = c] a_i with
    # a_i = p_true_i gI_{y_i}.
    x, binned, valid = primals
    dx = tangents[0]
    c = x.shape[1]
    ca = 2 if class_last else 1
    spec = "npc" if class_last else "ncp"
    out, (m, e, rz, log_z, p_true) = _softmax_primal(x, binned, valid, acc, class_last)
    # p recomputed as exp((x - m) - log z): precise for large logits, and a different
    # expression from e, so XLA fuses it into the gradient instead of keeping e (or a
    # second logits-sized p) alive until the gradient is written
    p = jnp.exp((_layout(x, class_last).astype(acc) - _pixelwise(m, ca)) - _pixelwise(log_z, ca))
    if valid is not None:
        p = jnp.where(_pixelwise(valid, ca) > 0, p, 0)
    dxa = _layout(dx, class_last).astype(acc)
    q = p * dxa
    s = jnp.sum(q, axis=ca)
    classes = _classwise(jnp.arange(c, dtype=binned.dtype)[None, :], ca)
    dx_true = jnp.sum(jnp.where(_pixelwise(binned, ca) == classes, dxa, 0), axis=ca)
    d_inter = _label_sums(p_true * (dx_true - s), binned, c)
    # sum_i p_ci s_i as a mat-vec with e: its transpose reads e, not p
    d_pred = jnp.sum(q, axis=3 - ca) - jnp.einsum(f"{spec},np->nc", e, rz * s)
    return out, (d_inter, d_pred)


def softmax_label_stats(
    xp: Any, logits: Any, safe: Any, binned: Any, valid: Any, acc: Any, class_last: bool
) -> tuple[Any, Any]:
    """The router's ``softmax_label_stats`` as a custom JVP (``safe`` is not needed: the
    gather clips ``binned``)."""
    # a float mask: XLA fuses it into each consumer, where a bool one got a buffer of its
    # own in jit(value_and_grad); its tangent is never read
    vmask = None if valid is None else valid.astype(acc)
    return _softmax_stats(logits, binned, vmask, jnp.dtype(acc), class_last)


# -- binary / multilabel: sigmoid statistics --------------------------------------------


def _masked(a: Any, valid: Any) -> Any:  # ignored pixels: 0 (hides NaN there too)
    return a if valid is None else jnp.where(valid, a, 0)


def _add3(a: Any, b: Any) -> Any:
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


def _is_zero(t: Any) -> bool:
    return isinstance(t, jax.custom_derivatives.SymbolicZero)


@functools.partial(jax.custom_jvp, nondiff_argnums=(3, 4))
def _sigmoid_stats(x: Any, t: Any, valid: Any, hard: bool, acc: Any) -> Any:
    p, tf = _masked(jax.nn.sigmoid(x.astype(acc)), valid), _masked(t.astype(acc), valid)
    overlap = p * tf if hard else jnp.abs(p - tf)
    # one variadic reduction: XLA fuses the sigmoid into it instead of materialising
    # p and the float target for three separate sums (not differentiable itself: the
    # rule below differentiates it, calling this function again for the primal)
    zero = jnp.zeros((), acc)
    pred, target, o = jax.lax.reduce((p, tf, overlap), (zero,) * 3, _add3, (x.ndim - 1,))
    inter = o if hard else (pred + target - o) / 2
    return inter, pred, target


def _sigmoid_stats_jvp(hard: bool, acc: Any, primals: Any, tangents: Any) -> Any:
    # dSp = sum dp, dp = p (1 - p) dx; dI = sum t dp (hard) or, in the L1 form,
    # sum (1 - sign(p - t)) / 2 dp + (1 + sign(p - t)) / 2 dt; dSt = sum dt; ignored
    # pixels contribute 0.
    x, t, valid = primals
    dx, dt = tangents[0], tangents[1]
    out = _sigmoid_stats(x, t, valid, hard, acc)
    # The sigmoid again, written unlike jax.nn.sigmoid so that XLA does not merge it
    # with the forward's (which would keep a logits-sized p alive until the gradient):
    # e = exp(-|x|), p = 1 / (1 + e) or e / (1 + e), p (1 - p) = e / (1 + e)^2.
    # logits of ignored pixels are replaced first: a NaN there would otherwise enter the
    # coefficient of dx, and 0 * NaN poisons the transposed (reverse-mode) rule
    xa = _masked(x.astype(acc), valid)
    e = jnp.exp(-jnp.abs(xa))
    r = 1 / (1 + e)
    tf = _masked(t.astype(acc), valid)
    # hard targets are integers (no tangent); soft ones use the sign of p - t
    sign = None if hard else jnp.sign(jnp.where(xa >= 0, r, e * r) - tf)
    # zeros_like: under shard_map the zeros must vary over the same axes as the sums
    d_inter, d_pred, d_tsum = (jnp.zeros_like(a) for a in out)
    if not _is_zero(dx):
        dp = _masked(e * r * r * dx.astype(acc), valid)
        d_pred = jnp.sum(dp, axis=-1)
        d_inter = jnp.sum(dp * (tf if hard else (1 - sign) / 2), axis=-1)
    if not hard and not _is_zero(dt) and jnp.issubdtype(t.dtype, jnp.inexact):
        dtf = _masked(dt.astype(acc), valid)
        d_tsum = jnp.sum(dtf, axis=-1)
        d_inter = d_inter + jnp.sum(dtf * (1 + sign) / 2, axis=-1)
    return out, (d_inter, d_pred, d_tsum)


_sigmoid_stats.defjvp(_sigmoid_stats_jvp, symbolic_zeros=True)


def sigmoid_dense_stats(
    xp: Any, logits: Any, t: Any, valid: Any, hard: bool, acc: Any
) -> tuple[Any, Any, Any]:
    """The router's ``sigmoid_dense_stats`` as a custom JVP."""
    return _sigmoid_stats(logits, t, valid, hard, jnp.dtype(acc))

