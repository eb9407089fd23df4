"""anyiou.monai's option checks, warnings and the documented departures from MONAI
1.6.1 (each checked against MONAI where MONAI has an answer). Backend-independent:
NumPy (and torch for MONAI's inputs) only."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from anyiou import monai as am

pytestmark = pytest.mark.only_backends("numpy")


def _logits_labels(seed: int = 0, shape=(2, 3, 4, 5)):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape).astype(np.float32)
    labels = rng.integers(0, shape[1], size=(shape[0], 1, *shape[2:]))
    return x, labels


@pytest.mark.parametrize("cls", [am.DiceLoss, am.TverskyLoss, am.GeneralizedDiceLoss])
def test_option_errors_like_monai(backend, cls):
    with pytest.raises(ValueError, match="Incompatible values"):
        cls(sigmoid=True, softmax=True)
    with pytest.raises(TypeError, match="other_act"):
        cls(other_act="tanh")
    with pytest.raises(ValueError, match="reduction"):
        cls(reduction="unknown")
    with pytest.raises(ValueError, match="reduction"):
        cls(reduction=None)
    with pytest.raises(TypeError, match="ignore_index"):  # one int, as MONAI's
        cls(ignore_index=(1, 2))


def test_shape_mismatch_is_value_and_assertion_error(backend):
    """MONAI raises AssertionError; anyiou's error is both (code catching either works)."""
    loss = am.DiceLoss()
    with pytest.raises(AssertionError):
        loss(np.ones((1, 2, 3), np.float32), np.ones((4, 5, 6), np.float32))
    with pytest.raises(ValueError, match="shape"):
        loss(np.ones((1, 2, 3), np.float32), np.ones((4, 5, 6), np.float32))
    with pytest.raises(ValueError, match=r"\(N, 1, \*S\)"):
        am.DiceLoss(to_onehot_y=True)(np.ones((1, 2, 3), np.float32), np.ones((1, 2, 3)))


def test_single_channel_warnings_like_monai(backend):
    x = np.ones((1, 1, 3), np.float32)
    for kwargs in ({"include_background": False}, {"softmax": True}, {"to_onehot_y": True}):
        with pytest.warns(UserWarning, match="single channel prediction"):
            am.DiceLoss(**kwargs)(x, x)


def test_weight_checks(backend):
    x, labels = _logits_labels()
    with pytest.raises(ValueError, match="no less than 0"):
        am.DiceLoss(weight=[1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match="length of the `weight`"):
        am.DiceLoss(to_onehot_y=True, softmax=True, weight=[1.0, 2.0])(x, labels)


def test_labels_out_of_range_are_a_value_error(backend):
    """MONAI's one_hot fails inside torch's scatter; anyiou names the target."""
    x, labels = _logits_labels()
    labels[0, 0, 0, 0] = 7
    with pytest.raises(ValueError, match="target holds labels outside"):
        am.DiceLoss(to_onehot_y=True, softmax=True)(x, labels)


def test_no_one_hot_of_the_labels_same_value(backend):
    """Labels with to_onehot_y and their one-hot give the same loss (MONAI's own check),
    float labels as MONAI's tests pass them included."""
    x, labels = _logits_labels(1)
    onehot = (np.arange(3)[None, :, None, None] == labels).astype(np.float32)
    for kwargs in ({}, {"squared_pred": True}, {"jaccard": True, "batch": True}):
        a = am.DiceLoss(softmax=True, **kwargs)(x, onehot)
        b = am.DiceLoss(to_onehot_y=True, softmax=True, **kwargs)(x, labels.astype(np.float32))
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_generalized_dice_ignore_index_beyond_monai(backend):
    """GeneralizedDiceLoss(ignore_index=...) is MONAI's GeneralizedDiceLoss with the
    ignored pixels zeroed in prediction and target (MONAI's masking of DiceLoss)."""
    torch = pytest.importorskip("torch")
    from monai.losses import GeneralizedDiceLoss

    x, labels = _logits_labels(2)
    labels[:, :, :2] = 255
    keep = torch.tensor(labels != 255, dtype=torch.float32)
    onehot = (np.arange(3)[None, :, None, None] == labels).astype(np.float32)
    theirs = GeneralizedDiceLoss(other_act=lambda z: torch.softmax(z, 1) * keep)(
        torch.tensor(x), torch.tensor(onehot))
    ours = am.GeneralizedDiceLoss(to_onehot_y=True, softmax=True, ignore_index=255)(x, labels)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-5)


def test_loss_to_is_a_no_op(backend):
    loss = am.TverskyLoss()
    assert loss.to("cpu") is loss


def test_per_component_is_refused(backend):
    with pytest.raises(ValueError, match="per_component"):
        am.DiceMetric(per_component=True)


def test_metric_reduction_check(backend):
    with pytest.raises(ValueError, match="reduction"):
        am.MeanIoU(reduction="micro")
    with pytest.raises(TypeError, match="ignore_index"):
        am.DiceMetric(ignore_index=1.0)


def test_metric_lists_are_stacked(backend):
    """A list of (C, *S) items (MONAI's decollated batch) is one batch."""
    torch = pytest.importorskip("torch")
    from monai.metrics import MeanIoU

    rng = np.random.default_rng(3)
    p = (rng.random((2, 3, 4, 4)) > 0.5).astype(np.float32)
    y = (rng.random((2, 3, 4, 4)) > 0.5).astype(np.float32)
    ours = am.MeanIoU(reduction="none")
    got = ours(y_pred=list(p), y=list(y))
    theirs = MeanIoU(reduction="none")
    expected = theirs(y_pred=torch.tensor(p), y=torch.tensor(y)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_no_warnings_on_a_plain_call(backend):
    x, labels = _logits_labels()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        am.DiceLoss(to_onehot_y=True, softmax=True)(x, labels)
