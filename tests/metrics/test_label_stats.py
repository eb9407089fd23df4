"""Multiclass per-image counts (``get_stats``, per-image ``boundary_iou``) at many classes:
memory linear in the number of classes (smp's ``get_stats`` as the oracle and the memory
baseline), and a clear error instead of int32 overflow on JAX without 64-bit mode."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from anyiou import metrics as M
from anyiou.metrics import _label_stats
from tests.support.boundary_oracles import boundary_iou_oracle
from tests.support.cases import STATS_CASES, stats_case
from tests.support.oracles import smp_metrics

SMP = smp_metrics()


def _many_classes(n=8, side=16, c=1500, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, c, size=(n, side, side))
    p = np.where(rng.random(t.shape) < 0.5, t, rng.integers(0, c, size=t.shape))
    t[:, :2, :] = -1  # void rows, outside [0, C)
    p[:, 0, :3] = c + 7  # predictions outside [0, C) on void pixels only
    return p, t


def _smp(p, t, c, ignore_index):
    import torch

    out = SMP.get_stats(torch.from_numpy(p), torch.from_numpy(t), "multiclass",
                        ignore_index=ignore_index, num_classes=c)
    return [x.numpy() for x in out]


def _peak_bytes(fn):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del out
    return peak


@pytest.mark.only_backends("numpy")
def test_get_stats_memory_linear_in_classes(backend):
    """8 images of 16x16 pixels, C = 1500: a (C + 2)^2 histogram per image took 240 MiB;
    the peak must stay within twice the four (N, C) int64 results that smp allocates too
    (so within twice smp's own peak)."""
    c = 1500
    p, t = _many_classes(c=c)
    expected = _smp(p, t, c, -1)
    got = M.get_stats(p, t, "multiclass", ignore_index=-1, num_classes=c)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(g, e)
    smp_results = 4 * p.shape[0] * c * 8
    peak = _peak_bytes(lambda: M.get_stats(p, t, "multiclass", ignore_index=-1,
                                           num_classes=c))
    assert peak <= 2 * smp_results, (peak, smp_results)


@pytest.mark.only_backends("numpy")
def test_boundary_per_image_memory_linear_in_classes(backend):
    c = 1500
    p, t = _many_classes(c=c, seed=1)
    out = M.boundary_iou(p, t, c, average="none", ignore_index=-1, dilation=1, per_image=True)
    classes = np.arange(c).reshape(1, c, 1, 1)
    counted = np.broadcast_to((t != -1)[:, None], (t.shape[0], c, *t.shape[1:]))
    expected = boundary_iou_oracle(t[:, None] == classes, p[:, None] == classes, 1,
                                   counted=counted, average="none", per_image=True)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12)
    # counts and the score reduction: a few (N, C) arrays (1.2 MiB here), where the
    # (C + 1)^2 band histograms per image took 275 MiB
    per_class = p.shape[0] * c * 8
    peak = _peak_bytes(lambda: M.boundary_iou(p, t, c, average="none", ignore_index=-1,
                                              dilation=1, per_image=True))
    assert peak <= 16 * per_class, (peak, per_class)


def test_many_classes_match_smp(backend):
    """Every backend: the per-row label histograms give smp's exact counts."""
    c = 300
    p, t = _many_classes(n=3, side=6, c=c, seed=2)
    expected = _smp(p, t, c, -1)
    got = M.get_stats(backend.asarray(p), backend.asarray(t), "multiclass",
                      ignore_index=-1, num_classes=c)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(backend.to_numpy(g), e)


# -- JAX without 64-bit mode ------------------------------------------------------------


@pytest.mark.only_backends("jax")
def test_jax_int32_counts_raise_instead_of_overflowing(backend, monkeypatch):
    """With int32 indices the row offsets of N images of C + 1 bins must fit; beyond
    the bound (lowered here instead of allocating gigabytes) a clear error names the
    sizes and jax_enable_x64, and at the bound the counts are exact."""
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(7)
    n, c = 3, 4
    t = rng.integers(0, c, size=(n, 2, 2)).astype(np.int32)
    p = rng.integers(0, c, size=(n, 2, 2)).astype(np.int32)
    expected = _smp(p.astype(np.int64), t.astype(np.int64), c, None)
    with jax.enable_x64(False):
        jp, jt = jnp.asarray(p), jnp.asarray(t)
        monkeypatch.setattr(_label_stats, "MAX_INT32_BINS", n * (c + 1))
        got = M.get_stats(jp, jt, "multiclass", num_classes=c)
        assert got[0].dtype == jnp.int32
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_array_equal(np.asarray(g), e)
        monkeypatch.setattr(_label_stats, "MAX_INT32_BINS", n * (c + 1) - 1)
        with pytest.raises(ValueError, match=r"3 row\(s\) of 4 pixels into 5 bins.*"
                           r"up to 15.*at most 14.*jax_enable_x64"):
            M.get_stats(jp, jt, "multiclass", num_classes=c)
        with pytest.raises(ValueError, match=r"jax_enable_x64"):
            M.boundary_iou(jp, jt, c, dilation=1, per_image=True)
        # the dataset-level confusion matrix counts (C + 2)^2 pair codes in one row
        monkeypatch.setattr(_label_stats, "MAX_INT32_BINS", (c + 2) ** 2 - 1)
        with pytest.raises(ValueError, match=r"jax_enable_x64"):
            M.confusion_matrix(jp, jt, c)
    # with 64-bit mode the same bound does not apply
    got = M.get_stats(jnp.asarray(p), jnp.asarray(t), "multiclass", num_classes=c)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(np.asarray(g), e)


