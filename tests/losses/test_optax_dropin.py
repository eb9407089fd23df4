"""`anyiou.optax` on every backend against optax's formulas restated in float64 NumPy
(tests/support/optax_reference.py), with the cases of optax's own tests
(``optax/losses/_segmentation_test.py``) and the documented divergences
(docs/migrating_optax.md). optax itself is the oracle on JAX in test_optax_oracle.py."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from anyiou.optax import binary_dice_loss, dice_loss, multiclass_generalized_dice_loss
from tests.docs.test_pages import _sessions
from tests.support import optax_reference as ref

RTOL, ATOL = 1e-5, 1e-6


def multiclass(seed: int = 0, shape=(2, 5, 4), classes: int = 3):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 2.0, (*shape, classes)).astype(np.float32)
    labels = rng.integers(0, classes, shape)
    return logits, labels


#: (name, keyword arguments of dice_loss): optax's options, one or two per case
CASES = {
    "default": {},
    "none": {"reduction": "none"},
    "tversky_sum": {"alpha": 0.3, "beta": 0.7, "reduction": "sum"},
    "weights_background": {"class_weights": [1.0, 2.0, 0.5], "ignore_background": True},
    "global_batch": {"axis": (0, 1, 2)},
    "one_spatial_axis": {"axis": 1, "reduction": "none"},
    "split_axes": {"axis": (0, 2)},
    "smooth10": {"smooth": 10.0},
}


@pytest.mark.lazy_subset("case", ("default", "weights_background", "one_spatial_axis",
                                  "split_axes"))
@pytest.mark.parametrize("case", list(CASES))
def test_dice_loss_is_optax_formula(backend, case):
    kw = CASES[case]
    logits, labels = multiclass()
    onehot = ref.one_hot(labels, 3).astype(np.float32)
    expected = ref.dice_loss(logits, onehot, **kw)
    got = backend.to_numpy(dice_loss(backend.asarray(logits), backend.asarray(onehot), **kw))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


def test_probabilities_and_soft_targets(backend):
    logits, _ = multiclass(1)
    e = np.exp(logits - logits.max(-1, keepdims=True))
    probs = (e / e.sum(-1, keepdims=True)).astype(np.float32)
    soft = np.random.default_rng(2).dirichlet(np.ones(3), logits.shape[:-1]).astype(np.float32)
    expected = ref.dice_loss(probs, soft, apply_softmax=False, reduction="none")
    got = dice_loss(backend.asarray(probs), backend.asarray(soft), apply_softmax=False,
                    reduction="none")
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=RTOL, atol=ATOL)


def test_binary_shapes(backend):
    """optax's shape rules: the channel axis may be missing on either side."""
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(2, 6, 5)).astype(np.float32)
    mask = rng.random((2, 6, 5)) > 0.6  # bool targets, as optax's tests use
    expected = ref.binary_dice_loss(logits, mask)
    x, y = backend.asarray(logits), backend.asarray(mask)
    for got in (binary_dice_loss(x, y), binary_dice_loss(x[..., None], y[..., None]),
                dice_loss(x, y[..., None]), dice_loss(x[..., None], y),
                binary_dice_loss(x, mask)):  # NumPy targets beside any library's logits
        assert tuple(got.shape) == (2,)
        np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("ignore_index", [None, 2])
def test_labels_are_their_one_hot(backend, ignore_index):
    """anyiou's addition: integer labels give the loss of their one-hot target (optax
    raises a shape mismatch); ignored pixels count in neither prediction nor target."""
    logits, labels = multiclass(4, classes=4)
    labels[0, 0] = 2
    valid = None if ignore_index is None else (labels != ignore_index).astype(np.float64)
    onehot = ref.one_hot(np.where(labels == 2, 0, labels) if valid is not None else labels, 4)
    kw = {} if ignore_index is None else {"ignore_index": ignore_index}
    x, y = backend.asarray(logits), backend.asarray(labels)
    expected = ref.dice_loss(logits, onehot, reduction="none", valid=valid)
    got = dice_loss(x, y, reduction="none", **kw)
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=RTOL, atol=ATOL)
    expected = ref.generalized_dice_loss(logits, onehot, valid=valid)
    got = multiclass_generalized_dice_loss(x, y, **kw)
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=RTOL, atol=ATOL)


