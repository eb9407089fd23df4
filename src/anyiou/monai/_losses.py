"""DiceLoss, GeneralizedDiceLoss and TverskyLoss with MONAI 1.6.1's arguments and values.

Each loss turns MONAI's statistics (`loss_statistics`) into its score with MONAI's
smoothing (``smooth_nr`` added to the numerator, ``smooth_dr`` to the denominator),
then reduces as MONAI does, output shapes included (``reduction="none"``: DiceLoss and
GeneralizedDiceLoss keep a broadcastable (N, C, 1, ...) shape, TverskyLoss (N, C)).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from anyiou._lib import kernels
from anyiou._lib._options import check_ignore_value
from anyiou.losses._generalized import generalized_dice_score
from anyiou.losses._loss_object import LossObject

from ._prepare import as_weight, check_activation, check_reduction, check_sync, loss_statistics
from ._route import core_loss

__all__ = ["DiceLoss", "GeneralizedDiceLoss", "TverskyLoss"]

#: GeneralizedDiceLoss's ``w_type`` values (MONAI's ``Weight``).
W_TYPES = ("square", "simple", "uniform")


class _MonaiLoss(LossObject):
    """The options shared by the three losses (set and checked at construction)."""

    #: The core loss this loss maps onto where its options allow (`_route`), or None.
    core_kind: str | None = None

    def __init__(
        self,
        include_background: bool,
        to_onehot_y: bool,
        sigmoid: bool,
        softmax: bool,
        other_act: Callable[[Any], Any] | None,
        reduction: str,
        smooth_nr: float,
        smooth_dr: float,
        batch: bool,
        soft_label: bool,
        ignore_index: int | None,
        sync: Callable[[Any], Any] | None,
    ) -> None:
        self.reduction = check_reduction(reduction)
        check_activation(sigmoid, softmax, other_act)
        self.include_background = include_background
        self.to_onehot_y = to_onehot_y
        self.sigmoid = sigmoid
        self.softmax = softmax
        self.other_act = other_act
        self.smooth_nr = float(smooth_nr)
        self.smooth_dr = float(smooth_dr)
        self.batch = batch
        self.soft_label = soft_label
        self.ignore_index = check_ignore_value(ignore_index)
        self.sync = check_sync(sync, batch)

    def forward(self, input: Any, target: Any) -> Any:
        """The loss of ``input`` against ``target`` (see the class), as a call does."""
        return self(input, target)

    def __call__(self, input: Any, target: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _whole(self, input: Any, target: Any) -> Any | None:
        """The loss by a backend's whole-loss path of the equal core loss (`_route`), or
        None: the call composes MONAI's steps."""
        core = core_loss(self, input, target)
        return None if core is None else kernels.overlap_loss(core, input, target)


def _broadcast_shape(xp: Any, f: Any, ndim: int) -> Any:
    """MONAI's ``reduction="none"`` shape: ``f.shape[:2] + (1,) * (ndim - 2)``."""
    return xp.reshape(f, tuple(f.shape[:2]) + (1,) * (ndim - 2))


def _reduce(xp: Any, f: Any, reduction: str, ndim: int, keep: bool) -> Any:
    if reduction == "mean":
        return xp.mean(f)
    if reduction == "sum":
        return xp.sum(f)
    return _broadcast_shape(xp, f, ndim) if keep else f


