"""``BoundaryIoU`` as a ``torchmetrics.Metric`` with its band counts in a registered state.

The counting and scoring are `anyiou.metrics.BoundaryIoU`'s pure functions
(``init_state``, ``update_state``, ``compute_state``); `CountsMetric` keeps their state
for torchmetrics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .._lib._types import Average, IgnoreIndex, Mode
from ..metrics import BoundaryIoU as _CoreBoundaryIoU
from ._counts_metric import CountsMetric

__all__ = ["BoundaryIoU"]


class BoundaryIoU(CountsMetric):
    """Streaming dataset-level Boundary IoU (`anyiou.metrics.BoundaryIoU`) as a
    ``torchmetrics.Metric``.

    ``metric(preds, target)`` adds the batch's band counts and returns the batch's own
    Boundary IoU; ``update`` only adds; ``compute()`` scores everything seen since the
    last ``reset()``. Like `anyiou.torch.MeanIoU`, it works with ``self.log`` in a
    Lightning module, in a ``MetricCollection`` and with torchmetrics' own sum of the
    counts over the processes of ``torch.distributed``.

    Further keyword arguments are ``torchmetrics.Metric``'s (``sync_on_compute``,
    ``dist_sync_on_step``, ``process_group``, ``compute_on_cpu``, ...).

    Parameters
    ----------
    num_classes : int
        C; 1 in binary mode.
    ignore_index : int or sequence of int, optional
        Target label whose pixels are in neither band, as in `anyiou.metrics.BoundaryIoU`.
    average : str
        One of ``"macro"``, ``"micro"``, ``"weighted"``, ``"none"``.
        How ``compute()`` averages the per-class scores.
    zero_division : float, default 0.0
        Score of a class with an empty band union (and of nothing counted).
    mode : str
        One of ``"multiclass"``, ``"binary"``, ``"multilabel"``.
        Layout of ``preds`` and ``target``, as in `anyiou.metrics.BoundaryIoU`.
    threshold : float or sequence of float, default 0.5
        Binary/multilabel floating predictions are positive where ``>= threshold``.
    dilation_ratio : float, default 0.02
        Band width as a fraction of each batch's image diagonal.
    dilation : int, optional
        Band width in pixels (wins over ``dilation_ratio``).
    sync : callable, optional
        Distributed evaluation, as in `anyiou.torch.MeanIoU`: ``compute()`` and
        ``per_class()`` score ``sync(counts)`` and torchmetrics' own reduction is off.

    Attributes
    ----------
    counts : torch.Tensor
        The counts, a persistent int64 torchmetrics state of shape (3, C): per class the
        band intersection, the band union and the target band size. It moves with
        ``.to(device)`` and is the only entry of ``state_dict()``.

    Examples
    --------
    >>> import torch
    >>> from anyiou.torch import BoundaryIoU
    >>> target = torch.zeros(1, 6, 6, dtype=torch.int64)
    >>> target[0, 1:5, 1:5] = 1
    >>> metric = BoundaryIoU(num_classes=2, dilation=1, average="none")
    >>> batch = metric(torch.roll(target, 1, dims=2), target)
    >>> metric.counts[:, 1].tolist()  # intersection, union, target band
    [6, 18, 12]
    >>> metric.update(target, target)
    >>> round(metric.compute()[1].item(), 6)  # (6 + 12) / (18 + 12)
    0.6
    """

    counts: torch.Tensor

    def __init__(
        self,
        num_classes: int,
        ignore_index: IgnoreIndex = None,
        *,
        average: Average | None = "macro",
        zero_division: float = 0.0,
        mode: Mode = "multiclass",
        threshold: Any = 0.5,
        dilation_ratio: float = 0.02,
        dilation: int | None = None,
        sync: Callable[[Any], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        core = _CoreBoundaryIoU(
            num_classes, ignore_index, average=average, zero_division=zero_division,
            mode=mode, threshold=threshold, dilation_ratio=dilation_ratio, dilation=dilation,
        )
        super().__init__(core, sync, kwargs)

    def _options_repr(self) -> str:
        m = self.metric
        width = (f"dilation={m.dilation}" if m.dilation is not None
                 else f"dilation_ratio={m.dilation_ratio}")
        return f"{super()._options_repr()}, {width}"
