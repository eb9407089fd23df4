r"""The losses as pure functions, in the style of optax: ``loss(y_pred, y_true, *, mode, ...)``.

Each function builds the matching loss object (every option checked as in the class) and
calls it, so a function and its class share one pipeline. Building the object costs a few
option checks, nothing per array; under ``jax.jit`` it happens once, at trace time (the
options are static Python values).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .._lib._types import (
    ArrayT,
    EmptyRule,
    IgnoreIndex,
    LossReduction,
    LovaszClasses,
    Mode,
    WeightType,
)
from ._dice import DiceLoss
from ._generalized_loss import GeneralizedDiceLoss
from ._jaccard import JaccardLoss
from ._lovasz import LovaszLoss
from ._tversky import TverskyLoss

__all__ = [
    "dice_loss",
    "generalized_dice_loss",
    "jaccard_loss",
    "lovasz_loss",
    "tversky_loss",
]


def jaccard_loss(
    y_pred: ArrayT,
    y_true: Any,
    *,
    mode: Mode,
    classes: Sequence[int] | None = None,
    log_loss: bool = False,
    from_logits: bool = True,
    smooth: float = 0.0,
    ignore_index: IgnoreIndex = None,
    eps: float = 1e-7,
    class_weights: Sequence[float] | None = None,
    per_image: bool = False,
    reduction: LossReduction = "mean",
    empty: EmptyRule = "zero",
    class_axis: int = 1,
    sync: Callable[[Any], Any] | None = None,
    smooth_nr: float | None = None,
    smooth_dr: float | None = None,
    squared_pred: bool = False,
) -> ArrayT:
    r"""Soft Jaccard (IoU) loss of one batch; the function form of `JaccardLoss`.

    Per class $c$, with probabilities $p$ and targets $t$ summed over the batch and all
    spatial positions (per sample with ``per_image=True``):

    $$
    \begin{gathered}
    I_c = \tfrac12\Big(\sum p + \sum t - \sum |p - t|\Big),\\
    J_c = \frac{I_c + s}{\max\big(\sum p + \sum t - I_c + s,\ \varepsilon\big)},\\
    \ell_c = 1 - J_c \ \text{ or } \ -\log\max(J_c, \varepsilon).
    \end{gathered}
    $$

    Parameters
    ----------
    y_pred : array
        Float logits (or probabilities with ``from_logits=False``): (N, C, \*S)
        multiclass/multilabel, (N, 1, \*S) or (N, \*S) binary.
    y_true : array
        Multiclass: integer labels (N, \*S) or (N, 1, \*S), may hold ``ignore_index``,
        or a one-hot or soft target of ``y_pred``'s shape (no ``ignore_index``);
        binary/multilabel: 0/1 or soft targets of ``y_pred``'s shape (binary: also without
        the channel axis).
    mode : str
        ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (required).
    classes : sequence of int, optional
        Channels that enter the average (default: all), as in `JaccardLoss`.
    log_loss : bool, default False
        Return ``-log(score)`` instead of ``1 - score``.
    from_logits : bool, default True
        Apply softmax (multiclass) or sigmoid (binary, multilabel) to ``y_pred`` first.
    smooth : float, default 0.0
        Added to numerator and denominator.
    ignore_index : int or sequence of int, optional
        Target value (or values) of void pixels (255, -1, a class id, ...), as in `JaccardLoss`.
    eps : float, default 1e-7
        Lower bound of the denominator.
    class_weights : sequence of float, optional
        One non-negative weight per class: the mean becomes ``sum(w * l) / sum(w)``.
    per_image : bool, default False
        Statistics per sample, then the mean of the (N, C) losses.
    reduction : str
        One of ``"mean"``, ``"sum"``, ``"none"``.
        How the per-class losses are reduced (see *Returns*).
    empty : str
        One of ``"zero"``, ``"exclude"``.
        Classes without target pixels: loss 0 and counted (smp), or left out of the mean.
    class_axis : int, default 1
        Axis of ``y_pred`` holding the classes; ``-1`` for channels-last arrays.
    sync : callable, optional
        All-reduce of the (3, C) statistics for distributed training (``per_image=False``;
        (5, C) with ``squared_pred``).
    smooth_nr : float, optional
        The smoothing of the numerator (default: ``smooth``).
    smooth_dr : float, optional
        The smoothing of the denominator (default: ``smooth``).
    squared_pred : bool, default False
        Sums of squares ``sum p**2``, ``sum t**2`` in the denominator (MONAI's option).

    Returns
    -------
    array
        In ``y_pred``'s library and on its device, differentiable:

        * ``reduction="mean"`` (default): 0-d, the (weighted) mean of the per-class
          losses (over (N, C) with ``per_image=True``);
        * ``reduction="sum"``: 0-d, their (weighted) sum;
        * ``reduction="none"``: the per-class losses, (K,) or with ``per_image=True``
          (N, K), K = ``len(classes)`` (C by default), unweighted.

        float32 for float16/bfloat16/float32 input, float64 for float64.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.losses import jaccard_loss
    >>> p = np.array([[0.8, 0.6, 0.2, 0.0]])
    >>> t = np.array([[1, 1, 0, 0]])
    >>> round(float(jaccard_loss(p, t, mode="binary", from_logits=False)), 6)  # 1 - 1.4/2.2
    0.363636

    Inside a jitted JAX step, options are static:

    >>> import jax, jax.numpy as jnp  # doctest: +SKIP
    >>> grad = jax.grad(lambda z: jaccard_loss(z, labels, mode="multiclass"))  # doctest: +SKIP
    """
    loss = JaccardLoss(
        mode, classes, log_loss, from_logits, smooth, ignore_index, eps, class_weights,
        per_image=per_image, reduction=reduction, empty=empty, class_axis=class_axis, sync=sync,
        smooth_nr=smooth_nr, smooth_dr=smooth_dr, squared_pred=squared_pred,
    )
    return loss(y_pred, y_true)


def dice_loss(
    y_pred: ArrayT,
    y_true: Any,
    *,
    mode: Mode,
    classes: Sequence[int] | None = None,
    log_loss: bool = False,
    from_logits: bool = True,
    smooth: float = 0.0,
    ignore_index: IgnoreIndex = None,
    eps: float = 1e-7,
    class_weights: Sequence[float] | None = None,
    per_image: bool = False,
    reduction: LossReduction = "mean",
    empty: EmptyRule = "zero",
    class_axis: int = 1,
    sync: Callable[[Any], Any] | None = None,
    smooth_nr: float | None = None,
    smooth_dr: float | None = None,
    squared_pred: bool = False,
) -> ArrayT:
    r"""Soft Dice (F1) loss of one batch; the function form of `DiceLoss`.

    Per class $c$, with the intersection $I_c$ of `jaccard_loss` and
    $FP_c = \sum p - I_c$, $FN_c = \sum t - I_c$:

    $$
    \begin{gathered}
    D_c = \frac{I_c + s}{\max\big(I_c + \tfrac12 FP_c + \tfrac12 FN_c + s,\ \varepsilon\big)},\\
    \ell_c = 1 - D_c \ \text{ or } \ -\log\max(D_c, \varepsilon).
    \end{gathered}
    $$

    Parameters, shapes and the output per ``reduction`` are those of `jaccard_loss`.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.losses import dice_loss
    >>> p = np.array([[0.8, 0.6, 0.2, 0.0]])
    >>> t = np.array([[1, 1, 0, 0]])
    >>> round(float(dice_loss(p, t, mode="binary", from_logits=False)), 6)  # 1 - 2*1.4/3.6
    0.222222
    """
    loss = DiceLoss(
        mode, classes, log_loss, from_logits, smooth, ignore_index, eps, class_weights,
        per_image=per_image, reduction=reduction, empty=empty, class_axis=class_axis, sync=sync,
        smooth_nr=smooth_nr, smooth_dr=smooth_dr, squared_pred=squared_pred,
    )
    return loss(y_pred, y_true)


def tversky_loss(
    y_pred: ArrayT,
    y_true: Any,
    *,
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
    per_image: bool = False,
    reduction: LossReduction = "mean",
    empty: EmptyRule = "zero",
    class_axis: int = 1,
    sync: Callable[[Any], Any] | None = None,
    smooth_nr: float | None = None,
    smooth_dr: float | None = None,
    squared_pred: bool = False,
) -> ArrayT:
    r"""Tversky (and focal Tversky) loss of one batch; the function form of `TverskyLoss`.

    $$
    \begin{gathered}
    T_c = \frac{I_c + s}{\max\big(I_c + \alpha\,FP_c + \beta\,FN_c + s,\ \varepsilon\big)},\\
    \text{loss} = \Big(\operatorname{mean}_c\,(1 - T_c)\Big)^{\gamma}
    \end{gathered}
    $$

    ``alpha`` weighs false positives, ``beta`` false negatives; ``gamma`` raises the
    reduced loss to a power (each per-class loss with ``reduction="none"``).
    Other parameters, shapes and the output per ``reduction`` are those of `jaccard_loss`.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.losses import tversky_loss
    >>> p = np.array([[0.7, 0.2, 0.9, 0.4]]); t = np.array([[1, 1, 0, 0]])
    >>> out = tversky_loss(p, t, mode="binary", from_logits=False, alpha=0.3, beta=0.7)
    >>> round(float(out), 6)  # 1 - 0.9 / (0.9 + 0.3*1.3 + 0.7*1.1)
    0.563107
    """
    loss = TverskyLoss(
        mode, classes, log_loss, from_logits, smooth, ignore_index, eps, alpha, beta, gamma,
        class_weights, per_image=per_image, reduction=reduction, empty=empty,
        class_axis=class_axis, sync=sync,
        smooth_nr=smooth_nr, smooth_dr=smooth_dr, squared_pred=squared_pred,
    )
    return loss(y_pred, y_true)


def lovasz_loss(
    y_pred: ArrayT,
    y_true: Any,
    *,
    mode: Mode,
    per_image: bool = False,
    ignore_index: IgnoreIndex = None,
    from_logits: bool = True,
    class_axis: int = 1,
    classes: LovaszClasses | Sequence[int] = "present",
    class_weights: Sequence[float] | None = None,
) -> ArrayT:
    r"""Lovasz hinge / Lovasz-softmax loss of one batch; the function form of `LovaszLoss`.

    For per-pixel errors $m$ sorted in decreasing order with ground truth $g$ and
    $G = \sum_i g_i$,

    $$
    J_k = 1 - \frac{G - \sum_{j \le k} g_{\pi_j}}{G + \sum_{j \le k} (1 - g_{\pi_j})},
    $$

    the loss is $\sum_k m_{\pi_k} (J_k - J_{k-1})$: hinge errors $\max(0, 1 - z(2g - 1))$ on the
    logits over all pixels and channels (binary, multilabel), or per class
    $|[y = c] - \mathrm{softmax}(z)_c|$ averaged over the classes present (multiclass;
    ``classes`` and ``class_weights`` as in mmsegmentation).

    Parameters
    ----------
    y_pred : array
        Float logits, shapes as in `jaccard_loss`.
    y_true : array
        Targets, shapes as in `jaccard_loss`.
    mode : str
        ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (required).
    per_image : bool, default False
        Loss per sample, then the mean over the batch.
    ignore_index : int or sequence of int, optional
        Target value (or values) of void pixels (255, -1, a class id, ...).
    from_logits : bool, default True
        No effect, as in smp 0.6.0 (pass logits).
    class_axis : int, default 1
        Axis of ``y_pred`` holding the classes; ``-1`` for channels-last arrays.
    classes : {"present", "all"} or sequence of int, default "present"
        Multiclass only: the classes averaged, as in `LovaszLoss`.
    class_weights : sequence of float, optional
        Multiclass only: C weights, each class's loss multiplied by its weight before the
        mean, as in `LovaszLoss`.

    Returns
    -------
    array
        0-d, in ``y_pred``'s library and on its device; the mean over samples with
        ``per_image=True``. Differentiable.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.losses import lovasz_loss
    >>> z = np.array([[2.0, -0.5, 0.5]])
    >>> g = np.array([[1, 0, 0]])
    >>> round(float(lovasz_loss(z, g, mode="binary")), 6)  # 1.5/2 + 0.5/6
    0.833333
    """
    loss = LovaszLoss(mode, per_image, ignore_index, from_logits, class_axis=class_axis,
                      classes=classes, class_weights=class_weights)
    return loss(y_pred, y_true)


def generalized_dice_loss(
    y_pred: ArrayT,
    y_true: Any,
    *,
    mode: Mode,
    classes: Sequence[int] | None = None,
    from_logits: bool = True,
    smooth: float = 0.0,
    ignore_index: int | None = None,
    eps: float = 0.0,
    weight_type: WeightType = "square",
    per_image: bool = False,
    reduction: LossReduction = "mean",
    class_axis: int = 1,
    sync: Callable[[Any], Any] | None = None,
    smooth_nr: float | None = None,
    smooth_dr: float | None = None,
    squared_pred: bool = False,
) -> ArrayT:
    r"""Generalized Dice loss of one batch; the function form of `GeneralizedDiceLoss`.

    $$
    GD = \frac{\sum_c w_c I_c + s_{nr}}
    {\max\big(\tfrac12 \sum_c w_c (P_c + T_c) + s_{dr},\ \varepsilon\big)},
    \qquad w_c = 1/T_c^2,\ 1/T_c \text{ or } 1.
    $$

    Parameters
    ----------
    y_pred : array
        Float logits (or probabilities with ``from_logits=False``), as in `jaccard_loss`.
    y_true : array
        Labels or targets, as in `jaccard_loss`.
    mode : str
        ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (required).
    classes : sequence of int, optional
        The channels that enter the score (default: all).
    from_logits : bool, default True
        Apply softmax (multiclass) or sigmoid (binary, multilabel) to ``y_pred`` first.
    smooth : float, default 0.0
        Added to the (halved) numerator and denominator.
    ignore_index : int, optional
        Target value of void pixels, as in `jaccard_loss`.
    eps : float, default 0.0
        Lower bound of the (halved) denominator.
    weight_type : str, default "square"
        One of ``"square"``, ``"simple"``, ``"uniform"``.
    per_image : bool, default False
        One score per sample (its own weights), averaged; else one score of the batch.
    reduction : str, default "mean"
        ``"mean"``, ``"sum"`` or ``"none"`` of the per-sample losses.
    class_axis : int, default 1
        Axis of ``y_pred`` holding the classes; ``-1`` for channels-last arrays.
    sync : callable, optional
        All-reduce of the (3, C) or (5, C) statistics (``per_image=False``).
    smooth_nr : float, optional
        The smoothing of the numerator (default: ``smooth``).
    smooth_dr : float, optional
        The smoothing of the denominator (default: ``smooth``).
    squared_pred : bool, default False
        Sums of squares in the denominator.

    Returns
    -------
    array
        0-d (or (N,) for ``reduction="none"`` with ``per_image``), as `GeneralizedDiceLoss`.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.losses import generalized_dice_loss
    >>> p = np.array([[[0.9, 0.8, 0.7, 0.6, 0.5], [0.1, 0.2, 0.3, 0.4, 0.5]]])
    >>> t = np.array([[0, 0, 0, 0, 1]])
    >>> loss = generalized_dice_loss(p, t, mode="multiclass", from_logits=False)
    >>> round(float(loss), 6)
    0.536842
    """
    loss = GeneralizedDiceLoss(
        mode, classes, from_logits, smooth, ignore_index, eps, weight_type=weight_type,
        per_image=per_image, reduction=reduction, class_axis=class_axis, sync=sync,
        smooth_nr=smooth_nr, smooth_dr=smooth_dr, squared_pred=squared_pred,
    )
    return loss(y_pred, y_true)
