"""Dask kernels: the integer counts (bincount, clip) and the box erosion of Boundary IoU
(blocks with halos), lazy."""

from __future__ import annotations

from typing import Any

import dask.array as da

from . import _standard

__all__ = ["box_interior", "clip", "row_bincount"]


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


def box_interior(xp: Any, labels: Any, axes: tuple[int, ...], d: int, outside: Any) -> Any:
    """The array-API box test (`_standard_box.box_interior`) run by NumPy on each block
    extended by halos of ``d`` pixels along ``axes``: a pixel's (2d+1) box then lies in
    its extended block. No halo is added at the image border (``boundary='none'``), so a
    block's outer edge is the image's, as the test needs."""
    import array_api_compat.numpy as np_xp

    standard = _standard.box_interior
    if any(2 * d >= labels.shape[a] for a in axes):  # nothing is interior
        return standard(xp, labels, axes, d, outside)
    depth = {a: (d if a in axes else 0) for a in range(labels.ndim)}
    return da.map_overlap(
        lambda block: standard(np_xp, block, axes, d, outside),
        labels, depth=depth, boundary="none", dtype=bool, trim=True,
    )
