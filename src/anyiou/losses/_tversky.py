"""Tversky and focal Tversky loss."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .._lib._options import check_nonnegative
from ._overlap import OverlapLoss

__all__ = ["TverskyLoss"]


class TverskyLoss(OverlapLoss):
    r"""Tversky loss (and focal Tversky with ``gamma``), a drop-in for smp 0.6.0.

    $$
    T_c = \frac{I_c + s}{\max\big(I_c + \alpha\,FP_c + \beta\,FN_c + s,\ \varepsilon\big)},
    \qquad \text{loss} = \Big(\operatorname{mean}_c\,(1 - T_c)\Big)^{\gamma}
    $$

    ``alpha`` weighs false positives, ``beta`` false negatives (Salehi et al. 2017,
    arXiv:1706.05721). ``alpha = beta = 0.5`` is `DiceLoss`, ``alpha =
    beta = 1`` is `JaccardLoss`. ``gamma`` raises the *reduced* loss to a
    power as smp does (focal Tversky, Abraham & Khan 2019, arXiv:1810.07842); with
    ``reduction="none"`` each per-class loss is raised to ``gamma``.

    Keras (before keras-team/keras#23333, 2026) applied ``alpha`` to false negatives and
    ``beta`` to false positives; to reproduce such numbers swap the two.

    Parameters
    ----------
    mode : str
        ``"binary"``, ``"multiclass"`` or ``"multilabel"``; see `JaccardLoss`.
    classes : sequence of int, optional
        Channels that enter the average (default: all), as in `JaccardLoss`.
    log_loss : bool, default False
        Return ``-log(T)`` instead of ``1 - T``.
    from_logits : bool, default True
        Apply softmax (multiclass) or sigmoid (binary, multilabel) to ``y_pred`` first.
    smooth : float, default 0.0
        Added to numerator and denominator.
    ignore_index : int, optional
        Target value of void pixels, as in `JaccardLoss`.
    eps : float, default 1e-7
        Lower bound of the denominator.
    alpha : float, default 0.5
        Weight of false positives.
    beta : float, default 0.5
        Weight of false negatives.
    gamma : float, default 1.0
        Focal exponent applied to the reduced loss.
    class_weights : sequence of float, optional
        One non-negative weight per class, as in `JaccardLoss`.
    per_image : bool, default False
        Statistics per sample, then the mean of the (N, C) losses.
    reduction : str
        One of ``"mean"``, ``"sum"``, ``"none"``.
        How the per-class losses are reduced, as in `JaccardLoss`.
    empty : str
        One of ``"zero"``, ``"exclude"``.
        Classes without target pixels, as in `JaccardLoss`.
    class_axis : int, default 1
        Axis of ``y_pred`` holding the classes; ``-1`` for channels-last arrays.
    sync : callable, optional
        All-reduce of the (3, C) statistics for distributed training, as in `JaccardLoss`.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou import TverskyLoss
    >>> p = np.array([[0.7, 0.2, 0.9, 0.4]]); t = np.array([[1, 1, 0, 0]])
    >>> loss = TverskyLoss("binary", from_logits=False, alpha=0.3, beta=0.7)
    >>> round(float(loss(p, t)), 6)  # 1 - 0.9 / (0.9 + 0.3*1.3 + 0.7*1.1)
    0.563107
    """

    def __init__(
        self,
        mode: str,
        classes: Sequence[int] | None = None,
        log_loss: bool = False,
        from_logits: bool = True,
        smooth: float = 0.0,
        ignore_index: int | None = None,
        eps: float = 1e-7,
        alpha: float = 0.5,
        beta: float = 0.5,
        gamma: float = 1.0,
        class_weights: Sequence[float] | None = None,
        *,
        per_image: bool = False,
        reduction: str = "mean",
        empty: str = "zero",
        class_axis: int = 1,
        sync: Callable[[Any], Any] | None = None,
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
        )
        self.alpha = check_nonnegative("alpha", alpha)
        self.beta = check_nonnegative("beta", beta)
        self.gamma = check_nonnegative("gamma", gamma)
