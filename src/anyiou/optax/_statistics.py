"""The per-class sums of optax's segmentation losses, from the core's kernels.

optax sums ``p * t``, ``p`` and ``t`` over the axes ``axis`` (default: every axis but the
first and the last) of channels-last arrays and keeps the others. `statistics` brings the
arrays into the kernels' (A, B, R) layout (R: the summed axes; a free reshape wherever
those axes are one consecutive block, as by default) and returns the sums in the kept
axes' shape. Integer labels (optax's one-hot target without the one-hot) take the core's
multiclass label path, which builds no one-hot (another ``axis`` than the default: on
the labels brought into (rows, pixels) by the kept and summed axes).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any

import array_api_compat as aac

from .._lib import kernels
from .._lib._namespace import (
    accumulation_dtype,
    device_of,
    get_namespace,
    is_floating,
    is_integral,
    values_checkable,
)
from .._lib._options import MULTICLASS_MODE, check_ignore_index
from .._lib._types import IgnoreIndex, IgnoreValues
from .._lib._values import check_labels_in_range, ignore_mask, index_labels
from ..losses._statistics import OverlapStats, overlap_statistics

__all__ = ["align", "check_probabilities", "namespace", "normalised_axes", "statistics"]


def namespace(predictions: Any, targets: Any) -> tuple[Any, Any]:
    """The predictions' namespace and the targets in it: NumPy targets beside arrays of
    another library (JAX's functions take them, so optax's losses do) are converted to
    the predictions' library and device; any other mix is a `TypeError`."""
    if aac.is_numpy_array(targets) and not aac.is_numpy_array(predictions):
        xp = get_namespace(predictions=predictions)
        return xp, xp.asarray(targets, device=device_of(predictions))
    return get_namespace(predictions=predictions, targets=targets), targets


def align(predictions: Any, targets: Any) -> tuple[Any, Any]:
    """optax's shape rule: an array with one axis less than the other gets a trailing
    singleton channel axis (``x[..., None]``)."""
    if predictions.ndim == targets.ndim - 1:
        predictions = predictions[..., None]
    if targets.ndim == predictions.ndim - 1:
        targets = targets[..., None]
    return predictions, targets


def is_labels(xp: Any, predictions: Any, targets: Any) -> bool:
    """Whether ``targets`` are integer labels of ``predictions`` (..., C), C > 1: one axis
    less, an integer dtype (optax raises a shape mismatch for these)."""
    return (
        targets.ndim == predictions.ndim - 1
        and predictions.ndim >= 2
        and predictions.shape[-1] > 1
        and is_integral(xp, targets.dtype)
        and not xp.isdtype(targets.dtype, "bool")
    )


