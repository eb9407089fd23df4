"""Bad-input tables of the losses and the metrics, shared by ``tests/losses/test_errors.py``,
``tests/metrics/test_errors.py`` and the check that ``docs/errors.md`` lists every case.

Losses: tuples ``(id, ...)`` (constructor: ``kwargs, exception, argument named in the
message``; call: ``mode, loss options, y_pred, y_true, exception, argument``).
Metrics: :class:`Bad` records (``call(a)`` with ``a`` = the backend's ``asarray`` must
raise ``exc`` with every fragment of ``says`` in its message), the calls that mix array
libraries or devices, and the empty-batch calls with their defined results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import anyiou.metrics as M

I64, F32 = np.int64, np.float32

# == losses ===========================================================================

MC_PRED = np.zeros((2, 3, 4, 4), F32)
MC_LAB = np.zeros((2, 4, 4), np.int64)


LOSS_CONSTRUCTOR_ERRORS = [
    ("unknown-mode", dict(mode="multi"), ValueError, "mode"),
    ("mode-not-str", dict(mode=1), ValueError, "mode"),
    ("classes-binary", dict(mode="binary", classes=[0]), ValueError, "classes"),
    ("classes-int", dict(mode="multiclass", classes=1), TypeError, "classes"),
    ("classes-float", dict(mode="multiclass", classes=[0.5]), TypeError, "classes"),
    ("classes-negative", dict(mode="multiclass", classes=[-1]), ValueError, "classes"),
    ("classes-empty", dict(mode="multiclass", classes=[]), ValueError, "classes"),
    ("weights-binary", dict(mode="binary", class_weights=[1.0]), ValueError, "class_weights"),
    ("weights-negative", dict(mode="multiclass", class_weights=[1, -1, 1]), ValueError, "class_weights"),
    ("weights-nan", dict(mode="multiclass", class_weights=[1, float("nan"), 1]), ValueError,
     "class_weights"),
    ("ignore-float", dict(mode="multiclass", ignore_index=255.0), TypeError, "ignore_index"),
    ("ignore-bool", dict(mode="multiclass", ignore_index=True), TypeError, "ignore_index"),
    ("ignore-str", dict(mode="multiclass", ignore_index="255"), TypeError, "ignore_index"),
    ("smooth-negative", dict(mode="multiclass", smooth=-1.0), ValueError, "smooth"),
    ("eps-negative", dict(mode="multiclass", eps=-1e-7), ValueError, "eps"),
    ("eps-inf", dict(mode="multiclass", eps=float("inf")), ValueError, "eps"),
    ("reduction", dict(mode="multiclass", reduction="avg"), ValueError, "reduction"),
    ("empty", dict(mode="multiclass", empty="skip"), ValueError, "empty"),
    ("class-axis-float", dict(mode="multiclass", class_axis=1.0), TypeError, "class_axis"),
    ("weights-str", dict(mode="multiclass", class_weights="abc"), TypeError, "class_weights"),
    ("weights-mapping", dict(mode="multiclass", class_weights={0: 1.0}), TypeError,
     "class_weights"),
    ("weights-scalar", dict(mode="multiclass", class_weights=1.0), TypeError, "class_weights"),
    ("smooth-str", dict(mode="multiclass", smooth="1"), TypeError, "smooth"),
    ("sync-not-callable", dict(mode="multiclass", sync=3), TypeError, "sync"),
    ("sync-per-image", dict(mode="multiclass", sync=lambda s: s, per_image=True), ValueError,
     "per_image"),
    ("classes-0d-array", dict(mode="multiclass", classes=np.array(1)), TypeError, "classes"),
    ("classes-bytes", dict(mode="multiclass", classes=b"\x02"), TypeError, "classes"),
    ("classes-duplicate", dict(mode="multiclass", classes=[1, 2, 1]), ValueError, "classes"),
    ("smooth-array", dict(mode="multiclass", smooth=np.array([1.0])), TypeError, "smooth"),
    ("per-image-str", dict(mode="multiclass", per_image="no"), TypeError, "per_image"),
    ("log-loss-int", dict(mode="multiclass", log_loss=1), TypeError, "log_loss"),
    ("from-logits-none", dict(mode="multiclass", from_logits=None), TypeError, "from_logits"),
    ("ignore-beyond-int64", dict(mode="multiclass", ignore_index=2**70), ValueError,
     "ignore_index"),
    ("ignore-array", dict(mode="multiclass", ignore_index=np.array([[255]])), TypeError,
     "ignore_index"),
    ("ignore-empty-sequence", dict(mode="multiclass", ignore_index=[]), ValueError,
     "ignore_index"),
    ("ignore-sequence-float", dict(mode="multiclass", ignore_index=(255, -1.0)), TypeError,
     "ignore_index"),
]

LOSS_CALL_ERRORS = [
    ("pred-int", "multiclass", {}, np.zeros((2, 3, 4, 4), np.int64), MC_LAB, TypeError, "y_pred"),
    ("pred-1d", "binary", {}, np.zeros((4,), F32), np.zeros((4,), np.int64), ValueError, "y_pred"),
    ("pred-0d", "binary", {}, np.zeros((), F32), np.zeros((), np.int64), ValueError, "y_pred"),
    ("batch-mismatch", "multiclass", {}, MC_PRED, np.zeros((3, 4, 4), np.int64), ValueError, "batch"),
    ("mc-float-labels", "multiclass", {}, MC_PRED, MC_LAB.astype(F32), TypeError, "y_true"),
    ("mc-channels-mismatch", "multiclass", {}, MC_PRED, np.zeros((2, 2, 4, 4), np.int64), ValueError,
     "y_true"),
    ("mc-dense-complex", "multiclass", {}, MC_PRED, np.zeros((2, 3, 4, 4), np.complex64), TypeError,
     "y_true"),
    ("mc-dense-with-ignore", "multiclass", {"ignore_index": 255}, MC_PRED,
     np.zeros((2, 3, 4, 4), F32), ValueError, "ignore_index"),
    ("mc-spatial-mismatch", "multiclass", {}, MC_PRED, np.zeros((2, 4, 5), np.int64), ValueError,
     "y_true"),
    ("ml-shape", "multilabel", {}, MC_PRED, np.zeros((2, 2, 4, 4), np.int64), ValueError, "y_true"),
    ("bin-shape", "binary", {}, np.zeros((2, 1, 4, 4), F32), np.zeros((2, 4, 5), np.int64),
     ValueError, "y_true"),
    ("bad-class-axis", "multiclass", {"class_axis": 0}, MC_PRED, MC_LAB, ValueError, "class_axis"),
    ("class-axis-out-of-range", "multiclass", {"class_axis": 4}, MC_PRED, MC_LAB, ValueError,
     "class_axis"),
    ("classes-out-of-range", "multiclass", {"classes": [0, 3]}, MC_PRED, MC_LAB, ValueError, "classes"),
    ("weights-wrong-length", "multiclass", {"class_weights": [1.0, 2.0]}, MC_PRED, MC_LAB, ValueError,
     "class_weights"),
    ("weights-all-zero", "multiclass", {"class_weights": [0.0, 0.0, 1.0], "classes": [0, 1]}, MC_PRED,
     MC_LAB, ValueError, "class_weights"),
    ("bin-complex-target", "binary", {}, np.zeros((2, 1, 4, 4), F32),
     np.zeros((2, 1, 4, 4), np.complex64), TypeError, "y_true"),
    ("ml-complex-target", "multilabel", {}, MC_PRED, np.zeros((2, 3, 4, 4), np.complex64),
     TypeError, "y_true"),
    ("pred-bool", "binary", {}, np.zeros((2, 1, 4, 4), bool), np.zeros((2, 1, 4, 4), np.int64),
     TypeError, "y_pred"),
    ("weights-wrong-length-classes", "multiclass", {"class_weights": [1.0] * 4, "classes": [0]},
     MC_PRED, MC_LAB, ValueError, "class_weights"),
    ("mc-zero-classes", "multiclass", {}, np.zeros((2, 0, 4, 4), F32), MC_LAB, ValueError,
     "y_pred must have at least one class"),
    ("ml-zero-classes", "multilabel", {}, np.zeros((2, 0, 4, 4), F32),
     np.zeros((2, 0, 4, 4), np.int64), ValueError, "y_pred must have at least one class"),
]

# Value checks: raised on eager CPU arrays (NumPy, array-api-strict, torch CPU) only.
LOSS_VALUE_ERRORS = [
    ("mc-label-too-large", "multiclass", {}, MC_PRED, np.full((2, 4, 4), 3), ValueError, "y_true"),
    ("mc-label-negative", "multiclass", {}, MC_PRED, np.full((2, 4, 4), -1), ValueError, "y_true"),
    ("mc-255-without-ignore", "multiclass", {"ignore_index": -1}, MC_PRED, np.full((2, 4, 4), 255),
     ValueError, "ignore_index"),
    ("bin-target-255", "binary", {}, np.zeros((2, 1, 4, 4), F32), np.full((2, 1, 4, 4), 255),
     ValueError, "y_true"),
    ("mc-dense-above-one", "multiclass", {}, MC_PRED, np.full((2, 3, 4, 4), 1.5, F32), ValueError,
     "y_true"),
    ("ml-target-above-one", "multilabel", {}, MC_PRED, np.full((2, 3, 4, 4), 1.5, F32), ValueError,
     "y_true"),
    ("bin-target-nan", "binary", {}, np.zeros((2, 1, 4, 4), F32), np.full((2, 1, 4, 4), np.nan, F32),
     ValueError, "y_true.*NaN"),
    ("mc-uint8-255-ignore-minus-1", "multiclass", {"ignore_index": -1}, MC_PRED,
     np.full((2, 4, 4), 255, np.uint8), ValueError, r"y_true.*\[255, 255\]"),
]

#: the cases without loss options, tried on every loss
LOSS_PAIR_ERRORS = [c for c in LOSS_CALL_ERRORS if not c[2]]

LOVASZ_CONSTRUCTOR_ERRORS = [
    ("unknown-mode", dict(mode="multi"), ValueError, "mode"),
    ("ignore-float", dict(mode="multiclass", ignore_index=255.0), TypeError, "ignore_index"),
    ("class-axis-str", dict(mode="multiclass", class_axis="last"), TypeError, "class_axis"),
    ("per-image-str", dict(mode="binary", per_image="no"), TypeError, "per_image"),
    ("from-logits-str", dict(mode="binary", from_logits="yes"), TypeError, "from_logits"),
    ("ignore-beyond-int64", dict(mode="multiclass", ignore_index=-(2**63) - 1), ValueError,
     "ignore_index"),
    ("classes-binary", dict(mode="binary", classes="all"), ValueError, "classes"),
    ("classes-multilabel", dict(mode="multilabel", classes=[0]), ValueError, "classes"),
    ("classes-unknown-str", dict(mode="multiclass", classes="absent"), ValueError, "classes"),
    ("classes-none", dict(mode="multiclass", classes=None), TypeError, "classes"),
    ("classes-int", dict(mode="multiclass", classes=1), TypeError, "classes"),
    ("classes-float", dict(mode="multiclass", classes=[0.5]), TypeError, "classes"),
    ("classes-negative", dict(mode="multiclass", classes=[-1]), ValueError, "classes"),
    ("classes-empty", dict(mode="multiclass", classes=[]), ValueError, "classes"),
    ("classes-duplicate", dict(mode="multiclass", classes=[1, 2, 1]), ValueError, "classes"),
    ("weights-multilabel", dict(mode="multilabel", class_weights=[1.0, 1.0]), ValueError,
     "class_weights"),
    ("weights-negative", dict(mode="multiclass", class_weights=[1, -1, 1]), ValueError,
     "class_weights"),
    ("weights-nan", dict(mode="multiclass", class_weights=[1, float("nan")]), ValueError,
     "class_weights"),
    ("weights-str", dict(mode="multiclass", class_weights="abc"), TypeError, "class_weights"),
]

#: LovaszLoss options checked against y_pred's static shape at call time (C = 3)
LOVASZ_CALL_ERRORS = [
    ("classes-out-of-range", {"classes": [0, 3]}, ValueError, "classes"),
    ("weights-wrong-length", {"class_weights": [1.0, 2.0]}, ValueError, "class_weights"),
    ("weights-all-zero", {"class_weights": [0.0, 0.0, 0.0]}, ValueError, "class_weights"),
    ("weights-selected-all-zero", {"classes": [0, 1], "class_weights": [0.0, 0.0, 1.0]},
     ValueError, "class_weights"),
]


# == metrics ==========================================================================

LAB = np.zeros((2, 3, 3), I64)  # (N, *S) labels, C = 3
SCORES = np.zeros((2, 4, 3, 3), F32)  # (N, C=4, *S) scores
ML = np.zeros((2, 2, 3), I64)  # multilabel 0/1, C = 2
PROBS = np.full((2, 2, 3), 0.5, F32)
BIN = np.zeros((2, 1, 3), I64)
STATS = np.ones((2, 3), I64)  # tp = fp = fn = tn, (N, C) with C = 3


@dataclass(frozen=True)
class Bad:
    """One bad input: ``call(a)`` (``a`` = the backend's ``asarray``) must raise ``exc``
    with a message containing every fragment of ``says`` (the argument first)."""

    id: str
    call: Callable[[Callable[..., Any]], Any]
    exc: type
    says: tuple[str, ...]


def _stats(a, *shapes):
    shapes = shapes or ((2, 3),) * 4
    return [a(np.ones(s, I64)) for s in shapes]


METRIC_CALL_ERRORS = [
    # -- get_stats ------------------------------------------------------------------------
    Bad("get_stats-unknown-mode", lambda a: M.get_stats(a(LAB), a(LAB), "segmentation",
        num_classes=3), ValueError, ("mode", "'multiclass'")),
    Bad("get_stats-mode-None", lambda a: M.get_stats(a(LAB), a(LAB), None, num_classes=3),
        ValueError, ("mode", "one of")),
    Bad("get_stats-num_classes-missing", lambda a: M.get_stats(a(LAB), a(LAB), "multiclass"),
        ValueError, ("num_classes", "required")),
    Bad("get_stats-num_classes-zero", lambda a: M.get_stats(a(LAB), a(LAB), "multiclass",
        num_classes=0), ValueError, ("num_classes", "positive integer")),
    Bad("get_stats-num_classes-float", lambda a: M.get_stats(a(LAB), a(LAB), "multiclass",
        num_classes=3.0), TypeError, ("num_classes", "positive integer")),
    Bad("get_stats-num_classes-vs-score-channels", lambda a: M.get_stats(a(SCORES), a(LAB),
        "multiclass", num_classes=3), ValueError, ("num_classes=3", "4 score channels")),
    Bad("get_stats-num_classes-vs-multilabel-channels", lambda a: M.get_stats(a(ML), a(ML),
        "multilabel", num_classes=3), ValueError, ("num_classes=3", "2 channel(s)")),
    Bad("get_stats-threshold-in-multiclass", lambda a: M.get_stats(a(LAB), a(LAB),
        "multiclass", num_classes=3, threshold=0.5), ValueError, ("threshold", "multiclass")),
    Bad("get_stats-float-output-without-threshold", lambda a: M.get_stats(a(PROBS), a(ML),
        "multilabel"), ValueError, ("threshold", "floating-point")),
    Bad("get_stats-threshold-wrong-length", lambda a: M.get_stats(a(PROBS), a(ML),
        "multilabel", threshold=[0.5, 0.5, 0.5]), ValueError, ("threshold", "one value per class (2)")),
    Bad("get_stats-threshold-str", lambda a: M.get_stats(a(PROBS), a(ML), "multilabel",
        threshold="0.5"), TypeError, ("threshold", "number")),
    Bad("get_stats-threshold-bool", lambda a: M.get_stats(a(PROBS), a(ML), "multilabel",
        threshold=True), TypeError, ("threshold", "number")),
    Bad("get_stats-threshold-nan", lambda a: M.get_stats(a(PROBS), a(ML), "multilabel",
        threshold=float("nan")), ValueError, ("threshold", "NaN")),
    Bad("get_stats-ignore_index-float", lambda a: M.get_stats(a(LAB), a(LAB), "multiclass",
        num_classes=3, ignore_index=2.5), TypeError, ("ignore_index", "integer")),
    Bad("get_stats-ignore_index-str", lambda a: M.get_stats(a(LAB), a(LAB), "multiclass",
        num_classes=3, ignore_index="255"), TypeError, ("ignore_index", "integer")),
    Bad("get_stats-float-labels", lambda a: M.get_stats(a(LAB), a(LAB.astype(F32)),
        "multiclass", num_classes=3), TypeError, ("target", "integer class labels")),
    Bad("get_stats-float-label-predictions", lambda a: M.get_stats(a(LAB.astype(F32)), a(LAB),
        "multiclass", num_classes=3), TypeError, ("output", "integer class labels")),
    Bad("get_stats-multiclass-shape-mismatch", lambda a: M.get_stats(a(np.zeros((2, 3, 4), I64)),
        a(LAB), "multiclass", num_classes=3), ValueError, ("output", "(2, 3, 3)")),
    Bad("get_stats-scores-spatial-mismatch", lambda a: M.get_stats(
        a(np.zeros((2, 4, 3, 4), F32)), a(LAB), "multiclass"), ValueError,
        ("output", "(N, C, *S)")),
    Bad("get_stats-multilabel-shape-mismatch", lambda a: M.get_stats(a(ML), a(ML[:, :1]),
        "multilabel"), ValueError, ("target", "(2, 2, 3)")),
    Bad("get_stats-binary-shape-mismatch", lambda a: M.get_stats(a(BIN), a(np.zeros((2, 4), I64)),
        "binary"), ValueError, ("target", "singleton channel")),
    Bad("get_stats-0d-target", lambda a: M.get_stats(a(np.zeros((), I64)), a(np.zeros((), I64)),
        "multiclass", num_classes=3), ValueError, ("target", "batch axis")),
    Bad("get_stats-0d-binary-output", lambda a: M.get_stats(a(np.zeros((), I64)),
        a(np.zeros((), I64)), "binary"), ValueError, ("output", "batch axis")),
    Bad("get_stats-1d-multilabel-output", lambda a: M.get_stats(a(np.zeros(4, I64)),
        a(np.zeros(4, I64)), "multilabel"), ValueError, ("output", "(N, C, *S)")),
    Bad("get_stats-complex-output", lambda a: M.get_stats(a(BIN.astype(np.complex64)), a(BIN),
        "binary", threshold=0.5), TypeError, ("output", "dtype")),
    Bad("get_stats-complex-target", lambda a: M.get_stats(a(BIN), a(BIN.astype(np.complex64)),
        "binary"), TypeError, ("target", "dtype")),
    Bad("get_stats-list-output", lambda a: M.get_stats([[0, 1]], a(LAB), "multiclass",
        num_classes=3), TypeError, ("output", "must be an array")),
    # -- score functions ------------------------------------------------------------------
    Bad("score-unknown-reduction", lambda a: M.iou_score(*_stats(a), reduction="mean"),
        ValueError, ("reduction", "'micro'")),
    Bad("score-weighted-without-class_weights", lambda a: M.f1_score(*_stats(a),
        reduction="weighted"), ValueError, ("class_weights", "must be given")),
    Bad("score-class_weights-wrong-length", lambda a: M.iou_score(*_stats(a),
        reduction="weighted", class_weights=[1.0, 2.0]), ValueError,
        ("class_weights", "one weight per class (3)")),
    Bad("score-class_weights-wrong-length-micro", lambda a: M.iou_score(*_stats(a),
        reduction="micro", class_weights=[1.0, 2.0]), ValueError,
        ("class_weights", "one weight per class (3)")),
    Bad("score-class_weights-all-zero", lambda a: M.iou_score(*_stats(a), reduction="macro",
        class_weights=[0, 0, 0]), ValueError, ("class_weights", "zero")),
    Bad("score-class_weights-negative", lambda a: M.iou_score(*_stats(a), reduction="weighted",
        class_weights=[1, -1, 1]), ValueError, ("class_weights", "non-negative")),
    Bad("score-class_weights-str", lambda a: M.iou_score(*_stats(a), reduction="weighted",
        class_weights="abc"), TypeError, ("class_weights", "sequence of numbers")),
    Bad("score-zero_division-str", lambda a: M.iou_score(*_stats(a), reduction="macro",
        zero_division="skip"), ValueError, ("zero_division", "'warn'")),
    Bad("score-zero_division-bool", lambda a: M.iou_score(*_stats(a), reduction="macro",
        zero_division=True), TypeError, ("zero_division", "number")),
    Bad("score-stats-3d", lambda a: M.iou_score(*_stats(a, *[(2, 3, 2)] * 4),
        reduction="macro"), ValueError, ("tp, fp, fn and tn", "(N, C), (N,) or ()")),
    Bad("score-stats-1d-micro-imagewise", lambda a: M.iou_score(*_stats(a, *[(3,)] * 4),
        reduction="micro-imagewise"), ValueError, ("micro-imagewise", "(N, C)")),
    Bad("score-stats-shape-mismatch", lambda a: M.accuracy(*_stats(a, (2, 3), (2, 3), (2, 3),
        (2, 2))), ValueError, ("tn", "(2, 2)")),
    Bad("score-stats-not-arrays", lambda a: M.iou_score([[1]], *_stats(a)[1:]), TypeError,
        ("tp", "must be an array")),
    Bad("fbeta-beta-negative", lambda a: M.fbeta_score(*_stats(a), beta=-1.0,
        reduction="micro"), ValueError, ("beta", "non-negative")),
    Bad("fbeta-beta-str", lambda a: M.fbeta_score(*_stats(a), beta="2", reduction="micro"),
        TypeError, ("beta", "number")),
    # -- confusion_matrix, jaccard_index, dice_score, *_from_confusion_matrix -------------
    Bad("confusion_matrix-float-labels", lambda a: M.confusion_matrix(a(LAB),
        a(LAB.astype(F32)), 3), TypeError, ("target", "integer class labels")),
    Bad("confusion_matrix-float-label-predictions", lambda a: M.confusion_matrix(
        a(LAB.astype(F32)), a(LAB), 3), TypeError, ("preds", "integer class labels")),
    Bad("confusion_matrix-num_classes-missing", lambda a: M.confusion_matrix(a(LAB), a(LAB),
        None), ValueError, ("num_classes", "required")),
    Bad("confusion_matrix-num_classes-negative", lambda a: M.confusion_matrix(a(LAB), a(LAB),
        -2), ValueError, ("num_classes", "positive integer")),
    Bad("confusion_matrix-num_classes-vs-score-channels", lambda a: M.confusion_matrix(
        a(SCORES), a(LAB), 3), ValueError, ("num_classes=3", "4 score channels")),
    Bad("confusion_matrix-shape-mismatch", lambda a: M.confusion_matrix(
        a(np.zeros((2, 9), I64)), a(LAB), 3), ValueError, ("preds", "(2, 3, 3)")),
    Bad("confusion_matrix-ignore_index-float", lambda a: M.confusion_matrix(a(LAB), a(LAB), 3,
        ignore_index=255.0), TypeError, ("ignore_index", "integer")),
    Bad("jaccard_index-unknown-average", lambda a: M.jaccard_index(a(LAB), a(LAB), 3,
        average="samples"), ValueError, ("average", "'macro'")),
    Bad("jaccard_index-zero_division-warn", lambda a: M.jaccard_index(a(LAB), a(LAB), 3,
        zero_division="warn"), TypeError, ("zero_division", "number")),
    Bad("jaccard_index-unknown-mode", lambda a: M.jaccard_index(a(LAB), a(LAB), 3,
        mode="segmentation"), ValueError, ("mode", "'multiclass'")),
    Bad("jaccard_index-multilabel-num_classes", lambda a: M.jaccard_index(a(ML), a(ML), 3,
        mode="multilabel"), ValueError, ("num_classes=3", "2 channel(s)")),
    Bad("jaccard_index-binary-num_classes", lambda a: M.jaccard_index(a(BIN), a(BIN), 2,
        mode="binary"), ValueError, ("num_classes=2", "1 channel(s)")),
    Bad("jaccard_index-threshold-nan", lambda a: M.jaccard_index(a(PROBS), a(ML), 2,
        mode="multilabel", threshold=float("nan")), ValueError, ("threshold", "NaN")),
    Bad("jaccard_index-float-labels", lambda a: M.jaccard_index(a(LAB), a(LAB.astype(F32)), 3),
        TypeError, ("target", "integer class labels")),
    Bad("dice_score-unknown-average", lambda a: M.dice_score(a(LAB), a(LAB), 3,
        average="binary"), ValueError, ("average", "'macro'")),
    Bad("iou_from_confusion_matrix-not-square", lambda a: M.iou_from_confusion_matrix(
        a(np.zeros((3, 4), I64))), ValueError, ("confmat", "(C, C)")),
    Bad("iou_from_confusion_matrix-complex", lambda a: M.iou_from_confusion_matrix(
        a(np.zeros((3, 3), np.complex64))), TypeError, ("confmat", "counts")),
    Bad("dice_from_confusion_matrix-unknown-average", lambda a: M.dice_from_confusion_matrix(
        a(np.eye(3, dtype=I64)), average="mean"), ValueError, ("average", "'macro'")),
    # -- MeanIoU calls --------------------------------------------------------------------
    Bad("MeanIoU-update-score-channels", lambda a: M.MeanIoU(3).update(a(SCORES), a(LAB)),
        ValueError, ("num_classes=3", "4 score channels")),
    Bad("MeanIoU-update-float-labels", lambda a: M.MeanIoU(3).update(a(LAB), a(LAB.astype(F32))),
        TypeError, ("target", "integer class labels")),
    Bad("MeanIoU-merge-num_classes", lambda a: M.MeanIoU(3).update(a(LAB), a(LAB)).merge(
        M.MeanIoU(4).update(a(LAB), a(LAB))), ValueError, ("num_classes", "same")),
    Bad("MeanIoU-merge-not-a-metric", lambda a: M.MeanIoU(3).merge(np.zeros((3, 3), I64)),
        TypeError, ("other", "MeanIoU")),
    Bad("MeanIoU-load_state-shape", lambda a: M.MeanIoU(3).load_state(
        {"confmat": a(np.zeros((4, 4), I64))}), ValueError, ("state['confmat']", "(3, 3)")),
    Bad("MeanIoU-load_state-float", lambda a: M.MeanIoU(3).load_state(
        {"confmat": a(np.zeros((3, 3), F32))}), TypeError, ("state['confmat']", "integer")),
    Bad("MeanIoU-load_state-not-a-dict", lambda a: M.MeanIoU(3).load_state(a(LAB)), TypeError,
        ("state", "dict")),
    Bad("MeanIoU-compute-unknown-average", lambda a: M.MeanIoU(3).compute_state(
        M.MeanIoU(3).update_state(None, a(LAB), a(LAB)), average="avg"), ValueError,
        ("average", "'macro'")),
    Bad("MeanIoU-compute-before-update", lambda a: M.MeanIoU(3).compute(), RuntimeError,
        ("compute", "update")),
    Bad("MeanIoU-load_state-int8", lambda a: M.MeanIoU(3).load_state(
        {"confmat": a(np.zeros((3, 3), np.int8))}), TypeError, ("state['confmat']", "int64")),
    Bad("MeanIoU-load_state-bool", lambda a: M.MeanIoU(3).load_state(
        {"confmat": a(np.zeros((3, 3), bool))}), TypeError, ("state['confmat']", "integer")),
    Bad("MeanIoU-load_state-nested-list", lambda a: M.MeanIoU(3).load_state(
        {"confmat": [[0] * 3] * 3}), TypeError, ("state['confmat']", "must be an array")),
    Bad("get_stats-multilabel-zero-classes", lambda a: M.get_stats(a(np.zeros((2, 0, 3), I64)),
        a(np.zeros((2, 0, 3), I64)), "multilabel"), ValueError, ("output", "C >= 1")),
    Bad("get_stats-ignore_index-beyond-int64", lambda a: M.get_stats(a(LAB), a(LAB),
        "multiclass", num_classes=3, ignore_index=2**63), ValueError, ("ignore_index", "64-bit")),
    Bad("confusion_matrix-num_classes-array", lambda a: M.confusion_matrix(a(LAB), a(LAB),
        np.array([3])), TypeError, ("num_classes", "positive integer")),
]

METRIC_CONSTRUCTOR_ERRORS = [
    Bad("MeanIoU-num_classes-zero", lambda: M.MeanIoU(0), ValueError,
        ("num_classes", "positive integer")),
    Bad("MeanIoU-num_classes-None", lambda: M.MeanIoU(None), TypeError,
        ("num_classes", "positive integer")),
    Bad("MeanIoU-num_classes-bool", lambda: M.MeanIoU(True), TypeError,
        ("num_classes", "positive integer")),
    Bad("MeanIoU-unknown-average", lambda: M.MeanIoU(3, average="samples"), ValueError,
        ("average", "'macro'")),
    Bad("MeanIoU-zero_division-str", lambda: M.MeanIoU(3, zero_division="warn"), TypeError,
        ("zero_division", "number")),
    Bad("MeanIoU-unknown-mode", lambda: M.MeanIoU(3, mode="semantic"), ValueError,
        ("mode", "'multiclass'")),
    Bad("MeanIoU-binary-num_classes", lambda: M.MeanIoU(2, mode="binary"), ValueError,
        ("num_classes", "binary")),
    Bad("MeanIoU-threshold-str", lambda: M.MeanIoU(2, mode="multilabel", threshold="high"),
        TypeError, ("threshold", "number")),
    Bad("MeanIoU-threshold-wrong-length", lambda: M.MeanIoU(2, mode="multilabel",
        threshold=[0.5, 0.5, 0.5]), ValueError, ("threshold", "one value per class (2)")),
    Bad("MeanIoU-ignore_index-float", lambda: M.MeanIoU(3, ignore_index=255.0), TypeError,
        ("ignore_index", "integer")),
    Bad("MeanIoU-ignore_index-beyond-int64", lambda: M.MeanIoU(3, ignore_index=2**64),
        ValueError, ("ignore_index", "64-bit")),
    Bad("MeanIoU-ignore_index-empty", lambda: M.MeanIoU(3, ignore_index=()), ValueError,
        ("ignore_index", "at least one value")),
    Bad("MeanIoU-ignore_index-bool-member", lambda: M.MeanIoU(3, ignore_index=[255, False]),
        TypeError, ("ignore_index", "integer")),
    Bad("MeanIoU-num_classes-array", lambda: M.MeanIoU(np.array([3])), TypeError,
        ("num_classes", "positive integer")),
]

# Value checks: raised on eager CPU arrays (NumPy, array-api-strict, torch CPU) only.
METRIC_VALUE_ERRORS = [
    Bad("get_stats-label-too-large", lambda a: M.get_stats(a(LAB), a(np.full((2, 3, 3), 3)),
        "multiclass", num_classes=3), ValueError, ("target", "[0, 3)")),
    Bad("get_stats-255-without-ignore_index", lambda a: M.get_stats(a(LAB),
        a(np.full((2, 3, 3), 255)), "multiclass", num_classes=3), ValueError,
        ("target", "ignore_index")),
    Bad("get_stats-255-with-other-ignore_index", lambda a: M.get_stats(a(LAB),
        a(np.full((2, 3, 3), 255)), "multiclass", num_classes=3, ignore_index=-1), ValueError,
        ("target", "ignore_index=-1")),
    Bad("get_stats-prediction-out-of-range", lambda a: M.get_stats(a(np.full((2, 3, 3), 7)),
        a(LAB), "multiclass", num_classes=3), ValueError, ("output", "[0, 3)")),
    Bad("get_stats-binary-output-not-0-1", lambda a: M.get_stats(a(BIN + 2), a(BIN), "binary"),
        ValueError, ("output", "0/1")),
    Bad("get_stats-binary-target-255", lambda a: M.get_stats(a(BIN), a(BIN + 255), "binary"),
        ValueError, ("target", "0/1")),
    Bad("confusion_matrix-negative-label", lambda a: M.confusion_matrix(a(LAB),
        a(np.full((2, 3, 3), -1)), 3), ValueError, ("target", "[0, 3)")),
    Bad("confusion_matrix-prediction-out-of-range", lambda a: M.confusion_matrix(
        a(np.full((2, 3, 3), 3)), a(LAB), 3), ValueError, ("preds", "[0, 3)")),
    Bad("jaccard_index-multilabel-target-2", lambda a: M.jaccard_index(a(ML), a(ML + 2), 2,
        mode="multilabel"), ValueError, ("target", "0/1")),
    Bad("MeanIoU-update-label-too-large", lambda a: M.MeanIoU(3, ignore_index=255).update(
        a(LAB), a(np.full((2, 3, 3), 4))), ValueError, ("target", "ignore_index=255")),
    Bad("jaccard_index-binary-target-nan", lambda a: M.jaccard_index(a(BIN),
        a(np.full((2, 1, 3), np.nan, F32)), mode="binary"), ValueError, ("target", "NaN")),
    Bad("confusion_matrix-uint8-255-ignore_index-minus-1", lambda a: M.confusion_matrix(a(LAB),
        a(np.full((2, 3, 3), 255, np.uint8)), 3, ignore_index=-1), ValueError,
        ("target", "ignore_index=-1", "[255, 255]")),
]

#: (id, call(x, y), the argument names the message gives); the first five also reject
#: arrays of one library on two devices
MIXED_LIBRARY_CALLS = [
    ("get_stats", lambda x, y: M.get_stats(x, y, "multiclass", num_classes=3),
     "output and target"),
    ("iou_score", lambda x, y: M.iou_score(x, y, y, y, reduction="micro"), "tp and fp"),
    ("confusion_matrix", lambda x, y: M.confusion_matrix(x, y, 3), "preds and target"),
    ("jaccard_index", lambda x, y: M.jaccard_index(x, y, 3), "preds and target"),
    ("dice_score", lambda x, y: M.dice_score(x, y, 3), "preds and target"),
    ("MeanIoU.update", lambda x, y: M.MeanIoU(3).update(x, x).update(y, y), "state and update"),
    ("MeanIoU.merge", lambda x, y: M.MeanIoU(3).update(x, x).merge(M.MeanIoU(3).update(y, y)),
     "state and other"),
]

#: the calls of MIXED_LIBRARY_CALLS that also check devices
MIXED_DEVICE_CALLS = MIXED_LIBRARY_CALLS[:5]

EMPTY_LAB = np.zeros((0, 3, 3), I64)
EMPTY_STATS = np.zeros((0, 3), I64)

EMPTY_BATCH = [
    # (id, call, expected as NumPy: a value, or a shape for (0, C) arrays)
    ("get_stats-multiclass", lambda a: M.get_stats(a(EMPTY_LAB), a(EMPTY_LAB), "multiclass",
     num_classes=3), [np.zeros((0, 3), I64)] * 4),
    ("get_stats-binary", lambda a: M.get_stats(a(np.zeros((0, 1, 3), I64)),
     a(np.zeros((0, 1, 3), I64)), "binary"), [np.zeros((0, 1), I64)] * 4),
    ("get_stats-multilabel-threshold", lambda a: M.get_stats(a(np.zeros((0, 2, 3), F32)),
     a(np.zeros((0, 2, 3), I64)), "multilabel", threshold=0.5), [np.zeros((0, 2), I64)] * 4),
    ("iou_score-micro", lambda a: M.iou_score(*[a(EMPTY_STATS)] * 4, reduction="micro"), 1.0),
    ("iou_score-macro", lambda a: M.iou_score(*[a(EMPTY_STATS)] * 4, reduction="macro"), 1.0),
    ("iou_score-weighted", lambda a: M.iou_score(*[a(EMPTY_STATS)] * 4, reduction="weighted",
     class_weights=[1, 2, 3]), 1.0),
    ("iou_score-micro-imagewise", lambda a: M.iou_score(*[a(EMPTY_STATS)] * 4,
     reduction="micro-imagewise"), 1.0),
    ("iou_score-macro-imagewise-zero_division-0", lambda a: M.iou_score(*[a(EMPTY_STATS)] * 4,
     reduction="macro-imagewise", zero_division=0), 0.0),
    ("f1_score-weighted-imagewise", lambda a: M.f1_score(*[a(EMPTY_STATS)] * 4,
     reduction="weighted-imagewise", class_weights=[1, 1, 1]), 1.0),
    ("iou_score-none", lambda a: M.iou_score(*[a(EMPTY_STATS)] * 4, reduction="none"),
     np.zeros((0, 3))),
    ("confusion_matrix", lambda a: M.confusion_matrix(a(EMPTY_LAB), a(EMPTY_LAB), 3),
     np.zeros((3, 3), I64)),
    ("confusion_matrix-scores", lambda a: M.confusion_matrix(a(np.zeros((0, 3, 2), F32)),
     a(np.zeros((0, 2), I64)), None), np.zeros((3, 3), I64)),
    ("jaccard_index-macro", lambda a: M.jaccard_index(a(EMPTY_LAB), a(EMPTY_LAB), 3), 0.0),
    ("jaccard_index-none", lambda a: M.jaccard_index(a(EMPTY_LAB), a(EMPTY_LAB), 3,
     average="none"), np.zeros(3)),
    ("jaccard_index-multilabel", lambda a: M.jaccard_index(a(np.zeros((0, 2, 3), I64)),
     a(np.zeros((0, 2, 3), I64)), 2, mode="multilabel"), 0.0),
    ("dice_score-nan", lambda a: M.dice_score(a(EMPTY_LAB), a(EMPTY_LAB), 3,
     zero_division=float("nan")), np.nan),
    ("MeanIoU", lambda a: M.MeanIoU(3).update(a(EMPTY_LAB), a(EMPTY_LAB)).compute(), 0.0),
]
