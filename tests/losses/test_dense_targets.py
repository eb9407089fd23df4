"""Multiclass one-hot and soft targets (``y_true`` of ``y_pred``'s shape) in the overlap
losses.

Oracles: a float64 NumPy reference of smp's formula with the dense target
(``I = (sum p + sum t - sum |p - t|) / 2``, p the softmax over the classes), its central
finite differences for gradients, MONAI's ``DiceLoss(softmax=True)`` on one-hot targets
(where its product ``sum(p * t)`` is the same formula), and, for one-hot targets, the
integer-label path on the same labels (checked against smp in test_overlap_parity).
"""

from __future__ import annotations

import numpy as np
import pytest

import anyiou
from anyiou.losses import dice_loss, jaccard_loss, tversky_loss
from tests.support.oracles import np_onehot, np_softmax, np_tversky_losses

F32 = np.float32
SHAPE = (2, 4, 5, 3)  # (N, C, H, W)
LOSSES = {"JaccardLoss": (1.0, 1.0), "DiceLoss": (0.5, 0.5), "TverskyLoss": (0.3, 0.7)}
FUNCTIONS = {"JaccardLoss": jaccard_loss, "DiceLoss": dice_loss, "TverskyLoss": tversky_loss}


def _make(name, **options):
    if name == "TverskyLoss":
        options = {"alpha": 0.3, "beta": 0.7, **options}
    return getattr(anyiou, name)("multiclass", **options)


def _logits(seed=0, dtype=F32, shape=SHAPE):
    return np.random.default_rng(seed).normal(0, 2, shape).astype(dtype)


def _labels(seed=1, shape=SHAPE):
    n, c, *s = shape
    return np.random.default_rng(seed).integers(0, c, (n, *s))


def _soft(seed=2, shape=SHAPE):
    """Soft targets: a softmax of random scores, so each pixel's row sums to 1."""
    return np_softmax(np.random.default_rng(seed).normal(0, 1, shape), axis=1)


def _reference(name, logits, target, *, from_logits=True, per_image=False):
    """float64 NumPy loss (smp's class mean, empty classes 0) of a dense (N, C, *S) target."""
    x = logits.astype(np.float64)
    p = np_softmax(x, axis=1) if from_logits else x
    loss_c, present = np_tversky_losses(p, target, *LOSSES[name], per_image=per_image)
    return np.mean(loss_c * present)


def _last(a):
    """(N, C, *S) -> (N, *S, C)."""
    return np.moveaxis(a, 1, -1)


# -- one-hot targets: the label path's value and gradient ---------------------------------


