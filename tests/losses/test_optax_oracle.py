"""`anyiou.optax` against optax 0.2.8 itself, the oracle, on JAX: values (1e-5) and
gradients, eager and under ``jax.jit``, ``jax.vmap`` and ``jax.grad``, with the cases of
optax's own tests (``optax/losses/_segmentation_test.py``), and each divergence that
docs/migrating_optax.md lists shown against optax's own behaviour."""

from __future__ import annotations

import functools
import subprocess
import sys

import numpy as np
import pytest

from anyiou import optax as anyiou_optax
from tests.losses.test_optax_dropin import CASES, multiclass
from tests.support import optax_reference as ref

pytestmark = pytest.mark.only_backends("jax")

RTOL, ATOL = 1e-5, 1e-6


@pytest.fixture
def optax():
    """optax itself: the jax session installs it, so a missing optax fails there (the
    module is deselected in the other sessions)."""
    import optax

    return optax


def _jnp(*arrays):
    import jax.numpy as jnp

    return tuple(jnp.asarray(a) for a in arrays)


def _kwargs(kw):
    import jax.numpy as jnp

    return {k: jnp.asarray(v, dtype=jnp.float32) if k == "class_weights" else v
            for k, v in kw.items()}


@pytest.mark.parametrize(  # the other cases: the float64 reference (test_optax_dropin.py)
    "case", ["default", "tversky_sum", "weights_background", "global_batch", "split_axes"])
def test_dice_loss_values_and_gradients(backend, optax, case):
    import jax

    kw = _kwargs(CASES[case])
    logits, labels = multiclass(10)
    x, t = _jnp(logits, np.eye(3, dtype=np.float32)[labels])

    def total(fn):
        return lambda z: fn(z, t, **kw).sum()

    expected, g_expected = jax.value_and_grad(total(optax.losses.dice_loss))(x)
    got, g_got = jax.value_and_grad(total(anyiou_optax.dice_loss))(x)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(g_got, g_expected, rtol=RTOL, atol=1e-7)
    per_example = anyiou_optax.dice_loss(x, t, **kw)
    np.testing.assert_allclose(per_example, optax.losses.dice_loss(x, t, **kw),
                               rtol=RTOL, atol=ATOL)


def test_numpy_targets(backend, optax):
    """NumPy targets beside JAX logits, as optax takes them (also under jit)."""
    import jax

    logits, labels = multiclass(20)
    onehot = np.eye(3, dtype=np.float32)[labels]
    (x,) = _jnp(logits)
    expected = optax.losses.dice_loss(x, onehot)
    np.testing.assert_allclose(anyiou_optax.dice_loss(x, onehot), expected, rtol=RTOL)
    np.testing.assert_allclose(jax.jit(lambda z: anyiou_optax.dice_loss(z, onehot))(x),
                               expected, rtol=RTOL)
    np.testing.assert_allclose(anyiou_optax.multiclass_generalized_dice_loss(x, labels),
                               optax.losses.multiclass_generalized_dice_loss(x, onehot),
                               rtol=RTOL)


def test_mask_under_jit(backend, optax):
    """anyiou's mask (no optax counterpart: the float64 reference) as a traced argument,
    with labels and with one-hot targets, and its gradient."""
    import jax

    logits, labels = multiclass(21)
    keep = np.random.default_rng(21).random(labels.shape) > 0.3
    x, y, m = _jnp(logits, labels, keep)
    onehot = np.eye(3, dtype=np.float32)[labels]
    expected = ref.dice_loss(logits, onehot, valid=keep.astype(float))
    for t in (y, _jnp(onehot)[0]):
        got = jax.jit(lambda z, mm, t=t: anyiou_optax.dice_loss(z, t, mask=mm))(x, m)
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)
    g = jax.jit(jax.grad(lambda z: anyiou_optax.dice_loss(z, y, mask=m).sum()))(x)
    assert not np.asarray(g)[~keep].any()  # masked pixels get no gradient


@pytest.mark.parametrize("axis", [(0, 2), (1, 2, 3)], ids=str)
def test_labels_with_an_axis_are_their_one_hot(backend, optax, axis):
    """Integer labels with another ``axis`` than the default: optax's value and gradient
    of their one-hot target, under ``jax.jit`` too."""
    import jax

    logits, labels = multiclass(22)
    x, y, t = _jnp(logits, labels, np.eye(3, dtype=np.float32)[labels])
    expected, g_expected = jax.value_and_grad(
        lambda z: optax.losses.dice_loss(z, t, axis=axis).sum())(x)
    got, g_got = jax.jit(jax.value_and_grad(
        lambda z: anyiou_optax.dice_loss(z, y, axis=axis).sum()))(x)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(g_got, g_expected, rtol=RTOL, atol=1e-7)


