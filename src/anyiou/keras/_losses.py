"""The five losses as ``keras.losses.Loss`` subclasses.

Each holds one anyiou loss object and calls it in ``call(y_true, y_pred)`` (Keras' order).
Two reductions stack:

* anyiou's, inside ``call``: over classes (and, with ``per_image=False``, the whole batch
  as one problem, smp's default). ``per_image=False`` returns the batch's 0-d loss;
  ``per_image=True`` returns one loss per sample, shape (N,).
* Keras', in ``Loss.__call__``: ``reduction``, ``sample_weight`` and masks act on what
  ``call`` returned: on the (N,) per-sample losses with ``per_image=True``. A 0-d batch
  loss passes any reduction unchanged (``sample_weight`` only scales it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from .. import losses as _core
from .._lib._types import EmptyRule, IgnoreIndex, KerasReduction, LovaszClasses, Mode, WeightType
from ._backend import check_keras_backend

__all__ = ["DiceLoss", "GeneralizedDiceLoss", "JaccardLoss", "LovaszLoss", "TverskyLoss"]

_KERAS_KEYS = ("name", "reduction", "dtype")


class _AnyiouLoss(keras.losses.Loss):
    """A ``keras.losses.Loss`` around one anyiou loss object."""

    criterion: Any

    def __init__(self, criterion: Any, options: dict[str, Any], *, reduction: Any, name: str,
                 dtype: Any) -> None:
        check_keras_backend(type(self).__name__)
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.criterion = criterion
        self._options = options
        self._given_dtype = dtype

    def call(self, y_true: Any, y_pred: Any) -> Any:
        """anyiou's loss of ``(y_pred, y_true)``: 0-d, or (N,) with ``per_image=True``."""
        if self.criterion.mode == "multiclass" and not self._dense_target(y_true, y_pred):
            # Loss.__call__ casts y_true to the loss's float dtype; labels are integers
            y_true = ops.cast(y_true, "int32")
        if not self.criterion.per_image:
            return self.criterion(y_pred, y_true)
        return self._per_sample(y_true, y_pred)

    def _dense_target(self, y_true: Any, y_pred: Any) -> bool:
        """Whether multiclass ``y_true`` is a one-hot or soft target: ``y_pred``'s shape
        with C > 1 classes (Keras has cast it to float, so with C = 1 it stays labels)."""
        shape = tuple(y_pred.shape)
        if tuple(y_true.shape) != shape or len(shape) < 2:
            return False
        axis = self.criterion.class_axis
        return -len(shape) <= axis < len(shape) and shape[axis] != 1

    def _per_sample(self, y_true: Any, y_pred: Any) -> Any:
        """(N,) losses, sample i's as if it were a batch alone (a loop over the static N)."""
        n = y_pred.shape[0]
        if n == 0:
            return ops.zeros((0,), dtype=self.dtype)
        return ops.stack([self.criterion(y_pred[i : i + 1], y_true[i : i + 1]) for i in range(n)])

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction, "dtype": self._given_dtype,
                **self._options}

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({opts})"


class _OverlapKerasLoss(_AnyiouLoss):
    """Per-sample losses from one pass over the batch: (N, C) statistics, then row by row."""

    def _per_sample(self, y_true: Any, y_pred: Any) -> Any:
        from .._lib._namespace import get_namespace

        stats = self.criterion.statistics(y_pred, y_true)
        n = stats[0].shape[0]
        if n == 0:
            return ops.zeros((0,), dtype=self.dtype)
        xp = get_namespace(y_pred=y_pred)
        rows = [
            self.criterion.loss_from_statistics(xp, tuple(s[i : i + 1, ...] for s in stats))
            for i in range(n)
        ]
        return ops.stack(rows)


