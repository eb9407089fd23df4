"""``MeanIoU``: a streaming, mergeable accumulator of the confusion matrix.

The state is one integer array (a plain sum over batches), so a distributed sync is a
sum (``torch.distributed.all_reduce``, ``jax.lax.psum``, ``dask`` ``sum``), and the
result after any sequence of updates equals one `jaccard_index`
call on the concatenated data. ``update_state``/``compute_state`` are pure functions of
the state, for ``jax.jit`` loops.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._lib._options import MULTICLASS_MODE
from .._lib._types import Average, IgnoreIndex, Mode
from ._averaging import reduce_confmat
from ._confusion import counts
from ._counts_accumulator import CountsAccumulator

__all__ = ["MeanIoU"]


class MeanIoU(CountsAccumulator):
    """Streaming dataset-level mean IoU (the confusion-matrix mIoU of torchmetrics'
    ``MulticlassJaccardIndex``, Keras ``MeanIoU``, mmseg).

    Not torchmetrics' ``segmentation.MeanIoU``, which averages per-image scores: for a
    per-image mean use `get_stats` with ``iou_score(reduction='macro-imagewise')``.

    Parameters
    ----------
    num_classes : int
        C (static: the state has a fixed shape).
    ignore_index : int or sequence of int, optional
        Target value (or values) whose pixels are not counted (255, -1, or a class in [0, C), which
        is then also left out of the averages).
    average : str, default 'macro'
        One of ``"macro"``, ``"micro"``, ``"weighted"``, ``"none"``.
        Reduction of `compute` (see `jaccard_index`).
    zero_division : float, default 0
        Score of a class with an empty union, and the result when nothing was counted.
    mode : str, default 'multiclass'
        One of ``"multiclass"``, ``"binary"``, ``"multilabel"``.
        Layout of ``preds`` and ``target``: labels or (N, C, \\*S) scores (multiclass), or
        0/1 maps and probabilities (binary, multilabel; the state is then per class).
    threshold : float or sequence of float, default 0.5
        Binary/multilabel floating predictions are positive where ``preds >= threshold``.
    sync : callable, optional
        Distributed evaluation: a function summing an array over all workers
        (`anyiou.distributed.torch_sync`, `anyiou.distributed.jax_sync`). `compute`,
        `per_class` and `compute_state` pass the counts through it (one all-reduce) and
        score the global counts; the local ``state`` is left as it is, so `compute` can be
        called again. Collective: every worker must call `compute` together.

    Attributes
    ----------
    state : dict or None
        ``{"confmat": array}``: (C, C) integer counts in multiclass mode (rows target,
        columns prediction), (C, 2, 2) per-class ``[[tn, fp], [fn, tp]]`` otherwise (C = 1
        for binary). int64 (int32 for JAX without x64). None before the first update.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import MeanIoU
    >>> m = MeanIoU(num_classes=3)
    >>> _ = m.update(np.array([[0, 1, 1, 1]]), np.array([[0, 0, 1, 1]]))
    >>> _ = m.update(np.array([[2, 0, 0, 0]]), np.array([[2, 2, 2, 0]]))
    >>> round(float(m.compute()), 6)
    0.466667
    >>> np.round(m.per_class(), 6).tolist()
    [0.4, 0.666667, 0.333333]
    """

    _key = "confmat"

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
    ) -> None:
        super().__init__(num_classes, ignore_index, average=average,
                         zero_division=zero_division, mode=mode, threshold=threshold,
                         sync=sync)

    @property
    def state_shape(self) -> tuple[int, ...]:
        """Shape of the counts: (C, C) multiclass, (C, 2, 2) binary/multilabel."""
        c = self.num_classes
        return (c, c) if self.mode == MULTICLASS_MODE else (c, 2, 2)

    @property
    def confmat(self) -> Any:
        """The accumulated confusion matrix (None before the first update)."""
        return None if self._state is None else self._state["confmat"]

    def _batch(self, preds: Any, target: Any) -> Any:
        new = counts(preds, target, self.num_classes, self.ignore_index, self.mode,
                     self.threshold)
        if tuple(new.shape) != self.state_shape:
            raise ValueError(
                f"preds have {new.shape[0]} classes but MeanIoU was built with num_classes="
                f"{self.num_classes}"
            )
        return new

    def _score(self, xp: Any, confmat: Any, average: Average | None) -> Any:
        return reduce_confmat(xp, confmat, dice=False, average=average,
                              ignore_index=self.ignore_index,
                              zero_division=self.zero_division)

    def __repr__(self) -> str:
        return (
            f"MeanIoU(num_classes={self.num_classes}, ignore_index={self.ignore_index}, "
            f"average={self.average!r}, zero_division={self.zero_division}, mode={self.mode!r})"
        )
