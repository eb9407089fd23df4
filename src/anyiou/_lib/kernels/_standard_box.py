"""Erosion by a box of any radius, as run counts of cumulative sums (no loop over
pixels, cost independent of the radius).

A pixel of a binary mask survives ``d`` erosions by a 3x3 (3^k) square of ones in the
zero-padded image (the recipe of the Boundary IoU reference: ``cv2.erode`` with
``iterations=d`` after a one-pixel zero border) iff every pixel of the (2d+1)^k box
around it lies inside the image and in the mask. The box is separable: eroding along
each spatial axis in turn by a window of 2d+1 pixels gives the same set.

`box_interior` applies that test to a whole label map at once: a pixel is interior
when every pixel of its box lies inside the image and carries its label, so the
erosion of every class mask comes out of one pass over the labels, without a one-hot
class axis. Along one axis, a window is constant iff it holds no change between
neighbours: a cumulative sum of the change indicators counts them, and two shifted
reads of it give each window's count. The counts are int32, exact for axes shorter
than 2**31 (a count never exceeds its axis length).

The pure array-API reference of the router's ``box_interior`` (re-exported by
`_standard`); the Dask kernel runs it on blocks with halos.
"""

from __future__ import annotations

from typing import Any

from ._device import device_of

__all__ = ["box_interior"]



def _slab(ndim: int, axis: int, index: slice) -> tuple[slice, ...]:
    """The index that takes ``index`` along ``axis`` and everything elsewhere."""
    return tuple(index if a == axis else slice(None) for a in range(ndim))


def _last_axis_copy(xp: Any, x: Any, axis: int) -> tuple[Any, tuple[int, ...]]:
    """``x`` with ``axis`` moved last, laid out in memory in that order (a reshape of the
    permuted view copies it), and the permutation. Cumulative sums along a strided axis
    are an order of magnitude slower on NumPy and torch CPU than along a contiguous one;
    the copy is of a bool array (one byte per pixel)."""
    order = tuple(a for a in range(x.ndim) if a != axis) + (axis,)
    moved = xp.permute_dims(x, order)
    return xp.reshape(xp.reshape(moved, (-1,)), moved.shape), order


def _constant_windows(xp: Any, v: Any, axis: int, d: int) -> Any:
    """Bool array of ``v``'s shape: True where the window of ``2d + 1`` values centred on
    the element along ``axis`` lies inside the array and holds one value.

    Requires ``2 * d < v.shape[axis]``.
    """
    n = v.shape[axis]
    nd = v.ndim
    dev = device_of(v)
    changed = v[_slab(nd, axis, slice(1, None))] != v[_slab(nd, axis, slice(None, -1))]
    last = nd - 1
    order = None
    if axis != last:
        changed, order = _last_axis_copy(xp, changed, axis)
    # counts[..., j] = changes between positions 0 .. j + 1 (int32: at most n - 1)
    counts = xp.cumulative_sum(xp.astype(changed, xp.int32), axis=last, dtype=xp.int32)
    # window [i - d, i + d], i in [d, n - d): changes counts[i + d - 1] - counts[i - d - 1]
    # (0 before the first element, so the first window reads counts[2d - 1] alone)
    first = counts[..., 2 * d - 1 : 2 * d] == 0
    rest = counts[..., 2 * d :] == counts[..., : n - 2 * d - 1]
    pad = xp.zeros(tuple(counts.shape[:-1]) + (d,), dtype=xp.bool, device=dev)
    const = xp.concat([pad, first, rest, pad], axis=last)
    if order is not None:  # back to v's layout, in memory too (a bool copy)
        inverse = tuple(order.index(a) for a in range(nd))
        moved = xp.permute_dims(const, inverse)
        const = xp.reshape(xp.reshape(moved, (-1,)), moved.shape)
    return const


def box_interior(xp: Any, labels: Any, axes: tuple[int, ...], d: int, outside: Any) -> Any:
    """The pixels of ``labels`` whose (2d+1)-wide box over ``axes`` lies inside the array
    and holds their own label.

    Parameters
    ----------
    xp : namespace
    labels : array
        Integer labels (any shape) or a bool mask. A value equal to ``outside`` marks
        pixels that belong to no class (void): they are never interior and break the
        boxes of the classes around them.
    axes : tuple of int
        The spatial axes (non-negative, at least one); the others are batch or channel
        axes.
    d : int
        The box radius (number of 3^k erosions), ``d >= 1``; static.
    outside : scalar
        A value that no counted label takes (-1 for labels, False for a mask).

    Returns
    -------
    array
        bool, ``labels``' shape. For a bool mask: the mask eroded ``d`` times by a 3^k
        square of ones in the zero-padded image.
    """
    dev = device_of(labels)
    if any(2 * d >= labels.shape[a] for a in axes):  # no window fits: nothing is interior
        return xp.zeros(labels.shape, dtype=xp.bool, device=dev)
    out = xp.asarray(outside, dtype=labels.dtype, device=dev)
    v = labels
    for axis in axes[:-1]:  # a static loop over the spatial axes
        v = xp.where(_constant_windows(xp, v, axis, d), v, out)
    return _constant_windows(xp, v, axes[-1], d) & (v != out)
