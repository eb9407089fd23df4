"""``ignore_index`` given as several values: a pixel whose target equals any of them is
void, exactly as with one value.

Oracle: smp 0.6.0 (value and gradient) on the same data with every void value remapped
to one ignore value; under ``jax.jit`` and through the torch fast path and its
composable fallback the same numbers. The option checks (normalised form, errors) are
backend-independent and run in the numpy session only.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import anyiou
from anyiou._lib import kernels
from tests.docs.test_pages import _sessions
from tests.support.cases import plant_voids, remap_voids
from tests.support.oracles import smp_value_and_grad

F32 = np.float32

#: (loss, mode): every loss in multiclass, the overlap and Lovasz losses in the sigmoid modes
CASES = [
    ("JaccardLoss", "multiclass"),
    ("DiceLoss", "multiclass"),
    ("TverskyLoss", "multiclass"),
    ("LovaszLoss", "multiclass"),
    ("JaccardLoss", "binary"),
    ("DiceLoss", "multilabel"),
    ("LovaszLoss", "binary"),
]


def _data(mode, voids, seed=0):
    """Logits and int64 targets holding each void value somewhere (multiclass: 4
    classes; sigmoid modes: 0/1 targets)."""
    rng = np.random.default_rng(seed)
    c = {"binary": 1, "multilabel": 3, "multiclass": 4}[mode]
    x = rng.normal(0, 2, (2, c, 5, 6)).astype(F32)
    if mode == "multiclass":
        t = rng.integers(0, c, (2, 5, 6))
    else:
        t = rng.integers(0, 2, (2, c, 5, 6))
    return x, plant_voids(rng, t, voids, 4)


def _check(backend, name, mode, voids, given, to):
    x, t = _data(mode, voids)
    expected, grad = smp_value_and_grad(name, {"mode": mode, "ignore_index": to}, x,
                                        remap_voids(t, voids, to))
    loss = getattr(anyiou, name)(mode, ignore_index=given)
    tb = backend.asarray(t)
    if backend.has_autodiff:
        got, got_grad = backend.value_and_grad(lambda a: loss(a, tb), x)
        np.testing.assert_allclose(got_grad, grad, rtol=1e-4, atol=1e-6)
    else:
        got = backend.to_numpy(loss(backend.asarray(x), tb))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("name", "mode"), CASES)
def test_two_void_values_equal_smp_on_one(backend, name, mode):
    """255 and -1 both void: smp with both remapped to 255 (value and gradient)."""
    _check(backend, name, mode, (255, -1), [255, -1], 255)


@pytest.mark.parametrize("name", ["JaccardLoss", "LovaszLoss"])
def test_a_class_id_among_the_values(backend, name):
    """An in-range value (class 2) among them: its pixels are void, as smp's
    ``ignore_index=2`` with 255 remapped to 2."""
    _check(backend, name, "multiclass", (2, 255), (255, 2), 2)


if "torch" in _sessions():

    @pytest.mark.parametrize("mode", ["multiclass", "binary"])
    def test_torch_fast_path_and_composition_agree(monkeypatch, mode):
        """The fused torch path (its masks OR-ed) and the composable path it declines
        to give smp's value and gradient."""
        import torch

        import anyiou.torch

        voids = (255, -1)
        x, t = _data(mode, voids, seed=3)
        expected, grad = smp_value_and_grad("JaccardLoss", {"mode": mode, "ignore_index": 255},
                                            x, remap_voids(t, voids, 255))
        loss = anyiou.JaccardLoss(mode, ignore_index=voids)
        served, original = [], kernels.overlap_loss

        def fast_path(*args):
            served.append(original(*args))
            return served[-1]

        monkeypatch.setattr(kernels, "overlap_loss", fast_path)
        for fast in (True, False):
            if not fast:
                monkeypatch.setattr(kernels, "overlap_loss", lambda *a: None)
            xt = torch.from_numpy(x).requires_grad_(True)
            out = loss(xt, torch.from_numpy(t))
            (g,) = torch.autograd.grad(out, xt)
            np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(g.numpy(), grad, rtol=1e-4, atol=1e-6)
        assert served and served[0] is not None  # the fast path served the first call
        wrapped = anyiou.torch.DiceLoss(mode, ignore_index=[-1, 255])
        value, _ = smp_value_and_grad("DiceLoss", {"mode": mode, "ignore_index": 255}, x,
                                      remap_voids(t, voids, 255))
        got = wrapped(torch.from_numpy(x), torch.from_numpy(t))
        np.testing.assert_allclose(got.numpy(), value, rtol=1e-5, atol=1e-6)
        assert wrapped.ignore_index == (-1, 255)
        assert pickle.loads(pickle.dumps(wrapped)).ignore_index == (-1, 255)


if "jax" in _sessions():

    @pytest.mark.parametrize("name", ["DiceLoss", "LovaszLoss"])
    def test_under_jax_jit(name):
        """The mask is an OR of comparisons with static ints: it traces under jit and
        gives smp's value and gradient."""
        import jax
        import jax.numpy as jnp

        voids = (255, -1)
        x, t = _data("multiclass", voids, seed=5)
        expected, grad = smp_value_and_grad(name, {"mode": "multiclass", "ignore_index": 255},
                                            x, remap_voids(t, voids, 255))
        loss = getattr(anyiou, name)("multiclass", ignore_index=voids)
        value, g = jax.jit(jax.value_and_grad(loss))(jnp.asarray(x), jnp.asarray(t))
        np.testing.assert_allclose(np.asarray(value), expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.asarray(g), grad, rtol=1e-4, atol=1e-6)


if "numpy" in _sessions():  # option checks: no array library involved

    @pytest.mark.parametrize(("given", "stored"), [
        ((255, -1), (-1, 255)),
        ([0, 255, 0], (0, 255)),
        ([7], 7),
        (np.array([3, 1]), (1, 3)),
        (range(2, 4), (2, 3)),
        (np.int16(5), 5),
    ])
    @pytest.mark.parametrize("name", ["JaccardLoss", "TverskyLoss", "LovaszLoss"])
    def test_stored_as_a_sorted_tuple_or_an_int(name, given, stored):
        loss = getattr(anyiou, name)("multiclass", ignore_index=given)
        assert loss.ignore_index == stored
        assert type(loss.ignore_index) is type(stored)
        assert pickle.loads(pickle.dumps(loss)).ignore_index == stored

    @pytest.mark.parametrize(("given", "error", "words"), [
        ([], ValueError, "at least one value"),
        ((255, 1.5), TypeError, "1.5"),
        ((255, True), TypeError, "True"),
        ((255, None), TypeError, "None"),
        ({255, -1}, TypeError, "set"),
        ([[255]], TypeError, r"\[255\]"),
        (np.zeros((2, 2), np.int64), TypeError, "2 dimensions"),
        ((255, 2**64), ValueError, "64-bit"),
    ])
    @pytest.mark.parametrize("name", ["DiceLoss", "LovaszLoss"])
    def test_bad_sequences_raise_naming_ignore_index(name, given, error, words):
        with pytest.raises(error, match=f"ignore_index.*{words}"):
            getattr(anyiou, name)("multiclass", ignore_index=given)
