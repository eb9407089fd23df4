"""The Lovasz extension of the Jaccard loss as an array-API composition: the path of
every library without a Lovasz kernel of its own (and of torch and JAX where theirs
steps aside), and the reference the torch and JAX kernels are tested against.

Re-exported by `_standard` as ``lovasz_extension``, the router's fallback. The one sort
is the router's ``sort_along_last`` (the backend's gather where it has one).
"""

from __future__ import annotations

import math
from typing import Any

from ._device import device_of

__all__ = ["lovasz_extension"]



def _safe_divide(xp: Any, num: Any, den: Any) -> Any:
    """``num / den`` where ``den != 0``, else 0, with finite gradients (``safe_divide``
    of ``anyiou._lib._numerics``, which the kernel layer does not import)."""
    ok = den != 0
    one = xp.asarray(1, dtype=den.dtype, device=device_of(den))
    filler = xp.asarray(0.0, dtype=num.dtype, device=device_of(num))
    return xp.where(ok, num / xp.where(ok, den, one), filler)


def lovasz_extension(xp: Any, x: Any, g: Any, valid: Any | None, hinge: bool,
                     probs: bool) -> Any:
    """Lovasz extension of each row ``x[b, k]`` (flattened), (B, K, ...) -> (B, K); with
    ``probs``, ``x`` holds probabilities and ``g`` bool, and the errors are ``|g - x|``
    (see the router's ``lovasz_extension``)."""
    if probs:
        # |g - p| for 0/1 g: autodiff keeps the bool mask, not a float (g - p)
        b, k = x.shape[:2]
        errors = xp.reshape(xp.where(g, 1.0 - x, x), (b, k, -1))
        g = xp.reshape(g, (b, k, -1))
        if valid is not None:
            valid = xp.reshape(valid, tuple(valid.shape[:2]) + (-1,))
        return lovasz_rows(xp, errors, g, valid, hinge=hinge)
    return lovasz_rows(xp, x, g, valid, hinge=hinge)


def lovasz_rows(xp: Any, errors: Any, g: Any, valid: Any | None, *, hinge: bool) -> Any:
    """Lovasz extension of the Jaccard loss per row: (B, K, L) -> (B, K).

    ``errors`` is float, ``g`` (ground truth in [0, 1], 0 at invalid pixels) float or
    bool, ``valid`` bool broadcastable to their shape or None (every pixel valid).
    Invalid pixels get the sort key ``-inf`` (so they come last), error 0 and weight 0
    in the cumulative sums. With them at the end, the count of valid pixels up to
    position k is ``min(k, n_valid)``, and the background sum is that minus the
    foreground sum, so only the errors and ``g`` are gathered. Intermediates are
    released as soon as they are used: the loss holds several (B, K, L) arrays at once.
    """
    # the router: the backend's gather and cumulative sum where it has them
    from . import cumulative_sum, sort_along_last

    dtype = errors.dtype
    g = xp.astype(g, dtype)
    dev = device_of(errors)
    length = errors.shape[-1]
    zero = xp.zeros((), dtype=dtype, device=dev)
    # hinge: relu written as a where, so its gradient at 0 is 0 (torch's relu); a NaN
    # error is kept (not <= 0), so NaN propagates as it does through relu.
    keep = ~(errors <= 0) if hinge else None
    if valid is not None:
        keep = valid if keep is None else valid & keep
    contrib = errors if keep is None else xp.where(keep, errors, zero)
    del keep
    if valid is None:
        key = errors
        seen = xp.arange(1, length + 1, dtype=dtype, device=dev)
    else:
        key = xp.where(valid, errors, xp.asarray(-math.inf, dtype=dtype, device=dev))
        n_valid = xp.sum(xp.astype(valid, dtype), axis=-1, keepdims=True)
        seen = xp.minimum(xp.arange(1, length + 1, dtype=dtype, device=dev), n_valid)
    e_sorted, g_sorted = sort_along_last(xp, key, contrib, g)
    del key, contrib
    g_total = xp.sum(g, axis=-1, keepdims=True)
    # J_k = 1 - I_k / U_k with I_k = G - fg_k and U_k = G + seen_k - fg_k, i.e.
    # J_k = seen_k / U_k; U_k == 0 only before any valid pixel (all ignored): J = 0.
    union = g_total + (seen - cumulative_sum(xp, g_sorted))
    del g_sorted
    jaccard = _safe_divide(xp, xp.broadcast_to(seen, union.shape), union)
    del union, seen
    weights = xp.concat([jaccard[..., :1], jaccard[..., 1:] - jaccard[..., :-1]], axis=-1)
    del jaccard
    return xp.sum(e_sorted * weights, axis=-1)
