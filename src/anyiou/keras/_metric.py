"""``MeanIoU`` as a ``keras.metrics.Metric`` whose state is a variable of integer counts.

Counting and scoring are `anyiou.metrics.MeanIoU`'s pure functions (``init_state``,
``update_state``, ``compute_state``); Keras holds the state in a variable, so it works in
``model.fit`` under jit (JAX) and eagerly (torch).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from .._lib._convert import to_numpy
from .._lib._options import check_class_axis, check_classes, check_flag, check_ignore_value
from .._lib._types import IgnoreIndex, ScalarAverage
from ..metrics import MeanIoU as _CoreMeanIoU
from ._backend import check_keras_backend

__all__ = ["MeanIoU"]


@keras.saving.register_keras_serializable(package="anyiou")
class MeanIoU(keras.metrics.Metric):
    """Dataset-level mean IoU from a confusion matrix, as a ``keras.metrics.Metric``.

    The numbers of torchmetrics' ``MulticlassJaccardIndex``, Keras' ``MeanIoU`` (on
    argmaxed predictions) and sklearn's ``jaccard_score(average="macro")`` over the classes
    present, with exact integer counts. Keras' ``MeanIoU``, ``IoU`` and
    ``OneHotMeanIoU`` options (``ignore_class``, ``sparse_y_true``, ``sparse_y_pred``,
    ``target_class_ids``) act as in Keras.

    Parameters
    ----------
    num_classes : int
        C.
    ignore_index : int or sequence of int, optional
        Target label whose pixels are not counted (255, -1, or a class id, which is then
        also left out of the average).
    average : str, default "macro"
        One of ``"macro"``, ``"micro"``, ``"weighted"``.
        As in `anyiou.metrics.MeanIoU` (``result()`` is a scalar: no ``"none"``).
    zero_division : float, default 0.0
        Score of a class with an empty union (and of nothing counted).
    class_axis : int, default -1
        Axis of ``y_pred`` (and of a one-hot ``y_true``) holding the C scores.
    ignore_class : int, optional
        Keras' ``ignore_class``: target label whose pixels are not counted; a class id
        stays in the average, as in Keras (its IoU is that of the pixels still counted).
        Not together with ``ignore_index``.
    sparse_y_true : bool, default True
        ``y_true`` holds integer labels (N, \\*S) or (N, \\*S, 1); False: one-hot (or
        soft) targets (N, \\*S, C) along ``class_axis``, whose argmax is the label
        (Keras' ``OneHotMeanIoU``).
    sparse_y_pred : bool, default False
        ``y_pred`` holds integer label predictions (N, \\*S) or (N, \\*S, 1) (Keras'
        default, True); False (anyiou's default): C scores along ``class_axis``, whose
        argmax is the predicted label.
    target_class_ids : sequence of int, optional
        Keras' ``IoU``: the mean over these classes only (each in [0, C)), classes with
        an empty union left out; ``zero_division`` if every one is. Needs
        ``average="macro"``.
    name : str
        Keras' name of the metric.
    dtype : str, optional
        Keras' dtype of ``result()``.

    Notes
    -----
    ``update_state(y_true, y_pred)``: ``y_pred`` holds logits or probabilities with C
    scores along ``class_axis`` (their argmax is the predicted label), or labels with
    ``sparse_y_pred=True``; ``y_true`` integer labels (N, \\*S), or (N, \\*S, 1) with a
    singleton class axis, or one-hot targets with ``sparse_y_true=False``. The state is
    one variable ``confmat`` (C, C) of counts, int64 (int32 under JAX without x64).
    ``sample_weight`` is not supported (the counts are exact pixel counts).
    """

    def __init__(
        self,
        num_classes: int,
        ignore_index: IgnoreIndex = None,
        *,
        average: ScalarAverage = "macro",
        zero_division: float = 0.0,
        class_axis: int = -1,
        ignore_class: int | None = None,
        sparse_y_true: bool = True,
        sparse_y_pred: bool = False,
        target_class_ids: Sequence[int] | None = None,
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
        if ignore_index is not None and ignore_class is not None:
            raise ValueError(
                "pass ignore_index (anyiou: a class id is also left out of the average) or "
                "ignore_class (Keras: a class id stays in the average), not both; got "
                f"ignore_index={ignore_index!r} and ignore_class={ignore_class!r}"
            )
        self.ignore_class = _renamed(check_ignore_value, "ignore_index", "ignore_class",
                                     ignore_class)
        counted = ignore_index if ignore_class is None else self.ignore_class
        self.metric = _CoreMeanIoU(num_classes, counted, average=average,
                                   zero_division=zero_division)
        self.class_axis = check_class_axis(class_axis)
        self.sparse_y_true = check_flag("sparse_y_true", sparse_y_true)
        self.sparse_y_pred = check_flag("sparse_y_pred", sparse_y_pred)
        self.target_class_ids = _check_target_class_ids(target_class_ids, num_classes,
                                                        self.metric.average)
        # the scores: ignore_class keeps its class in the average (no ignore_index there);
        # target_class_ids takes per-class scores, NaN where the union is empty
        scored = None if ignore_class is not None else ignore_index
        subset = self.target_class_ids is not None
        self._scorer = _CoreMeanIoU(
            num_classes, scored, average="none" if subset else self.metric.average,
            zero_division=math.nan if subset else zero_division,
        )
        zeros = self.metric.init_state(ops.zeros((), dtype="float32"))["confmat"]
        self.confmat = self.add_variable(
            shape=self.metric.state_shape, initializer="zeros",
            dtype=keras.backend.standardize_dtype(zeros.dtype), name="confmat",
        )

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add the counts of one batch: labels ``y_true`` (or the argmax of one-hot
        targets, ``sparse_y_true=False``) against the argmax of the scores ``y_pred``
        over ``class_axis`` (or label predictions, ``sparse_y_pred=True``);
        ``sample_weight`` must be None."""
        if sample_weight is not None:
            raise ValueError(
                "anyiou.keras.MeanIoU counts pixels exactly and takes no sample_weight; "
                "mark pixels to skip with ignore_index instead"
            )
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.convert_to_tensor(y_true)
        preds, target = self._labels(y_true, y_pred)
        batch = self.metric.update_state(None, preds, target)["confmat"]
        self.confmat.assign_add(ops.cast(batch, self.confmat.dtype))

    def _labels(self, y_true: Any, y_pred: Any) -> tuple[Any, Any]:
        """(predicted labels, target labels) of one shape, int32, from the options."""
        pshape, tshape = tuple(y_pred.shape), tuple(y_true.shape)
        if not self.sparse_y_pred:
            self._check_classes(pshape, "y_pred", "sparse_y_pred=True for label predictions")
            if self.sparse_y_true and len(tshape) == len(pshape) and _at(tshape,
                                                                          self.class_axis) != 1:
                raise ValueError(
                    f"y_true must hold integer labels (N, *S) or (N, *S, 1) for y_pred of shape "
                    f"{pshape}; got shape {tshape} (pass sparse_y_true=False for one-hot "
                    "targets, or sparse_y_pred=True if y_pred holds labels)"
                )
            y_pred = ops.argmax(y_pred, axis=self.class_axis)
        if not self.sparse_y_true:
            self._check_classes(tshape, "y_true", "sparse_y_true=True for label targets")
            y_true = ops.argmax(y_true, axis=self.class_axis)
        preds, target = ops.cast(y_pred, "int32"), ops.cast(y_true, "int32")
        # a singleton class axis on one side of labels: (N, *S, 1) against (N, *S)
        if len(target.shape) == len(preds.shape) + 1 and _at(target.shape, self.class_axis) == 1:
            target = ops.squeeze(target, axis=self.class_axis)
        elif len(preds.shape) == len(target.shape) + 1 and _at(preds.shape,
                                                                self.class_axis) == 1:
            preds = ops.squeeze(preds, axis=self.class_axis)
        if tuple(preds.shape) != tuple(target.shape):
            got = "labels" if self.sparse_y_pred else "argmax"
            raise ValueError(
                f"y_pred ({got} of shape {tuple(preds.shape)}) and y_true (labels of shape "
                f"{tuple(target.shape)}) must give one label per pixel; got y_pred {pshape} "
                f"and y_true {tshape} (sparse_y_pred={self.sparse_y_pred}, "
                f"sparse_y_true={self.sparse_y_true})"
            )
        return preds, target

    def _check_classes(self, shape: tuple[Any, ...], name: str, hint: str) -> None:
        """The argmax over ``class_axis`` is a label only if that axis holds C scores (a
        static shape, so this also runs under jit)."""
        c = self.metric.num_classes
        axis = self.class_axis
        if not -len(shape) <= axis < len(shape) or shape[axis] not in (c, None):
            raise ValueError(
                f"{name} must hold num_classes={c} scores along axis {axis} (class_axis); "
                f"got shape {shape} (pass {hint})"
            )

    def result(self) -> Any:
        """The mean IoU of every batch since the last reset, a scalar of ``dtype``."""
        per = self._scorer.compute_state({"confmat": ops.convert_to_tensor(self.confmat)})
        if self.target_class_ids is not None:
            # Keras' IoU: the mean over the given classes whose union is not empty
            chosen = ops.take(per, ops.convert_to_tensor(self.target_class_ids, "int32"))
            scored = ops.logical_not(ops.isnan(chosen))
            count = ops.sum(ops.cast(scored, chosen.dtype))
            total = ops.sum(ops.where(scored, chosen, ops.zeros_like(chosen)))
            per = ops.where(count > 0, total / ops.maximum(count, 1.0),
                            ops.cast(self.metric.zero_division, chosen.dtype))
        return ops.cast(per, self.dtype)

    def reset_state(self) -> None:
        """Set the counts to zero."""
        self.confmat.assign(ops.zeros(self.metric.state_shape, dtype=self.confmat.dtype))

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, for Keras serialization."""
        return {
            "name": self.name,
            "dtype": self.dtype,
            "num_classes": self.metric.num_classes,
            "ignore_index": None if self.ignore_class is not None else self.metric.ignore_index,
            "average": self.metric.average,
            "zero_division": self.metric.zero_division,
            "class_axis": self.class_axis,
            "ignore_class": self.ignore_class,
            "sparse_y_true": self.sparse_y_true,
            "sparse_y_pred": self.sparse_y_pred,
            "target_class_ids": self.target_class_ids,
        }

    def __reduce__(self) -> tuple[Any, ...]:
        # pickle and copy.deepcopy keep the counts (Keras' own reduce keeps only the config)
        return (_restore, (type(self), self.get_config(), to_numpy(self.confmat.value)))


def _restore(cls: type[MeanIoU], config: dict[str, Any], counts: Any) -> MeanIoU:
    metric = cls.from_config(config)
    metric.confmat.assign(ops.convert_to_tensor(counts, dtype=metric.confmat.dtype))
    return metric


def _at(shape: tuple[Any, ...], axis: int) -> Any:
    """``shape[axis]``, None where ``axis`` is out of range."""
    return shape[axis] if -len(shape) <= axis < len(shape) else None


def _check_target_class_ids(ids: Any, num_classes: int, average: str) -> list[int] | None:
    """Keras' ``target_class_ids``: distinct class ids in [0, C), with a macro average."""
    if ids is None:
        return None
    ids = _renamed(check_classes, "classes", "target_class_ids", ids, "multiclass")
    if max(ids) >= num_classes:
        raise ValueError(
            f"target_class_ids must be class ids in [0, num_classes={num_classes}); got "
            f"{max(ids)}"
        )
    if average != "macro":
        raise ValueError(
            "target_class_ids averages the IoU of the given classes (Keras' IoU); it needs "
            f"average='macro', got average={average!r}"
        )
    return list(ids)


def _renamed(check: Any, name: str, keras_name: str, value: Any, *args: Any) -> Any:
    """``check(value, *args)`` with its errors naming Keras' option ``keras_name``."""
    try:
        return check(value, *args)
    except (TypeError, ValueError) as error:
        raise type(error)(str(error).replace(name, keras_name)) from None
