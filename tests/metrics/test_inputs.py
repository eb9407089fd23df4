"""Input dtypes, ignore_index and thresholds of the metrics: every integer label dtype
gives the int64 counts, ignore_index is compared by value (outside the label dtype's
range it matches nothing), uint64 labels from 2**63 are out of range, the threshold
applies to floating predictions only, and a loaded MeanIoU state must have the counting
dtype.

Oracles: scikit-learn's confusion_matrix, torchmetrics, smp 0.6.0's get_stats on int64
labels, and counts written out in NumPy.
"""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.metrics as skm
import torch
from torchmetrics.functional import classification as TMF

import anyiou.metrics as M
from tests.support.oracles import smp_metrics

INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]


def _pair(seed=0, c=3, shape=(2, 4, 5)):
    rng = np.random.default_rng(seed)
    return rng.integers(0, c, shape), rng.integers(0, c, shape)


def _sk_confmat(preds, target, keep=None, c=3):
    keep = np.ones(target.shape, bool) if keep is None else keep
    return skm.confusion_matrix(target[keep], preds[keep], labels=list(range(c)))


# -- every integer label dtype -------------------------------------------------------------


@pytest.mark.parametrize("dtype", [*INT_DTYPES, np.bool_], ids=lambda d: np.dtype(d).name)
def test_confusion_matrix_every_label_dtype_equals_sklearn(backend, dtype):
    """uint16/uint32/uint64 used to fail on torch; bool labels are classes 0 and 1."""
    c = 2 if dtype == np.bool_ else 3
    preds, target = _pair(c=c)
    cm = M.confusion_matrix(backend.asarray(preds.astype(dtype)),
                            backend.asarray(target.astype(dtype)), c)
    np.testing.assert_array_equal(backend.to_numpy(cm), _sk_confmat(preds, target, c=c))


@pytest.mark.parametrize("dtype", INT_DTYPES, ids=lambda d: np.dtype(d).name)
def test_get_stats_every_label_dtype_equals_smp(backend, dtype):
    void = 100 if np.dtype(dtype).kind == "i" and np.dtype(dtype).itemsize == 1 else 255
    preds, target = _pair(1)
    target[0, 1, :] = void
    expected = smp_metrics().get_stats(torch.as_tensor(preds), torch.as_tensor(target),
                                       mode="multiclass", num_classes=3, ignore_index=void)
    got = M.get_stats(backend.asarray(preds.astype(dtype)), backend.asarray(target.astype(dtype)),
                      "multiclass", ignore_index=void, num_classes=3)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(backend.to_numpy(g), e.numpy())


@pytest.mark.parametrize("dtype", [*INT_DTYPES, np.bool_], ids=lambda d: np.dtype(d).name)
def test_multilabel_every_dtype_equals_torchmetrics(backend, dtype):
    rng = np.random.default_rng(2)
    preds, target = rng.integers(0, 2, (2, 3, 6)), rng.integers(0, 2, (2, 3, 6))
    expected = TMF.multilabel_jaccard_index(torch.as_tensor(preds), torch.as_tensor(target),
                                            num_labels=3, average="none")
    got = M.jaccard_index(backend.asarray(preds.astype(dtype)),
                          backend.asarray(target.astype(dtype)), 3, average="none",
                          mode="multilabel")
    np.testing.assert_allclose(backend.to_numpy(got), expected.numpy(), rtol=1e-6)


