"""boundary_iou: the reference recipe (OpenCV erosions, SciPy erosions for volumes) on
random and adversarial masks, every mode, reduction and backend; void handling; Dask
chunks; jit; bad input."""

from __future__ import annotations

import array_api_compat as aac
import numpy as np
import pytest

from anyiou import metrics as M
from anyiou._lib import kernels
from anyiou.metrics._boundary import boundary_counts
from tests.support.boundary_oracles import (
    boundary_cv2,
    boundary_iou_oracle,
    boundary_scipy,
    reference_dilation,
)

AVERAGES = ["macro", "micro", "weighted", "none"]


def _one_hot(labels, c):
    return np.stack([labels == k for k in range(c)], axis=1)


def _blobs(rng, shape, c, smooth=2):
    """Label maps with connected regions: random labels repeated by block upsampling."""
    coarse = tuple(max(1, s // smooth) for s in shape[1:])
    lab = rng.integers(0, c, (shape[0], *coarse))
    for ax, s in enumerate(shape[1:], start=1):
        lab = np.repeat(lab, smooth, axis=ax)[(slice(None),) * ax + (slice(0, s),)]
        if lab.shape[ax] < s:  # odd sizes: pad by edge values
            pad = [(0, 0)] * lab.ndim
            pad[ax] = (0, s - lab.shape[ax])
            lab = np.pad(lab, pad, mode="edge")
    return lab


def _masks_cases():
    """Binary masks: random, thin lines, objects on the border, empty, full, small objects
    with a large d."""
    rng = np.random.default_rng(0)
    cases = []
    for h, w in [(1, 1), (1, 9), (7, 1), (5, 5), (16, 23), (31, 8)]:
        cases.append(rng.random((h, w)) < 0.5)
    line = np.zeros((12, 15), bool)
    line[6, 2:13] = True
    line[1:11, 4] = True
    cases.append(line)
    border = np.zeros((10, 10), bool)
    border[:4, :] = True
    cases.append(border)
    cases.append(np.zeros((9, 11), bool))
    cases.append(np.ones((9, 11), bool))
    dot = np.zeros((20, 20), bool)
    dot[9:11, 9:12] = True
    cases.append(dot)
    return cases


def test_oracles_agree():
    """OpenCV's iterated erosion and SciPy's give the same bands (sanity of the oracles)."""
    for mask in _masks_cases():
        for d in (1, 2, 3, 7):
            np.testing.assert_array_equal(boundary_cv2(mask, d), boundary_scipy(mask, d))


@pytest.mark.parametrize("d", [1, 2, 5, 9])
@pytest.mark.lazy_subset("d", (1,))
def test_binary_bands_match_opencv(backend, d):
    """Band counts of each mask pair equal the reference recipe's (OpenCV)."""
    cases = _masks_cases()
    if backend.lazy:  # one compiled program or graph per shape: a representative few
        cases = cases[1:2] + cases[6:9]
    for mask in cases:
        if d > max(mask.shape):
            continue
        pred = np.roll(mask, 1, axis=-1) ^ (np.arange(mask.size).reshape(mask.shape) % 7 == 0)
        bg, bp = boundary_cv2(mask, d), boundary_cv2(pred, d)
        tp, fp, fn = boundary_counts(
            backend.asarray(pred[None, None].astype(np.int64)),
            backend.asarray(mask[None, None]), None, None, "binary", 0.5, 0.02, d, False)
        got = [int(backend.to_numpy(x)[0, 0]) for x in (tp, fp, fn)]
        inter = int(np.sum(bg & bp))
        assert got == [inter, int(bp.sum()) - inter, int(bg.sum()) - inter], (mask.shape, d)


@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("per_image", [False, True])
def test_multiclass_matches_reference(backend, average, per_image):
    rng = np.random.default_rng(1)
    c = 5
    t = _blobs(rng, (3, 37, 29), c, smooth=4)
    p = np.where(rng.random(t.shape) < 0.9, np.roll(t, 2, axis=1), rng.integers(0, c, t.shape))
    t = np.where(rng.random(t.shape) < 0.05, 255, t)
    d = reference_dilation((37, 29), 0.05)
    counted = np.broadcast_to((t != 255)[:, None], (3, c, 37, 29))
    expected = boundary_iou_oracle(_one_hot(t, c), _one_hot(p, c), d, counted=counted,
                                   average=average, per_image=per_image, band=boundary_cv2)
    got = M.boundary_iou(backend.asarray(p), backend.asarray(t), c, average,
                         ignore_index=255, dilation_ratio=0.05, per_image=per_image)
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-6, atol=1e-12)


def test_scores_and_in_range_ignore_index(backend):
    """Score predictions (argmax) and an ignored class inside [0, C) (left out of the
    averages, its pixels void)."""
    rng = np.random.default_rng(2)
    c = 4
    t = _blobs(rng, (2, 20, 24), c, smooth=3)
    scores = rng.standard_normal((2, c, 20, 24)) + 3 * _one_hot(np.roll(t, 1, axis=2), c)
    p = np.argmax(scores, axis=1)
    counted = np.broadcast_to((t != 0)[:, None], (2, c, 20, 24))
    for average in ("macro", "micro", "weighted"):
        expected = boundary_iou_oracle(_one_hot(t, c), _one_hot(p, c), 2, counted=counted,
                                       average=average, skip_class=0)
        got = M.boundary_iou(backend.asarray(scores), backend.asarray(t), average=average,
                             ignore_index=0, dilation=2)
        np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-6)


