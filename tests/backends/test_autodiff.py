"""Autodiff and transforms: torch gradcheck (float64), jax.jit == eager, jax.grad == torch
gradient, jax.vmap, extreme logits, NaN propagation."""

from __future__ import annotations

import numpy as np
import pytest

import anyiou
from tests.support.cases import Case
from tests.support.oracles import smp_losses, smp_value_and_grad

LOSSES = [
    ("JaccardLoss", {}),
    ("DiceLoss", {"smooth": 1.0}),
    ("TverskyLoss", {"alpha": 0.3, "beta": 0.7, "gamma": 1.5}),
]
MODE_CASES = [
    Case("mc", "multiclass", (2, 3, 4, 3), "labels", {"ignore_index": 255}, void=255),
    Case("bin-soft", "binary", (2, 1, 4, 3), "soft"),
    Case("ml", "multilabel", (2, 3, 4, 3), "hard", {"ignore_index": -1}, void=-1),
]


@pytest.mark.only_backends("torch")
@pytest.mark.parametrize("case", MODE_CASES, ids=lambda c: c.id)
@pytest.mark.parametrize(("loss_name", "opts"), LOSSES, ids=[n for n, _ in LOSSES])
def test_torch_gradcheck_float64(backend, loss_name, opts, case):
    torch = backend.lib
    y_pred, y = case.make(seed=2, dtype=np.float64)
    loss = getattr(anyiou, loss_name)(case.mode, **case.options, **opts, per_image=True)
    x = torch.from_numpy(y_pred).requires_grad_(True)
    t = torch.from_numpy(y)
    assert torch.autograd.gradcheck(lambda p: loss(p, t), (x,), eps=1e-6, atol=1e-6)


@pytest.mark.only_backends("jax", "jax_gpu")
@pytest.mark.parametrize("case", MODE_CASES, ids=lambda c: c.id)
@pytest.mark.parametrize(("loss_name", "opts"), LOSSES, ids=[n for n, _ in LOSSES])
def test_jax_jit_and_grad_match_smp(backend, loss_name, opts, case):
    import jax

    y_pred, y = case.make(seed=4)
    args = {**case.smp_args, **opts}
    expected, expected_grad = smp_value_and_grad(loss_name, args, y_pred, y)
    loss = getattr(anyiou, loss_name)(**args)
    p, t = backend.asarray(y_pred), backend.asarray(y)
    eager = loss(p, t)
    value, grad = jax.jit(jax.value_and_grad(loss))(p, t)
    np.testing.assert_allclose(np.asarray(value), np.asarray(eager), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(value), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(grad), expected_grad, rtol=1e-4, atol=1e-7)


@pytest.mark.only_backends("jax", "jax_gpu")
def test_jax_vmap_over_problems(backend):
    import jax

    cases = [Case("mc", "multiclass", (2, 3, 4, 3), "labels").make(seed=s) for s in range(3)]
    preds = np.stack([c[0] for c in cases])
    labels = np.stack([c[1] for c in cases])
    expected = [smp_value_and_grad("JaccardLoss", {"mode": "multiclass"}, p, y)[0] for p, y in cases]
    loss = anyiou.JaccardLoss("multiclass")
    got = jax.vmap(loss)(backend.asarray(preds), backend.asarray(labels))
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-6)


@pytest.mark.parametrize("mode", ["multiclass", "binary", "multilabel"])
def test_extreme_logits_are_finite(backend, mode):
    shape = (2, 3, 4, 4) if mode != "binary" else (2, 1, 4, 4)
    rng = np.random.default_rng(0)
    y_pred = (np.sign(rng.normal(size=shape)) * 1e4).astype(np.float32)
    if mode == "multiclass":
        y = rng.integers(0, 3, (2, 4, 4))
    else:
        y = rng.integers(0, 2, shape)
    expected, _ = smp_value_and_grad("JaccardLoss", {"mode": mode}, y_pred, y)
    loss = anyiou.JaccardLoss(mode)
    out = backend.to_numpy(loss(backend.asarray(y_pred), backend.asarray(y)))
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    if backend.has_autodiff:
        t = backend.asarray(y)
        _, grad = backend.value_and_grad(lambda p: loss(p, t), y_pred)
        assert np.all(np.isfinite(grad))


def test_nan_prediction_propagates(backend):
    y_pred, y = Case("mc", "multiclass", (1, 3, 4, 4), "labels").make()
    y_pred[0, 1, 2, 2] = np.nan
    out = backend.to_numpy(anyiou.JaccardLoss("multiclass")(backend.asarray(y_pred), backend.asarray(y)))
    assert np.isnan(out)


@pytest.mark.slow  # torch.compile
@pytest.mark.only_backends("torch")
def test_torch_compile_matches_eager(backend):
    torch = backend.lib
    y_pred, y = Case("mc", "multiclass", (2, 3, 4, 3), "labels").make(seed=9)
    expected, _ = smp_value_and_grad("JaccardLoss", {"mode": "multiclass"}, y_pred, y)
    loss = anyiou.JaccardLoss("multiclass")
    try:
        compiled = torch.compile(loss, backend="eager", fullgraph=False)
    except Exception as exc:  # pragma: no cover - dynamo unavailable on the platform
        pytest.skip(f"torch.compile unavailable: {exc}")
    got = compiled(torch.from_numpy(y_pred), torch.from_numpy(y))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize(
    "case",
    [
        Case("bin-soft", "binary", (2, 1, 4, 5), "soft"),
        Case("ml-soft-ignore", "multilabel", (2, 3, 4, 5), "soft", {"ignore_index": 255}, void=255,
             target_dtype="float32"),
    ],
    ids=lambda c: c.id,
)
def test_gradient_wrt_soft_targets_matches_smp(ad_backend, case):
    """Soft targets can be differentiable (e.g. a teacher's probabilities): the fused
    kernels give smp's gradient w.r.t. the target, not silently zero."""
    import torch

    y_pred, y = case.make(seed=6)
    y = y.astype(np.float32)
    t = torch.from_numpy(y.copy()).requires_grad_(True)
    (expected,) = torch.autograd.grad(
        smp_losses().JaccardLoss(**case.smp_args)(torch.from_numpy(y_pred), t), t
    )
    loss = anyiou.JaccardLoss(**case.smp_args)
    p = ad_backend.asarray(y_pred)
    _, grad = ad_backend.value_and_grad(lambda target: loss(p, target), y)
    np.testing.assert_allclose(grad, expected.numpy(), rtol=1e-4, atol=1e-7)
