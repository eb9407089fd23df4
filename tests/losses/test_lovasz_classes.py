"""Multiclass LovaszLoss ``classes`` and ``class_weights`` against a float64 NumPy port of
mmsegmentation's ``lovasz_softmax`` (``tests/support/mmseg_lovasz.py``): values on every
backend, gradients on torch and JAX against finite differences of the port."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import anyiou
import anyiou.losses
from anyiou import LovaszLoss
from tests.support.mmseg_lovasz import mmseg_lovasz_softmax

MC = (2, 4, 6, 5)  # N, C, H, W: class 3 never occurs in the labels below
WEIGHTS = (0.5, 2.0, 1.0, 3.0)

# -- cases --------------------------------------------------------------------------------

CASES = {
    "present": dict(classes="present"),
    "present-weighted": dict(classes="present", class_weights=WEIGHTS),
    "all": dict(classes="all"),
    "all-weighted-ignore": dict(classes="all", class_weights=WEIGHTS, ignore_index=255),
    "all-per-image-ignore": dict(classes="all", per_image=True, ignore_index=255),
    "subset": dict(classes=[3, 1]),
    "subset-weighted-per-image": dict(classes=(2, 0, 3), class_weights=WEIGHTS,
                                      per_image=True),
    "subset-ignore-in-range": dict(classes=[1], ignore_index=1),
}


def _make(seed: int = 0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, MC).astype(dtype)
    labels = rng.integers(0, 3, (MC[0],) + MC[2:])
    labels[1][labels[1] == 2] = 0  # class 2 absent from sample 1: per-image absences
    labels = np.where(rng.random(labels.shape) < 0.2, 255, labels)
    return logits, labels


def _oracle_args(opts: dict) -> dict:
    out = {k: v for k, v in opts.items() if k != "class_weights"}
    out["class_weight"] = opts.get("class_weights")
    return out


def _labels_for(opts: dict, labels: np.ndarray) -> np.ndarray:
    # without ignore_index every label must be a class: replace the void value
    return labels if opts.get("ignore_index") == 255 else np.where(labels == 255, 1, labels)


@functools.cache
def _expected(case: str) -> tuple[float, np.ndarray]:
    """The port's value and its central-difference gradient (float64)."""
    opts = CASES[case]
    logits, labels = _make(seed=1, dtype=np.float64)
    labels = _labels_for(opts, labels)
    args = _oracle_args(opts)
    value = mmseg_lovasz_softmax(logits, labels, **args)
    grad = np.zeros_like(logits)
    h = 1e-6
    for i in np.ndindex(logits.shape):
        up, down = logits.copy(), logits.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (mmseg_lovasz_softmax(up, labels, **args)
                   - mmseg_lovasz_softmax(down, labels, **args)) / (2 * h)
    return value, grad


def test_the_oracle_is_not_trivial():
    """The options change the port's value (class 3 is absent, weights differ)."""
    logits, labels = _make()
    labels = np.where(labels == 255, 1, labels)
    values = {name: mmseg_lovasz_softmax(logits, labels, **_oracle_args(o))
              for name, o in CASES.items() if "ignore" not in name}
    assert len({round(v, 9) for v in values.values()}) == len(values)


def test_the_oracle_on_a_hand_computed_absent_class():
    """One pixel of class 0 with p = (0.75, 0.25): class 0's error 0.25 (G = 1, J_1 = 1),
    class 1 absent: its loss is its largest probability, 0.25; with weights (1, 3) the
    mean is (0.25 + 0.75) / 2."""
    logits = np.log(np.array([0.75, 0.25])).reshape(1, 2, 1, 1)
    labels = np.zeros((1, 1, 1), np.int64)
    assert mmseg_lovasz_softmax(logits, labels, classes="all") == pytest.approx(0.25)
    assert mmseg_lovasz_softmax(logits, labels, classes="all", class_weight=(1, 3)) == (
        pytest.approx(0.5))
    got = LovaszLoss("multiclass", classes="all", class_weights=(1, 3))(logits, labels)
    assert float(got) == pytest.approx(0.5, abs=1e-12)


