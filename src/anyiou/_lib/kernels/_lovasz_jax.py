"""JAX kernel of the Lovasz extension: one sort per row, the weights computed in sorted
order and scattered back once, as a `jax.custom_jvp`.

Order of the pixels (it decides the gradient where errors tie; the value does not depend
on it): decreasing error, ties in increasing position along the row; errors at or below
zero in the hinge (which count 0) tie at 0; ignored pixels come last. This is the stable
descending order of the pure array-API path, and of the torch kernel.

The sort key is an integer: a non-negative float orders like its bit pattern, so
``TOP - bits(max(e, 0))`` sorts ascending in the wanted order (ignored pixels get
``TOP + 1``). One `lax.sort` of two operands (the key and the positions) gives the
sorted errors, decoded from the key, and the permutation; the ground truth is gathered
once. On the CPU, long rows are sorted one after the other (`lax.map`, each row sliced
inside the loop), so the sort's temporaries are row-sized (an accelerator sorts all rows
in one launch) and the weights are the one errors-sized
array. The loss of a row is ``sum_i e_i w_i`` with the weights ``w`` constant between
ties, so the rule's tangent is ``sum_i w_i de_i``: linear in the tangent with a
coefficient computed once, which reverse mode transposes into ``w * ct`` (one
errors-sized residual). The function returns the weights as a second output (tangent
zero) and the rule calls the function itself for its primal, so every order of
differentiation, ``vmap`` and ``jit`` work on it; forward mode with respect to soft
targets (the weights depend on them) takes the array-API composition's derivative.

A layer of the router's table over `_jax`: the router asks it first for JAX arrays,
and it defines only `lovasz_extension`.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from . import _standard

__all__ = ["lovasz_extension"]

#: rows at least this long are sorted one after the other (row-sized temporaries)
ROW_MAP_MIN = 1 << 14

_INT = {jnp.dtype(jnp.float32): jnp.int32, jnp.dtype(jnp.float64): jnp.int64}
_MASK = {jnp.int32: 0x7FFFFFFF, jnp.int64: 0x7FFFFFFFFFFFFFFF}  # drops the sign bit


def lovasz_extension(xp: Any, x: Any, g: Any, valid: Any, hinge: bool, probs: bool) -> Any:
    """Lovasz extension of each row ``x[b, k]`` (flattened), (B, K, ...) -> (B, K); with
    ``probs``, ``x`` holds probabilities and ``g`` bool, and the errors are
    ``|g - x|``. Dtypes other than float32 and float64 take the array-API composition
    (float16/bfloat16 never arrive here: the loss computes in float32)."""
    if jnp.dtype(x.dtype) not in _INT:
        return _standard.lovasz_extension(xp, x, g, valid, hinge, probs)
    if valid is not None:
        valid = jnp.broadcast_to(valid, x.shape)
    return _lovasz(x, g, valid, hinge, probs)[0]


def _errors(x: Any, g: Any, probs: bool) -> Any:
    n, k = x.shape[:2]
    e = jnp.where(g, 1 - x, x) if probs else x
    return e.reshape(n, k, -1)


def _row_by_row(x: Any) -> bool:
    """Sort the rows one after the other: long rows on the CPU, where row-sized
    temporaries save memory and a batched sort is no faster. An accelerator sorts all
    rows in one launch (a loop of rows would serialise them), whatever the size."""
    return jax.default_backend() == "cpu" and math.prod(x.shape[2:]) >= ROW_MAP_MIN


def _weights(x: Any, g: Any, valid: Any, hinge: bool, probs: bool) -> tuple[Any, Any]:
    """``(losses, weights)``: the loss of each row and its gradient with respect to
    ``x`` (x's shape), one row after the other (`lax.map`): the sort's temporaries are
    row-sized."""
    n, k = x.shape[:2]
    if n * k == 1 or not _row_by_row(x):
        return _weights_of_rows(x, g, valid, hinge, probs)

    def one(r: Any) -> Any:
        # row r of (n, k), sliced inside the loop: x may be a transposed array (the
        # classes of a channels-first batch), which is then never copied whole
        b, c = r // k, r % k
        row = [None if a is None else
               lax.dynamic_index_in_dim(lax.dynamic_index_in_dim(a, b, 0, False), c, 0, False)
               .reshape(1, 1, -1) for a in (x, g, valid)]
        loss, w = _weights_of_rows(*row, hinge, probs)
        return loss[0, 0], w[0, 0]

    losses, weights = lax.map(one, jnp.arange(n * k))
    return losses.reshape(n, k), weights.reshape(x.shape)


def _weights_of_rows(x: Any, g: Any, valid: Any, hinge: bool, probs: bool
                     ) -> tuple[Any, Any]:
    """`_weights` of all rows at once."""
    n, k = x.shape[:2]
    e = _errors(x, g, probs)
    gr = g.reshape(n, k, -1)
    itype = _INT[jnp.dtype(x.dtype)]
    mask = _MASK[itype]
    top = mask - 1
    key = lax.bitcast_convert_type(e, itype) & mask  # |e| bits: -0.0 and 0.0 alike
    if hinge:
        key = jnp.where(e <= 0, 0, key)
    key = top - key
    if valid is not None:
        key = jnp.where(valid.reshape(n, k, -1), key, top + 1)
    length = key.shape[-1]
    iota = lax.broadcasted_iota(jnp.int32, key.shape, 2)
    sorted_key, perm = lax.sort((key, iota), dimension=2, num_keys=1, is_stable=True)
    # counted pixels (the others, last, weigh 0): error > 0 or NaN (hinge), valid (else)
    counted = sorted_key < top if hinge else sorted_key <= top
    e_sorted = lax.bitcast_convert_type(jnp.maximum(top - sorted_key, 0), x.dtype)
    g_sorted = jnp.take_along_axis(gr, perm, axis=2).astype(x.dtype)
    # J_k = k / (G + k - cumsum(g)_k) on the counted prefix, where k counts the valid
    # pixels seen; the union is >= k >= 1 (g <= 1)
    seen = jnp.arange(1, length + 1, dtype=x.dtype)
    fg_seen = jnp.cumsum(g_sorted, axis=2)
    g_total = fg_seen[..., -1:]  # ignored pixels have g = 0
    jac = seen / (g_total + (seen - fg_seen))
    w = jnp.diff(jac, axis=2, prepend=jnp.zeros_like(jac[..., :1]))
    w = jnp.where(counted, w, 0)
    losses = jnp.sum(e_sorted * w, axis=2)
    if probs:  # d|g - p| / dp = -1 where g, else 1
        w = jnp.where(g_sorted > 0, -w, w)
    if n * k * length < 2**31:  # one flat scatter: a single int32 index array
        flat = (perm + lax.broadcasted_iota(jnp.int32, perm.shape, 1) * length
                + lax.broadcasted_iota(jnp.int32, perm.shape, 0) * (k * length))
        weights = jnp.zeros(w.size, w.dtype).at[flat.reshape(-1)].set(
            w.reshape(-1), unique_indices=True)
    else:
        rows = (jnp.arange(n)[:, None, None], jnp.arange(k)[None, :, None])
        weights = jnp.zeros_like(w).at[rows[0], rows[1], perm].set(w, unique_indices=True)
    return losses, weights.reshape(x.shape)


@functools.partial(jax.custom_jvp, nondiff_argnums=(3, 4))
def _lovasz(x: Any, g: Any, valid: Any, hinge: bool, probs: bool) -> Any:
    return _weights(x, g, valid, hinge, probs)


def _is_zero(t: Any) -> bool:
    return isinstance(t, jax.custom_derivatives.SymbolicZero)


def _lovasz_jvp(hinge: bool, probs: bool, primals: Any, tangents: Any) -> Any:
    x, g, valid = primals
    dx, dg = tangents[0], tangents[1]
    losses, weights = _lovasz(x, g, valid, hinge, probs)  # itself: any order works
    d_losses = jnp.zeros_like(losses)
    if not _is_zero(dx):
        n, k = x.shape[:2]
        d_losses = jnp.sum((weights * dx).reshape(n, k, -1), axis=2)
    if not (_is_zero(dg) or probs) and jnp.issubdtype(g.dtype, jnp.inexact):
        # soft targets: the weights depend on g; the array-API composition's derivative
        import array_api_compat

        xp = array_api_compat.array_namespace(x)

        def by_g(gg: Any) -> Any:
            return _standard.lovasz_extension(xp, x, gg, valid, hinge, probs)

        d_losses = d_losses + jax.jvp(by_g, (g,), (dg,))[1]
    return (losses, weights), (d_losses, jnp.zeros_like(weights))


_lovasz.defjvp(_lovasz_jvp, symbolic_zeros=True)
