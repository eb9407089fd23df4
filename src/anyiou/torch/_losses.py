"""The five losses as ``torch.nn.Module``\\ s, with smp 0.6.0's constructors.

Each module holds one anyiou loss (``anyiou.JaccardLoss``, ...) and calls it in
``forward``: one pipeline, checked options, the same numbers on every backend. The
modules have no parameters and no buffers: ``state_dict()`` is empty and the options are
constructor arguments (rebuild the loss to change one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from .. import losses as _core
from .._lib._options import refuse_torchscript
from .._lib._types import EmptyRule, IgnoreIndex, LossReduction, LovaszClasses, Mode, WeightType

__all__ = ["DiceLoss", "GeneralizedDiceLoss", "JaccardLoss", "LovaszLoss", "TverskyLoss"]


class _LossModule(nn.Module):
    """A ``nn.Module`` around one anyiou loss object (``self.criterion``)."""

    criterion: Any

    def __init__(self, criterion: Any) -> None:
        super().__init__()
        self.criterion = criterion

    if TYPE_CHECKING:  # nn.Module.__call__ returns Any; calling the loss runs forward
        def __call__(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor: ...

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        """The loss of one batch: ``criterion(y_pred, y_true)`` (smp's argument order)."""
        return self.criterion(y_pred, y_true)

    # The options read like smp's attributes (``loss.mode``, ``loss.ignore_index``, ...).
    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            criterion = self.__dict__.get("criterion")
            if criterion is not None and name in vars(criterion):
                return getattr(criterion, name)
            raise

    def __setattr__(self, name: str, value: Any) -> None:
        criterion = self.__dict__.get("criterion")
        if criterion is not None and name in vars(criterion):
            raise AttributeError(
                f"{type(self).__name__}.{name} is fixed at construction (options are checked "
                f"once); build a new {type(self).__name__} with {name}={value!r}"
            )
        super().__setattr__(name, value)

    def __prepare_scriptable__(self) -> Any:
        raise refuse_torchscript(self)

    def extra_repr(self) -> str:
        opts = vars(self.criterion)
        return ", ".join(f"{k}={v!r}" for k, v in opts.items() if not k.startswith("_"))


class JaccardLoss(_LossModule):
    """Soft Jaccard (IoU) loss as a ``torch.nn.Module``; a drop-in for smp 0.6.0's.

    Parameters, formula, shapes and outputs are those of `anyiou.JaccardLoss`: smp's
    positional ``mode, classes, log_loss, from_logits, smooth, ignore_index, eps,
    class_weights``, then keyword-only ``per_image, reduction, empty, class_axis, sync,
    smooth_nr, smooth_dr, squared_pred``.
    ``forward(y_pred, y_true)`` returns a tensor on ``y_pred``'s device.

    Examples
    --------
    >>> import torch
    >>> from anyiou.torch import JaccardLoss
    >>> loss = JaccardLoss("multiclass", ignore_index=255)
    >>> logits = torch.zeros(1, 3, 2, 2, requires_grad=True)
    >>> value = loss(logits, torch.tensor([[[0, 1], [2, 255]]]))
    >>> round(value.item(), 6)  # each class: (1/3) / (1 + 1 - 1/3)
    0.8
    >>> value.backward()
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
        reduction: LossReduction = "mean",
        empty: EmptyRule = "zero",
        class_axis: int = 1,
        sync: Callable[[Any], Any] | None = None,
        smooth_nr: float | None = None,
        smooth_dr: float | None = None,
        squared_pred: bool = False,
    ) -> None:
        super().__init__(_core.JaccardLoss(
            mode, classes, log_loss, from_logits, smooth, ignore_index, eps, class_weights,
            per_image=per_image, reduction=reduction, empty=empty, class_axis=class_axis,
            sync=sync, smooth_nr=smooth_nr, smooth_dr=smooth_dr, squared_pred=squared_pred,
        ))


class DiceLoss(_LossModule):
    """Soft Dice loss as a ``torch.nn.Module``; a drop-in for smp 0.6.0's.

    Parameters, formula, shapes and outputs are those of `anyiou.DiceLoss` (the
    constructor of `JaccardLoss` above).

    Examples
    --------
    >>> import torch
    >>> from anyiou.torch import DiceLoss
    >>> p = torch.tensor([[0.8, 0.6, 0.2, 0.0]]); t = torch.tensor([[1, 1, 0, 0]])
    >>> round(DiceLoss("binary", from_logits=False)(p, t).item(), 6)  # 1 - 2*1.4/3.6
    0.222222
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
        reduction: LossReduction = "mean",
        empty: EmptyRule = "zero",
        class_axis: int = 1,
        sync: Callable[[Any], Any] | None = None,
        smooth_nr: float | None = None,
        smooth_dr: float | None = None,
        squared_pred: bool = False,
    ) -> None:
        super().__init__(_core.DiceLoss(
            mode, classes, log_loss, from_logits, smooth, ignore_index, eps, class_weights,
            per_image=per_image, reduction=reduction, empty=empty, class_axis=class_axis,
            sync=sync, smooth_nr=smooth_nr, smooth_dr=smooth_dr, squared_pred=squared_pred,
        ))


