"""The numerics contract of the overlap losses (Jaccard, Dice, Tversky).

Per class, summed over batch and space, ``I = (Σp + Σt - Σ|p - t|) / 2``, ``FP = Σp - I``,
``FN = Σt - I`` for every input, value and gradient, whatever the target's dtype:
predictions outside [0, 1] with ``from_logits=False``, probabilities exactly 0 or 1,
saturated logits. Then the safe focal power (``gamma < 1``), ``eps = 0``, and 0-d arrays
(not NumPy scalars) as results.

Oracles: smp 0.6.0 (values and gradients), float64 NumPy references of the formulas
written here, central finite differences of those references, hand-computed values.
"""

from __future__ import annotations

import numpy as np
import pytest

import anyiou
from anyiou._lib import kernels
from anyiou.losses import soft_dice_score, soft_jaccard_score, soft_tversky_score
from tests.support.oracles import np_onehot, np_softmax, smp_value_and_grad

LOSSES = {
    "JaccardLoss": {},
    "DiceLoss": {},
    "TverskyLoss": {"alpha": 0.3, "beta": 0.7},
}


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _grad_tol(expected: np.ndarray, dtype=np.float32) -> dict:
    scale = max(float(np.abs(expected).max()), 1e-3)
    return {"rtol": 1e-5, "atol": (1e-6 if dtype == np.float32 else 1e-12) * scale}


# -- 1. smp's L1 statistics for any probabilities, whatever the target dtype -------------

TANH = np.tanh(np.array([1.0, -1.0], np.float32)).reshape(1, 1, 2)


