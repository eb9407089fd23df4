"""Input validation shared by every loss and metric.

Each check raises ``ValueError``/``TypeError`` whose message names the argument and
what was expected. Checks of *values* (label ranges) run only where
`values_checkable` allows it, so nothing here forces a
host synchronisation on a GPU or breaks under ``jax.jit``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from array_api_compat import size as aac_size

from ._namespace import is_floating, is_integral, values_checkable

BINARY_MODE = "binary"
MULTICLASS_MODE = "multiclass"
MULTILABEL_MODE = "multilabel"
MODES = (BINARY_MODE, MULTICLASS_MODE, MULTILABEL_MODE)
REDUCTIONS = ("mean", "sum", "none")
EMPTY_RULES = ("zero", "exclude")

__all__ = [
    "BINARY_MODE",
    "EMPTY_RULES",
    "MODES",
    "MULTICLASS_MODE",
    "MULTILABEL_MODE",
    "REDUCTIONS",
    "check_choice",
    "check_class_axis",
    "check_classes",
    "check_class_weights",
    "check_ignore_index",
    "check_labels_in_range",
    "check_nonnegative",
    "check_pair",
    "check_targets_in_unit_interval",
]


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """``value`` must be one of ``choices`` (strings)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_ignore_index(ignore_index: Any) -> int | None:
    """``ignore_index`` must be None or a Python/NumPy integer (not bool, not float)."""
    if ignore_index is None:
        return None
    if isinstance(ignore_index, bool) or not hasattr(ignore_index, "__index__"):
        raise TypeError(
            f"ignore_index must be an integer (e.g. 255, -1, -100) or None; "
            f"got {ignore_index!r} of type {type(ignore_index).__name__}"
        )
    return int(ignore_index.__index__())


