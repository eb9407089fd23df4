"""Boundary IoU (Cheng et al., CVPR 2021): IoU restricted to a band of width ``d`` inside
each mask's contour.

For a mask ``G``, ``G_d ∩ G`` is the set of mask pixels within ``d`` pixels of its
contour: ``G`` minus its erosion by a 3^k square of ones repeated ``d`` times, in an
image padded with one pixel of zeros (the reference ``mask_to_boundary``), so pixels
within ``d`` of the image border are boundary pixels. Per class::

    boundary IoU = |(G_d ∩ G) ∩ (P_d ∩ P)| / |(G_d ∩ G) ∪ (P_d ∩ P)|

The erosion is a box test computed once for every class (`box_interior`: run counts
from cumulative sums, cost independent of ``d``); multiclass labels need no one-hot
class axis, so the temporaries are a few bytes per pixel whatever the number of
classes. The band counts then go through the confusion-matrix reductions
(`reduce_overlap`) with ``tp = |band_G ∩ band_P|``, ``fp = |band_P| - tp``,
``fn = |band_G| - tp``.

Void pixels (``ignore_index``) count as "not this class" for every class, in the
target and in the prediction alike: their edge is a contour of the classes around
them, they are in no band, and what is predicted on them does not change the score.
"""

from __future__ import annotations

import math
from typing import Any

from .._lib import kernels
from .._lib._checks import check_label_metric_pair
from .._lib._namespace import device_of, get_namespace, index_dtype
from .._lib._options import (
    MODES,
    MULTICLASS_MODE,
    check_choice,
    check_flag,
    check_ignore_index,
    check_num_classes,
)
from .._lib._types import ArrayT, Average, IgnoreIndex, IgnoreValues, Mode
from .._lib._values import ignore_mask, index_labels
from ._averaging import check_average, check_confmat_zero_division, reduce_overlap
from ._boundary_options import (
    check_dilation,
    check_spatial,
    resolve_dilation,
)
from ._counts import binary_counts, binary_masks
from ._label_stats import (
    check_int32_room,
    check_label_pair,
    counted_masks,
    label_overlap,
    use_joint_histogram,
)

__all__ = [
    "boundary_counts",
    "boundary_iou",
    "check_dilation",
    "check_spatial",
    "reduce_boundary",
    "resolve_dilation",
]

# -- counting ---------------------------------------------------------------------------


def _label_dtype(xp: Any, c: int) -> Any:
    """The narrowest signed dtype holding labels in [-1, C): the box test reads and
    writes the label maps several times per axis."""
    if c <= 127:
        return xp.int8
    return xp.int16 if c <= 32767 else xp.int32


def _multiclass_labels(xp: Any, preds: Any, target: Any, num_classes: int | None,
                       ignore_index: IgnoreValues) -> tuple[Any, Any, Any, int, bool, bool]:
    """Checked multiclass pair: ``(t, p, ignored, C, t_ok, p_ok)`` with the labels in the
    indexing dtype (the argmax of score predictions), the `ignore_mask` of the target,
    and whether the eager checks saw every target/predicted label in [0, C)."""
    c, scores = check_label_metric_pair(xp, preds, target, num_classes)
    labels_p = xp.argmax(preds, axis=1) if scores else preds
    ignored = ignore_mask(xp, target, ignore_index)
    t = index_labels(xp, target)
    p = index_labels(xp, labels_p)
    t_ok, p_ok = check_label_pair(xp, t, p, labels_p, target, c, ignore_index, ignored)
    return t, p, ignored, c, t_ok, p_ok


def _label_maps(xp: Any, t: Any, p: Any, ignored: Any, c: int, t_ok: bool,
                p_ok: bool) -> tuple[Any, Any]:
    """Narrow signed label maps (N, *S), -1 at void and out-of-range pixels (in the
    prediction too: void is "not this class" on both sides)."""
    dt = _label_dtype(xp, c)
    minus_one = xp.asarray(-1, dtype=dt, device=device_of(t))
    # values outside [0, C) are masked before the cast could wrap them into range; the
    # masks are skipped where the eager checks saw every value in range
    counted, valid_p = counted_masks(t, p, ignored, c, t_ok, p_ok)
    t_dt = xp.astype(t, dt)
    p_dt = xp.astype(p, dt)
    if counted is not None:
        t_dt = xp.where(counted, t_dt, minus_one)
    if valid_p is not None:
        p_dt = xp.where(valid_p, p_dt, minus_one)
    return t_dt, p_dt


