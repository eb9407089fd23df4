"""Bad input to the metrics: one parametrized case per bad input, each raising
ValueError/TypeError whose message names the argument and what was expected; defined
results for empty batches; what happens where values are not checked (JAX, Dask).

The same table is in docs/errors.md. Oracles: the expected exception and message
fragments (written here), hand-computed results for N = 0, and a NumPy re-count of the
documented rule for labels that are not checked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import anyiou.metrics as M

I64, F32 = np.int64, np.float32
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


CALL_ERRORS = [
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
    Bad("score-stats-1d", lambda a: M.iou_score(*_stats(a, *[(3,)] * 4), reduction="macro"),
        ValueError, ("tp, fp, fn and tn", "(N, C)")),
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
]

CONSTRUCTOR_ERRORS = [
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
]

# Value checks: raised on eager CPU arrays (NumPy, array-api-strict, torch CPU) only.
VALUE_ERRORS = [
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
]


def _check_message(err: pytest.ExceptionInfo, says: tuple[str, ...]) -> None:
    message = str(err.value)
    for fragment in says:
        assert fragment in message, f"{fragment!r} not in {message!r}"


@pytest.mark.parametrize("bad", CALL_ERRORS, ids=lambda b: b.id)
def test_call_rejects(backend, bad):
    with pytest.raises(bad.exc) as err:
        bad.call(backend.asarray)
    _check_message(err, bad.says)


@pytest.mark.parametrize("bad", CONSTRUCTOR_ERRORS, ids=lambda b: b.id)
def test_constructor_rejects(bad):
    with pytest.raises(bad.exc) as err:
        bad.call()
    _check_message(err, bad.says)


@pytest.mark.parametrize("bad", VALUE_ERRORS, ids=lambda b: b.id)
def test_label_values_checked_on_eager_arrays(backend, bad):
    if backend.checks_values:
        with pytest.raises(bad.exc) as err:
            bad.call(backend.asarray)
        _check_message(err, bad.says)
    else:
        # JAX, Dask and GPU arrays are not inspected (documented): no error, a result
        # (see test_unchecked_labels_follow_the_documented_rule for its value).
        out = bad.call(backend.asarray)
        for x in out if isinstance(out, tuple) else (getattr(out, "confmat", out),):
            assert backend.to_numpy(x).size > 0


# -- mixed libraries and devices --------------------------------------------------------

MIXED = [
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


@pytest.mark.parametrize(("call", "names"), [m[1:] for m in MIXED], ids=[m[0] for m in MIXED])
def test_mixed_libraries_rejected(call, names):
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError) as err:
        call(np.zeros((2, 3), I64), torch.zeros((2, 3), dtype=torch.int64))
    _check_message(err, (names, "same array library"))


@pytest.mark.only_backends("torch")
@pytest.mark.parametrize(("call", "names"), [m[1:] for m in MIXED[:5]], ids=[m[0] for m in MIXED[:5]])
def test_mixed_devices_rejected(backend, call, names):
    torch = backend.lib
    cpu = torch.zeros((2, 3), dtype=torch.int64)
    meta = torch.zeros((2, 3), dtype=torch.int64, device="meta")
    with pytest.raises(ValueError) as err:
        call(cpu, meta)
    _check_message(err, ("same device", "meta"))


# -- empty batch: a defined result, no error, no warning --------------------------------

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


@pytest.mark.filterwarnings("error")  # no 'mean of empty slice' or 0/0 warnings either
@pytest.mark.parametrize(("call", "expected"), [e[1:] for e in EMPTY_BATCH],
                         ids=[e[0] for e in EMPTY_BATCH])
def test_empty_batch_gives_a_defined_result(backend, call, expected):
    out = call(backend.asarray)
    if isinstance(expected, list):
        assert len(out) == len(expected)
        for got, want in zip(out, expected, strict=True):
            got = backend.to_numpy(got)
            assert got.shape == want.shape and np.issubdtype(got.dtype, np.integer)
        return
    got = backend.to_numpy(out)
    np.testing.assert_array_equal(got, np.asarray(expected))


# -- labels outside [0, C) where values are not checked (JAX, also under jit; Dask) ------


def _unchecked_case():
    """Labels with values outside [0, 3) in both the target and the prediction."""
    rng = np.random.default_rng(3)
    target = rng.integers(0, 3, (2, 5, 4))
    preds = rng.integers(0, 3, (2, 5, 4))
    target[0, 0, :] = 7  # never a class
    target[1, 1, :2] = -3
    target[1, 2, 0] = 255  # the ignore_index of the second variant
    preds[0, 1, :] = 9  # predicted outside [0, C) at counted pixels
    preds[1, 3, 1] = -1
    return preds, target


def _documented_counts(preds, target, c, ignore_index):
    """The rule of docs/errors.md, re-counted in NumPy: a pixel counts where its target
    lies in [0, C) and is not ignore_index; there a prediction outside [0, C) is a false
    negative of the target's class (get_stats) and is left out of the confusion matrix."""
    counted = (target >= 0) & (target < c)
    if ignore_index is not None:
        counted &= target != ignore_index
    confmat = np.zeros((c, c), I64)
    tp, fp, fn = (np.zeros((target.shape[0], c), I64) for _ in range(3))
    for n in range(target.shape[0]):
        t, p, k = target[n].ravel(), preds[n].ravel(), counted[n].ravel()
        for i in range(c):
            tp[n, i] = np.sum(k & (t == i) & (p == i))
            fp[n, i] = np.sum(k & (t != i) & (p == i))
            fn[n, i] = np.sum(k & (t == i) & (p != i))
        for ti, pi in zip(t[k], p[k], strict=True):
            if 0 <= pi < c:
                confmat[ti, pi] += 1
    tn = counted.reshape(target.shape[0], -1).sum(1, keepdims=True) - tp - fp - fn
    return confmat, (tp, fp, fn, tn)


