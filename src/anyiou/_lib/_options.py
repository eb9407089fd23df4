"""Option constants and the checks of scalar options, run when a loss or metric is built
or called.

Each check raises ``ValueError``/``TypeError`` whose message names the argument and what
was expected, and returns the normalised value. Nothing here looks at array data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal, TypeVar

from ._types import (
    Average,
    EmptyRule,
    IgnoreValues,
    LossReduction,
    Mode,
    ScoreReduction,
    ZeroDivision,
)

__all__ = [
    "AVERAGES",
    "BINARY_MODE",
    "EMPTY_RULES",
    "LOSS_REDUCTIONS",
    "MODES",
    "MULTICLASS_MODE",
    "MULTILABEL_MODE",
    "SCORE_REDUCTIONS",
    "check_choice",
    "check_sync",
    "check_class_axis",
    "check_class_weights",
    "check_class_weights_length",
    "check_classes",
    "check_flag",
    "check_ignore_index",
    "check_ignore_value",
    "ignore_values",
    "ignored_classes",
    "check_nonnegative",
    "check_num_classes",
    "check_optional_choice",
    "check_smoothing",
    "check_threshold",
    "check_zero_division",
]

BINARY_MODE: Final = "binary"
MULTICLASS_MODE: Final = "multiclass"
MULTILABEL_MODE: Final = "multilabel"
#: ``mode`` of every loss and metric.
MODES: tuple[Mode, ...] = (BINARY_MODE, MULTICLASS_MODE, MULTILABEL_MODE)
#: ``reduction`` of the losses (``JaccardLoss``, ``DiceLoss``, ``TverskyLoss``).
LOSS_REDUCTIONS: tuple[LossReduction, ...] = ("mean", "sum", "none")
#: ``empty`` of the losses: classes without target pixels.
EMPTY_RULES: tuple[EmptyRule, ...] = ("zero", "exclude", "keep")
#: ``reduction`` of the smp-style score functions (``iou_score``, ``f1_score``, ...).
SCORE_REDUCTIONS: tuple[ScoreReduction, ...] = (
    "micro",
    "macro",
    "weighted",
    "micro-imagewise",
    "macro-imagewise",
    "weighted-imagewise",
    "none",
)
#: ``average`` of the confusion-matrix metrics (``jaccard_index``, ``MeanIoU``, ...).
AVERAGES: tuple[Average, ...] = ("micro", "macro", "weighted", "none")


#: The option type a choice check returns (one of the ``Literal`` aliases of ``_types``).
ChoiceT = TypeVar("ChoiceT", bound=str)

#: ``ignore_index`` must fit in int64 (the widest label dtype compared with it).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _is_bool(value: Any) -> bool:
    """A Python bool, or a bool scalar of an array library (``numpy.bool_``, a 0-d bool
    array)."""
    return isinstance(value, bool) or "bool" in str(getattr(value, "dtype", ""))


def _array_ndim(value: Any) -> int:
    """The number of dimensions of an array-like ``value``; 0 for plain scalars."""
    ndim = getattr(value, "ndim", 0)
    return ndim if isinstance(ndim, int) else 0


def _as_int(name: str, value: Any, expected: str) -> int:
    """A Python/NumPy integer scalar (or 0-d integer array) as an int; ``TypeError`` naming
    ``name`` for anything else (bools, floats, strings, arrays with dimensions)."""
    if _is_bool(value) or _array_ndim(value) != 0 or not hasattr(value, "__index__"):
        raise TypeError(f"{name} must be {expected}; got {value!r} of type "
                        f"{type(value).__name__}")
    try:
        return int(value.__index__())
    except (TypeError, ValueError) as exc:  # e.g. a 0-d float array
        raise TypeError(f"{name} must be {expected}; got {value!r}") from exc


def check_flag(name: str, value: Any) -> bool:
    """A real bool (Python or NumPy bool); ``TypeError`` naming ``name`` otherwise (a
    string such as ``"no"`` would be truthy)."""
    if not _is_bool(value) or _array_ndim(value) != 0:
        raise TypeError(f"{name} must be True or False; got {value!r} of type "
                        f"{type(value).__name__}")
    return bool(value)


def check_sync(sync: Any) -> Any:
    """``sync``: None or a callable (a sum over workers); ``TypeError`` otherwise."""
    if sync is not None and not callable(sync):
        raise TypeError(
            f"sync must be a callable that sums an array over workers; got {sync!r}"
        )
    return sync


def check_choice(name: str, value: Any, choices: Sequence[ChoiceT]) -> ChoiceT:
    """``value`` must be one of ``choices`` (strings)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_optional_choice(
    name: str, value: Any, choices: Sequence[ChoiceT]
) -> ChoiceT | Literal["none"]:
    """Like :func:`check_choice`, with ``None`` meaning ``"none"``."""
    return "none" if value is None else check_choice(name, value, choices)


