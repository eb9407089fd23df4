"""MeanIoU: streaming over uneven batches equals one call on the concatenated data
(torchmetrics and sklearn as oracles); merge, reset, summable state, jit and Dask."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.metrics as skm
import torch
from torchmetrics.functional import classification as TMF

from anyiou import metrics as M

C = 4


def _batches(seed=0):
    """Uneven batches: different batch sizes and image sizes, 255 voids, class 3 rare."""
    rng = np.random.default_rng(seed)
    out = []
    for n, h, w in [(1, 5, 4), (3, 2, 7), (2, 6, 6), (1, 1, 1)]:
        t = rng.integers(0, 3, (n, h, w))
        p = np.where(rng.random(t.shape) < 0.5, t, rng.integers(0, C, t.shape))
        t = np.where(rng.random(t.shape) < 0.15, 255, t)
        out.append((p, t))
    return out


def _concat(batches):
    return (np.concatenate([p.ravel() for p, _ in batches]),
            np.concatenate([t.ravel() for _, t in batches]))


def _tm_jaccard(p, t, **kw):
    return TMF.multiclass_jaccard_index(torch.from_numpy(p), torch.from_numpy(t),
                                        num_classes=C, **kw).numpy()


@pytest.mark.parametrize("average", ["macro", "micro", "weighted", "none"])
def test_streaming_equals_one_call(backend, average):
    batches = _batches()
    m = M.MeanIoU(C, ignore_index=255, average=average)
    for p, t in batches:
        m.update(backend.asarray(p), backend.asarray(t))
    p_all, t_all = _concat(batches)
    expected = _tm_jaccard(p_all, t_all, average=average, ignore_index=255)
    np.testing.assert_allclose(backend.to_numpy(m.compute()), expected, rtol=1e-6)
    np.testing.assert_allclose(
        backend.to_numpy(m.per_class()),
        _tm_jaccard(p_all, t_all, average="none", ignore_index=255), rtol=1e-6)
    keep = t_all != 255
    np.testing.assert_array_equal(
        backend.to_numpy(m.state["confmat"]),
        skm.confusion_matrix(t_all[keep], p_all[keep], labels=range(C)))


def test_state_is_summable(backend):
    """A distributed sync is a sum of states: two 'ranks' == one pass over everything."""
    batches = _batches(1)
    ranks = [M.MeanIoU(C, ignore_index=255), M.MeanIoU(C, ignore_index=255)]
    for i, (p, t) in enumerate(batches):
        ranks[i % 2].update(backend.asarray(p), backend.asarray(t))
    states = [r.state for r in ranks]
    assert set(states[0]) == {"confmat"}
    assert backend.to_numpy(states[0]["confmat"]).dtype == np.int64
    synced = M.MeanIoU(C, ignore_index=255).load_state(
        {"confmat": states[0]["confmat"] + states[1]["confmat"]})
    p_all, t_all = _concat(batches)
    expected = _tm_jaccard(p_all, t_all, ignore_index=255)
    np.testing.assert_allclose(backend.to_numpy(synced.compute()), expected, rtol=1e-6)
    merged = ranks[0].merge(ranks[1])
    assert merged is ranks[0]
    np.testing.assert_allclose(backend.to_numpy(merged.compute()), expected, rtol=1e-6)


def test_merge_reset_and_empty(backend):
    batches = _batches(2)
    a, b = M.MeanIoU(C, ignore_index=255), M.MeanIoU(C, ignore_index=255)
    a.merge(b)  # both empty: still empty
    assert a.state is None
    with pytest.raises(RuntimeError, match="before any update"):
        a.compute()
    p, t = batches[0]
    b.update(backend.asarray(p), backend.asarray(t))
    a.merge(b)  # empty + full
    expected = _tm_jaccard(p.ravel(), t.ravel(), ignore_index=255)
    np.testing.assert_allclose(backend.to_numpy(a.compute()), expected, rtol=1e-6)
    a.reset()
    assert a.state is None and a.confmat is None
    with pytest.raises(ValueError, match="same num_classes"):
        a.merge(M.MeanIoU(C + 1, ignore_index=255))
    with pytest.raises(ValueError, match="same num_classes"):
        a.merge(M.MeanIoU(C))


def test_empty_batch_counts_nothing(backend):
    m = M.MeanIoU(C, ignore_index=255)
    p, t = _batches(6)[0]
    m.update(backend.asarray(p), backend.asarray(t))
    m.update(backend.asarray(np.zeros((0, 3, 3), np.int64)),
             backend.asarray(np.zeros((0, 3, 3), np.int64)))
    m.update(backend.asarray(np.zeros((2, 0), np.int64)),
             backend.asarray(np.zeros((2, 0), np.int64)))
    keep = t != 255
    np.testing.assert_array_equal(backend.to_numpy(m.confmat),
                                  skm.confusion_matrix(t[keep], p[keep], labels=range(C)))


def test_hand_computed_streaming(backend):
    # scenario K of tests/support/hand_computed.py: confusion-matrix accumulation over 2
    # updates = 0.466667
    # (torchmetrics MulticlassJaccardIndex, Keras MeanIoU); per-image means give 0.458333.
    m = M.MeanIoU(3)
    m.update(backend.asarray(np.array([[[0, 1], [1, 1]]])),
             backend.asarray(np.array([[[0, 0], [1, 1]]])))
    m.update(backend.asarray(np.array([[[2, 0], [0, 0]]])),
             backend.asarray(np.array([[[2, 2], [2, 0]]])))
    assert float(backend.to_numpy(m.compute())) == pytest.approx(0.466667, abs=1e-6)


def test_counts_beyond_int32_and_float32(backend):
    # a state far beyond 2**24 (float32) and 2**31 (int32) keeps counting exactly
    big = 2**40
    m = M.MeanIoU(2).load_state(
        {"confmat": backend.asarray(np.array([[big, 0], [0, 3]], np.int64))})
    m.update(backend.asarray(np.array([[0, 0, 1]])), backend.asarray(np.array([[0, 1, 1]])))
    cm = backend.to_numpy(m.confmat)
    np.testing.assert_array_equal(cm, [[big + 1, 0], [1, 4]])
    np.testing.assert_allclose(backend.to_numpy(m.per_class()),
                               [(big + 1) / (big + 2), 4 / 5], rtol=1e-6)


@pytest.mark.parametrize("mode", ["binary", "multilabel"])
def test_binary_multilabel_streaming(backend, mode):
    rng = np.random.default_rng(3)
    c = 1 if mode == "binary" else 3
    batches = [(rng.choice([0.2, 0.8], (n, c, 3, 3)), rng.integers(0, 2, (n, c, 3, 3)))
               for n in (1, 3, 2)]
    m = M.MeanIoU(c, mode=mode, average="macro")
    for p, t in batches:
        m.update(backend.asarray(p), backend.asarray(t))
    p_all = torch.from_numpy(np.concatenate([p for p, _ in batches]))
    t_all = torch.from_numpy(np.concatenate([t for _, t in batches]))
    if mode == "binary":
        expected = TMF.binary_jaccard_index(p_all, t_all).numpy()
    else:
        expected = TMF.multilabel_jaccard_index(p_all, t_all, num_labels=c).numpy()
    np.testing.assert_allclose(backend.to_numpy(m.compute()), expected, rtol=1e-6)
    assert tuple(m.state["confmat"].shape) == (c, 2, 2)


@pytest.mark.only_backends("jax", reason="jax.jit")
def test_pure_update_under_jit(backend):
    import jax

    m = M.MeanIoU(C, ignore_index=255)
    step = jax.jit(m.update_state)
    batches = _batches(4)
    state = m.init_state(backend.asarray(batches[0][1]))
    for p, t in batches:
        state = step(state, backend.asarray(p), backend.asarray(t))
    p_all, t_all = _concat(batches)
    value = jax.jit(m.compute_state)(state)
    np.testing.assert_allclose(np.asarray(value), _tm_jaccard(p_all, t_all, ignore_index=255),
                               rtol=1e-6)


@pytest.mark.only_backends("dask", reason="laziness")
def test_dask_stays_lazy(backend):
    import array_api_compat as aac

    batches = _batches(5)
    m = M.MeanIoU(C, ignore_index=255)
    for p, t in batches:
        m.update(backend.asarray(p), backend.asarray(t))
    assert aac.is_dask_array(m.state["confmat"])
    value = m.compute()
    assert aac.is_dask_array(value)
    p_all, t_all = _concat(batches)
    np.testing.assert_allclose(value.compute(), _tm_jaccard(p_all, t_all, ignore_index=255),
                               rtol=1e-6)


def test_errors(backend):
    with pytest.raises(TypeError, match="num_classes"):
        M.MeanIoU(2.5)
    with pytest.raises(ValueError, match="average"):
        M.MeanIoU(3, average="samples")
    with pytest.raises(ValueError, match="binary"):
        M.MeanIoU(2, mode="binary")
    m = M.MeanIoU(3)
    with pytest.raises(ValueError, match="shape"):
        m.load_state({"confmat": backend.asarray(np.zeros((2, 2), np.int64))})
    with pytest.raises(TypeError, match="integer"):
        m.load_state({"confmat": backend.asarray(np.zeros((3, 3), np.float32))})
    with pytest.raises(TypeError, match="state"):
        m.update_state([1, 2], backend.asarray(np.zeros((1, 2), np.int64)),
                       backend.asarray(np.zeros((1, 2), np.int64)))
    scores = backend.asarray(np.zeros((1, 4, 2), np.float32))
    with pytest.raises(ValueError, match="num_classes"):
        m.update(scores, backend.asarray(np.zeros((1, 2), np.int64)))