def check_nonnegative(name: str, value: Any) -> float:
    """A finite, non-negative real number (smooth, eps)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(
        value, "__float__"
    ):
        raise TypeError(f"{name} must be a non-negative number; got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite non-negative number; got {value!r}")
    return v


def check_classes(classes: Any, mode: str) -> tuple[int, ...] | None:
    """``classes`` must be None or a non-empty sequence of distinct non-negative ints."""
    if classes is None:
        return None
    if mode == BINARY_MODE:
        raise ValueError("classes is not supported with mode='binary' (there is one channel)")
    if isinstance(classes, (int, str)) or not hasattr(classes, "__iter__"):
        raise TypeError(
            f"classes must be a sequence of class indices, e.g. [1, 2]; got {classes!r}"
        )
    out = []
    for c in classes:
        if isinstance(c, bool) or not hasattr(c, "__index__"):
            raise TypeError(f"classes must contain integer class indices; got {c!r}")
        out.append(int(c.__index__()))
    if not out:
        raise ValueError("classes must not be empty")
    if any(c < 0 for c in out):
        raise ValueError(f"classes must be non-negative class indices; got {out}")
    return tuple(out)


def check_class_weights(class_weights: Any, mode: str) -> tuple[float, ...] | None:
    """``class_weights`` must be None or a sequence of finite non-negative floats."""
    if class_weights is None:
        return None
    if mode == BINARY_MODE:
        raise ValueError("class_weights are not supported with mode='binary'")
    if hasattr(class_weights, "tolist"):
        class_weights = class_weights.tolist()
    try:
        out = tuple(float(w) for w in class_weights)
    except TypeError as exc:
        raise TypeError(
            f"class_weights must be a sequence of numbers, one per class; got {class_weights!r}"
        ) from exc
    if not out:
        raise ValueError("class_weights must not be empty")
    if any(not math.isfinite(w) or w < 0 for w in out):
        raise ValueError(f"class_weights must be finite and non-negative; got {list(out)}")
    return out


def check_class_axis(class_axis: Any) -> int:
    """``class_axis`` must be an int (1 for channels-first, -1 for channels-last)."""
    if isinstance(class_axis, bool) or not isinstance(class_axis, int):
        raise TypeError(f"class_axis must be an int (1 or -1); got {class_axis!r}")
    return class_axis


def _normalised_axis(axis: int, ndim: int, name: str = "class_axis") -> int:
    if not -ndim <= axis < ndim or axis % ndim == 0:
        raise ValueError(
            f"{name}={axis} is not a valid class axis for y_pred with {ndim} dimensions "
            "(axis 0 is the batch axis)"
        )
    return axis % ndim


def check_pair(xp: Any, y_pred: Any, y_true: Any, mode: str, class_axis: int) -> int:
    """Check dtypes and shapes of a (y_pred, y_true) pair for ``mode``.

    Returns the class axis of ``y_pred`` as a non-negative int (for binary mode, the
    position of the singleton channel axis, or -1 if ``y_pred`` has none).
    """
    if not is_floating(xp, y_pred.dtype):
        raise TypeError(
            f"y_pred must be a floating-point array of logits or probabilities; got dtype "
            f"{y_pred.dtype}"
        )
    if y_pred.ndim < 2:
        raise ValueError(
            f"y_pred must have a batch axis and at least one more axis, e.g. (N, C, H, W); got "
            f"shape {tuple(y_pred.shape)}"
        )
    pshape, tshape = tuple(y_pred.shape), tuple(y_true.shape)
    if tshape[:1] != pshape[:1]:
        raise ValueError(
            f"y_true and y_pred must have the same batch size N; got y_pred {pshape} and "
            f"y_true {tshape}"
        )
    if mode == MULTICLASS_MODE:
        axis = _normalised_axis(class_axis, y_pred.ndim)
        if not is_integral(xp, y_true.dtype):
            raise TypeError(
                f"y_true must hold integer class labels in multiclass mode; got dtype "
                f"{y_true.dtype} (use mode='multilabel' for one-hot or soft targets)"
            )
        spatial = pshape[:axis] + pshape[axis + 1 :]
        with_channel = pshape[:axis] + (1,) + pshape[axis + 1 :]
        if tshape not in (spatial, with_channel):
            raise ValueError(
                f"y_true must have shape {spatial} or {with_channel} (labels) for y_pred of "
                f"shape {pshape} in multiclass mode (class axis {class_axis}); got {tshape}"
            )
        return axis
    if mode == MULTILABEL_MODE:
        axis = _normalised_axis(class_axis, y_pred.ndim)
        if tshape != pshape:
            raise ValueError(
                f"y_true must have the same shape as y_pred, {pshape}, in multilabel mode; got "
                f"{tshape}"
            )
        return axis
    # binary: same shape, or one of them has an extra singleton channel axis.
    if tshape == pshape:
        return -1
    axis = class_axis
    for longer, shorter in ((pshape, tshape), (tshape, pshape)):
        if len(longer) == len(shorter) + 1:
            a = _normalised_axis(axis, len(longer))
            if longer[a] == 1 and longer[:a] + longer[a + 1 :] == shorter:
                return -1
    raise ValueError(
        f"y_true must have the shape of y_pred, {pshape}, or that shape without its singleton "
        f"channel axis, in binary mode; got {tshape}"
    )


def check_labels_in_range(
    xp: Any, labels: Any, num_classes: int, ignore_index: int | None, name: str = "y_true"
) -> bool:
    """Eager arrays only: labels must lie in [0, num_classes) or equal ``ignore_index``.

    Returns True when the check ran and every label lies in [0, num_classes), which lets
    callers skip their own range masking; False when the values were not inspected
    (lazy or accelerator arrays) or some labels equal an out-of-range ``ignore_index``.
    """
    if not values_checkable(labels) or aac_size(labels) == 0:
        return False
    lo, hi = int(xp.min(labels)), int(xp.max(labels))
    if lo >= 0 and hi < num_classes:
        return True
    bad = (labels < 0) | (labels >= num_classes)
    if ignore_index is not None:
        bad = bad & (labels != ignore_index)
    if bool(xp.any(bad)):
        extra = "" if ignore_index is None else f" or equal ignore_index={ignore_index}"
        raise ValueError(
            f"{name} holds labels outside [0, {num_classes}){extra}: found values in "
            f"[{lo}, {hi}]. Pass ignore_index for void pixels (e.g. ignore_index=255)."
        )
    return False


def check_targets_in_unit_interval(
    xp: Any, y_true: Any, ignore_index: int | None, name: str = "y_true"
) -> None:
    """Eager arrays only: binary/multilabel targets lie in [0, 1] or equal ``ignore_index``."""
    if not values_checkable(y_true) or aac_size(y_true) == 0:
        return
    if xp.isdtype(y_true.dtype, "bool"):
        return
    bad = (y_true < 0) | (y_true > 1)
    if ignore_index is not None:
        bad = bad & (y_true != ignore_index)
    if bool(xp.any(bad)):
        extra = "" if ignore_index is None else f" or equal ignore_index={ignore_index}"
        raise ValueError(
            f"{name} must hold 0/1 or soft targets in [0, 1]{extra}; found values in "
            f"[{float(xp.min(y_true))}, {float(xp.max(y_true))}]"
        )
