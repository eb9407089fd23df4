"""Cases of anyiou.monai against MONAI 1.6.1 (the oracle, run on torch).

The explicit inputs are those of MONAI's own loss tests (test_dice_loss,
test_generalized_dice_loss, test_tversky_loss); the random ones add labels with
``ignore_index``, one-hot targets, soft targets, missing classes and ``batch``. An
activation named in ``act`` is built for each library (`make_act`)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# (2, 1, 2, 2) inputs and targets of MONAI's tests
X4 = [[[[1.0, -1.0], [-1.0, 1.0]]], [[[1.0, -1.0], [-1.0, 1.0]]]]
T4 = [[[[1.0, 1.0], [1.0, 1.0]]], [[[1.0, 0.0], [1.0, 0.0]]]]
SOFT4 = [[[[0.3, 0.4], [0.7, 0.9]]], [[[1.0, 0.1], [0.5, 0.3]]]]
# (2, 2, 3) logits and (2, 1, 3) float labels of MONAI's tests
X3 = [[[-1.0, 0.0, 1.0], [1.0, 0.0, -1.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]
L3 = [[[1.0, 0.0, 0.0]], [[1.0, 1.0, 0.0]]]


@dataclass
class LossCase:
    id: str
    loss: str
    kwargs: dict
    x: Any  # nested list or a random spec
    target: Any  # nested list or "labels" / "labels-missing" / "onehot" / "soft"
    act: str | None = None
    void: int | None = None  # labels: a share of the pixels set to this value
    extra: dict = field(default_factory=dict)

    def make(self) -> tuple[np.ndarray, np.ndarray]:
        if not isinstance(self.x, tuple):
            return np.asarray(self.x, np.float32), np.asarray(self.target, np.float32)
        rng = np.random.default_rng(zlib.crc32(self.id.encode()))
        shape = self.x
        n, c = shape[:2]
        x = rng.normal(size=shape).astype(np.float32) * 2
        top = c - 1 if self.target == "labels-missing" else c
        labels = rng.integers(0, top, size=(n, 1, *shape[2:]))
        if self.void is not None:
            labels[rng.random(labels.shape) < 0.2] = self.void
        if self.target.startswith("labels"):
            return x, labels.astype(np.int64)
        onehot = (np.arange(c)[None, :, None, None] == labels).astype(np.float32)
        if self.target == "onehot":
            return x, onehot
        soft = rng.random(shape).astype(np.float32)
        return x, soft / soft.sum(axis=1, keepdims=True)


SHAPE = (2, 4, 5, 6)
LOSS_CASES = [
    LossCase("dice-sigmoid", "DiceLoss",
             {"sigmoid": True, "smooth_nr": 1e-6, "smooth_dr": 1e-6}, X4[:1], T4[1:]),
    LossCase("dice-soft-label", "DiceLoss",
             {"smooth_nr": 1e-4, "smooth_dr": 1e-4, "soft_label": True}, SOFT4, SOFT4),
    LossCase("dice-soft-product", "DiceLoss",
             {"smooth_nr": 1e-4, "smooth_dr": 1e-4}, SOFT4, SOFT4),
    LossCase("dice-labels-no-bg", "DiceLoss",
             {"include_background": False, "to_onehot_y": True, "sigmoid": True,
              "smooth_nr": 0, "smooth_dr": 1e-4}, X3, L3),
    LossCase("dice-labels-none", "DiceLoss",
             {"to_onehot_y": True, "sigmoid": True, "reduction": "none"}, X3, L3),
    LossCase("dice-labels-softmax-sum", "DiceLoss",
             {"to_onehot_y": True, "softmax": True, "reduction": "sum"}, X3, L3),
    LossCase("dice-squared", "DiceLoss", {"sigmoid": True, "squared_pred": True}, X4, T4),
    LossCase("dice-jaccard", "DiceLoss", {"sigmoid": True, "jaccard": True}, X4, T4),
    LossCase("dice-tanh-batch", "DiceLoss",
             {"smooth_nr": 1e-4, "smooth_dr": 1e-4, "batch": True}, X4, T4, act="tanh"),
    LossCase("dice-log-softmax-weight", "DiceLoss",
             {"to_onehot_y": True, "weight": (0, 1)}, X3, L3, act="log_softmax"),
    LossCase("dice-ignore-class", "DiceLoss",
             {"to_onehot_y": True, "softmax": True, "ignore_index": 2, "jaccard": True,
              "include_background": False}, SHAPE, "labels", void=2),
    LossCase("dice-squared-batch", "DiceLoss",
             {"to_onehot_y": True, "softmax": True, "squared_pred": True, "batch": True,
              "weight": 0.5, "reduction": "none"}, SHAPE, "labels"),
    LossCase("dice-ignore-255", "DiceLoss",
             {"to_onehot_y": True, "softmax": True, "ignore_index": 255, "reduction": "none"},
             SHAPE, "labels", void=255),
    LossCase("dice-onehot-ignore", "DiceLoss",
             {"softmax": True, "ignore_index": 1}, SHAPE, "onehot"),
    LossCase("dice-soft-squared", "DiceLoss",
             {"sigmoid": True, "soft_label": True, "squared_pred": True}, SHAPE, "soft"),
    LossCase("dice-labels-soft-label-tanh", "DiceLoss",
             {"to_onehot_y": True, "soft_label": True, "ignore_index": 3}, SHAPE, "labels",
             act="tanh", void=3),
    LossCase("tversky-sigmoid", "TverskyLoss",
             {"sigmoid": True, "alpha": 0.3, "beta": 0.7}, X4, T4),
    LossCase("tversky-labels", "TverskyLoss",
             {"to_onehot_y": True, "softmax": True, "alpha": 0.8, "beta": 0.2,
              "ignore_index": 255, "batch": True, "reduction": "none"}, SHAPE, "labels",
             void=255),
    LossCase("tversky-soft", "TverskyLoss",
             {"softmax": True, "soft_label": True, "include_background": False}, SHAPE, "soft"),
    LossCase("gdl-sigmoid", "GeneralizedDiceLoss", {"sigmoid": True}, X4, T4),
    LossCase("gdl-labels-missing", "GeneralizedDiceLoss",
             {"to_onehot_y": True, "softmax": True}, SHAPE, "labels-missing"),
    LossCase("gdl-simple-batch", "GeneralizedDiceLoss",
             {"to_onehot_y": True, "softmax": True, "w_type": "simple", "batch": True,
              "include_background": False, "reduction": "none"}, SHAPE, "labels-missing"),
    LossCase("gdl-uniform-soft", "GeneralizedDiceLoss",
             {"softmax": True, "w_type": "uniform", "soft_label": True, "reduction": "sum"},
             SHAPE, "soft"),
]


def make_act(name: str | None, xp: Any) -> Any:
    """The activation ``name`` for the namespace ``xp`` (torch for the oracle)."""
    if name is None:
        return None
    if name == "tanh":
        return xp.tanh

    def log_softmax(x: Any) -> Any:
        shifted = x - xp.max(x, axis=1, keepdims=True)
        return shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))

    return log_softmax


@dataclass
class MetricCase:
    id: str
    metric: str
    kwargs: dict
    pred: str  # "onehot" / "labels" / "soft"
    target: str  # "onehot" / "labels"
    classes: int = 4
    void: int | None = None

    def batches(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Two batches; class ``classes - 1`` is absent from the first one's ground truth
        and from one image's prediction."""
        rng = np.random.default_rng(zlib.crc32(self.id.encode()))
        out = []
        c = self.classes
        for top in (c - 1, c):
            y = rng.integers(0, top, size=(2, 1, 5, 6))
            p = rng.integers(0, c, size=(2, 1, 5, 6))
            p[0][p[0] == c - 1] = 0
            if self.void is not None:
                y[rng.random(y.shape) < 0.2] = self.void
            out.append((self._form(p, self.pred, rng), self._form(y, self.target, rng)))
        return out

    def _form(self, labels: np.ndarray, kind: str, rng: Any) -> np.ndarray:
        if kind == "labels":
            return labels.astype(np.float32)
        onehot = (np.arange(self.classes)[None, :, None, None] == labels).astype(np.float32)
        if kind == "soft":
            return onehot * rng.random(onehot.shape).astype(np.float32)
        return onehot


