"""Input dtypes and ignore_index of the losses: every integer label dtype gives the int64
result, ignore_index is compared by value (an ignore_index outside the label dtype's
range matches nothing), uint64 labels from 2**63 are out of range (never wrapped into a
class), and options given as arrays, strings or bytes are rejected when a loss is built.

Oracles: smp 0.6.0 on int64 labels, and float64 NumPy references written from the
formulas (tests/support/oracles.py).
"""

from __future__ import annotations

import numpy as np
import pytest

import anyiou
from tests.support.oracles import (
    np_onehot,
    np_sigmoid,
    np_softmax,
    np_tversky_losses,
    smp_value_and_grad,
)

F32 = np.float32
SMP_LOSSES = ["JaccardLoss", "DiceLoss", "TverskyLoss", "LovaszLoss"]
INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
OVERLAP = {"JaccardLoss": (1.0, 1.0), "DiceLoss": (0.5, 0.5), "TverskyLoss": (0.5, 0.5)}


def _logits(shape, seed=0):
    return np.random.default_rng(seed).normal(0, 2, shape).astype(F32)


def _labels(seed=1, void=None):
    labels = np.random.default_rng(seed).integers(0, 3, (2, 4, 5))
    if void is not None:
        labels[0, 0, :] = void
        labels[1, 2, :2] = void
    return labels


def _smp(name, labels, **args):
    value, _ = smp_value_and_grad(name, {"mode": "multiclass", **args}, _logits((2, 3, 4, 5)),
                                  labels)
    return value


def _call(backend, name, labels, **args):
    loss = getattr(anyiou, name)("multiclass", **args)
    return backend.to_numpy(loss(backend.asarray(_logits((2, 3, 4, 5))), backend.asarray(labels)))


# -- rule: every integer label dtype gives the int64 result --------------------------------


@pytest.mark.parametrize("dtype", INT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", SMP_LOSSES)
def test_every_integer_label_dtype_equals_smp_on_int64(backend, name, dtype):
    """uint16/uint32/uint64 labels used to fail on torch ("aminmax_cpu" not implemented);
    each dtype, with a void value the dtype can hold, gives smp's int64 result."""
    void = -100 if np.dtype(dtype).kind == "i" and np.dtype(dtype).itemsize == 1 else 255
    labels = _labels(void=void)
    expected = _smp(name, labels, ignore_index=void)
    got = _call(backend, name, labels.astype(dtype), ignore_index=void)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", SMP_LOSSES)
def test_bool_labels_are_classes_zero_and_one(backend, name):
    labels = _labels() % 2
    logits = _logits((2, 2, 4, 5))
    expected, _ = smp_value_and_grad(name, {"mode": "multiclass"}, logits, labels)
    loss = getattr(anyiou, name)("multiclass")
    got = backend.to_numpy(loss(backend.asarray(logits), backend.asarray(labels.astype(bool))))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [*INT_DTYPES, np.bool_], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("mode", ["binary", "multilabel"])
def test_every_integer_target_dtype_equals_smp_on_int64(backend, mode, dtype):
    rng = np.random.default_rng(2)
    shape = (2, 1, 4, 5) if mode == "binary" else (2, 3, 4, 5)
    logits, target = _logits(shape), rng.integers(0, 2, shape)
    for name in SMP_LOSSES:
        expected, _ = smp_value_and_grad(name, {"mode": mode}, logits, target)
        loss = getattr(anyiou, name)(mode)
        got = backend.to_numpy(loss(backend.asarray(logits), backend.asarray(target.astype(dtype))))
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=name)


# -- rule: ignore_index by value, never wrapped into the label dtype -----------------------


@pytest.mark.parametrize(
    ("dtype", "ignore_index"),
    [(np.uint8, -1), (np.uint8, 256), (np.int8, 255), (np.int8, -129), (np.int32, 2**31),
     (np.uint16, -100), (np.uint64, -1)],
    ids=lambda v: np.dtype(v).name if isinstance(v, type) else str(v),
)
@pytest.mark.parametrize("name", SMP_LOSSES)
def test_ignore_index_outside_the_label_dtype_matches_nothing(backend, name, dtype, ignore_index):
    """Valid labels with an ignore_index that no value of their dtype can equal: the
    result of smp with int64 labels and that ignore_index (which matches nothing there
    either). array-api-strict used to raise OverflowError, JAX (int32) too."""
    labels = _labels()
    expected = _smp(name, labels, ignore_index=ignore_index)
    np.testing.assert_allclose(expected, _smp(name, labels), rtol=1e-6)  # matches nothing
    got = _call(backend, name, labels.astype(dtype), ignore_index=ignore_index)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def _masked_multiclass_reference(name, labels, keep):
    """float64 multiclass loss with the pixels outside ``keep`` masked (prediction and
    target 0), as docs/errors.md describes for ignored and unchecked pixels."""
    p = np_softmax(_logits((2, 3, 4, 5)).astype(np.float64)) * keep[:, None]
    onehot = np_onehot(np.where(keep, labels, 0), 3) * keep[:, None]
    loss_c, present = np_tversky_losses(p, onehot, *OVERLAP[name])
    return np.mean(loss_c * present)


