"""LovaszLoss against smp 0.6.0 (values, gradients), hand-computed values, the cases where
smp is broken (float64, all pixels ignored, 1-D multiclass), jit, dispatch fallback."""

from __future__ import annotations

import numpy as np
import pytest

import anyiou
from anyiou import LovaszLoss
from anyiou._lib import kernels
from tests.support.cases import Case
from tests.support.oracles import smp_losses, smp_value_and_grad

# Shapes share their flattened sizes (30 pixels per sample, 60 per batch) so that JAX's
# per-shape compilation of eager ops is reused across cases (keeps the JAX run short).
BIN = (2, 1, 6, 5)
ML = (2, 3, 6, 5)
MC = (2, 4, 6, 5)

CASES = [
    Case("bin-N1HW", "binary", BIN, target_shape=(2, 6, 5)),
    Case("bin-NHW", "binary", (2, 6, 5)),
    Case("bin-same-shape", "binary", BIN),
    Case("bin-per-image", "binary", BIN, options={"per_image": True}),
    Case("bin-soft", "binary", BIN, "soft"),
    Case("bin-ignore-255", "binary", BIN, options={"ignore_index": 255}, void=255),
    Case("bin-ignore-minus1-per-image", "binary", BIN,
         options={"ignore_index": -1, "per_image": True}, void=-1),
    Case("bin-ignore-in-range", "binary", BIN, options={"ignore_index": 1}),
    Case("bin-1d", "binary", (2, 1, 30)),
    Case("bin-3d", "binary", (2, 1, 2, 3, 5)),
    Case("bin-N1", "binary", (1, 1, 6, 10), options={"per_image": True}),
    Case("ml-default", "multilabel", ML),
    Case("ml-per-image", "multilabel", ML, options={"per_image": True}),
    Case("ml-ignore-255", "multilabel", ML, options={"ignore_index": 255}, void=255),
    Case("ml-3d-per-image", "multilabel", (2, 3, 2, 3, 5), options={"per_image": True}),
    Case("mc-default", "multiclass", MC, "labels"),
    Case("mc-per-image", "multiclass", MC, "labels", {"per_image": True}),
    Case("mc-target-with-channel", "multiclass", MC, "labels", target_shape=(2, 1, 6, 5)),
    Case("mc-int32-labels", "multiclass", MC, "labels", target_dtype="int32"),
    Case("mc-uint8-ignore-255", "multiclass", MC, "labels", {"ignore_index": 255}, void=255,
         target_dtype="uint8"),
    Case("mc-ignore-255-per-image", "multiclass", MC, "labels",
         {"ignore_index": 255, "per_image": True}, void=255),
    Case("mc-ignore-minus1", "multiclass", MC, "labels", {"ignore_index": -1}, void=-1),
    Case("mc-ignore-in-range", "multiclass", MC, "labels", {"ignore_index": 1}),
    Case("mc-absent-class", "multiclass", MC, "labels", absent=2),
    Case("mc-absent-class-per-image", "multiclass", MC, "labels", {"per_image": True}, absent=0),
    Case("mc-3d", "multiclass", (2, 4, 2, 3, 5), "labels"),
    Case("mc-N1-per-image", "multiclass", (1, 4, 6, 10), "labels", {"per_image": True}),
]
IDS = [c.id for c in CASES]
BY_ID = {c.id: c for c in CASES}


def _cases(*ids: str) -> list[Case]:
    return [BY_ID[i] for i in ids]


# one per mode, each with ignored pixels; two with per_image
IGNORE_TRIO = _cases("bin-ignore-minus1-per-image", "ml-ignore-255", "mc-ignore-255-per-image")


def _smp(case: Case, y_pred, y_true):
    return smp_value_and_grad("LovaszLoss", case.smp_args, y_pred, y_true)


# -- parity with smp -------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_value_matches_smp(backend, case: Case):
    y_pred, y_true = case.make()
    expected, _ = _smp(case, y_pred, y_true)
    out = LovaszLoss(**case.smp_args)(backend.asarray(y_pred), backend.asarray(y_true))
    assert out.shape == ()
    got = backend.to_numpy(out)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradient_matches_smp(ad_backend, case: Case):
    y_pred, y_true = case.make(seed=1)
    expected_value, expected_grad = _smp(case, y_pred, y_true)
    loss = LovaszLoss(**case.smp_args)
    t = ad_backend.asarray(y_true)
    value, grad = ad_backend.value_and_grad(lambda p: loss(p, t), y_pred)
    np.testing.assert_allclose(value, expected_value, rtol=1e-6, atol=1e-6)
    scale = max(np.abs(expected_grad).max(), 1e-3)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-4, atol=1e-5 * scale)
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("case", _cases("bin-ignore-255", "ml-ignore-255", "mc-uint8-ignore-255",
                "mc-ignore-255-per-image"), ids=lambda c: c.id)
