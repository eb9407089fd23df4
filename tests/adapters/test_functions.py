"""The pure loss functions (``anyiou.losses.jaccard_loss``, ...) against smp 0.6.0:
values on every backend, gradients with torch and JAX autodiff, and under ``jax.jit``."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from anyiou import losses
from tests.support.cases import BIN, MC, ML, PARITY_CASES, Case
from tests.support.oracles import smp_value_and_grad

FUNCTIONS = {
    "JaccardLoss": losses.jaccard_loss,
    "DiceLoss": losses.dice_loss,
    "TverskyLoss": losses.tversky_loss,
    "LovaszLoss": losses.lovasz_loss,
}
BY_ID = {c.id: c for c in PARITY_CASES}
OVERLAP = [BY_ID[i] for i in ("mc-default", "mc-everything", "mc-ignore-minus1", "bin-soft",
                              "bin-ignore-255", "ml-classes-weights", "ml-soft-log")]
CASES = (
    [("JaccardLoss", c) for c in OVERLAP]
    + [("DiceLoss", c) for c in OVERLAP[::2]]
    + [("TverskyLoss", Case("tv-mc", "multiclass", MC, "labels",
                            {"alpha": 0.2, "beta": 0.8, "gamma": 2.0, "ignore_index": 255}, void=255)),
       ("TverskyLoss", Case("tv-ml", "multilabel", ML, "hard", {"alpha": 0.7, "beta": 0.3}))]
    + [("LovaszLoss", Case("lv-bin", "binary", BIN, "hard", {"ignore_index": 255}, void=255)),
       ("LovaszLoss", Case("lv-mc", "multiclass", MC, "labels", {"per_image": True})),
       ("LovaszLoss", Case("lv-ml", "multilabel", ML))]
)
IDS = [f"{name}-{c.id}" for name, c in CASES]


def _call(name: str, case: Case, y_pred, y_true):
    args = dict(case.smp_args)
    return FUNCTIONS[name](y_pred, y_true, **args)


@pytest.mark.parametrize(("name", "case"), CASES, ids=IDS)
def test_function_value_matches_smp(backend, name: str, case: Case):
    y_pred, y_true = case.make()
    expected, _ = smp_value_and_grad(name, case.smp_args, y_pred, y_true)
    out = _call(name, case, backend.asarray(y_pred), backend.asarray(y_true))
    np.testing.assert_allclose(backend.to_numpy(out), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("name", "case"), CASES, ids=IDS)
def test_function_gradient_matches_smp(ad_backend, name: str, case: Case):
    y_pred, y_true = case.make()
    expected, expected_grad = smp_value_and_grad(name, case.smp_args, y_pred, y_true)
    t = ad_backend.asarray(y_true)
    value, grad = ad_backend.value_and_grad(lambda p: _call(name, case, p, t), y_pred)
    np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-6)
    scale = max(np.abs(expected_grad).max(), 1e-3)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.only_backends("jax", "jax_gpu")
@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_function_under_jit_matches_smp(backend, name: str):
    import jax

    case = Case("mc", "multiclass", MC, "labels", {"ignore_index": 255}, void=255)
    y_pred, y_true = case.make()
    expected, expected_grad = smp_value_and_grad(name, case.smp_args, y_pred, y_true)
    fn = FUNCTIONS[name]
    step = jax.jit(jax.value_and_grad(lambda p, t: fn(p, t, mode="multiclass", ignore_index=255)))
    value, grad = step(backend.asarray(y_pred), backend.asarray(y_true))
    np.testing.assert_allclose(np.asarray(value), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(grad), expected_grad, rtol=1e-4, atol=1e-7)


def test_functions_accept_every_class_option():
    """Every option of a class is a keyword of its function, with the same default."""
    classes = {"JaccardLoss": losses.JaccardLoss, "DiceLoss": losses.DiceLoss,
               "TverskyLoss": losses.TverskyLoss, "LovaszLoss": losses.LovaszLoss}
    for name, cls in classes.items():
        cls_params = inspect.signature(cls).parameters
        fn_params = inspect.signature(FUNCTIONS[name]).parameters
        assert list(fn_params)[:2] == ["y_pred", "y_true"]
        for opt, p in cls_params.items():
            assert fn_params[opt].kind is inspect.Parameter.KEYWORD_ONLY, (name, opt)
            assert fn_params[opt].default == p.default, (name, opt)


def test_function_checks_options():
    y = np.zeros((1, 2, 2), np.int64)
    with pytest.raises(ValueError, match="mode"):
        losses.jaccard_loss(np.zeros((1, 3, 2, 2), np.float32), y, mode="multi")
    with pytest.raises(TypeError, match="mode"):
        losses.dice_loss(np.zeros((1, 3, 2, 2), np.float32), y)
