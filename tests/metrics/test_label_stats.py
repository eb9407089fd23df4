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