@keras.saving.register_keras_serializable(package="anyiou")
class JaccardLoss(_OverlapKerasLoss):
    """Soft Jaccard (IoU) loss (`anyiou.JaccardLoss`) as a ``keras.losses.Loss``.

    Parameters
    ----------
    mode : str
        ``"binary"``, ``"multiclass"`` or ``"multilabel"``, as in `anyiou.JaccardLoss`.
    classes : sequence of int, optional
        Channels that enter the average (default: all).
    log_loss : bool, default False
        Return ``-log(score)`` instead of ``1 - score``.
    from_logits : bool, default True
        Apply softmax (multiclass) or sigmoid (binary, multilabel) to ``y_pred`` first.
    smooth : float, default 0.0
        Added to numerator and denominator.
    ignore_index : int or sequence of int, optional
        Target value (or values) of void pixels (255, -1, a class id, ...).
    eps : float, default 1e-7
        Lower bound of the denominator.
    class_weights : sequence of float, optional
        One non-negative weight per class: the mean becomes ``sum(w * l) / sum(w)``.
    per_image : bool, default False
        False: ``call`` returns the batch's loss, 0-d (statistics summed over the batch,
        as in smp). True: each sample's loss, shape (N,), which Keras' ``reduction`` and
        ``sample_weight`` then reduce.
    empty : str, default "zero"
        One of ``"zero"``, ``"exclude"``.
        As in `anyiou.JaccardLoss`.
    class_axis : int, default -1
        Channels-last, as Keras models produce; ``1`` for channels-first.
    smooth_nr : float, optional
        The smoothing of the numerator (default: ``smooth``).
    smooth_dr : float, optional
        The smoothing of the denominator (default: ``smooth``).
    squared_pred : bool, default False
        Sums of squares in the denominator, as in `anyiou.JaccardLoss`.
    reduction : str or None
        Keras' reduction (``"sum_over_batch_size"``, ``"sum"``, ``None``, ...); it acts on
        what ``call`` returns.
    name : str
        Keras' name of the loss.
    dtype : str, optional
        Keras' dtype policy of the loss.

    Notes
    -----
    Multiclass ``y_true`` holds integer labels (N, \\*S) or (N, \\*S, 1), which Keras
    casts to the loss's float dtype and ``call`` casts back to int32, or one-hot or soft
    targets of ``y_pred``'s shape (N, \\*S, C), C > 1 (as for Keras'
    ``CategoricalCrossentropy``; not with ``ignore_index``, and not in `LovaszLoss`).
    No ``sync``: under a Keras distribution the loss sees the global batch. See the
    Keras page of the docs for how the two reductions relate.
    """

    def __init__(
        self,
        mode: Mode,
        classes: Sequence[int] | None = None,
        log_loss: bool = False,
        from_logits: bool = True,
        smooth: float = 0.0,
        ignore_index: IgnoreIndex = None,
        eps: float = 1e-7,
        class_weights: Sequence[float] | None = None,
        *,
        per_image: bool = False,
        empty: EmptyRule = "zero",
        class_axis: int = -1,
        smooth_nr: float | None = None,
        smooth_dr: float | None = None,
        squared_pred: bool = False,
        reduction: KerasReduction | None = "sum_over_batch_size",
        name: str = "jaccard_loss",
        dtype: Any = None,
    ) -> None:
        options = dict(mode=mode, classes=classes, log_loss=log_loss, from_logits=from_logits,
                       smooth=smooth, ignore_index=ignore_index, eps=eps,
                       class_weights=class_weights, per_image=per_image, empty=empty,
                       class_axis=class_axis, smooth_nr=smooth_nr, smooth_dr=smooth_dr,
                       squared_pred=squared_pred)
        super().__init__(_core.JaccardLoss(**options), options, reduction=reduction,
                         name=name, dtype=dtype)


@keras.saving.register_keras_serializable(package="anyiou")
class DiceLoss(_OverlapKerasLoss):
    """Soft Dice loss (`anyiou.DiceLoss`) as a ``keras.losses.Loss``.

    Parameters and notes are those of `anyiou.keras.JaccardLoss` (``name`` defaults to
    ``"dice_loss"``); the formula is `anyiou.DiceLoss`'s.
    """

    def __init__(
        self,
        mode: Mode,
        classes: Sequence[int] | None = None,
        log_loss: bool = False,
        from_logits: bool = True,
        smooth: float = 0.0,
        ignore_index: IgnoreIndex = None,
        eps: float = 1e-7,
        class_weights: Sequence[float] | None = None,
        *,
        per_image: bool = False,
        empty: EmptyRule = "zero",
        class_axis: int = -1,
        smooth_nr: float | None = None,
        smooth_dr: float | None = None,
        squared_pred: bool = False,
        reduction: KerasReduction | None = "sum_over_batch_size",
        name: str = "dice_loss",
        dtype: Any = None,
    ) -> None:
        options = dict(mode=mode, classes=classes, log_loss=log_loss, from_logits=from_logits,
                       smooth=smooth, ignore_index=ignore_index, eps=eps,
                       class_weights=class_weights, per_image=per_image, empty=empty,
                       class_axis=class_axis, smooth_nr=smooth_nr, smooth_dr=smooth_dr,
                       squared_pred=squared_pred)
        super().__init__(_core.DiceLoss(**options), options, reduction=reduction,
                         name=name, dtype=dtype)


