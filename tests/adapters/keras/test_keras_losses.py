"""``anyiou.keras`` losses against smp 0.6.0 (values, gradients; channels-last inputs),
per-sample values under Keras' reduction and ``sample_weight``, ``keras.losses.Dice``,
``get_config``/``from_config``, pickling, and the error under another Keras backend."""

from __future__ import annotations

import copy
import pickle

import keras
import numpy as np
import pytest

import anyiou.keras as ak
from tests.adapters.keras.conftest import KERAS_BACKEND, channels_last
from tests.support.cases import BIN, MC, ML, Case
from tests.support.oracles import smp_value_and_grad

pytestmark = pytest.mark.only_backends(KERAS_BACKEND)

CASES = [
    ("JaccardLoss", Case("mc", "multiclass", MC, "labels")),
    ("JaccardLoss", Case("mc-options", "multiclass", MC, "labels",
                         {"classes": [0, 1, 3], "class_weights": [1, 2, 3, 4], "log_loss": True,
                          "smooth": 0.5, "ignore_index": 255}, void=255)),
    ("JaccardLoss", Case("bin-ignore", "binary", BIN, "hard", {"ignore_index": -1}, void=-1)),
    ("DiceLoss", Case("mc-target-channel", "multiclass", MC, "labels", target_shape=(2, 1, 6, 5))),
    ("DiceLoss", Case("ml-soft", "multilabel", ML, "soft")),
    ("TverskyLoss", Case("mc-focal", "multiclass", MC, "labels",
                         {"alpha": 0.3, "beta": 0.7, "gamma": 1.5, "ignore_index": 255}, void=255)),
    ("TverskyLoss", Case("bin-probs", "binary", BIN, "hard", {"alpha": 0.7, "beta": 0.3}, probs=True)),
    ("LovaszLoss", Case("mc", "multiclass", MC, "labels", {"ignore_index": 255}, void=255)),
    ("LovaszLoss", Case("ml", "multilabel", ML)),
]
IDS = [f"{n}-{c.id}" for n, c in CASES]


def _keras_inputs(case: Case, y_pred: np.ndarray, y_true: np.ndarray):
    """Channels-last copies of a case's channels-first arrays (labels stay as they are)."""
    if case.mode == "multiclass":
        t = channels_last(y_true) if y_true.ndim == y_pred.ndim else y_true
    else:
        t = channels_last(y_true)
    return channels_last(y_pred), t