# -- ignore_index by value -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "ignore_index"),
    [(np.uint8, 256), (np.uint8, -1), (np.int8, 255), (np.int32, 2**31), (np.uint64, -1)],
    ids=["uint8-256", "uint8-minus-1", "int8-255", "int32-2**31", "uint64-minus-1"],
)
def test_ignore_index_outside_the_label_dtype_matches_nothing(backend, dtype, ignore_index):
    """Valid labels: the matrix of all pixels (uint8 with 256 used to raise a false
    "labels outside [0, 3)" on torch; strict raised OverflowError for -1)."""
    preds, target = _pair(3)
    p, t = backend.asarray(preds.astype(dtype)), backend.asarray(target.astype(dtype))
    expected = _sk_confmat(preds, target)
    cm = M.confusion_matrix(p, t, 3, ignore_index=ignore_index)
    np.testing.assert_array_equal(backend.to_numpy(cm), expected)
    metric = M.MeanIoU(3, ignore_index=ignore_index).update(p, t)
    np.testing.assert_array_equal(backend.to_numpy(metric.confmat), expected)
    tp, fp, fn, tn = M.get_stats(p, t, "multiclass", ignore_index=ignore_index, num_classes=3)
    np.testing.assert_array_equal(backend.to_numpy(tp).sum(0), np.diag(expected))
    tm = TMF.multiclass_jaccard_index(torch.as_tensor(preds), torch.as_tensor(target), 3,
                                      average="macro")
    got = M.jaccard_index(p, t, 3, ignore_index=ignore_index)
    np.testing.assert_allclose(backend.to_numpy(got), tm.numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    ("dtype", "void", "ignore_index"),
    [(np.uint8, 255, -1), (np.int8, -1, 255), (np.uint64, 2**64 - 1, -1),
     (np.uint64, 2**63 + 1, -(2**63) + 1)],
    ids=["uint8-255-ignore-minus-1", "int8-minus-1-ignore-255", "uint64-max-ignore-minus-1",
         "uint64-2**63+1"],
)
def test_void_label_is_not_wrapped_onto_ignore_index(backend, dtype, void, ignore_index):
    """A label equal to ignore_index only after wrapping is out of range: an error on
    eager arrays (torch used to ignore uint8 255 with ignore_index=-1), not counted
    elsewhere."""
    preds, target = _pair(4)
    raw = target.astype(dtype)
    raw[1, 0, :3] = void
    p, t = backend.asarray(preds), backend.asarray(raw)
    if backend.checks_values:
        hi = max(int(target.max()), void)
        with pytest.raises(ValueError, match=rf"target holds labels outside \[0, 3\) or equal "
                                             rf"ignore_index={ignore_index}: found values in "
                                             rf"\[{min(0, void)}, {hi}\]"):
            M.confusion_matrix(p, t, 3, ignore_index=ignore_index)
        return
    keep = np.ones(target.shape, bool)
    keep[1, 0, :3] = False
    cm = M.confusion_matrix(p, t, 3, ignore_index=ignore_index)
    np.testing.assert_array_equal(backend.to_numpy(cm), _sk_confmat(preds, target, keep))


def test_uint64_predictions_from_2_63_are_out_of_range(backend):
    preds, target = _pair(5)
    raw = preds.astype(np.uint64)
    raw[0, 0, 0] = 2**64 - 1  # wraps to -1 in int64
    p, t = backend.asarray(raw), backend.asarray(target)
    if backend.checks_values:
        with pytest.raises(ValueError, match=r"preds holds labels outside \[0, 3\).*"
                                             r"\[0, 18446744073709551615\]"):
            M.confusion_matrix(p, t, 3)
        return
    # documented: a prediction outside [0, C) at a counted pixel is left out of the matrix
    keep = np.ones(target.shape, bool)
    keep[0, 0, 0] = False
    cm = M.confusion_matrix(p, t, 3)
    np.testing.assert_array_equal(backend.to_numpy(cm), _sk_confmat(preds, target, keep))


@pytest.mark.parametrize("mode", ["binary", "multilabel"])
def test_binary_uint8_targets_with_negative_ignore_index(backend, mode):
    """ignore_index=-1 never equals a uint8 target (strict raised OverflowError): the
    torchmetrics result without ignore_index."""
    rng = np.random.default_rng(6)
    shape = (2, 1, 6) if mode == "binary" else (2, 3, 6)
    preds, target = rng.integers(0, 2, shape), rng.integers(0, 2, shape)
    c = shape[1]
    if mode == "binary":
        expected = TMF.binary_jaccard_index(torch.as_tensor(preds), torch.as_tensor(target))
    else:
        expected = TMF.multilabel_jaccard_index(torch.as_tensor(preds), torch.as_tensor(target),
                                                num_labels=c)
    got = M.jaccard_index(backend.asarray(preds.astype(np.uint8)),
                          backend.asarray(target.astype(np.uint8)), c, ignore_index=-1,
                          mode=mode)
    np.testing.assert_allclose(backend.to_numpy(got), expected.numpy(), rtol=1e-6)


def test_float_binary_target_compares_ignore_index_by_value(backend):
    preds = np.array([[0.9, 0.2, 0.7, 0.6, 0.1]], np.float32)
    target = np.array([[1.0, 0.0, 255.0, 1.0, 255.0]], np.float32)
    # counted pixels 0, 1, 3: tp 2 (pixels 0, 3), no fp/fn
    got = M.get_stats(backend.asarray(preds), backend.asarray(target), "binary",
                      ignore_index=255, threshold=0.5)
    assert [backend.to_numpy(x).tolist() for x in got] == [[[2]], [[0]], [[0]], [[1]]]


# -- the threshold applies to floating predictions only ------------------------------------


