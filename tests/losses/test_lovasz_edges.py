"""LovaszLoss edge cases: non-finite logits at ignored pixels (value and gradient), bool
targets with ignore_index, no classes, no pixels, every pixel ignored.

Oracles: smp 0.6.0 on the same data where smp is defined (finite logits, int64 targets,
not every pixel ignored), otherwise hand-computed values (0 with a zero gradient)."""

from __future__ import annotations

import numpy as np
import pytest

import anyiou
from anyiou import LovaszLoss
from anyiou._lib import kernels
from tests.support.cases import Case
from tests.support.oracles import smp_losses, smp_value_and_grad

# the shapes of tests/losses/test_lovasz.py (JAX reuses its compiled eager ops)
BIN = (2, 1, 6, 5)
ML = (2, 3, 6, 5)
MC = (2, 4, 6, 5)
SHAPES = {"binary": BIN, "multilabel": ML, "multiclass": MC}
MODES = ["binary", "multilabel", "multiclass"]
NON_FINITE = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf}


def _case(mode: str, **options) -> Case:
    kind = "labels" if mode == "multiclass" else "hard"
    return Case("x", mode, SHAPES[mode], kind, options, void=options.get("ignore_index"))


def _void_in_pred(mode: str, y: np.ndarray) -> np.ndarray:
    """The void mask of ``y`` broadcast to y_pred's shape."""
    void = y == 255
    return np.broadcast_to(void[:, None], SHAPES[mode]) if mode == "multiclass" else void


def _check_grad(grad: np.ndarray, expected: np.ndarray) -> None:
    assert np.all(np.isfinite(grad))
    scale = max(np.abs(expected).max(), 1e-3)
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-5 * scale)


# -- 1. NaN / inf logits at ignored pixels: no effect on the value or the gradient --------


@pytest.mark.parametrize("bad", list(NON_FINITE), ids=list(NON_FINITE))
@pytest.mark.parametrize("per_image", [False, True], ids=["batch", "per-image"])
@pytest.mark.parametrize("mode", MODES)
def test_non_finite_logits_at_ignored_pixels_change_nothing(backend, mode, per_image, bad):
    # Oracle: smp on the finite logits (smp drops ignored pixels before anything else, so
    # they cannot matter); its gradient is 0 at the ignored pixels.
    case = _case(mode, ignore_index=255, per_image=per_image)
    y_pred, y = case.make(seed=20)
    expected, expected_grad = smp_value_and_grad("LovaszLoss", case.smp_args, y_pred, y)
    void = _void_in_pred(mode, y)
    assert void.any() and not void.all()
    bad_pred = np.where(void, np.float32(NON_FINITE[bad]), y_pred).astype(np.float32)
    loss = LovaszLoss(**case.smp_args)
    got = backend.to_numpy(loss(backend.asarray(bad_pred), backend.asarray(y)))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    if backend.has_autodiff:
        t = backend.asarray(y)
        value, grad = backend.value_and_grad(lambda p: loss(p, t), bad_pred)
        np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-6)
        _check_grad(grad, expected_grad)
        assert np.all(grad[void] == 0.0)


@pytest.mark.parametrize("mode", ["binary", "multiclass"])
def test_non_finite_logits_at_ignored_pixels_on_the_pure_standard_path(
    backend, mode, monkeypatch
):
    """The same through the `_standard` kernels (softmax, take-based sort) on every backend."""
    monkeypatch.setattr(kernels, "USE_NATIVE", False)
    case = _case(mode, ignore_index=255)
    y_pred, y = case.make(seed=21)
    expected, expected_grad = smp_value_and_grad("LovaszLoss", case.smp_args, y_pred, y)
    void = _void_in_pred(mode, y)
    bad_pred = np.where(void, np.float32(np.nan), y_pred).astype(np.float32)
    bad_pred[..., 0, 0] = np.where(void[..., 0, 0], np.inf, bad_pred[..., 0, 0])
    loss = LovaszLoss(**case.smp_args)
    got = backend.to_numpy(loss(backend.asarray(bad_pred), backend.asarray(y)))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    if backend.has_autodiff:
        t = backend.asarray(y)
        _, grad = backend.value_and_grad(lambda p: loss(p, t), bad_pred)
        _check_grad(grad, expected_grad)