@pytest.mark.parametrize(("name", "case"), CASES, ids=IDS)
def test_value_and_gradient_match_smp(backend, name: str, case: Case):
    y_pred, y_true = case.make()
    expected, expected_grad = smp_value_and_grad(name, case.smp_args, y_pred, y_true)
    loss = getattr(ak, name)(**case.smp_args)
    p, t = _keras_inputs(case, y_pred, y_true)
    value, grad = backend.value_and_grad(lambda x: loss(t, x), p)
    np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-6)
    scale = max(np.abs(expected_grad).max(), 1e-3)
    np.testing.assert_allclose(grad, channels_last(expected_grad), rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.parametrize(("name", "case"), CASES[::2], ids=IDS[::2])
def test_per_image_gives_per_sample_losses_under_keras_reduction(backend, name: str, case: Case):
    y_pred, y_true = case.make(seed=1)
    per_sample = np.array([
        smp_value_and_grad(name, case.smp_args, y_pred[i : i + 1], y_true[i : i + 1])[0]
        for i in range(y_pred.shape[0])
    ])
    p, t = _keras_inputs(case, y_pred, y_true)
    args = {**case.smp_args, "per_image": True}
    none = getattr(ak, name)(**args, reduction=None)(t, p)
    np.testing.assert_allclose(backend.to_numpy(none), per_sample, rtol=1e-5, atol=1e-6)
    mean = getattr(ak, name)(**args)(t, p)  # "sum_over_batch_size"
    np.testing.assert_allclose(backend.to_numpy(mean), per_sample.mean(), rtol=1e-5, atol=1e-6)
    w = np.array([0.25, 2.0], np.float32)
    weighted = getattr(ak, name)(**args, reduction="sum")(t, p, sample_weight=w)
    np.testing.assert_allclose(backend.to_numpy(weighted), (w * per_sample).sum(), rtol=1e-5, atol=1e-6)


def test_batch_loss_passes_keras_reduction_unchanged(backend):
    case = Case("mc", "multiclass", MC, "labels")
    y_pred, y_true = case.make(seed=2)
    expected, _ = smp_value_and_grad("JaccardLoss", {"mode": "multiclass"}, y_pred, y_true)
    p, t = _keras_inputs(case, y_pred, y_true)
    for reduction in ("sum_over_batch_size", "sum", "mean", None):
        out = ak.JaccardLoss("multiclass", reduction=reduction)(t, p)
        np.testing.assert_allclose(backend.to_numpy(out), expected, rtol=1e-5)


def test_dice_matches_keras_dice(backend):
    """Binary probabilities and 0/1 targets: anyiou's Dice is keras.losses.Dice (whose
    denominator carries an extra epsilon of 1e-7)."""
    rng = np.random.default_rng(3)
    p = rng.random((3, 6, 5, 1)).astype(np.float32)
    t = rng.integers(0, 2, (3, 6, 5, 1)).astype(np.float32)
    ours = ak.DiceLoss("binary", from_logits=False)(t, p)
    theirs = keras.losses.Dice()(t, p)
    np.testing.assert_allclose(backend.to_numpy(ours), backend.to_numpy(theirs), rtol=1e-5)
    ours = ak.DiceLoss("binary", from_logits=False, per_image=True, reduction=None)(t, p)
    theirs = keras.losses.Dice(axis=(1, 2, 3), reduction=None)(t, p)
    np.testing.assert_allclose(backend.to_numpy(ours), backend.to_numpy(theirs), rtol=1e-5)


@pytest.mark.parametrize("name", ["JaccardLoss", "DiceLoss", "TverskyLoss", "LovaszLoss"])
def test_config_round_trip_pickle_and_deepcopy(backend, name: str):
    extra = {} if name == "LovaszLoss" else {"class_weights": [1.0, 2.0, 1.0, 0.5], "smooth": 0.1}
    loss = getattr(ak, name)("multiclass", ignore_index=255, per_image=True, reduction="sum",
                             name="seg", **extra)
    case = Case("mc", "multiclass", MC, "labels", void=255)
    y_pred, y_true = case.make(seed=4)
    args = {"mode": "multiclass", "ignore_index": 255, **extra}
    expected = sum(smp_value_and_grad(name, args, y_pred[i : i + 1], y_true[i : i + 1])[0]
                   for i in range(2))
    p, t = _keras_inputs(case, y_pred, y_true)
    config = loss.get_config()
    assert config["name"] == "seg" and config["reduction"] == "sum" and config["per_image"] is True
    clones = [
        type(loss).from_config(config),
        keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss)),
        pickle.loads(pickle.dumps(loss)),
        copy.deepcopy(loss),
    ]
    for clone in clones:
        assert type(clone) is type(loss) and clone.get_config() == config
        np.testing.assert_allclose(backend.to_numpy(clone(t, p)), expected, rtol=1e-5)


def test_lovasz_classes_and_weights(backend):
    """Keras' per-sample losses with mmsegmentation's options equal the NumPy port of
    mmseg's lovasz_softmax, sample by sample; the options survive get_config."""
    from tests.support.mmseg_lovasz import mmseg_lovasz_softmax

    options = {"classes": [3, 0], "class_weights": [1.0, 2.0, 1.0, 0.5]}
    loss = ak.LovaszLoss("multiclass", ignore_index=255, per_image=True, reduction=None,
                         **options)
    case = Case("mc", "multiclass", MC, "labels", void=255)
    y_pred, y_true = case.make(seed=6)
    expected = [mmseg_lovasz_softmax(y_pred[i : i + 1], y_true[i : i + 1], ignore_index=255,
                                     classes=[3, 0], class_weight=options["class_weights"])
                for i in range(y_pred.shape[0])]
    p, t = _keras_inputs(case, y_pred, y_true)
    clone = type(loss).from_config(loss.get_config())
    for each in (loss, clone):
        np.testing.assert_allclose(backend.to_numpy(each(t, p)), expected, rtol=1e-5)


def test_other_keras_backend_is_refused(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "tensorflow")
    with pytest.raises(RuntimeError, match=r"KERAS_BACKEND=jax or KERAS_BACKEND=torch.*'tensorflow'"):
        ak.JaccardLoss("multiclass")
    with pytest.raises(RuntimeError, match="anyiou.keras.MeanIoU works with the Keras backends"):
        ak.MeanIoU(3)


def test_bad_options_name_the_argument():
    with pytest.raises(ValueError, match="mode"):
        ak.DiceLoss("multi")
    with pytest.raises(ValueError, match="reduction"):
        ak.DiceLoss("binary", reduction="median")


@pytest.mark.parametrize("name", ["JaccardLoss", "LovaszLoss"])
def test_empty_batch_per_image_gives_no_losses(backend, name: str):
    p = np.zeros((0, 4, 5, 3), np.float32)
    t = np.zeros((0, 4, 5), np.int64)
    out = getattr(ak, name)("multiclass", per_image=True, reduction=None)(t, p)
    assert tuple(out.shape) == (0,)