def test_pure_standard_gather_matches_smp(backend, case: Case, monkeypatch):
    """The xp.take fallback of sort_along_last (used on Dask) gives smp's value."""
    monkeypatch.setattr(kernels, "USE_NATIVE", False)
    y_pred, y_true = case.make(seed=2)
    expected, expected_grad = _smp(case, y_pred, y_true)
    loss = LovaszLoss(**case.smp_args)
    out = loss(backend.asarray(y_pred), backend.asarray(y_true))
    np.testing.assert_allclose(backend.to_numpy(out), expected, rtol=1e-6, atol=1e-6)
    if backend.has_autodiff:
        t = backend.asarray(y_true)
        _, grad = backend.value_and_grad(lambda p: loss(p, t), y_pred)
        scale = max(np.abs(expected_grad).max(), 1e-3)
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.parametrize("native", [True, False], ids=["native", "fallback"])
def test_sort_along_last_matches_numpy_sort(backend, native, monkeypatch):
    monkeypatch.setattr(kernels, "USE_NATIVE", native)
    rng = np.random.default_rng(3)
    key = rng.permutation(2 * 3 * 7).reshape(2, 3, 7).astype(np.float64)  # no ties
    other = rng.normal(size=key.shape)
    order = np.argsort(-key, axis=-1)
    xp = backend.xp
    k_sorted, o_sorted = kernels.sort_along_last(
        xp, backend.asarray(key), backend.asarray(key), backend.asarray(other)
    )
    np.testing.assert_array_equal(backend.to_numpy(k_sorted), -np.sort(-key, axis=-1))
    np.testing.assert_array_equal(backend.to_numpy(o_sorted), np.take_along_axis(other, order, -1))


@pytest.mark.parametrize("mode", ["multiclass", "multilabel", "binary"])
def test_channels_last_equals_smp_on_channels_first(backend, mode):
    shape = {"multiclass": MC, "multilabel": ML, "binary": BIN}[mode]
    case = Case("x", mode, shape, "labels" if mode == "multiclass" else "hard")
    y_pred, y = case.make(seed=11)
    expected, _ = _smp(case, y_pred, y)
    last_pred = np.moveaxis(y_pred, 1, -1)
    last_true = y if mode == "multiclass" else np.moveaxis(y, 1, -1)
    loss = LovaszLoss(mode, class_axis=-1)
    got = backend.to_numpy(loss(backend.asarray(last_pred), backend.asarray(last_true)))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", ["multiclass", "binary"])
def test_from_logits_false_is_ignored_like_smp(backend, mode):
    """smp 0.6.0 ignores from_logits in LovaszLoss (documented); so do we."""
    multiclass = mode == "multiclass"
    case = Case("x", mode, MC if multiclass else BIN, "labels" if multiclass else "hard")
    y_pred, y = case.make(seed=12)
    expected, _ = smp_value_and_grad("LovaszLoss", {"mode": mode, "from_logits": False}, y_pred, y)
    got = LovaszLoss(mode, from_logits=False)(backend.asarray(y_pred), backend.asarray(y))
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-6, atol=1e-6)


def test_bool_targets_equal_smp_with_int_targets(backend):
    # smp itself fails on bool targets (`1 - bool_tensor`), so compare with 0/1 ints.
    y_pred, y = Case("x", "multilabel", ML).make(seed=13)
    expected, _ = smp_value_and_grad("LovaszLoss", {"mode": "multilabel"}, y_pred, y)
    got = LovaszLoss("multilabel")(backend.asarray(y_pred), backend.asarray(y.astype(bool)))
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-6, atol=1e-6)


# -- hand-computed values ----------------------------------------------------------------