class DiceLoss(_MonaiLoss):
    """MONAI's ``DiceLoss`` (``monai.losses.DiceLoss``, 1.6.1) on any array library.

    ``loss(input, target)``: ``input`` (N, C, *S) logits or probabilities (floating);
    ``target`` one-hot or soft (N, C, *S), or labels (N, 1, *S) (integers, or floats
    holding integers) with ``to_onehot_y=True``, which never become a one-hot. Returns
    a 0-D array (``"mean"``, ``"sum"``), or with ``reduction="none"`` the per-sample,
    per-class losses of shape (N, C', 1, ..., 1) (``batch=True``: (C', 1, ..., 1)), in
    ``input``'s floating dtype (float32 at least).

    Parameters
    ----------
    include_background : bool
        If False, channel 0 is left out (ignored, with a warning, for one channel).
    to_onehot_y : bool
        ``target`` holds labels (N, 1, *S) in [0, C).
    sigmoid : bool
        Apply the sigmoid to ``input``.
    softmax : bool
        Apply the softmax over the channels to ``input`` (ignored, with a warning, for
        one channel).
    other_act : callable or None
        Another activation, called on ``input`` (an array of its library).
    squared_pred : bool
        Squared sums in the denominator: ``sum(p ** 2) + sum(t ** 2)``.
    jaccard : bool
        The soft Jaccard (IoU) loss instead of the Dice loss.
    reduction : {"mean", "sum", "none"}
    smooth_nr : float
        Added to the numerator.
    smooth_dr : float
        Added to the denominator.
    batch : bool
        Sum the statistics over the batch before the ratio.
    weight : float, sequence of floats or None
        Per-class factors of the loss (one per kept class), at least 0.
    soft_label : bool
        MONAI's norm form of the intersection, exact for soft targets.
    ignore_index : int or None
        Pixels whose label is ``ignore_index`` count nowhere (labels); for one-hot
        targets MONAI's rule (see the migration page).
    sync : callable or None
        anyiou's addition (keyword only): a sum over the workers (an all-reduce, e.g.
        ``anyiou.distributed.torch_sync()`` or ``jax_sync(axis_name)``), as the core
        losses' ``sync``. With ``batch=True`` the statistics summed over the local batch
        go through it, one (4, C') array, before the ratio: every worker gets the loss
        of the global (concatenated) batch. Needs ``batch=True`` (else ``ValueError``):
        per-image losses are not summed over the batch.
    """

    core_kind = "dice"

    def __init__(
        self,
        include_background: bool = True,
        to_onehot_y: bool = False,
        sigmoid: bool = False,
        softmax: bool = False,
        other_act: Callable[[Any], Any] | None = None,
        squared_pred: bool = False,
        jaccard: bool = False,
        reduction: str = "mean",
        smooth_nr: float = 1e-5,
        smooth_dr: float = 1e-5,
        batch: bool = False,
        weight: Sequence[float] | float | int | Any | None = None,
        soft_label: bool = False,
        ignore_index: int | None = None,
        *,
        sync: Callable[[Any], Any] | None = None,
    ) -> None:
        super().__init__(include_background, to_onehot_y, sigmoid, softmax, other_act,
                         reduction, smooth_nr, smooth_dr, batch, soft_label, ignore_index,
                         sync)
        self.squared_pred = squared_pred
        self.jaccard = jaccard
        self.weight, self._scalar_weight = _check_weight(weight)

    def __call__(self, input: Any, target: Any) -> Any:
        fast = self._whole(input, target)
        if fast is not None:
            return fast
        xp, (tp, fp, fn, _) = loss_statistics(self, input, target, squared=self.squared_pred)
        if not self.jaccard:
            fp = fp * 0.5
            fn = fn * 0.5
        f = 1 - (2 * tp + self.smooth_nr) / (2 * (tp + fp + fn) + self.smooth_dr)
        classes = f.shape[-1]
        if self.weight is not None and classes != 1:
            w = self.weight * classes if self._scalar_weight else self.weight
            if len(w) != classes:
                raise ValueError(
                    "The length of the `weight` sequence should be the same as the number of "
                    f"classes ({classes}, got {len(w)}). If `include_background=False`, the "
                    "weight should not include the background category class 0."
                )
            f = f * as_weight(xp, w, f)
        return _reduce(xp, f, self.reduction, input.ndim, keep=True)


def _check_weight(weight: Any) -> tuple[tuple[float, ...] | None, bool]:
    """The class weights as a tuple of floats, and whether ``weight`` was a scalar (one
    value for every class); a ``ValueError`` for a negative one."""
    if weight is None:
        return None, False
    values = weight.tolist() if hasattr(weight, "tolist") else weight
    scalar = isinstance(values, (int, float))
    values = [values] if scalar else list(values)
    try:
        out = tuple(float(v) for v in values)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"weight must be a number, a sequence of numbers or None, got {weight!r}"
        ) from exc
    if any(v < 0 for v in out):
        raise ValueError("the value/values of the `weight` should be no less than 0.")
    return out, scalar