@pytest.mark.parametrize(
    ("dtype", "void", "ignore_index"),
    [(np.uint8, 255, -1), (np.int8, -1, 255), (np.uint64, 2**64 - 1, -1),
     (np.uint64, 2**63 + 1, -(2**63) + 1)],
    ids=["uint8-255-ignore-minus-1", "int8-minus-1-ignore-255", "uint64-max-ignore-minus-1",
         "uint64-2**63+1"],
)
@pytest.mark.parametrize("name", sorted(OVERLAP))
def test_void_label_is_not_wrapped_onto_ignore_index(backend, name, dtype, void, ignore_index):
    """uint8 255 is not -1, int8 -1 is not 255, uint64 2**64 - 1 is not -1: such labels
    are out of range. Eager arrays raise (torch used to ignore them silently); elsewhere
    they are masked like other out-of-range labels with ignore_index given."""
    labels = _labels(void=0)
    raw = labels.astype(dtype)
    raw[0, 0, :] = void
    loss = getattr(anyiou, name)("multiclass", ignore_index=ignore_index)
    x, t = backend.asarray(_logits((2, 3, 4, 5))), backend.asarray(raw)
    if backend.checks_values:
        lo, hi = min(0, void), max(int(labels.max()), void)
        with pytest.raises(ValueError, match=rf"y_true holds labels outside \[0, 3\).*"
                                             rf"found values in \[{lo}, {hi}\]"):
            loss(x, t)
        return
    keep = np.ones(labels.shape, bool)
    keep[0, 0, :] = False
    expected = _masked_multiclass_reference(name, labels, keep)
    np.testing.assert_allclose(backend.to_numpy(loss(x, t)), expected, rtol=1e-5)


def test_uint64_labels_from_2_63_are_never_a_class(backend):
    """2**64 - 3 wraps to -3 and 2**63 + 2 to a large negative int64: neither may become
    class 0, 1 or 2 (Lovasz: a pixel of no class, as smp treats any label outside [0, C))."""
    labels = _labels(void=0)
    raw = labels.astype(np.uint64)
    raw[0, 0, :2] = 2**64 - 3
    raw[1, 1, :1] = 2**63 + 2
    loss = anyiou.LovaszLoss("multiclass")
    x, t = backend.asarray(_logits((2, 3, 4, 5))), backend.asarray(raw)
    if backend.checks_values:
        with pytest.raises(ValueError, match=r"found values in \[0, 18446744073709551613\]"):
            loss(x, t)
        return
    out_of_range = labels.copy()
    out_of_range[0, 0, :2] = 7
    out_of_range[1, 1, :1] = 7
    expected, _ = smp_value_and_grad("LovaszLoss", {"mode": "multiclass"},
                                     _logits((2, 3, 4, 5)), out_of_range)
    np.testing.assert_allclose(backend.to_numpy(loss(x, t)), expected, rtol=1e-5)


@pytest.mark.parametrize("name", SMP_LOSSES)
def test_binary_targets_uint8_with_negative_ignore_index(backend, name):
    """Binary uint8 targets with ignore_index=-1: nothing is ignored (strict used to raise
    OverflowError), the result of smp with int64 targets."""
    rng = np.random.default_rng(3)
    logits, target = _logits((2, 1, 4, 5)), rng.integers(0, 2, (2, 1, 4, 5))
    expected, _ = smp_value_and_grad(name, {"mode": "binary", "ignore_index": -1}, logits, target)
    loss = getattr(anyiou, name)("binary", ignore_index=-1)
    got = backend.to_numpy(loss(backend.asarray(logits), backend.asarray(target.astype(np.uint8))))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64], ids=lambda d: d.__name__)
def test_float_targets_compare_ignore_index_by_value(backend, dtype):
    """Soft targets: 255.0 equals ignore_index=255; 2049 is not a float16 value (it would
    round to 2048), so ignore_index=2049 matches nothing in float16 targets."""
    if dtype == np.float16 and backend.name == "array_api_strict":
        pytest.skip("array_api_strict has no float16")
    rng = np.random.default_rng(4)
    logits = _logits((2, 1, 6))
    target = rng.uniform(0, 1, (2, 1, 6)).astype(dtype)
    target[0, 0, :2] = 255
    p = np_sigmoid(logits.astype(np.float64))
    keep = target != 255
    t = np.where(keep, target, 0).astype(np.float64)
    p = p * keep
    inter = (p.sum() + t.sum() - np.abs(p - t).sum()) / 2
    expected = 1 - inter / (p.sum() + t.sum() - inter)
    loss = anyiou.JaccardLoss("binary", ignore_index=255)
    got = backend.to_numpy(loss(backend.asarray(logits), backend.asarray(target)))
    np.testing.assert_allclose(got, expected, rtol=1e-3 if dtype == np.float16 else 1e-5)
    # 2048 stands in the target; ignore_index=2049 is not a float16 value: nothing ignored
    target[0, 0, :2] = 2048
    loss = anyiou.JaccardLoss("binary", ignore_index=2049)
    if backend.checks_values:
        with pytest.raises(ValueError, match=r"y_true must hold 0/1.*\[0\.\d+, 2048\.0\]"):
            loss(backend.asarray(logits), backend.asarray(target))


