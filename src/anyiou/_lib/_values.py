"""Eager checks of array *values*: label ranges and 0/1 or [0, 1] targets.

They run only where `values_checkable` allows it (eager CPU arrays), so nothing here
forces a host synchronisation on a GPU, a computation on Dask, or breaks under
``jax.jit``. Elsewhere the checks are skipped and the callers' masking keeps the
results defined. Each raises ``ValueError`` naming the argument and the values found.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import size as aac_size

from ._namespace import values_checkable

__all__ = [
    "check_labels_in_range",
    "check_targets_in_unit_interval",
    "check_zero_one",
    "eager_range",
    "labels_out_of_range",
]


def eager_range(xp: Any, x: Any) -> tuple[Any, Any] | None:
    """``(min(x), max(x))`` as 0-D arrays, or None when ``x`` is empty or its values are
    not checkable (see `values_checkable`)."""
    if not values_checkable(x) or aac_size(x) == 0:
        return None
    flat = xp.reshape(x, (-1,))
    return xp.min(flat), xp.max(flat)


def check_labels_in_range(
    xp: Any, labels: Any, num_classes: int, ignore_index: int | None, name: str = "y_true"
) -> bool:
    """Eager arrays only: labels must lie in [0, num_classes) or equal ``ignore_index``.

    Returns True when the check ran and every label lies in [0, num_classes), which lets
    callers skip their own range masking; False when the values were not inspected
    (lazy or accelerator arrays) or some labels equal an out-of-range ``ignore_index``.
    """
    found = eager_range(xp, labels)
    if found is None:
        return False
    lo, hi = (int(v) for v in found)
    if lo >= 0 and hi < num_classes:
        return True
    bad = (labels < 0) | (labels >= num_classes)
    if ignore_index is not None:
        bad = bad & (labels != ignore_index)
    if bool(xp.any(bad)):
        raise labels_out_of_range(name, num_classes, ignore_index, lo, hi)
    return False


def labels_out_of_range(
    name: str, num_classes: int, ignore_index: int | None, lo: int, hi: int
) -> ValueError:
    """The error for class labels outside [0, C) that are not ``ignore_index``."""
    extra = "" if ignore_index is None else f" or equal ignore_index={ignore_index}"
    return ValueError(
        f"{name} holds labels outside [0, {num_classes}){extra}: found values in "
        f"[{lo}, {hi}]. Pass ignore_index for void pixels (e.g. ignore_index=255)."
    )


def check_targets_in_unit_interval(
    xp: Any, y_true: Any, ignore_index: int | None, name: str = "y_true"
) -> None:
    """Eager arrays only: binary/multilabel targets lie in [0, 1] or equal ``ignore_index``."""
    if xp.isdtype(y_true.dtype, "bool"):
        return
    found = eager_range(xp, y_true)
    if found is None:
        return
    lo, hi = (float(v) for v in found)
    if lo >= 0 and hi <= 1:  # no mask temporaries
        return
    bad = (y_true < 0) | (y_true > 1)
    if ignore_index is not None:
        bad = bad & (y_true != ignore_index)
    if bool(xp.any(bad)):
        extra = "" if ignore_index is None else f" or equal ignore_index={ignore_index}"
        raise ValueError(
            f"{name} must hold 0/1 or soft targets in [0, 1]{extra}; found values in "
            f"[{lo}, {hi}]"
        )


def check_zero_one(
    xp: Any, x: Any, counted: Any, name: str, ignore_index: int | None
) -> None:
    """Eager arrays only: values of ``x`` are 0 or 1 wherever ``counted`` (None: all)."""
    if xp.isdtype(x.dtype, "bool"):
        return
    found = eager_range(xp, x)
    if found is None:
        return
    lo, hi = (float(v) for v in found)
    if lo >= 0 and hi <= 1 and xp.isdtype(x.dtype, "integral"):  # no mask temporaries
        return
    bad = (x != 0) & (x != 1)
    if counted is not None:
        bad = bad & counted
    if bool(xp.any(bad)):
        extra = "" if ignore_index is None else f" (or equal ignore_index={ignore_index})"
        raise ValueError(
            f"{name} must hold 0/1 values{extra} without a threshold; found values in "
            f"[{lo}, {hi}]. Pass threshold=... for probabilities, or ignore_index for "
            "void pixels."
        )