def _scaled_softmax(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Multiclass 'probabilities' ``5 * softmax(x)`` (outside [0, 1]) and labels."""
    rng = _rng(seed)
    x = rng.normal(size=(2, 3, 4, 4))
    return (5 * np_softmax(x)).astype(np.float32), rng.integers(0, 3, (2, 4, 4))


REPORTED = [
    ("DiceLoss", "binary", TANH, np.array([1, 0]).reshape(1, 1, 2)),
    ("JaccardLoss", "binary", TANH, np.array([1, 0]).reshape(1, 1, 2)),
    ("JaccardLoss", "binary", TANH, np.array([True, False]).reshape(1, 1, 2)),
    ("JaccardLoss", "multiclass", *_scaled_softmax()),
    ("DiceLoss", "multiclass", *_scaled_softmax(1)),
]


@pytest.mark.parametrize(("loss_name", "mode", "y_pred", "y_true"), REPORTED,
                         ids=["dice-tanh", "jaccard-tanh", "jaccard-tanh-bool",
                              "jaccard-softmax5", "dice-softmax5"])
def test_reported_inputs_match_smp(backend, loss_name, mode, y_pred, y_true):
    """tanh outputs with integer/bool targets (smp 1.0; the product form gave -0.523 and
    -2.195), and ``5 * softmax`` as multiclass probabilities (the product form gave
    -1.9e7 with smp's eps)."""
    args = {"mode": mode, "from_logits": False}
    smp_target = y_true.astype(np.float32) if y_true.dtype == bool else y_true
    expected, _ = smp_value_and_grad(loss_name, args, y_pred, smp_target)
    got = getattr(anyiou, loss_name)(**args)(backend.asarray(y_pred), backend.asarray(y_true))
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("target_dtype", ["int64", "float32"])
def test_gradient_at_probabilities_0_and_1(ad_backend, target_dtype):
    """Where ``p == t`` (0 or 1) smp's ``|p - t|`` has derivative 0, so ``dI/dp = 1/2``:
    the gradient is (-0.0620, -0.0620, -0.4545, 0.3306), not the product form's
    (-0.4545, 0.3306, ...)."""
    p = np.array([1.0, 0.0, 0.6, 0.2], np.float32).reshape(1, 1, 4)
    t = np.array([1, 0, 1, 0]).astype(target_dtype).reshape(1, 1, 4)
    args = {"mode": "binary", "from_logits": False}
    expected_value, expected_grad = smp_value_and_grad("JaccardLoss", args, p, t)
    # hand: I = 1.6, Sp = 1.8, St = 2, U = 2.2; dJ/dp = (dI U - I dU) / U^2 with dU = 1 - dI
    hand = np.array([-(0.5 * 2.2 - 1.6 * 0.5), -(0.5 * 2.2 - 1.6 * 0.5),
                     -(2.2 - 0), 1.6]) / 2.2**2
    np.testing.assert_allclose(expected_grad.ravel(), hand, rtol=1e-5)
    tt = ad_backend.asarray(t)
    loss = anyiou.JaccardLoss(**args)
    value, grad = ad_backend.value_and_grad(lambda x: loss(x, tt), p)
    np.testing.assert_allclose(value, expected_value, rtol=1e-6)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-5, atol=1e-7)


def _probabilities(kind: str, shape: tuple, rng: np.random.Generator) -> np.ndarray:
    """Predictions passed with from_logits=False, none of them a plain sigmoid/softmax."""
    x = rng.normal(0, 2, shape)
    if kind == "tanh":  # in (-1, 1)
        return np.tanh(x)
    if kind == "scaled":  # softmax/sigmoid times 3: up to 3
        return 3 * (np_softmax(x) if shape[1] > 1 else 1 / (1 + np.exp(-x)))
    if kind == "inside":  # a plain softmax/sigmoid, strictly inside (0, 1): the fast paths
        return np_softmax(x) if shape[1] > 1 else 1 / (1 + np.exp(-x))
    if kind == "exact":  # exactly 0 or 1 at about half the pixels, soft elsewhere
        soft = 1 / (1 + np.exp(-x))
        return np.where(rng.random(shape) < 0.5, np.round(soft), soft)
    raise AssertionError(kind)


CASES = [  # (id, mode, prediction kind, target dtype, options)
    ("bin-inside-int", "binary", "inside", "int64", {"ignore_index": 255}),
    ("bin-tanh-int", "binary", "tanh", "int64", {}),
    ("bin-tanh-uint8", "binary", "tanh", "uint8", {}),
    ("bin-exact-bool", "binary", "exact", "bool", {}),
    ("bin-exact-int-ignore", "binary", "exact", "int64", {"ignore_index": 255}),
    ("bin-scaled-float", "binary", "scaled", "float32", {}),
    ("ml-tanh-int", "multilabel", "tanh", "int32", {}),
    ("ml-exact-int", "multilabel", "exact", "int64", {}),
    ("ml-scaled-int-ignore", "multilabel", "scaled", "int64", {"ignore_index": -1}),
    ("mc-inside", "multiclass", "inside", "int64", {"ignore_index": 255}),
    ("mc-tanh", "multiclass", "tanh", "int64", {}),
    ("mc-scaled", "multiclass", "scaled", "int64", {}),
    ("mc-exact", "multiclass", "exact", "int64", {}),
    ("mc-exact-ignore", "multiclass", "exact", "int64", {"ignore_index": 255}),
    ("mc-scaled-ignore-perimage", "multiclass", "scaled", "int64",
     {"ignore_index": 255, "per_image": True}),
]


def _case(mode: str, kind: str, target_dtype: str, options: dict, seed: int = 0):
    rng = _rng(seed)
    shape = {"binary": (2, 1, 4, 5), "multilabel": (2, 3, 4, 5), "multiclass": (2, 4, 4, 5)}[mode]
    p = _probabilities(kind, shape, rng).astype(np.float32)
    if mode == "multiclass":
        y = rng.integers(0, shape[1], (shape[0],) + shape[2:])
        y[:, 0, :2] = 0  # class 0 present, class 3 present in most draws
    else:
        y = (rng.random(shape) < 0.4).astype(np.int64)
    void = options.get("ignore_index")
    if void is not None:
        y = np.where(rng.random(y.shape) < 0.2, void, y)
    return p, y.astype(target_dtype)


def _smp_target(y: np.ndarray, mode: str) -> np.ndarray:
    if mode == "multiclass":
        return y.astype(np.int64)
    return y.astype(np.float32) if y.dtype == bool else y


@pytest.mark.parametrize("loss_name", list(LOSSES))
@pytest.mark.parametrize(("mode", "kind", "target_dtype", "options"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_any_probabilities_value_matches_smp(backend, loss_name, mode, kind, target_dtype,
                                             options):
    p, y = _case(mode, kind, target_dtype, options)
    per_image = options.get("per_image", False)
    args = {"mode": mode, "from_logits": False, **LOSSES[loss_name],
            **{k: v for k, v in options.items() if k != "per_image"}}
    if per_image:  # smp has no per_image: the mean of its per-sample losses
        expected = np.mean([smp_value_and_grad(loss_name, args, p[i:i + 1],
                                               _smp_target(y[i:i + 1], mode))[0]
                            for i in range(p.shape[0])])
    else:
        expected, _ = smp_value_and_grad(loss_name, args, p, _smp_target(y, mode))
    loss = getattr(anyiou, loss_name)(**args, per_image=per_image)
    got = backend.to_numpy(loss(backend.asarray(p), backend.asarray(y)))
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("loss_name", list(LOSSES))
@pytest.mark.parametrize(("mode", "kind", "target_dtype", "options"),
                         [c[1:] for c in CASES if not c[4].get("per_image")],
                         ids=[c[0] for c in CASES if not c[4].get("per_image")])
def test_any_probabilities_gradient_matches_smp(ad_backend, loss_name, mode, kind,
                                                target_dtype, options):
    p, y = _case(mode, kind, target_dtype, options)
    args = {"mode": mode, "from_logits": False, **LOSSES[loss_name], **options}
    expected_value, expected_grad = smp_value_and_grad(loss_name, args, p, _smp_target(y, mode))
    loss = getattr(anyiou, loss_name)(**args)
    t = ad_backend.asarray(y)
    value, grad = ad_backend.value_and_grad(lambda x: loss(x, t), p)
    np.testing.assert_allclose(value, expected_value, rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(grad, expected_grad, **_grad_tol(expected_grad))


SATURATED = [20.0, 40.0, 100.0]


def _saturated_logits(mode: str, big: float, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Logits of +-big at most pixels (probabilities that round to exactly 0 or 1 for
    big >= 20 in float32, >= 40 in float64), ordinary logits at the rest; targets agree
    with the sign at most saturated pixels and disagree at some."""
    rng = _rng(int(big))
    if mode == "multiclass":
        y = rng.integers(0, 3, (2, 6))
        x = np.where(np_onehot(y, 3) > 0, big, -big)
        x[:, :, :2] = rng.normal(size=(2, 3, 2))
        x[0, :, 5] = np.roll(x[0, :, 5], 1)  # a confident wrong pixel
        return x.astype(dtype), y
    c = 1 if mode == "binary" else 3
    y = (rng.random((2, c, 6)) < 0.5).astype(np.int64)
    x = np.where(y > 0, big, -big)
    x[:, :, :2] = rng.normal(size=(2, c, 2))
    x[:, :, 5] *= -1  # confident and wrong
    return x.astype(dtype), y


@pytest.mark.parametrize("native", [True, False], ids=["native", "standard"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("big", SATURATED)
@pytest.mark.parametrize("mode", ["binary", "multilabel", "multiclass"])
def test_saturated_logits_match_smp(ad_backend, monkeypatch, mode, big, dtype, native):
    """from_logits=True: the sigmoid/softmax products shortcut, checked against smp where
    probabilities round to exactly 0 or 1; a binary/multilabel gradient does not depend
    on the target's dtype (relative tolerance only: the saturated elements are tiny)."""
    monkeypatch.setattr(kernels, "USE_NATIVE", native)
    x, y = _saturated_logits(mode, big, dtype)
    args = {"mode": mode}
    expected_value, expected_grad = smp_value_and_grad("JaccardLoss", args, x, y)
    loss = anyiou.JaccardLoss(**args)
    grads = {}
    for target in [y] if mode == "multiclass" else [y, y.astype(dtype), y.astype(bool)]:
        t = ad_backend.asarray(target)
        value, grad = ad_backend.value_and_grad(lambda a, t=t: loss(a, t), x)
        np.testing.assert_allclose(value, expected_value, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(grad, expected_grad, **_grad_tol(expected_grad, dtype))
        grads[target.dtype.name] = grad
    for name, grad in grads.items():
        np.testing.assert_allclose(grad, grads["int64"], rtol=1e-4, atol=0, err_msg=name)


# -- 2. the focal power ------------------------------------------------------------------


def _ref_tversky_class_losses(p, t, alpha, beta, eps=1e-7, axes=(0, 2)):
    """float64 per-class losses ``1 - T`` of (N, C, P) ``p``, ``t`` with smp's empty
    rule (0 for a class without target pixels) and 0/0 taken as 0 for ``eps = 0``."""
    p, t = p.astype(np.float64), t.astype(np.float64)
    inter = (p.sum(axes) + t.sum(axes) - np.abs(p - t).sum(axes)) / 2
    den = np.maximum(inter + alpha * (p.sum(axes) - inter) + beta * (t.sum(axes) - inter), eps)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(den > 0, inter / np.where(den > 0, den, 1), 0)
    present = t.sum(axes) > 0
    return np.where(present, 1 - score, 0), present


def _central_differences(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(x, dtype=np.float64)
    for i in np.ndindex(x.shape):
        up, down = x.astype(np.float64), x.astype(np.float64)
        up[i] += h
        down[i] -= h
        g[i] = (f(up) - f(down)) / (2 * h)
    return g


def _multiclass_softmax_ref(x, y, c, alpha, beta, eps=1e-7):
    p = np_softmax(x.reshape(x.shape[0], c, -1))
    t = np_onehot(y.reshape(y.shape[0], -1), c)
    return _ref_tversky_class_losses(p, t, alpha, beta, eps)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("gamma", [0.5, 0.75])
def test_focal_power_with_an_absent_class(ad_backend, reduction, gamma):
    """TverskyLoss(gamma < 1) with class 2 absent: ``0 ** gamma`` has an infinite
    derivative, which made every gradient NaN with reduction='none'. Value: the float64
    reference; gradient: its central differences (finite everywhere)."""
    rng = _rng(3)
    x = rng.normal(size=(2, 3, 3, 3))
    y = rng.integers(0, 2, (2, 3, 3))
    alpha, beta = 0.3, 0.7
    loss = anyiou.TverskyLoss("multiclass", alpha=alpha, beta=beta, gamma=gamma,
                              reduction=reduction)

    def ref(a):
        losses, _ = _multiclass_softmax_ref(a, y, 3, alpha, beta)
        if reduction == "none":
            return losses**gamma
        return (losses.mean() if reduction == "mean" else losses.sum()) ** gamma

    t = ad_backend.asarray(y)
    xp = ad_backend.xp
    value, grad = ad_backend.value_and_grad(lambda a: xp.sum(loss(a, t)), x)
    np.testing.assert_allclose(value, np.sum(ref(x)), rtol=1e-10)
    expected = _central_differences(lambda a: np.sum(ref(a)), x)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-8)
    if reduction == "mean":  # smp agrees where its value is not 0
        smp_value, smp_grad = smp_value_and_grad(
            "TverskyLoss", {"mode": "multiclass", "alpha": alpha, "beta": beta,
                            "gamma": gamma}, x, y)
        np.testing.assert_allclose(value, smp_value, rtol=1e-10)
        np.testing.assert_allclose(grad, smp_grad, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_focal_power_of_a_zero_loss(ad_backend, reduction):
    """A reduced loss of exactly 0 with gamma < 1: an empty binary target (every class
    absent; smp: value 0, gradient NaN everywhere) and predictions equal to the one-hot
    target (every loss 0). Value 0 (hand), gradient 0, finite."""
    rng = _rng(4)
    x = rng.normal(size=(2, 1, 3, 3))
    loss = anyiou.TverskyLoss("binary", gamma=0.5, reduction=reduction)
    t = ad_backend.asarray(np.zeros((2, 1, 3, 3), np.int64))
    xp = ad_backend.xp
    value, grad = ad_backend.value_and_grad(lambda a: xp.sum(loss(a, t)), x)
    assert value == 0.0
    np.testing.assert_array_equal(grad, np.zeros_like(x))

    y = rng.integers(0, 3, (2, 3, 3))
    onehot = np_onehot(y, 3)
    perfect = anyiou.TverskyLoss("multiclass", from_logits=False, gamma=0.5,
                                 reduction=reduction)
    t = ad_backend.asarray(y)
    value, grad = ad_backend.value_and_grad(lambda a: xp.sum(perfect(a, t)), onehot)
    assert value == 0.0
    assert np.all(np.isfinite(grad))


# -- 3. eps = 0 --------------------------------------------------------------------------


@pytest.mark.parametrize("log_loss", [False, True])
@pytest.mark.parametrize("case", ["absent-class", "all-ignored", "empty-binary"])
def test_eps_zero(ad_backend, case, log_loss):
    """smp accepts eps=0 and then gives NaN (0/0 for a class with no prediction and no
    target, log(0) for a predicted absent class). anyiou: a class without target pixels
    has loss 0 with a zero gradient; the rest is the formula (float64 reference, its
    central differences)."""
    rng = _rng(5)
    if case == "empty-binary":
        x = rng.normal(size=(2, 1, 3, 3))
        y = np.zeros((2, 1, 3, 3), np.int64)
        loss = anyiou.JaccardLoss("binary", eps=0.0, log_loss=log_loss)

        def ref(a):
            return 0.0
    else:
        x = rng.normal(size=(2, 3, 3, 3))
        y = rng.integers(0, 2, (2, 3, 3))  # class 2 absent
        if case == "all-ignored":
            y[:] = 255
        loss = anyiou.JaccardLoss("multiclass", eps=0.0, log_loss=log_loss, ignore_index=255)

        def ref(a):
            valid = (y != 255).reshape(2, 1, -1)
            p = np_softmax(a.reshape(2, 3, -1)) * valid
            t = np_onehot(np.where(y == 255, 0, y).reshape(2, -1), 3) * valid
            losses, present = _ref_tversky_class_losses(p, t, 1.0, 1.0, eps=0.0)
            if log_loss:
                losses = np.where(present, -np.log(1 - np.where(present, losses, 0)), 0)
            return losses.mean()

    t = ad_backend.asarray(y)
    value, grad = ad_backend.value_and_grad(lambda a: loss(a, t), x)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(value, ref(x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad, _central_differences(ref, x), rtol=1e-5, atol=1e-8)


def test_eps_zero_functional_scores(backend):
    """0/0 with eps=0 scores 0, the value for every eps > 0 (smp: NaN); a 0-d array."""
    zeros = backend.asarray(np.zeros((2, 3), np.float32))
    for score in (soft_jaccard_score, soft_dice_score):
        out = score(zeros, zeros, eps=0.0)
        assert out.shape == () and backend.to_numpy(out) == 0.0
    out = soft_tversky_score(zeros, zeros, 0.3, 0.7, eps=0.0, dims=(1,))
    np.testing.assert_array_equal(backend.to_numpy(out), [0.0, 0.0])


# -- 4. results are arrays (0-d), never NumPy scalars ------------------------------------

REDUCED_OPTIONS = [
    ("JaccardLoss", {}),
    ("JaccardLoss", {"reduction": "sum"}),
    ("DiceLoss", {"class_weights": [1.0, 2.0, 0.5]}),
    ("DiceLoss", {"empty": "exclude"}),
    ("JaccardLoss", {"per_image": True}),
    ("TverskyLoss", {"alpha": 0.3, "beta": 0.7, "gamma": 0.75}),
    ("TverskyLoss", {"gamma": 2.0, "reduction": "sum", "class_weights": [1.0, 1.0, 3.0]}),
]


def _ref_reduced(x, y, loss_name, options):
    alpha, beta = {"DiceLoss": (0.5, 0.5), "JaccardLoss": (1.0, 1.0)}.get(
        loss_name, (options.get("alpha", 0.5), options.get("beta", 0.5)))
    p = np_softmax(x.reshape(2, 3, -1).astype(np.float64))
    t = np_onehot(y.reshape(2, -1), 3)
    axes = (2,) if options.get("per_image") else (0, 2)
    losses, present = _ref_tversky_class_losses(p, t, alpha, beta, axes=axes)
    w = np.asarray(options.get("class_weights", [1.0, 1.0, 1.0])) * np.ones_like(losses)
    if options.get("empty") == "exclude":
        w = w * present
    out = (losses * w).sum() if options.get("reduction") == "sum" else (losses * w).sum() / w.sum()
    return out ** options.get("gamma", 1.0)


@pytest.mark.parametrize(("loss_name", "options"), REDUCED_OPTIONS,
                         ids=[f"{n}-{'-'.join(o) or 'default'}" for n, o in REDUCED_OPTIONS])
def test_reduced_losses_are_0d_arrays(backend, loss_name, options):
    """NumPy gave a numpy.float32 scalar by default but a 0-d ndarray with class_weights
    or empty='exclude'; every reduction now gives the standard's 0-d array."""
    rng = _rng(6)
    x = rng.normal(size=(2, 3, 4, 4)).astype(np.float32)
    y = rng.integers(0, 2, (2, 4, 4))  # class 2 absent
    out = getattr(anyiou, loss_name)("multiclass", **options)(backend.asarray(x),
                                                              backend.asarray(y))
    assert not isinstance(out, np.generic) and out.shape == ()
    if backend.name == "numpy":
        assert type(out) is np.ndarray
    expected = _ref_reduced(x, y, loss_name, options)
    np.testing.assert_allclose(backend.to_numpy(out), expected, rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("mode", ["binary", "multilabel", "multiclass"])
@pytest.mark.parametrize("per_image", [False, True])
def test_lovasz_result_is_a_0d_array(backend, mode, per_image):
    rng = _rng(7)
    c = 1 if mode == "binary" else 3
    x = rng.normal(size=(2, c, 4, 4)).astype(np.float32)
    y = (rng.integers(0, 3, (2, 4, 4)) if mode == "multiclass"
         else rng.integers(0, 2, (2, c, 4, 4)))
    out = anyiou.LovaszLoss(mode, per_image=per_image)(backend.asarray(x), backend.asarray(y))
    assert not isinstance(out, np.generic) and out.shape == ()
    if backend.name == "numpy":
        assert type(out) is np.ndarray
    expected, _ = smp_value_and_grad("LovaszLoss", {"mode": mode, "per_image": per_image}, x, y)
    np.testing.assert_allclose(backend.to_numpy(out), expected, rtol=1e-5, atol=1e-6)


def test_functional_scores_are_0d_arrays(backend):
    p = backend.asarray(np.array([0.8, 0.6, 0.2, 0.0]))
    t = backend.asarray(np.array([1, 1, 0, 0]))
    for score, hand in ((soft_jaccard_score, 1.4 / 2.2), (soft_dice_score, 2.8 / 3.6)):
        out = score(p, t)
        assert not isinstance(out, np.generic) and out.shape == ()
        np.testing.assert_allclose(backend.to_numpy(out), hand, rtol=1e-12)