METRIC_CASES = [
    MetricCase("dice-mean", "DiceMetric", {}, "onehot", "onehot"),
    MetricCase("dice-no-bg-batch", "DiceMetric",
               {"include_background": False, "ignore_empty": False, "reduction": "mean_batch",
                "get_not_nans": True}, "onehot", "onehot"),
    MetricCase("dice-label-y", "DiceMetric", {"reduction": "sum_channel"}, "onehot", "labels"),
    MetricCase("dice-labels", "DiceMetric",
               {"num_classes": 4, "reduction": "none", "get_not_nans": True}, "labels", "labels"),
    MetricCase("dice-ignore-255", "DiceMetric",
               {"ignore_index": 255, "reduction": "mean_channel"}, "labels", "labels",
               void=255),
    MetricCase("dice-ignore-onehot", "DiceMetric",
               {"ignore_index": 0, "include_background": False, "reduction": "sum"},
               "soft", "onehot"),
    MetricCase("iou-mean", "MeanIoU", {"get_not_nans": True}, "onehot", "onehot"),
    MetricCase("iou-no-bg", "MeanIoU",
               {"include_background": False, "ignore_empty": False,
                "reduction": "mean_channel", "get_not_nans": True}, "soft", "onehot"),
    MetricCase("iou-ignore-class", "MeanIoU",
               {"ignore_index": 2, "include_background": False, "reduction": "sum_batch"},
               "onehot", "onehot"),
    MetricCase("iou-ignore-sentinel", "MeanIoU",
               {"ignore_index": 255, "reduction": "mean_batch"}, "onehot", "onehot", void=255),
]
