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

from .._lib._namespace import device_of, get_namespace, index_dtype
from .._lib._options import (
    MODES,
    MULTICLASS_MODE,
    check_choice,
    check_ignore_index,
    check_num_classes,
    check_threshold,
)
from ._confusion import counts
from ._reduce import check_average, check_confmat_zero_division, reduce_confmat

__all__ = ["MeanIoU"]

State = dict[str, Any]


class MeanIoU:
    """Streaming dataset-level mean IoU (the confusion-matrix mIoU of torchmetrics'
    ``MulticlassJaccardIndex``, Keras ``MeanIoU``, mmseg).

    Not torchmetrics' ``segmentation.MeanIoU``, which averages per-image scores: for a
    per-image mean use `get_stats` with ``iou_score(reduction='macro-imagewise')``.

    Parameters
    ----------
    num_classes : int
        C (static: the state has a fixed shape).
    ignore_index : int, optional
        Target value whose pixels are not counted (255, -1, or a class in [0, C), which
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
        # checked once here (one value per class outside multiclass mode, where it is
        # unused) and kept as a float or tuple, so merge() can compare configurations
        self.threshold = check_threshold(
            threshold, None if self.mode == MULTICLASS_MODE else self.num_classes
        )
        if sync is not None and not callable(sync):
            raise TypeError(
                f"sync must be a callable that sums an array over workers; got {sync!r}"
            )
        self.sync = sync
        self._state: State | None = None

    # -- pure functional core ---------------------------------------------------------

    @property
    def state_shape(self) -> tuple[int, ...]:
        """Shape of the counts: (C, C) multiclass, (C, 2, 2) binary/multilabel."""
        c = self.num_classes
        return (c, c) if self.mode == MULTICLASS_MODE else (c, 2, 2)

    def init_state(self, like: Any) -> State:
        """A zero state in the library and on the device of the array ``like``."""
        xp = get_namespace(like=like)
        dev = device_of(like)
        return {"confmat": xp.zeros(self.state_shape, dtype=index_dtype(xp, dev), device=dev)}

    def update_state(self, state: State | None, preds: Any, target: Any) -> State:
        """Pure update: ``state + counts(preds, target)``; ``state=None`` starts at zero.

        jit-safe (the configuration is static): ``jax.jit(metric.update_state)``.
        """
        new = counts(preds, target, self.num_classes, self.ignore_index, self.mode,
                     self.threshold)
        if tuple(new.shape) != self.state_shape:
            raise ValueError(
                f"preds have {new.shape[0]} classes but MeanIoU was built with num_classes="
                f"{self.num_classes}"
            )
        if state is None:
            return {"confmat": new}
        old = self._checked(state)
        xp = get_namespace(state=old, update=new)
        return {"confmat": old + xp.astype(new, old.dtype)}

    def compute_state(self, state: State, average: str | None | object = ...) -> Any:
        """Pure compute: the IoU of ``state`` (``average`` defaults to the metric's).

        With ``sync``, the IoU of ``sync(state["confmat"])`` (the counts of every worker).
        """
        confmat = self._checked(state)
        if self.sync is not None:
            confmat = self.sync(confmat)
        avg = self.average if average is ... else check_average(average)
        xp = get_namespace(confmat=confmat)
        return reduce_confmat(xp, confmat, dice=False, average=avg,
                              ignore_index=self.ignore_index,
                              zero_division=self.zero_division)

    def _checked(self, state: Any) -> Any:
        if not isinstance(state, dict) or "confmat" not in state:
            raise TypeError(
                f"state must be a dict {{'confmat': array}}; got {type(state).__name__}"
            )
        confmat = state["confmat"]
        xp = get_namespace(**{"state['confmat']": confmat})
        if tuple(confmat.shape) != self.state_shape:
            raise ValueError(
                f"state['confmat'] must have shape {self.state_shape}; got {tuple(confmat.shape)}"
            )
        # the counts of init_state/update_state: narrower integers would overflow (or,
        # unsigned, wrap) as batches are added, and floats round beyond 2**24
        expected = index_dtype(xp, device_of(confmat))
        if confmat.dtype != expected:
            raise TypeError(
                f"state['confmat'] must hold integer counts of dtype {expected} (the dtype of "
                f"init_state and update_state); got {confmat.dtype}"
            )
        return confmat

    # -- stateful API -----------------------------------------------------------------

    @property
    def state(self) -> State | None:
        """The accumulated counts ``{"confmat": array}`` (None before the first update)."""
        return self._state

    @property
    def confmat(self) -> Any:
        """The accumulated confusion matrix (None before the first update)."""
        return None if self._state is None else self._state["confmat"]

    def load_state(self, state: State) -> MeanIoU:
        """Replace the state, e.g. by the sum of every process's state after a sync."""
        confmat = self._checked(state)
        self._state = {"confmat": confmat}
        return self

    def update(self, preds: Any, target: Any) -> MeanIoU:
        """Add one batch (any batch size and spatial shape). Returns ``self``."""
        self._state = self.update_state(self._state, preds, target)
        return self

    def compute(self) -> Any:
        """IoU of everything seen so far, reduced with ``average``.

        The ``macro`` mean leaves out the classes absent from every target and prediction
        so far (as torchmetrics, Keras and sklearn do); `per_class` reports them as
        ``zero_division``.
        """
        if self._state is None:
            raise RuntimeError("MeanIoU.compute() called before any update()")
        return self.compute_state(self._state)

    def per_class(self) -> Any:
        """Per-class IoU, shape (C,) (``zero_division`` where the union is empty).

        A class absent from every target and prediction so far gets ``zero_division`` (0
        by default), so ``per_class().mean()`` is below `compute` when ``num_classes``
        exceeds the classes seen; pass ``zero_division=float("nan")`` to tell them apart.
        """
        if self._state is None:
            raise RuntimeError("MeanIoU.per_class() called before any update()")
        return self.compute_state(self._state, average="none")

    def merge(self, other: MeanIoU) -> MeanIoU:
        """Add the counts of another ``MeanIoU`` with the same configuration."""
        if not isinstance(other, MeanIoU):
            raise TypeError(f"other must be a MeanIoU; got {type(other).__name__}")
        mine = (self.num_classes, self.ignore_index, self.mode, self.threshold)
        theirs = (other.num_classes, other.ignore_index, other.mode, other.threshold)
        if mine != theirs:
            raise ValueError(
                "can only merge MeanIoU metrics with the same num_classes, ignore_index, "
                f"mode and threshold; got {mine} and {theirs}"
            )
        if other._state is None:
            return self
        if self._state is None:
            self._state = {"confmat": other._state["confmat"]}
            return self
        get_namespace(state=self._state["confmat"], other=other._state["confmat"])
        self._state = {"confmat": self._state["confmat"] + other._state["confmat"]}
        return self

    def reset(self) -> MeanIoU:
        """Forget every update."""
        self._state = None
        return self

    def __repr__(self) -> str:
        return (
            f"MeanIoU(num_classes={self.num_classes}, ignore_index={self.ignore_index}, "
            f"average={self.average!r}, zero_division={self.zero_division}, mode={self.mode!r})"
        )