def test_hand_computed_binary_hinge(backend):
    # logits z = (2, -0.5, 0.5, 9), targets g = (1, 0, 0, void=255).
    # Hinge errors 1 - z(2g - 1) = (-1, 0.5, 1.5); sorted decreasingly (1.5, 0.5, -1) with
    # targets (0, 0, 1); G = 1: I_k = (1, 1, 0), U_k = (2, 3, 3), J_k = 1 - I/U = (1/2, 2/3, 1),
    # weights J_k - J_{k-1} = (1/2, 1/6, 1/3). loss = 1.5/2 + 0.5/6 + relu(-1)/3 = 5/6.
    # d loss / d z = weight * d e / d z for active errors: z1 -> 1/6, z2 -> 1/2, z0 (relu
    # inactive) -> 0, the void pixel -> 0.
    z = np.array([[2.0, -0.5, 0.5, 9.0]])
    g = np.array([[1, 0, 0, 255]])
    loss = LovaszLoss("binary", ignore_index=255)
    out = backend.to_numpy(loss(backend.asarray(z), backend.asarray(g)))
    np.testing.assert_allclose(out, 5 / 6, rtol=1e-12)
    if backend.has_autodiff:
        t = backend.asarray(g)
        _, grad = backend.value_and_grad(lambda p: loss(p, t), z)
        np.testing.assert_allclose(grad, [[0.0, 1 / 6, 1 / 2, 0.0]], atol=1e-12)


def test_hand_computed_multiclass_softmax(backend):
    # Zero logits: p = 1/3 everywhere. Labels (0, 1, 2, void). For class c, the pixel of
    # class c has error 2/3, the two others 1/3; sorted (2/3, 1/3, 1/3) with targets
    # (1, 0, 0), G = 1: J = (1, 1, 1), weights (1, 0, 0), so each class loses 2/3;
    # present classes 0, 1, 2 -> mean 2/3. The void pixel takes no part.
    logits = np.zeros((1, 3, 2, 2))
    labels = np.array([[[0, 1], [2, 255]]])
    loss = LovaszLoss("multiclass", ignore_index=255)
    out = loss(backend.asarray(logits), backend.asarray(labels))
    np.testing.assert_allclose(backend.to_numpy(out), 2 / 3, rtol=1e-12)


# -- where smp is broken: we return the correct value -------------------------------------


@pytest.mark.parametrize("case", IGNORE_TRIO[1:], ids=lambda c: c.id)
def test_float64_works_where_smp_raises(backend, case: Case):
    import torch

    y_pred, y_true = case.make(seed=5)
    with pytest.raises(RuntimeError, match="same dtype"):  # smp 0.6.0: dot(float64, float32)
        smp_losses().LovaszLoss(**case.smp_args)(
            torch.from_numpy(y_pred.astype(np.float64)), torch.from_numpy(y_true).long()
        )
    expected, _ = _smp(case, y_pred, y_true)  # smp in float32
    out = LovaszLoss(**case.smp_args)(backend.asarray(y_pred, np.float64), backend.asarray(y_true))
    got = backend.to_numpy(out)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("per_image", [False, True], ids=["batch", "per-image"])
@pytest.mark.parametrize("mode", ["multiclass", "binary", "multilabel"])
def test_all_pixels_ignored_gives_zero_loss_and_gradient(backend, mode, per_image):
    shape = {"multiclass": MC, "multilabel": ML, "binary": BIN}[mode]
    y_pred = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    y = np.full(shape if mode != "multiclass" else (2, 6, 5), 255, dtype=np.int64)
    loss = LovaszLoss(mode, per_image=per_image, ignore_index=255)
    out = backend.to_numpy(loss(backend.asarray(y_pred), backend.asarray(y)))
    assert out.shape == () and out == 0.0
    if backend.has_autodiff:
        t = backend.asarray(y)
        value, grad = backend.value_and_grad(lambda p: loss(p, t), y_pred)
        assert value == 0.0 and np.all(grad == 0.0)


def test_smp_returns_an_empty_tensor_when_all_pixels_are_ignored():
    """Documents the smp bug the test above fixes (multiclass only; its hinge gives 0)."""
    import torch

    y_pred = torch.randn(MC)
    y = torch.full((2, 6, 5), 255)
    for per_image in (False, True):
        smp_loss = smp_losses().LovaszLoss("multiclass", per_image=per_image, ignore_index=255)
        out = smp_loss(y_pred, y)
        assert out.numel() == 0