@pytest.mark.parametrize("mode", ["binary", "multilabel"])
@pytest.mark.parametrize("per_image", [False, True])
def test_masks_modes_match_reference(backend, mode, per_image):
    rng = np.random.default_rng(3)
    c = 1 if mode == "binary" else 3
    t = _blobs(rng, (2 * c, 18, 21), 2, smooth=3).reshape(2, c, 18, 21)
    probs = np.clip(t + rng.normal(0, 0.4, t.shape), 0, 1)
    t = np.where(rng.random(t.shape) < 0.05, -1, t)
    counted = t != -1
    expected = boundary_iou_oracle(t == 1, probs >= 0.5, 1, counted=counted,
                                   multiclass=False, average="macro", per_image=per_image)
    got = M.boundary_iou(backend.asarray(probs), backend.asarray(t), ignore_index=-1,
                         mode=mode, threshold=0.5, per_image=per_image)
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-6)
    if mode == "binary":  # (N, *S) without the channel axis: the same numbers
        got = M.boundary_iou(backend.asarray(probs[:, 0]), backend.asarray(t[:, 0]),
                             ignore_index=-1, mode=mode, per_image=per_image)
        np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-6)


@pytest.mark.parametrize("d", [1, 3])
def test_volumes_match_scipy(backend, d):
    rng = np.random.default_rng(4)
    c = 3
    t = _blobs(rng, (2, 9, 12, 10), c, smooth=3)
    p = np.where(rng.random(t.shape) < 0.85, t, rng.integers(0, c, t.shape))
    expected = boundary_iou_oracle(_one_hot(t, c), _one_hot(p, c), d, average="none")
    got = M.boundary_iou(backend.asarray(p), backend.asarray(t), c, "none", dilation=d)
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-6)


def test_hand_computed(backend):
    """A 4x4 square in a 6x6 image shifted right by one pixel, d = 1: rings of 12 pixels
    sharing 6 (boundary IoU 1/3; mask IoU 12/20). d = 2: every pixel of the image is
    within 2 of a contour, so boundary IoU = mask IoU: 16/24 for the background (20
    pixels each, 16 shared), 12/20 for the square."""
    t = np.zeros((1, 6, 6), np.int64)
    t[0, 1:5, 1:5] = 1
    p = np.roll(t, 1, axis=2)
    one = M.boundary_iou(backend.asarray(p), backend.asarray(t), 2, "none", dilation=1)
    np.testing.assert_allclose(backend.to_numpy(one)[1], 1 / 3, rtol=1e-6)
    two = M.boundary_iou(backend.asarray(p), backend.asarray(t), 2, "none", dilation=2)
    np.testing.assert_allclose(backend.to_numpy(two), [2 / 3, 0.6], rtol=1e-6)


def test_void_edge_is_a_contour(backend):
    """Void is "not this class": a void strip splits a class region and creates a
    contour along its edge; predictions on void pixels never change the score."""
    t = np.ones((1, 9, 9), np.int64)
    t[0, :, 4] = 255  # a void column through the middle
    counts = boundary_counts(backend.asarray(t), backend.asarray(t), 2, 255, "multiclass",
                             0.5, 0.02, 1, False)
    # class 1: each 9x4 half minus its 7x2 interior = 22 band pixels, 44 in all
    assert [int(backend.to_numpy(x)[0, 1]) for x in counts] == [44, 0, 0]
    rng = np.random.default_rng(5)
    p = np.where(t == 255, rng.integers(0, 2, t.shape), t)
    got = M.boundary_iou(backend.asarray(p), backend.asarray(t), 2, ignore_index=255,
                         dilation=1)
    np.testing.assert_allclose(backend.to_numpy(got), 1.0)


