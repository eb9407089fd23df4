"""Label and target values: the ``ignore_index`` mask, portable label dtypes, and the
eager checks of label ranges and 0/1 or [0, 1] targets.

`ignore_mask` compares by value and never wraps ``ignore_index`` into the label dtype: an
``ignore_index`` that no value of the dtype can equal (-1 for uint8 labels, 2**31 for
int32) matches nothing. `index_labels` casts labels of any integer dtype to the indexing
dtype; unsigned values that do not fit (uint64 from 2**63) become negative, that is out of
range, never a valid class.

The checks run only where `values_checkable` allows it (eager CPU arrays), so nothing
here forces a host synchronisation on a GPU, a computation on Dask, or breaks under
``jax.jit``. Elsewhere the checks are skipped and the callers' masking keeps the
results defined. Each raises ``ValueError`` naming the argument and the values found.
"""

from __future__ import annotations

import math
from typing import Any

from array_api_compat import size as aac_size

from ._namespace import device_of, index_dtype, values_checkable
from ._types import IgnoreValues
from .kernels import value_range

__all__ = [
    "check_labels_in_range",
    "check_no_nan",
    "check_targets_in_unit_interval",
    "check_zero_one",
    "ignore_mask",
    "index_labels",
    "label_range",
    "labels_out_of_range",
    "or_ignored",
    "widen_unsigned",
]


# -- ignore_index and label dtypes ------------------------------------------------------


def _float_holds(xp: Any, dtype: Any, value: int) -> bool:
    """Whether the real floating ``dtype`` represents the integer ``value`` exactly."""
    info = xp.finfo(dtype)
    magnitude = abs(value)
    if magnitude > float(info.max):
        return False
    if magnitude == 0:
        return True
    digits = round(-math.log2(float(info.eps))) + 1  # significand bits: 24 for float32
    magnitude >>= (magnitude & -magnitude).bit_length() - 1  # drop trailing zero bits
    return magnitude.bit_length() <= digits


def ignore_mask(xp: Any, values: Any, ignore_index: IgnoreValues) -> Any | None:
    """Boolean mask of the elements of ``values`` equal to ``ignore_index`` (or to any of
    its values, for a tuple), by value.

    None when ``ignore_index`` is None or when no value of ``values``' dtype can equal it
    (outside an integer dtype's range, not 0/1 for bool, not exactly representable in a
    floating dtype): such an ``ignore_index`` is legal and matches nothing. The scalar is
    never converted into a dtype that cannot hold it (no wrapping, no OverflowError).
    Several values give the ``|`` of one comparison each (static Python ints: jit-safe).
    """
    if not isinstance(ignore_index, tuple):
        return _value_mask(xp, values, ignore_index)
    mask = None
    for value in ignore_index:
        one = _value_mask(xp, values, value)
        if one is not None:
            mask = one if mask is None else mask | one
    return mask


def _value_mask(xp: Any, values: Any, ignore_index: int | None) -> Any | None:
    """`ignore_mask` of one value."""
    if ignore_index is None:
        return None
    dtype = values.dtype
    if xp.isdtype(dtype, "bool"):
        if ignore_index not in (0, 1):
            return None
        return values if ignore_index == 1 else ~values
    if xp.isdtype(dtype, "integral"):
        info = xp.iinfo(dtype)
        if not int(info.min) <= ignore_index <= int(info.max):
            return None
        return values == ignore_index
    if xp.isdtype(dtype, "real floating") and _float_holds(xp, dtype, ignore_index):
        return values == float(ignore_index)
    return None


def or_ignored(ignore_index: IgnoreValues) -> str:
    """`` or equal ignore_index=...`` for messages ("" for None)."""
    if ignore_index is None:
        return ""
    one = "" if not isinstance(ignore_index, tuple) else "a value of "
    return f" or equal {one}ignore_index={ignore_index}"


def _wide_unsigned(xp: Any, dtype: Any) -> bool:
    return bool(xp.isdtype(dtype, "unsigned integer")) and int(xp.iinfo(dtype).bits) > 8


def index_labels(xp: Any, labels: Any) -> Any:
    """Integer (or bool) ``labels`` in the indexing dtype (int64; int32 for JAX without
    x64), without a copy when they have it. Unsigned values beyond the indexing dtype
    (uint64 from 2**63) come out negative: out of range, never a valid class."""
    return xp.astype(labels, index_dtype(xp, device_of(labels)), copy=False)


def widen_unsigned(xp: Any, x: Any) -> Any:
    """``x`` in the indexing dtype when it is an unsigned integer wider than 8 bits (which
    some libraries barely support: torch has no comparison or sum for uint16/32/64);
    otherwise ``x`` unchanged."""
    return index_labels(xp, x) if _wide_unsigned(xp, x.dtype) else x


# -- eager value checks -----------------------------------------------------------------


def _checkable(x: Any) -> bool:
    return values_checkable(x) and aac_size(x) > 0


def _within(xp: Any, flat: Any, lo: int, hi: int) -> bool:
    """Whether every integer of 1-D ``flat`` lies in [lo, hi] (one range reduction of the
    kernel layer: torch's one-pass ``aminmax``)."""
    mn, mx = value_range(xp, flat)
    return int(mn) >= lo and int(mx) <= hi