# -- both counting paths ----------------------------------------------------------------

PATHS = {"joint": float("inf"), "labels": 0.0}


@pytest.fixture(params=list(PATHS))
def counting_path(request, monkeypatch):
    """Force one (C + 2)^2 joint histogram per image, or the per-row label histograms
    (the choice otherwise depends on the image size against C)."""
    monkeypatch.setattr(_label_stats, "JOINT_BINS_PER_PIXEL", PATHS[request.param])
    return request.param


@pytest.mark.parametrize("name", [n for n in STATS_CASES if n.startswith("mc")])
def test_get_stats_both_paths_match_smp(backend, counting_path, name):
    output, target, kw = stats_case(name)
    out = output.astype(np.int64) if output.dtype == bool else output
    expected = _smp(out, target, kw["num_classes"], kw.get("ignore_index"))
    got = M.get_stats(backend.asarray(output), backend.asarray(target), **kw)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(backend.to_numpy(g), e)


@pytest.mark.parametrize("per_image", [False, True])
def test_boundary_both_paths_match_reference(backend, counting_path, per_image):
    rng = np.random.default_rng(3)
    c = 4
    t = rng.integers(0, c, size=(2, 3, 5, 7)).repeat(2, axis=2).repeat(2, axis=3)
    t = t.reshape(6, 10, 14)
    p = np.where(rng.random(t.shape) < 0.8, np.roll(t, 1, axis=1), rng.integers(0, c, t.shape))
    t = np.where(rng.random(t.shape) < 0.05, 255, t)
    classes = np.arange(c).reshape(1, c, 1, 1)
    counted = np.broadcast_to((t != 255)[:, None], (t.shape[0], c, *t.shape[1:]))
    expected = boundary_iou_oracle(t[:, None] == classes, p[:, None] == classes, 2,
                                   counted=counted, average="none", per_image=per_image)
    got = M.boundary_iou(backend.asarray(p), backend.asarray(t), c, "none", ignore_index=255,
                         dilation=2, per_image=per_image)
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("ignore_index", [0, 2, -1])
def test_get_stats_both_paths_ignore_index(backend, counting_path, ignore_index):
    """An in-range ignore_index too (smp raises): those pixels are not counted at all;
    a reference from boolean masks."""
    rng = np.random.default_rng(11)
    c = 3
    t = rng.integers(-1 if ignore_index == -1 else 0, c, size=(3, 4, 5))
    p = rng.integers(0, c, size=t.shape)
    got = M.get_stats(backend.asarray(p), backend.asarray(t), "multiclass",
                      ignore_index=ignore_index, num_classes=c)
    k = np.arange(c).reshape(1, c, 1)
    tf, pf = t.reshape(3, 1, -1), p.reshape(3, 1, -1)
    counted = tf != ignore_index
    pos_t, pos_p = (tf == k) & counted, (pf == k) & counted
    expected = [(pos_p & pos_t).sum(-1), (pos_p & ~pos_t).sum(-1), (~pos_p & pos_t).sum(-1),
                (~pos_p & ~pos_t & counted).sum(-1)]
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(backend.to_numpy(g), e)


def test_get_stats_both_paths_unchecked_labels(backend, counting_path):
    """Where values are not checked (JAX, Dask): a target outside [0, C) is not counted,
    a prediction outside [0, C) at a counted pixel is a false negative."""
    if backend.checks_values:
        pytest.skip("eager CPU arrays raise for these labels")
    t = np.array([[0, 1, 2, 7, -3, 1]])
    p = np.array([[0, 9, 2, 1, 0, -2]])
    tp, fp, fn, tn = (backend.to_numpy(x) for x in M.get_stats(
        backend.asarray(p), backend.asarray(t), "multiclass", num_classes=3))
    np.testing.assert_array_equal(tp, [[1, 0, 1]])
    np.testing.assert_array_equal(fp, [[0, 0, 0]])
    np.testing.assert_array_equal(fn, [[0, 2, 0]])
    np.testing.assert_array_equal(tn, [[3, 2, 3]])
