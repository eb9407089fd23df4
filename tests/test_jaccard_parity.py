"""JaccardLoss against segmentation_models_pytorch 0.6.0, values and gradients."""

from __future__ import annotations

import numpy as np
import pytest

from anyiou import JaccardLoss

from .cases import PARITY_CASES, Case
from .oracles import smp_value_and_grad


def _args(case: Case) -> dict:
    return case.smp_args


@pytest.mark.parametrize("case", PARITY_CASES, ids=lambda c: c.id)
def test_value_matches_smp(backend, case: Case):
    y_pred, y_true = case.make()
    expected, _ = smp_value_and_grad("JaccardLoss", _args(case), y_pred, y_true)
    loss = JaccardLoss(**_args(case))
    out = loss(backend.asarray(y_pred), backend.asarray(y_true))
    assert out.shape == ()
    got = backend.to_numpy(out)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case", PARITY_CASES, ids=lambda c: c.id)
def test_gradient_matches_smp(ad_backend, case: Case):
    y_pred, y_true = case.make()
    expected_value, expected_grad = smp_value_and_grad("JaccardLoss", _args(case), y_pred, y_true)
    loss = JaccardLoss(**_args(case))
    t = ad_backend.asarray(y_true)
    value, grad = ad_backend.value_and_grad(lambda p: loss(p, t), y_pred)
    np.testing.assert_allclose(value, expected_value, rtol=1e-6, atol=1e-6)
    scale = max(np.abs(expected_grad).max(), 1e-3)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-4, atol=1e-5 * scale)
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("case", PARITY_CASES[:3] + PARITY_CASES[-4:], ids=lambda c: c.id)
def test_float64_matches_smp(backend, case: Case):
    y_pred, y_true = case.make(dtype=np.float64)
    expected, _ = smp_value_and_grad("JaccardLoss", _args(case), y_pred, y_true)
    out = backend.to_numpy(JaccardLoss(**_args(case))(backend.asarray(y_pred), backend.asarray(y_true)))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
