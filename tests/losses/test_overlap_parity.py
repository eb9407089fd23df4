"""JaccardLoss, DiceLoss and TverskyLoss against smp 0.6.0: values and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import anyiou
from tests.support.cases import BIN, MC, ML, PARITY_CASES, Case
from tests.support.oracles import smp_value_and_grad

TVERSKY_CASES = [
    Case("tv-mc", "multiclass", MC, "labels", {"alpha": 0.3, "beta": 0.7}),
    Case("tv-mc-focal", "multiclass", MC, "labels", {"alpha": 0.7, "beta": 0.3, "gamma": 0.75}),
    Case("tv-mc-focal-weights", "multiclass", MC, "labels",
         {"alpha": 0.2, "beta": 0.8, "gamma": 2.0, "class_weights": [1, 2, 1, 2], "ignore_index": 255},
         void=255),
    Case("tv-bin-soft", "binary", BIN, "soft", {"alpha": 0.4, "beta": 0.6, "gamma": 1.5}),
    Case("tv-ml-log", "multilabel", ML, "hard", {"alpha": 0.1, "beta": 0.9, "log_loss": True}),
    Case("tv-ml-ignore", "multilabel", ML, "hard", {"ignore_index": -1, "gamma": 0.5}, void=-1),
]

LOSS_CASES = (
    [("JaccardLoss", c) for c in PARITY_CASES]
    + [("DiceLoss", c) for c in PARITY_CASES]
    + [("TverskyLoss", c) for c in PARITY_CASES[::4] + TVERSKY_CASES]
)
IDS = [f"{name}-{c.id}" for name, c in LOSS_CASES]


@pytest.mark.parametrize(("loss_name", "case"), LOSS_CASES, ids=IDS)
def test_value_matches_smp(backend, loss_name: str, case: Case):
    y_pred, y_true = case.make()
    expected, _ = smp_value_and_grad(loss_name, case.smp_args, y_pred, y_true)
    loss = getattr(anyiou, loss_name)(**case.smp_args)
    out = loss(backend.asarray(y_pred), backend.asarray(y_true))
    assert out.shape == ()
    got = backend.to_numpy(out)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("loss_name", "case"), LOSS_CASES, ids=IDS)
def test_gradient_matches_smp(ad_backend, loss_name: str, case: Case):
    y_pred, y_true = case.make()
    expected_value, expected_grad = smp_value_and_grad(loss_name, case.smp_args, y_pred, y_true)
    loss = getattr(anyiou, loss_name)(**case.smp_args)
    t = ad_backend.asarray(y_true)
    value, grad = ad_backend.value_and_grad(lambda p: loss(p, t), y_pred)
    np.testing.assert_allclose(value, expected_value, rtol=1e-6, atol=1e-6)
    scale = max(np.abs(expected_grad).max(), 1e-3)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-4, atol=1e-5 * scale)
    assert np.all(np.isfinite(grad))


F64_CASES = [("JaccardLoss", c) for c in PARITY_CASES[:3] + PARITY_CASES[-4:]] + [
    ("DiceLoss", PARITY_CASES[14]),
    ("TverskyLoss", TVERSKY_CASES[2]),
]


@pytest.mark.parametrize(("loss_name", "case"), F64_CASES, ids=[f"{n}-{c.id}" for n, c in F64_CASES])
def test_float64_matches_smp(backend, loss_name: str, case: Case):
    y_pred, y_true = case.make(dtype=np.float64)
    expected, _ = smp_value_and_grad(loss_name, case.smp_args, y_pred, y_true)
    loss = getattr(anyiou, loss_name)(**case.smp_args)
    out = backend.to_numpy(loss(backend.asarray(y_pred), backend.asarray(y_true)))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
