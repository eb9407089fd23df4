"""The backend fast paths and the pure array-API fallbacks both match the oracles."""

from __future__ import annotations

import numpy as np
import pytest

import anyiou
from anyiou._lib import kernels
from anyiou._lib.kernels import _chunks
from tests.support.cases import Case
from tests.support.oracles import np_sigmoid, np_softmax, smp_value_and_grad


@pytest.fixture(params=[True, False], ids=["native", "standard"])
def native(request, monkeypatch):
    monkeypatch.setattr(kernels, "USE_NATIVE", request.param)
    return request.param


def test_primitives_match_numpy_reference(backend, native, xp):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 30, (2, 5, 7))
    labels = rng.integers(0, 5, (2, 7))
    vals = rng.random((2, 7))
    bx, bl, bv = backend.asarray(x), backend.asarray(labels), backend.asarray(vals)
    np.testing.assert_allclose(backend.to_numpy(kernels.softmax(xp, bx, 1)), np_softmax(x), rtol=1e-12,
                               atol=1e-300)
    np.testing.assert_allclose(backend.to_numpy(kernels.sigmoid(xp, bx)), np_sigmoid(x), rtol=1e-12)
    gathered = np.take_along_axis(x, labels[:, None, :], axis=1)[:, 0]
    np.testing.assert_array_equal(backend.to_numpy(kernels.take_labels(xp, bx, bl)), gathered)
    sums = np.stack([np.bincount(labels[i], weights=vals[i], minlength=6) for i in range(2)])
    np.testing.assert_allclose(backend.to_numpy(kernels.label_sums(xp, bv, bl, 6)), sums, rtol=1e-12)
    counts = np.stack([np.bincount(labels[i], minlength=6) for i in range(2)])
    np.testing.assert_array_equal(backend.to_numpy(kernels.label_counts(xp, bl, 6)), counts)
    lo, hi = kernels.value_range(xp, xp.reshape(bl, (-1,)))
    assert (int(lo), int(hi)) == (labels.min(), labels.max())


@pytest.mark.parametrize(
    "case",
    [
        Case("mc-ignore", "multiclass", (2, 4, 5, 5), "labels", {"ignore_index": 255}, void=255),
        Case("bin", "binary", (2, 1, 5, 5)),
        Case("ml-soft", "multilabel", (2, 3, 5, 5), "soft"),
    ],
    ids=lambda c: c.id,
)
def test_loss_on_both_paths_matches_smp(backend, native, case):
    y_pred, y = case.make(seed=1)
    expected, expected_grad = smp_value_and_grad("JaccardLoss", case.smp_args, y_pred, y)
    loss = anyiou.JaccardLoss(**case.smp_args)
    got = backend.to_numpy(loss(backend.asarray(y_pred), backend.asarray(y)))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    if backend.has_autodiff:
        t = backend.asarray(y)
        _, grad = backend.value_and_grad(lambda p: loss(p, t), y_pred)
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-4, atol=1e-7)


def test_extreme_logits_standard_sigmoid_has_finite_gradient(ad_backend, monkeypatch):
    monkeypatch.setattr(kernels, "USE_NATIVE", False)
    x = np.array([[[-1e4, 1e4, 0.0, 80.0, -80.0]]], np.float32)
    t = ad_backend.asarray(np.array([[[0, 1, 1, 0, 1]]]))
    loss = anyiou.JaccardLoss("binary")
    value, grad = ad_backend.value_and_grad(lambda p: loss(p, t), x)
    assert np.isfinite(value) and np.all(np.isfinite(grad))


@pytest.mark.only_backends("torch")
def test_torch_fused_backward_twice_with_retain_graph(backend):
    """The fused softmax path reuses its buffer for the gradient; a second backward
    (retain_graph=True) must still give smp's gradient."""
    torch = backend.lib
    y_pred, y = Case("mc", "multiclass", (2, 4, 5, 5), "labels", {"ignore_index": 255},
                     void=255).make(seed=3)
    _, expected_grad = smp_value_and_grad("JaccardLoss", {"mode": "multiclass", "ignore_index": 255},
                                          y_pred, y)
    x = torch.from_numpy(y_pred).requires_grad_(True)
    out = anyiou.JaccardLoss("multiclass", ignore_index=255)(x, torch.from_numpy(y))
    (g1,) = torch.autograd.grad(out, x, retain_graph=True)
    (g2,) = torch.autograd.grad(out, x)
    np.testing.assert_allclose(g1.numpy(), expected_grad, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(g2.numpy(), expected_grad, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize(
    "case",
    [
        Case("bin-soft-ignore", "binary", (2, 1, 5, 5), "soft"),
        Case("ml-float-hard", "multilabel", (2, 3, 5, 5), "hard", {"ignore_index": 255}, void=255,
             target_dtype="float32"),
        Case("mc", "multiclass", (2, 3, 5, 5), "labels", {"ignore_index": 255}, void=255),
    ],
    ids=lambda c: c.id,
)
def test_inputs_are_not_modified(backend, native, case):
    y_pred, y = case.make(seed=4)
    p, t = backend.asarray(y_pred), backend.asarray(y)
    loss = anyiou.JaccardLoss(**case.smp_args)
    if backend.has_autodiff:
        backend.value_and_grad(lambda q: loss(q, t), y_pred)
    else:
        loss(p, t)
    np.testing.assert_array_equal(backend.to_numpy(p), y_pred)
    np.testing.assert_array_equal(backend.to_numpy(t), y)


@pytest.mark.only_backends("torch", "numpy")
@pytest.mark.parametrize(
    "case",
    [
        Case("mc-ignore", "multiclass", (2, 4, 5, 7), "labels", {"ignore_index": 255}, void=255),
        Case("bin", "binary", (3, 1, 5, 7)),
        Case("ml-soft", "multilabel", (2, 3, 5, 7), "soft"),
        Case("ml-ignore", "multilabel", (2, 3, 5, 7), "hard", {"ignore_index": 255}, void=255),
    ],
    ids=lambda c: c.id,
)
def test_pixel_chunks_match_smp(backend, case, monkeypatch):
    """The fused torch and NumPy kernels walk the pixels in chunks; chunk boundaries that
    split samples unevenly (35 pixels in blocks of 4-12) must not change values or
    gradients."""
    monkeypatch.setattr(_chunks, "CHUNK_ELEMENTS", 12)
    y_pred, y = case.make(seed=5)
    expected, expected_grad = smp_value_and_grad("JaccardLoss", case.smp_args, y_pred, y)
    loss = anyiou.JaccardLoss(**case.smp_args)
    t = backend.asarray(y)
    value = backend.to_numpy(loss(backend.asarray(y_pred), t))
    np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-6)
    if backend.has_autodiff:
        _, grad = backend.value_and_grad(lambda p: loss(p, t), y_pred)
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-4, atol=1e-7)


def test_pixel_chunks_cover_every_pixel_once():
    for n, c, pixels, size in [(2, 3, 10, 7), (1, 1, 5, 1), (3, 2000, 4, 1000), (2, 4, 0, 8)]:
        seen = np.zeros((n, pixels), int)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_chunks, "CHUNK_ELEMENTS", size)
            for i, lo, hi in _chunks.pixel_chunks(n, c, pixels):
                assert 0 <= lo < hi <= pixels
                seen[i, lo:hi] += 1
        np.testing.assert_array_equal(seen, 1)