def test_mask(backend):
    """anyiou's addition: masked pixels count in neither prediction nor target, for
    one-hot targets, labels (where it agrees with ignore_index), binary targets and the
    Generalized Dice's class volumes."""
    logits, labels = multiclass(9, classes=3)
    keep = np.random.default_rng(9).random(labels.shape) > 0.3
    onehot = ref.one_hot(labels, 3)
    x, m = backend.asarray(logits), backend.asarray(keep)
    expected = ref.dice_loss(logits, onehot, reduction="none", valid=keep.astype(float))
    for targets in (backend.asarray(onehot.astype(np.float32)), backend.asarray(labels)):
        got = dice_loss(x, targets, reduction="none", mask=m)
        np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=RTOL, atol=ATOL)
    as_label = np.where(keep, labels, 7)
    got = dice_loss(x, backend.asarray(as_label), reduction="none", ignore_index=7)
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=RTOL, atol=ATOL)
    got = multiclass_generalized_dice_loss(x, backend.asarray(labels), mask=m)
    np.testing.assert_allclose(backend.to_numpy(got),
                               ref.generalized_dice_loss(logits, onehot,
                                                         valid=keep.astype(float)),
                               rtol=RTOL, atol=ATOL)
    binary = logits[..., :1]
    got = dice_loss(backend.asarray(binary), backend.asarray(labels == 1), mask=m)
    np.testing.assert_allclose(backend.to_numpy(got),
                               ref.dice_loss(binary, labels == 1, valid=keep.astype(float)),
                               rtol=RTOL, atol=ATOL)
    with pytest.raises(ValueError, match="mask must have"):
        dice_loss(x, backend.asarray(labels), mask=m[:1, ...])
    with pytest.raises(TypeError, match="mask must be a boolean"):
        dice_loss(x, backend.asarray(labels), mask=backend.asarray(keep.astype(np.int32)))


def test_ignore_index_checked_and_beside_mask(backend):
    """ignore_index is checked as the core's (a list is a sequence of void labels, a
    float a TypeError), and a mask beside an ignore_index that int8 labels cannot hold
    (255: it matches no label) needs no fill of that value."""
    logits, labels = multiclass(5, classes=3)
    labels[0, :2] = -1
    keep = np.random.default_rng(5).random(labels.shape) > 0.3
    valid = ((labels != -1) & keep).astype(np.float64)
    onehot = ref.one_hot(np.where(labels < 0, 0, labels), 3)
    expected = ref.dice_loss(logits, onehot, reduction="none", valid=valid)
    x, y8 = backend.asarray(logits), backend.asarray(labels.astype(np.int8))
    got = dice_loss(x, y8, reduction="none", ignore_index=[-1, 255], mask=backend.asarray(keep))
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=RTOL, atol=ATOL)
    got = multiclass_generalized_dice_loss(x, y8, ignore_index=[255, -1],
                                           mask=backend.asarray(keep))
    np.testing.assert_allclose(backend.to_numpy(got),
                               ref.generalized_dice_loss(logits, onehot, valid=valid),
                               rtol=RTOL, atol=ATOL)
    with pytest.raises(TypeError, match="ignore_index must be"):
        dice_loss(x, y8, ignore_index=1.5)


@pytest.mark.parametrize("ignore_background", [False, True])
def test_generalized_dice_is_optax_formula(backend, ignore_background):
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(3, 6, 6, 3)).astype(np.float32)
    labels = rng.choice(3, (3, 6, 6), p=[0.8, 0.15, 0.05])  # imbalanced, as optax's test
    onehot = ref.one_hot(labels, 3).astype(np.float32)
    expected = ref.generalized_dice_loss(logits, onehot, ignore_background=ignore_background)
    got = multiclass_generalized_dice_loss(backend.asarray(logits), backend.asarray(onehot),
                                           ignore_background=ignore_background)
    assert tuple(got.shape) == ()
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=RTOL, atol=ATOL)
    # a class absent from the batch: optax's weight 1 / 1e-7 dominates
    onehot[..., 2] = 0.0
    onehot[..., 0] = 1.0 - onehot[..., 1]
    expected = ref.generalized_dice_loss(logits, onehot, ignore_background=ignore_background)
    got = multiclass_generalized_dice_loss(backend.asarray(logits), backend.asarray(onehot),
                                           ignore_background=ignore_background)
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=RTOL, atol=ATOL)