@pytest.mark.parametrize("threshold", [0.0, 0.5, 2.0])
def test_threshold_ignored_for_integer_predictions(backend, threshold):
    """Integer 0/1 predictions are labels, whatever the threshold (torchmetrics; a
    threshold of 0.0 used to make every integer prediction positive)."""
    preds = np.array([[0, 1, 1, 0, 1, 0]])
    target = np.array([[0, 1, 1, 1, 0, 0]])
    expected = TMF.binary_jaccard_index(torch.as_tensor(preds), torch.as_tensor(target))
    assert float(expected) == pytest.approx(2 / 4)  # tp 2, fp 1, fn 1
    p, t = backend.asarray(preds), backend.asarray(target)
    got = M.jaccard_index(p, t, mode="binary", threshold=threshold)
    np.testing.assert_allclose(backend.to_numpy(got), expected.numpy(), rtol=1e-6)
    got = M.dice_score(p, t, mode="binary", threshold=threshold)
    np.testing.assert_allclose(backend.to_numpy(got), 2 * 2 / (2 * 2 + 2), rtol=1e-6)
    stats = M.get_stats(p, t, "binary", threshold=threshold)
    assert [backend.to_numpy(x).item() for x in stats] == [2, 1, 1, 2]
    metric = M.MeanIoU(1, mode="binary", threshold=threshold).update(p, t)
    assert backend.to_numpy(metric.confmat).tolist() == [[[2, 1], [1, 2]]]


def test_integer_predictions_other_than_0_1_rejected_with_a_threshold(backend):
    preds, target = np.array([[0, 2, 1]]), np.array([[0, 1, 1]])
    p, t = backend.asarray(preds), backend.asarray(target)
    if backend.checks_values:
        with pytest.raises(ValueError, match="output must hold 0/1 values"):
            M.get_stats(p, t, "binary", threshold=0.5)
        return
    # documented: where values are not checked, any non-zero value is a positive
    assert [backend.to_numpy(x).item() for x in M.get_stats(p, t, "binary", threshold=0.5)] \
        == [2, 0, 0, 1]


def test_nan_float_target_rejected_with_a_threshold(backend):
    preds = np.array([[0.9, 0.2, 0.7]], np.float32)
    target = np.array([[1.0, np.nan, 1.0]], np.float32)
    p, t = backend.asarray(preds), backend.asarray(target)
    if backend.checks_values:
        with pytest.raises(ValueError, match="target must hold 0/1 or .*found NaN"):
            M.jaccard_index(p, t, mode="binary", threshold=0.5)
        return
    # not inspected: a NaN target is not >= threshold, a negative (pixel 1: tn)
    assert [backend.to_numpy(x).item() for x in M.get_stats(p, t, "binary", threshold=0.5)] \
        == [2, 0, 0, 1]


# -- MeanIoU.load_state --------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, np.uint64, np.bool_, np.float64],
                         ids=lambda d: np.dtype(d).name)
def test_load_state_needs_the_counting_dtype(backend, dtype):
    """int8 counts would overflow (uint8 wrap) as batches are added: only the dtype of
    init_state (int64 here: the tests run JAX with x64) is accepted."""
    metric = M.MeanIoU(3)
    with pytest.raises(TypeError, match=r"state\['confmat'\] must hold integer counts of dtype "
                                        r"(\w+\.)?int64"):
        metric.load_state({"confmat": backend.asarray(np.zeros((3, 3), dtype))})
    preds, target = _pair(7)
    state = {"confmat": backend.asarray(_sk_confmat(preds, target).astype(np.int64))}
    metric.load_state(state).update(backend.asarray(preds), backend.asarray(target))
    np.testing.assert_array_equal(backend.to_numpy(metric.confmat),
                                  2 * _sk_confmat(preds, target))


def test_load_state_rejects_nested_lists():
    with pytest.raises(TypeError, match=r"state\['confmat'\] must be an array"):
        M.MeanIoU(2).load_state({"confmat": [[1, 0], [0, 1]]})


@pytest.mark.only_backends("jax")
def test_jax_without_x64_int32_labels_and_state(backend):
    """Without 64-bit mode JAX labels and counts are int32: ignore_index=2**31 matches
    nothing (it used to raise OverflowError), and a loaded state must be int32."""
    import jax
    import jax.numpy as jnp

    preds, target = _pair(8)
    expected = _sk_confmat(preds, target)
    with jax.enable_x64(False):
        p, t = jnp.asarray(preds, dtype=jnp.int32), jnp.asarray(target, dtype=jnp.int32)
        metric = M.MeanIoU(3, ignore_index=2**31).update(p, t)
        assert metric.confmat.dtype == jnp.int32
        np.testing.assert_array_equal(np.asarray(metric.confmat), expected)
        cm = M.confusion_matrix(p, t, 3, ignore_index=-(2**31) - 1)
        np.testing.assert_array_equal(np.asarray(cm), expected)
        with pytest.raises(TypeError, match=r"must hold integer counts of dtype int32"):
            metric.load_state({"confmat": jnp.zeros((3, 3), jnp.int16)})
