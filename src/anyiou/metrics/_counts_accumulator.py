"""The machinery every streaming metric shares: option checks, a state of one integer
count array, the pure functions (``init_state``, ``update_state``, ``compute_state``)
and the stateful API around them (``update``, ``compute``, ``per_class``, ``merge``,
``load_state``, ``reset``).

A metric names its state entry (``_key``), the shape of its counts (``state_shape``),
how one batch is counted (``_batch``) and how counts are scored (``_score``). Because
the state is a plain sum over batches, a distributed sync is one sum over workers and
the result after any sequence of updates equals one call on the concatenated data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .._lib._namespace import device_of, get_namespace, index_dtype
from .._lib._options import (
    MODES,
    MULTICLASS_MODE,
    check_choice,
    check_ignore_index,
    check_num_classes,
    check_sync,
    check_threshold,
)
from .._lib._types import Average, IgnoreIndex, IgnoreValues, Mode
from ._averaging import check_average, check_confmat_zero_division

__all__ = ["CountsAccumulator", "State"]

State = dict[str, Any]
Self = TypeVar("Self", bound="CountsAccumulator")


class CountsAccumulator:
    """Base class of `MeanIoU` and `BoundaryIoU` (see their docstrings)."""

    #: the entry of the state dict that holds the counts
    _key = "counts"
    #: what ``merge`` requires to be equal, in words (the fields of ``_config``)
    _config_words = "num_classes, ignore_index, mode and threshold"

    num_classes: int
    ignore_index: IgnoreValues
    average: Average
    zero_division: float
    mode: Mode
    threshold: float | tuple[float, ...]
    sync: Callable[[Any], Any] | None

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
        check_sync(sync)
        self.sync = sync
        self._state: State | None = None

    # -- what a metric defines ----------------------------------------------------------

    @property
    def state_shape(self) -> tuple[int, ...]:
        """Shape of the counts array of the state."""
        raise NotImplementedError

    def _batch(self, preds: Any, target: Any) -> Any:
        """The counts of one batch, of shape ``state_shape``."""
        raise NotImplementedError

    def _score(self, xp: Any, counts: Any, average: Average | None) -> Any:
        """The score of ``counts`` reduced with ``average``."""
        raise NotImplementedError

    def _config(self) -> tuple:
        return (self.num_classes, self.ignore_index, self.mode, self.threshold)

    # -- pure functional core -----------------------------------------------------------

    def init_state(self, like: Any) -> State:
        """A zero state in the library and on the device of the array ``like``."""
        xp = get_namespace(like=like)
        dev = device_of(like)
        return {self._key: xp.zeros(self.state_shape, dtype=index_dtype(xp, dev),
                                    device=dev)}

    def update_state(self, state: State | None, preds: Any, target: Any) -> State:
        """Pure update: ``state`` plus the counts of one batch; ``state=None`` starts at
        zero.

        jit-safe (the configuration is static): ``jax.jit(metric.update_state)``.
        """
        new = self._batch(preds, target)
        if state is None:
            return {self._key: new}
        old = self._checked(state)
        xp = get_namespace(state=old, update=new)
        return {self._key: old + xp.astype(new, old.dtype)}

    def compute_state(self, state: State, average: str | None | object = ...) -> Any:
        """Pure compute: the score of ``state`` (``average`` defaults to the metric's).

        With ``sync``, the score of the counts summed over every worker.
        """
        counts = self._checked(state)
        if self.sync is not None:
            counts = self.sync(counts)
        avg = self.average if average is ... else check_average(average)
        return self._score(get_namespace(counts=counts), counts, avg)

    def _checked(self, state: Any) -> Any:
        key = self._key
        if not isinstance(state, dict) or key not in state:
            raise TypeError(
                f"state must be a dict {{'{key}': array}}; got {type(state).__name__}"
            )
        counts = state[key]
        xp = get_namespace(**{f"state['{key}']": counts})
        if tuple(counts.shape) != self.state_shape:
            raise ValueError(
                f"state['{key}'] must have shape {self.state_shape}; got "
                f"{tuple(counts.shape)}"
            )
        # the counts of init_state/update_state: narrower integers would overflow (or,
        # unsigned, wrap) as batches are added, and floats round beyond 2**24
        expected = index_dtype(xp, device_of(counts))
        if counts.dtype != expected:
            raise TypeError(
                f"state['{key}'] must hold integer counts of dtype {expected} (the dtype of "
                f"init_state and update_state); got {counts.dtype}"
            )
        return counts

    # -- stateful API -------------------------------------------------------------------

    @property
    def state(self) -> State | None:
        """The accumulated counts, ``{name: array}`` (None before the first update)."""
        return self._state

    def load_state(self: Self, state: State) -> Self:
        """Replace the state, e.g. by the sum of every process's state after a sync."""
        self._state = {self._key: self._checked(state)}
        return self

    def update(self: Self, preds: Any, target: Any) -> Self:
        """Add one batch (any batch size and spatial shape). Returns ``self``."""
        self._state = self.update_state(self._state, preds, target)
        return self

    def compute(self) -> Any:
        """The score of everything seen so far, reduced with ``average``.

        The ``macro`` mean leaves out the classes whose union is empty so far (absent
        from every target and prediction; as torchmetrics, Keras and sklearn do);
        `per_class` reports them as ``zero_division``.
        """
        if self._state is None:
            raise RuntimeError(f"{type(self).__name__}.compute() called before any update()")
        return self.compute_state(self._state)

    def per_class(self) -> Any:
        """Per-class scores, shape (C,) (``zero_division`` where the union is empty).

        A class absent from every target and prediction so far gets ``zero_division`` (0
        by default), so ``per_class().mean()`` is below `compute` when ``num_classes``
        exceeds the classes seen; pass ``zero_division=float("nan")`` to tell them apart.
        """
        if self._state is None:
            raise RuntimeError(
                f"{type(self).__name__}.per_class() called before any update()"
            )
        return self.compute_state(self._state, average="none")

    def merge(self: Self, other: Any) -> Self:
        """Add the counts of another metric of the same class and configuration."""
        name = type(self).__name__
        if not isinstance(other, type(self)):
            raise TypeError(f"other must be a {name}; got {type(other).__name__}")
        if self._config() != other._config():
            raise ValueError(
                f"can only merge {name} metrics with the same {self._config_words}; got "
                f"{self._config()} and {other._config()}"
            )
        if other._state is None:
            return self
        theirs = other._state[self._key]
        if self._state is not None:
            mine = self._state[self._key]
            get_namespace(state=mine, other=theirs)
            theirs = mine + theirs
        self._state = {self._key: theirs}
        return self

    def reset(self: Self) -> Self:
        """Forget every update."""
        self._state = None
        return self