@pytest.mark.parametrize("mode", ["multiclass", "binary"])
def test_per_image_fully_ignored_sample_counts_as_zero(backend, mode):
    # Oracle: smp on the usable sample alone; the fully ignored one adds 0 to the mean of 2
    # (smp's per_image hinge does this itself; its multiclass returns an empty tensor).
    case = Case("x", mode, MC if mode == "multiclass" else BIN,
                "labels" if mode == "multiclass" else "hard", void=255)
    y_pred, y = case.make(seed=6)
    y[1] = 255
    args = {"mode": mode, "ignore_index": 255}
    expected = smp_value_and_grad("LovaszLoss", args, y_pred[:1], y[:1])[0] / 2
    loss = LovaszLoss(mode, per_image=True, ignore_index=255)
    got = backend.to_numpy(loss(backend.asarray(y_pred), backend.asarray(y)))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    if mode == "binary":  # smp's own per_image hinge agrees
        smp_value = smp_value_and_grad("LovaszLoss", {**args, "per_image": True}, y_pred, y)[0]
        np.testing.assert_allclose(got, smp_value, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("per_image", [False, True], ids=["batch", "per-image"])
def test_multiclass_1d_signals_equal_smp_on_a_width_one_image(backend, per_image):
    """smp reads (N, C, L) multiclass input as sigmoid output and raises; we treat it as
    1-D signals, whose loss equals smp's on the same data shaped (N, C, L, 1)."""
    import torch

    y_pred, y = Case("x", "multiclass", (2, 4, 30), "labels").make(seed=7)
    with pytest.raises(ValueError, match="Sigmoid"):
        smp_losses().LovaszLoss("multiclass")(torch.from_numpy(y_pred), torch.from_numpy(y))
    args = {"mode": "multiclass", "per_image": per_image}
    expected, _ = smp_value_and_grad("LovaszLoss", args, y_pred[..., None], y[..., None])
    got = LovaszLoss(**args)(backend.asarray(y_pred), backend.asarray(y))
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-6, atol=1e-6)


# -- transforms, extremes, laziness ----------------------------------------------------------


@pytest.mark.only_backends("torch")
@pytest.mark.parametrize("case", IGNORE_TRIO, ids=lambda c: c.id)
def test_torch_gradcheck_float64(backend, case: Case):
    torch = backend.lib
    y_pred, y = case.make(seed=3, dtype=np.float64)
    loss = LovaszLoss(**case.smp_args)
    x = torch.from_numpy(y_pred).requires_grad_(True)
    t = torch.from_numpy(y)
    assert torch.autograd.gradcheck(lambda p: loss(p, t), (x,), eps=1e-6, atol=1e-6)


@pytest.mark.only_backends("jax", "jax_gpu")
@pytest.mark.parametrize("case", IGNORE_TRIO, ids=lambda c: c.id)
def test_jax_jit_equals_eager_and_smp(backend, case: Case):
    import jax

    y_pred, y_true = case.make(seed=8)
    expected, expected_grad = _smp(case, y_pred, y_true)
    loss = LovaszLoss(**case.smp_args)
    p, t = backend.asarray(y_pred), backend.asarray(y_true)
    eager = loss(p, t)
    value, grad = jax.jit(jax.value_and_grad(loss))(p, t)
    np.testing.assert_allclose(np.asarray(value), np.asarray(eager), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(value), expected, rtol=1e-6, atol=1e-6)
    scale = max(np.abs(expected_grad).max(), 1e-3)
    np.testing.assert_allclose(np.asarray(grad), expected_grad, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.only_backends("jax", "jax_gpu")
def test_jax_vmap_over_problems(backend):
    import jax

    rng = np.random.default_rng(14)
    preds = rng.normal(size=(3,) + MC).astype(np.float32)
    labels = rng.integers(0, MC[1], (3, 2, 6, 5))
    args = {"mode": "multiclass", "per_image": True}
    expected = [smp_value_and_grad("LovaszLoss", args, preds[i], labels[i])[0] for i in range(3)]
    got = jax.jit(jax.vmap(LovaszLoss(**args)))(backend.asarray(preds), backend.asarray(labels))
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", ["multiclass", "binary", "multilabel"])
def test_extreme_logits_are_finite(backend, mode):
    shape = {"multiclass": MC, "multilabel": ML, "binary": BIN}[mode]
    rng = np.random.default_rng(0)
    y_pred = (np.sign(rng.normal(size=shape)) * 1e4).astype(np.float32)
    y = rng.integers(0, shape[1], (2, 6, 5)) if mode == "multiclass" else rng.integers(0, 2, shape)
    expected, _ = smp_value_and_grad("LovaszLoss", {"mode": mode}, y_pred, y)
    loss = LovaszLoss(mode)
    out = backend.to_numpy(loss(backend.asarray(y_pred), backend.asarray(y)))
    assert np.isfinite(out)
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    if backend.has_autodiff:
        t = backend.asarray(y)
        _, grad = backend.value_and_grad(lambda p: loss(p, t), y_pred)
        assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("mode", ["multiclass", "binary"])
def test_nan_prediction_propagates(backend, mode):
    multiclass = mode == "multiclass"
    case = Case("x", mode, MC if multiclass else BIN, "labels" if multiclass else "hard")
    y_pred, y = case.make()
    y_pred[0, 0, 2, 2] = np.nan
    assert np.isnan(_smp(case, y_pred, y)[0])  # smp: NaN as well
    out = backend.to_numpy(LovaszLoss(mode)(backend.asarray(y_pred), backend.asarray(y)))
    assert np.isnan(out)


@pytest.mark.only_backends("dask")
def test_dask_result_stays_lazy(backend):
    case = BY_ID["mc-ignore-255-per-image"]
    y_pred, y = case.make()
    out = LovaszLoss(**case.smp_args)(backend.asarray(y_pred), backend.asarray(y))
    assert type(out).__module__.startswith("dask")


@pytest.mark.only_backends("torch", "jax")
def test_float16_is_computed_in_float32(backend):
    y_pred, y = BY_ID["mc-default"].make(seed=9)
    half = y_pred.astype(np.float16)
    expected, _ = _smp(BY_ID["mc-default"], half.astype(np.float32), y)
    out = LovaszLoss("multiclass")(backend.asarray(half), backend.asarray(y))
    assert str(out.dtype).endswith("float32")
    np.testing.assert_allclose(backend.to_numpy(out), expected, rtol=1e-6, atol=1e-6)


# -- bad input ------------------------------------------------------------------------------


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="mode"):
        LovaszLoss("multi")
    with pytest.raises(TypeError, match="ignore_index"):
        LovaszLoss("binary", ignore_index=0.5)
    with pytest.raises(TypeError, match="class_axis"):
        LovaszLoss("binary", class_axis="last")
    assert anyiou.losses.LovaszLoss is LovaszLoss


