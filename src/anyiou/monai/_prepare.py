"""The common front of MONAI's overlap losses: option checks, the activation, the
target's form (labels or dense), the ignore mask, the background channel.

The steps and their order follow MONAI 1.6.1's ``DiceLoss.forward``: activation
(``sigmoid``, ``softmax`` over the channels, ``other_act``), ``to_onehot_y`` (here:
labels routed to `label_statistics`), ``include_background=False`` (the first channel
dropped), the ``ignore_index`` mask, then the statistics, summed over the batch too
with ``batch=True`` (and over the workers with anyiou's ``sync``). A single channel
turns ``softmax``, ``to_onehot_y`` and ``include_background=False`` off with MONAI's
warnings.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

from anyiou._lib import _options, kernels
from anyiou._lib._namespace import device_of, get_namespace
from anyiou._lib._values import ignore_mask
from anyiou.losses._pooling import batch_sums

from ._statistics import ClassStats, dense_statistics, label_statistics

__all__ = ["LOSS_REDUCTIONS", "ShapeMismatchError", "check_activation", "check_reduction",
           "check_sync", "loss_statistics"]

#: MONAI's ``LossReduction`` values.
LOSS_REDUCTIONS = ("none", "mean", "sum")


class ShapeMismatchError(ValueError, AssertionError):
    """The target's shape does not match the input's (after ``to_onehot_y``). MONAI
    raises ``AssertionError`` here, anyiou ``ValueError``: this is both."""


def check_reduction(reduction: Any, allowed: tuple[str, ...] = LOSS_REDUCTIONS) -> str:
    """The reduction as a plain string (MONAI's enums are ``str`` subclasses)."""
    value = getattr(reduction, "value", reduction)
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"reduction must be one of {list(allowed)}, got {reduction!r}")
    return value


def check_activation(sigmoid: bool, softmax: bool, other_act: Callable | None) -> None:
    """MONAI's checks: ``other_act`` callable, at most one activation."""
    if other_act is not None and not callable(other_act):
        raise TypeError(
            f"other_act must be None or callable but is {type(other_act).__name__}."
        )
    if int(bool(sigmoid)) + int(bool(softmax)) + int(other_act is not None) > 1:
        raise ValueError(
            "Incompatible values: more than 1 of [sigmoid=True, softmax=True, "
            "other_act is not None]."
        )


def check_sync(sync: Any, batch: Any) -> Any:
    """``sync``: None or a callable (``TypeError``), and only with ``batch=True``
    (``ValueError``), as the core losses refuse it with ``per_image=True``."""
    _options.check_sync(sync)
    if sync is not None and not batch:
        raise ValueError(
            "sync sums the batch's statistics over workers; it needs batch=True "
            "(per-image losses are not summed over the batch)"
        )
    return sync


def _warn_single(option: str) -> None:
    warnings.warn(f"single channel prediction, `{option}=True` ignored.", stacklevel=4)


def dense_ignore_mask(xp: Any, t: Any, ignore_index: int, dtype: Any) -> Any:
    """MONAI's ``create_ignore_mask`` of a target ``t`` (N, C, P), a (N, 1, P) factor in
    ``dtype``: labels (C = 1) are kept where they differ from ``ignore_index``; for C > 1
    a class index keeps ``1 - t[:, ignore_index]``, any other value the pixels whose
    target is not 0 in every channel."""
    c = t.shape[1]
    if c == 1:  # by value: never converted into t's dtype (uint8 and 300: none equal)
        ignored = ignore_mask(xp, t, ignore_index)
        return xp.ones_like(t, dtype=dtype) if ignored is None else xp.astype(~ignored, dtype)
    t = xp.astype(t, dtype)
    if 0 <= ignore_index < c:
        return 1 - t[:, ignore_index:ignore_index + 1, :]
    return xp.astype(xp.sum(t, axis=1, keepdims=True) > 0, dtype)


def loss_statistics(
    loss: Any, input: Any, target: Any, *, squared: bool = False
) -> tuple[Any, ClassStats]:
    """``(xp, stats)``: MONAI's ``(tp, fp, fn)`` of one call of ``loss`` (its options
    read from the attributes), each (N, C') or, with ``batch``, (C'); C' drops the
    background with ``include_background=False``."""
    xp = get_namespace(input=input, target=target)
    check_sync(loss.sync, loss.batch)  # the attributes may have been set after construction
    if input.ndim < 2:
        raise ValueError(f"input must have the shape (N, C, *S), got {tuple(input.shape)}")
    n, c = input.shape[0], input.shape[1]
    ignore_index = loss.ignore_index
    x = input
    if loss.sigmoid:
        x = kernels.sigmoid(xp, x)
    softmax = bool(loss.softmax)
    if softmax and c == 1:
        _warn_single("softmax")
        softmax = False
    onehot = bool(loss.to_onehot_y)
    if onehot and c == 1:
        _warn_single("to_onehot_y")
        onehot = False
    drop_background = not loss.include_background
    if drop_background and c == 1:
        _warn_single("include_background")
        drop_background = False
    pixels = math.prod(input.shape[2:])
    if onehot:
        if target.ndim != input.ndim or target.shape[0] != n or target.shape[1] != 1 or tuple(
                target.shape[2:]) != tuple(input.shape[2:]):
            raise ShapeMismatchError(
                f"with to_onehot_y=True the target must hold labels of shape (N, 1, *S) = "
                f"{(n, 1, *input.shape[2:])}, got {tuple(target.shape)}"
            )
        fused = softmax  # the softmax is taken inside (other_act is None then)
        if loss.other_act is not None:
            x = loss.other_act(x)
        stats = label_statistics(xp, x, target, ignore_index, softmax=fused,
                                 squared=squared, soft_label=loss.soft_label)
        if drop_background:
            stats = ClassStats(*(s[:, 1:] for s in stats))
    else:
        if softmax:
            x = kernels.softmax(xp, x, 1)
        if loss.other_act is not None:
            x = loss.other_act(x)
        if tuple(target.shape) != tuple(x.shape):
            raise ShapeMismatchError(
                f"ground truth has different shape ({tuple(target.shape)}) from input "
                f"({tuple(x.shape)})"
            )
        p = xp.reshape(x, (n, c, pixels))
        t = xp.reshape(target, (n, c, pixels))
        if not xp.isdtype(p.dtype, "real floating"):
            p = xp.astype(p, xp.float32)
        mask = None if ignore_index is None else dense_ignore_mask(xp, t, ignore_index, p.dtype)
        if drop_background:
            p, t = p[:, 1:, :], t[:, 1:, :]
        stats = dense_statistics(xp, p, t, mask, squared=squared, soft_label=loss.soft_label)
    if loss.batch:  # with sync: over the workers too (the global batch)
        stats = ClassStats(*batch_sums(xp, stats, sync=loss.sync))
    return xp, stats


def as_weight(xp: Any, weight: Any, like: Any) -> Any:
    """``weight`` (a tuple of floats) as a 1-D array next to ``like``."""
    return xp.asarray(weight, dtype=like.dtype, device=device_of(like))
