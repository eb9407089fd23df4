"""``MeanIoU`` as a ``torchmetrics.Metric`` with its counts in a registered state.

The counting and scoring are `anyiou.metrics.MeanIoU`'s pure functions (``init_state``,
``update_state``, ``compute_state``); `CountsMetric` keeps their state for torchmetrics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .._lib._types import Average, IgnoreIndex, Mode
from ..metrics import MeanIoU as _CoreMeanIoU
from ._counts_metric import CountsMetric

__all__ = ["MeanIoU"]


class MeanIoU(CountsMetric):
    """Streaming dataset-level mean IoU (torchmetrics' ``MulticlassJaccardIndex``) as a
    ``torchmetrics.Metric``.

    ``metric(preds, target)`` adds the batch to the counts and returns the batch's own
    IoU (torchmetrics' ``forward``); ``update`` only adds; ``compute()`` scores everything
    seen since the last ``reset()``. It works wherever a torchmetrics metric does:
    ``self.log("val/miou", metric, on_epoch=True)`` in a Lightning module,
    ``MetricCollection``, and torchmetrics' own sum of the counts over the processes of
    ``torch.distributed`` at ``compute()``.

    Further keyword arguments are ``torchmetrics.Metric``'s (``sync_on_compute``,
    ``dist_sync_on_step``, ``process_group``, ``compute_on_cpu``, ...).

    Parameters
    ----------
    num_classes : int
        C, the number of classes (``preds`` are labels (N, \\*S) or scores (N, C, \\*S),
        argmaxed over axis 1; ``target`` integer labels (N, \\*S)).
    ignore_index : int or sequence of int, optional
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
        not synchronised. A hook replaces torchmetrics' own reduction
        (``sync_on_compute`` is then off, so the counts are summed once); without one,
        torchmetrics sums the counts when a process group is initialised.

    Attributes
    ----------
    confmat : torch.Tensor
        The counts, a persistent int64 torchmetrics state (summed over processes, as
        ``add_state(..., dist_reduce_fx="sum")``): (C, C) multiclass (rows target, columns
        prediction), (C, 2, 2) binary/multilabel. It moves with ``.to(device)`` (not with
        ``.half()``: counts stay integers) and is the only entry of ``state_dict()``.

    Notes
    -----
    ``compute()`` before any update scores zero counts: ``zero_division`` (0 by default),
    with torchmetrics' warning that ``compute`` was called before ``update``. As in
    torchmetrics, ``compute()`` returns a 0-d tensor where the result has one element
    (``average="none"`` with one class) and caches its value until the next update.

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
        ignore_index: IgnoreIndex = None,
        *,
        average: Average | None = "macro",
        zero_division: float = 0.0,
        mode: Mode = "multiclass",
        threshold: Any = 0.5,
        sync: Callable[[Any], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        core = _CoreMeanIoU(
            num_classes, ignore_index, average=average, zero_division=zero_division,
            mode=mode, threshold=threshold,
        )
        super().__init__(core, sync, kwargs)