@keras.saving.register_keras_serializable(package="anyiou")
class TverskyLoss(_OverlapKerasLoss):
    """Tversky / focal Tversky loss (`anyiou.TverskyLoss`) as a ``keras.losses.Loss``.

    Parameters and notes are those of `anyiou.keras.JaccardLoss` (``name`` defaults to
    ``"tversky_loss"``), with ``alpha``, ``beta`` and ``gamma`` of `anyiou.TverskyLoss`
    after ``eps``: the weight of false positives (float, default 0.5), of false negatives
    (float, default 0.5) and the focal exponent (float, default 1.0).
    """

    def __init__(
        self,
        mode: Mode,
        classes: Sequence[int] | None = None,
        log_loss: bool = False,
        from_logits: bool = True,
        smooth: float = 0.0,
        ignore_index: IgnoreIndex = None,
        eps: float = 1e-7,
        alpha: float = 0.5,
        beta: float = 0.5,
        gamma: float = 1.0,
        class_weights: Sequence[float] | None = None,
        *,
        per_image: bool = False,
        empty: EmptyRule = "zero",
        class_axis: int = -1,
        smooth_nr: float | None = None,
        smooth_dr: float | None = None,
        squared_pred: bool = False,
        reduction: KerasReduction | None = "sum_over_batch_size",
        name: str = "tversky_loss",
        dtype: Any = None,
    ) -> None:
        options = dict(mode=mode, classes=classes, log_loss=log_loss, from_logits=from_logits,
                       smooth=smooth, ignore_index=ignore_index, eps=eps, alpha=alpha,
                       beta=beta, gamma=gamma, class_weights=class_weights,
                       per_image=per_image, empty=empty, class_axis=class_axis,
                       smooth_nr=smooth_nr, smooth_dr=smooth_dr, squared_pred=squared_pred)
        super().__init__(_core.TverskyLoss(**options), options, reduction=reduction,
                         name=name, dtype=dtype)


@keras.saving.register_keras_serializable(package="anyiou")
class GeneralizedDiceLoss(_OverlapKerasLoss):
    """Generalized Dice loss (`anyiou.GeneralizedDiceLoss`) as a ``keras.losses.Loss``.

    Parameters are those of `anyiou.GeneralizedDiceLoss` without ``reduction`` and
    ``sync`` (``class_axis`` -1 by default), then Keras' ``reduction``, ``name``
    (default ``"generalized_dice_loss"``) and ``dtype``; notes and the two reductions as
    in `anyiou.keras.JaccardLoss` (``per_image=True``: one loss per sample, each with
    its own weights).
    """

    def __init__(
        self,
        mode: Mode,
        classes: Sequence[int] | None = None,
        from_logits: bool = True,
        smooth: float = 0.0,
        ignore_index: int | None = None,
        eps: float = 0.0,
        *,
        weight_type: WeightType = "square",
        per_image: bool = False,
        class_axis: int = -1,
        smooth_nr: float | None = None,
        smooth_dr: float | None = None,
        squared_pred: bool = False,
        reduction: KerasReduction | None = "sum_over_batch_size",
        name: str = "generalized_dice_loss",
        dtype: Any = None,
    ) -> None:
        options = dict(mode=mode, classes=classes, from_logits=from_logits, smooth=smooth,
                       ignore_index=ignore_index, eps=eps, weight_type=weight_type,
                       per_image=per_image, class_axis=class_axis, smooth_nr=smooth_nr,
                       smooth_dr=smooth_dr, squared_pred=squared_pred)
        super().__init__(_core.GeneralizedDiceLoss(**options), options, reduction=reduction,
                         name=name, dtype=dtype)


@keras.saving.register_keras_serializable(package="anyiou")
class LovaszLoss(_AnyiouLoss):
    """Lovasz hinge / Lovasz-softmax loss (`anyiou.LovaszLoss`) as a ``keras.losses.Loss``.

    Parameters
    ----------
    mode : str
        ``"binary"``, ``"multiclass"`` or ``"multilabel"``, as in `anyiou.LovaszLoss`.
    per_image : bool, default False
        False: ``call`` returns the batch's loss (0-d). True: each sample's loss, (N,),
        reduced by Keras' ``reduction`` (their mean is anyiou's ``per_image=True`` loss).
    ignore_index : int or sequence of int, optional
        Target value (or values) of void pixels (255, -1, a class id, ...).
    from_logits : bool, default True
        No effect, as in smp 0.6.0: pass logits.
    class_axis : int, default -1
        Channels-last by default.
    classes : {"present", "all"} or sequence of int, default "present"
        Multiclass only: the classes averaged, as in `anyiou.LovaszLoss`.
    class_weights : sequence of float, optional
        Multiclass only: one weight per class multiplying its loss, as in
        `anyiou.LovaszLoss`.
    reduction : str or None
        Keras' reduction (``"sum_over_batch_size"``, ``"sum"``, ``None``, ...); it acts on
        what ``call`` returns.
    name : str
        Keras' name of the loss.
    dtype : str, optional
        Keras' dtype policy of the loss.
    """

    def __init__(
        self,
        mode: Mode,
        per_image: bool = False,
        ignore_index: IgnoreIndex = None,
        from_logits: bool = True,
        *,
        class_axis: int = -1,
        classes: LovaszClasses | Sequence[int] = "present",
        class_weights: Sequence[float] | None = None,
        reduction: KerasReduction | None = "sum_over_batch_size",
        name: str = "lovasz_loss",
        dtype: Any = None,
    ) -> None:
        options = dict(mode=mode, per_image=per_image, ignore_index=ignore_index,
                       from_logits=from_logits, class_axis=class_axis, classes=classes,
                       class_weights=class_weights)
        super().__init__(_core.LovaszLoss(**options), options, reduction=reduction,
                         name=name, dtype=dtype)