def label_range(xp: Any, x: Any) -> tuple[int, int] | None:
    """Exact ``(min(x), max(x))`` of integer or bool ``x`` as Python ints, or None when
    ``x`` is empty or its values are not checkable (see `values_checkable`). Works for
    every integer dtype, uint64 values from 2**63 included."""
    if not _checkable(x):
        return None
    flat = xp.reshape(x, (-1,))
    if not (xp.isdtype(x.dtype, "bool") or _wide_unsigned(xp, x.dtype)):
        return int(xp.min(flat)), int(xp.max(flat))
    w = xp.astype(flat, xp.int64)
    wrapped = w < 0  # uint64 values from 2**63
    if not bool(xp.any(wrapped)):
        return int(xp.min(w)), int(xp.max(w))
    hi = int(xp.max(xp.where(wrapped, w, xp.asarray(-(2**63), dtype=w.dtype)))) + 2**64
    if bool(xp.all(wrapped)):
        return int(xp.min(w)) + 2**64, hi
    return int(xp.min(xp.where(wrapped, xp.asarray(2**63 - 1, dtype=w.dtype), w))), hi


def check_labels_in_range(
    xp: Any,
    labels: Any,
    num_classes: int,
    ignore_index: IgnoreValues,
    ignored: Any | None,
    name: str = "y_true",
    original: Any = None,
) -> bool:
    """Eager arrays only: labels must lie in [0, num_classes) or equal ``ignore_index``.

    ``labels`` are `index_labels`, ``ignored`` their `ignore_mask` (taken on the labels as
    given), ``original`` the labels as given (for the values in the message; default
    ``labels``). Returns True when the check ran and every label lies in
    [0, num_classes), which lets callers skip their own range masking; False when the
    values were not inspected (lazy or accelerator arrays) or some labels are ignored
    values outside [0, num_classes).
    """
    if not _checkable(labels):
        return False
    if _within(xp, xp.reshape(labels, (-1,)), 0, num_classes - 1):
        return True
    bad = (labels < 0) | (labels >= num_classes)
    if ignored is not None:
        bad = bad & ~ignored
    if bool(xp.any(bad)):
        lo, hi = label_range(xp, labels if original is None else original)  # type: ignore[misc]
        raise labels_out_of_range(name, num_classes, ignore_index, lo, hi)
    return False


def labels_out_of_range(
    name: str, num_classes: int, ignore_index: IgnoreValues, lo: int, hi: int
) -> ValueError:
    """The error for class labels outside [0, C) that are not ``ignore_index``."""
    extra = or_ignored(ignore_index)
    return ValueError(
        f"{name} holds labels outside [0, {num_classes}){extra}: found values in "
        f"[{lo}, {hi}]. Pass ignore_index for void pixels (e.g. ignore_index=255)."
    )


def _reject_nan(xp: Any, x: Any, name: str, expected: str) -> tuple[float, float]:
    """Floating ``x`` (checkable, not empty): a ``ValueError`` if it holds NaN, else its
    ``(min, max)`` as floats."""
    lo, hi = (float(v) for v in value_range(xp, xp.reshape(x, (-1,))))
    if math.isnan(lo) or math.isnan(hi):  # min and max propagate NaN: no isnan pass
        raise ValueError(f"{name} must hold {expected}; found NaN")
    return lo, hi


def check_targets_in_unit_interval(
    xp: Any, y_true: Any, ignore_index: IgnoreValues, ignored: Any | None,
    name: str = "y_true",
) -> None:
    """Eager arrays only: binary/multilabel targets lie in [0, 1] (NaN is rejected) or
    equal ``ignore_index`` (``ignored`` is their `ignore_mask`)."""
    if xp.isdtype(y_true.dtype, "bool") or not _checkable(y_true):
        return
    extra = or_ignored(ignore_index)
    expected = f"0/1 or soft targets in [0, 1]{extra}"
    if xp.isdtype(y_true.dtype, "real floating"):
        lo, hi = _reject_nan(xp, y_true, name, expected)
        if lo >= 0 and hi <= 1:  # no mask temporaries
            return
        t = y_true
    else:
        t = widen_unsigned(xp, y_true)
        if _within(xp, xp.reshape(t, (-1,)), 0, 1):
            return
        lo, hi = label_range(xp, y_true)  # type: ignore[misc]
    bad = (t < 0) | (t > 1)
    if ignored is not None:
        bad = bad & ~ignored
    if bool(xp.any(bad)):
        raise ValueError(f"{name} must hold {expected}; found values in [{lo}, {hi}]")


def check_zero_one(
    xp: Any, x: Any, counted: Any, name: str, ignore_index: IgnoreValues
) -> None:
    """Eager arrays only: values of ``x`` are 0 or 1 wherever ``counted`` (None: all);
    NaN is rejected everywhere."""
    if xp.isdtype(x.dtype, "bool") or not _checkable(x):
        return
    extra = f" ({or_ignored(ignore_index)[1:]})" if ignore_index is not None else ""
    hint = ("A threshold applies to floating-point values only: pass probabilities with "
            "threshold=..., or ignore_index for void pixels.")
    if xp.isdtype(x.dtype, "real floating"):
        lo, hi = _reject_nan(xp, x, name, f"0/1 values{extra}")
    else:
        x_wide = widen_unsigned(xp, x)
        if _within(xp, xp.reshape(x_wide, (-1,)), 0, 1):  # no mask temporaries
            return
        lo, hi = label_range(xp, x)  # type: ignore[misc]
        x = x_wide
    bad = (x != 0) & (x != 1)
    if counted is not None:
        bad = bad & counted
    if bool(xp.any(bad)):
        raise ValueError(f"{name} must hold 0/1 values{extra}; found values in [{lo}, {hi}]. "
                         f"{hint}")


def check_no_nan(xp: Any, x: Any, name: str) -> None:
    """Eager arrays only: floating targets hold no NaN (a NaN target is neither a
    positive nor a negative)."""
    if xp.isdtype(x.dtype, "real floating") and _checkable(x):
        if bool(xp.any(xp.isnan(x))):
            raise ValueError(f"{name} must hold 0/1 or [0, 1] target values; found NaN")
