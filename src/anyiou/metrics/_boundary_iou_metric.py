"""``BoundaryIoU``: a streaming, mergeable accumulator of Boundary IoU counts.

A class of its own rather than an option of `MeanIoU`: its state is not a confusion
matrix (band pixels of one image are not a partition of its pixels, so no (C, C)
matrix holds them), and its options (the band width) would be meaningless for
`MeanIoU`. The state is one integer array of per-class sums, so a distributed sync is
one sum over workers, and the result after any sequence of updates equals one
`boundary_iou` call on the concatenated batches (images of one shape per batch; the
band width is resolved per batch from its own shape when ``dilation_ratio`` is used).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._lib._namespace import get_namespace
from .._lib._options import MULTICLASS_MODE
from .._lib._types import Average, IgnoreIndex, Mode
from ._boundary import boundary_counts, check_dilation, reduce_boundary
from ._counts_accumulator import CountsAccumulator

__all__ = ["BoundaryIoU"]


class BoundaryIoU(CountsAccumulator):
    """Streaming dataset-level Boundary IoU (see `boundary_iou`).

    Parameters
    ----------
    num_classes : int
        C (static: the state has a fixed shape); 1 in binary mode.
    ignore_index : int or sequence of int, optional
        Target value (or values) whose pixels are in neither band; void counts as "not this class"
        around it (see `boundary_iou`).
    average : str, default 'macro'
        One of ``"macro"``, ``"micro"``, ``"weighted"``, ``"none"``.
        Reduction of `compute` (see `boundary_iou`).
    zero_division : float, default 0
        Score of a class with an empty band union, and the result when nothing was
        counted.
    mode : str, default 'multiclass'
        One of ``"multiclass"``, ``"binary"``, ``"multilabel"``.
        Layout of ``preds`` and ``target``, as in `boundary_iou`.
    threshold : float or sequence of float, default 0.5
        Binary/multilabel floating predictions are positive where ``preds >= threshold``.
    dilation_ratio : float, default 0.02
        Keyword-only. Band width as a fraction of each batch's image diagonal.
    dilation : int, optional
        Keyword-only. Band width in pixels (wins over ``dilation_ratio``).
    sync : callable, optional
        Keyword-only. Sums an array over workers (`anyiou.distributed.torch_sync`,
        `anyiou.distributed.jax_sync`); `compute` then scores the global counts, as in
        `MeanIoU`.

    Attributes
    ----------
    state : dict or None
        ``{"counts": array}`` of shape (3, C): per class, the boundary intersection
        ``|band_G ∩ band_P|``, the boundary union ``|band_G ∪ band_P|`` and the target
        band size ``|band_G|`` (the support of ``average='weighted'``). int64 (int32 for
        JAX without x64). None before the first update.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.metrics import BoundaryIoU
    >>> target = np.zeros((1, 6, 6), dtype=np.int64)
    >>> target[0, 1:5, 1:5] = 1
    >>> m = BoundaryIoU(num_classes=2, dilation=1)
    >>> _ = m.update(np.roll(target, 1, axis=2), target)
    >>> m.state["counts"][:, 1].tolist()  # intersection, union, target band
    [6, 18, 12]
    >>> _ = m.update(target, target)
    >>> round(float(m.per_class()[1]), 6)  # (6 + 12) / (18 + 12)
    0.6
    """

    _config_words = "num_classes, ignore_index, mode, threshold and band width"
    dilation_ratio: float
    dilation: int | None

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
    ) -> None:
        super().__init__(num_classes, ignore_index, average=average,
                         zero_division=zero_division, mode=mode, threshold=threshold,
                         sync=sync)
        self.dilation_ratio, self.dilation = check_dilation(dilation_ratio, dilation)

    @property
    def state_shape(self) -> tuple[int, int]:
        """Shape of ``state["counts"]``: (3, C)."""
        return (3, self.num_classes)

    def _config(self) -> tuple:
        return (*super()._config(), self.dilation_ratio, self.dilation)

    def _batch(self, preds: Any, target: Any) -> Any:
        tp, fp, fn = boundary_counts(preds, target, self.num_classes, self.ignore_index,
                                     self.mode, self.threshold, self.dilation_ratio,
                                     self.dilation, per_image=False)
        if tp.shape[1] != self.num_classes:
            raise ValueError(
                f"preds have {tp.shape[1]} classes but BoundaryIoU was built with "
                f"num_classes={self.num_classes}"
            )
        xp = get_namespace(tp=tp)
        return xp.stack([tp[0, :], tp[0, :] + fp[0, :] + fn[0, :], tp[0, :] + fn[0, :]])

    def _score(self, xp: Any, counts: Any, average: Average | None) -> Any:
        inter, union, target = counts[0, :], counts[1, :], counts[2, :]
        return reduce_boundary(xp, inter, union - target, target - inter,
                               multilabel=self.mode != MULTICLASS_MODE, average=average,
                               ignore_index=self.ignore_index,
                               zero_division=self.zero_division)

    def __repr__(self) -> str:
        width = (f"dilation={self.dilation}" if self.dilation is not None
                 else f"dilation_ratio={self.dilation_ratio}")
        return (f"BoundaryIoU(num_classes={self.num_classes}, ignore_index="
                f"{self.ignore_index}, average={self.average!r}, mode={self.mode!r}, {width})")