@pytest.mark.only_backends("jax", "jax_gpu")
@pytest.mark.parametrize("mode", MODES)
def test_non_finite_logits_at_ignored_pixels_under_jit(backend, mode):
    import jax

    case = _case(mode, ignore_index=255, per_image=True)
    y_pred, y = case.make(seed=22)
    expected, expected_grad = smp_value_and_grad("LovaszLoss", case.smp_args, y_pred, y)
    bad_pred = np.where(_void_in_pred(mode, y), np.float32(np.nan), y_pred).astype(np.float32)
    loss = LovaszLoss(**case.smp_args)
    value, grad = jax.jit(jax.value_and_grad(loss))(
        backend.asarray(bad_pred), backend.asarray(y)
    )
    np.testing.assert_allclose(np.asarray(value), expected, rtol=1e-6, atol=1e-6)
    _check_grad(np.asarray(grad), expected_grad)


@pytest.mark.parametrize("per_image", [False, True], ids=["batch", "per-image"])
@pytest.mark.parametrize("mode", MODES)
def test_nan_at_a_counted_pixel_propagates(backend, mode, per_image):
    # Oracle: smp gives NaN too. With per_image, the NaN sample makes the mean NaN.
    case = _case(mode, ignore_index=255, per_image=per_image)
    y_pred, y = case.make(seed=23)
    counted = np.argwhere(~_void_in_pred(mode, y))[0]
    y_pred[tuple(counted)] = np.nan
    expected, _ = smp_value_and_grad("LovaszLoss", case.smp_args, y_pred, y)
    assert np.isnan(expected)
    got = LovaszLoss(**case.smp_args)(backend.asarray(y_pred), backend.asarray(y))
    assert np.isnan(backend.to_numpy(got))


# -- 2. bool targets with ignore_index: the int64 target with the same values ---------------


@pytest.mark.parametrize("ignore_index", [0, 1, 255, -1])
@pytest.mark.parametrize("per_image", [False, True], ids=["batch", "per-image"])
@pytest.mark.parametrize("mode", ["binary", "multilabel"])
def test_bool_targets_with_ignore_index_equal_smp_on_int64(backend, mode, per_image,
                                                           ignore_index):
    # smp fails on bool targets (`1 - bool_tensor`), so the oracle gets them as int64:
    # ignore_index=1 ignores the True pixels, 0 the False ones, 255 and -1 nothing.
    args = {"mode": mode, "per_image": per_image, "ignore_index": ignore_index}
    y_pred, y = _case(mode).make(seed=24)
    expected, expected_grad = smp_value_and_grad("LovaszLoss", args, y_pred, y)
    loss = LovaszLoss(**args)
    y_bool = y.astype(bool)
    got = backend.to_numpy(loss(backend.asarray(y_pred), backend.asarray(y_bool)))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    if backend.has_autodiff:
        t = backend.asarray(y_bool)
        _, grad = backend.value_and_grad(lambda p: loss(p, t), y_pred)
        _check_grad(grad, expected_grad)


@pytest.mark.parametrize("ignore_index", [0, 1, 255])
@pytest.mark.parametrize("mode", ["binary", "multilabel"])
@pytest.mark.parametrize("loss_name", ["JaccardLoss", "DiceLoss", "TverskyLoss"])
def test_overlap_losses_read_bool_targets_with_ignore_index_alike(backend, loss_name, mode,
                                                                  ignore_index):
    """The overlap losses read bool targets with ignore_index the same way (every backend,
    array-api-strict included, which does not compare bool arrays with ints)."""
    args = {"mode": mode, "ignore_index": ignore_index}
    y_pred, y = _case(mode).make(seed=25)
    expected, _ = smp_value_and_grad(loss_name, args, y_pred, y)
    loss = getattr(anyiou, loss_name)(**args)
    got = loss(backend.asarray(y_pred), backend.asarray(y.astype(bool)))
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", ["binary", "multiclass"])
def test_ignore_index_outside_the_target_dtype_matches_nothing(backend, mode):
    # uint8 targets never equal -1: the same as smp on the int64 target without ignore_index
    case = _case(mode)
    y_pred, y = case.make(seed=28)
    expected, _ = smp_value_and_grad("LovaszLoss", {"mode": mode}, y_pred, y)
    loss = LovaszLoss(mode, ignore_index=-1)
    got = loss(backend.asarray(y_pred), backend.asarray(y.astype(np.uint8)))
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-6, atol=1e-6)