class TverskyLoss(_MonaiLoss):
    """MONAI's ``TverskyLoss`` (``monai.losses.TverskyLoss``, 1.6.1) on any array library.

    ``1 - (tp + smooth_nr) / (tp + alpha fp + beta fn + smooth_dr)`` per sample and
    class. Shapes as in `DiceLoss`; ``reduction="none"`` returns (N, C')
    (``batch=True``: (C')). The parameters are those of `DiceLoss`, with ``alpha``
    (the weight of the false positives, default 0.5) and ``beta`` (of the false
    negatives, default 0.5).
    """

    core_kind = "tversky"

    def __init__(
        self,
        include_background: bool = True,
        to_onehot_y: bool = False,
        sigmoid: bool = False,
        softmax: bool = False,
        other_act: Callable[[Any], Any] | None = None,
        alpha: float = 0.5,
        beta: float = 0.5,
        reduction: str = "mean",
        smooth_nr: float = 1e-5,
        smooth_dr: float = 1e-5,
        batch: bool = False,
        soft_label: bool = False,
        ignore_index: int | None = None,
        *,
        sync: Callable[[Any], Any] | None = None,
    ) -> None:
        super().__init__(include_background, to_onehot_y, sigmoid, softmax, other_act,
                         reduction, smooth_nr, smooth_dr, batch, soft_label, ignore_index,
                         sync)
        self.alpha = float(alpha)
        self.beta = float(beta)

    def __call__(self, input: Any, target: Any) -> Any:
        fast = self._whole(input, target)
        if fast is not None:
            return fast
        xp, (tp, fp, fn, _) = loss_statistics(self, input, target)
        f = 1.0 - (tp + self.smooth_nr) / (tp + self.alpha * fp + self.beta * fn + self.smooth_dr)
        return _reduce(xp, f, self.reduction, input.ndim, keep=False)


class GeneralizedDiceLoss(_MonaiLoss):
    """MONAI's ``GeneralizedDiceLoss`` (``monai.losses.GeneralizedDiceLoss``, 1.6.1).

    ``1 - (2 sum_c w_c tp_c + smooth_nr) / (sum_c w_c (2 tp_c + fp_c + fn_c) + smooth_dr)``
    per sample (``batch=True``: once), with ``w_c = 1 / g_c ** 2`` (``"square"``),
    ``1 / g_c`` (``"simple"``) or 1 (``"uniform"``) of the target sum ``g_c``; a class
    absent from the target takes the largest weight of the present ones (0 if none).
    Shapes as in `DiceLoss`; ``reduction="none"`` returns (N, 1, 1, ..., 1)
    (``batch=True``: (1, 1, ..., 1)). The parameters are those of `DiceLoss`, with
    ``w_type`` (``"square"``, ``"simple"`` or ``"uniform"``: how the target sum becomes
    the class weight). ``ignore_index`` goes beyond MONAI, whose GeneralizedDiceLoss has
    no such option: pixels are left out as in `DiceLoss`.
    """

    def __init__(
        self,
        include_background: bool = True,
        to_onehot_y: bool = False,
        sigmoid: bool = False,
        softmax: bool = False,
        other_act: Callable[[Any], Any] | None = None,
        w_type: str = "square",
        reduction: str = "mean",
        smooth_nr: float = 1e-5,
        smooth_dr: float = 1e-5,
        batch: bool = False,
        soft_label: bool = False,
        ignore_index: int | None = None,
        *,
        sync: Callable[[Any], Any] | None = None,
    ) -> None:
        super().__init__(include_background, to_onehot_y, sigmoid, softmax, other_act,
                         reduction, smooth_nr, smooth_dr, batch, soft_label, ignore_index,
                         sync)
        value = getattr(w_type, "value", w_type)
        if value not in W_TYPES:
            raise ValueError(f"w_type must be one of {list(W_TYPES)}, got {w_type!r}")
        self.w_type = value

    def __call__(self, input: Any, target: Any) -> Any:
        xp, (tp, fp, fn, _) = loss_statistics(self, input, target)
        # the core's score takes the halved (Tversky) sums: MONAI's smoothing halved
        score = generalized_dice_score(
            xp, tp, tp + fp, tp + fn, weight_type=self.w_type,
            smooth_nr=self.smooth_nr / 2, smooth_dr=self.smooth_dr / 2, eps=0.0,
            absent="max", empty_one=False,
        )
        f = 1.0 - xp.reshape(score, (1,) if self.batch else (-1, 1))
        return _reduce(xp, f, self.reduction, input.ndim, keep=True)
