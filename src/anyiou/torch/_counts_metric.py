"""``CountsMetric``: a core streaming metric (`anyiou.metrics.MeanIoU`,
`anyiou.metrics.BoundaryIoU`) as a ``torchmetrics.Metric``.

The counting and scoring are the core metric's pure functions (``init_state``,
``update_state``, ``compute_state``); this class only keeps their one integer count array
as a torchmetrics state (``add_state(..., dist_reduce_fx="sum", persistent=True)``), so
``self.log(name, metric)``, ``MetricCollection`` and torchmetrics' own DDP reduction work
as for any torchmetrics metric. anyiou's ``sync=`` hook is the alternative to that
reduction: with a hook, torchmetrics' ``sync_on_compute`` is off, so counts are summed
once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torchmetrics import Metric

from .._lib._options import check_sync

__all__ = ["CountsMetric"]


class CountsMetric(Metric):
    """Base class of `anyiou.torch.MeanIoU` and `anyiou.torch.BoundaryIoU` (see their
    docstrings)."""

    is_differentiable: bool | None = False
    higher_is_better: bool | None = True
    # the state is a plain sum over batches: forward updates once and adds the batch
    full_state_update: bool | None = False
    plot_lower_bound: float | None = 0.0
    plot_upper_bound: float | None = 1.0
    sync_on_compute: bool
    metric: Any

    def __init__(
        self, core: Any, sync: Callable[[Any], Any] | None, kwargs: dict[str, Any]
    ) -> None:
        check_sync(sync)
        if sync is not None and kwargs.get("sync_on_compute"):
            raise ValueError(
                "sync and sync_on_compute=True would both sum the counts over the "
                "processes; pass one of them"
            )
        super().__init__(**kwargs)
        #: torchmetrics' setting, used again when the hook is removed (``sync = None``)
        self._sync_on_compute = self.sync_on_compute
        # the pure functions; sync is applied here, so that forward's batch value is local
        self.metric = core
        self._key = core._key
        self._local = False
        self.add_state(self._key, default=core.init_state(torch.zeros(()))[self._key],
                       dist_reduce_fx="sum", persistent=True)
        self.sync = sync

    # -- anyiou's sync hook, in place of torchmetrics' (the Metric.sync method) ----------

    @property
    def sync(self) -> Callable[[Any], Any] | None:  # type: ignore[override]
        """The ``sync=`` hook (None: torchmetrics' own reduction, ``sync_on_compute``).

        Setting a hook turns torchmetrics' ``sync_on_compute`` off; setting None restores
        it.
        """
        return self._sync_hook

    @sync.setter
    def sync(self, hook: Callable[[Any], Any] | None) -> None:
        check_sync(hook)
        self._sync_hook = hook
        self.sync_on_compute = self._sync_on_compute if hook is None else False
        self._to_sync = self.sync_on_compute

    @contextmanager
    def sync_context(
        self,
        dist_sync_fn: Callable | None = None,
        process_group: Any | None = None,
        should_sync: bool = True,
        should_unsync: bool = True,
        distributed_available: Callable | None = None,
    ) -> Iterator[None]:
        """torchmetrics' ``sync_context``, with ``Metric.sync`` (``sync`` is the hook)."""
        Metric.sync(self, dist_sync_fn=dist_sync_fn, process_group=process_group,
                    should_sync=should_sync, distributed_available=distributed_available)
        yield
        self.unsync(should_unsync=self._is_synced and should_unsync)

    # -- the torchmetrics API -------------------------------------------------------------

    def _state(self) -> torch.Tensor:
        """The local count state (the tensor torchmetrics registered)."""
        return getattr(self, self._key)

    def _batch_counts(self, preds: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        state = self._state()
        for name, x in (("preds", preds), ("target", target)):
            if isinstance(x, torch.Tensor) and x.device != state.device:
                raise ValueError(
                    f"{name} is on {x.device} but the counts of {type(self).__name__} are on "
                    f"{state.device}; move the metric with metric.to({str(x.device)!r})"
                )
        with torch.no_grad():
            return self.metric.update_state(None, preds, target)[self._key]

    def forward(self, preds: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Add the batch to the counts and return the batch's score (not synchronised)."""
        self._local = True  # the batch value: no sync hook (a collective) per batch
        try:
            return super().forward(preds, target)
        finally:
            self._local = False

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        """Add one batch (any batch size and spatial shape) to the counts."""
        state = self._state()
        setattr(self, self._key, state + self._batch_counts(preds, target).to(state.dtype))

    def _global(self) -> dict[str, torch.Tensor]:
        counts = self._state()
        hook = self._sync_hook
        return {self._key: counts if hook is None or self._local else hook(counts)}

    def compute(self) -> torch.Tensor:
        """The score of every batch since the last ``reset()``, reduced with ``average``."""
        return self.metric.compute_state(self._global())

    def per_class(self) -> torch.Tensor:
        """Per-class scores, shape (C,) (``zero_division`` where the union is empty)."""
        with self.sync_context(dist_sync_fn=self.dist_sync_fn, should_sync=self._to_sync,
                               should_unsync=True):
            return self.metric.compute_state(self._global(), average="none")

    def _load_from_state_dict(
        self,
        state_dict: dict,
        prefix: str,
        local_metadata: dict,
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        # as a registered buffer: checked shape, copied onto the counts' device and dtype
        name = prefix + self._key
        current = self._state()
        if name in state_dict:
            value = state_dict.pop(name)
            if not isinstance(value, torch.Tensor) or value.shape != current.shape:
                shape = tuple(getattr(value, "shape", ()))
                error_msgs.append(
                    f"size mismatch for {name}: copying a param with shape {shape} from "
                    f"checkpoint, the shape in current model is {tuple(current.shape)}."
                )
            else:
                setattr(self, self._key,
                        value.detach().to(device=current.device, dtype=current.dtype).clone())
        elif strict and self._persistent[self._key]:
            missing_keys.append(name)
        nn.Module._load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                                        missing_keys, unexpected_keys, error_msgs)

    def _options_repr(self) -> str:
        m = self.metric
        return (
            f"num_classes={m.num_classes}, ignore_index={m.ignore_index}, "
            f"average={m.average!r}, zero_division={m.zero_division}, mode={m.mode!r}"
        )

    def extra_repr(self) -> str:
        """The options, shown by ``repr``."""
        hook = self._sync_hook
        return self._options_repr() + ("" if hook is None else f", sync={hook!r}")
