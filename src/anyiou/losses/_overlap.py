"""The shared machinery of the overlap losses (Jaccard, Dice, Tversky).

Each concrete loss is a thin subclass that fixes ``alpha``/``beta`` (the weights of
false positives and false negatives in the Tversky index) and documents itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .._lib import kernels
from .._lib._namespace import get_namespace
from .._lib._numerics import clip_below
from .._lib._options import (
    EMPTY_RULES,
    LOSS_REDUCTIONS,
    MODES,
    check_choice,
    check_class_axis,
    check_class_weights,
    check_classes,
    check_flag,
    check_ignore_index,
    check_nonnegative,
    check_smoothing,
    check_sync,
)
from .._lib._types import ArrayT, EmptyRule, IgnoreIndex, IgnoreValues, LossReduction, Mode
from ._class_losses import reduce_class_losses, tversky_score
from ._loss_object import LossObject
from ._pooling import pooled_statistics, statistics_of
from ._statistics import OverlapStats

__all__ = ["OverlapLoss"]


class OverlapLoss(LossObject):
    """Base class: statistics -> Tversky score -> per-class loss -> reduction.

    Not meant to be instantiated directly; use `JaccardLoss`,
    `DiceLoss` or `TverskyLoss`.
    """

    alpha: float = 1.0
    beta: float = 1.0
    gamma: float = 1.0
    mode: Mode
    classes: tuple[int, ...] | None
    log_loss: bool
    from_logits: bool
    smooth: float
    ignore_index: IgnoreValues
    eps: float
    class_weights: tuple[float, ...] | None
    per_image: bool
    reduction: LossReduction
    empty: EmptyRule
    class_axis: int
    sync: Callable[[Any], Any] | None
    smooth_nr: float
    smooth_dr: float
    squared_pred: bool

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
        reduction: LossReduction = "mean",
        empty: EmptyRule = "zero",
        class_axis: int = 1,
        sync: Callable[[Any], Any] | None = None,
        smooth_nr: float | None = None,
        smooth_dr: float | None = None,
        squared_pred: bool = False,
    ) -> None:
        """smp's positional arguments, then the keyword-only options beyond smp."""
        self.mode = check_choice("mode", mode, MODES)
        self.classes = check_classes(classes, mode)
        self.log_loss = check_flag("log_loss", log_loss)
        self.from_logits = check_flag("from_logits", from_logits)
        self.smooth = check_nonnegative("smooth", smooth)
        self.ignore_index = check_ignore_index(ignore_index)
        self.eps = check_nonnegative("eps", eps)
        self.class_weights = check_class_weights(class_weights, mode)
        self.per_image = check_flag("per_image", per_image)
        self.reduction = check_choice("reduction", reduction, LOSS_REDUCTIONS)
        self.empty = check_choice("empty", empty, EMPTY_RULES)
        self.class_axis = check_class_axis(class_axis)
        check_sync(sync)
        if sync is not None and per_image:
            raise ValueError("sync sums batch statistics over workers; it needs per_image=False")
        self.sync = sync
        self.smooth_nr, self.smooth_dr = check_smoothing(self.smooth, smooth_nr, smooth_dr)
        self.squared_pred = check_flag("squared_pred", squared_pred)

    # -- the pipeline -----------------------------------------------------------------
    def statistics(self, y_pred: Any, y_true: Any) -> OverlapStats:
        """Per-sample, per-class ``(intersection, pred_sum, target_sum)``, each (N, C);
        with ``squared_pred`` the sums of squares too (`SquaredStats`)."""
        xp = get_namespace(y_pred=y_pred, y_true=y_true)
        return statistics_of(xp, self, y_pred, y_true)

    def loss_from_statistics(self, xp: Any, stats: OverlapStats) -> Any:
        """Reduce (N, C) statistics to the loss (see the class docstring for shapes)."""
        intersection, _, target_sum, pred_den, target_den = pooled_statistics(
            xp, stats, per_image=self.per_image, sync=self.sync
        )
        score = tversky_score(
            xp, intersection, pred_den, target_den, self.alpha, self.beta, self.smooth_dr,
            self.eps, for_loss=self.empty != "keep", smooth_nr=self.smooth_nr,
        )
        if self.log_loss:
            loss = -xp.log(clip_below(xp, score, self.eps))
        else:
            loss = 1.0 - score
        return reduce_class_losses(
            xp,
            loss,
            target_sum > 0,
            classes=self.classes,
            class_weights=self.class_weights,
            empty=self.empty,
            reduction=self.reduction,
            gamma=self.gamma,
        )

    def __call__(self, y_pred: ArrayT, y_true: Any) -> ArrayT:
        # a backend's fast path of the whole loss (torch: eager plain tensors, usual
        # options), else the composition below; a subclass that replaces a step of the
        # composition gets its own step (the fast paths compute the built-in ones)
        if _builtin_steps(type(self)):
            fast = kernels.overlap_loss(self, y_pred, y_true)
            if fast is not None:
                return fast  # type: ignore[no-any-return]
        xp = get_namespace(y_pred=y_pred, y_true=y_true)
        return self.loss_from_statistics(xp, self.statistics(y_pred, y_true))

    forward = __call__


def _builtin_steps(cls: type[OverlapLoss]) -> bool:
    """Whether ``cls`` computes its loss with `OverlapLoss`'s own steps (``statistics``,
    ``loss_from_statistics``), the ones a backend's whole-loss path reproduces."""
    return (cls.statistics is OverlapLoss.statistics
            and cls.loss_from_statistics is OverlapLoss.loss_from_statistics)
