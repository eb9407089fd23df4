"""``MeanIoU`` as a ``keras.metrics.Metric`` whose state is a variable of integer counts.

Counting and scoring are `anyiou.metrics.MeanIoU`'s pure functions (``init_state``,
``update_state``, ``compute_state``); Keras holds the state in a variable, so it works in
``model.fit`` under jit (JAX) and eagerly (torch).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from .._lib._convert import to_numpy
from .._lib._options import check_class_axis
from .._lib._types import ScalarAverage
from ..metrics import MeanIoU as _CoreMeanIoU
from ._backend import check_keras_backend

__all__ = ["MeanIoU"]


@keras.saving.register_keras_serializable(package="anyiou")
class MeanIoU(keras.metrics.Metric):
    """Dataset-level mean IoU from a confusion matrix, as a ``keras.metrics.Metric``.

    The numbers of torchmetrics' ``MulticlassJaccardIndex``, Keras' ``MeanIoU`` (on
    argmaxed predictions) and sklearn's ``jaccard_score(average="macro")`` over the classes
    present, with exact integer counts.

    Parameters
    ----------
    num_classes : int
        C.
    ignore_index : int, optional
        Target label whose pixels are not counted (255, -1, or a class id, which is then
        also left out of the average).
    average : str, default "macro"
        One of ``"macro"``, ``"micro"``, ``"weighted"``.
        As in `anyiou.metrics.MeanIoU` (``result()`` is a scalar: no ``"none"``).
    zero_division : float, default 0.0
        Score of a class with an empty union (and of nothing counted).
    class_axis : int, default -1
        Axis of ``y_pred`` holding the C scores.
    name : str
        Keras' name of the metric.
    dtype : str, optional
        Keras' dtype of ``result()``.

    Notes
    -----
    ``update_state(y_true, y_pred)``: ``y_pred`` holds logits or probabilities with C
    scores along ``class_axis`` (their argmax is the predicted label); ``y_true`` integer
    labels (N, \\*S), or (N, \\*S, 1) with a singleton class axis. The state is one
    variable ``confmat`` (C, C) of counts, int64 (int32 under JAX without x64).
    ``sample_weight`` is not supported (the counts are exact pixel counts).
    """

    def __init__(
        self,
        num_classes: int,
        ignore_index: int | None = None,
        *,
        average: ScalarAverage = "macro",
        zero_division: float = 0.0,
        class_axis: int = -1,
        name: str = "mean_iou",
        dtype: Any = None,
    ) -> None:
        check_keras_backend("MeanIoU")
        super().__init__(name=name, dtype=dtype)
        if average in (None, "none"):
            raise ValueError(
                "average must be 'macro', 'micro' or 'weighted' for a Keras metric (its "
                f"result is a scalar); got {average!r}"
            )
        self.metric = _CoreMeanIoU(num_classes, ignore_index, average=average,
                                   zero_division=zero_division)
        self.class_axis = check_class_axis(class_axis)
        zeros = self.metric.init_state(ops.zeros((), dtype="float32"))["confmat"]
        self.confmat = self.add_variable(
            shape=self.metric.state_shape, initializer="zeros",
            dtype=keras.backend.standardize_dtype(zeros.dtype), name="confmat",
        )

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add the counts of one batch: integer labels ``y_true`` against the argmax of
        the scores ``y_pred`` over ``class_axis`` (``sample_weight`` must be None)."""
        if sample_weight is not None:
            raise ValueError(
                "anyiou.keras.MeanIoU counts pixels exactly and takes no sample_weight; "
                "mark pixels to skip with ignore_index instead"
            )
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.convert_to_tensor(y_true)
        self._check_classes(tuple(y_pred.shape))
        if len(y_true.shape) == len(y_pred.shape):
            if y_true.shape[self.class_axis] != 1:
                raise ValueError(
                    f"y_true must hold integer labels (N, *S) or (N, *S, 1) for y_pred of shape "
                    f"{tuple(y_pred.shape)}; got shape {tuple(y_true.shape)}"
                )
            y_true = ops.squeeze(y_true, axis=self.class_axis)
        preds = ops.argmax(y_pred, axis=self.class_axis)
        batch = self.metric.update_state(None, preds, ops.cast(y_true, "int32"))["confmat"]
        self.confmat.assign_add(ops.cast(batch, self.confmat.dtype))

    def _check_classes(self, shape: tuple[Any, ...]) -> None:
        """The argmax over ``class_axis`` is a label only if that axis holds C scores (a
        static shape, so this also runs under jit)."""
        c = self.metric.num_classes
        axis = self.class_axis
        if not -len(shape) <= axis < len(shape) or shape[axis] not in (c, None):
            raise ValueError(
                f"y_pred must hold num_classes={c} scores along axis {axis} (class_axis); "
                f"got shape {shape}"
            )

    def result(self) -> Any:
        """The mean IoU of every batch since the last reset, a scalar of ``dtype``."""
        value = self.metric.compute_state({"confmat": ops.convert_to_tensor(self.confmat)})
        return ops.cast(value, self.dtype)

    def reset_state(self) -> None:
        """Set the counts to zero."""
        self.confmat.assign(ops.zeros(self.metric.state_shape, dtype=self.confmat.dtype))

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, for Keras serialization."""
        return {
            "name": self.name,
            "dtype": self.dtype,
            "num_classes": self.metric.num_classes,
            "ignore_index": self.metric.ignore_index,
            "average": self.metric.average,
            "zero_division": self.metric.zero_division,
            "class_axis": self.class_axis,
        }

    def __reduce__(self) -> tuple[Any, ...]:
        # pickle and copy.deepcopy keep the counts (Keras' own reduce keeps only the config)
        return (_restore, (type(self), self.get_config(), to_numpy(self.confmat.value)))


def _restore(cls: type[MeanIoU], config: dict[str, Any], counts: Any) -> MeanIoU:
    metric = cls.from_config(config)
    metric.confmat.assign(ops.convert_to_tensor(counts, dtype=metric.confmat.dtype))
    return metric