@pytest.mark.parametrize("dtype", [F32, np.float64, np.int64, np.uint8, bool],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", list(LOSSES))
def test_onehot_equals_labels_and_reference(backend, name, dtype):
    logits, labels = _logits(), _labels()
    onehot = np_onehot(labels, SHAPE[1]).astype(dtype)
    loss = _make(name)
    dense = backend.to_numpy(loss(backend.asarray(logits), backend.asarray(onehot)))
    sparse = backend.to_numpy(loss(backend.asarray(logits), backend.asarray(labels)))
    np.testing.assert_allclose(dense, _reference(name, logits, np_onehot(labels, 4)), rtol=1e-5)
    np.testing.assert_allclose(dense, sparse, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("channels_last", [False, True], ids=["first", "last"])
@pytest.mark.parametrize("name", list(LOSSES))
def test_onehot_gradient_equals_labels(ad_backend, name, channels_last, from_logits):
    """torch backward / jax.grad: one-hot float targets give the label path's gradient."""
    logits, labels = _logits(), _labels()
    if not from_logits:
        logits = np_softmax(logits.astype(np.float64), axis=1).astype(F32)
    onehot = np_onehot(labels, SHAPE[1]).astype(F32)
    axis = -1 if channels_last else 1
    if channels_last:
        logits, onehot = _last(logits), _last(onehot)
    loss = _make(name, class_axis=axis, from_logits=from_logits)
    t_dense = ad_backend.asarray(onehot)
    t_sparse = ad_backend.asarray(labels)
    v1, g1 = ad_backend.value_and_grad(lambda z: loss(z, t_dense), logits)
    v2, g2 = ad_backend.value_and_grad(lambda z: loss(z, t_sparse), logits)
    np.testing.assert_allclose(v1, v2, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(g1, g2, rtol=1e-5, atol=1e-7)


# -- soft targets: the float64 reference ---------------------------------------------------


@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("channels_last", [False, True], ids=["first", "last"])
@pytest.mark.parametrize("name", list(LOSSES))
def test_soft_targets_equal_reference(backend, name, channels_last, per_image):
    logits, soft = _logits(), _soft()
    expected = _reference(name, logits, soft, per_image=per_image)
    axis = -1 if channels_last else 1
    if channels_last:
        logits, soft = _last(logits), _last(soft)
    loss = _make(name, class_axis=axis, per_image=per_image)
    out = backend.to_numpy(loss(backend.asarray(logits), backend.asarray(soft.astype(F32))))
    np.testing.assert_allclose(out, expected, rtol=1e-5)


@pytest.mark.parametrize("name", list(LOSSES))
def test_soft_targets_from_probabilities(backend, name):
    """from_logits=False: y_pred is taken as given (no softmax), as for labels."""
    probs = np_softmax(_logits().astype(np.float64), axis=1)
    soft = _soft()
    out = _make(name, from_logits=False)(backend.asarray(probs), backend.asarray(soft))
    expected = _reference(name, probs, soft, from_logits=False)
    np.testing.assert_allclose(backend.to_numpy(out), expected, rtol=1e-10)


@pytest.mark.parametrize("name", list(LOSSES))
def test_function_forms_take_dense_targets(backend, name):
    logits, soft = _logits(), _soft()
    options = {"alpha": 0.3, "beta": 0.7} if name == "TverskyLoss" else {}
    out = FUNCTIONS[name](backend.asarray(logits), backend.asarray(soft.astype(F32)),
                          mode="multiclass", **options)
    np.testing.assert_allclose(backend.to_numpy(out), _reference(name, logits, soft), rtol=1e-5)


def _finite_differences(fn, x, h=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        g[i] = (fn(up) - fn(down)) / (2 * h)
    return g


@pytest.mark.parametrize("name", list(LOSSES))
def test_soft_target_gradient_equals_finite_differences(ad_backend, name):
    """float64 logits: the autodiff gradient (torch backward, jax.grad) is that of the
    float64 NumPy reference, by central differences."""
    shape = (2, 3, 2, 2)
    logits, soft = _logits(dtype=np.float64, shape=shape), _soft(shape=shape)
    loss = _make(name)
    target = ad_backend.asarray(soft)
    value, grad = ad_backend.value_and_grad(lambda z: loss(z, target), logits)
    np.testing.assert_allclose(value, _reference(name, logits, soft), rtol=1e-12)
    expected = _finite_differences(lambda z: _reference(name, z, soft), logits)
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-9)


@pytest.mark.only_backends("jax")
@pytest.mark.parametrize("name", list(LOSSES))
def test_jit_grad_with_dense_targets(backend, name):
    import jax

    logits, labels, soft = _logits(), _labels(), _soft()
    loss = _make(name, class_axis=-1)
    x = backend.asarray(_last(logits))
    onehot = backend.asarray(_last(np_onehot(labels, SHAPE[1])).astype(F32))
    value_and_grad = jax.jit(jax.value_and_grad(loss))
    v_dense, g_dense = value_and_grad(x, onehot)
    v_sparse, g_sparse = jax.jit(jax.value_and_grad(loss))(x, backend.asarray(labels))
    np.testing.assert_allclose(np.asarray(v_dense), np.asarray(v_sparse), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(g_dense), np.asarray(g_sparse), rtol=1e-5, atol=1e-7)
    v_soft = jax.jit(loss)(x, backend.asarray(_last(soft).astype(F32)))
    np.testing.assert_allclose(np.asarray(v_soft), _reference(name, logits, soft), rtol=1e-5)


# -- MONAI ---------------------------------------------------------------------------------


def test_dice_equals_monai_on_onehot(backend):
    """MONAI's DiceLoss(softmax=True, batch=True, smooth 0) averages 1 - 2 sum(p t) /
    (sum p + sum t) over classes: anyiou's DiceLoss for one-hot targets (for soft targets
    MONAI's product differs from smp's L1 form, so only one-hot is compared)."""
    monai = pytest.importorskip("monai.losses")
    torch = pytest.importorskip("torch")
    logits, labels = _logits(), _labels()
    onehot = np_onehot(labels, SHAPE[1]).astype(F32)
    expected = monai.DiceLoss(softmax=True, batch=True, smooth_nr=0.0, smooth_dr=0.0)(
        torch.from_numpy(logits), torch.from_numpy(onehot)
    )
    out = anyiou.DiceLoss("multiclass")(backend.asarray(logits), backend.asarray(onehot))
    np.testing.assert_allclose(backend.to_numpy(out), expected.numpy(), rtol=1e-5)


# -- the shape decides; what is refused -------------------------------------------------------


def test_single_class_integer_target_stays_labels(backend):
    """C = 1: integer (N, 1, *S) is labels (class 0 everywhere: a target of ones), a float
    one of that shape a dense target (here all zeros)."""
    shape = (2, 1, 3, 3)
    logits = _logits(shape=shape)
    zeros = np.zeros(shape)
    loss = anyiou.JaccardLoss("multiclass")
    labels = backend.to_numpy(loss(backend.asarray(logits), backend.asarray(zeros.astype(np.int64))))
    dense = backend.to_numpy(loss(backend.asarray(logits), backend.asarray(zeros.astype(F32))))
    np.testing.assert_allclose(labels, _reference("JaccardLoss", logits, np.ones(shape)),
                               atol=1e-6)
    np.testing.assert_allclose(dense, _reference("JaccardLoss", logits, zeros), atol=1e-6)
    assert labels == pytest.approx(0.0, abs=1e-6)  # softmax over one class is 1 everywhere
    assert dense == pytest.approx(0.0, abs=1e-6)  # no target pixel: the class counts 0


def test_lovasz_rejects_dense_targets(backend):
    onehot = np_onehot(_labels(), SHAPE[1]).astype(F32)
    with pytest.raises(ValueError, match="y_true.*LovaszLoss.*integer labels"):
        anyiou.LovaszLoss("multiclass")(backend.asarray(_logits()), backend.asarray(onehot))


def test_dense_target_with_ignore_index_is_refused(backend):
    onehot = np_onehot(_labels(), SHAPE[1]).astype(F32)
    loss = anyiou.DiceLoss("multiclass", ignore_index=255)
    with pytest.raises(ValueError, match="ignore_index=255 applies to integer labels"):
        loss(backend.asarray(_logits()), backend.asarray(onehot))


def test_wrong_shape_lists_the_accepted_forms(backend):
    with pytest.raises(ValueError, match=r"integer labels of shape .* or a one-hot or soft"):
        anyiou.JaccardLoss("multiclass")(backend.asarray(_logits()),
                                         backend.asarray(np.zeros((2, 3, 5, 3), F32)))