def _multiclass_counts(xp: Any, t: Any, p: Any, ignored: Any, c: int, t_ok: bool,
                       p_ok: bool, d: int, per_image: bool,
                       joint: bool) -> tuple[Any, Any, Any]:
    """`_label_maps` then `_label_band_counts`: one compiled program on JAX."""
    t_lab, p_lab = _label_maps(xp, t, p, ignored, c, t_ok, p_ok)
    return _label_band_counts(xp, t_lab, p_lab, c, d, per_image, joint)


def _label_band_counts(xp: Any, t_lab: Any, p_lab: Any, c: int, d: int,
                       per_image: bool, joint: bool) -> tuple[Any, Any, Any]:
    """tp, fp, fn of the boundary bands of two label maps (N, *S) (-1: void), each
    (M, C): with ``joint`` from one (C + 1)^2 pair-code histogram per row (where that is
    no larger than the row, `use_joint_histogram`), else from per-row label histograms
    of C + 1 bins (memory O(M * C) whatever C)."""
    axes = tuple(range(1, t_lab.ndim))
    n = t_lab.shape[0]
    rows = n if per_image else 1
    cols = math.prod(t_lab.shape) // rows
    dev = device_of(t_lab)
    bands = []
    for labels in (t_lab, p_lab):  # the class of each band pixel, -1 elsewhere
        interior = kernels.box_interior(xp, labels, axes, d, -1)
        bands.append(xp.where(interior, xp.asarray(-1, dtype=labels.dtype, device=dev),
                              labels))
    idt = index_dtype(xp, dev)
    if joint:  # one bincount of the pair codes (t + 1) * (C + 1) + (p + 1), 0: "no band"
        bins = (c + 1) ** 2
        # int32 where every code and row offset fits (the counts themselves are int64)
        dt = xp.int32 if rows * bins < 2**31 and cols < 2**31 else idt
        code = xp.astype(bands[0], dt)  # a fresh array: the in-place updates save copies
        code *= c + 1
        code += xp.astype(bands[1], dt)
        code += c + 2
        hist = kernels.label_counts(xp, xp.reshape(code, (rows, cols)), bins)
        return _overlap_from_hist(xp, xp.reshape(hist, (rows, c + 1, c + 1)), c)
    # per-row histograms of C + 1 bins, bin C meaning "no band": memory O(M * C)
    border = xp.asarray(c, dtype=idt, device=dev)
    a, b = (xp.reshape(xp.where(x < 0, border, xp.astype(x, idt)), (rows, cols))
            for x in bands)
    tp, in_target, in_preds = label_overlap(xp, a, b, c)
    return tp, in_preds - tp, in_target - tp


def _overlap_from_hist(xp: Any, hist: Any, c: int) -> tuple[Any, Any, Any]:
    """tp, fp, fn (M, C) from band-code histograms (M, C + 1, C + 1): rows the target
    band's class (index k + 1 for class k; index 0: no band), columns the prediction's."""
    dev = device_of(hist)
    idt = index_dtype(xp, dev)
    hist = xp.astype(hist, idt, copy=False)
    m = hist.shape[0]
    inner = xp.reshape(hist[:, 1 : c + 1, 1 : c + 1], (m, c * c))
    diag = xp.arange(c, dtype=idt, device=dev) * (c + 1)
    tp = xp.take(inner, diag, axis=1)
    in_target = xp.sum(hist[:, 1 : c + 1, :], axis=2)
    in_preds = xp.sum(hist[:, :, 1 : c + 1], axis=1)
    return tp, in_preds - tp, in_target - tp


def _spatial_shape(mode: str, preds: Any, target: Any) -> tuple[int, ...]:
    """The spatial shape S of a checked binary/multilabel pair: multilabel (N, C, *S);
    binary (N, *S) or (N, 1, *S), a singleton axis 1 being the channel axis."""
    pshape, tshape = tuple(preds.shape), tuple(target.shape)
    if mode != "binary":
        return pshape[2:]
    shorter = min(pshape, tshape, key=len)
    if len(pshape) != len(tshape):
        return shorter[1:]
    return shorter[2:] if len(shorter) >= 3 and shorter[1] == 1 else shorter[1:]


def _mask_band_counts(xp: Any, pos_o: Any, pos_t: Any, counted: Any, spatial: tuple,
                      d: int, per_image: bool) -> tuple[Any, Any, Any]:
    """tp, fp, fn (M, C) of the boundary bands of (N, C, P) masks with spatial shape S."""
    n, c = pos_t.shape[0], pos_t.shape[1]
    full = (n, c, *spatial)
    axes = tuple(range(2, 2 + len(spatial)))
    bands = []
    for pos in (pos_o, pos_t):
        mask = xp.reshape(pos, full)
        band = mask & ~kernels.box_interior(xp, mask, axes, d, False)
        bands.append(xp.reshape(band, pos.shape))
    tp, fp, fn, _ = binary_counts(xp, bands[0], bands[1], counted, axis=2 if per_image else (0, 2))
    if not per_image:
        tp, fp, fn = (xp.reshape(x, (1, c)) for x in (tp, fp, fn))
    return tp, fp, fn