def test_bad_inputs_raise(backend):
    p = backend.asarray(np.zeros(MC, np.float32))
    with pytest.raises(TypeError, match="y_true"):
        LovaszLoss("multiclass")(p, backend.asarray(np.zeros((2, 6, 5), np.float32)))
    with pytest.raises(ValueError, match="y_true"):
        LovaszLoss("multiclass")(p, backend.asarray(np.zeros((2, 5, 6), np.int64)))
    with pytest.raises(ValueError, match="y_true"):
        LovaszLoss("binary")(backend.asarray(np.zeros(BIN, np.float32)),
                             backend.asarray(np.zeros((2, 1, 5, 5), np.int64)))
    with pytest.raises(TypeError, match="y_pred"):
        LovaszLoss("binary")(backend.asarray(np.zeros(BIN, np.int64)),
                             backend.asarray(np.zeros(BIN, np.int64)))


def test_bad_label_values_raise_on_eager_backends(backend):
    if not backend.checks_values:
        pytest.skip("value checks run only on eager CPU arrays")
    p = backend.asarray(np.zeros(MC, np.float32))
    bad = np.zeros((2, 6, 5), np.int64)
    bad[0, 0, 0] = 4
    with pytest.raises(ValueError, match="outside"):
        LovaszLoss("multiclass")(p, backend.asarray(bad))
    with pytest.raises(ValueError, match="y_true"):
        LovaszLoss("binary")(backend.asarray(np.zeros(BIN, np.float32)),
                             backend.asarray(np.full(BIN, 2, np.int64)))


@pytest.mark.parametrize("mode", ["multiclass", "binary"])
def test_non_finite_logits_at_ignored_pixels_do_not_leak(backend, mode):
    # smp drops ignored pixels before anything is computed, so their logits cannot matter.
    case = Case("x", mode, MC if mode == "multiclass" else BIN,
                "labels" if mode == "multiclass" else "hard", {"ignore_index": 255}, void=255)
    y_pred, y = case.make(seed=10)
    void = y == 255
    expected, _ = _smp(case, y_pred, y)
    y_pred = np.where(void[:, None] if mode == "multiclass" else void, np.nan, y_pred)
    y_pred = y_pred.astype(np.float32)
    loss = LovaszLoss(**case.smp_args)
    got = backend.to_numpy(loss(backend.asarray(y_pred), backend.asarray(y)))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