# -- rule: NaN targets ---------------------------------------------------------------------


@pytest.mark.parametrize("name", SMP_LOSSES)
@pytest.mark.parametrize("mode", ["binary", "multilabel"])
def test_nan_target_rejected_on_eager_arrays(backend, name, mode):
    shape = (2, 1, 4) if mode == "binary" else (2, 2, 4)
    target = np.zeros(shape, F32)
    target[1, 0, 2] = np.nan
    loss = getattr(anyiou, name)(mode)
    x, t = backend.asarray(_logits(shape)), backend.asarray(target)
    if backend.checks_values:
        with pytest.raises(ValueError, match="y_true must hold 0/1 or soft targets.*found NaN"):
            loss(x, t)
    else:  # not inspected: NaN enters the formula and propagates (no silent number)
        assert np.isnan(backend.to_numpy(loss(x, t)))


# -- rule: options checked when the loss is built ------------------------------------------


def test_numpy_scalars_and_bools_are_accepted():
    """NumPy bools for flags, NumPy integers for classes/ignore_index and 0-d arrays for
    numbers give the loss of the same Python values (smp's value)."""
    labels = _labels(void=255)
    expected = _smp("DiceLoss", labels, classes=[0, 2], log_loss=True, smooth=1.0,
                    ignore_index=255)
    loss = anyiou.DiceLoss("multiclass", classes=np.array([0, 2]), log_loss=np.bool_(True),
                           from_logits=np.True_, smooth=np.array(1.0),
                           ignore_index=np.uint8(255), per_image=np.False_)
    assert loss.classes == (0, 2) and loss.log_loss is True and loss.per_image is False
    assert type(loss.ignore_index) is int and type(loss.smooth) is float
    got = loss(_logits((2, 3, 4, 5)), labels)
    np.testing.assert_allclose(got, expected, rtol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "exc", "says"),
    [
        (dict(alpha=np.array([0.3])), TypeError, "alpha"),
        (dict(beta=[0.7]), TypeError, "beta"),
        (dict(gamma="2"), TypeError, "gamma"),
        (dict(alpha=np.True_), TypeError, "alpha"),
    ],
    ids=["alpha-array", "beta-list", "gamma-str", "alpha-numpy-bool"],
)
def test_tversky_weights_must_be_numbers(kwargs, exc, says):
    with pytest.raises(exc, match=says):
        anyiou.TverskyLoss("multiclass", **kwargs)


@pytest.mark.only_backends("torch")
def test_torch_scalar_options(backend):
    """torch.tensor(1) is one class index, not a sequence of classes; a 0-d integer tensor
    is a valid ignore_index."""
    torch = backend.lib
    with pytest.raises(TypeError, match="classes must be a sequence"):
        anyiou.JaccardLoss("multiclass", classes=torch.tensor(1))
    labels = _labels(void=255)
    loss = anyiou.JaccardLoss("multiclass", classes=torch.tensor([1, 2]),
                              ignore_index=torch.tensor(255))
    assert loss.classes == (1, 2) and loss.ignore_index == 255
    expected = _smp("JaccardLoss", labels, classes=[1, 2], ignore_index=255)
    got = loss(backend.asarray(_logits((2, 3, 4, 5))), backend.asarray(labels))
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-5)


@pytest.mark.only_backends("jax")
@pytest.mark.parametrize("name", SMP_LOSSES)
def test_jax_without_x64_ignore_index_beyond_int32(backend, name):
    """int32 labels (JAX without 64-bit mode) with ignore_index=2**31: nothing ignored,
    smp's result (it used to raise OverflowError), eagerly and under jit."""
    import jax
    import jax.numpy as jnp

    labels = _labels()
    expected = _smp(name, labels)
    loss = getattr(anyiou, name)("multiclass", ignore_index=2**31)
    with jax.enable_x64(False):
        x, t = jnp.asarray(_logits((2, 3, 4, 5))), jnp.asarray(labels, dtype=jnp.int32)
        assert t.dtype == jnp.int32
        for call in (loss, jax.jit(loss)):
            np.testing.assert_allclose(np.asarray(call(x, t)), expected, rtol=1e-5, atol=1e-6)
