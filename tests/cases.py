"""Shared input generators for the loss tests (deterministic, NumPy)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Case:
    """One (mode, shapes, options) combination of a loss test."""

    id: str
    mode: str
    pred_shape: tuple
    target: str = "hard"  # hard | soft | labels
    options: dict = field(default_factory=dict)
    target_shape: tuple | None = None  # default derived from mode
    void: int | None = None  # label value written into some target pixels
    absent: int | None = None  # class removed from the target
    probs: bool = False  # y_pred holds probabilities (from_logits=False)
    target_dtype: str = "int64"

    def make(self, seed: int = 0, dtype=np.float32):
        rng = np.random.default_rng(seed)
        logits = rng.normal(0, 2, self.pred_shape).astype(dtype)
        n, c = self.pred_shape[0], self.pred_shape[1]
        spatial = self.pred_shape[2:]
        if self.mode == "multiclass":
            y = rng.integers(0, c, (n,) + spatial)
            if self.absent is not None:
                y = np.where(y == self.absent, (self.absent + 1) % c, y)
        else:
            shape = self.pred_shape
            y = rng.random(shape) if self.target == "soft" else rng.integers(0, 2, shape)
            if self.absent is not None:
                y[:, self.absent] = 0
        if self.void is not None:
            mask = rng.random(y.shape) < 0.2
            y = np.where(mask, self.void, y)
        if self.target_shape is not None:
            y = y.reshape(self.target_shape)
        if self.target == "soft":
            y = y.astype(dtype)
        else:
            y = y.astype(self.target_dtype)
        if self.probs:
            from .oracles import np_sigmoid, np_softmax

            p = np_softmax(logits.astype(np.float64)) if self.mode == "multiclass" else np_sigmoid(
                logits.astype(np.float64)
            )
            logits = p.astype(dtype)
        return logits, y

    @property
    def smp_args(self) -> dict:
        args = {"mode": self.mode, **self.options}
        if self.probs:
            args["from_logits"] = False
        return args


MC = (2, 4, 6, 5)
ML = (2, 3, 6, 5)
BIN = (2, 1, 6, 5)

PARITY_CASES = [
    Case("mc-default", "multiclass", MC, "labels"),
    Case("mc-1d", "multiclass", (3, 3, 17), "labels"),
    Case("mc-3d", "multiclass", (1, 3, 4, 3, 5), "labels"),
    Case("mc-N1", "multiclass", (1, 5, 4, 4), "labels"),
    Case("mc-target-with-channel", "multiclass", MC, "labels", target_shape=(2, 1, 6, 5)),
    Case("mc-int32-labels", "multiclass", MC, "labels", target_dtype="int32"),
    Case("mc-uint8-labels-255", "multiclass", MC, "labels", {"ignore_index": 255}, void=255,
         target_dtype="uint8"),
    Case("mc-classes", "multiclass", MC, "labels", {"classes": [0, 2]}),
    Case("mc-class-weights", "multiclass", MC, "labels", {"class_weights": [0.5, 1.0, 2.0, 0.0]}),
    Case("mc-classes-and-weights", "multiclass", MC, "labels",
         {"classes": [1, 3], "class_weights": [1.0, 2.0, 3.0, 4.0]}),
    Case("mc-log-loss", "multiclass", MC, "labels", {"log_loss": True}),
    Case("mc-smooth", "multiclass", MC, "labels", {"smooth": 1.0}),
    Case("mc-eps", "multiclass", MC, "labels", {"eps": 1e-2, "log_loss": True}),
    Case("mc-probs", "multiclass", MC, "labels", probs=True),
    Case("mc-ignore-255", "multiclass", MC, "labels", {"ignore_index": 255}, void=255),
    Case("mc-ignore-minus1", "multiclass", MC, "labels", {"ignore_index": -1}, void=-1),
    Case("mc-ignore-minus100", "multiclass", MC, "labels", {"ignore_index": -100}, void=-100),
    Case("mc-ignore-in-range", "multiclass", MC, "labels", {"ignore_index": 1}),
    Case("mc-absent-class", "multiclass", MC, "labels", absent=2),
    Case("mc-absent-log", "multiclass", MC, "labels", {"log_loss": True}, absent=0),
    Case("mc-everything", "multiclass", MC, "labels",
         {"classes": [0, 1, 3], "class_weights": [1, 2, 3, 4], "log_loss": True, "smooth": 0.5,
          "ignore_index": 255, "eps": 1e-5}, void=255, absent=3),
    Case("bin-N1HW", "binary", BIN, "hard", target_shape=(2, 6, 5)),
    Case("bin-same-shape", "binary", BIN),
    Case("bin-no-channel", "binary", (2, 6, 5)),
    Case("bin-1d", "binary", (4, 1, 9)),
    Case("bin-3d", "binary", (1, 1, 3, 4, 5)),
    Case("bin-soft", "binary", BIN, "soft"),
    Case("bin-float-hard", "binary", BIN, "hard", target_dtype="float32"),
    Case("bin-probs", "binary", BIN, probs=True),
    Case("bin-ignore-255", "binary", BIN, "hard", {"ignore_index": 255}, void=255),
    Case("bin-ignore-minus1", "binary", BIN, "hard", {"ignore_index": -1}, void=-1),
    Case("bin-log-smooth", "binary", BIN, "hard", {"log_loss": True, "smooth": 2.0}),
    Case("bin-empty-target", "binary", BIN, "hard", absent=0),
    Case("ml-default", "multilabel", ML),
    Case("ml-soft", "multilabel", ML, "soft"),
    Case("ml-soft-log", "multilabel", ML, "soft", {"log_loss": True, "smooth": 0.1}),
    Case("ml-ignore-255", "multilabel", ML, "hard", {"ignore_index": 255}, void=255),
    Case("ml-classes-weights", "multilabel", ML, "hard",
         {"classes": [0, 2], "class_weights": [3.0, 1.0, 1.0]}),
    Case("ml-absent", "multilabel", ML, "hard", absent=1),
    Case("ml-3d", "multilabel", (2, 2, 3, 3, 4)),
    Case("ml-bool-target", "multilabel", ML, target_dtype="bool"),
]
