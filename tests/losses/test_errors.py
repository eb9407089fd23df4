"""Bad input to the losses: each case raises ValueError/TypeError naming the argument
(the tables are in tests/support/error_cases.py)."""

from __future__ import annotations

import numpy as np
import pytest

import anyiou
from tests.support.error_cases import (
    LOSS_CALL_ERRORS,
    LOSS_CONSTRUCTOR_ERRORS,
    LOSS_PAIR_ERRORS,
    LOSS_VALUE_ERRORS,
    LOVASZ_CALL_ERRORS,
    LOVASZ_CONSTRUCTOR_ERRORS,
    MC_LAB,
    MC_PRED,
)
from tests.support.oracles import (
    np_onehot,
    np_sigmoid,
    np_softmax,
    np_tversky_losses,
    smp_value_and_grad,
)

F32 = np.float32


@pytest.mark.parametrize(("kwargs", "exc", "name"), [c[1:] for c in LOSS_CONSTRUCTOR_ERRORS],
                         ids=[c[0] for c in LOSS_CONSTRUCTOR_ERRORS])
@pytest.mark.parametrize("loss_name", ["JaccardLoss", "DiceLoss", "TverskyLoss"])
def test_constructor_rejects(loss_name, kwargs, exc, name):
    with pytest.raises(exc, match=name):
        getattr(anyiou, loss_name)(**kwargs)


def test_tversky_rejects_negative_alpha():
    with pytest.raises(ValueError, match="alpha"):
        anyiou.TverskyLoss("multiclass", alpha=-0.1)


@pytest.mark.parametrize(("mode", "opts", "pred", "true", "exc", "name"), [c[1:] for c in LOSS_CALL_ERRORS],
                         ids=[c[0] for c in LOSS_CALL_ERRORS])
def test_call_rejects(backend, mode, opts, pred, true, exc, name):
    loss = anyiou.JaccardLoss(mode, **opts)
    with pytest.raises(exc, match=name):
        loss(backend.asarray(pred), backend.asarray(true))


@pytest.mark.parametrize(("mode", "opts", "pred", "true", "exc", "name"), [c[1:] for c in LOSS_VALUE_ERRORS],
                         ids=[c[0] for c in LOSS_VALUE_ERRORS])
def test_label_values_checked_on_eager_arrays(backend, mode, opts, pred, true, exc, name):
    loss = anyiou.JaccardLoss(mode, **opts)
    p, t = backend.asarray(pred), backend.asarray(true)
    if backend.checks_values:
        with pytest.raises(exc, match=name):
            loss(p, t)
    else:
        # Lazy/GPU arrays are not inspected (documented): out-of-range labels never crash,
        # they are treated like ignored pixels, and the result stays finite.
        out = backend.to_numpy(loss(p, t))
        assert np.isfinite(out) or mode != "multiclass"


def test_mixed_libraries_rejected():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="y_pred and y_true"):
        anyiou.JaccardLoss("multiclass")(torch.zeros(2, 3, 4, 4), MC_LAB)


def test_non_array_rejected():
    with pytest.raises(TypeError, match="y_true"):
        anyiou.JaccardLoss("multiclass")(MC_PRED, [[0, 1]])


@pytest.mark.only_backends("torch")
def test_mixed_devices_rejected(backend):
    torch = backend.lib
    pred = torch.zeros(2, 3, 4, 4)
    labels = torch.zeros(2, 4, 4, dtype=torch.int64, device="meta")
    with pytest.raises(ValueError, match="same device"):
        anyiou.JaccardLoss("multiclass")(pred, labels)


# -- the same checks in every loss (one shared validation module) ----------------------

ALL_LOSSES = ["JaccardLoss", "DiceLoss", "TverskyLoss", "LovaszLoss"]


@pytest.mark.parametrize(("mode", "opts", "pred", "true", "exc", "name"), [c[1:] for c in LOSS_PAIR_ERRORS],
                         ids=[c[0] for c in LOSS_PAIR_ERRORS])
@pytest.mark.parametrize("loss_name", ALL_LOSSES[1:])
def test_every_loss_rejects_bad_pairs(backend, loss_name, mode, opts, pred, true, exc, name):
    loss = getattr(anyiou, loss_name)(mode)
    with pytest.raises(exc, match=name):
        loss(backend.asarray(pred), backend.asarray(true))


@pytest.mark.parametrize(("kwargs", "exc", "name"), [c[1:] for c in LOVASZ_CONSTRUCTOR_ERRORS],
                         ids=[c[0] for c in LOVASZ_CONSTRUCTOR_ERRORS])
