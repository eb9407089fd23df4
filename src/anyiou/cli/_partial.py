"""One pair's counts, held compactly until they are added to the data set's matrix.

The reading threads count a few pairs ahead of the one being added. Were each pair's
counts a dense (C, C) int64 matrix, the pairs waiting would hold that many matrices
(seven of them at C = 4096 with four threads). A pair of 8-bit label maps is counted
as the (k, k) corner of the classes a byte can hold (k <= 256), and a pair with fewer
pixels than C * C as the flat indices and counts of its non-zero cells; only a pair of
at least C * C pixels (already larger than the matrix) is counted densely.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._lib._options import ignored_classes
from .._lib._types import IgnoreValues

__all__ = ["Corner", "Sparse", "add_counts", "dense_counts", "sparse_counts"]


@dataclass(frozen=True)
class Corner:
    """Counts of the classes [0, k): the top-left (k, k) block of the (C, C) matrix."""

    counts: np.ndarray  # (k, k) int64


@dataclass(frozen=True)
class Sparse:
    """The non-zero cells: ``index`` into the flattened (C, C) matrix (each once), int64
    ``counts``."""

    index: np.ndarray
    counts: np.ndarray


Counted = np.ndarray | Corner | Sparse


def add_counts(total: np.ndarray, part: Counted) -> None:
    """``total += part`` in place; ``total`` is a C-contiguous (C, C) int64 matrix."""
    if isinstance(part, Corner):
        k = part.counts.shape[0]
        total[:k, :k] += part.counts
    elif isinstance(part, Sparse):
        total.reshape(-1)[part.index] += part.counts  # a view; each index once
    else:
        total += part


def dense_counts(part: Counted, num_classes: int) -> np.ndarray:
    """``part`` as a (C, C) int64 matrix (for ``--per-image``)."""
    if isinstance(part, np.ndarray):
        return part
    out = np.zeros((num_classes, num_classes), dtype=np.int64)
    add_counts(out, part)
    return out


def sparse_counts(pred: np.ndarray, target: np.ndarray, num_classes: int,
                  ignore_index: IgnoreValues) -> Sparse:
    """Counts of a checked pair (:func:`anyiou.cli._checks.check_pair`: int32 labels in
    [0, C), -1 for a target left out) as non-zero cells, rows target, columns
    prediction. A target equal to an ``ignore_index`` in [0, C) is left out too.

    Examples
    --------
    >>> import numpy as np
    >>> s = sparse_counts(np.array([0, 1, 1, 2]), np.array([0, 1, -1, 1]), 3, None)
    >>> s.index.tolist(), s.counts.tolist()  # cells (0, 0), (1, 1), (1, 2)
    ([0, 4, 5], [1, 1, 1])
    """
    keep = target >= 0
    for k in ignored_classes(ignore_index, num_classes):
        keep &= target != k
    code = target[keep].astype(np.int64) * num_classes + pred[keep]
    index, counts = np.unique(code, return_counts=True)
    return Sparse(index, counts.astype(np.int64, copy=False))
