"""Generalized Dice loss (Sudre et al. 2017) as a loss object."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .._lib._namespace import device_of, get_namespace
from .._lib._options import (
    LOSS_REDUCTIONS,
    MODES,
    check_choice,
    check_class_axis,
    check_classes,
    check_flag,
    check_ignore_index,
    check_nonnegative,
    check_smoothing,
    check_sync,
)
from .._lib._types import ArrayT, IgnoreIndex, IgnoreValues, LossReduction, Mode, WeightType
from ._class_losses import as_array, class_index
from ._generalized import WEIGHT_TYPES, generalized_dice_score
from ._loss_object import LossObject
from ._pooling import SquaredStats, pooled_statistics, statistics_of
from ._statistics import OverlapStats

__all__ = ["GeneralizedDiceLoss"]


class GeneralizedDiceLoss(LossObject):
    r"""Generalized Dice loss (Sudre et al. 2017, arXiv:1707.03237): one Dice score over
    all classes, each weighted by the inverse of its target volume.

    With the per-class intersection $I_c$, prediction and target sums $P_c$, $T_c$ of
    `JaccardLoss` (summed over the batch, or per sample with ``per_image=True``):

    $$
    \begin{gathered}
    w_c = 1/T_c^2 \ (\texttt{"square"}),\quad 1/T_c \ (\texttt{"simple"}),\quad 1
    \ (\texttt{"uniform"}),\\
    GD = \frac{\sum_c w_c I_c + s_{nr}}
    {\max\big(\tfrac12 \sum_c w_c (P_c + T_c) + s_{dr},\ \varepsilon\big)},
    \qquad \text{loss} = 1 - GD.
    \end{gathered}
    $$

    The sums are halved as in `DiceLoss` (smp's form): without smoothing $GD = 2\sum_c
    w_c I_c / \sum_c w_c (P_c + T_c)$; MONAI's ``smooth_nr``/``smooth_dr`` are twice
    ``smooth_nr``/``smooth_dr`` here. With one class and ``"uniform"`` weights this is
    `DiceLoss`.

    Absent classes ($T_c = 0$, an infinite weight) take the largest weight of the
    present classes of the same sample (or batch), MONAI 1.6.1's rule; a sample (or
    batch) in which no class is present has loss 0, with gradient 0. No value or
    gradient is NaN or infinite.

    Parameters
    ----------
    mode : str
        ``"binary"``, ``"multiclass"`` or ``"multilabel"``, shapes as in `JaccardLoss`.
    classes : sequence of int, optional
        The channels that enter the score (default: all); the weights of absent classes
        come from these only (MONAI's ``include_background=False`` is ``classes=[1, ...,
        C-1]``). Not for binary mode.
    from_logits : bool, default True
        Apply softmax (multiclass) or sigmoid (binary, multilabel) to ``y_pred`` first.
    smooth : float, default 0.0
        Added to the (halved) numerator and denominator.
    ignore_index : int or sequence of int, optional
        Target value of void pixels, as in `JaccardLoss`.
    eps : float, default 0.0
        Lower bound of the (halved) denominator. 0 by default: with ``"square"`` weights
        the denominator is of the order of ``1 / T``, below a fixed bound such as 1e-7
        for ten million target pixels.
    weight_type : str, default "square"
        One of ``"square"``, ``"simple"``, ``"uniform"``.
    per_image : bool, default False
        One score per sample (its own weights), averaged by ``reduction``; else one score
        of the batch's summed statistics (MONAI's ``batch=True``).
    reduction : str, default "mean"
        ``"mean"`` or ``"sum"`` of the per-sample losses (0-d); ``"none"``: the (N,)
        per-sample losses with ``per_image``, else the 0-d batch loss.
    class_axis : int, default 1
        Axis of ``y_pred`` holding the classes; ``-1`` for channels-last arrays.
    sync : callable, optional
        An all-reduce of the (3, C) statistics ((5, C) with ``squared_pred``), as in
        `JaccardLoss`. Needs ``per_image=False``.
    smooth_nr : float, optional
        The smoothing of the numerator (default: ``smooth``).
    smooth_dr : float, optional
        The smoothing of the denominator (default: ``smooth``).
    squared_pred : bool, default False
        Sums of squares ``sum p**2``, ``sum t**2`` in the denominator; the weights still
        come from ``sum t``.

    Notes
    -----
    The result is a 0-d array (or (N,) for ``reduction="none"`` with ``per_image``) of
    ``y_pred``'s library and device, float32 for float16/bfloat16 input,
    differentiable. optax's ``multiclass_generalized_dice_loss`` is another formula (a
    weighted mean of per-sample Dice losses), which
    `anyiou.optax.multiclass_generalized_dice_loss` reproduces; see the Generalized Dice
    page.

    Examples
    --------
    Two classes, the second rare: its pixels weigh 16 times more, ``(4/1)**2``.

    >>> import numpy as np
    >>> from anyiou import GeneralizedDiceLoss
    >>> p = np.array([[[0.9, 0.8, 0.7, 0.6, 0.5], [0.1, 0.2, 0.3, 0.4, 0.5]]])
    >>> t = np.array([[0, 0, 0, 0, 1]])  # T = (4, 1): weights (1/16, 1)
    >>> loss = GeneralizedDiceLoss("multiclass", from_logits=False)
    >>> round(float(loss(p, t)), 6)  # 1 - (3/16 + 0.5) / ((7.5/16 + 2.5) / 2)
    0.536842
    """

    mode: Mode
    classes: tuple[int, ...] | None
    from_logits: bool
    smooth: float
    ignore_index: IgnoreValues
    eps: float
    weight_type: WeightType
    per_image: bool
    reduction: LossReduction
    class_axis: int
    sync: Callable[[Any], Any] | None
    smooth_nr: float
    smooth_dr: float
    squared_pred: bool

    def __init__(
        self,
        mode: Mode,
        classes: Sequence[int] | None = None,
        from_logits: bool = True,
        smooth: float = 0.0,
        ignore_index: IgnoreIndex = None,
        eps: float = 0.0,
        *,
        weight_type: WeightType = "square",
        per_image: bool = False,
        reduction: LossReduction = "mean",
        class_axis: int = 1,
        sync: Callable[[Any], Any] | None = None,
        smooth_nr: float | None = None,
        smooth_dr: float | None = None,
        squared_pred: bool = False,
    ) -> None:
        self.mode = check_choice("mode", mode, MODES)
        self.classes = check_classes(classes, mode)
        self.from_logits = check_flag("from_logits", from_logits)
        self.smooth = check_nonnegative("smooth", smooth)
        self.ignore_index = check_ignore_index(ignore_index)
        self.eps = check_nonnegative("eps", eps)
        self.weight_type = check_choice("weight_type", weight_type, WEIGHT_TYPES)
        self.per_image = check_flag("per_image", per_image)
        self.reduction = check_choice("reduction", reduction, LOSS_REDUCTIONS)
        self.class_axis = check_class_axis(class_axis)
        check_sync(sync)
        if sync is not None and per_image:
            raise ValueError("sync sums batch statistics over workers; it needs per_image=False")
        self.sync = sync
        self.smooth_nr, self.smooth_dr = check_smoothing(self.smooth, smooth_nr, smooth_dr)
        self.squared_pred = check_flag("squared_pred", squared_pred)

    def statistics(self, y_pred: Any, y_true: Any) -> OverlapStats | SquaredStats:
        """Per-sample, per-class statistics, each (N, C), as `JaccardLoss.statistics`."""
        xp = get_namespace(y_pred=y_pred, y_true=y_true)
        return statistics_of(xp, self, y_pred, y_true)

    def loss_from_statistics(self, xp: Any, stats: OverlapStats | SquaredStats) -> Any:
        """The loss of (N, C) statistics (shapes in the class docstring)."""
        if self.classes is not None:
            idx = class_index(xp, self.classes, stats[0].shape[-1], device_of(stats[0]))
            stats = tuple(xp.take(s, idx, axis=-1) for s in stats)
        pooled = pooled_statistics(xp, stats, per_image=self.per_image, sync=self.sync)
        score = generalized_dice_score(
            xp,
            pooled.intersection,
            pooled.pred_sum,
            pooled.target_sum,
            weight_type=self.weight_type,
            smooth_nr=self.smooth_nr,
            smooth_dr=self.smooth_dr,
            eps=self.eps,
            pred_sq=pooled.pred_den,
            target_sq=pooled.target_den,
        )
        loss = 1.0 - score  # () or (N,)
        if self.reduction == "none" or loss.ndim == 0:
            return as_array(loss)
        if self.reduction == "sum":
            return as_array(xp.sum(loss))
        return as_array(xp.sum(loss) / max(loss.shape[0], 1))

    def __call__(self, y_pred: ArrayT, y_true: Any) -> ArrayT:
        xp = get_namespace(y_pred=y_pred, y_true=y_true)
        stats = self.statistics(y_pred, y_true)
        return self.loss_from_statistics(xp, stats)  # type: ignore[no-any-return]

    forward = __call__

