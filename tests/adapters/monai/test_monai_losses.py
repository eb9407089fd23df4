"""anyiou.monai's DiceLoss, GeneralizedDiceLoss and TverskyLoss against MONAI 1.6.1:
values and output shapes on every backend, gradients with torch and JAX autodiff."""

from __future__ import annotations

import numpy as np
import pytest

from anyiou import monai as am
from tests.adapters.monai.cases import LOSS_CASES, LossCase, make_act
from tests.adapters.monai.oracle import monai_loss

IDS = [c.id for c in LOSS_CASES]
#: JAX is slow to dispatch eagerly: a subset covering each path (labels with and without
#: the fused softmax, the norm form, ignore_index, batch, GDL), value and gradient in one
JAX_CASES = [c for c in LOSS_CASES if c.id in (
    "dice-soft-label", "dice-log-softmax-weight", "dice-labels-soft-label-tanh",
    "tversky-labels", "gdl-simple-batch")]


def _torch_act(case: LossCase):
    if case.act is None:
        return None
    torch = pytest.importorskip("torch")
    if case.act == "tanh":
        return torch.tanh
    return lambda x: torch.log_softmax(x, dim=1)


def _loss(case: LossCase, xp):
    kwargs = dict(case.kwargs)
    act = make_act(case.act, xp)
    if act is not None:
        kwargs["other_act"] = act
    return getattr(am, case.loss)(**kwargs)


@pytest.mark.skip_backends("jax")
@pytest.mark.parametrize("case", LOSS_CASES, ids=IDS)
def test_loss_value_matches_monai(backend, case: LossCase):
    x, target = case.make()
    expected, _ = monai_loss(case.loss, case.kwargs, _torch_act(case), x, target)
    out = _loss(case, backend.xp)(backend.asarray(x), backend.asarray(target))
    got = backend.to_numpy(out)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.skip_backends("jax")
@pytest.mark.parametrize("case", LOSS_CASES, ids=IDS)
def test_loss_gradient_matches_monai(ad_backend, case: LossCase):
    _check_gradient(ad_backend, case)


@pytest.mark.only_backends("jax")
@pytest.mark.parametrize("case", JAX_CASES, ids=[c.id for c in JAX_CASES])
def test_jax_value_and_gradient_match_monai(ad_backend, case: LossCase):
    _check_gradient(ad_backend, case)


def _check_gradient(ad_backend, case: LossCase) -> None:
    x, target = case.make()
    expected, expected_grad = monai_loss(case.loss, case.kwargs, _torch_act(case), x, target)
    t = ad_backend.asarray(target)
    loss = _loss(case, ad_backend.xp)
    xp = ad_backend.xp
    value, grad = ad_backend.value_and_grad(lambda p: xp.sum(loss(p, t)), x)
    np.testing.assert_allclose(value, expected.sum(), rtol=1e-5, atol=1e-6)
    scale = max(float(np.abs(expected_grad).max()), 1e-3)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.only_backends("jax")
def test_loss_under_jit(backend):
    import jax

    case = next(c for c in LOSS_CASES if c.id == "dice-ignore-255")
    x, target = case.make()
    expected, expected_grad = monai_loss(case.loss, case.kwargs, None, x, target)
    loss = _loss(case, backend.xp)
    t = backend.asarray(target)
    value = jax.jit(lambda p: loss(p, t))(backend.asarray(x))
    np.testing.assert_allclose(np.asarray(value), expected, rtol=1e-5, atol=1e-6)
    grad = jax.jit(jax.grad(lambda p: loss(p, t).sum()))(backend.asarray(x))
    np.testing.assert_allclose(np.asarray(grad), expected_grad, rtol=1e-4, atol=1e-7)


@pytest.mark.only_backends("torch")
def test_ignored_pixels_get_no_gradient(backend):
    """MONAI's own check: pixels labelled ``ignore_index`` take no gradient."""
    torch = backend.lib
    x = torch.randn(1, 3, 4, 4, requires_grad=True)
    labels = torch.tensor([[[[0, 1, 0, 1], [1, 0, 1, 0], [2, 2, 2, 2], [2, 2, 2, 2]]]])
    am.DiceLoss(to_onehot_y=True, softmax=True, ignore_index=2)(x, labels).backward()
    assert bool((x.grad[:, :, 2:] == 0).all())
    assert bool((x.grad[:, :, :2] != 0).any())


@pytest.mark.only_backends("numpy", "array_api_strict", "torch")
def test_ignore_index_beyond_the_label_dtype(backend):
    """A single-channel uint8 target with ``ignore_index=300``: no label can equal it, so
    nothing is ignored (MONAI's ``target != 300``); the value is never converted into
    uint8 (array-api-strict refuses that)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 1, 4, 4)).astype(np.float32)
    target = rng.integers(0, 2, size=(2, 1, 4, 4)).astype(np.uint8)
    kwargs = {"sigmoid": True, "ignore_index": 300}
    expected, _ = monai_loss("DiceLoss", kwargs, None, x, target)
    got = am.DiceLoss(**kwargs)(backend.asarray(x), backend.asarray(target))
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-5, atol=1e-6)