def normalised_axes(axis: int | Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    """``axis`` as sorted non-negative axes; None: every axis but the first and last."""
    if axis is None:
        return tuple(range(1, ndim - 1))
    try:  # Python or NumPy integers, as jnp.sum takes them
        axes = (operator.index(axis),) if not isinstance(axis, Sequence) else tuple(
            operator.index(a) for a in axis if not isinstance(a, bool))
    except TypeError:
        axes = None
    if axes is None or isinstance(axis, bool) or (
        isinstance(axis, Sequence) and len(axes) != len(axis)
    ):
        raise TypeError(f"axis must be None, an int or a sequence of ints; got {axis!r}")
    if any(not -ndim <= a < ndim for a in axes):
        raise ValueError(f"axis {axis!r} is out of range for arrays of {ndim} dimensions")
    out = tuple(sorted(a % ndim for a in axes))
    if len(set(out)) != len(out):
        raise ValueError(f"axis must not repeat an axis; got {axis!r}")
    return out


def check_probabilities(xp: Any, probs: Any) -> None:
    """optax's check of ``apply_softmax=False``: every pixel's probabilities sum to 1
    over the last axis (``allclose``, rtol 1e-5, atol 1e-8); a single channel must lie
    in [0, 1] instead. Runs only where values can be read (not on JAX or Dask)."""
    if not values_checkable(probs) or math.prod(probs.shape) == 0:
        return
    if probs.shape[-1] == 1:
        lo, hi = xp.min(probs), xp.max(probs)
        if not bool((lo >= 0) & (hi <= 1)):
            raise ValueError(
                "When apply_softmax=False, predictions with one channel must be valid "
                f"probabilities in [0, 1]. Found range: [{float(lo):.6f}, {float(hi):.6f}]"
            )
        return
    sums = xp.sum(probs, axis=-1)
    if not bool(xp.all(xp.abs(sums - 1.0) <= 1e-8 + 1e-5)):
        raise ValueError(
            "When apply_softmax=False, predictions must be valid probability distributions "
            "that sum to 1 along the class axis. Found sum range: "
            f"[{float(xp.min(sums)):.6f}, {float(xp.max(sums)):.6f}]"
        )


def activate(xp: Any, predictions: Any, apply_softmax: bool) -> Any:
    """optax's activation: sigmoid of a single channel, softmax over the last axis."""
    if not apply_softmax:
        return predictions
    if predictions.shape[-1] == 1:
        return kernels.sigmoid(xp, predictions)
    return kernels.softmax(xp, predictions, -1)


def _as_float(xp: Any, x: Any) -> Any:
    """Integer or bool predictions as float32 (JAX's default float)."""
    return x if is_floating(xp, x.dtype) else xp.astype(x, xp.float32)


def _to_rows(xp: Any, x: Any, axes: tuple[int, ...]) -> Any:
    """``x`` as (A, B, R) with the summed ``axes`` last (R = their size): a reshape and
    a transposed view when they are one consecutive block, else a permuted copy."""
    shape = tuple(x.shape)
    reduced = math.prod(shape[a] for a in axes)
    if axes and axes[-1] - axes[0] == len(axes) - 1:
        before = math.prod(shape[: axes[0]])
        after = math.prod(shape[axes[-1] + 1 :])
        return xp.permute_dims(xp.reshape(x, (before, reduced, after)), (0, 2, 1))
    kept = tuple(i for i in range(x.ndim) if i not in axes)
    moved = xp.permute_dims(x, kept + axes) if axes else x
    return xp.reshape(moved, (math.prod(shape[i] for i in kept), 1, reduced))


def _checked_mask(xp: Any, mask: Any, predictions: Any) -> Any:
    """``mask`` as a boolean array of the predictions' library (NumPy converted) and of
    their pixels' shape (without the channel axis)."""
    if aac.is_numpy_array(mask) and not aac.is_numpy_array(predictions):
        mask = xp.asarray(mask, device=device_of(predictions))
    get_namespace(predictions=predictions, mask=mask)
    if not xp.isdtype(mask.dtype, "bool"):
        raise TypeError(f"mask must be a boolean array; got dtype {mask.dtype}")
    pixels = tuple(predictions.shape[:-1])
    if tuple(mask.shape) != pixels:
        raise ValueError(
            f"mask must have the predictions' shape without the channel axis, {pixels}; "
            f"got {tuple(mask.shape)}"
        )
    return mask


def statistics(
    xp: Any,
    predictions: Any,
    targets: Any,
    *,
    apply_softmax: bool,
    axis: int | Sequence[int] | None,
    ignore_index: IgnoreIndex = None,
    mask: Any | None = None,
) -> OverlapStats:
    """``(sum(p * t), sum(p), sum(t))`` over ``axis`` of aligned, same-shape arrays (or
    of integer labels, `is_labels`), each in the kept axes' shape and the accumulation
    dtype (float32 or float64). ``p`` is optax's activation of ``predictions``; pixels
    where the boolean ``mask`` (the predictions' shape without the channel axis) is
    False count in no sum."""
    ignore = check_ignore_index(ignore_index)
    if mask is not None:
        mask = _checked_mask(xp, mask, predictions)
    if is_labels(xp, predictions, targets):
        return _label_statistics(xp, predictions, targets, apply_softmax=apply_softmax,
                                 axis=axis, ignore=ignore, mask=mask)
    if ignore is not None:
        raise ValueError(
            f"ignore_index={ignore} applies to integer labels (targets with one axis "
            "less than the predictions); these targets have the predictions' shape"
        )
    if tuple(predictions.shape) != tuple(targets.shape):
        raise ValueError(
            f"Shape mismatch: got predictions {tuple(predictions.shape)} and targets "
            f"{tuple(targets.shape)}; targets must be one-hot (or soft) of the predictions' "
            "shape, with a trailing channel axis of 1 (or none) for binary segmentation"
        )
    axes = normalised_axes(axis, predictions.ndim)
    x = _as_float(xp, predictions)
    if is_floating(xp, targets.dtype):  # optax promotes p * t to the wider float
        dtype = xp.result_type(x.dtype, targets.dtype)
        x = xp.astype(x, dtype, copy=False)
        targets = xp.astype(targets, dtype, copy=False)
    if not apply_softmax:
        check_probabilities(xp, x)
    probs = activate(xp, x, apply_softmax)
    kept = tuple(s for i, s in enumerate(probs.shape) if i not in axes)
    acc = accumulation_dtype(xp, probs.dtype)
    valid = None
    if mask is not None:
        valid = _to_rows(xp, xp.broadcast_to(mask[..., None], probs.shape), axes)
    # optax's product form sum(p * t) for every target (soft ones too): hard=True
    sums = kernels.probs_dense_stats(
        xp, _to_rows(xp, probs, axes), _to_rows(xp, targets, axes), valid, True, acc
    )
    return OverlapStats(*(xp.reshape(s, kept) for s in sums))


def _check_labels(xp: Any, targets: Any, classes: int, ignore: IgnoreValues,
                  ignored: Any | None, mask: Any | None) -> None:
    """Eager arrays only: the labels at the pixels ``mask`` keeps lie in [0, C) or are
    ``ignore`` (where ``ignored``, `ignore_mask`'s); a `ValueError` naming ``targets``
    otherwise (the values found are those of the kept pixels, masked ones read as 0)."""
    if not values_checkable(targets) or (mask is not None and not values_checkable(mask)):
        return
    original = targets
    if mask is not None:
        ignored = ~mask if ignored is None else ignored | ~mask
        original = xp.where(mask, targets, xp.zeros_like(targets))
    check_labels_in_range(xp, index_labels(xp, targets), classes, ignore, ignored,
                          name="targets", original=original)


def _label_statistics(
    xp: Any,
    predictions: Any,
    targets: Any,
    *,
    apply_softmax: bool,
    axis: int | Sequence[int] | None,
    ignore: IgnoreValues,
    mask: Any | None,
) -> OverlapStats:
    """`statistics` of integer labels (`is_labels`) by the core's multiclass label path:
    predictions (..., C), labels (...). Another ``axis`` than the default: the kept
    axes become the rows and the summed ones the pixels of (rows, pixels, C); a class
    axis among ``axis`` sums the per-class sums."""
    ndim, classes = predictions.ndim, predictions.shape[-1]
    axes = normalised_axes(axis, ndim)
    # the ignored pixels (by value, as given), for the check and the mask; lazy arrays
    # without a mask need neither
    ignored = (ignore_mask(xp, targets, ignore)
               if mask is not None or values_checkable(targets) else None)
    _check_labels(xp, targets, classes, ignore, ignored, mask)
    if mask is not None:
        # masked and ignored pixels become the label C, ignored; the labels widen to
        # the indexing dtype, which holds C (int8 labels may not)
        keep = mask if ignored is None else mask & ~ignored
        labels = index_labels(xp, targets)
        ignore = classes
        targets = xp.where(keep, labels, xp.asarray(ignore, dtype=labels.dtype,
                                                    device=device_of(labels)))
    if not apply_softmax:
        check_probabilities(xp, predictions)
    x = _as_float(xp, predictions)
    default = axes == tuple(range(1, ndim - 1))
    if not default:
        summed = tuple(a for a in axes if a != ndim - 1)
        kept = tuple(a for a in range(ndim - 1) if a not in summed)
        kept_shape = tuple(predictions.shape[a] for a in kept)
        rows = math.prod(kept_shape)
        pixels = math.prod(predictions.shape[a] for a in summed)
        x = xp.reshape(xp.permute_dims(x, (*kept, *summed, ndim - 1)), (rows, pixels, classes))
        targets = xp.reshape(xp.permute_dims(targets, kept + summed), (rows, pixels))
    stats = overlap_statistics(
        xp, x, targets, mode=MULTICLASS_MODE, from_logits=apply_softmax,
        ignore_index=ignore, class_axis=-1,
    )
    if default:
        return stats
    sums = [xp.reshape(s, (*kept_shape, classes)) for s in stats]
    if ndim - 1 in axes:  # the classes summed too
        sums = [xp.sum(s, axis=-1) for s in sums]
    return OverlapStats(*sums)
