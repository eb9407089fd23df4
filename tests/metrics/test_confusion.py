"""confusion_matrix, jaccard_index and dice_score against torchmetrics 1.9, scikit-learn
and the hand-computed scenarios of ``tests/support/hand_computed.py``; the native
``bincount`` path and the pure array-API fallback are each checked against the oracles."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sklearn.metrics as skm
import torch
from torchmetrics.functional import classification as TMF

from anyiou import metrics as M
from anyiou._lib import kernels
from tests.support.hand_computed import A_TARGET_FLAT, JACCARD_INDEX_CASES

C = 5
AVERAGES = ["micro", "macro", "weighted", "none"]


@pytest.fixture(params=[True, False], ids=["native", "fallback"])
def native(request, monkeypatch):
    monkeypatch.setattr(kernels, "USE_NATIVE", request.param)
    return request.param


def _case(seed=0, shape=(3, 5, 6), void=None, dtype=np.int64):
    """Labels with class 4 absent from target and prediction, class 3 only predicted."""
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 3, shape)
    p = np.where(rng.random(shape) < 0.6, t, rng.integers(0, 4, shape))
    if void is not None:
        t = np.where(rng.random(shape) < 0.2, void, t)
    return p.astype(dtype), t.astype(dtype)


def _tm(fn, p, t, **kw):
    return fn(torch.from_numpy(np.ascontiguousarray(p)), torch.from_numpy(t), **kw).numpy()


def _kept(p, t, ignore_index):
    keep = np.ones(t.shape, bool) if ignore_index is None else t != ignore_index
    return p[keep], t[keep]


# -- confusion_matrix ---------------------------------------------------------------------


@pytest.mark.parametrize("ignore_index", [None, 255, -1, 1])
def test_confusion_matrix_matches_sklearn(backend, native, ignore_index):
    void = ignore_index if ignore_index not in (None, 1) else None
    p, t = _case(1, void=void, dtype=np.uint8 if ignore_index == 255 else np.int64)
    got = backend.to_numpy(M.confusion_matrix(backend.asarray(p), backend.asarray(t), C,
                                              ignore_index=ignore_index))
    pk, tk = _kept(p, t, ignore_index)
    expected = skm.confusion_matrix(tk, pk, labels=list(range(C)))
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("shape", [(2, 17), (2, 3, 4, 5), (1, 1)], ids=str)
def test_confusion_matrix_scores_and_shapes(backend, native, shape):
    rng = np.random.default_rng(2)
    scores = rng.normal(size=(shape[0], C) + shape[1:]).astype(np.float32)
    t = rng.integers(0, C, shape)
    got = M.confusion_matrix(backend.asarray(scores), backend.asarray(t), None)
    expected = skm.confusion_matrix(t.ravel(), scores.argmax(1).ravel(), labels=list(range(C)))
    np.testing.assert_array_equal(backend.to_numpy(got), expected)
    np.testing.assert_array_equal(
        _tm(TMF.multiclass_confusion_matrix, scores, t, num_classes=C), expected
    )


@pytest.mark.only_backends("numpy", "torch", reason="memory: 2**24 + 3 pixels")
def test_counts_beyond_float32_are_exact(backend, native):
    n = 2**24 + 3  # float32 stops counting at 2**24 (Keras' confusion matrix bug)
    t = np.zeros((1, n), np.uint8)
    p = np.zeros((1, n), np.uint8)
    p[0, :5] = 1
    got = backend.to_numpy(M.confusion_matrix(backend.asarray(p), backend.asarray(t), 2))
    np.testing.assert_array_equal(got, [[n - 5, 5], [0, 0]])
    assert got.dtype == np.int64


@pytest.mark.parametrize("length", [1, 7, 40])
def test_dispatch_row_bincount_matches_numpy(backend, native, length):
    xp = backend.xp
    x = np.random.default_rng(length).integers(0, length, (3, 123))
    got = kernels.label_counts(xp, backend.asarray(x), length)
    expected = np.stack([np.bincount(row, minlength=length) for row in x])
    np.testing.assert_array_equal(backend.to_numpy(got), expected)


@pytest.mark.parametrize("rows", [1, 3])
def test_dispatch_pair_counts_border_bins(backend, native, rows):
    xp = backend.xp
    rng = np.random.default_rng(9)
    a, b = rng.integers(-3, 7, (rows, 200)), rng.integers(-2, 6, (rows, 200))
    got = backend.to_numpy(kernels.pair_counts(xp, backend.asarray(a), backend.asarray(b),
                                                 3, 4))
    expected = np.zeros((rows, 5, 6), np.int64)  # values < 0 -> bin 0, >= num -> num + 1
    for n in range(rows):
        np.add.at(expected[n], (np.clip(a[n], -1, 3) + 1, np.clip(b[n], -1, 4) + 1), 1)
    np.testing.assert_array_equal(got, expected)


# -- jaccard_index / dice_score vs torchmetrics and sklearn ---------------------------------


@pytest.mark.parametrize("zero_division", [0, 1])
@pytest.mark.parametrize("ignore_index", [None, 255, 1])
@pytest.mark.parametrize("average", AVERAGES)
def test_jaccard_matches_torchmetrics(backend, average, ignore_index, zero_division):
    p, t = _case(3, void=255 if ignore_index == 255 else None)
    got = M.jaccard_index(backend.asarray(p), backend.asarray(t), C, average=average,
                          ignore_index=ignore_index, zero_division=zero_division)
    expected = _tm(TMF.multiclass_jaccard_index, p, t, num_classes=C, average=average,
                   ignore_index=ignore_index, zero_division=zero_division)
    got = backend.to_numpy(got)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("average", AVERAGES)
def test_jaccard_matches_sklearn(backend, average):
    p, t = _case(4, void=255)
    pk, tk = _kept(p, t, 255)
    got = backend.to_numpy(M.jaccard_index(backend.asarray(p), backend.asarray(t), C,
                                           average=average, ignore_index=255))
    expected = skm.jaccard_score(tk, pk, average=None if average == "none" else average)
    if average == "none":  # sklearn (labels=None) reports only the classes it saw
        got = got[np.union1d(tk, pk)]
    np.testing.assert_allclose(got, expected, rtol=1e-6)


@pytest.mark.parametrize("ignore_index", [None, 255])
@pytest.mark.parametrize("average", AVERAGES)
def test_dice_matches_torchmetrics_f1_and_sklearn(backend, average, ignore_index):
    p, t = _case(5, void=ignore_index)
    got = backend.to_numpy(M.dice_score(backend.asarray(p), backend.asarray(t), C,
                                        average=average, ignore_index=ignore_index))
    expected = _tm(TMF.multiclass_f1_score, p, t, num_classes=C, average=average,
                   ignore_index=ignore_index)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    pk, tk = _kept(p, t, ignore_index)
    sk = skm.f1_score(tk, pk, average=None if average == "none" else average,
                      labels=None if average != "none" else list(range(C)), zero_division=0)
    np.testing.assert_allclose(got, sk, rtol=1e-6, atol=1e-7)


def test_dice_from_scores_input(backend):
    rng = np.random.default_rng(6)
    scores = rng.random((2, 3, 4, 4))
    t = rng.integers(0, 3, (2, 4, 4))
    got = M.dice_score(backend.asarray(scores), backend.asarray(t), average="none")
    expected = skm.f1_score(t.ravel(), scores.argmax(1).ravel(), average=None)
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-6)


@pytest.mark.parametrize("zero_division", [0, 1])
@pytest.mark.parametrize("ignore_index", [None, 255])
def test_binary_jaccard_matches_torchmetrics(backend, ignore_index, zero_division):
    rng = np.random.default_rng(7)
    probs = rng.choice([0.1, 0.3, 0.7, 0.9], (3, 1, 4, 5)).astype(np.float32)  # no ties
    t = rng.integers(0, 2, (3, 1, 4, 5))
    if ignore_index is not None:
        t = np.where(rng.random(t.shape) < 0.2, ignore_index, t)
    for preds in (probs, (probs > 0.5).astype(np.int64)):
        got = M.jaccard_index(backend.asarray(preds), backend.asarray(t), mode="binary",
                              ignore_index=ignore_index, zero_division=zero_division)
        expected = _tm(TMF.binary_jaccard_index, preds, t, ignore_index=ignore_index,
                       zero_division=zero_division)
        np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-6)


@pytest.mark.parametrize("zero_division", [0, 1])
@pytest.mark.parametrize("ignore_index", [None, 255])
@pytest.mark.parametrize("average", AVERAGES)
def test_multilabel_jaccard_matches_torchmetrics(backend, average, ignore_index,
                                                 zero_division):
    rng = np.random.default_rng(8)
    probs = rng.choice([0.1, 0.3, 0.7, 0.9], (2, 4, 3, 5))
    t = rng.integers(0, 2, (2, 4, 3, 5))
    t[:, 2] = 0
    probs[:, 2] = 0.1  # label 2 empty in target and prediction
    if ignore_index is not None:
        t = np.where(rng.random(t.shape) < 0.2, ignore_index, t)
    got = M.jaccard_index(backend.asarray(probs), backend.asarray(t), 4, average=average,
                          ignore_index=ignore_index, zero_division=zero_division,
                          mode="multilabel")
    expected = _tm(TMF.multilabel_jaccard_index, probs, t, num_labels=4, average=average,
                   ignore_index=ignore_index, zero_division=zero_division)
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-6)


def test_all_ignored_never_raises(backend):
    """Battery case C: torchmetrics gives NaN for macro/weighted whatever zero_division."""
    p = backend.asarray(np.array([[0, 1, 2, 0]]))
    t = backend.asarray(np.full((1, 4), 255))
    tm_p, tm_t = np.array([[0, 1, 2, 0]]), np.full((1, 4), 255)
    for average in AVERAGES:
        for zd in (0, 1, math.nan):
            got = backend.to_numpy(M.jaccard_index(p, t, 3, average=average, ignore_index=255,
                                                   zero_division=zd))
            if average in ("none", "micro") or math.isnan(zd):
                expected = _tm(TMF.multiclass_jaccard_index, tm_p, tm_t, num_classes=3,
                               average=average, ignore_index=255,
                               zero_division=0 if math.isnan(zd) else zd)
                if math.isnan(zd) and average in ("none", "micro"):
                    expected = np.full_like(expected, np.nan)
            else:
                expected = np.float64(zd)  # anyiou: nothing to average -> zero_division
            np.testing.assert_allclose(got, expected, equal_nan=True)
    m = M.MeanIoU(3, ignore_index=255).update(p, t)
    assert float(backend.to_numpy(m.compute())) == 0.0


# -- hand-computed scenarios (tests/support/hand_computed.py) ---------------------------------


@pytest.mark.parametrize("case", JACCARD_INDEX_CASES, ids=lambda c: c[0])
def test_hand_computed(backend, case):
    _, p, t, kw, expected = case
    got = M.jaccard_index(backend.asarray(np.array(p)), backend.asarray(np.array(t)), 3, **kw)
    np.testing.assert_allclose(backend.to_numpy(got), expected, atol=1e-6)


def test_hand_computed_binary_and_multilabel(backend):
    tD = np.array([[[[1, 1], [0, 0]]], [[[0, 0], [0, 0]]]])
    for pimg1, expected in [([[0, 0], [0, 0]], 0.5), ([[1, 0], [0, 0]], 1 / 3)]:  # D1, D2
        pD = np.array([[[[1, 0], [0, 0]]], [pimg1]])
        got = M.jaccard_index(backend.asarray(pD), backend.asarray(tD), mode="binary")
        np.testing.assert_allclose(backend.to_numpy(got), expected, atol=1e-6)
    tM = np.array([[[[1, 1], [0, 0]], [[0, 0], [0, 0]]]])
    pM = np.array([[[[1, 0], [0, 0]], [[0, 0], [0, 0]]]])
    a = backend.asarray
    for kw, expected in [({}, 0.25), ({"zero_division": 1}, 0.75),
                         ({"average": "none"}, [0.5, 0.0]),
                         ({"zero_division": math.nan}, 0.5)]:  # nan: empty label left out
        got = M.jaccard_index(a(pM), a(tM), 2, mode="multilabel", **kw)
        np.testing.assert_allclose(backend.to_numpy(got), expected, atol=1e-6)


def test_recipes_keras(backend):
    """docs/metrics.md: Keras MeanIoU(ignore_class in range) and BinaryIoU([0, 1])."""
    a = backend.asarray
    cm = M.confusion_matrix(a(np.array([[1, 0, 1, 0]])), a(np.array(A_TARGET_FLAT)), 3,
                            ignore_index=0)
    got = M.iou_from_confusion_matrix(cm)  # class 0 kept in the mean (scenario N)
    assert float(backend.to_numpy(got)) == pytest.approx(0.25, abs=1e-6)
    tD = np.array([[[[1, 1], [0, 0]]], [[[0, 0], [0, 0]]]])
    for pimg1, expected in [([[0, 0], [0, 0]], 0.678571), ([[1, 0], [0, 0]], 0.523810)]:
        probs = np.array([[[[0.9, 0.2], [0.1, 0.4]]], [pimg1]]) * 0.8 + 0.1
        labels = a((probs >= 0.5).astype(np.int64))
        got = M.jaccard_index(labels, a(tD), 2)
        assert float(backend.to_numpy(got)) == pytest.approx(expected, abs=1e-6)


def test_threshold_is_inclusive(backend):
    # scenario I: a probability equal to the threshold is positive; torchmetrics (>) gives
    # 0.5, smp and Keras (>=) 0.666667
    p = backend.asarray(np.array([0.5, 0.5, 0.2, 0.8]).reshape(1, 1, 2, 2))
    t = backend.asarray(np.array([1, 0, 0, 1]).reshape(1, 1, 2, 2))
    got = M.jaccard_index(p, t, mode="binary", threshold=0.5)
    np.testing.assert_allclose(backend.to_numpy(got), 2 / 3, atol=1e-6)


# -- from an accumulated matrix, jit, laziness, errors ---------------------------------------


@pytest.mark.parametrize("average", AVERAGES)
def test_from_confusion_matrix(backend, average):
    p, t = _case(10, void=255)
    pk, tk = _kept(p, t, 255)
    cm = skm.confusion_matrix(tk, pk, labels=list(range(C)))
    for fn, tm_fn in [(M.iou_from_confusion_matrix, TMF.multiclass_jaccard_index),
                      (M.dice_from_confusion_matrix, TMF.multiclass_f1_score)]:
        got = backend.to_numpy(fn(backend.asarray(cm), average=average))
        expected = _tm(tm_fn, p, t, num_classes=C, average=average, ignore_index=255)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    ml = np.array([[[5, 1], [2, 3]], [[9, 0], [0, 0]]])  # [[tn, fp], [fn, tp]] per label
    got = backend.to_numpy(M.iou_from_confusion_matrix(backend.asarray(ml), average="none"))
    np.testing.assert_allclose(got, [3 / 6, 0.0])


@pytest.mark.only_backends("jax", reason="jax.jit")
def test_under_jit(backend, native):
    import jax

    p, t = _case(11, void=255)
    fn = jax.jit(lambda p, t: (M.confusion_matrix(p, t, C, ignore_index=255),
                               M.jaccard_index(p, t, C, ignore_index=255),
                               M.dice_score(p, t, C, ignore_index=255, average="none")))
    cm, iou, dice = fn(backend.asarray(p), backend.asarray(t))
    pk, tk = _kept(p, t, 255)
    np.testing.assert_array_equal(np.asarray(cm), skm.confusion_matrix(tk, pk, labels=range(C)))
    np.testing.assert_allclose(
        np.asarray(iou), _tm(TMF.multiclass_jaccard_index, p, t, num_classes=C,
                             ignore_index=255), rtol=1e-6)
    np.testing.assert_allclose(
        np.asarray(dice), skm.f1_score(tk, pk, average=None, labels=range(C), zero_division=0),
        rtol=1e-6)


@pytest.mark.only_backends("jax", reason="jax.vmap")
def test_per_image_under_vmap(backend):
    import jax

    p, t = _case(13, void=255)
    cms = jax.vmap(lambda p, t: M.confusion_matrix(p, t, C, ignore_index=255))(
        backend.asarray(p), backend.asarray(t))
    for n in range(p.shape[0]):
        pk, tk = _kept(p[n], t[n], 255)
        np.testing.assert_array_equal(np.asarray(cms[n]),
                                      skm.confusion_matrix(tk, pk, labels=range(C)))


@pytest.mark.only_backends("dask", reason="laziness")
def test_dask_stays_lazy(backend, native):
    import array_api_compat as aac

    p, t = _case(12, shape=(4, 6, 6), void=255)
    cm = M.confusion_matrix(backend.asarray(p), backend.asarray(t), C, ignore_index=255)
    iou = M.jaccard_index(backend.asarray(p), backend.asarray(t), C, ignore_index=255)
    assert aac.is_dask_array(cm) and aac.is_dask_array(iou)
    pk, tk = _kept(p, t, 255)
    np.testing.assert_array_equal(cm.compute(), skm.confusion_matrix(tk, pk, labels=range(C)))


def test_errors(backend):
    a = backend.asarray
    lab = a(np.zeros((2, 3), np.int64))
    with pytest.raises(TypeError, match="integer class labels"):
        M.confusion_matrix(a(np.zeros((2, 3), np.float32)), lab, 3)
    with pytest.raises(ValueError, match="num_classes"):
        M.confusion_matrix(lab, lab, None)
    with pytest.raises(ValueError, match="num_classes=4"):
        M.confusion_matrix(a(np.zeros((2, 3, 3), np.float32)), lab, 4)
    with pytest.raises(ValueError, match="shape"):
        M.confusion_matrix(a(np.zeros((2, 4), np.int64)), lab, 3)
    with pytest.raises(ValueError, match="average"):
        M.jaccard_index(lab, lab, 3, average="samples")
    with pytest.raises(TypeError, match="zero_division"):
        M.jaccard_index(lab, lab, 3, zero_division="warn")
    with pytest.raises(ValueError, match="mode"):
        M.jaccard_index(lab, lab, 3, mode="segmentation")
    with pytest.raises(ValueError, match="num_classes=3"):
        M.jaccard_index(a(np.zeros((2, 2, 3))), a(np.zeros((2, 2, 3), np.int64)), 3,
                        mode="multilabel")
    with pytest.raises(ValueError, match="confmat"):
        M.iou_from_confusion_matrix(a(np.zeros((3, 4), np.int64)))
    if backend.checks_values:
        with pytest.raises(ValueError, match=r"target holds labels outside \[0, 3\)"):
            M.jaccard_index(lab, a(np.array([[0, 1, 255], [0, 0, 0]])), 3)
        with pytest.raises(ValueError, match="preds holds labels outside"):
            M.jaccard_index(a(np.array([[0, 1, 3], [0, 0, 0]])), lab, 3)