def test_jit_and_vmap(backend, optax):
    """optax's jit and vmap tests, and a jitted gradient."""
    import jax

    rng = np.random.default_rng(11)
    x, t = _jnp(rng.normal(size=(4, 8, 1)).astype(np.float32), rng.random((4, 8, 1)) > 0.7)
    np.testing.assert_allclose(jax.jit(anyiou_optax.dice_loss)(x, t),
                               optax.losses.dice_loss(x, t), rtol=RTOL, atol=ATOL)

    def single(fn):
        return lambda p, y: fn(p[None, ...], y[None, ...])

    got = jax.jit(jax.vmap(single(anyiou_optax.dice_loss)))(x, t)
    assert got.shape == (4, 1)
    np.testing.assert_allclose(got, jax.vmap(single(optax.losses.dice_loss))(x, t),
                               rtol=RTOL, atol=ATOL)
    logits, labels = multiclass(12)
    x, t = _jnp(logits, np.eye(3, dtype=np.float32)[labels])
    opts = {"alpha": 0.2, "beta": 0.8, "ignore_background": True}

    def grad(fn):
        return jax.jit(jax.grad(lambda z: fn(z, t, **opts).mean()))

    np.testing.assert_allclose(grad(anyiou_optax.dice_loss)(x),
                               grad(optax.losses.dice_loss)(x), rtol=RTOL, atol=1e-7)