def check_ignore_value(ignore_index: Any, name: str = "ignore_index") -> int | None:
    """One ignore value: None or a Python/NumPy integer (not bool, not float, not an
    array with dimensions) within the int64 range. A value outside a label dtype's range
    is legal: it matches no label of that dtype (see ``_values.ignore_mask``)."""
    if ignore_index is None:
        return None
    return _ignore_int(name, ignore_index, "an integer (e.g. 255, -1, -100) or None")


def _ignore_int(name: str, value: Any, expected: str) -> int:
    value = _as_int(name, value, expected)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(
            f"{name} must fit in a 64-bit integer [-2**63, 2**63 - 1] (no label "
            f"dtype holds more); got {value}"
        )
    return value


def check_ignore_index(ignore_index: Any, name: str = "ignore_index") -> IgnoreValues:
    """``ignore_index``: None, one integer (see `check_ignore_value`), or a sequence of
    integers, any of which marks a void pixel.

    Normalised to None, an int, or a sorted tuple of at least two distinct ints (a
    sequence of one value gives that int), so equal options compare equal. An empty
    sequence is a ``ValueError`` (pass None to ignore nothing); a string, a set, or a
    member that is not an integer (a bool, a float, None) a ``TypeError``; ``name``
    is the option the messages name.
    """
    if ignore_index is None:
        return None
    expected = "an integer (e.g. 255, -1), a sequence of integers (e.g. (255, -1)) or None"
    ndim = _array_ndim(ignore_index)
    if isinstance(ignore_index, (str, bytes)) or not (
        isinstance(ignore_index, Sequence) or ndim >= 1
    ):
        return _ignore_int(name, ignore_index, expected)
    if ndim > 1:
        raise TypeError(f"{name} must be {expected}; got an array of {ndim} dimensions")
    values = sorted({_ignore_int(name, v, expected) for v in ignore_index})
    if not values:
        raise ValueError(
            f"{name} must hold at least one value; got an empty sequence (pass "
            "ignore_index=None to ignore nothing)"
        )
    return values[0] if len(values) == 1 else tuple(values)


def ignore_values(ignore_index: IgnoreValues) -> tuple[int, ...]:
    """The values of a checked ``ignore_index`` as a tuple (empty for None)."""
    if ignore_index is None:
        return ()
    return ignore_index if isinstance(ignore_index, tuple) else (ignore_index,)


def ignored_classes(
    ignore_index: IgnoreValues, num_classes: int
) -> tuple[int, ...]:
    """The values of a checked ``ignore_index`` that are class ids in [0, num_classes)."""
    return tuple(v for v in ignore_values(ignore_index) if 0 <= v < num_classes)


def check_nonnegative(name: str, value: Any) -> float:
    """A finite, non-negative real number (smooth, eps, alpha, beta, gamma); a 0-d array
    counts as a number, an array with dimensions does not."""
    if (
        _is_bool(value)
        or isinstance(value, (str, bytes))
        or _array_ndim(value) != 0
        or not hasattr(value, "__float__")
    ):
        raise TypeError(f"{name} must be a non-negative number; got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite non-negative number; got {value!r}")
    return v


def check_smoothing(
    smooth: float, smooth_nr: Any, smooth_dr: Any
) -> tuple[float, float]:
    """``(smooth_nr, smooth_dr)``, each a non-negative number or None (``smooth``)."""
    nr = smooth if smooth_nr is None else check_nonnegative("smooth_nr", smooth_nr)
    dr = smooth if smooth_dr is None else check_nonnegative("smooth_dr", smooth_dr)
    return nr, dr


def check_classes(classes: Any, mode: str) -> tuple[int, ...] | None:
    """``classes`` must be None or a non-empty sequence of non-negative ints."""
    if classes is None:
        return None
    if mode == BINARY_MODE:
        raise ValueError("classes is not supported with mode='binary' (there is one channel)")
    if (
        isinstance(classes, (str, bytes, bytearray, Mapping))
        or not hasattr(classes, "__iter__")
        or (hasattr(classes, "ndim") and _array_ndim(classes) != 1)  # 0-d or 2-d arrays
    ):
        raise TypeError(
            f"classes must be a sequence of class indices, e.g. [1, 2]; got {classes!r}"
        )
    out = [_as_int("classes", c, "a sequence of integer class indices") for c in classes]
    if not out:
        raise ValueError("classes must not be empty")
    if any(c < 0 for c in out):
        raise ValueError(f"classes must be non-negative class indices; got {out}")
    repeated = sorted({c for c in out if out.count(c) > 1})
    if repeated:
        raise ValueError(f"classes must be distinct class indices; got {out} (repeated: "
                         f"{repeated})")
    return tuple(out)


