"""Checking one prediction/target pair: dtypes, shapes and label ranges, with file names."""

from __future__ import annotations

import numpy as np

from ._errors import EvaluationError
from ._files import Pair
from ._io import read_labels

__all__ = ["expected_shape", "label_dtype", "load_pair"]

_SHOWN = 5  # offending label values quoted in an error


def label_dtype(num_classes: int, ignore_index: int | None) -> np.dtype:
    """The integer dtype labels are handed to the backend in (int32 when it fits)."""
    lo, hi = np.iinfo(np.int32).min, np.iinfo(np.int32).max
    fits = num_classes <= hi and (ignore_index is None or lo <= ignore_index <= hi)
    return np.dtype(np.int32 if fits else np.int64)


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
    shown = ", ".join(str(v) for v in vals[:_SHOWN].tolist())
    return shown + (f", ... ({len(vals)} distinct)" if len(vals) > _SHOWN else "")


def load_pair(
    pair: Pair, num_classes: int, ignore_index: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Read and check ``pair``: integer label maps of one shape, ``label_dtype``.

    Raises
    ------
    EvaluationError
        Unreadable files, float labels, shapes that differ, target labels outside
        [0, num_classes) that are not ``ignore_index``, predicted labels outside
        [0, num_classes) at counted pixels; the message names the file.
    """
    pred = read_labels(pair.pred)
    target = read_labels(pair.target)
    expected_shape(pair, pred.shape, pred.dtype, target.shape, target.dtype, num_classes)
    if not _integral(pred.dtype):
        pred = np.argmax(pred, axis=0)
    t = target.astype(np.int64, copy=False)
    p = pred.astype(np.int64, copy=False)
    out_t = (t < 0) | (t >= num_classes)
    counted = ~out_t if ignore_index is None else ~out_t & (t != ignore_index)
    bad_t = out_t if ignore_index is None else out_t & (t != ignore_index)
    if bad_t.any():
        hint = ""
        if ignore_index is None and 255 in t[bad_t]:
            hint = " (pass --ignore-index 255 if 255 marks void pixels)"
        ii = "" if ignore_index is None else f" and are not --ignore-index {ignore_index}"
        raise EvaluationError(
            f"TARGET {pair.target}: {int(bad_t.sum())} pixels have labels outside "
            f"[0, {num_classes}){ii}: {_values(t[bad_t])}{hint}"
        )
    bad_p = ((p < 0) | (p >= num_classes)) & counted
    if bad_p.any():
        raise EvaluationError(
            f"PRED {pair.pred}: {int(bad_p.sum())} counted pixels have predicted labels "
            f"outside [0, {num_classes}): {_values(p[bad_p])}"
        )
    dtype = label_dtype(num_classes, ignore_index)
    if ignore_index is not None:
        # predictions at ignored pixels may hold anything: give them a valid label
        p = np.where(counted, p, 0)
    return p.astype(dtype, copy=False), t.astype(dtype, copy=False)