# -- 3. no classes, no pixels ------------------------------------------------------------------


@pytest.mark.parametrize("per_image", [False, True], ids=["batch", "per-image"])
@pytest.mark.parametrize(("pred_shape", "true_shape", "class_axis"), [
    ((2, 0, 6, 5), (2, 6, 5), 1),
    ((2, 6, 5, 0), (2, 6, 5), -1),
    ((2, 0, 6, 5), (2, 1, 6, 5), 1),
], ids=["NCHW", "NHWC", "target-with-channel"])
def test_multiclass_without_classes_names_y_pred(backend, per_image, pred_shape, true_shape,
                                                 class_axis):
    loss = LovaszLoss("multiclass", per_image=per_image, class_axis=class_axis)
    p = backend.asarray(np.zeros(pred_shape, np.float32))
    t = backend.asarray(np.zeros(true_shape, np.int64))
    with pytest.raises(ValueError, match="y_pred"):
        loss(p, t)


NO_PIXELS = [
    ("binary", (0, 1, 6, 5), (0, 6, 5)),  # empty batch
    ("multiclass", (0, 4, 6, 5), (0, 6, 5)),
    ("binary", (2, 1, 0), (2, 1, 0)),
    ("binary", (2, 0), (2, 0)),
    ("binary", (2, 1, 3, 0), (2, 3, 0)),
    ("multilabel", (2, 3, 0), (2, 3, 0)),
    ("multiclass", (2, 3, 0), (2, 0)),
    ("multiclass", (2, 3, 4, 0), (2, 4, 0)),
]


@pytest.mark.parametrize("ignore_index", [None, 255])
@pytest.mark.parametrize("per_image", [False, True], ids=["batch", "per-image"])
@pytest.mark.parametrize(("mode", "pred_shape", "true_shape"), NO_PIXELS,
                         ids=[f"{m}-{'x'.join(map(str, s))}" for m, s, _ in NO_PIXELS])
def test_no_pixels_gives_zero_loss_and_zero_gradient(backend, mode, pred_shape, true_shape,
                                                     per_image, ignore_index):
    # Oracle: smp's hinge returns 0 for an empty pixel axis (and batch); its multiclass
    # returns an empty tensor, where the answer is 0 (no class present: the mean over none
    # is 0). The gradient has no elements: autodiff must run and keep y_pred's shape.
    args = {"mode": mode, "per_image": per_image, "ignore_index": ignore_index}
    y_pred = np.zeros(pred_shape, np.float32)
    y = np.zeros(true_shape, np.int64)
    if mode != "multiclass" and pred_shape[0] > 0:  # smp's per_image fails on N = 0
        assert smp_value_and_grad("LovaszLoss", args, y_pred, y)[0] == 0.0
    loss = LovaszLoss(**args)
    out = loss(backend.asarray(y_pred), backend.asarray(y))
    got = backend.to_numpy(out)
    assert got.shape == () and got.dtype == np.float32 and got == 0.0
    if backend.has_autodiff:
        t = backend.asarray(y)
        value, grad = backend.value_and_grad(lambda p: loss(p, t), y_pred)
        assert value == 0.0 and grad.shape == pred_shape


# -- 4. every pixel ignored -------------------------------------------------------------------


