"""CuPy kernels: gathers and per-row histograms without one-hot temporaries.

CuPy has no autodiff, so each kernel is a plain forward: ``take_labels`` is one
``take_along_axis`` and ``row_bincount`` one ``bincount`` with row offsets (weighted for
the label sums), where the standard versions build (N, C, P) one-hot selections. Every
array is made on the input's device (``with labels.device``), not the current one.
"""

from __future__ import annotations

from typing import Any

import cupy

__all__ = ["clip", "row_bincount", "take_labels"]


def take_labels(xp: Any, p: Any, labels: Any) -> Any:
    """``p[n, labels[n, i], i]`` as one ``take_along_axis``."""
    with p.device:
        idx = labels.astype(cupy.int64, copy=False)[:, None, :]
        return cupy.take_along_axis(p, idx, axis=1)[:, 0, :]


def row_bincount(
    xp: Any, labels: Any, num_bins: int, weights: Any | None = None, *, scratch: bool = False
) -> Any:
    """Per-row counts (or sums of ``weights``, in their dtype) as one ``cupy.bincount``
    with row offsets built on ``labels``' device."""
    n = labels.shape[0]
    with labels.device:
        offsets = cupy.arange(n, dtype=cupy.int64)[:, None] * num_bins
        flat = (labels.astype(cupy.int64, copy=False) + offsets).reshape(-1)
        if weights is None:
            return cupy.bincount(flat, minlength=n * num_bins).reshape(n, num_bins)
        sums = cupy.bincount(flat, weights=weights.reshape(-1), minlength=n * num_bins)
        return sums.astype(weights.dtype, copy=False).reshape(n, num_bins)


def clip(xp: Any, x: Any, lo: int, hi: int) -> Any:
    with x.device:
        return cupy.clip(x, lo, hi)
