"""Exact integer confusion statistics: ``get_stats`` (smp.metrics parity) and the input
preparation shared by every metric.

Everything here counts with integers (the namespace's indexing dtype: int64, or int32 for
JAX without x64), masks with ``where``/multiplication and never builds a data-dependent
shape, so it runs under ``jax.jit`` and stays lazy on Dask. Value checks (labels in
range, 0/1 targets) run only on eager CPU arrays (see ``values_checkable``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from array_api_compat import size as aac_size

from .._lib import kernels
from .._lib._checks import check_label_metric_pair, check_mask_metric_pair
from .._lib._namespace import (
    device_of,
    get_namespace,
    index_dtype,
    is_floating,
    values_checkable,
)
from .._lib._options import (
    MODES,
    MULTICLASS_MODE,
    check_choice,
    check_ignore_index,
    check_num_classes,
    ignored_classes,
)
from .._lib._types import ArrayT, IgnoreIndex, IgnoreValues, Mode
from .._lib._values import (
    check_no_nan,
    check_zero_one,
    ignore_mask,
    index_labels,
    label_range,
    labels_out_of_range,
    widen_unsigned,
)
from ._label_stats import (
    check_int32_room,
    check_label_pair,
    counted_masks,
    label_overlap,
    use_joint_histogram,
)

__all__ = ["get_stats"]


# -- small shared helpers ---------------------------------------------------------------


def float_dtype(xp: Any, like: Any) -> Any:
    """Default real floating dtype of ``xp`` on ``like``'s device (float32 for torch,
    float64 for NumPy/Dask/JAX with x64)."""
    try:
        return xp.__array_namespace_info__().default_dtypes(device=device_of(like))[
            "real floating"
        ]
    except Exception:  # pragma: no cover - namespaces without the inspection API
        return xp.float64


def _shape(x: Any) -> tuple:
    return tuple(x.shape)


def _size(shape: tuple) -> int:
    """Number of elements of a static shape (no ``-1`` in reshapes: ambiguous when 0)."""
    out = 1
    for s in shape:
        out *= int(s)
    return out


# -- multiclass labels ------------------------------------------------------------------


def multiclass_histogram(
    xp: Any,
    preds: Any,
    target: Any,
    num_classes: int | None,
    ignore_index: IgnoreValues,
    *,
    per_image: bool,
    preds_name: str = "preds",
    target_name: str = "target",
) -> tuple[Any, int]:
    """Validate a multiclass (preds, target) pair and count (target, prediction) pairs.

    ``preds`` holds integer labels of ``target``'s shape (N, *S), or scores (N, C, *S)
    of any dtype whose argmax over axis 1 is taken.

    Labels outside [0, C) land in the border bins 0 and C + 1 of one joint histogram
    (``kernels.pair_counts``; an in-range ``ignore_index`` is first mapped to -1):
    ``hist`` of shape (M, C + 2, C + 2), with M = N (``per_image``) or 1, holds the
    confusion matrix in ``hist[:, 1:C+1, 1:C+1]``, and in its border rows/columns the
    pixels that are not counted (target outside [0, C) or ignored) and predictions
    outside [0, C). On eager CPU arrays those borders also give the label-range check
    without extra masks: every target outside [0, C) must equal ``ignore_index``, and
    no counted pixel may have a prediction outside [0, C).

    Returns ``(hist, C)``; ``hist`` has the indexing dtype (int64; int32 for JAX
    without x64).
    """
    tshape = _shape(target)
    c, scores = check_label_metric_pair(xp, preds, target, num_classes, preds_name,
                                        target_name)
    labels_p = xp.argmax(preds, axis=1) if scores else preds
    dev = device_of(target)
    idt = index_dtype(xp, dev)
    rows = tshape[0] if per_image else 1
    cols = _size(tshape) // rows if rows else 0
    if rows * cols == 0:  # nothing to count (and Dask cannot reshape empty arrays)
        return xp.zeros((rows, c + 2, c + 2), dtype=idt, device=dev), c
    check_int32_room(xp, target, rows, (c + 2) ** 2, cols)
    # ignore_index is compared with the labels as given (by value, never wrapped); labels
    # that do not fit the indexing dtype (uint64 from 2**63) become negative: not counted
    ignored = ignore_mask(xp, target, ignore_index)
    t = xp.reshape(index_labels(xp, target), (rows, cols))
    p = xp.reshape(index_labels(xp, labels_p), (rows, cols))
    if ignored is not None and ignored_classes(ignore_index, c):
        minus_one = xp.asarray(-1, dtype=idt, device=dev)
        t = xp.where(xp.reshape(ignored, (rows, cols)), minus_one, t)
    hist = kernels.pair_counts(xp, t, p, c, c)
    if values_checkable(target) and aac_size(target) > 0:
        _check_histogram(xp, hist, target, labels_p, c, ignore_index, ignored, preds_name,
                         target_name)
    return hist, c


def _check_histogram(xp, hist, target, preds, c, ignore_index, ignored, preds_name,
                     target_name):
    """Eager arrays only: label-range errors read off the histogram's border bins (the
    value range is computed only for the message)."""
    outside = xp.sum(hist[:, 0, :]) + xp.sum(hist[:, c + 1, :])
    n_ignored = 0 if ignored is None else xp.count_nonzero(ignored)
    if int(outside) != int(n_ignored):
        lo, hi = label_range(xp, target)  # type: ignore[misc]
        raise labels_out_of_range(target_name, c, ignore_index, lo, hi)
    counted = hist[:, 1 : c + 1, :]
    if int(xp.sum(counted[:, :, 0]) + xp.sum(counted[:, :, c + 1])) > 0:
        lo, hi = label_range(xp, preds)  # type: ignore[misc]
        raise ValueError(
            f"{preds_name} holds labels outside [0, {c}) at pixels that are not ignored: "
            f"found values in [{lo}, {hi}]"
        )


def multiclass_counts(
    xp: Any,
    preds: Any,
    target: Any,
    num_classes: int | None,
    ignore_index: IgnoreValues,
    *,
    preds_name: str = "preds",
    target_name: str = "target",
) -> tuple[Any, Any, Any, Any]:
    """Validate a multiclass (preds, target) pair (as `multiclass_histogram`) and count
    ``tp, fp, fn, tn`` per image and class, each (N, C) in the indexing dtype.

    Counted pixels have a target in [0, C) that is not ``ignore_index``; the others
    count nowhere, not even as true negatives. A counted pixel whose prediction lies
    outside [0, C) (possible only where values are not checked) is a false negative of
    its class.

    Memory O(N * C) plus a few pixel-sized temporaries, whatever C: where a joint
    (C + 2)^2 histogram per image is no larger than the image (`use_joint_histogram`),
    one bincount of pair codes (the fastest); otherwise three per-row histograms of
    C + 1 bins (`label_overlap`, bin C: not counted, or no predicted class).
    """
    tshape = _shape(target)
    c, scores = check_label_metric_pair(xp, preds, target, num_classes, preds_name,
                                        target_name)
    labels_p = xp.argmax(preds, axis=1) if scores else preds
    dev = device_of(target)
    rows = tshape[0]
    cols = _size(tshape) // rows if rows else 0
    if rows * cols == 0:  # nothing to count (and Dask cannot reshape empty arrays)
        zeros = xp.zeros((rows, c), dtype=index_dtype(xp, dev), device=dev)
        return zeros, zeros, zeros, zeros
    joint = use_joint_histogram(xp, target, rows, (c + 2) ** 2, cols)
    check_int32_room(xp, target, rows, (c + 2) ** 2 if joint else c + 1, cols)
    ignored = ignore_mask(xp, target, ignore_index)
    t = index_labels(xp, target)
    p = index_labels(xp, labels_p)
    t_ok, p_ok = check_label_pair(xp, t, p, labels_p, target, c, ignore_index, ignored,
                                  preds_name, target_name)
    t, p = (xp.reshape(x, (rows, cols)) for x in (t, p))
    if ignored is not None:
        ignored = xp.reshape(ignored, (rows, cols))
    if joint:
        return kernels.run_compiled(_joint_counts_core, xp, t, p, ignored, c, static=(3,))
    return kernels.run_compiled(_label_counts_core, xp, t, p, ignored, c, t_ok, p_ok,
                                static=(3, 4, 5))


def _joint_counts_core(xp: Any, t: Any, p: Any, ignored: Any, c: int) -> tuple[Any, ...]:
    """`multiclass_counts` of (N, P) index labels from one (N, C + 2, C + 2) joint
    histogram (`kernels.pair_counts`; ignored pixels go to the border bins)."""
    if ignored is not None:
        t = xp.where(ignored, xp.asarray(-1, dtype=t.dtype, device=device_of(t)), t)
    return multiclass_stats(xp, kernels.pair_counts(xp, t, p, c, c), c)


def multiclass_stats(xp: Any, hist: Any, c: int) -> tuple[Any, Any, Any, Any]:
    """tp, fp, fn, tn of shape (M, C) from a (M, C + 2, C + 2) code histogram.

    Rows of the histogram are target codes, columns prediction codes (see
    `multiclass_histogram`). A counted pixel whose prediction lies outside [0, C)
    (possible only where values are not checked) is a false negative of its class.
    """
    counted = hist[:, 1 : c + 1, :]  # target in [0, C), not ignored
    inner = counted[:, :, 1 : c + 1]
    dev = device_of(hist)
    diag = xp.arange(c, dtype=index_dtype(xp, dev), device=dev) * (c + 1)
    tp = xp.take(xp.reshape(inner, (inner.shape[0], c * c)), diag, axis=1)
    n_tgt = xp.sum(counted, axis=2)
    n_pred = xp.sum(inner, axis=1)
    n_valid = xp.sum(n_tgt, axis=1, keepdims=True)
    fp = n_pred - tp
    fn = n_tgt - tp
    return tp, fp, fn, n_valid - tp - fp - fn


def _label_counts_core(xp: Any, t: Any, p: Any, ignored: Any, c: int, t_ok: bool,
                       p_ok: bool) -> tuple[Any, Any, Any, Any]:
    """`multiclass_counts` of (N, P) index labels; ``t_ok``/``p_ok``: the eager checks
    saw every label in [0, C), so no range mask is needed."""
    counted, valid_p = counted_masks(t, p, ignored, c, t_ok, p_ok)
    border = xp.asarray(c, dtype=t.dtype, device=device_of(t))
    t_bin = t if counted is None else xp.where(counted, t, border)
    p_bin = p if valid_p is None else xp.where(valid_p, p, border)
    tp, n_tgt, n_pred = label_overlap(xp, t_bin, p_bin, c)
    fp = n_pred - tp
    fn = n_tgt - tp
    tn = xp.sum(n_tgt, axis=1, keepdims=True) - n_pred - fn
    return tp, fp, fn, tn


# -- binary / multilabel ----------------------------------------------------------------


def _as_threshold(xp: Any, threshold: Any, num_channels: int, like: Any, dtype: Any) -> Any:
    """A checked scalar or per-class threshold (see ``check_threshold``) as an array
    broadcastable to (N, C, P)."""
    if isinstance(threshold, float):
        return xp.asarray(threshold, dtype=dtype, device=device_of(like))
    arr = xp.asarray(list(threshold), dtype=dtype, device=device_of(like))
    return xp.reshape(arr, (1, num_channels, 1))


def binary_masks(
    xp: Any,
    output: Any,
    target: Any,
    mode: str,
    num_classes: int | None,
    threshold: Any,
    ignore_index: IgnoreValues,
    *,
    output_name: str = "output",
    target_name: str = "target",
) -> tuple[Any, Any, Any]:
    """Binary/multilabel inputs as three boolean arrays of shape (N, C, P).

    Returns ``(positive_output, positive_target, counted)``; ``counted`` is False where
    the target equals ``ignore_index`` (element-wise), and both positives are False
    there. Binary mode accepts (N, *S), or (N, 1, *S) on either side, and gives C = 1.

    Floating ``output`` needs ``threshold`` (``>=``, a number or one per class). The
    threshold applies to floating arrays only (``output``, and a floating target); integer
    and bool values must be 0/1 (checked on eager arrays, where NaN targets are rejected
    too; elsewhere non-zero counts as positive). ``ignore_index`` is compared with the
    target by value (`ignore_mask`).
    """
    pshape = _shape(output)
    c, threshold = check_mask_metric_pair(xp, output, target, mode, num_classes, threshold,
                                          output_name, target_name)
    out_float = is_floating(xp, output.dtype)
    n = pshape[0]
    size = _size(pshape) // (n * c) if n * c else 0
    if n * c * size == 0:  # nothing to count (and Dask cannot reshape empty arrays)
        empty = xp.zeros((n, c, size), dtype=xp.bool, device=device_of(output))
        return empty, empty, empty
    o = xp.reshape(output, (n, c, size))
    t = xp.reshape(target, (n, c, size))

    ignored = ignore_mask(xp, t, ignore_index)  # by value: uint8 never equals -1
    counted = None if ignored is None else ~ignored

    if threshold is not None and out_float:
        pos_o = o >= _as_threshold(xp, threshold, c, output, output.dtype)
    else:
        check_zero_one(xp, o, counted, output_name, None)
        pos_o = _nonzero(xp, o)

    if threshold is not None and is_floating(xp, t.dtype):
        check_no_nan(xp, t, target_name)
        pos_t = t >= _as_threshold(xp, threshold, c, target, t.dtype)
    else:
        check_zero_one(xp, t, counted, target_name, ignore_index)
        pos_t = _nonzero(xp, t)

    if counted is None:
        counted = xp.ones(pos_t.shape, dtype=xp.bool, device=device_of(pos_t))
    else:
        pos_o = pos_o & counted
        pos_t = pos_t & counted
    return pos_o, pos_t, counted


def _nonzero(xp: Any, x: Any) -> Any:
    """0/1 values (integer, bool or float) as a boolean mask."""
    return x if xp.isdtype(x.dtype, "bool") else widen_unsigned(xp, x) != 0


def _count(xp: Any, mask: Any, axis: int | tuple, idt: Any) -> Any:
    """Exact count of True values of ``mask`` along ``axis`` in the indexing dtype."""
    return xp.sum(xp.astype(mask, idt), axis=axis, dtype=idt)


def binary_counts(xp: Any, pos_o: Any, pos_t: Any, counted: Any, axis: Any) -> tuple:
    """``tp, fp, fn, tn`` summed over ``axis`` of (N, C, P) masks from `binary_masks`."""
    idt = index_dtype(xp, device_of(pos_o))
    tp = _count(xp, pos_o & pos_t, axis, idt)
    n_out = _count(xp, pos_o, axis, idt)
    n_tgt = _count(xp, pos_t, axis, idt)
    n_all = _count(xp, counted, axis, idt)
    fp = n_out - tp
    fn = n_tgt - tp
    return tp, fp, fn, n_all - tp - fp - fn


# -- get_stats --------------------------------------------------------------------------


def get_stats(
    output: ArrayT,
    target: Any,
    mode: Mode,
    ignore_index: IgnoreIndex = None,
    threshold: float | Sequence[float] | None = None,
    num_classes: int | None = None,
) -> tuple[ArrayT, ArrayT, ArrayT, ArrayT]:
    """True/false positive/negative pixel counts per image and class (smp.metrics).

    A drop-in for ``segmentation_models_pytorch.metrics.get_stats`` that runs on every
    array-API library and under ``jax.jit`` (``mode``, ``num_classes``, ``threshold``
    and ``ignore_index`` static).

    Parameters
    ----------
    output : array
        * ``'binary'``: (N, 1, *S) or (N, *S), integer/bool 0/1 or float with ``threshold``;
        * ``'multilabel'``: (N, C, *S), integer/bool 0/1 or float with ``threshold``;
        * ``'multiclass'``: (N, *S) integer labels, or (N, C, *S) scores whose argmax over
          axis 1 is taken (an extension; smp accepts labels only).
    target : array
        Binary/multilabel: ``output``'s shape, 0/1 values (integer, bool, or float).
        Multiclass: (N, *S) integer labels.
    mode : str
        ``'binary'``, ``'multilabel'`` or ``'multiclass'``: the layout of ``output`` and
        ``target`` above.
    ignore_index : int or sequence of int, optional
        Target value (or values) whose pixels are not counted at all (not even as true negatives),
        compared by value (outside the target dtype's range it matches nothing).
        Any integer: 255, -1, or, unlike smp (which raises), a value inside [0, C): that
        class then has no true positives or false negatives, only false positives where
        it is predicted on counted pixels. Binary/multilabel: the comparison is
        element-wise (smp raises there too).
    threshold : float or sequence of float, optional
        Binarisation threshold, ``>=`` (like smp and Keras; torchmetrics uses ``>``), of
        floating-point arrays only: a floating ``output``, and, as in smp, a floating
        ``target``. Integer and bool values are labels and must be 0/1 whatever the
        threshold (smp would threshold them too). A sequence gives one threshold per
        class. Not allowed in multiclass mode.
    num_classes : int, optional
        Required in multiclass mode with label predictions.

    Returns
    -------
    tp, fp, fn, tn : array
        Each of shape (N, C) (C = 1 for binary), integer: int64, or int32 for JAX without
        x64. Multiclass counts take memory O(N * C) plus a few bytes per pixel (no
        (C, C) matrix per image).

    Raises
    ------
    ValueError, TypeError
        Bad mode, shapes or dtypes; on eager CPU arrays, labels outside [0, C) that are
        not ``ignore_index``, or non-0/1 values without a threshold; multiclass with JAX
        without x64, sizes whose int32 histogram indices (N * (C + 1), or the pixels of
        one image) would pass 2**31 - 1 (enable ``jax_enable_x64``).

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import get_stats, iou_score
    >>> target = np.array([[[0, 0], [1, 1]]])
    >>> output = np.array([[[0, 1], [1, 1]]])
    >>> tp, fp, fn, tn = get_stats(output, target, mode="multiclass", num_classes=3)
    >>> tp.tolist(), fp.tolist(), fn.tolist(), tn.tolist()
    ([[1, 2, 0]], [[0, 1, 0]], [[1, 0, 0]], [[2, 1, 4]])
    >>> round(float(iou_score(tp, fp, fn, tn, reduction="micro")), 6)
    0.6
    """
    xp = get_namespace(output=output, target=target)
    mode = check_choice("mode", mode, MODES)
    ignore_index = check_ignore_index(ignore_index)
    if mode == MULTICLASS_MODE:
        if threshold is not None:
            raise ValueError(
                "threshold is not used in multiclass mode (output holds labels, or scores "
                "whose argmax is taken); leave it None"
            )
        if num_classes is not None:
            num_classes = check_num_classes(num_classes)
        return multiclass_counts(xp, output, target, num_classes, ignore_index,
                                 preds_name="output", target_name="target")
    pos_o, pos_t, counted = binary_masks(
        xp, output, target, mode, num_classes, threshold, ignore_index
    )
    return kernels.run_compiled(binary_counts, xp, pos_o, pos_t, counted, axis=2)