ALL_IGNORED = {
    # id: (mode, target, ignore_index); each target holds only ignore_index
    "bin-int64-255": ("binary", np.full(BIN, 255, np.int64), 255),
    "bin-uint8-255": ("binary", np.full(BIN, 255, np.uint8), 255),
    "bin-bool-true": ("binary", np.ones(BIN, bool), 1),
    "bin-bool-false": ("binary", np.zeros(BIN, bool), 0),
    "bin-float-255": ("binary", np.full(BIN, 255, np.float32), 255),
    "ml-int64-minus1": ("multilabel", np.full(ML, -1, np.int64), -1),
    "ml-bool-true": ("multilabel", np.ones(ML, bool), 1),
    "mc-int64-255": ("multiclass", np.full((2, 6, 5), 255, np.int64), 255),
    "mc-uint8-255": ("multiclass", np.full((2, 6, 5), 255, np.uint8), 255),
    "mc-class-id": ("multiclass", np.full((2, 6, 5), 1, np.int64), 1),
    "mc-int32-minus100": ("multiclass", np.full((2, 1, 6, 5), -100, np.int32), -100),
}


@pytest.mark.parametrize("logits", ["finite", "nan"])
@pytest.mark.parametrize("per_image", [False, True], ids=["batch", "per-image"])
@pytest.mark.parametrize("name", list(ALL_IGNORED))
def test_every_pixel_ignored_gives_zero_loss_and_zero_gradient(backend, name, per_image,
                                                               logits):
    # Hand-computed: no pixel takes part, so the loss is 0 and nothing depends on y_pred;
    # also with NaN logits everywhere (they are all at ignored pixels). smp's hinge gives
    # 0 too (checked on the finite int64 cases); its multiclass returns an empty tensor.
    mode, y, ignore_index = ALL_IGNORED[name]
    args = {"mode": mode, "per_image": per_image, "ignore_index": ignore_index}
    y_pred = np.random.default_rng(26).normal(size=SHAPES[mode]).astype(np.float32)
    if logits == "nan":
        y_pred[:] = np.nan
    elif mode != "multiclass" and y.dtype == np.int64:
        assert smp_value_and_grad("LovaszLoss", args, y_pred, y)[0] == 0.0
    loss = LovaszLoss(**args)
    got = backend.to_numpy(loss(backend.asarray(y_pred), backend.asarray(y)))
    assert got.shape == () and got == 0.0
    if backend.has_autodiff:
        t = backend.asarray(y)
        value, grad = backend.value_and_grad(lambda p: loss(p, t), y_pred)
        assert value == 0.0 and np.all(grad == 0.0)


def test_smp_multiclass_with_every_pixel_ignored_is_an_empty_tensor():
    """Documents the smp result the test above replaces (per_image False and True)."""
    import torch

    for per_image in (False, True):
        loss = smp_losses().LovaszLoss("multiclass", per_image=per_image, ignore_index=1)
        assert loss(torch.randn(MC), torch.ones((2, 6, 5), dtype=torch.int64)).numel() == 0


# -- 5. parity with smp where smp is defined, after the changes above ----------------------


PARITY = [
    _case("binary", ignore_index=255),
    _case("binary", ignore_index=255, per_image=True),
    _case("multilabel", ignore_index=255),
    _case("multilabel", ignore_index=255, per_image=True),
    _case("multiclass", ignore_index=255),
    _case("multiclass", ignore_index=255, per_image=True),
    Case("mc-uint8", "multiclass", MC, "labels", {"ignore_index": 255}, void=255,
         target_dtype="uint8"),
    Case("bin-soft", "binary", BIN, "soft", {"ignore_index": 255}, void=255),
]


@pytest.mark.parametrize("case", PARITY, ids=lambda c: f"{c.mode}-{c.target_dtype}-{c.options}")
def test_finite_inputs_with_ignored_pixels_match_smp(backend, case):
    y_pred, y = case.make(seed=27)
    expected, expected_grad = smp_value_and_grad("LovaszLoss", case.smp_args, y_pred, y)
    loss = LovaszLoss(**case.smp_args)
    got = backend.to_numpy(loss(backend.asarray(y_pred), backend.asarray(y)))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    if backend.has_autodiff:
        t = backend.asarray(y)
        _, grad = backend.value_and_grad(lambda p: loss(p, t), y_pred)
        _check_grad(grad, expected_grad)
