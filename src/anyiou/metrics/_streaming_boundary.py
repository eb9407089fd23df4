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

from .._lib._namespace import device_of, get_namespace, index_dtype
from .._lib._options import (
    MODES,
    MULTICLASS_MODE,
    check_choice,
    check_ignore_index,
    check_num_classes,
    check_threshold,
)
from ._boundary import boundary_counts, check_dilation, reduce_boundary
from ._reduce import check_average, check_confmat_zero_division

__all__ = ["BoundaryIoU"]

State = dict[str, Any]


class BoundaryIoU:
    """Streaming dataset-level Boundary IoU (see `boundary_iou`).

    Parameters
    ----------
    num_classes : int
        C (static: the state has a fixed shape); 1 in binary mode.
    ignore_index : int, optional
        Target value whose pixels are in neither band; void counts as "not this class"
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

    def __init__(
        self,
        num_classes: int,
        ignore_index: int | None = None,
        *,
        average: str | None = "macro",
        zero_division: float = 0.0,
        mode: str = "multiclass",
        threshold: Any = 0.5,
        dilation_ratio: float = 0.02,
        dilation: int | None = None,
        sync: Callable[[Any], Any] | None = None,
    ) -> None:
        self.num_classes = check_num_classes(num_classes)
        self.ignore_index = check_ignore_index(ignore_index)
        self.average = check_average(average)
        self.zero_division = check_confmat_zero_division(zero_division)
        self.mode = check_choice("mode", mode, MODES)
        if self.mode == "binary" and self.num_classes != 1:
            raise ValueError(
                f"num_classes must be 1 in binary mode (one foreground channel); got "
                f"{self.num_classes}"
            )
        self.threshold = check_threshold(
            threshold, None if self.mode == MULTICLASS_MODE else self.num_classes
        )
        self.dilation_ratio, self.dilation = check_dilation(dilation_ratio, dilation)
        if sync is not None and not callable(sync):
            raise TypeError(
                f"sync must be a callable that sums an array over workers; got {sync!r}"
            )
        self.sync = sync
        self._state: State | None = None

    # -- pure functional core ---------------------------------------------------------

    @property
    def state_shape(self) -> tuple[int, int]:
        """Shape of ``state["counts"]``: (3, C)."""
        return (3, self.num_classes)

    def _config(self) -> tuple:
        return (self.num_classes, self.ignore_index, self.mode, self.threshold,
                self.dilation_ratio, self.dilation)

    def init_state(self, like: Any) -> State:
        """A zero state in the library and on the device of the array ``like``."""
        xp = get_namespace(like=like)
        dev = device_of(like)
        return {"counts": xp.zeros(self.state_shape, dtype=index_dtype(xp, dev), device=dev)}

    def update_state(self, state: State | None, preds: Any, target: Any) -> State:
        """Pure update: ``state`` plus the band counts of one batch (``None``: from zero).
        jit-safe (the configuration is static)."""
        tp, fp, fn = boundary_counts(preds, target, self.num_classes, self.ignore_index,
                                     self.mode, self.threshold, self.dilation_ratio,
                                     self.dilation, per_image=False)
        if tp.shape[1] != self.num_classes:
            raise ValueError(
                f"preds have {tp.shape[1]} classes but BoundaryIoU was built with "
                f"num_classes={self.num_classes}"
            )
        xp = get_namespace(tp=tp)
        new = xp.stack([tp[0, :], tp[0, :] + fp[0, :] + fn[0, :], tp[0, :] + fn[0, :]])
        if state is None:
            return {"counts": new}
        old = self._checked(state)
        xp = get_namespace(state=old, update=new)
        return {"counts": old + xp.astype(new, old.dtype)}

    def compute_state(self, state: State, average: str | None | object = ...) -> Any:
        """Pure compute: the Boundary IoU of ``state`` (``average`` defaults to the
        metric's); with ``sync``, of the counts summed over workers."""
        counts = self._checked(state)
        if self.sync is not None:
            counts = self.sync(counts)
        avg = self.average if average is ... else check_average(average)
        xp = get_namespace(counts=counts)
        inter, union, target = counts[0, :], counts[1, :], counts[2, :]
        return reduce_boundary(xp, inter, union - target, target - inter,
                               multilabel=self.mode != MULTICLASS_MODE, average=avg,
                               ignore_index=self.ignore_index,
                               zero_division=self.zero_division)

    def _checked(self, state: Any) -> Any:
        if not isinstance(state, dict) or "counts" not in state:
            raise TypeError(
                f"state must be a dict {{'counts': array}}; got {type(state).__name__}"
            )
        counts = state["counts"]
        xp = get_namespace(**{"state['counts']": counts})
        if tuple(counts.shape) != self.state_shape:
            raise ValueError(
                f"state['counts'] must have shape {self.state_shape}; got "
                f"{tuple(counts.shape)}"
            )
        expected = index_dtype(xp, device_of(counts))
        if counts.dtype != expected:
            raise TypeError(
                f"state['counts'] must hold integer counts of dtype {expected} (the dtype of "
                f"init_state and update_state); got {counts.dtype}"
            )
        return counts

    # -- stateful API -----------------------------------------------------------------

    @property
    def state(self) -> State | None:
        """The accumulated counts ``{"counts": array}`` (None before the first update)."""
        return self._state

    def load_state(self, state: State) -> BoundaryIoU:
        """Replace the state, e.g. by the sum of every process's state."""
        self._state = {"counts": self._checked(state)}
        return self

    def update(self, preds: Any, target: Any) -> BoundaryIoU:
        """Add one batch. Returns ``self``."""
        self._state = self.update_state(self._state, preds, target)
        return self

    def compute(self) -> Any:
        """Boundary IoU of everything seen so far, reduced with ``average``."""
        if self._state is None:
            raise RuntimeError("BoundaryIoU.compute() called before any update()")
        return self.compute_state(self._state)

    def per_class(self) -> Any:
        """Per-class Boundary IoU, shape (C,)."""
        if self._state is None:
            raise RuntimeError("BoundaryIoU.per_class() called before any update()")
        return self.compute_state(self._state, average="none")

    def merge(self, other: BoundaryIoU) -> BoundaryIoU:
        """Add the counts of another ``BoundaryIoU`` with the same configuration."""
        if not isinstance(other, BoundaryIoU):
            raise TypeError(f"other must be a BoundaryIoU; got {type(other).__name__}")
        if self._config() != other._config():
            raise ValueError(
                "can only merge BoundaryIoU metrics with the same num_classes, ignore_index, "
                f"mode, threshold and band width; got {self._config()} and {other._config()}"
            )
        if other._state is None:
            return self
        if self._state is None:
            self._state = {"counts": other._state["counts"]}
            return self
        get_namespace(state=self._state["counts"], other=other._state["counts"])
        self._state = {"counts": self._state["counts"] + other._state["counts"]}
        return self

    def reset(self) -> BoundaryIoU:
        """Forget every update."""
        self._state = None
        return self

    def __repr__(self) -> str:
        width = (f"dilation={self.dilation}" if self.dilation is not None
                 else f"dilation_ratio={self.dilation_ratio}")
        return (f"BoundaryIoU(num_classes={self.num_classes}, ignore_index="
                f"{self.ignore_index}, average={self.average!r}, mode={self.mode!r}, {width})")
