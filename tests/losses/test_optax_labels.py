"""`anyiou.optax`'s integer labels and masks against the float64 restatement of optax
(tests/support/optax_reference.py): labels with any ``axis`` are the loss of their
one-hot target, a label out of range at an unmasked pixel is an error (eager arrays),
and `binary_dice_loss` takes a ``mask`` as `dice_loss` does. optax itself is the oracle
on JAX in test_optax_oracle.py."""

from __future__ import annotations

import numpy as np
import pytest

from anyiou.optax import binary_dice_loss, dice_loss
from tests.losses.test_optax_dropin import ATOL, RTOL, multiclass
from tests.support import optax_reference as ref

#: axes of (N, H, W, C) predictions: one spatial axis, the batch with one, every
#: axis but the classes', none, and the classes with the others
AXES = [1, (0, 2), (0, 1, 2), (), (1, 2, 3)]


@pytest.mark.lazy_subset("axis", [1, (1, 2, 3)])
@pytest.mark.parametrize("axis", AXES, ids=str)
def test_labels_take_any_axis(backend, axis):
    """Integer labels give the loss of their one-hot target for every ``axis`` (the
    class axis is the last, the labels have the predictions' shape without it)."""
    logits, labels = multiclass(30, shape=(2, 4, 3), classes=3)
    onehot = ref.one_hot(labels, 3)
    expected = ref.dice_loss(logits, onehot, axis=axis, reduction="none")
    got = dice_loss(backend.asarray(logits), backend.asarray(labels), axis=axis,
                    reduction="none")
    assert tuple(got.shape) == expected.shape
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=RTOL, atol=ATOL)


def test_labels_with_an_axis_mask_and_ignore_index(backend):
    logits, labels = multiclass(31, shape=(2, 4, 3), classes=3)
    labels[1, 0] = 255
    keep = np.random.default_rng(31).random(labels.shape) > 0.3
    valid = (keep & (labels != 255)).astype(np.float64)
    onehot = ref.one_hot(np.where(labels == 255, 0, labels), 3)
    expected = ref.dice_loss(logits, onehot, axis=(0, 2), class_weights=[1.0, 2.0, 0.5],
                             valid=valid)
    got = dice_loss(backend.asarray(logits), backend.asarray(labels), axis=(0, 2),
                    class_weights=[1.0, 2.0, 0.5], ignore_index=255,
                    mask=backend.asarray(keep))
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=RTOL, atol=ATOL)


@pytest.mark.only_backends("numpy", "array_api_strict", "torch")  # values are read
@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
def test_a_label_out_of_range_at_an_unmasked_pixel_raises(backend, masked):
    """A label equal to C (or any label outside [0, C) that is not ignore_index) at a
    pixel the mask keeps is an error naming ``targets``, with a mask as without one;
    at a masked pixel it counts nowhere."""
    logits, labels = multiclass(32, classes=3)
    keep = np.ones(labels.shape, dtype=bool)
    keep[0, 0, 0] = False
    labels[0, 0, 0] = 255  # masked (or ignored)
    labels[1, 2, 1] = 3  # kept: out of range
    x, y = backend.asarray(logits), backend.asarray(labels)
    kw = {"mask": backend.asarray(keep)} if masked else {"ignore_index": 255}
    with pytest.raises(ValueError, match=r"targets holds labels outside \[0, 3\)"):
        dice_loss(x, y, **kw)
    labels[1, 2, 1] = 0
    got = dice_loss(x, backend.asarray(labels), **kw)
    onehot = ref.one_hot(np.where(keep, labels, 0), 3)
    np.testing.assert_allclose(backend.to_numpy(got),
                               ref.dice_loss(logits, onehot, valid=keep.astype(float)),
                               rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("channel", [False, True], ids=["no-channel", "channel"])
def test_binary_dice_loss_takes_a_mask(backend, channel):
    """As `dice_loss`'s mask: the pixels' shape (the predictions' shape without the
    trailing singleton channel); masked pixels count in neither prediction nor target."""
    rng = np.random.default_rng(33)
    logits = rng.normal(size=(2, 6, 5)).astype(np.float32)
    targets = rng.random((2, 6, 5)) > 0.6
    keep = rng.random((2, 6, 5)) > 0.3
    expected = ref.binary_dice_loss(logits, targets, valid=keep.astype(float))
    if channel:
        logits, targets = logits[..., None], targets[..., None]
    got = binary_dice_loss(backend.asarray(logits), backend.asarray(targets),
                           mask=backend.asarray(keep))
    assert tuple(got.shape) == (2,)
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=RTOL, atol=ATOL)
    with pytest.raises(ValueError, match="mask must have"):
        binary_dice_loss(backend.asarray(logits), backend.asarray(targets),
                         mask=backend.asarray(keep[:1]))