class TverskyLoss(_LossModule):
    """Tversky / focal Tversky loss as a ``torch.nn.Module``; a drop-in for smp 0.6.0's.

    Parameters, formula, shapes and outputs are those of `anyiou.TverskyLoss`: smp's
    positional ``mode, classes, log_loss, from_logits, smooth, ignore_index, eps, alpha,
    beta, gamma, class_weights``, then keyword-only ``per_image, reduction, empty,
    class_axis, sync, smooth_nr, smooth_dr, squared_pred``.

    Examples
    --------
    >>> import torch
    >>> from anyiou.torch import TverskyLoss
    >>> p = torch.tensor([[0.7, 0.2, 0.9, 0.4]]); t = torch.tensor([[1, 1, 0, 0]])
    >>> loss = TverskyLoss("binary", from_logits=False, alpha=0.3, beta=0.7)
    >>> round(loss(p, t).item(), 6)  # 1 - 0.9 / (0.9 + 0.3*1.3 + 0.7*1.1)
    0.563107
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
        reduction: LossReduction = "mean",
        empty: EmptyRule = "zero",
        class_axis: int = 1,
        sync: Callable[[Any], Any] | None = None,
        smooth_nr: float | None = None,
        smooth_dr: float | None = None,
        squared_pred: bool = False,
    ) -> None:
        super().__init__(_core.TverskyLoss(
            mode, classes, log_loss, from_logits, smooth, ignore_index, eps, alpha, beta,
            gamma, class_weights, per_image=per_image, reduction=reduction, empty=empty,
            class_axis=class_axis, sync=sync, smooth_nr=smooth_nr, smooth_dr=smooth_dr,
            squared_pred=squared_pred,
        ))


class GeneralizedDiceLoss(_LossModule):
    """Generalized Dice loss as a ``torch.nn.Module``.

    Parameters, formula, shapes and outputs are those of `anyiou.GeneralizedDiceLoss`:
    positional ``mode, classes, from_logits, smooth, ignore_index, eps``, then
    keyword-only ``weight_type, per_image, reduction, class_axis, sync, smooth_nr,
    smooth_dr, squared_pred``.

    Examples
    --------
    >>> import torch
    >>> from anyiou.torch import GeneralizedDiceLoss
    >>> p = torch.tensor([[[0.9, 0.8, 0.7, 0.6, 0.5], [0.1, 0.2, 0.3, 0.4, 0.5]]])
    >>> t = torch.tensor([[0, 0, 0, 0, 1]])
    >>> round(GeneralizedDiceLoss("multiclass", from_logits=False)(p, t).item(), 6)
    0.536842
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
        reduction: LossReduction = "mean",
        class_axis: int = 1,
        sync: Callable[[Any], Any] | None = None,
        smooth_nr: float | None = None,
        smooth_dr: float | None = None,
        squared_pred: bool = False,
    ) -> None:
        super().__init__(_core.GeneralizedDiceLoss(
            mode, classes, from_logits, smooth, ignore_index, eps, weight_type=weight_type,
            per_image=per_image, reduction=reduction, class_axis=class_axis, sync=sync,
            smooth_nr=smooth_nr, smooth_dr=smooth_dr, squared_pred=squared_pred,
        ))


class LovaszLoss(_LossModule):
    """Lovasz hinge / Lovasz-softmax loss as a ``torch.nn.Module``; a drop-in for smp 0.6.0.

    Parameters, formula, shapes and outputs are those of `anyiou.LovaszLoss`: smp's
    positional ``mode, per_image, ignore_index, from_logits``, then keyword-only
    ``class_axis``, ``classes`` and ``class_weights`` (mmsegmentation's multiclass options)
    (``from_logits`` has no effect, as in smp: pass logits).

    Examples
    --------
    >>> import torch
    >>> from anyiou.torch import LovaszLoss
    >>> z = torch.tensor([[2.0, -0.5, 0.5]]); g = torch.tensor([[1, 0, 0]])
    >>> round(LovaszLoss("binary")(z, g).item(), 6)  # 1.5/2 + 0.5/6
    0.833333
    """

    def __init__(
        self,
        mode: Mode,
        per_image: bool = False,
        ignore_index: IgnoreIndex = None,
        from_logits: bool = True,
        *,
        class_axis: int = 1,
        classes: LovaszClasses | Sequence[int] = "present",
        class_weights: Sequence[float] | None = None,
    ) -> None:
        super().__init__(
            _core.LovaszLoss(mode, per_image, ignore_index, from_logits, class_axis=class_axis,
                             classes=classes, class_weights=class_weights)
        )