def test_optax_test_cases_perfect_wrong_extreme(backend):
    """optax's perfect-overlap, no-overlap, numerical-stability and edge cases, with
    the reference's values in place of its bounds."""
    t = np.array([[[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]]], np.float32)[..., None]
    labels = np.array([[[0, 1, 2], [1, 0, 2], [2, 2, 1]]])
    onehot = ref.one_hot(labels, 3).astype(np.float32)
    cases = [
        (np.where(t > 0, 10.0, -10.0), t, lambda v: v < 0.01),  # perfect binary
        (np.where(t > 0, -10.0, 10.0), t, lambda v: v > 0.7),  # no overlap
        (np.where(onehot > 0, 10.0, -10.0), onehot, lambda v: v < 0.01),  # perfect multiclass
        (np.full((1, 4, 4, 1), 100.0), np.ones((1, 4, 4, 1)), np.isfinite),  # large logits
        (np.full((1, 4, 4, 1), -100.0), np.ones((1, 4, 4, 1)), np.isfinite),  # small logits
        (np.full((1, 4, 4, 1), 0.3), np.zeros((1, 4, 4, 1)), np.isfinite),  # empty target
    ]
    for logits, targets, bound in cases:
        logits, targets = logits.astype(np.float32), targets.astype(np.float32)
        got = backend.to_numpy(dice_loss(backend.asarray(logits), backend.asarray(targets)))
        assert bound(got).all()
        np.testing.assert_allclose(got, ref.dice_loss(logits, targets), rtol=RTOL, atol=ATOL)


