"""``MeanIoU`` as a ``torch.nn.Module`` with its counts in a registered buffer.

The counting and scoring are `anyiou.metrics.MeanIoU`'s pure functions (``init_state``,
``update_state``, ``compute_state``); this module only keeps their state in a buffer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .._lib._options import check_sync
from ..metrics import MeanIoU as _CoreMeanIoU

__all__ = ["MeanIoU"]


class MeanIoU(nn.Module):
    """Streaming dataset-level mean IoU (torchmetrics' ``MulticlassJaccardIndex``) as a
    ``torch.nn.Module``.

    ``metric(preds, target)`` adds the batch to the counts and returns the batch's own
    IoU (torchmetrics' ``forward``); ``update`` only adds; ``compute()`` scores everything
    seen since the last ``reset()``.

    Parameters
    ----------
    num_classes : int
        C, the number of classes (``preds`` are labels (N, \\*S) or scores (N, C, \\*S),
        argmaxed over axis 1; ``target`` integer labels (N, \\*S)).
    ignore_index : int, optional
        Target label whose pixels are not counted, as in `anyiou.metrics.MeanIoU`.
    average : str
        One of ``"macro"``, ``"micro"``, ``"weighted"``, ``"none"``.
        How ``compute()`` averages the per-class IoUs.
    zero_division : float, default 0.0
        Score of a class with an empty union (and of nothing counted).
    mode : str
        One of ``"multiclass"``, ``"binary"``, ``"multilabel"``.
        Layout of ``preds`` and ``target``, as in `anyiou.metrics.MeanIoU`.
    threshold : float or sequence of float, default 0.5
        Binary/multilabel floating predictions are positive where ``>= threshold``.
    sync : callable, optional
        Distributed evaluation: ``compute()`` and ``per_class()`` score
        ``sync(confmat)``, e.g. `anyiou.distributed.torch_sync` (a collective: every rank
        calls ``compute()``). The local counts and the per-batch values of ``forward`` are
        not synchronised.

    Attributes
    ----------
    confmat : torch.Tensor
        The counts, a persistent int64 buffer: (C, C) multiclass (rows target, columns
        prediction), (C, 2, 2) binary/multilabel. It moves with ``.to(device)`` (not with
        ``.half()``: counts stay integers) and is the only entry of ``state_dict()``.

    Notes
    -----
    ``compute()`` before any update scores zero counts: ``zero_division`` (0 by default).

    Examples
    --------
    >>> import torch
    >>> from anyiou.torch import MeanIoU
    >>> metric = MeanIoU(num_classes=3)
    >>> batch = metric(torch.tensor([[0, 1, 1, 1]]), torch.tensor([[0, 0, 1, 1]]))
    >>> metric.update(torch.tensor([[2, 0, 0, 0]]), torch.tensor([[2, 2, 2, 0]]))
    >>> round(metric.compute().item(), 6)
    0.466667
    >>> sorted(metric.state_dict())
    ['confmat']
    """

    confmat: torch.Tensor

    def __init__(
        self,
        num_classes: int,
        ignore_index: int | None = None,
        *,
        average: str | None = "macro",
        zero_division: float = 0.0,
        mode: str = "multiclass",
        threshold: Any = 0.5,
        sync: Callable[[Any], Any] | None = None,
    ) -> None:
        super().__init__()
        # the pure functions; sync is applied here, so that forward's batch value is local
        self.metric = _CoreMeanIoU(
            num_classes, ignore_index, average=average, zero_division=zero_division,
            mode=mode, threshold=threshold,
        )
        check_sync(sync)
        self.sync = sync
        state = self.metric.init_state(torch.zeros(()))
        self.register_buffer("confmat", state["confmat"])

    def _batch_counts(self, preds: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        for name, x in (("preds", preds), ("target", target)):
            if isinstance(x, torch.Tensor) and x.device != self.confmat.device:
                raise ValueError(
                    f"{name} is on {x.device} but the counts of MeanIoU are on "
                    f"{self.confmat.device}; move the metric with metric.to({str(x.device)!r})"
                )
        with torch.no_grad():
            return self.metric.update_state(None, preds, target)["confmat"]

    def forward(self, preds: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Add the batch to the counts and return the batch's IoU (not synchronised)."""
        batch = self._batch_counts(preds, target)
        self.confmat.add_(batch)
        return self.metric.compute_state({"confmat": batch})

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        """Add one batch (any batch size and spatial shape) to the counts."""
        self.confmat.add_(self._batch_counts(preds, target))

    def _global(self) -> dict[str, torch.Tensor]:
        return {"confmat": self.confmat if self.sync is None else self.sync(self.confmat)}

    def compute(self) -> torch.Tensor:
        """IoU of every batch since the last ``reset()``, reduced with ``average``."""
        return self.metric.compute_state(self._global())

    def per_class(self) -> torch.Tensor:
        """Per-class IoU, shape (C,) (``zero_division`` where the union is empty)."""
        return self.metric.compute_state(self._global(), average="none")

    def reset(self) -> None:
        """Set the counts to zero (in place: the buffer stays where it is)."""
        self.confmat.zero_()

    def extra_repr(self) -> str:
        """The options, shown by ``repr``."""
        m = self.metric
        return (
            f"num_classes={m.num_classes}, ignore_index={m.ignore_index}, "
            f"average={m.average!r}, zero_division={m.zero_division}, mode={m.mode!r}"
            + ("" if self.sync is None else f", sync={self.sync!r}")
        )
