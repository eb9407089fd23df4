"""Numerics: exact metric counts beyond float32's integers (2**25 pixels), float16 and
bfloat16 metric inputs, extreme logits (+-1e4) in every loss, NaN in the prediction.

Oracles: hand-computed counts, NumPy on the same (exactly representable) values, smp 0.6.0
(values and gradients of the losses), and the float64 NumPy loss reference.
"""

from __future__ import annotations

import numpy as np
import pytest

import anyiou
import anyiou.metrics as M
from tests.support.oracles import (
    np_onehot,
    np_sigmoid,
    np_softmax,
    np_tversky_losses,
    smp_value_and_grad,
)

# -- 2**25 pixels: integer counts stay exact ----------------------------------------------

H, W = 4096, 8192  # one image of 2**25 pixels
P = H * W


def _available_bytes() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    return 2**40


@pytest.fixture(scope="module")
def big_labels():
    """uint8 labels of one 4096 x 8192 image: target class 1 at 5 pixels, prediction
    class 1 at 6 pixels, 2 of them shared. Class 0 then has P - 9 true positives: an odd
    number above 2**24, which float32 cannot hold (it would round to an even number)."""
    if _available_bytes() < 4 * 2**30:
        pytest.skip("needs about 2 GiB of free memory")
    target = np.zeros((1, H, W), np.uint8)
    preds = np.zeros((1, H, W), np.uint8)
    target[0, 0, :5] = 1
    preds[0, 0, 3:9] = 1
    assert P - 9 > 2**24 and float(np.float32(P - 9)) != P - 9
    return preds, target


@pytest.mark.only_backends("numpy", "torch")
def test_counts_of_2_25_pixels_are_exact(backend, big_labels):
    preds, target = big_labels
    p, t = backend.asarray(preds), backend.asarray(target)
    cm = backend.to_numpy(M.confusion_matrix(p, t, 2))
    assert cm.tolist() == [[P - 9, 4], [3, 2]]
    tp, fp, fn, tn = (backend.to_numpy(x).tolist() for x in M.get_stats(p, t, "multiclass",
                                                                      num_classes=2))
    assert (tp, fp, fn, tn) == ([[P - 9, 2]], [[3, 4]], [[4, 3]], [[2, P - 9]])
    binary = [backend.to_numpy(x).tolist() for x in M.get_stats(p[:, None], t[:, None], "binary")]
    assert binary == [[[2]], [[4]], [[3]], [[P - 9]]]
    metric = M.MeanIoU(2).update(p, t).update(p, t)  # 2**26 pixels
    assert backend.to_numpy(metric.confmat).tolist() == [[2 * P - 18, 8], [6, 4]]
    expected = np.array([(P - 9) / (P - 2), 2 / 9])
    got = backend.to_numpy(M.jaccard_index(p, t, 2, average="none"))
    np.testing.assert_allclose(got, expected, rtol=1e-6 if got.dtype == np.float32 else 1e-15)


# -- float16 / bfloat16 metric inputs -------------------------------------------------------

HALF_BACKENDS = {"float16": ("numpy", "torch", "jax", "dask", "cupy", "torch_cuda", "jax_gpu"),
                 "bfloat16": ("torch", "jax", "torch_cuda", "jax_gpu")}


def _half(backend, x: np.ndarray, dtype: str):
    if backend.name not in HALF_BACKENDS[dtype]:
        pytest.skip(f"{backend.name} has no {dtype}")
    if backend.name.startswith("torch"):
        return backend.asarray(x).to(getattr(backend.lib, dtype))
    if backend.name.startswith("jax"):
        import jax.numpy as jnp

        return backend.asarray(x).astype(getattr(jnp, dtype))
    return backend.asarray(x.astype(np.float16))


