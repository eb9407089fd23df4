"""Tversky and focal Tversky loss."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .._lib._options import check_nonnegative
from .._lib._types import EmptyRule, IgnoreIndex, LossReduction, Mode
from ._overlap import OverlapLoss

__all__ = ["TverskyLoss"]


class TverskyLoss(OverlapLoss):
    r"""Tversky loss (and focal Tversky with ``gamma``), a drop-in for smp 0.6.0.

    $$
    \begin{gathered}
    T_c = \frac{I_c + s}{\max\big(I_c + \alpha\,FP_c + \beta\,FN_c + s,\ \varepsilon\big)},\\
    \text{loss} = \Big(\operatorname{mean}_c\,(1 - T_c)\Big)^{\gamma}
    \end{gathered}
    $$

    ``alpha`` weighs false positives, ``beta`` false negatives (Salehi et al. 2017,
    arXiv:1706.05721). ``alpha = beta = 0.5`` is `DiceLoss`, ``alpha =
    beta = 1`` is `JaccardLoss`. ``gamma`` raises the *reduced* loss to a
    power as smp does (focal Tversky, Abraham & Khan 2019, arXiv:1810.07842); with
    ``reduction="none"`` each per-class loss is raised to ``gamma``.

    Keras (before keras-team/keras#23333, 2026) applied ``alpha`` to false negatives and
    ``beta`` to false positives; to reproduce such numbers swap the two.

    Parameters, shapes and output are those of `JaccardLoss`, with three more after
    ``eps`` (positional, as in smp): ``alpha`` (float, default 0.5), the weight of false
    positives; ``beta`` (float, default 0.5), the weight of false negatives; ``gamma``
    (float, default 1.0), the focal exponent applied to the reduced loss.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou import TverskyLoss
    >>> p = np.array([[0.7, 0.2, 0.9, 0.4]]); t = np.array([[1, 1, 0, 0]])
    >>> loss = TverskyLoss("binary", from_logits=False, alpha=0.3, beta=0.7)
    >>> round(float(loss(p, t)), 6)  # 1 - 0.9 / (0.9 + 0.3*1.3 + 0.7*1.1)
    0.563107
    """

    alpha: float
    beta: float
    gamma: float

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
        reduction: LossReduction = "mean",
        empty: EmptyRule = "zero",
        class_axis: int = 1,
        sync: Callable[[Any], Any] | None = None,
        smooth_nr: float | None = None,
        smooth_dr: float | None = None,
        squared_pred: bool = False,
    ) -> None:
        super().__init__(
            mode,
            classes,
            log_loss,
            from_logits,
            smooth,
            ignore_index,
            eps,
            class_weights,
            per_image=per_image,
            reduction=reduction,
            empty=empty,
            class_axis=class_axis,
            sync=sync,
            smooth_nr=smooth_nr,
            smooth_dr=smooth_dr,
            squared_pred=squared_pred,
        )
        self.alpha = check_nonnegative("alpha", alpha)
        self.beta = check_nonnegative("beta", beta)
        self.gamma = check_nonnegative("gamma", gamma)