def test_zero_smooth_empty_class_scores_one_not_nan(backend):
    """Divergence: smooth=0 and a class with neither prediction nor target is 0 / 0,
    NaN in optax; anyiou's loss there is 1 (score 0), finite."""
    logits = np.full((1, 2, 2, 1), -1000.0, np.float32)  # sigmoid is 0
    targets = np.zeros((1, 2, 2, 1), np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        assert np.isnan(ref.dice_loss(logits, targets, smooth=0.0)).all()
    got = dice_loss(backend.asarray(logits), backend.asarray(targets), smooth=0.0)
    np.testing.assert_array_equal(backend.to_numpy(got), [1.0])
    # any other ratio is optax's, a negative denominator too (no lower bound)
    got = dice_loss(backend.asarray(logits), backend.asarray(targets), smooth=-1.0)
    with np.errstate(over="ignore"):
        expected = ref.dice_loss(logits, targets, smooth=-1.0)
    np.testing.assert_array_equal(backend.to_numpy(got), expected)


def test_errors(backend):
    logits, labels = multiclass()
    x = backend.asarray(logits)
    with pytest.raises(ValueError, match="Shape mismatch"):  # optax's shape test
        dice_loss(x, backend.asarray(ref.one_hot(labels % 2, 2).astype(np.float32)))
    onehot = backend.asarray(ref.one_hot(labels, 3).astype(np.float32))
    with pytest.raises(ValueError, match="reduction"):
        dice_loss(x, onehot, reduction="max")
    with pytest.raises(ValueError, match="class_weights must have rank 1"):
        dice_loss(x, onehot, class_weights=[[1.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match="one weight per class"):
        dice_loss(x, onehot, class_weights=[1.0, 1.0])
    with pytest.raises(ValueError, match="out of range"):  # labels: the axis is checked
        dice_loss(x, backend.asarray(labels), axis=4)
    with pytest.raises(ValueError, match="ignore_index"):
        dice_loss(x, onehot, ignore_index=0)
    with pytest.raises(ValueError, match="out of range"):
        dice_loss(x, onehot, axis=4)
    with pytest.raises(ValueError, match="repeat"):
        dice_loss(x, onehot, axis=(1, -3))
    with pytest.raises(TypeError, match="axis must be None, an int or a sequence"):
        dice_loss(x, onehot, axis=1.0)
    # NumPy integers are axes too (jnp.sum takes them)
    np.testing.assert_allclose(backend.to_numpy(dice_loss(x, onehot, axis=(np.int64(1),))),
                               ref.dice_loss(logits, ref.one_hot(labels, 3), axis=(1,)),
                               rtol=RTOL, atol=ATOL)
    with pytest.raises(ValueError, match="Shape mismatch"):
        multiclass_generalized_dice_loss(x, onehot[..., :2])


@pytest.mark.only_backends("numpy", "array_api_strict", "torch")  # values are read
def test_probability_check(backend):
    """optax's probability validation where values can be read; a single channel must
    lie in [0, 1] (divergence: optax asks it to sum to 1, that is, to be 1)."""
    rng = np.random.default_rng(6)
    bad = backend.asarray(rng.random((2, 4, 4, 3)).astype(np.float32))
    targets = backend.asarray(rng.random((2, 4, 4, 3)) > 0.7)
    with pytest.raises(ValueError, match="valid probability distributions"):
        dice_loss(bad, targets, apply_softmax=False)
    probs = rng.random((2, 4, 4)).astype(np.float32)
    mask = rng.random((2, 4, 4)) > 0.5
    got = binary_dice_loss(backend.asarray(probs), backend.asarray(mask), apply_sigmoid=False)
    np.testing.assert_allclose(backend.to_numpy(got),
                               ref.binary_dice_loss(probs, mask, apply_sigmoid=False),
                               rtol=RTOL, atol=ATOL)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        binary_dice_loss(backend.asarray(probs + 1.0), backend.asarray(mask),
                         apply_sigmoid=False)


def _finite_difference(fn, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (fn(up) - fn(down)) / (2 * h)
    return grad


@pytest.mark.parametrize("loss", ["dice", "generalized"])
def test_gradients_match_finite_differences(ad_backend, loss):
    logits, labels = multiclass(7, shape=(2, 3, 2))
    onehot = ref.one_hot(labels, 3)
    x64 = logits.astype(np.float64)
    if loss == "dice":
        def ours(z):
            return dice_loss(z, ad_backend.asarray(onehot), alpha=0.3, beta=0.7).sum()

        def oracle(z):
            return ref.dice_loss(z, onehot, alpha=0.3, beta=0.7).sum()
    else:
        def ours(z):
            return multiclass_generalized_dice_loss(z, ad_backend.asarray(onehot))

        def oracle(z):
            return ref.generalized_dice_loss(z, onehot)
    value, grad = ad_backend.value_and_grad(ours, x64)
    np.testing.assert_allclose(value, oracle(x64), rtol=1e-10)
    np.testing.assert_allclose(grad, _finite_difference(oracle, x64), atol=1e-7)


@pytest.mark.only_backends("numpy", "torch")
def test_half_precision_sums_in_float32(backend):
    """Divergence: float16 logits give a float32 loss (the sums accumulate in float32;
    optax returns float16)."""
    logits, labels = multiclass(8)
    onehot = ref.one_hot(labels, 3).astype(np.float16)
    got = dice_loss(backend.asarray(logits.astype(np.float16)), backend.asarray(onehot))
    assert backend.to_numpy(got).dtype == np.float32
    np.testing.assert_allclose(backend.to_numpy(got),
                               ref.dice_loss(logits.astype(np.float16), onehot), atol=2e-3)


def _check_imports_no_framework() -> None:
    """``import anyiou.optax`` imports neither optax nor a framework."""
    code = ("import sys, anyiou.optax; "
            "print(sorted(m for m in ('optax', 'jax', 'torch', 'dask') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]"


if "numpy" in _sessions():  # backend-independent: once, in the numpy session
    test_imports_no_framework = _check_imports_no_framework