def check_class_weights(class_weights: Any, mode: str) -> tuple[float, ...] | None:
    """``class_weights`` must be None or a sequence of finite non-negative floats."""
    if class_weights is None:
        return None
    if mode == BINARY_MODE:
        raise ValueError("class_weights are not supported with mode='binary'")
    if hasattr(class_weights, "tolist"):
        class_weights = class_weights.tolist()
    if isinstance(class_weights, (str, bytes, Mapping)):
        raise TypeError(
            f"class_weights must be a sequence of numbers, one per class; got {class_weights!r}"
        )
    try:
        out = tuple(float(w) for w in class_weights)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"class_weights must be a sequence of numbers, one per class; got {class_weights!r}"
        ) from exc
    if not out:
        raise ValueError("class_weights must not be empty")
    if any(not math.isfinite(w) or w < 0 for w in out):
        raise ValueError(f"class_weights must be finite and non-negative; got {list(out)}")
    return out


def check_class_weights_length(weights: Sequence[float], num_classes: int) -> Sequence[float]:
    """Checked ``class_weights`` (see :func:`check_class_weights`) must have length C and
    not all be zero."""
    if len(weights) != num_classes:
        raise ValueError(
            f"class_weights must have one weight per class ({num_classes}); got {len(weights)}"
        )
    if sum(weights) == 0:
        raise ValueError("class_weights must not all be zero")
    return weights


def check_class_axis(class_axis: Any) -> int:
    """``class_axis`` must be an int (1 for channels-first, -1 for channels-last)."""
    if isinstance(class_axis, bool) or not isinstance(class_axis, int):
        raise TypeError(f"class_axis must be an int (1 or -1); got {class_axis!r}")
    return class_axis


def check_num_classes(num_classes: Any, name: str = "num_classes") -> int:
    """``num_classes`` must be a Python/NumPy integer >= 1."""
    value = _as_int(name, num_classes, "a positive integer")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value}")
    return value


def check_zero_division(zero_division: Any, *, allow_warn: bool = True) -> ZeroDivision:
    """``zero_division`` must be a real number (0, 1, nan, ...), or ``"warn"`` where allowed."""
    if allow_warn and isinstance(zero_division, str):
        if zero_division == "warn":
            return zero_division
        raise ValueError(
            f"zero_division must be a number (0, 1, nan) or 'warn'; got {zero_division!r}"
        )
    if (
        _is_bool(zero_division)
        or isinstance(zero_division, (str, bytes))
        or not hasattr(zero_division, "__float__")
        or getattr(zero_division, "ndim", 0) != 0
    ):
        expected = "a number (0, 1, nan) or 'warn'" if allow_warn else "a number (0, 1 or nan)"
        raise TypeError(f"zero_division must be {expected}; got {zero_division!r}")
    return float(zero_division)


def _threshold_value(value: Any, original: Any) -> float:
    if _is_bool(value) or isinstance(value, (str, bytes)) or not hasattr(value, "__float__"):
        raise TypeError(
            f"threshold must be a number or a sequence of numbers, one per class; got "
            f"{original!r}"
        )
    out = float(value)
    if math.isnan(out):
        raise ValueError(f"threshold must be a number, not NaN; got {original!r}")
    return out


def check_threshold(threshold: Any, num_channels: int | None = None) -> float | tuple[float, ...]:
    """A binarisation threshold: one number, or one number per class (``num_channels``).

    Returns a float or a tuple of floats (hashable: usable as a static ``jit`` argument
    and comparable with ``==``).
    """
    if isinstance(threshold, (int, float)) or getattr(threshold, "ndim", None) == 0:
        return _threshold_value(threshold, threshold)
    if isinstance(threshold, (str, bytes, Mapping)) or not hasattr(threshold, "__iter__"):
        raise TypeError(
            f"threshold must be a number or a sequence of numbers, one per class; got "
            f"{threshold!r}"
        )
    values = threshold.tolist() if hasattr(threshold, "tolist") else list(threshold)
    out = tuple(_threshold_value(v, threshold) for v in values)
    if num_channels is not None and len(out) != num_channels:
        raise ValueError(
            f"threshold must have one value per class ({num_channels}); got {len(out)}"
        )
    return out


def refuse_torchscript(obj: Any) -> RuntimeError:
    """The error ``torch.jit.script`` raises (through ``__prepare_scriptable__``) for a
    loss: TorchScript cannot compile array-API Python code."""
    return RuntimeError(
        f"{type(obj).__name__} cannot be compiled by torch.jit.script (TorchScript does not "
        "support the array-API Python code it runs). Use torch.compile, or torch.jit.trace "
        "for a fixed input shape."
    )
