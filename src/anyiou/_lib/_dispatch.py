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

#: Use backend fast paths (torch/JAX/NumPy kernels); False forces the pure standard.
USE_NATIVE = True

__all__ = [
    "USE_NATIVE",
    "label_counts",
    "label_sums",
    "sigmoid",
    "softmax",
    "take_labels",
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
    # exp(-|x|) never overflows, so neither branch of the where produces inf/NaN
    # (an inf in the unused branch would still poison the gradient).
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def take_labels(xp: Any, p: Any, labels: Any) -> Any:
    """``p[n, labels[n, i], i]`` for ``p`` of shape (N, C, P) and ``labels`` (N, P).

    ``labels`` must lie in [0, C). Returns shape (N, P).
    """
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
        if aac.is_jax_array(values):
            rows = xp.arange(n)[:, None]
            out = xp.zeros((n, num_bins), dtype=values.dtype)
            return out.at[rows, labels].add(values)
    bins = xp.arange(num_bins, dtype=labels.dtype, device=aac.device(labels))
    match = xp.expand_dims(labels, axis=1) == bins[None, :, None]
    zero = xp.zeros((), dtype=values.dtype, device=aac.device(values))
    return xp.sum(xp.where(match, xp.expand_dims(values, axis=1), zero), axis=2)


def label_counts(xp: Any, labels: Any, num_bins: int) -> Any:
    """Per-row histogram of integer ``labels`` (N, P) in [0, num_bins): (N, num_bins) int."""
    n = labels.shape[0]
    if USE_NATIVE:
        if (torch := _torch(labels)) is not None:
            offsets = torch.arange(n, device=labels.device)[:, None] * num_bins
            flat = (labels.to(torch.int64) + offsets).reshape(-1)
            return torch.bincount(flat, minlength=n * num_bins).reshape(n, num_bins)
        if aac.is_numpy_array(labels):
            np = sys.modules["numpy"]
            offsets = np.arange(n)[:, None] * num_bins
            flat = (labels.astype(np.int64) + offsets).reshape(-1)
            return np.bincount(flat, minlength=n * num_bins).reshape(n, num_bins)
        if aac.is_jax_array(labels):
            jnp = sys.modules["jax.numpy"]
            offsets = jnp.arange(n)[:, None] * num_bins
            flat = (labels + offsets).reshape(-1)
            return jnp.bincount(flat, length=n * num_bins).reshape(n, num_bins)
    bins = xp.arange(num_bins, dtype=labels.dtype, device=aac.device(labels))
    match = xp.expand_dims(labels, axis=1) == bins[None, :, None]
    return xp.count_nonzero(match, axis=2)
