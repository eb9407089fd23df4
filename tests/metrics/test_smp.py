"""anyiou.metrics.get_stats and the score functions against segmentation_models_pytorch
0.6.0's ``smp.metrics`` (run on torch CPU as the oracle), float64 NumPy references
written from the formulas, and the hand-computed scenarios of
``tests/support/hand_computed.py``."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from anyiou import metrics as M
from tests.support.cases import STATS_CASES, stats_case
from tests.support.cases import labels as _labels
from tests.support.hand_computed import D_TARGET, EMPTY_IMAGE_CASES, SMP_SCORE_CASES
from tests.support.oracles import smp_metrics

SMP = smp_metrics()

SCORE_NAMES = [
    "iou_score", "f1_score", "fbeta_score", "accuracy", "precision", "recall",
    "sensitivity", "specificity", "balanced_accuracy", "positive_predictive_value",
    "negative_predictive_value", "false_negative_rate", "false_positive_rate",
    "false_discovery_rate", "false_omission_rate", "positive_likelihood_ratio",
    "negative_likelihood_ratio",
]
REDUCTIONS = ["micro", "macro", "weighted", "micro-imagewise", "macro-imagewise",
              "weighted-imagewise", "none", None]
ZERO_DIVISIONS = [1.0, 0, "warn", math.nan]
WEIGHTS = [0.5, 1.0, 2.0, 0.25]
#: Score functions checked on JAX and Dask (every one of them on the eager backends):
#: one per formula shape (ratio, weighted ratio, mean of ratios, ratio of ratios).
LAZY_SUBSET = {"iou_score", "fbeta_score", "balanced_accuracy", "positive_likelihood_ratio",
               "negative_likelihood_ratio"}


def _torch(a):
    import torch

    return torch.from_numpy(np.ascontiguousarray(a))


def _np(backend, x):
    return backend.to_numpy(x)


# -- get_stats ----------------------------------------------------------------------------


def _smp_stats(output, target, kw):
    out = _torch(output.astype(np.int64) if output.dtype == bool else output)
    return [x.numpy() for x in SMP.get_stats(out, _torch(target), **kw)]


@pytest.mark.parametrize("name", STATS_CASES)
def test_get_stats_matches_smp(backend, name):
    output, target, kw = stats_case(name)
    expected = _smp_stats(output, target, kw)
    got = M.get_stats(backend.asarray(output), backend.asarray(target), **kw)
    for g, e, label in zip(got, expected, "tp fp fn tn".split(), strict=True):
        g = _np(backend, g)
        assert g.dtype == np.int64, label
        np.testing.assert_array_equal(g, e, err_msg=label)


@pytest.mark.parametrize("name", ["mc-ignore-255", "mc-3d", "mc-all-ignored"])
def test_get_stats_pure_fallback_matches_smp(backend, name, monkeypatch):
    from anyiou._lib import kernels

    monkeypatch.setattr(kernels, "USE_NATIVE", False)
    output, target, kw = stats_case(name)
    expected = _smp_stats(output, target, kw)
    got = M.get_stats(backend.asarray(output), backend.asarray(target), **kw)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(_np(backend, g), e)


def _np_stats(pos_o, pos_t, counted):
    """float64-free reference: counts over the last axis of (N, C, P) boolean arrays."""
    tp = (pos_o & pos_t & counted).sum(-1)
    fp = (pos_o & ~pos_t & counted).sum(-1)
    fn = (~pos_o & pos_t & counted).sum(-1)
    tn = (~pos_o & ~pos_t & counted).sum(-1)
    return tp, fp, fn, tn


def _np_multiclass_stats(p, t, c, ignore_index):
    n = t.shape[0]
    p = p.reshape(n, 1, -1)
    t = t.reshape(n, 1, -1)
    classes = np.arange(c).reshape(1, c, 1)
    counted = np.broadcast_to(t != ignore_index, (n, c, t.shape[-1]))
    return _np_stats(p == classes, t == classes, counted)


@pytest.mark.parametrize("ignore_index", [0, 2])
def test_get_stats_in_range_ignore_index(backend, ignore_index):
    # smp raises for an in-range ignore_index; anyiou drops those pixels (documented).
    rng = np.random.default_rng(3)
    p, t = _labels(rng, (2, 5, 4), 3), _labels(rng, (2, 5, 4), 3)
    got = M.get_stats(backend.asarray(p), backend.asarray(t), "multiclass",
                      ignore_index=ignore_index, num_classes=3)
    expected = _np_multiclass_stats(p, t, 3, ignore_index)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(_np(backend, g), e)
    with pytest.raises(ValueError):
        SMP.get_stats(_torch(p), _torch(t), "multiclass", ignore_index=ignore_index,
                      num_classes=3)


def test_get_stats_scores_are_argmaxed(backend):
    rng = np.random.default_rng(4)
    scores = rng.normal(size=(2, 4, 3, 5))
    t = _labels(rng, (2, 3, 5), 4, void=255)
    expected = _smp_stats(scores.argmax(1), t, dict(mode="multiclass", num_classes=4,
                                                    ignore_index=255))
    got = M.get_stats(backend.asarray(scores), backend.asarray(t), "multiclass",
                      ignore_index=255)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(_np(backend, g), e)


@pytest.mark.parametrize("mode", ["binary", "multilabel"])
def test_get_stats_binary_multilabel_ignore_index(backend, mode):
    rng = np.random.default_rng(5)
    c = 1 if mode == "binary" else 3
    p = rng.random((2, c, 4, 5)).astype(np.float32)
    t = _labels(rng, (2, c, 4, 5), 2, void=255).astype(np.uint8)
    got = M.get_stats(backend.asarray(p), backend.asarray(t), mode, ignore_index=255,
                      threshold=0.5)
    flat = lambda a: a.reshape(2, c, -1)  # noqa: E731
    expected = _np_stats(flat(p) >= 0.5, flat(t) == 1, flat(t) != 255)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(_np(backend, g), e)


def test_get_stats_per_class_threshold(backend):
    rng = np.random.default_rng(6)
    p = rng.random((2, 3, 4, 4))
    t = _labels(rng, (2, 3, 4, 4), 2)
    thr = [0.2, 0.5, 0.8]
    got = M.get_stats(backend.asarray(p), backend.asarray(t), "multilabel", threshold=thr)
    thr_np = np.array(thr).reshape(1, 3, 1)
    p, t = p.reshape(2, 3, -1), t.reshape(2, 3, -1)
    expected = _np_stats(p >= thr_np, t >= thr_np, np.ones_like(t, bool))
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(_np(backend, g), e)


def test_get_stats_binary_without_channel_axis(backend):
    rng = np.random.default_rng(7)
    p, t = _labels(rng, (3, 1, 4, 5), 2), _labels(rng, (3, 1, 4, 5), 2)
    expected = _smp_stats(p, t, dict(mode="binary"))
    for out, tgt in [(p[:, 0], t[:, 0]), (p, t[:, 0]), (p[:, 0], t)]:
        got = M.get_stats(backend.asarray(out), backend.asarray(tgt), "binary")
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_array_equal(_np(backend, g), e)


@pytest.mark.only_backends("jax", reason="jax.jit")
def test_get_stats_under_jit(backend):
    import jax

    output, target, kw = stats_case("mc-ignore-255")
    expected = _smp_stats(output, target, kw)
    fn = jax.jit(lambda o, t: M.get_stats(o, t, **kw))
    got = fn(backend.asarray(output), backend.asarray(target))
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(np.asarray(g), e)


@pytest.mark.only_backends("dask", reason="laziness")
def test_get_stats_stays_lazy(backend):
    import array_api_compat as aac

    output, target, kw = stats_case("mc-ignore-255")
    got = M.get_stats(backend.asarray(output), backend.asarray(target), **kw)
    assert all(aac.is_dask_array(x) for x in got)
    score = M.iou_score(*got, reduction="macro")
    assert aac.is_dask_array(score)


# -- score functions ----------------------------------------------------------------------


def _score_stats(which):
    """(N=3, C=4) statistics with 0/0 cells for every formula."""
    rng = np.random.default_rng(11 + which)
    tp, fp, fn = (rng.integers(0, 6, (3, 4)) for _ in range(3))
    tn = rng.integers(0, 30, (3, 4))
    if which == 0:
        tp[:, 3] = fp[:, 3] = fn[:, 3] = 0  # class 3 absent everywhere
        tp[1] = fn[1] = 0  # image 1 has no target pixels
        tn[2, 0] = fp[2, 0] = 0  # specificity 0/0 in one cell
        fp[0, 1] = 0  # fpr 0 -> positive likelihood ratio x/0 = inf
    else:
        tp[:] = fp[:] = fn[:] = 0  # nothing anywhere: micro IoU is 0/0
        tn[0, :2] = 0
    return [x.astype(np.int64) for x in (tp, fp, fn, tn)]


def _smp_score(name, stats, float64, **kw):
    import torch

    ts = [_torch(s) for s in stats]
    if float64:
        ts = [t.to(torch.float64) for t in ts]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(SMP, name)(*ts, **kw).numpy()


def _call(name, backend, stats, **kw):
    arrays = [backend.asarray(s) for s in stats]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _np(backend, getattr(M, name)(*arrays, **kw))


@pytest.mark.lazy_subset("name", LAZY_SUBSET)  # full product on eager backends only
@pytest.mark.parametrize("zero_division", ZERO_DIVISIONS, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS, ids=str)
@pytest.mark.parametrize("name", SCORE_NAMES)
def test_score_matches_smp(backend, name, reduction, zero_division):
    kw = dict(reduction=reduction, zero_division=zero_division)
    if reduction is not None and "weighted" in reduction:
        kw["class_weights"] = WEIGHTS
    if name == "fbeta_score":
        kw["beta"] = 2.0
    for which in (0, 1):
        stats = _score_stats(which)
        got = _call(name, backend, stats, **kw)
        float64 = got.dtype == np.float64
        expected = _smp_score(name, stats, float64, **kw)
        if reduction == "weighted-imagewise":
            expected = expected * 4  # smp divides by C a second time (see test below)
        if reduction == "micro" and np.isnan(expected):
            # smp does not apply zero_division to micro (documented difference)
            expected = np.float64(0.0 if zero_division == "warn" else zero_division)
        assert got.shape == expected.shape
        # smp builds class_weights in float32 even for float64 statistics
        rtol = 1e-12 if float64 and "class_weights" not in kw else 2e-6
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol, equal_nan=True)


def test_class_weights_not_divided_twice(backend):
    """smp bug: macro/imagewise with class_weights divide by C twice (scenario A of
    tests/support/hand_computed.py with unit class weights: smp gives a third of the
    unweighted macro IoU)."""
    tA, pA = np.array([[[0, 0], [1, 1]]]), np.array([[[0, 1], [1, 1]]])
    stats = M.get_stats(backend.asarray(pA), backend.asarray(tA), "multiclass", num_classes=3)
    smp_stats = SMP.get_stats(_torch(pA), _torch(tA), "multiclass", num_classes=3)
    for red in ["macro", "macro-imagewise", "weighted-imagewise"]:
        got = float(_np(backend, M.iou_score(*stats, reduction=red, class_weights=[1, 1, 1])))
        assert got == pytest.approx(0.722222, abs=1e-6)  # = unweighted macro
        smp = float(SMP.iou_score(*smp_stats, reduction=red, class_weights=[1.0, 1.0, 1.0]))
        assert smp == pytest.approx(0.240741, abs=1e-6)  # 0.722222 / 3
    got = _np(backend, M.iou_score(*stats, reduction="weighted", class_weights=[1, 1, 0]))
    assert float(got) == pytest.approx(0.583333, abs=1e-6)  # smp agrees here
    w = [0.5, 1.0, 2.0, 0.25]
    stats0 = _score_stats(0)
    for red in ["macro", "macro-imagewise"]:
        got = _call("f1_score", backend, stats0, reduction=red, class_weights=w)
        exp = _smp_score("f1_score", stats0, True, reduction=red, class_weights=w)
        np.testing.assert_allclose(got, exp * 4, rtol=2e-6)


def test_zero_division_applies_to_micro(backend):
    """smp returns NaN for micro 0/0 whatever zero_division says (nothing counted, as
    when every target pixel is ignored)."""
    stats = [np.zeros((1, 3), np.int64)] * 3 + [np.zeros((1, 3), np.int64)]
    assert np.isnan(_smp_score("iou_score", stats, False, reduction="micro"))
    for zd, expected in [(1.0, 1.0), (0, 0.0), ("warn", 0.0)]:
        got = _call("iou_score", backend, stats, reduction="micro", zero_division=zd)
        assert float(got) == expected
    assert np.isnan(_call("iou_score", backend, stats, reduction="micro",
                          zero_division=math.nan))


def test_zero_division_warn(backend):
    stats = [backend.asarray(s) for s in _score_stats(0)]
    if backend.checks_values:
        with pytest.warns(UserWarning, match="Zero division"):
            out = M.iou_score(*stats, reduction="macro", zero_division="warn")
    else:  # lazy/jit: no host synchronisation, silently 0
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = M.iou_score(*stats, reduction="macro", zero_division="warn")
    expected = _smp_score("iou_score", _score_stats(0), True, reduction="macro",
                          zero_division=0)
    np.testing.assert_allclose(_np(backend, out), expected, rtol=2e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0/0 -> no warning
        s = [backend.asarray(np.ones((2, 2), np.int64))] * 4
        M.iou_score(*s, reduction="macro", zero_division="warn")


def test_large_counts_are_exact(backend):
    big = 2**40 + 1  # beyond float32 and int32; IoU = big / (big + 2)
    stats = [np.array([[big]]), np.array([[1]]), np.array([[1]]), np.array([[0]])]
    got = _call("iou_score", backend, stats, reduction="micro")
    np.testing.assert_allclose(got, big / (big + 2), rtol=1e-7)


@pytest.mark.only_backends("jax", reason="jax.jit")
def test_scores_under_jit(backend):
    import jax

    stats = [backend.asarray(s) for s in _score_stats(0)]
    fn = jax.jit(lambda *s: M.balanced_accuracy(*s, reduction="macro-imagewise",
                                                zero_division="warn"))
    expected = _smp_score("balanced_accuracy", _score_stats(0), True,
                          reduction="macro-imagewise", zero_division=0)
    np.testing.assert_allclose(np.asarray(fn(*stats)), expected, rtol=1e-12)


def test_aliases():
    assert M.precision is M.positive_predictive_value
    assert M.recall is M.sensitivity
    assert set(SCORE_NAMES) | {"get_stats"} <= set(M.__all__)
    assert set(SMP.functional.__all__) <= set(M.__all__)


# -- hand-computed scenarios (tests/support/hand_computed.py) ---------------------------


@pytest.mark.parametrize("case", SMP_SCORE_CASES, ids=lambda c: c[0])
def test_hand_computed_multiclass(backend, case):
    _, output, target, kw, reduction, zd, expected = case
    stats = M.get_stats(backend.asarray(np.array(output)), backend.asarray(np.array(target)),
                        "multiclass", num_classes=3, **kw)
    got = _np(backend, M.iou_score(*stats, reduction=reduction, zero_division=zd))
    np.testing.assert_allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize("case", EMPTY_IMAGE_CASES, ids=lambda c: c[0])
def test_hand_computed_empty_image(backend, case):
    _, pimg1, reduction, zd, expected = case
    output = np.array([[[[1, 0], [0, 0]]], [pimg1]])
    stats = M.get_stats(backend.asarray(output), backend.asarray(D_TARGET), "binary")
    got = _np(backend, M.iou_score(*stats, reduction=reduction, zero_division=zd))
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_hand_computed_threshold_tie_and_multilabel(backend):
    # I: p = 0.5 counts as positive (>=), like smp and Keras (torchmetrics: 0.5)
    p = backend.asarray(np.array([0.5, 0.5, 0.2, 0.8]).reshape(1, 1, 2, 2))
    t = backend.asarray(np.array([1, 0, 0, 1]).reshape(1, 1, 2, 2))
    stats = M.get_stats(p, t, "binary", threshold=0.5)
    assert float(_np(backend, M.iou_score(*stats, reduction="micro"))) == pytest.approx(2 / 3)
    # M: multilabel, label 1 empty in both -> macro 0.75 (zd=1), micro 0.5
    tM = np.array([[[[1, 1], [0, 0]], [[0, 0], [0, 0]]]])
    pM = np.array([[[[1, 0], [0, 0]], [[0, 0], [0, 0]]]])
    stats = M.get_stats(backend.asarray(pM), backend.asarray(tM), "multilabel")
    assert float(_np(backend, M.iou_score(*stats, reduction="macro"))) == pytest.approx(0.75)
    assert float(_np(backend, M.iou_score(*stats, reduction="micro"))) == pytest.approx(0.5)


# -- bad input ----------------------------------------------------------------------------


def test_get_stats_errors(backend):
    a = backend.asarray
    lab = a(np.zeros((2, 3, 3), np.int64))
    with pytest.raises(ValueError, match="mode"):
        M.get_stats(lab, lab, "segmentation", num_classes=2)
    with pytest.raises(ValueError, match="num_classes"):
        M.get_stats(lab, lab, "multiclass")
    with pytest.raises(ValueError, match="threshold"):
        M.get_stats(lab, lab, "multiclass", num_classes=2, threshold=0.5)
    with pytest.raises(TypeError, match="target"):
        M.get_stats(lab, a(np.zeros((2, 3, 3), np.float32)), "multiclass", num_classes=2)
    with pytest.raises(ValueError, match="shape"):
        M.get_stats(lab, a(np.zeros((2, 3, 4), np.int64)), "multiclass", num_classes=2)
    with pytest.raises(ValueError, match="threshold"):
        M.get_stats(a(np.zeros((2, 1, 3), np.float32)), a(np.zeros((2, 1, 3), np.int64)),
                    "binary")
    with pytest.raises(ValueError, match="one value per class"):
        M.get_stats(a(np.zeros((2, 2, 3))), a(np.zeros((2, 2, 3), np.int64)), "multilabel",
                    threshold=[0.5])
    with pytest.raises(TypeError, match="ignore_index"):
        M.get_stats(lab, lab, "multiclass", num_classes=2, ignore_index=2.5)
    with pytest.raises(ValueError, match="num_classes"):
        M.get_stats(lab, lab, "multiclass", num_classes=0)


def test_get_stats_value_errors(backend):
    if not backend.checks_values:
        pytest.skip("value checks run on eager CPU arrays only")
    a = backend.asarray
    t = a(np.array([[0, 1, 255, 3]]))
    with pytest.raises(ValueError, match=r"target holds labels outside \[0, 3\)"):
        M.get_stats(a(np.array([[0, 1, 2, 0]])), t, "multiclass", num_classes=3,
                    ignore_index=255)
    with pytest.raises(ValueError, match="output holds labels outside"):
        M.get_stats(a(np.array([[0, 1, 2, 7]])), a(np.array([[0, 1, 2, 1]])), "multiclass",
                    num_classes=3)
    # a prediction outside [0, C) is fine where the target is ignored
    M.get_stats(a(np.array([[0, 255]])), a(np.array([[0, 255]])), "multiclass",
                num_classes=3, ignore_index=255)
    with pytest.raises(ValueError, match="0/1"):
        M.get_stats(a(np.array([[[0, 2]]])), a(np.array([[[0, 1]]])), "binary")
    with pytest.raises(ValueError, match="0/1"):
        M.get_stats(a(np.array([[[0, 1]]])), a(np.array([[[0, 255]]])), "binary")


def test_score_errors(backend):
    s = [backend.asarray(np.ones((2, 3), np.int64))] * 4
    with pytest.raises(ValueError, match="reduction"):
        M.iou_score(*s, reduction="mean")
    with pytest.raises(ValueError, match="class_weights"):
        M.iou_score(*s, reduction="weighted")
    with pytest.raises(ValueError, match="one weight per class"):
        M.iou_score(*s, reduction="weighted", class_weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="zero"):
        M.iou_score(*s, reduction="weighted", class_weights=[0, 0, 0])
    with pytest.raises(ValueError, match="zero_division"):
        M.iou_score(*s, reduction="macro", zero_division="skip")
    # 1-d stats are smp's too (tests/metrics/test_stat_shapes.py), but have no class axis
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        M.iou_score(*[backend.asarray(np.ones(3, np.int64))] * 4, reduction="micro-imagewise")
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        M.iou_score(*[backend.asarray(np.ones((2, 3, 2), np.int64))] * 4, reduction="macro")
    with pytest.raises(ValueError, match="shape"):
        M.iou_score(s[0], s[1], s[2], backend.asarray(np.ones((2, 2), np.int64)))


# -- the recipes of docs/metrics.md ---------------------------------------------------------


def _nanmean_images(s):
    """Per-image NaN-aware mean over classes, then mean over images that have a value."""
    s = np.asarray(s, np.float64)
    has = ~np.isnan(s).all(axis=1)
    per_image = np.where(has, np.nansum(s, axis=1) / np.maximum((~np.isnan(s)).sum(1), 1), 0)
    return per_image[has].mean() if has.any() else 0.0


def test_recipe_torchmetrics_segmentation_meaniou(backend):
    from torchmetrics.segmentation import MeanIoU as TMSegMeanIoU

    rng = np.random.default_rng(21)
    t = rng.integers(0, 4, (3, 5, 5))
    t[0] = np.where(t[0] == 3, 0, t[0])
    p = np.where(rng.random(t.shape) < 0.6, t, rng.integers(0, 4, t.shape))
    p[0] = np.where(p[0] == 3, 1, p[0])  # class 3 absent from image 0 (both sides)
    stats = M.get_stats(backend.asarray(p), backend.asarray(t), "multiclass", num_classes=4)
    s = _np(backend, M.iou_score(*stats, reduction="none", zero_division=math.nan))
    expected = TMSegMeanIoU(num_classes=4, input_format="index")(_torch(p), _torch(t))
    # torchmetrics averages over every (image, class) cell with a non-empty union
    np.testing.assert_allclose(np.nanmean(s), float(expected), rtol=1e-6)
    # scenario K (tests/support/hand_computed.py): the mean over the (image, class) cells
    # with a non-empty union is 0.458333
    pK = np.array([[[0, 1], [1, 1]], [[2, 0], [0, 0]]])
    tK = np.array([[[0, 0], [1, 1]], [[2, 2], [2, 0]]])
    stats = M.get_stats(backend.asarray(pK), backend.asarray(tK), "multiclass", num_classes=3)
    s = _np(backend, M.iou_score(*stats, reduction="none", zero_division=math.nan))
    assert np.nanmean(s) == pytest.approx(0.458333, abs=1e-6)


def test_recipe_sklearn_all_labels_and_samples(backend):
    import sklearn.metrics as skm

    rng = np.random.default_rng(22)
    t = rng.integers(0, 3, (2, 4, 4))
    p = np.where(rng.random(t.shape) < 0.5, t, rng.integers(0, 4, t.shape))  # 3: FP only
    stats = M.get_stats(backend.asarray(p), backend.asarray(t), "multiclass", num_classes=5)
    for z in (0, 1):
        got = _np(backend, M.iou_score(*stats, reduction="macro", zero_division=z))
        exp = skm.jaccard_score(t.ravel(), p.ravel(), labels=range(5), average="macro",
                                zero_division=z)
        assert float(got) == pytest.approx(exp, abs=1e-7)
    tb = rng.integers(0, 2, (3, 1, 4, 4))
    tb[1] = 0
    pb = rng.integers(0, 2, (3, 1, 4, 4))
    pb[1] = 0  # an empty image, empty prediction
    stats = M.get_stats(backend.asarray(pb), backend.asarray(tb), "binary")
    for z in (0, 1):
        got = _np(backend, M.iou_score(*stats, reduction="micro-imagewise", zero_division=z))
        exp = skm.jaccard_score(tb.reshape(3, -1), pb.reshape(3, -1), average="samples",
                                zero_division=z)
        assert float(got) == pytest.approx(exp, abs=1e-7)


_MONAI_CASES = [  # (case, output, target, mode, MONAI ignore_empty=False, ignore_empty=True)
    ("A", [[[0, 1], [1, 1]]], [[[0, 0], [1, 1]]], "multiclass", 0.722222, 0.583333),
    ("B", [[[0, 2], [1, 1]]], [[[0, 0], [1, 1]]], "multiclass", 0.5, 0.75),
    ("D1", [[[[1, 0], [0, 0]]], [[[0, 0], [0, 0]]]], [[[[1, 1], [0, 0]]], [[[0, 0], [0, 0]]]],
     "binary", 0.75, 0.5),
    ("D2", [[[[1, 0], [0, 0]]], [[[1, 0], [0, 0]]]], [[[[1, 1], [0, 0]]], [[[0, 0], [0, 0]]]],
     "binary", 0.25, 0.5),
]


@pytest.mark.parametrize("case", _MONAI_CASES, ids=lambda c: c[0])
def test_recipe_monai_meaniou(backend, case):
    _, o, t, mode, expected_false, expected_true = case
    kw = {"num_classes": 3} if mode == "multiclass" else {}
    stats = M.get_stats(backend.asarray(np.array(o)), backend.asarray(np.array(t)), mode, **kw)
    got = _np(backend, M.iou_score(*stats, reduction="macro-imagewise", zero_division=1))
    assert float(got) == pytest.approx(expected_false, abs=1e-6)
    s = _np(backend, M.iou_score(*stats, reduction="none"))
    tp, fn = _np(backend, stats[0]), _np(backend, stats[2])
    s = np.where(tp + fn == 0, np.nan, s)
    assert _nanmean_images(s) == pytest.approx(expected_true, abs=1e-6)


@pytest.mark.parametrize("reduction", ["micro", "macro", "weighted", "micro-imagewise",
                                       "macro-imagewise", "weighted-imagewise"])
@pytest.mark.parametrize("name", ["iou_score", "f1_score", "accuracy", "recall", "precision"])
def test_reduced_scores_are_0d_arrays(backend, name, reduction):
    """Every reduction returns a 0-d array of the input's library (NumPy reductions would
    give a NumPy scalar), with smp's value."""
    rng = np.random.default_rng(5)
    stats = [rng.integers(0, 9, (3, 4)) for _ in range(4)]
    weights = [1.0, 2.0, 0.5, 1.0] if "weighted" in reduction else None
    got = getattr(M, name)(*(backend.asarray(s) for s in stats), reduction=reduction,
                           class_weights=weights)
    assert type(got) is type(backend.asarray(np.zeros(1))) and got.ndim == 0
    want = getattr(SMP, name)(*(_torch(s) for s in stats), reduction=reduction,
                              class_weights=weights)
    if weights is not None and reduction != "weighted":  # smp divides by C once more
        want = want * 4
    np.testing.assert_allclose(backend.to_numpy(got), want.numpy(), rtol=1e-6)