def boundary_counts(
    preds: Any,
    target: Any,
    num_classes: int | None,
    ignore_index: IgnoreValues,
    mode: str,
    threshold: Any,
    dilation_ratio: float,
    dilation: int | None,
    per_image: bool,
) -> tuple[Any, Any, Any]:
    """Boundary ``tp, fp, fn`` per class, each (M, C) with M = N (``per_image``) or 1;
    options checked by the caller except ``num_classes``. Integer counts in the indexing
    dtype (int64; int32 for JAX without x64)."""
    xp = get_namespace(preds=preds, target=target)
    if num_classes is not None:
        num_classes = check_num_classes(num_classes)
    if mode == MULTICLASS_MODE:
        spatial = tuple(target.shape[1:])
        t, p, ignored, c, t_ok, p_ok = _multiclass_labels(xp, preds, target, num_classes,
                                                           ignore_index)
        check_spatial(spatial)
        if math.prod(target.shape) == 0:  # nothing to count (and no width to resolve)
            return _zeros(xp, target, target.shape[0] if per_image else 1, c)
        d = resolve_dilation(spatial, dilation_ratio, dilation)
        rows = target.shape[0] if per_image else 1
        cols = math.prod(target.shape) // rows
        joint = use_joint_histogram(xp, target, rows, (c + 1) ** 2, cols)
        check_int32_room(xp, target, rows, (c + 1) ** 2 if joint else c + 1, cols)
        return kernels.run_compiled(_multiclass_counts, xp, t, p, ignored, c, t_ok, p_ok, d,
                                    per_image, joint, static=(3, 4, 5, 6, 7, 8))
    pos_o, pos_t, counted = binary_masks(xp, preds, target, mode, num_classes, threshold,
                                         ignore_index, output_name="preds")
    spatial = _spatial_shape(mode, preds, target)
    check_spatial(spatial)
    n, c = pos_t.shape[0], pos_t.shape[1]
    if n * c * pos_t.shape[2] == 0:
        return _zeros(xp, target, n if per_image else 1, c)
    d = resolve_dilation(spatial, dilation_ratio, dilation)
    return kernels.run_compiled(_mask_band_counts, xp, pos_o, pos_t, counted, spatial, d,
                                per_image, static=(3, 4, 5))


def _zeros(xp: Any, like: Any, m: int, c: int) -> tuple[Any, Any, Any]:
    dev = device_of(like)
    z = xp.zeros((m, c), dtype=index_dtype(xp, dev), device=dev)
    return z, z, z


# -- reduction --------------------------------------------------------------------------


def reduce_boundary(xp: Any, tp: Any, fp: Any, fn: Any, *, multilabel: bool, average: str,
                    ignore_index: IgnoreValues, zero_division: float) -> Any:
    """Scores of (..., C) boundary counts with checked options (`reduce_overlap`), as one
    compiled program on eager JAX."""
    zd = "nan" if math.isnan(zero_division) else zero_division  # nan != nan as a jit key
    return kernels.run_compiled(_reduce_core, xp, tp, fp, fn, multilabel=multilabel,
                                average=average, ignore_index=ignore_index, zero_division=zd)


def _reduce_core(xp: Any, tp: Any, fp: Any, fn: Any, **options: Any) -> Any:
    if options["zero_division"] == "nan":
        options["zero_division"] = math.nan
    return reduce_overlap(xp, tp, fp, fn, dice=False, **options)


