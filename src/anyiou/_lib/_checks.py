"""Shape and dtype checks of the array arguments of losses and metrics.

Each check raises ``ValueError``/``TypeError`` whose message names the argument and what
was expected. Only shapes and dtypes are read (never values), so every check is free on
lazy and accelerator arrays and works under ``jax.jit``.
"""

from __future__ import annotations

from typing import Any

from ._namespace import is_floating, is_integral
from ._options import (
    BINARY_MODE,
    MULTICLASS_MODE,
    MULTILABEL_MODE,
    check_num_classes,
    check_threshold,
)

__all__ = [
    "check_confmat",
    "check_label_metric_pair",
    "check_mask_metric_pair",
    "check_loss_pair",
    "check_stats_shapes",
    "is_dense_multiclass_target",
]


def _normalised_axis(axis: int, ndim: int, name: str = "class_axis") -> int:
    if not -ndim <= axis < ndim or axis % ndim == 0:
        raise ValueError(
            f"{name}={axis} is not a valid class axis for y_pred with {ndim} dimensions "
            "(axis 0 is the batch axis)"
        )
    return axis % ndim


def _same_but_singleton_channel(a: tuple, b: tuple, axis: int) -> bool:
    """The binary rule: shapes ``a`` and ``b`` are equal, or one of them is the other with
    a singleton channel axis ``axis`` (an axis of the longer shape, not the batch axis).

    An ``axis`` that is not valid for the longer shape raises (see ``_normalised_axis``).
    """
    if a == b:
        return True
    for longer, shorter in ((a, b), (b, a)):
        if len(longer) == len(shorter) + 1 and len(longer) > 1:
            k = _normalised_axis(axis, len(longer))
            return longer[k] == 1 and longer[:k] + longer[k + 1 :] == shorter
    return False


def _check_some_classes(shape: tuple, axis: int, mode: str, name: str, axis_name: Any) -> None:
    """A class axis of size 0 leaves nothing to score (and no softmax): ValueError.
    ``axis_name`` is a string, or the ``class_axis`` option (the message is built only
    when raising: under ``torch.compile(dynamic=True)`` the option may be symbolic)."""
    if shape[axis] == 0:
        if not isinstance(axis_name, str):
            axis_name = f"class_axis={axis_name}"
        expected = ", ".join(map(str, shape[:axis] + ("C",) + shape[axis + 1 :]))
        raise ValueError(
            f"{name} must have at least one class (C >= 1) along its class axis "
            f"({axis_name}) in {mode} mode, shape ({expected}); got {shape}"
        )


def is_dense_multiclass_target(xp: Any, y_pred: Any, y_true: Any, axis: int) -> bool:
    """Whether a multiclass ``y_true`` is a dense (one-hot or soft) target rather than
    labels: the shape decides, ``y_true`` has ``y_pred``'s shape (N, C, \\*S) (class axis
    ``axis``). With C = 1, where labels (N, 1, \\*S) have that shape too, only a floating
    ``y_true`` is dense; integer or bool ``y_true`` stays labels."""
    if tuple(y_true.shape) != tuple(y_pred.shape):
        return False
    return y_pred.shape[axis] != 1 or is_floating(xp, y_true.dtype)


def check_loss_pair(
    xp: Any, y_pred: Any, y_true: Any, mode: str, class_axis: int, *, dense: bool = True
) -> int | None:
    """Check dtypes and shapes of a loss's (y_pred, y_true) pair for ``mode``.

    Returns the class axis of ``y_pred`` as a non-negative int in multiclass and
    multilabel mode, and None in binary mode (where a channel axis, if any, is a
    singleton). Multiclass ``y_true`` holds labels, or with ``dense`` (the overlap
    losses) a one-hot or soft target of ``y_pred``'s shape (`is_dense_multiclass_target`);
    ``dense=False`` (Lovasz) rejects the latter.
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
        _check_some_classes(pshape, axis, mode, "y_pred", class_axis)
        spatial = pshape[:axis] + pshape[axis + 1 :]
        with_channel = pshape[:axis] + (1,) + pshape[axis + 1 :]
        if is_dense_multiclass_target(xp, y_pred, y_true, axis):
            if not (is_integral(xp, y_true.dtype) or is_floating(xp, y_true.dtype)):
                raise TypeError(
                    f"y_true (a one-hot or soft target of y_pred's shape) must hold integer, "
                    f"bool or real floating values in [0, 1] in multiclass mode; got dtype "
                    f"{y_true.dtype}"
                )
            if not dense:
                raise ValueError(
                    f"y_true of y_pred's shape {pshape} is a one-hot or soft target, which "
                    f"LovaszLoss does not take in multiclass mode (its per-pixel errors need "
                    f"one label per pixel); pass integer labels of "
                    f"shape {spatial} or {with_channel} (e.g. the argmax of a one-hot "
                    "target over its class axis)"
                )
            return axis
        if tshape not in (spatial, with_channel):
            # messages are built only when raising (shapes may be symbolic while compiling)
            expected = f"integer labels of shape {spatial} or {with_channel}"
            if dense:
                expected += f", or a one-hot or soft target of y_pred's shape {pshape}"
            raise ValueError(
                f"y_true must be {expected} in multiclass mode (class axis {class_axis}); "
                f"got {tshape}"
            )
        if not is_integral(xp, y_true.dtype):
            raise TypeError(
                f"y_true of shape {tshape} must hold integer class labels in multiclass mode; "
                f"got dtype {y_true.dtype}"
                + (f" (a floating one-hot or soft target must have y_pred's shape {pshape})"
                   if dense else "")
            )
        return axis
    if not (is_integral(xp, y_true.dtype) or is_floating(xp, y_true.dtype)):
        raise TypeError(
            f"y_true must hold integer, bool or real floating 0/1 (or soft) targets in {mode} "
            f"mode; got dtype {y_true.dtype}"
        )
    if mode == MULTILABEL_MODE:
        axis = _normalised_axis(class_axis, y_pred.ndim)
        _check_some_classes(pshape, axis, mode, "y_pred", class_axis)
        if tshape != pshape:
            raise ValueError(
                f"y_true must have the same shape as y_pred, {pshape}, in multilabel mode; got "
                f"{tshape}"
            )
        return axis
    if not _same_but_singleton_channel(pshape, tshape, class_axis):
        raise ValueError(
            f"y_true must have the shape of y_pred, {pshape}, or that shape without its "
            f"singleton channel axis, in binary mode; got {tshape}"
        )
    return None


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
        if not _same_but_singleton_channel(pshape, tshape, 1):
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
        _check_some_classes(pshape, 1, mode, output_name, "axis 1")
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


def check_stats_shapes(tp: Any, fp: Any, fn: Any, tn: Any) -> tuple[int, ...]:
    """``tp, fp, fn, tn`` must share one shape: (N, C) as ``get_stats`` returns, or the
    (N,) and () stats that smp also takes (N images of one class). Returns the shape."""
    shape = tuple(tp.shape)
    for name, x in (("fp", fp), ("fn", fn), ("tn", tn)):
        if tuple(x.shape) != shape:
            raise ValueError(
                f"tp, fp, fn and tn must have one shape (N, C); got tp {shape} and {name} "
                f"{tuple(x.shape)}"
            )
    if len(shape) > 2:
        raise ValueError(
            f"tp, fp, fn and tn must have shape (N, C), (N,) or () (images, classes), as "
            f"returned by get_stats; got {shape}"
        )
    return shape


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