def test_traced_options(backend, optax):
    """smooth, alpha, beta and class weights may be traced arrays (optax's ArrayLike)."""
    import jax
    import jax.numpy as jnp

    logits, labels = multiclass(13)
    x, t = _jnp(logits, np.eye(3, dtype=np.float32)[labels])

    def loss(fn):
        return jax.jit(lambda s, a, w: fn(x, t, smooth=s, alpha=a, beta=1 - a,
                                          class_weights=w).mean())

    args = (jnp.float32(0.5), jnp.float32(0.3), jnp.asarray([1.0, 2.0, 0.5], jnp.float32))
    np.testing.assert_allclose(loss(anyiou_optax.dice_loss)(*args),
                               loss(optax.losses.dice_loss)(*args), rtol=RTOL)
    g = jax.grad(loss(anyiou_optax.dice_loss), argnums=(0, 1, 2))(*args)
    g_optax = jax.grad(loss(optax.losses.dice_loss), argnums=(0, 1, 2))(*args)
    for ours, theirs in zip(g, g_optax, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("ignore_background", [False, True])
def test_generalized_dice(backend, optax, ignore_background):
    """optax's imbalanced case; jitted values and gradients."""
    import jax

    rng = np.random.default_rng(14)
    logits = rng.normal(size=(4, 8, 8, 3)).astype(np.float32)
    labels = rng.choice(3, (4, 8, 8), p=[0.8, 0.15, 0.05])
    x, t = _jnp(logits, np.eye(3, dtype=np.float32)[labels])

    def loss(fn):
        return jax.jit(jax.value_and_grad(functools.partial(
            lambda z, f: f(z, t, ignore_background=ignore_background), f=fn)))

    (v, g), (v_optax, g_optax) = (loss(anyiou_optax.multiclass_generalized_dice_loss)(x),
                                  loss(optax.losses.multiclass_generalized_dice_loss)(x))
    np.testing.assert_allclose(v, v_optax, rtol=RTOL)
    np.testing.assert_allclose(g, g_optax, rtol=RTOL, atol=1e-7)
    # integer labels (no one-hot) give the same, eagerly
    np.testing.assert_allclose(
        anyiou_optax.multiclass_generalized_dice_loss(
            x, _jnp(labels)[0], ignore_background=ignore_background), v_optax, rtol=RTOL)


def test_binary_dice_loss(backend, optax):
    import jax

    rng = np.random.default_rng(15)
    x, t = _jnp(rng.normal(size=(2, 16, 16)).astype(np.float32), rng.random((2, 16, 16)) > 0.7)
    for z, y in ((x, t), (x[..., None], t[..., None])):
        v, g = jax.value_and_grad(
            lambda p, y=y: anyiou_optax.binary_dice_loss(p, y).sum())(z)
        v_o, g_o = jax.value_and_grad(
            lambda p, y=y: optax.losses.binary_dice_loss(p, y).sum())(z)
        np.testing.assert_allclose(v, v_o, rtol=RTOL)
        np.testing.assert_allclose(g, g_o, rtol=RTOL, atol=1e-7)


# -- the divergences (docs/migrating_optax.md), each against optax's own behaviour ------


def test_labels_where_optax_needs_a_one_hot(backend, optax):
    import jax

    logits, labels = multiclass(16)
    x, y = _jnp(logits, labels)
    with pytest.raises(ValueError):
        optax.losses.dice_loss(x, y)
    expected = optax.losses.dice_loss(x, jax.nn.one_hot(y, 3))
    np.testing.assert_allclose(anyiou_optax.dice_loss(x, y), expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(jax.jit(anyiou_optax.dice_loss)(x, y), expected, rtol=RTOL,
                               atol=ATOL)


def test_single_channel_probabilities(backend, optax):
    """optax asks one channel of probabilities to sum to 1 over that channel, so
    ``binary_dice_loss(..., apply_sigmoid=False)`` raises for any input but all ones;
    anyiou takes probabilities (and under jit, where optax cannot check at all)."""
    import jax

    rng = np.random.default_rng(17)
    p, t = _jnp(rng.random((2, 6, 6)).astype(np.float32), rng.random((2, 6, 6)) > 0.5)
    with pytest.raises(ValueError, match="valid probability distributions"):
        optax.losses.binary_dice_loss(p, t, apply_sigmoid=False)
    expected = optax.losses.binary_dice_loss(jax.scipy.special.logit(p), t)
    np.testing.assert_allclose(anyiou_optax.binary_dice_loss(p, t, apply_sigmoid=False),
                               expected, rtol=1e-4)
    np.testing.assert_allclose(
        jax.jit(functools.partial(anyiou_optax.dice_loss, apply_softmax=False))(
            p[..., None], t[..., None]), expected, rtol=1e-4)


def test_no_probability_check_on_jax(backend, optax):
    """anyiou reads no values of JAX arrays: invalid probabilities are not rejected
    (optax raises eagerly, and cannot trace the check under jit)."""
    import jax

    rng = np.random.default_rng(18)
    p, t = _jnp(rng.random((2, 4, 4, 3)).astype(np.float32), rng.random((2, 4, 4, 3)) > 0.5)
    with pytest.raises(ValueError):
        optax.losses.dice_loss(p, t, apply_softmax=False)
    with pytest.raises(jax.errors.TracerBoolConversionError):
        jax.jit(functools.partial(optax.losses.dice_loss, apply_softmax=False))(p, t)
    got = anyiou_optax.dice_loss(p, t, apply_softmax=False, reduction="none")
    pn, tn = np.asarray(p, np.float64), np.asarray(t, np.float64)
    inter, ps, ts = ((pn * tn).sum((1, 2)), pn.sum((1, 2)), tn.sum((1, 2)))
    np.testing.assert_allclose(got, 1 - (inter + 1) / ((ps + ts) / 2 + 1), rtol=1e-5)


def test_zero_smooth_empty_class(backend, optax):
    x, t = _jnp(np.full((1, 2, 2, 1), -1000.0, np.float32), np.zeros((1, 2, 2, 1), np.float32))
    assert np.isnan(optax.losses.dice_loss(x, t, smooth=0.0)).all()
    np.testing.assert_array_equal(anyiou_optax.dice_loss(x, t, smooth=0.0), [1.0])


def test_anyiou_optax_does_not_shadow_optax(backend, optax):
    code = ("import anyiou.optax, optax, optax.losses; "
            "assert optax.losses.dice_loss is not anyiou.optax.dice_loss; "
            "print(optax.__name__, 'anyiou' in optax.__file__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300)
    assert out.stdout.split() == ["optax", "False"]


def test_generalized_dice_volumes_do_not_overflow(backend, optax):
    """optax squares integer class volumes in their dtype: past 46340 pixels of a class,
    int32 one-hot targets wrap around (JAX's default, without x64) and change the
    weights; anyiou's volumes are float sums, so int32 targets give the loss of float32
    ones."""
    import jax

    rng = np.random.default_rng(19)
    logits = rng.normal(size=(1, 256, 256, 2)).astype(np.float32)
    onehot = np.eye(2, dtype=np.int32)[(rng.random((1, 256, 256)) > 0.1).astype(np.int32)]
    with jax.enable_x64(False):  # the session enables x64; optax's users mostly do not
        x, t_int, t_float = _jnp(logits, onehot, onehot.astype(np.float32))
        right = float(optax.losses.multiclass_generalized_dice_loss(x, t_float))
        wrapped = float(optax.losses.multiclass_generalized_dice_loss(x, t_int))
        ours = float(anyiou_optax.multiclass_generalized_dice_loss(x, t_int))
    assert abs(wrapped - right) > 1e-2
    assert ours == pytest.approx(right, rel=RTOL)