def test_empty_and_zero_division(backend):
    """No band pixels anywhere (every pixel void): zero_division."""
    t = np.full((2, 5, 5), 255, np.int64)
    p = np.zeros((2, 5, 5), np.int64)
    got = M.boundary_iou(backend.asarray(p), backend.asarray(t), 3, ignore_index=255,
                         zero_division=0.25)
    np.testing.assert_allclose(backend.to_numpy(got), 0.25)
    got = M.boundary_iou(backend.asarray(p), backend.asarray(t), 3, "none",
                         ignore_index=255, zero_division=float("nan"))
    assert np.isnan(backend.to_numpy(got)).all()


def test_pure_standard_path_agrees(backend, monkeypatch):
    rng = np.random.default_rng(6)
    t = _blobs(rng, (2, 14, 15), 3, smooth=3)
    p = np.roll(t, 1, axis=1)
    native = M.boundary_iou(backend.asarray(p), backend.asarray(t), 3, "none", dilation=2)
    monkeypatch.setattr(kernels, "USE_NATIVE", False)
    pure = M.boundary_iou(backend.asarray(p), backend.asarray(t), 3, "none", dilation=2)
    np.testing.assert_allclose(backend.to_numpy(pure), backend.to_numpy(native))


@pytest.mark.only_backends("dask", reason="chunk boundaries and laziness")
def test_dask_chunks_smaller_than_the_band(backend):
    import dask.array as da

    rng = np.random.default_rng(7)
    t = _blobs(rng, (3, 25, 22), 4, smooth=5)
    p = np.roll(t, 3, axis=2)
    expected = boundary_iou_oracle(_one_hot(t, 4), _one_hot(p, 4), 4, average="none")
    for chunks in [(1, 3, 2), (2, 7, 22), (3, 25, 5)]:
        got = M.boundary_iou(da.from_array(p, chunks=chunks), da.from_array(t, chunks=chunks),
                             4, "none", dilation=4)
        assert aac.is_dask_array(got)
        np.testing.assert_allclose(got.compute(), expected, rtol=1e-6)


@pytest.mark.only_backends("jax", reason="jit")
def test_jit(backend):
    import jax

    rng = np.random.default_rng(8)
    t = _blobs(rng, (2, 16, 16), 3, smooth=4)
    p = np.roll(t, 1, axis=1)
    fn = jax.jit(lambda a, b: M.boundary_iou(a, b, 3, dilation_ratio=0.1, per_image=True))
    got = fn(backend.asarray(p), backend.asarray(t))
    expected = boundary_iou_oracle(_one_hot(t, 3), _one_hot(p, 3), 2, per_image=True)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"dilation_ratio": 0}, ValueError, "dilation_ratio must be a finite number > 0"),
        ({"dilation_ratio": -0.1}, ValueError, "dilation_ratio"),
        ({"dilation_ratio": float("nan")}, ValueError, "dilation_ratio"),
        ({"dilation_ratio": "0.02"}, TypeError, "dilation_ratio"),
        ({"dilation": 0}, ValueError, "dilation must be a positive"),
        ({"dilation": 2.5}, TypeError, "dilation must be an integer"),
        ({"dilation": True}, TypeError, "dilation must be an integer"),
        ({"dilation": 9}, ValueError, "larger than the image"),
        ({"dilation_ratio": 1.0}, ValueError, "larger than the image"),
        ({"per_image": "yes"}, TypeError, "per_image"),
        ({"average": "mean"}, ValueError, "average"),
    ],
)
def test_bad_input(kwargs, error, match):
    t = np.zeros((1, 6, 8), np.int64)
    with pytest.raises(error, match=match):
        M.boundary_iou(t, t, 2, **kwargs)


def test_bad_labels_and_shapes(backend):
    t = np.zeros((1, 6, 6), np.int64)
    p = t.copy()
    p[0, 0, 0] = 7
    if backend.checks_values:
        with pytest.raises(ValueError, match="preds holds labels outside"):
            M.boundary_iou(backend.asarray(p), backend.asarray(t), 2)
        with pytest.raises(ValueError, match="target holds labels outside"):
            M.boundary_iou(backend.asarray(t), backend.asarray(p), 2)
    with pytest.raises(ValueError, match="spatial axis"):
        M.boundary_iou(backend.asarray(t[:, 0, 0]), backend.asarray(t[:, 0, 0]), 2)


def test_empty_batch(backend):
    """No image: nothing counted, zero_division (NaN per class with 'none')."""
    t = np.zeros((0, 5, 7), np.int64)
    got = M.boundary_iou(backend.asarray(t), backend.asarray(t), 3, zero_division=0.5)
    np.testing.assert_allclose(backend.to_numpy(got), 0.5)
    got = M.boundary_iou(backend.asarray(t), backend.asarray(t), 3, "none", per_image=True)
    assert backend.to_numpy(got).shape == (0, 3)
