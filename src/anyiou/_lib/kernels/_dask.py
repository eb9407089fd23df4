"""Dask kernels: the integer counts (bincount, clip), lazy."""

from __future__ import annotations

from typing import Any

import dask.array as da

from . import _standard

__all__ = ["clip", "row_bincount"]


def row_bincount(
    xp: Any, labels: Any, num_bins: int, weights: Any | None = None, *, scratch: bool = False
) -> Any:
    """Per-row counts as one ``da.bincount`` with row offsets (sums: the standard)."""
    if weights is not None:
        return _standard.row_bincount(xp, labels, num_bins, weights)
    n = labels.shape[0]
    flat = (labels + da.arange(n, dtype=labels.dtype)[:, None] * num_bins).reshape(-1)
    return da.bincount(flat, minlength=n * num_bins).reshape(n, num_bins)


def clip(xp: Any, x: Any, lo: int, hi: int) -> Any:
    return da.clip(x, lo, hi)
