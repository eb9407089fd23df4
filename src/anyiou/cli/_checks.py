"""Checking one prediction/target pair: dtypes, shapes and label ranges, with file names."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .._lib._options import check_ignore_index as check_values
from .._lib._options import ignore_values, ignored_classes
from .._lib._types import IgnoreValues
from ._errors import EvaluationError
from ._files import Pair
from ._io import read_labels

__all__ = [
    "LABEL_DTYPE",
    "MAX_CLASSES",
    "backend_ignore_index",
    "check_ignore_index",
    "check_memory",
    "check_num_classes",
    "expected_shape",
    "label_dtype",
    "check_pair",
    "load_pair",
    "read_pair",
]

_SHOWN = 5  # offending label values quoted in an error
_GIB = 2**30
#: The most memory the int64 confusion matrices held at once may take.
MAX_COUNT_BYTES = 2 * _GIB
#: The most classes: a (C, C) int64 confusion matrix of MAX_COUNT_BYTES.
MAX_CLASSES = math.isqrt(MAX_COUNT_BYTES // 8)  # 16384
#: The dtype labels are handed to the backend in (MAX_CLASSES and -1 fit).
LABEL_DTYPE = np.dtype(np.int32)


def _gib(x: float) -> str:
    return f"{x:,.1f}" if x < 1e6 else f"{x:.1e}"


def check_num_classes(num_classes: int, option: str = "--num-classes") -> None:
    """Refuse a class count whose confusion matrix cannot sensibly be held in memory.

    ``option`` names where the count came from (``--num-classes`` or
    ``--class-names FILE``) in the message.
    """
    if num_classes > MAX_CLASSES:
        need = num_classes * num_classes * 8 / _GIB
        raise EvaluationError(
            f"{option} gives {num_classes} classes: a {num_classes}x{num_classes} confusion "
            f"matrix of int64 counts would take {_gib(need)} GiB; at most {MAX_CLASSES} "
            f"classes ({MAX_COUNT_BYTES // _GIB} GiB) are supported"
        )


def check_memory(num_classes: int, num_images: int) -> None:
    """Refuse ``--per-image`` when the per-image confusion matrices would not fit."""
    need = num_images * num_classes * num_classes * 8
    if need > MAX_COUNT_BYTES:
        raise EvaluationError(
            f"--per-image keeps one {num_classes}x{num_classes} confusion matrix per image: "
            f"{num_images} images would take {_gib(need / _GIB)} GiB of int64 counts, over "
            f"the {MAX_COUNT_BYTES // _GIB} GiB bound; drop --per-image or score fewer "
            "images at a time"
        )


def check_ignore_index(
    ignore_index: int | Sequence[int] | None,
) -> IgnoreValues:
    """Each ``--ignore-index`` value must fit in int64 (any such value is legal: one no
    label holds simply matches nothing). Returns them as the library stores them: None,
    an int, or a sorted tuple of several distinct values (the library's check)."""
    try:
        return check_values(ignore_index, name="--ignore-index")
    except (TypeError, ValueError) as exc:
        raise EvaluationError(str(exc)) from None


def flag_text(ignore_index: IgnoreValues) -> str:
    """``ignore_index`` as written after ``--ignore-index``: ``255`` or ``-1,255``."""
    return ",".join(map(str, ignore_values(ignore_index)))


def label_dtype(num_classes: int, ignore_index: IgnoreValues) -> np.dtype:
    """The integer dtype labels are handed to the backend in: always :data:`LABEL_DTYPE`
    (ignored pixels outside [0, C) are relabelled -1, see ``backend_ignore_index``)."""
    return LABEL_DTYPE


def backend_ignore_index(
    num_classes: int, ignore_index: IgnoreValues
) -> IgnoreValues:
    """The ``ignore_index`` the backend counts with.

    A class id in [0, C) is kept (it also leaves that class out of the means); any other
    value is relabelled -1 by :func:`load_pair`, so labels always fit in int32 whatever
    ``--ignore-index`` is (no overflow in torch, JAX without x64...). Several values:
    those in [0, C), and -1 if any value lies outside.
    """
    values = ignore_values(ignore_index)
    kept = ignored_classes(ignore_index, num_classes)
    if len(kept) < len(values):
        kept = (-1, *kept)
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else kept


def _integral(dtype: np.dtype) -> bool:
    return dtype == np.bool_ or np.issubdtype(dtype, np.integer)


def expected_shape(
    pair: Pair,
    pred_shape: tuple[int, ...],
    pred_dtype: np.dtype,
    target_shape: tuple[int, ...],
    target_dtype: np.dtype,
    num_classes: int,
) -> tuple[int, ...]:
    """The shape of the label maps of ``pair`` after its checks (the target's).

    A floating prediction with one more axis than the target, of length ``num_classes``
    in front, holds class scores (its argmax over axis 0 is the prediction).

    Raises
    ------
    EvaluationError
        Float targets, float predictions that are not scores, or shapes that differ;
        the message names both files.
    """
    if not _integral(target_dtype):
        raise EvaluationError(
            f"TARGET {pair.target} holds {target_dtype} values; expected integer labels"
        )
    if not _integral(pred_dtype):
        if not np.issubdtype(pred_dtype, np.floating):
            raise EvaluationError(
                f"PRED {pair.pred} holds {pred_dtype} values; expected integer labels"
            )
        if len(pred_shape) != len(target_shape) + 1 or tuple(pred_shape[1:]) != tuple(
            target_shape
        ):
            raise EvaluationError(
                f"PRED {pair.pred} holds {pred_dtype} values of shape {tuple(pred_shape)}; "
                f"expected integer labels of TARGET {pair.target}'s shape "
                f"{tuple(target_shape)}, or class scores of shape "
                f"({num_classes}, {', '.join(map(str, target_shape))})"
            )
        if pred_shape[0] != num_classes:
            raise EvaluationError(
                f"PRED {pair.pred} holds scores for {pred_shape[0]} classes (axis 0 of shape "
                f"{tuple(pred_shape)}); --num-classes is {num_classes}"
            )
        return tuple(target_shape)
    if tuple(pred_shape) != tuple(target_shape):
        raise EvaluationError(
            f"shape mismatch: PRED {pair.pred} has shape {tuple(pred_shape)} but TARGET "
            f"{pair.target} has shape {tuple(target_shape)}"
        )
    return tuple(target_shape)


def _values(a: np.ndarray) -> str:
    vals = np.unique(a)
    shown_ = ", ".join(str(v) for v in vals[:_SHOWN].tolist())  # Python ints: exact
    return shown_ + (f", ... ({len(vals)} distinct)" if len(vals) > _SHOWN else "")


def _outside(a: np.ndarray, num_classes: int) -> np.ndarray:
    """``a < 0 or a >= C``, in ``a``'s own dtype (a uint64 label is never wrapped)."""
    info = np.iinfo(a.dtype)
    out = a >= num_classes if num_classes <= info.max else np.zeros(a.shape, bool)
    return out | (a < 0) if info.min < 0 else out


def _equals(a: np.ndarray, value: IgnoreValues) -> np.ndarray:
    """``a == value`` (any of the values, for a tuple); all False for None or values
    ``a``'s dtype cannot hold."""
    out = np.zeros(a.shape, bool)
    info = np.iinfo(a.dtype)
    for v in ignore_values(value):
        if info.min <= v <= info.max:
            out |= a == a.dtype.type(v)
    return out


def read_pair(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    """The (prediction, target) arrays stored in ``pair``'s files, unchecked."""
    return read_labels(pair.pred), read_labels(pair.target)


def load_pair(
    pair: Pair, num_classes: int, ignore_index: IgnoreValues
) -> tuple[np.ndarray, np.ndarray]:
    """Read and check ``pair``: int32 label maps of one shape.

    Target pixels equal to an ``ignore_index`` outside [0, num_classes) come back as -1
    (see :func:`backend_ignore_index`); predictions at pixels not counted as 0.

    Raises
    ------
    EvaluationError
        Unreadable files, float labels, shapes that differ, target labels outside
        [0, num_classes) that are not ``ignore_index``, predicted labels outside
        [0, num_classes) at counted pixels; the message names the file.
    """
    return check_pair(pair, *read_pair(pair), num_classes, ignore_index)


def check_pair(
    pair: Pair, pred: np.ndarray, target: np.ndarray, num_classes: int,
    ignore_index: IgnoreValues,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`load_pair` on arrays already read from ``pair``'s files."""
    expected_shape(pair, pred.shape, pred.dtype, target.shape, target.dtype, num_classes)
    if not _integral(pred.dtype):
        pred = np.argmax(pred, axis=0)
    t = target.view(np.uint8) if target.dtype == np.bool_ else target
    p = pred.view(np.uint8) if pred.dtype == np.bool_ else pred
    out_t = _outside(t, num_classes)
    ignored = _equals(t, ignore_index)
    bad_t = out_t & ~ignored
    if bad_t.any():
        hint = ""
        if ignore_index is None and 255 in t[bad_t]:
            hint = " (pass --ignore-index 255 if 255 marks void pixels)"
        ii = "" if ignore_index is None else (
            f" and are not --ignore-index {flag_text(ignore_index)}")
        raise EvaluationError(
            f"TARGET {pair.target}: {int(bad_t.sum())} pixels have labels outside "
            f"[0, {num_classes}){ii}: {_values(t[bad_t])}{hint}"
        )
    counted = ~out_t & ~ignored
    bad_p = _outside(p, num_classes) & counted
    if bad_p.any():
        raise EvaluationError(
            f"PRED {pair.pred}: {int(bad_p.sum())} counted pixels have predicted labels "
            f"outside [0, {num_classes}): {_values(p[bad_p])}"
        )
    # every value left is in [0, C): the casts below are exact
    p = np.where(counted, p, 0).astype(LABEL_DTYPE)
    relabel = out_t & ignored  # an ignore_index outside [0, C)
    t = np.where(relabel, 0, t).astype(LABEL_DTYPE)
    if relabel.any():
        t[relabel] = -1
    return p, t
