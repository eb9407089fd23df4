"""Byte label maps counted in one pass: the joint histogram holds the checks and the counts.

Most label maps are 8-bit images (grayscale or palette PNGs). For a pair of them, the
256 x 256 histogram of ``(target, prediction)`` values, one ``bincount`` of 16-bit codes,
tells everything :func:`anyiou.cli._checks.check_pair` checks (which target values are
outside [0, C) and not ``ignore_index``, which predicted values are outside [0, C) at
counted pixels) and holds the confusion matrix: no mask, no cast to int64 of the whole
image, no second pass. Anything else (other dtypes, shapes that differ, a failed check)
is left to the general path, which also words the errors.
"""

from __future__ import annotations

import numpy as np

from .._lib._options import ignore_values
from .._lib._types import IgnoreValues

__all__ = ["byte_confusion_matrix", "byte_corner", "joint_histogram"]

_VALUES = 256  # values of a byte
#: Pixels per bincount: its int64 copy of the codes stays small and in cache.
_CHUNK = 1 << 18


def _as_bytes(a: np.ndarray) -> np.ndarray | None:
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        return a.view(np.uint8)
    return None


def joint_histogram(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(256, 256) int64 counts of (target, prediction) values, rows target."""
    code = target.astype(np.uint16).reshape(-1)  # a copy: ours to shift and fill
    code <<= 8
    code |= pred.reshape(-1)
    hist = np.zeros(_VALUES * _VALUES, dtype=np.int64)
    for start in range(0, code.size, _CHUNK):
        hist += np.bincount(code[start:start + _CHUNK], minlength=_VALUES * _VALUES)
    return hist.reshape(_VALUES, _VALUES)


def byte_corner(
    pred: np.ndarray, target: np.ndarray, num_classes: int,
    ignore_index: IgnoreValues,
) -> np.ndarray | None:
    """The (k, k) top-left corner, k = min(C, 256), of :func:`byte_confusion_matrix`
    (the rest of the matrix is 0: a byte holds no label >= 256), or None where that is
    None. Small whatever C: the form the reading threads hand on.

    Examples
    --------
    >>> import numpy as np
    >>> pred = np.array([[0, 1], [1, 7]], dtype=np.uint8)
    >>> byte_corner(pred, pred, 300, None).shape
    (256, 256)
    """
    p, t = _as_bytes(pred), _as_bytes(target)
    if p is None or t is None or p.shape != t.shape:
        return None
    hist = joint_histogram(p, t)
    k = min(num_classes, _VALUES)  # target and predicted values that are classes
    ignored = [v for v in ignore_values(ignore_index) if 0 <= v < _VALUES]
    classes = [v for v in ignored if v < k]  # ignore values that are class ids
    rows = hist.sum(axis=1)
    outside = rows[k:]  # target values outside [0, C): only ignore_index may occur
    outside = np.delete(outside, [v - k for v in ignored if v >= k])
    if outside.any():
        return None
    counted = np.delete(hist[:k], classes, axis=0)
    if counted[:, k:].any():  # predicted labels outside [0, C) at counted pixels
        return None
    corner = np.array(hist[:k, :k])
    corner[classes] = 0
    return corner


def byte_confusion_matrix(
    pred: np.ndarray, target: np.ndarray, num_classes: int,
    ignore_index: IgnoreValues,
) -> np.ndarray | None:
    """The (C, C) int64 confusion matrix of a pair of uint8 (or bool) label maps.

    Equal to what :func:`anyiou.cli._checks.check_pair` followed by
    :func:`anyiou.metrics.confusion_matrix` gives (rows target, columns prediction),
    or None when the arrays are not both bytes of one shape or when a check fails: the
    general path then checks (and counts) them, and words the error.

    Examples
    --------
    >>> import numpy as np
    >>> pred = np.array([[0, 1], [1, 7]], dtype=np.uint8)
    >>> target = np.array([[0, 1], [0, 255]], dtype=np.uint8)
    >>> byte_confusion_matrix(pred, target, 2, 255).tolist()
    [[1, 1], [0, 1]]
    >>> byte_confusion_matrix(pred, target, 2, None) is None  # 255 is no class
    True
    """
    corner = byte_corner(pred, target, num_classes, ignore_index)
    if corner is None:
        return None
    confmat = np.zeros((num_classes, num_classes), dtype=np.int64)
    k = corner.shape[0]
    confmat[:k, :k] = corner
    return confmat
