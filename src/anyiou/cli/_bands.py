"""Boundary IoU band counts of one pair on the host, in the reading threads.

The same bands as :func:`anyiou.metrics.boundary_iou` (Cheng et al.: a class mask
less its ``d``-fold erosion by a 3^k square in a zero-padded image; void pixels are
"not this class" on both sides), counted in the thread that has just read and checked
the pair, so that ``--boundary`` reads each file once.

The box test runs on narrow labels (one byte per pixel for up to 255 classes), void
pixels holding a value no class takes. Along each spatial axis a window of ``2d + 1``
labels is constant iff its ``2d`` neighbour equalities all hold; those are and-ed by
doubling (windows of 1, 2, 4, ... equalities, then two overlapping ones cover ``2d``):
about ``log2(2d)`` passes of byte-wise ``&`` over contiguous slices, no cumulative
sum, no transposed copy. As in :func:`anyiou._lib._box.box_interior`, the axes are
taken in turn, a pixel whose window along an axis is not constant turning void for
the next axes.
"""

from __future__ import annotations

import numpy as np

from .._lib._options import ignored_classes
from .._lib._types import IgnoreValues
from ..metrics._boundary_options import resolve_dilation
from ._errors import EvaluationError
from ._files import Pair
from ._histogram import joint_histogram

__all__ = ["band_counts", "pair_bands"]


def _void_value(num_classes: int) -> tuple[np.dtype, int]:
    """The narrow dtype the box test runs in and the value of void pixels (no class)."""
    if num_classes <= 255:
        return np.dtype(np.uint8), 255
    return np.dtype(np.uint16), 65535  # MAX_CLASSES (16384) fits


def _along(ndim: int, axis: int, index: slice) -> tuple[slice, ...]:
    return tuple(index if a == axis else slice(None) for a in range(ndim))


def _constant_windows(v: np.ndarray, axis: int, d: int) -> np.ndarray:
    """Bool, ``v``'s shape: the window of ``2d + 1`` values centred on each element along
    ``axis`` lies inside ``v`` and holds one value. Requires ``2d < v.shape[axis]``."""
    nd, n, span = v.ndim, v.shape[axis], 2 * d
    runs = v[_along(nd, axis, slice(1, None))] == v[_along(nd, axis, slice(None, -1))]
    width = 1  # runs[i]: equalities i .. i + width - 1 all hold
    while 2 * width <= span:
        runs = runs[_along(nd, axis, slice(None, -width))] & runs[
            _along(nd, axis, slice(width, None))]
        width *= 2
    # windows of `span` equalities: two overlapping windows of `width` (width <= span)
    full = runs[_along(nd, axis, slice(None, n - span))] & runs[
        _along(nd, axis, slice(span - width, span - width + n - span))]
    out = np.zeros(v.shape, dtype=bool)
    out[_along(nd, axis, slice(d, n - d))] = full  # element i + d: window i .. i + 2d
    return out


def _bands(labels: np.ndarray, d: int, num_classes: int, void: int) -> np.ndarray:
    """``labels`` (any value from C up meaning void) with every pixel that is not in its
    class's band (interior, or void) set to ``void``."""
    fill = labels.dtype.type(void)
    if any(2 * d >= s for s in labels.shape):  # no window fits: nothing is interior
        return labels
    v = labels
    for axis in range(labels.ndim - 1):
        v = np.where(_constant_windows(v, axis, d), v, fill)
    interior = _constant_windows(v, labels.ndim - 1, d)
    interior &= v < num_classes
    return np.where(interior, fill, labels)


def _labels(target: np.ndarray, pred: np.ndarray, num_classes: int,
            ignore_index: IgnoreValues, dtype: np.dtype,
            void: int) -> tuple[np.ndarray, ...]:
    """Narrow (target, prediction) labels, from C up at void pixels in both."""
    c, fill = num_classes, dtype.type(void)
    ignored_class = ignored_classes(ignore_index, c)
    if target.dtype == dtype and not ignored_class:  # 8-bit maps: void already >= C
        t = target
    else:
        counted = target < c
        if np.issubdtype(target.dtype, np.signedinteger):
            counted &= target >= 0
        for k in ignored_class:
            counted &= target != k
        t = np.where(counted, target, fill).astype(dtype, copy=False)
    return t, np.where(t < c, pred, fill).astype(dtype, copy=False)


def band_counts(pred: np.ndarray, target: np.ndarray, num_classes: int,
                ignore_index: IgnoreValues, ratio: float) -> np.ndarray:
    """(3, C) int64 band intersection, band union and target band size of one pair.

    Parameters
    ----------
    pred, target : numpy.ndarray
        Label maps of one shape S (at least one axis): either checked by
        :func:`anyiou.cli._checks.check_pair` (int32, target -1 where left out), or
        8-bit maps that :func:`anyiou.cli._histogram.byte_corner` accepted (target
        labels in [0, C) or ``ignore_index``, predicted labels in [0, C) where counted).
    num_classes : int
        C, at most :data:`anyiou.cli._checks.MAX_CLASSES`.
    ignore_index : int or tuple of int, optional
        ``--ignore-index``: its target pixels, and every target label outside [0, C),
        are void.
    ratio : float
        Band width ``d = max(1, round(ratio * diagonal))``, within the largest side.

    Raises
    ------
    ValueError
        A band wider than the largest side, or a 0-d label map.
    """
    c = num_classes
    d = resolve_dilation(tuple(target.shape), ratio, None) if target.size else 1
    dtype, void = _void_value(c)
    t, p = _labels(target, pred, c, ignore_index, dtype, void)
    t, p = _bands(t, d, c, void), _bands(p, d, c, void)
    if dtype == np.uint8:  # one 256 x 256 histogram of (target, prediction) band labels
        hist = joint_histogram(p, t)
        tp = np.diagonal(hist)[:c]
        in_t, in_p = hist[:c].sum(axis=1), hist[:, :c].sum(axis=0)
    else:  # many classes: three histograms of C + 1 bins, not (C + 1)^2
        t, p = np.minimum(t, c).reshape(-1), np.minimum(p, c).reshape(-1)
        tp = np.bincount(np.where(t == p, t, c), minlength=c + 1)[:c]
        in_t = np.bincount(t, minlength=c + 1)[:c]
        in_p = np.bincount(p, minlength=c + 1)[:c]
    tp, in_t, in_p = (x.astype(np.int64) for x in (tp, in_t, in_p))
    return np.stack([tp, in_t + in_p - tp, in_t])


def pair_bands(pair: Pair, pred: np.ndarray, target: np.ndarray, num_classes: int,
               ignore_index: IgnoreValues, ratio: float) -> np.ndarray:
    """:func:`anyiou.cli._bands.band_counts` of a checked pair, errors naming it."""
    try:
        return band_counts(pred, target, num_classes, ignore_index, ratio)
    except (ValueError, TypeError) as exc:
        raise EvaluationError(f"{pair.pred} vs {pair.target}: boundary IoU: {exc}") from exc