def test_lovasz_constructor_rejects(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        anyiou.LovaszLoss(**kwargs)


@pytest.mark.parametrize(("opts", "exc", "name"), [c[1:] for c in LOVASZ_CALL_ERRORS],
                         ids=[c[0] for c in LOVASZ_CALL_ERRORS])
def test_lovasz_call_rejects(backend, opts, exc, name):
    loss = anyiou.LovaszLoss("multiclass", **opts)
    with pytest.raises(exc, match=name):
        loss(backend.asarray(MC_PRED), backend.asarray(MC_LAB))


# -- labels outside [0, C) where values are not checked (JAX, also under jit; Dask) ------

OVERLAP = {"JaccardLoss": (1.0, 1.0), "DiceLoss": (0.5, 0.5), "TverskyLoss": (0.5, 0.5)}


def _unchecked_multiclass():
    rng = np.random.default_rng(5)
    logits = rng.normal(0, 2, (2, 3, 4, 5)).astype(F32)
    labels = rng.integers(0, 3, (2, 4, 5))
    labels[0, 0, :] = 7
    labels[1, 2, :3] = -3
    labels[1, 3, 0] = 255
    return logits, labels


def _loss_calls(backend, loss):
    calls = [loss]
    if backend.name.startswith("jax"):
        import jax

        calls.append(jax.jit(loss))
    return calls


@pytest.mark.parametrize("ignore_index", [None, 255])
@pytest.mark.parametrize("loss_name", sorted(OVERLAP))
def test_unchecked_labels_follow_the_documented_rule(backend, loss_name, ignore_index):
    """docs/errors.md: where labels are not checked, a label outside [0, C) has a zero
    target row; its prediction still counts, unless ignore_index is given (then the pixel
    is masked like an ignored one)."""
    if backend.checks_values:
        pytest.skip("eager CPU arrays raise instead (test_label_values_checked_on_eager_arrays)")
    logits, labels = _unchecked_multiclass()
    in_range = (labels >= 0) & (labels < 3)
    keep = np.ones(labels.shape, bool) if ignore_index is None else in_range
    p = np_softmax(logits.astype(np.float64)) * keep[:, None]
    loss_c, present = np_tversky_losses(p, np_onehot(labels, 3), *OVERLAP[loss_name])
    expected = np.mean(loss_c * present)
    loss = getattr(anyiou, loss_name)("multiclass", ignore_index=ignore_index)
    for call in _loss_calls(backend, loss):
        got = backend.to_numpy(call(backend.asarray(logits), backend.asarray(labels)))
        np.testing.assert_allclose(got, expected, rtol=1e-5)


@pytest.mark.parametrize("ignore_index", [None, 255])
def test_unchecked_labels_lovasz_equals_smp(backend, ignore_index):
    """Lovasz-softmax: a label outside [0, C) that is not ignore_index is a pixel of no
    class (zero target row, its prediction counts) with or without ignore_index, as in
    smp, which needs no one-hot there and so does not crash either."""
    if backend.checks_values:
        pytest.skip("eager CPU arrays raise instead")
    logits, labels = _unchecked_multiclass()
    args = {"mode": "multiclass", "ignore_index": ignore_index}
    expected, _ = smp_value_and_grad("LovaszLoss", args, logits, labels)
    for call in _loss_calls(backend, anyiou.LovaszLoss(**args)):
        got = backend.to_numpy(call(backend.asarray(logits), backend.asarray(labels)))
        np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_unchecked_binary_targets_are_used_as_given(backend):
    """Binary/multilabel targets outside [0, 1] (255 without ignore_index) raise on eager
    CPU arrays; elsewhere they enter smp's formula as given (I = (sum(p) + sum(t) -
    sum(|p - t|)) / 2 = sum(min(p, t)), whatever the target dtype), so the loss is not the
    one of the intended 0/1 target: pass ignore_index for void pixels."""
    rng = np.random.default_rng(6)
    logits = rng.normal(0, 2, (2, 1, 4, 4)).astype(F32)
    target = rng.integers(0, 2, (2, 1, 4, 4))
    target[0, 0, 0, :] = 255
    loss = anyiou.JaccardLoss("binary")
    if backend.checks_values:
        with pytest.raises(ValueError, match="y_true"):
            loss(backend.asarray(logits), backend.asarray(target))
        return
    p, t = np_sigmoid(logits.astype(np.float64)), target.astype(np.float64)
    inter = (p.sum() + t.sum() - np.abs(p - t).sum()) / 2
    expected = 1 - inter / (p.sum() + t.sum() - inter)
    t01 = np.where(t > 1, 0.0, t)  # the loss of the target without the void pixels differs
    inter01 = (p.sum() + t01.sum() - np.abs(p - t01).sum()) / 2
    assert abs(expected - (1 - inter01 / (p.sum() + t01.sum() - inter01))) > 0.1
    for call in _loss_calls(backend, loss):
        got = backend.to_numpy(call(backend.asarray(logits), backend.asarray(target)))
        np.testing.assert_allclose(got, expected, rtol=1e-5)
