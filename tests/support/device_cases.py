"""Calls for ``tests/backends/test_devices.py``: every public function and option of
anyiou, each as ``call(a)`` where ``a`` turns a NumPy array into the library's array on the
device under test (so one call runs on that device and, for the oracle, on NumPy), and the
calls that put two arguments on two devices (``call(x, y)``, with the argument names their
error must give).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

import anyiou
import anyiou.metrics as M
from anyiou.losses import (
    dice_loss,
    jaccard_loss,
    lovasz_loss,
    soft_dice_score,
    soft_jaccard_score,
    soft_tversky_score,
    tversky_loss,
)

F32, I64 = np.float32, np.int64
IGNORE = 255

# -- inputs (NumPy; each call converts them with `a`) -----------------------------------

_rng = np.random.default_rng(7)
MC_LOGITS = _rng.normal(0, 2, (2, 3, 4, 5)).astype(F32)
MC_LABELS = _rng.integers(0, 3, (2, 4, 5)).astype(I64)
MC_LABELS[1] = np.where(MC_LABELS[1] == 2, 0, MC_LABELS[1])  # class 2 absent from image 1
MC_LABELS_VOID = MC_LABELS.copy()
MC_LABELS_VOID[:, 0, :2] = IGNORE
BIN_LOGITS = _rng.normal(0, 2, (2, 1, 4, 5)).astype(F32)
BIN_TARGET = _rng.integers(0, 2, (2, 1, 4, 5)).astype(I64)
ML_LOGITS = _rng.normal(0, 2, (2, 3, 4, 5)).astype(F32)
ML_TARGET = _rng.random((2, 3, 4, 5)).astype(F32)  # soft targets: the L1 intersection
ML_TARGET_HARD = _rng.integers(0, 2, (2, 3, 4, 5)).astype(I64)
ML_TARGET_HARD[:, 2] = 0  # an empty class


def _void(t: np.ndarray) -> np.ndarray:
    t = t.astype(I64)
    t[..., 0, :2] = IGNORE
    return t


LOSS_DATA = {  # mode -> (logits, target, target with void pixels)
    "binary": (BIN_LOGITS, BIN_TARGET, _void(BIN_TARGET)),
    "multiclass": (MC_LOGITS, MC_LABELS, MC_LABELS_VOID),
    "multilabel": (ML_LOGITS, ML_TARGET, _void(ML_TARGET_HARD)),
}


def _identity_sync(x: Any) -> Any:
    return x


# (id, options); the class options only where the mode has classes
LOSS_OPTIONS = [
    ("default", {}),
    ("ignore_index", {"ignore_index": IGNORE}),
    ("per_image", {"per_image": True}),
    ("per_image-none", {"per_image": True, "reduction": "none"}),
    ("empty-exclude", {"empty": "exclude"}),
    ("none", {"reduction": "none"}),
    ("sum", {"reduction": "sum"}),
    ("sync", {"sync": _identity_sync}),
    ("log_loss", {"log_loss": True}),
    ("smooth", {"smooth": 1.0}),
    ("probabilities", {"from_logits": False}),
    ("class_axis-last", {"class_axis": -1}),
    ("classes", {"classes": [0, 2]}),
    ("class_weights", {"class_weights": [1.0, 2.0, 0.5]}),
    ("weights-exclude-sum", {"class_weights": [1.0, 2.0, 0.5], "empty": "exclude",
                             "reduction": "sum"}),
    ("classes-weights-none", {"classes": [0, 2], "class_weights": [1.0, 2.0, 0.5],
                              "reduction": "none", "per_image": True}),
]
CLASS_OPTIONS = ("classes", "class_weights")
OVERLAP_LOSSES = {
    "JaccardLoss": {},
    "DiceLoss": {},
    "TverskyLoss": {"alpha": 0.3, "beta": 0.7, "gamma": 1.5},
}


def _loss_inputs(a: Callable, mode: str, opts: dict) -> tuple[Any, Any]:
    logits, target, void = LOSS_DATA[mode]
    t = void if "ignore_index" in opts else target
    if not opts.get("from_logits", True):
        logits = 1.0 / (1.0 + np.exp(-logits))
    if opts.get("class_axis") == -1:
        logits = np.moveaxis(logits, 1, -1)
        if mode != "multiclass":
            t = np.moveaxis(t, 1, -1)
    return a(logits), a(t)


def _overlap_call(name: str, mode: str, opts: dict) -> Callable:
    def call(a: Callable) -> Any:
        loss = getattr(anyiou, name)(mode, **OVERLAP_LOSSES[name], **opts)
        return loss(*_loss_inputs(a, mode, opts))

    return call


def _lovasz_call(mode: str, opts: dict) -> Callable:
    def call(a: Callable) -> Any:
        return anyiou.LovaszLoss(mode, **opts)(*_loss_inputs(a, mode, opts))

    return call


LOSS_CASES = [
    (f"{name}-{mode}-{oid}", _overlap_call(name, mode, opts))
    for name in OVERLAP_LOSSES
    for mode in LOSS_DATA
    for oid, opts in LOSS_OPTIONS
    if not (mode == "binary" and any(k in opts for k in CLASS_OPTIONS))
] + [
    (f"LovaszLoss-{mode}-{oid}", _lovasz_call(mode, opts))
    for mode in LOSS_DATA
    for oid, opts in [("default", {}), ("per_image", {"per_image": True}),
                      ("ignore_index", {"ignore_index": IGNORE}),
                      ("ignore-per_image", {"ignore_index": IGNORE, "per_image": True}),
                      ("class_axis-last", {"class_axis": -1})]
] + [
    ("JaccardLoss-empty-batch", lambda a: anyiou.JaccardLoss("multiclass")(
        a(np.zeros((0, 3, 2, 2), F32)), a(np.zeros((0, 2, 2), I64)))),
    ("LovaszLoss-empty-batch", lambda a: anyiou.LovaszLoss("multiclass")(
        a(np.zeros((0, 3, 2, 2), F32)), a(np.zeros((0, 2, 2), I64)))),
    ("DiceLoss-all-ignored", lambda a: anyiou.DiceLoss("multiclass", ignore_index=IGNORE)(
        a(MC_LOGITS), a(np.full_like(MC_LABELS, IGNORE)))),
    # class weights given as an array on the device (read once, at construction)
    ("TverskyLoss-class_weights-array", lambda a: anyiou.TverskyLoss(
        "multilabel", class_weights=a(np.array([1.0, 2.0, 0.5], F32)), reduction="sum")(
        a(ML_LOGITS), a(ML_TARGET))),
    # the function forms
    ("jaccard_loss", lambda a: jaccard_loss(a(MC_LOGITS), a(MC_LABELS_VOID), mode="multiclass",
                                            ignore_index=IGNORE, class_weights=[1.0, 2.0, 0.5])),
    ("dice_loss", lambda a: dice_loss(a(ML_LOGITS), a(ML_TARGET), mode="multilabel",
                                      per_image=True, reduction="none")),
    ("tversky_loss", lambda a: tversky_loss(a(BIN_LOGITS), a(BIN_TARGET), mode="binary",
                                            alpha=0.3, beta=0.7, gamma=1.5)),
    ("lovasz_loss", lambda a: lovasz_loss(a(MC_LOGITS), a(MC_LABELS_VOID), mode="multiclass",
                                          ignore_index=IGNORE, per_image=True)),
]

SOFT_P = 1.0 / (1.0 + np.exp(-ML_LOGITS))


def _functional(fn: Callable, dims: Any, a: Callable) -> Any:
    return fn(a(SOFT_P), a(ML_TARGET), smooth=0.5, dims=dims)


FUNCTIONAL_CASES = [
    (f"{fn.__name__}-{did}", partial(_functional, fn, dims))
    for fn in (soft_jaccard_score, soft_dice_score)
    for did, dims in [("all", None), ("batch-pixels", (0, 2, 3))]
] + [
    ("soft_tversky_score", lambda a: soft_tversky_score(a(SOFT_P), a(ML_TARGET_HARD), 0.3, 0.7,
                                                         dims=(0, 2, 3))),
]

# -- metrics ----------------------------------------------------------------------------

MC_PREDS = np.argmax(MC_LOGITS, axis=1).astype(I64)
BIN_PROBS = SOFT_P[:, :1]
GET_STATS_CASES = [
    ("multiclass", lambda a: M.get_stats(a(MC_PREDS), a(MC_LABELS), "multiclass",
                                         num_classes=3)),
    ("multiclass-void", lambda a: M.get_stats(a(MC_PREDS), a(MC_LABELS_VOID), "multiclass",
                                              ignore_index=IGNORE, num_classes=3)),
    ("multiclass-ignore-class", lambda a: M.get_stats(a(MC_PREDS), a(MC_LABELS), "multiclass",
                                                      ignore_index=0, num_classes=3)),
    ("multiclass-scores", lambda a: M.get_stats(a(MC_LOGITS), a(MC_LABELS), "multiclass")),
    ("binary-threshold", lambda a: M.get_stats(a(BIN_PROBS), a(BIN_TARGET), "binary",
                                               threshold=0.5)),
    ("binary-void", lambda a: M.get_stats(a((BIN_PROBS > 0.5).astype(I64)),
                                          a(_void(BIN_TARGET)), "binary", ignore_index=IGNORE)),
    ("binary-float-void", lambda a: M.get_stats(a(BIN_PROBS), a(_void(BIN_TARGET).astype(F32)),
                                                "binary", ignore_index=IGNORE, threshold=0.5)),
    ("multilabel-class-thresholds", lambda a: M.get_stats(
        a(SOFT_P), a(ML_TARGET_HARD), "multilabel", threshold=[0.3, 0.5, 0.7])),
    ("multilabel-bool", lambda a: M.get_stats(a(SOFT_P > 0.5), a(ML_TARGET_HARD.astype(bool)),
                                              "multilabel", ignore_index=1)),
    ("empty-batch", lambda a: M.get_stats(a(np.zeros((0, 2, 2), I64)),
                                          a(np.zeros((0, 2, 2), I64)), "multiclass",
                                          num_classes=3)),
    ("multilabel-threshold-array", lambda a: M.get_stats(
        a(SOFT_P), a(ML_TARGET_HARD), "multilabel", threshold=a(np.array([0.3, 0.5, 0.7], F32)))),
]

SCORE_FUNCTIONS = [
    "iou_score", "f1_score", "fbeta_score", "accuracy", "balanced_accuracy", "recall",
    "sensitivity", "specificity", "precision", "positive_predictive_value",
    "negative_predictive_value", "false_negative_rate", "false_positive_rate",
    "false_discovery_rate", "false_omission_rate", "positive_likelihood_ratio",
    "negative_likelihood_ratio",
]
REDUCTIONS = [None, "micro", "macro", "weighted", "micro-imagewise", "macro-imagewise",
              "weighted-imagewise"]
STATS = tuple(np.asarray(s) for s in M.get_stats(MC_PREDS, MC_LABELS, "multiclass",
                                                  num_classes=3))


def _score_call(name: str, reduction: str | None, zero_division: Any = 1.0,
                floats: bool = False) -> Callable:
    kwargs = {"beta": 2.0} if name == "fbeta_score" else {}

    def call(a: Callable) -> Any:
        stats = [a(s.astype(F32) if floats else s) for s in STATS]
        return getattr(M, name)(*stats, reduction=reduction, class_weights=[1.0, 2.0, 3.0],
                                zero_division=zero_division, **kwargs)

    return call


SCORE_CASES = [
    (f"{name}-{reduction}", _score_call(name, reduction))
    for name in SCORE_FUNCTIONS
    for reduction in REDUCTIONS
] + [
    ("iou_score-macro-zd-nan", _score_call("iou_score", "macro", zero_division=np.nan)),
    ("iou_score-none-zd-0-float-stats", _score_call("iou_score", "none", 0.0, floats=True)),
    ("iou_score-empty-imagewise", lambda a: M.iou_score(*[a(np.zeros((0, 3), I64))] * 4,
                                                        reduction="macro-imagewise")),
    ("iou_score-class_weights-array", lambda a: M.iou_score(
        *[a(s) for s in STATS], reduction="weighted-imagewise",
        class_weights=a(np.array([1.0, 2.0, 3.0], F32)))),
]

AVERAGES = ["macro", "micro", "weighted", "none"]


def _metric_pair(a: Callable, mode: str) -> tuple[Any, Any]:
    if mode == "multiclass":
        return a(MC_PREDS), a(MC_LABELS_VOID)
    if mode == "binary":
        return a(BIN_PROBS), a(BIN_TARGET)
    return a(SOFT_P), a(ML_TARGET_HARD)


def _one_call(fn: Callable, mode: str, average: str, a: Callable) -> Any:
    return fn(*_metric_pair(a, mode), num_classes=3 if mode != "binary" else 1,
              average=average, ignore_index=IGNORE if mode == "multiclass" else None,
              mode=mode)


def _from_confmat(fn: Callable, confmat: np.ndarray, average: str, a: Callable) -> Any:
    return fn(a(confmat), average=average, ignore_index=1)


ML_CM = np.asarray(M.MeanIoU(3, mode="multilabel").update(ML_TARGET_HARD[::-1],
                                                          ML_TARGET_HARD).confmat)
MC_CM = np.asarray(M.confusion_matrix(MC_PREDS, MC_LABELS, 3))
CONFUSION_CASES = [
    ("confusion_matrix-labels", lambda a: M.confusion_matrix(a(MC_PREDS), a(MC_LABELS), 3)),
    ("confusion_matrix-scores", lambda a: M.confusion_matrix(a(MC_LOGITS), a(MC_LABELS), None)),
    ("confusion_matrix-void", lambda a: M.confusion_matrix(a(MC_PREDS), a(MC_LABELS_VOID), 3,
                                                           ignore_index=IGNORE)),
    ("confusion_matrix-ignore-class", lambda a: M.confusion_matrix(a(MC_PREDS), a(MC_LABELS),
                                                                   3, ignore_index=1)),
    ("confusion_matrix-empty", lambda a: M.confusion_matrix(a(np.zeros((0, 2), I64)),
                                                            a(np.zeros((0, 2), I64)), 3)),
] + [
    (f"{fn.__name__}-{mode}-{avg}", partial(_one_call, fn, mode, avg))
    for fn in (M.jaccard_index, M.dice_score)
    for mode in ("multiclass", "binary", "multilabel")
    for avg in AVERAGES
] + [
    ("jaccard_index-ignore-class-zd-nan", lambda a: M.jaccard_index(
        a(MC_PREDS), a(MC_LABELS), 3, ignore_index=0, zero_division=np.nan)),
] + [
    (f"{fn.__name__}-{cid}-{avg}", partial(_from_confmat, fn, cm, avg))
    for fn in (M.iou_from_confusion_matrix, M.dice_from_confusion_matrix)
    for cid, cm in (("multiclass", MC_CM), ("multilabel", ML_CM))
    for avg in AVERAGES
]


def _streaming(mode: str, **options: Any) -> Callable:
    """Every MeanIoU method in one sequence; returns each array it gives."""

    def call(a: Callable) -> Any:
        preds, target = _metric_pair(a, mode)
        c = 1 if mode == "binary" else 3
        ignore = IGNORE if mode == "multiclass" else None
        m = M.MeanIoU(c, ignore, mode=mode, **options)
        m.update(preds[:1, ...], target[:1, ...]).update(preds[1:, ...], target[1:, ...])
        out = [m.compute(), m.per_class(), m.confmat, m.state["confmat"]]
        other = M.MeanIoU(c, ignore, mode=mode, **options).update(preds, target)
        out += [m.merge(other).compute(), M.MeanIoU(c, ignore, mode=mode).merge(m).compute()]
        m.reset().update(preds, target)
        out.append(m.compute())
        state = m.init_state(target)
        state = m.update_state(state, preds, target)
        out += [state["confmat"], m.compute_state(state), m.compute_state(state, "none")]
        out.append(M.MeanIoU(c, ignore, mode=mode).load_state(state).compute())
        return tuple(out)

    return call


STREAMING_CASES = [
    (f"MeanIoU-{mode}-{avg}", _streaming(mode, average=avg))
    for mode in ("multiclass", "binary", "multilabel")
    for avg in AVERAGES
] + [("MeanIoU-sync", _streaming("multiclass", sync=_identity_sync))]

ALL_CASES = (LOSS_CASES + FUNCTIONAL_CASES + [(f"get_stats-{i}", c) for i, c in GET_STATS_CASES]
             + SCORE_CASES + CONFUSION_CASES + STREAMING_CASES)


# -- arrays on two devices --------------------------------------------------------------------

def _mixed_loss(make: Callable, x: Callable, y: Callable) -> Any:
    return make()(x(MC_LOGITS), y(MC_LABELS))


def _mixed_function(fn: Callable, x: Callable, y: Callable) -> Any:
    return fn(x(MC_LOGITS), y(MC_LABELS), mode="multiclass")


def _mixed_functional(fn: Callable, x: Callable, y: Callable) -> Any:
    return fn(x(SOFT_P), y(ML_TARGET))


def _mixed_score(name: str, pos: int, x: Callable, y: Callable) -> Any:
    """``tp`` on ``x``'s device and the statistic at ``pos`` on ``y``'s."""
    stats = [y(s) if i == pos else x(s) for i, s in enumerate(STATS)]
    return getattr(M, name)(*stats, reduction="macro",
                            **({"beta": 2.0} if name == "fbeta_score" else {}))


LOSSES = [
    lambda: anyiou.JaccardLoss("multiclass"),
    lambda: anyiou.DiceLoss("multiclass", ignore_index=IGNORE),
    lambda: anyiou.TverskyLoss("multiclass", class_weights=[1, 2, 3]),
    lambda: anyiou.LovaszLoss("multiclass"),
]
# (id, call(x, y) with x on device1 and y on the CPU device, the names the message gives)
MIXED_CALLS = [
    *[(type(make()).__name__, partial(_mixed_loss, make), ("y_pred", "y_true"))
      for make in LOSSES],
    *[(fn.__name__, partial(_mixed_functional, fn), ("output", "target"))
      for fn in (soft_jaccard_score, soft_dice_score)],
    *[(fn.__name__, partial(_mixed_function, fn), ("y_pred", "y_true"))
      for fn in (jaccard_loss, dice_loss, tversky_loss, lovasz_loss)],
    ("soft_tversky_score", lambda x, y: soft_tversky_score(x(SOFT_P), y(ML_TARGET), 0.3, 0.7),
     ("output", "target")),
    ("get_stats", lambda x, y: M.get_stats(x(MC_PREDS), y(MC_LABELS), "multiclass",
                                           num_classes=3), ("output", "target")),
    ("get_stats-binary", lambda x, y: M.get_stats(x(BIN_PROBS), y(BIN_TARGET), "binary",
                                                  threshold=0.5), ("output", "target")),
    *[(f"{name}-{pos}", partial(_mixed_score, name, pos), ("tp", ("tp", "fp", "fn", "tn")[pos]))
      for name in SCORE_FUNCTIONS for pos in (1, 3)],
    ("confusion_matrix", lambda x, y: M.confusion_matrix(x(MC_PREDS), y(MC_LABELS), 3),
     ("preds", "target")),
    ("jaccard_index", lambda x, y: M.jaccard_index(x(MC_PREDS), y(MC_LABELS), 3),
     ("preds", "target")),
    ("dice_score-multilabel", lambda x, y: M.dice_score(x(SOFT_P), y(ML_TARGET_HARD), 3,
                                                        mode="multilabel"), ("preds", "target")),
    ("MeanIoU.update", lambda x, y: M.MeanIoU(3).update(x(MC_PREDS), y(MC_LABELS)),
     ("preds", "target")),
    ("MeanIoU.update-state", lambda x, y: M.MeanIoU(3).update(x(MC_PREDS), x(MC_LABELS))
     .update(y(MC_PREDS), y(MC_LABELS)), ("state", "update")),
    ("MeanIoU.update_state", lambda x, y: M.MeanIoU(3).update_state(
        M.MeanIoU(3).init_state(y(MC_LABELS)), x(MC_PREDS), x(MC_LABELS)), ("state", "update")),
    ("MeanIoU.load_state-update", lambda x, y: M.MeanIoU(3).load_state(
        {"confmat": y(MC_CM)}).update(x(MC_PREDS), x(MC_LABELS)), ("state", "update")),
    ("MeanIoU.merge", lambda x, y: M.MeanIoU(3).update(x(MC_PREDS), x(MC_LABELS)).merge(
        M.MeanIoU(3).update(y(MC_PREDS), y(MC_LABELS))), ("state", "other")),
]