def boundary_iou(
    preds: ArrayT,
    target: Any,
    num_classes: int | None = None,
    average: Average | None = "macro",
    ignore_index: IgnoreIndex = None,
    zero_division: float = 0.0,
    *,
    mode: Mode = "multiclass",
    threshold: Any = 0.5,
    dilation_ratio: float = 0.02,
    dilation: int | None = None,
    per_image: bool = False,
) -> ArrayT:
    """Boundary IoU (Cheng et al., CVPR 2021): `jaccard_index` restricted to the pixels
    within ``d`` of each mask's contour.

    Per class, ``|(G_d ∩ G) ∩ (P_d ∩ P)| / |(G_d ∩ G) ∪ (P_d ∩ P)|`` with ``G`` the
    target mask, ``P`` the predicted one and ``X_d ∩ X`` the pixels of ``X`` within ``d``
    pixels of its contour: ``X`` minus ``X`` eroded ``d`` times by a 3^k square of ones
    in a zero-padded image (the authors' ``mask_to_boundary``, so pixels within ``d`` of
    the image border are boundary pixels). Band intersections and unions are summed over
    the batch (dataset level) or, with ``per_image``, kept per image, then reduced as in
    `jaccard_index`. Works on any number of spatial axes (images, volumes), with exact
    integer counts, lazily on Dask and under ``jax.jit`` (options static).

    Parameters
    ----------
    preds : array
        As in `jaccard_index`: ``mode='multiclass'``: integer labels (N, *S) or scores
        (N, C, *S) (argmax over axis 1); ``'binary'``: (N, *S) or (N, 1, *S), where a
        singleton axis 1 is the channel axis; ``'multilabel'``: (N, C, *S).
    target : array
        Multiclass: integer labels (N, *S). Binary/multilabel: ``preds``' shape, 0/1.
    num_classes : int, optional
        C; required for multiclass label predictions, else checked against the shapes.
    average : str or None, default 'macro'
        One of ``"macro"``, ``"micro"``, ``"weighted"``, ``"none"``, reducing the
        per-class band intersections and unions as `jaccard_index` reduces the mask
        ones (``'weighted'``: by the target band size).
    ignore_index : int or sequence of int, optional
        Target value (or values) whose pixels are in neither band. They count as "not this class"
        for every class in the target and in the prediction: a void region's edge is a
        contour of the classes around it (Pascal VOC draws its void label along object
        outlines, which would otherwise leave those objects without a boundary), and
        predictions on void pixels do not change the score.
    zero_division : float, default 0
        Score of a class whose band union is empty, and the result when nothing is
        left to average (as in `jaccard_index`).
    mode : str, default 'multiclass'
        One of ``"multiclass"``, ``"binary"``, ``"multilabel"``.
        Layout of ``preds`` and ``target`` (keyword-only).
    threshold : float or sequence of float, default 0.5
        Keyword-only. For floating binary/multilabel ``preds``: positive where
        ``preds >= threshold``.
    dilation_ratio : float, default 0.02
        Keyword-only. Band width as a fraction of the image diagonal
        ``sqrt(sum(S_i ** 2))``: ``d = max(1, round(dilation_ratio * diagonal))``
        (Python's ``round``, as the reference).
    dilation : int, optional
        Keyword-only. Band width ``d`` in pixels; wins over ``dilation_ratio``.
    per_image : bool, default False
        Keyword-only. Score each image on its own counts: shape (N,), or (N, C) for
        ``average='none'``.

    Returns
    -------
    array
        0-d, (C,) for ``average='none'``, or with a leading N axis with ``per_image``;
        the namespace's default float dtype, in ``target``'s library and device.

    Raises
    ------
    ValueError, TypeError
        As `jaccard_index`; a ``dilation_ratio`` that is not a finite number > 0, a
        ``dilation`` that is not a positive integer, a width larger than the image's
        largest side, inputs without a spatial axis.

    Examples
    --------
    A 4x4 square in a 6x6 image, predicted one pixel to the right, with ``d = 1``:
    each band is the square's ring of 12 pixels, and the two rings share 6.

    >>> import numpy as np
    >>> from anyiou.metrics import boundary_iou, jaccard_index
    >>> target = np.zeros((1, 6, 6), dtype=np.int64)
    >>> target[0, 1:5, 1:5] = 1
    >>> preds = np.roll(target, 1, axis=2)
    >>> round(float(boundary_iou(preds, target, 2, average="none", dilation=1)[1]), 6)
    0.333333
    >>> round(float(jaccard_index(preds, target, 2, average="none")[1]), 6)  # 12 / 20
    0.6
    """
    average = check_average(average)
    zero_division = check_confmat_zero_division(zero_division)
    ignore_index = check_ignore_index(ignore_index)
    mode = check_choice("mode", mode, MODES)
    per_image = check_flag("per_image", per_image)
    ratio, dilation = check_dilation(dilation_ratio, dilation)
    tp, fp, fn = boundary_counts(preds, target, num_classes, ignore_index, mode, threshold,
                                 ratio, dilation, per_image)
    xp = get_namespace(tp=tp)
    out = reduce_boundary(xp, tp, fp, fn, multilabel=mode != MULTICLASS_MODE,
                          average=average, ignore_index=ignore_index,
                          zero_division=zero_division)
    return out if per_image else out[0, ...]