def _grid_scores(rng, shape):
    """Scores on a grid of multiples of 1/8 in [-2, 2] (exact in float16 and bfloat16),
    distinct along axis 1 so the argmax has no ties."""
    n, c = shape[:2]
    pixels = int(np.prod(shape[2:]))
    grid = np.arange(-16, 17) / 8
    out = np.stack([rng.choice(grid, c, replace=False) for _ in range(n * pixels)])
    return out.reshape(n, pixels, c).transpose(0, 2, 1).reshape(shape).astype(np.float32)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_scores_give_exact_counts(backend, dtype):
    rng = np.random.default_rng(4)
    scores = _grid_scores(rng, (2, 4, 6, 5))
    target = rng.integers(0, 4, (2, 6, 5))
    target[0, 0, :2] = 255
    x = _half(backend, scores, dtype)
    keep = target != 255
    expected = np.bincount(target[keep] * 4 + scores.argmax(1)[keep], minlength=16).reshape(4, 4)
    cm = M.confusion_matrix(x, backend.asarray(target), 4, ignore_index=255)
    np.testing.assert_array_equal(backend.to_numpy(cm), expected)
    tp = np.diag(expected)
    iou = tp / (expected.sum(0) + expected.sum(1) - tp)
    got = M.jaccard_index(x, backend.asarray(target), 4, ignore_index=255, average="none")
    np.testing.assert_allclose(backend.to_numpy(got), iou, rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_probabilities_are_thresholded_exactly(backend, dtype):
    rng = np.random.default_rng(5)
    probs = rng.choice(np.arange(9) / 8, (2, 3, 4, 5)).astype(np.float32)  # 0.5 included
    target = rng.integers(0, 2, (2, 3, 4, 5))
    pos = probs >= 0.5
    t = target == 1
    expected = [(pos & t).sum((2, 3)), (pos & ~t).sum((2, 3)), (~pos & t).sum((2, 3)),
                (~pos & ~t).sum((2, 3))]
    got = M.get_stats(_half(backend, probs, dtype), backend.asarray(target), "multilabel",
                      threshold=0.5)
    for g, want in zip(got, expected, strict=True):
        np.testing.assert_array_equal(backend.to_numpy(g), want)


# -- extreme logits ---------------------------------------------------------------------------

EXTREME_LOSSES = [
    ("DiceLoss", {}),
    ("DiceLoss", {"log_loss": True, "smooth": 1.0}),
    ("TverskyLoss", {"alpha": 0.3, "beta": 0.7, "gamma": 1.5}),
    ("JaccardLoss", {"log_loss": True}),
    ("JaccardLoss", {"ignore_index": 255, "per_image": True}),
]


def _extreme_case(mode, void=None):
    shape = (2, 1, 6, 5) if mode == "binary" else (2, 3, 6, 5)
    rng = np.random.default_rng(8)
    y_pred = (np.sign(rng.normal(size=shape)) * 1e4).astype(np.float32)
    y = rng.integers(0, 3, (2, 6, 5)) if mode == "multiclass" else rng.integers(0, 2, shape)
    if void is not None:
        y = np.where(rng.random(y.shape) < 0.2, void, y)
    return y_pred, y


@pytest.mark.parametrize("mode", ["multiclass", "binary", "multilabel"])
@pytest.mark.parametrize(("loss_name", "opts"), EXTREME_LOSSES,
                         ids=[f"{n}-{'-'.join(o) or 'default'}" for n, o in EXTREME_LOSSES])
def test_extreme_logits_give_finite_loss_and_gradient(backend, loss_name, opts, mode):
    y_pred, y = _extreme_case(mode, opts.get("ignore_index"))
    if opts.get("per_image"):  # smp has no per_image here: the float64 reference
        logits = y_pred.astype(np.float64)
        valid = y != 255
        if mode == "multiclass":
            p, t = np_softmax(logits) * valid[:, None], np_onehot(np.where(valid, y, -1), 3)
        else:
            with np.errstate(over="ignore"):  # exp(1e4) = inf gives sigmoid(-1e4) = 0
                p, t = np_sigmoid(logits) * valid, np.where(valid, y, 0)
        per_class, present = np_tversky_losses(p, t, 1.0, 1.0, per_image=True)
        expected = np.mean(per_class * present)
    else:
        expected, _ = smp_value_and_grad(loss_name, {"mode": mode, **opts}, y_pred, y)
    loss = getattr(anyiou, loss_name)(mode, **opts)
    out = backend.to_numpy(loss(backend.asarray(y_pred), backend.asarray(y)))
    assert np.isfinite(out)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    if backend.has_autodiff:
        t = backend.asarray(y)
        _, grad = backend.value_and_grad(lambda p: loss(p, t), y_pred)
        assert np.all(np.isfinite(grad))


# -- NaN in the prediction --------------------------------------------------------------------

ALL_LOSSES = ["JaccardLoss", "DiceLoss", "TverskyLoss", "LovaszLoss"]


@pytest.mark.parametrize("mode", ["multiclass", "binary", "multilabel"])
@pytest.mark.parametrize("loss_name", ALL_LOSSES)
def test_nan_in_the_prediction_propagates(backend, loss_name, mode):
    """A NaN logit at a counted pixel gives a NaN loss (as in smp), never a silent number."""
    y_pred, y = _extreme_case(mode)
    y_pred = y_pred / 1e4
    y_pred[1, 0, 3, 2] = np.nan
    expected, _ = smp_value_and_grad(loss_name, {"mode": mode}, y_pred, y)
    assert np.isnan(expected)
    out = getattr(anyiou, loss_name)(mode)(backend.asarray(y_pred), backend.asarray(y))
    assert np.isnan(backend.to_numpy(out))


@pytest.mark.parametrize("mode", ["multiclass", "binary", "multilabel"])
@pytest.mark.parametrize("loss_name", ["JaccardLoss", "DiceLoss", "TverskyLoss"])
def test_nan_at_ignored_pixels_is_masked(backend, loss_name, mode):
    """An ignored pixel's prediction is set to 0 before the sums, so a NaN
    logit there does not matter: the loss equals the float64 reference without that pixel."""
    y_pred, y = _extreme_case(mode, void=255)
    y_pred = y_pred / 1e4
    logits = y_pred.astype(np.float64)
    valid = y != 255
    if mode == "multiclass":
        p, t = np_softmax(logits) * valid[:, None], np_onehot(np.where(valid, y, -1), 3)
    else:
        p, t = np_sigmoid(logits) * valid, np.where(valid, y, 0)
    ab = {"JaccardLoss": (1.0, 1.0), "DiceLoss": (0.5, 0.5), "TverskyLoss": (0.5, 0.5)}[loss_name]
    per_class, present = np_tversky_losses(p, t, *ab)
    void = tuple(np.argwhere(~valid)[0])
    if mode == "multiclass":
        y_pred[void[0], :, void[1], void[2]] = np.nan
    else:
        y_pred[void] = np.nan
    loss = getattr(anyiou, loss_name)(mode, ignore_index=255)
    out = backend.to_numpy(loss(backend.asarray(y_pred), backend.asarray(y)))
    np.testing.assert_allclose(out, np.mean(per_class * present), rtol=1e-5)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("mode", ["multiclass", "binary", "multilabel"])
@pytest.mark.parametrize("loss_name", ["JaccardLoss", "DiceLoss", "TverskyLoss"])
def test_non_finite_logits_at_ignored_pixels_leave_the_gradient_alone(
    ad_backend, loss_name, mode, bad
):
    """NaN or inf logits at ignored pixels change neither the value nor the gradient:
    both equal smp's on the same input with 0 there, and the gradient there is 0."""
    rng = np.random.default_rng(11)
    c = 3 if mode != "binary" else 1
    y_pred = rng.normal(0, 2, (2, c, 4, 4))
    if mode == "multiclass":
        y = rng.integers(0, c, (2, 4, 4))
        y[0, 0, :] = 255
        void = np.broadcast_to((y == 255)[:, None], y_pred.shape)
    else:
        y = rng.integers(0, 2, (2, c, 4, 4))
        y[0, :, 0, :] = 255
        void = y == 255
    expected, expected_grad = smp_value_and_grad(
        loss_name, {"mode": mode, "ignore_index": 255}, y_pred, y
    )
    bad_pred = np.where(void, bad, y_pred)
    loss = getattr(anyiou, loss_name)(mode, ignore_index=255)
    t = ad_backend.asarray(y)
    value, grad = ad_backend.value_and_grad(lambda z: loss(z, t), bad_pred)
    np.testing.assert_allclose(value, expected, rtol=1e-6)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-5, atol=1e-9)
    assert np.all(grad[void] == 0)


def test_nan_scores_in_metrics(backend):
    """Metrics count integers, so NaN cannot propagate: a NaN probability is not >= any
    threshold (a negative), and a NaN score wins the argmax (NumPy, torch and JAX agree)."""
    probs = np.array([[[np.nan, 0.7, 0.2, np.nan]]], np.float32)
    target = np.array([[[1, 1, 0, 0]]])
    got = [backend.to_numpy(x).tolist() for x in M.get_stats(
        backend.asarray(probs), backend.asarray(target), "binary", threshold=0.5)]
    assert got == [[[1]], [[0]], [[1]], [[2]]]
    scores = np.array([[[0.1, 0.9], [np.nan, 0.2], [0.3, 0.1]]], np.float32)  # (1, 3, 2)
    cm = M.confusion_matrix(backend.asarray(scores), backend.asarray(np.array([[0, 0]])), 3)
    assert backend.to_numpy(cm).tolist() == [[1, 1, 0], [0, 0, 0], [0, 0, 0]]
