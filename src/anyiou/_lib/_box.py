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
"""

from __future__ import annotations

from typing import Any

from ._namespace import device_of

__all__ = ["box_interior"]


def _slab(ndim: int, axis: int, index: slice) -> tuple[slice, ...]:
    """The index that takes ``index`` along ``axis`` and everything elsewhere."""
    return tuple(index if a == axis else slice(None) for a in range(ndim))


def _constant_windows(xp: Any, v: Any, axis: int, d: int) -> Any:
    """Bool array of ``v``'s shape: True where the window of ``2d + 1`` values centred on
    the element along ``axis`` lies inside the array and holds one value.

    Requires ``2 * d < v.shape[axis]``.
    """
    n = v.shape[axis]
    nd = v.ndim
    dev = device_of(v)
    changed = v[_slab(nd, axis, slice(1, None))] != v[_slab(nd, axis, slice(None, -1))]
    # element j of the cumulative count (with a leading 0) = changes among the first j+1
    counts = xp.cumulative_sum(xp.astype(changed, xp.int32), axis=axis)
    lead_shape = tuple(1 if a == axis else s for a, s in enumerate(v.shape))
    counts = xp.concat([xp.zeros(lead_shape, dtype=xp.int32, device=dev), counts], axis=axis)
    # window [i - d, i + d] for i in [d, n - d): changes between positions i-d .. i+d
    inner = (counts[_slab(nd, axis, slice(2 * d, None))]
             == counts[_slab(nd, axis, slice(None, n - 2 * d))])
    pad_shape = tuple(d if a == axis else s for a, s in enumerate(v.shape))
    pad = xp.zeros(pad_shape, dtype=xp.bool, device=dev)
    return xp.concat([pad, inner, pad], axis=axis)


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
        The spatial axes (non-negative); the others are batch or channel axes.
    d : int
        The box radius (number of 3^k erosions), ``d >= 1``; static.
    outside : scalar
        A value that no counted label takes (-1 for labels, False for a mask).

    Returns
    -------
    array
        ``labels``' shape and dtype: the label where the pixel is interior, ``outside``
        elsewhere. For a bool mask this is the mask eroded ``d`` times by a 3^k square in
        the zero-padded image.
    """
    out = xp.asarray(outside, dtype=labels.dtype, device=device_of(labels))
    v = labels
    for axis in axes:  # a static loop over the spatial axes
        if 2 * d >= v.shape[axis]:  # no window fits: nothing is interior
            return xp.full(labels.shape, outside, dtype=labels.dtype,
                           device=device_of(labels))
        v = xp.where(_constant_windows(xp, v, axis, d), v, out)
    return v
