"""Input validation shared by every loss and metric.

Each check raises ``ValueError``/``TypeError`` whose message names the argument and
what was expected. Checks of *values* (label ranges) run only where
`values_checkable` allows it, so nothing here forces a
host synchronisation on a GPU or breaks under ``jax.jit``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from array_api_compat import size as aac_size

from ._dispatch import value_range
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
    if not (is_integral(xp, y_true.dtype) or is_floating(xp, y_true.dtype)):
        raise TypeError(
            f"y_true must hold integer, bool or real floating 0/1 (or soft) targets in {mode} "
            f"mode; got dtype {y_true.dtype}"
        )
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
    lo, hi = (int(v) for v in value_range(xp, labels))
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
    if not values_checkable(y_true) or aac_size(y_true) == 0:
        return
    if xp.isdtype(y_true.dtype, "bool"):
        return
    lo, hi = (float(v) for v in value_range(xp, y_true))
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


# -- metric arguments (anyiou.metrics) --------------------------------------------------

#: ``reduction`` of the smp-style score functions (``iou_score``, ``f1_score``, ...).
SCORE_REDUCTIONS = (
    "micro",
    "macro",
    "weighted",
    "micro-imagewise",
    "macro-imagewise",
    "weighted-imagewise",
    "none",
)
#: ``average`` of the confusion-matrix metrics (``jaccard_index``, ``MeanIoU``, ...).
AVERAGES = ("micro", "macro", "weighted", "none")

__all__ += [
    "AVERAGES",
    "SCORE_REDUCTIONS",
    "check_class_weights_length",
    "check_confmat",
    "check_label_metric_pair",
    "check_mask_metric_pair",
    "check_num_classes",
    "check_optional_choice",
    "check_stats_shapes",
    "check_threshold",
    "check_zero_division",
    "check_zero_one",
    "labels_out_of_range",
]


def check_optional_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """Like :func:`check_choice`, with ``None`` meaning ``"none"``."""
    return "none" if value is None else check_choice(name, value, choices)


def check_num_classes(num_classes: Any, name: str = "num_classes") -> int:
    """``num_classes`` must be a Python/NumPy integer >= 1."""
    if isinstance(num_classes, bool) or not hasattr(num_classes, "__index__"):
        raise TypeError(f"{name} must be a positive integer; got {num_classes!r}")
    value = int(num_classes.__index__())
    if value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value}")
    return value


def check_zero_division(zero_division: Any, *, allow_warn: bool = True) -> float | str:
    """``zero_division`` must be a real number (0, 1, nan, ...), or ``"warn"`` where allowed."""
    if allow_warn and isinstance(zero_division, str):
        if zero_division == "warn":
            return zero_division
        raise ValueError(
            f"zero_division must be a number (0, 1, nan) or 'warn'; got {zero_division!r}"
        )
    if (
        isinstance(zero_division, (bool, str))
        or not hasattr(zero_division, "__float__")
        or getattr(zero_division, "ndim", 0) != 0
    ):
        expected = "a number (0, 1, nan) or 'warn'" if allow_warn else "a number (0, 1 or nan)"
        raise TypeError(f"zero_division must be {expected}; got {zero_division!r}")
    return float(zero_division)


def _threshold_value(value: Any, original: Any) -> float:
    if isinstance(value, (bool, str, bytes)) or not hasattr(value, "__float__"):
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


def check_stats_shapes(tp: Any, fp: Any, fn: Any, tn: Any) -> None:
    """``tp, fp, fn, tn`` (``get_stats``' output) must share one (N, C) shape."""
    shape = tuple(tp.shape)
    for name, x in (("fp", fp), ("fn", fn), ("tn", tn)):
        if tuple(x.shape) != shape:
            raise ValueError(
                f"tp, fp, fn and tn must have one shape (N, C); got tp {shape} and {name} "
                f"{tuple(x.shape)}"
            )
    if len(shape) != 2:
        raise ValueError(
            f"tp, fp, fn and tn must have shape (N, C) (images, classes), as returned by "
            f"get_stats; got {shape}"
        )


def check_confmat(xp: Any, confmat: Any) -> bool:
    """Whether ``confmat`` is multilabel (C, 2, 2) rather than multiclass (C, C)."""
    shape = tuple(confmat.shape)
    if not is_integral(xp, confmat.dtype) and not xp.isdtype(confmat.dtype, "real floating"):
        raise TypeError(f"confmat must hold counts; got dtype {confmat.dtype}")
    if len(shape) == 3 and shape[1:] == (2, 2):
        return True
    if len(shape) == 2 and shape[0] == shape[1] and shape[0] >= 1:
        return False
    raise ValueError(
        f"confmat must be a multiclass confusion matrix (C, C) or per-class binary matrices "
        f"(C, 2, 2); got shape {shape}"
    )


def check_label_metric_pair(
    xp: Any,
    preds: Any,
    target: Any,
    num_classes: int | None,
    preds_name: str = "preds",
    target_name: str = "target",
) -> tuple[int, bool]:
    """Shapes and dtypes of a multiclass metric pair.

    ``target`` holds integer labels (N, *S); ``preds`` integer labels of that shape, or
    scores (N, C, *S) of any dtype. Returns ``(C, preds_are_scores)``.
    """
    tshape, pshape = tuple(target.shape), tuple(preds.shape)
    if not is_integral(xp, target.dtype):
        raise TypeError(
            f"{target_name} must hold integer class labels; got dtype {target.dtype}"
        )
    if target.ndim < 1:
        raise ValueError(f"{target_name} must have a batch axis, shape (N, *S); got shape ()")
    if preds.ndim == target.ndim + 1:
        c = pshape[1]
        if pshape[:1] + pshape[2:] != tshape:
            raise ValueError(
                f"{preds_name} scores must have shape (N, C, *S) with {target_name} of shape "
                f"(N, *S) = {tshape}; got {pshape}"
            )
        if num_classes is not None and num_classes != c:
            raise ValueError(
                f"{preds_name} has {c} score channels (axis 1) but num_classes={num_classes}"
            )
        check_num_classes(c, name=f"the number of {preds_name} score channels (axis 1)")
        return c, True
    if pshape == tshape:
        if not is_integral(xp, preds.dtype):
            raise TypeError(
                f"{preds_name} of {target_name}'s shape {tshape} must hold integer class "
                f"labels; got dtype {preds.dtype} (pass scores of shape (N, C, *S) to take "
                "their argmax)"
            )
        if num_classes is None:
            raise ValueError(
                f"num_classes is required when {preds_name} holds labels (it cannot be "
                "inferred from the data without a host synchronisation)"
            )
        return check_num_classes(num_classes), False
    raise ValueError(
        f"{preds_name} must have {target_name}'s shape {tshape} (labels) or one more axis "
        f"at position 1 (scores, (N, C, *S)); got {pshape}"
    )


def check_mask_metric_pair(
    xp: Any,
    output: Any,
    target: Any,
    mode: str,
    num_classes: int | None,
    threshold: Any,
    output_name: str = "output",
    target_name: str = "target",
) -> tuple[int, float | tuple[float, ...] | None]:
    """Shapes, dtypes and threshold of a binary/multilabel metric pair.

    Binary mode accepts (N, *S), or (N, 1, *S) on either side, and gives C = 1;
    multilabel needs equal shapes (N, C, *S). Returns ``(C, threshold)`` with the
    threshold checked by :func:`check_threshold` (None stays None).
    """
    pshape, tshape = tuple(output.shape), tuple(target.shape)
    if output.ndim < 2 and mode != BINARY_MODE:
        raise ValueError(
            f"{output_name} must have shape (N, C, *S) in {mode} mode; got {pshape}"
        )
    if output.ndim < 1:
        raise ValueError(f"{output_name} must have a batch axis; got shape ()")
    if mode == BINARY_MODE:
        if pshape != tshape:
            squeezed_p = pshape[:1] + pshape[2:] if len(pshape) > 1 and pshape[1] == 1 else None
            squeezed_t = tshape[:1] + tshape[2:] if len(tshape) > 1 and tshape[1] == 1 else None
            if squeezed_p != tshape and squeezed_t != pshape:
                raise ValueError(
                    f"{target_name} must have {output_name}'s shape {pshape} (or that shape "
                    f"with/without a singleton channel axis 1) in binary mode; got {tshape}"
                )
        c = 1
    else:
        if pshape != tshape:
            raise ValueError(
                f"{target_name} must have {output_name}'s shape {pshape} in {mode} mode; got "
                f"{tshape}"
            )
        c = pshape[1]
    if num_classes is not None:
        num_classes = check_num_classes(num_classes)
        if num_classes != c:
            raise ValueError(
                f"num_classes={num_classes} does not match the {c} channel(s) of "
                f"{output_name} (shape {pshape}) in {mode} mode"
            )
    if not (is_integral(xp, target.dtype) or is_floating(xp, target.dtype)):
        raise TypeError(f"{target_name} must hold integer, bool or float 0/1 values; got "
                        f"dtype {target.dtype}")
    out_float = is_floating(xp, output.dtype)
    if out_float and threshold is None:
        raise ValueError(
            f"{output_name} holds floating-point values: pass threshold=... (e.g. 0.5; "
            f"positive where {output_name} >= threshold), or integer 0/1 predictions"
        )
    if not (out_float or is_integral(xp, output.dtype)):
        raise TypeError(f"{output_name} must be an integer, bool or float array; got dtype "
                        f"{output.dtype}")
    return c, None if threshold is None else check_threshold(threshold, c)


def check_zero_one(
    xp: Any, x: Any, counted: Any, name: str, ignore_index: int | None
) -> None:
    """Eager arrays only: values of ``x`` are 0 or 1 wherever ``counted`` (None: all)."""
    if not values_checkable(x) or aac_size(x) == 0 or xp.isdtype(x.dtype, "bool"):
        return
    bad = (x != 0) & (x != 1)
    if counted is not None:
        bad = bad & counted
    if bool(xp.any(bad)):
        extra = "" if ignore_index is None else f" (or equal ignore_index={ignore_index})"
        raise ValueError(
            f"{name} must hold 0/1 values{extra} without a threshold; found values in "
            f"[{float(xp.min(x))}, {float(xp.max(x))}]. Pass threshold=... for "
            "probabilities, or ignore_index for void pixels."
        )
