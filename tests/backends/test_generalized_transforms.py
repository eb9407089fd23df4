"""Transforms of `GeneralizedDiceLoss` and of the MONAI options of the overlap losses
(``squared_pred``, ``smooth_nr``/``smooth_dr``), against MONAI 1.6.1 (torch) and a float64
NumPy reference with central finite differences (JAX):

* torch: ``torch.compile(fullgraph=True)``, ``torch.func.grad`` and ``torch.func.vmap``
  (per-sample losses and gradients);
* JAX: ``jit`` equal to eager, ``grad`` against finite differences, ``vmap``.
"""

from __future__ import annotations

import numpy as np
import pytest

import anyiou
from tests.support.oracles import np_onehot, np_softmax

C = 3
MONAI_SMOOTH = 1e-4  # MONAI's smooth_nr = smooth_dr; anyiou's halved form takes half
# (anyiou loss, MONAI loss, MONAI's keyword arguments)
LOSSES = {
    "generalized": (
        lambda **kw: anyiou.GeneralizedDiceLoss("multiclass", smooth=MONAI_SMOOTH / 2, **kw),
        "GeneralizedDiceLoss", {"w_type": "square"},
    ),
    "dice_squared": (
        lambda **kw: anyiou.DiceLoss("multiclass", smooth_nr=0.1, smooth_dr=0.3,
                                     squared_pred=True, **kw),
        "DiceLoss", {"squared_pred": True, "smooth_nr": 0.2, "smooth_dr": 0.6},
    ),
}


def _data(seed: int = 0, n: int = 3):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1.5, (n, C, 4, 5))
    labels = rng.integers(0, C, (n, 4, 5))
    labels[:, 0, :C] = np.arange(C)  # every class in every image ...
    labels[1][labels[1] == 2] = 1  # ... but sample 1 has no class 2
    return x, labels


def _monai(name: str, x: np.ndarray, labels: np.ndarray, *, batch: bool, reduction="mean"):
    """MONAI's value and gradient (float64) of one-hot targets."""
    import torch
    from monai import losses

    kind, kwargs = LOSSES[name][1], dict(LOSSES[name][2])
    if kind == "GeneralizedDiceLoss":
        kwargs.update(smooth_nr=MONAI_SMOOTH, smooth_dr=MONAI_SMOOTH)
    oracle = getattr(losses, kind)(softmax=True, batch=batch, reduction=reduction, **kwargs)
    z = torch.from_numpy(x).requires_grad_(True)
    value = oracle(z, torch.from_numpy(np_onehot(labels, C)))
    (grad,) = torch.autograd.grad(value.sum(), z)
    return value.detach().numpy().reshape(-1), grad.numpy()


# -- torch ----------------------------------------------------------------------------


@pytest.mark.slow  # torch.compile
@pytest.mark.only_backends("torch")
@pytest.mark.parametrize("name", list(LOSSES))
def test_torch_compile_matches_monai(backend, name):
    torch = backend.lib
    x, labels = _data(1)  # pooled over the batch: every class present
    want, want_grad = _monai(name, x, labels, batch=True)
    loss = LOSSES[name][0]()
    torch._dynamo.reset()
    try:
        compiled = torch.compile(loss, fullgraph=True, backend="aot_eager")
        z = torch.from_numpy(x).requires_grad_(True)
        value = compiled(z, torch.from_numpy(labels))
        (grad,) = torch.autograd.grad(value, z)
    finally:
        torch._dynamo.reset()
    np.testing.assert_allclose(value.detach().numpy(), want[0], rtol=1e-9)
    np.testing.assert_allclose(grad.numpy(), want_grad, rtol=1e-7, atol=1e-9)


@pytest.mark.only_backends("torch")
def test_torch_func_vmap_of_grad_matches_monai_per_sample(backend):
    """Per-sample losses and gradients of `GeneralizedDiceLoss` (each sample its own
    weights) by ``vmap`` over samples: MONAI's ``batch=False, reduction="none"``."""
    torch = backend.lib
    x, labels = _data(2)
    want, want_grad = _monai("generalized", x, labels, batch=False, reduction="none")
    loss = LOSSES["generalized"][0]()

    def one(z, t):
        return loss(z[None], t[None])

    tx, ty = torch.from_numpy(x), torch.from_numpy(labels)
    values = torch.func.vmap(one)(tx, ty)
    grads = torch.func.vmap(torch.func.grad(one))(tx, ty)
    np.testing.assert_allclose(values.numpy(), want, rtol=1e-9)
    np.testing.assert_allclose(grads.numpy(), want_grad, rtol=1e-7, atol=1e-9)


# -- JAX ------------------------------------------------------------------------------


def _np_reference(x: np.ndarray, labels: np.ndarray) -> float:
    """`GeneralizedDiceLoss("multiclass", per_image=True)` in float64 (square weights,
    absent classes at the sample's largest weight)."""
    p = np_softmax(x).reshape(x.shape[0], C, -1)
    t = np_onehot(labels, C).reshape(x.shape[0], C, -1)
    t_sum = t.sum(2)
    with np.errstate(divide="ignore"):
        w = 1 / t_sum**2
    w = np.where(np.isinf(w), np.where(np.isinf(w), 0, w).max(1, keepdims=True), w)
    score = 2 * (w * (p * t).sum(2)).sum(1) / (w * (p.sum(2) + t_sum)).sum(1)
    return 1 - score


@pytest.mark.only_backends("jax")
def test_jax_jit_grad_vmap(backend):
    import jax
    import jax.numpy as jnp

    x, labels = _data(3)
    y = jnp.asarray(labels)
    loss = anyiou.GeneralizedDiceLoss("multiclass", per_image=True)
    eager = float(loss(jnp.asarray(x), y))
    jitted = jax.jit(lambda z: loss(z, y))
    assert float(jitted(jnp.asarray(x))) == pytest.approx(eager, rel=1e-12)
    assert eager == pytest.approx(float(np.mean(_np_reference(x, labels))), rel=1e-12)
    # grad against central differences along a random direction
    grad = np.asarray(jax.jit(jax.grad(lambda z: loss(z, y)))(jnp.asarray(x)))
    v = np.random.default_rng(0).normal(size=x.shape)
    h = 1e-6
    fd = (np.mean(_np_reference(x + h * v, labels))
          - np.mean(_np_reference(x - h * v, labels))) / (2 * h)
    assert float(np.sum(grad * v)) == pytest.approx(fd, rel=1e-6)
    # vmap over samples: each sample's loss alone
    per_sample = jax.jit(jax.vmap(lambda z, t: loss(z[None], t[None])))(jnp.asarray(x), y)
    np.testing.assert_allclose(np.asarray(per_sample), _np_reference(x, labels), rtol=1e-12)
    # the overlap losses' options under jit, finite gradient
    dice = anyiou.DiceLoss("multiclass", squared_pred=True, smooth_nr=0.1, smooth_dr=0.3)
    value, g = jax.jit(jax.value_and_grad(lambda z: dice(z, y)))(jnp.asarray(x))
    p, t = np_softmax(x).reshape(3, C, -1), np_onehot(labels, C).reshape(3, C, -1)
    inter = (p * t).sum((0, 2))
    den = (p**2).sum((0, 2)) + t.sum((0, 2))
    assert float(value) == pytest.approx(np.mean(1 - (inter + 0.1) / (den / 2 + 0.3)), rel=1e-12)
    assert np.isfinite(np.asarray(g)).all()
