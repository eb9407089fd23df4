"""Shared inputs of the loss and metric tests (deterministic, NumPy).

* :class:`Case` and :data:`PARITY_CASES`: (mode, shapes, options) combinations of the
  losses, each drawing its own ``(y_pred, y_true)``;
* :data:`STATS_CASES`: ``(output, target, kwargs)`` inputs of ``get_stats``, all of them
  valid smp input.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tests.support.oracles import np_sigmoid, np_softmax


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
        """``(y_pred, y_true)`` as NumPy arrays: logits (or probabilities) N(0, 2) and a
        target drawn by :data:`TARGET_DRAWS` for the mode, then void pixels, shape and
        dtype applied."""
        rng = np.random.default_rng(seed)
        logits = rng.normal(0, 2, self.pred_shape).astype(dtype)
        y = TARGET_DRAWS[self.mode](self, rng)
        if self.void is not None:
            mask = rng.random(y.shape) < 0.2
            y = np.where(mask, self.void, y)
        if self.target_shape is not None:
            y = y.reshape(self.target_shape)
        y = y.astype(dtype if self.target == "soft" else self.target_dtype)
        if self.probs:
            logits = PROBABILITIES[self.mode](logits.astype(np.float64)).astype(dtype)
        return logits, y

    @property
    def smp_args(self) -> dict:
        args = {"mode": self.mode, **self.options}
        if self.probs:
            args["from_logits"] = False
        return args


def _multiclass_labels(case: Case, rng: np.random.Generator) -> np.ndarray:
    """(N, *S) labels in [0, C); the ``absent`` class is replaced by the next one."""
    n, c, *spatial = case.pred_shape
    y = rng.integers(0, c, (n, *spatial))
    if case.absent is not None:
        y = np.where(y == case.absent, (case.absent + 1) % c, y)
    return y


def _per_channel_targets(case: Case, rng: np.random.Generator) -> np.ndarray:
    """Targets of y_pred's shape: uniform [0, 1) when soft, else 0/1; the ``absent``
    channel is all zero."""
    shape = case.pred_shape
    y = rng.random(shape) if case.target == "soft" else rng.integers(0, 2, shape)
    if case.absent is not None:
        y[:, case.absent] = 0
    return y


#: mode -> how :meth:`Case.make` draws the target (before void pixels, shape and dtype)
TARGET_DRAWS: dict[str, Callable[[Case, np.random.Generator], np.ndarray]] = {
    "multiclass": _multiclass_labels,
    "binary": _per_channel_targets,
    "multilabel": _per_channel_targets,
}
#: mode -> float64 probabilities of logits (``Case(probs=True)`` feeds these)
PROBABILITIES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "multiclass": np_softmax,
    "binary": np_sigmoid,
    "multilabel": np_sigmoid,
}


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


# -- get_stats inputs ---------------------------------------------------------------------


def labels(rng: np.random.Generator, shape: tuple, c: int, void=None, frac=0.2,
           dtype=np.int64) -> np.ndarray:
    """Random labels in [0, c); a fraction ``frac`` of them set to ``void`` if given."""
    y = rng.integers(0, c, shape)
    if void is not None:
        y = np.where(rng.random(shape) < frac, void, y)
    return y.astype(dtype)


#: name -> (shape, classes, target void label, get_stats kwargs): output and target are
#: random labels of that shape (output drawn first), the target with 20 % void pixels.
_PLAIN_STATS = {
    "mc-ignore-255": ((3, 5, 6), 4, 255, dict(mode="multiclass", num_classes=4, ignore_index=255)),
    "mc-ignore-minus1": ((2, 7, 3), 3, -1, dict(mode="multiclass", num_classes=3, ignore_index=-1)),
    "mc-1d": ((2, 17), 5, None, dict(mode="multiclass", num_classes=5)),
    "mc-3d": ((2, 3, 4, 5), 3, None, dict(mode="multiclass", num_classes=3)),
    "bin-int": ((3, 1, 5, 6), 2, None, dict(mode="binary")),
    "ml-int": ((2, 3, 4, 5), 2, None, dict(mode="multilabel")),
}


def _plain(name: str):
    shape, c, void, kw = _PLAIN_STATS[name]
    return lambda rng: (labels(rng, shape, c), labels(rng, shape, c, void=void), kw)


def _mc_absent_in_one_image(rng):
    t = labels(rng, (3, 5, 6), 4)
    t[0] = np.where(t[0] == 3, 0, t[0])  # class 3 absent from image 0's target
    return labels(rng, (3, 5, 6), 4), t, dict(mode="multiclass", num_classes=4)


def _bin_empty_image(rng):
    t = labels(rng, (2, 1, 4, 4), 2)
    t[1] = 0
    return labels(rng, (2, 1, 4, 4), 2), t, dict(mode="binary")


#: name -> rng -> (output, target, get_stats kwargs); the order is the test order
_STATS_BUILDERS: dict[str, Callable[[np.random.Generator], tuple]] = {
    "mc": _mc_absent_in_one_image,
    "mc-ignore-255": _plain("mc-ignore-255"),
    "mc-ignore-minus1": _plain("mc-ignore-minus1"),
    "mc-1d": _plain("mc-1d"),
    "mc-3d": _plain("mc-3d"),
    "mc-all-ignored": lambda rng: (labels(rng, (2, 4, 4), 3), np.full((2, 4, 4), 255),
                                   dict(mode="multiclass", num_classes=3, ignore_index=255)),
    "bin-int": _plain("bin-int"),
    "bin-threshold-ties": lambda rng: (rng.choice([0.1, 0.5, 0.5, 0.9], (3, 1, 4, 5)).astype(np.float32),
                                       labels(rng, (3, 1, 4, 5), 2), dict(mode="binary", threshold=0.5)),
    "bin-empty-image": _bin_empty_image,
    "ml-int": _plain("ml-int"),
    "ml-float-threshold": lambda rng: (rng.random((2, 3, 4, 5)), labels(rng, (2, 3, 4, 5), 2),
                                       dict(mode="multilabel", threshold=0.3)),
    "ml-bool": lambda rng: (labels(rng, (2, 3, 6), 2).astype(bool), labels(rng, (2, 3, 6), 2),
                            dict(mode="multilabel")),
}
STATS_CASES = list(_STATS_BUILDERS)


def stats_case(name: str):
    """(output, target, kwargs) for smp.get_stats, seeded by the case name."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return _STATS_BUILDERS[name](rng)


#: One option set per smp loss: the losses of the torch transform tests (compile,
#: forward mode, torch.func)
TRANSFORM_LOSSES = [
    ("JaccardLoss", {}),
    ("DiceLoss", {"smooth": 1.0}),
    ("TverskyLoss", {"alpha": 0.3, "beta": 0.7, "gamma": 1.5}),
    ("LovaszLoss", {}),
]
TRANSFORM_LOSS_IDS = [n for n, _ in TRANSFORM_LOSSES]


def plant_voids(rng: np.random.Generator, t: np.ndarray, voids, per_value: int) -> np.ndarray:
    """``t`` with ``per_value`` random distinct positions set to each of ``voids`` (in
    place; returned for convenience)."""
    flat = t.reshape(-1)
    picks = rng.permutation(flat.size)[: per_value * len(voids)]
    for i, v in enumerate(voids):
        flat[picks[per_value * i : per_value * (i + 1)]] = v
    return t


def remap_voids(t: np.ndarray, voids, to: int) -> np.ndarray:
    """``t`` with every value of ``voids`` replaced by the single void value ``to``: the
    oracle's input for several ignore values."""
    return np.where(np.isin(t, voids), to, t)