# -- values and gradients -----------------------------------------------------------------


@pytest.mark.parametrize("case", list(CASES))
def test_value_matches_mmseg(backend, case):
    opts = CASES[case]
    logits, labels = _make()
    labels = _labels_for(opts, labels)
    expected = mmseg_lovasz_softmax(logits, labels, **_oracle_args(opts))
    out = LovaszLoss("multiclass", **opts)(backend.asarray(logits), backend.asarray(labels))
    assert out.shape == ()
    got = backend.to_numpy(out)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case", list(CASES))
def test_float64_gradient_matches_mmseg(ad_backend, case):
    opts = CASES[case]
    logits, labels = _make(seed=1, dtype=np.float64)
    labels = _labels_for(opts, labels)
    expected_value, expected_grad = _expected(case)
    loss = LovaszLoss("multiclass", **opts)
    t = ad_backend.asarray(labels)
    value, grad = ad_backend.value_and_grad(lambda p: loss(p, t), logits)
    np.testing.assert_allclose(value, expected_value, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-5, atol=1e-7)


@pytest.mark.only_backends("jax", "jax_gpu")
def test_jax_jit_equals_mmseg(backend):
    import jax

    opts = CASES["subset-weighted-per-image"]
    logits, labels = _make(seed=1, dtype=np.float64)
    labels = _labels_for(opts, labels)
    expected_value, expected_grad = _expected("subset-weighted-per-image")
    loss = LovaszLoss("multiclass", **opts)
    value, grad = jax.jit(jax.value_and_grad(loss))(backend.asarray(logits),
                                                   backend.asarray(labels))
    np.testing.assert_allclose(np.asarray(value), expected_value, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(grad), expected_grad, rtol=1e-5, atol=1e-7)


def test_every_form_takes_the_options(backend):
    """The function and the torch module give the class's (= the port's) value."""
    opts = CASES["subset-weighted-per-image"]
    logits, labels = _make()
    labels = _labels_for(opts, labels)
    expected = mmseg_lovasz_softmax(logits, labels, **_oracle_args(opts))
    p, t = backend.asarray(logits), backend.asarray(labels)
    got = anyiou.losses.lovasz_loss(p, t, mode="multiclass", **opts)
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-6)
    if backend.name == "torch":
        from anyiou.torch import LovaszLoss as TorchLovasz

        got = TorchLovasz("multiclass", **opts)(p, t)
        np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-6)


def test_channels_last_with_a_subset(backend):
    opts = dict(classes=[3, 1], class_weights=WEIGHTS)
    logits, labels = _make()
    labels = np.where(labels == 255, 1, labels)
    expected = mmseg_lovasz_softmax(logits, labels, **_oracle_args(opts))
    loss = LovaszLoss("multiclass", class_axis=-1, **opts)
    got = loss(backend.asarray(np.moveaxis(logits, 1, -1)), backend.asarray(labels))
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-6)


@pytest.mark.parametrize("classes", ["all", [2]])
def test_every_pixel_ignored_gives_zero(backend, classes):
    logits, _ = _make()
    labels = np.full((MC[0],) + MC[2:], 255)
    loss = LovaszLoss("multiclass", ignore_index=255, classes=classes)
    got = backend.to_numpy(loss(backend.asarray(logits), backend.asarray(labels)))
    assert got == 0.0


# -- option checks --------------------------------------------------------------------------


def test_the_options_are_kept_normalised():
    loss = LovaszLoss("multiclass", classes=np.array([2, 0]), class_weights=np.ones(3))
    assert loss.classes == (2, 0) and loss.class_weights == (1.0, 1.0, 1.0)
    assert LovaszLoss("binary").classes == "present"
    assert "classes=(2, 0)" in repr(loss)