@pytest.mark.parametrize("ignore_index", [None, 255])
def test_unchecked_labels_follow_the_documented_rule(backend, ignore_index):
    if backend.checks_values:
        pytest.skip("eager CPU arrays raise instead (test_label_values_checked_on_eager_arrays)")
    preds, target = _unchecked_case()
    confmat, stats = _documented_counts(preds, target, 3, ignore_index)

    def run(p, t):
        cm = M.confusion_matrix(p, t, 3, ignore_index=ignore_index)
        st = M.get_stats(p, t, "multiclass", num_classes=3, ignore_index=ignore_index)
        iou = M.jaccard_index(p, t, 3, average="none", ignore_index=ignore_index)
        return cm, st, iou

    runners = [run]
    if backend.name.startswith("jax"):
        import jax

        runners.append(jax.jit(run))
    for fn in runners:
        cm, st, iou = fn(backend.asarray(preds), backend.asarray(target))
        np.testing.assert_array_equal(backend.to_numpy(cm), confmat)
        for got, want in zip(st, stats, strict=True):
            np.testing.assert_array_equal(backend.to_numpy(got), want)
        tp = np.diag(confmat)
        union = confmat.sum(0) + confmat.sum(1) - tp
        np.testing.assert_allclose(backend.to_numpy(iou), tp / union, rtol=1e-12)


def test_unchecked_binary_values_count_nonzero_as_positive(backend):
    """Without a threshold, binary/multilabel values other than 0/1 raise on eager CPU
    arrays; elsewhere (JAX, Dask, GPU) any non-zero value is a positive."""
    output = np.array([[[0, 1, 2, 0, 5, 1]]])
    target = np.array([[[0, 1, 1, 255, 0, 0]]])
    args = (backend.asarray(output), backend.asarray(target), "binary")
    if backend.checks_values:
        with pytest.raises(ValueError, match="output must hold 0/1"):
            M.get_stats(*args)
        return
    calls = [lambda o, t: M.get_stats(o, t, "binary")]
    if backend.name.startswith("jax"):
        import jax

        calls.append(jax.jit(calls[0]))
    for call in calls:
        got = [backend.to_numpy(x).tolist() for x in call(*args[:2])]
        # positives: output at 1, 2, 4, 5; target at 1, 2, 3
        assert got == [[[2]], [[2]], [[1]], [[1]]]


# -- the docs page lists the same table ----------------------------------------------------


def test_docs_list_every_case():
    """docs/errors.md ("Every case tried") names every case of this module and of
    tests/test_loss_errors.py."""
    from pathlib import Path

    from . import test_loss_errors as L

    page = Path(__file__).resolve().parents[1] / "docs" / "errors.md"
    if not page.exists():  # pragma: no cover - tests run from an sdist without docs
        pytest.skip("docs/errors.md not present")
    text = page.read_text()
    ids = [b.id for b in CALL_ERRORS + CONSTRUCTOR_ERRORS + VALUE_ERRORS]
    ids += [f"mixed-libraries/{m[0]}" for m in MIXED] + [f"mixed-devices/{m[0]}" for m in MIXED[:5]]
    ids += [f"constructor/{c[0]}" for c in L.CONSTRUCTOR_ERRORS]
    ids += [f"lovasz-constructor/{c[0]}" for c in L.LOVASZ_CONSTRUCTOR_ERRORS]
    ids += [f"call/{c[0]}" for c in L.CALL_ERRORS] + [f"value/{c[0]}" for c in L.VALUE_ERRORS]
    missing = [i for i in ids if f"`{i}`" not in text]
    assert not missing, f"docs/errors.md does not list {missing}"


def test_meaniou_with_per_class_threshold_array_merges(backend):
    """Regression: a per-class threshold given as an array made merge() fail with
    "truth value of an array is ambiguous"; it is now checked once and kept as a tuple."""
    preds = np.array([[[0.2, 0.6], [0.7, 0.1]]], F32)  # (1, C=2, 2)
    target = np.array([[[0, 1], [1, 1]]])
    a, b = (M.MeanIoU(2, mode="multilabel", threshold=np.array([0.5, 0.65])) for _ in range(2))
    a.update(backend.asarray(preds), backend.asarray(target))
    b.update(backend.asarray(preds), backend.asarray(target))
    assert a.threshold == (0.5, 0.65)
    # class 0: positives (0.6) vs target (1): tp 1; class 1: positives (0.7) vs (1, 1): tp 1, fn 1
    merged = backend.to_numpy(a.merge(b).confmat).tolist()
    assert merged == [[[2, 0], [0, 2]], [[0, 0], [2, 2]]]
