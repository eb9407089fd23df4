"""Keras' conventions on ``anyiou.keras``: one-hot (and soft) multiclass targets in the
losses, the options of Keras' ``MeanIoU``/``IoU``/``OneHotMeanIoU`` on ``MeanIoU``, label
predictions, and a ``model.fit`` without warnings raised from anyiou's code.

Oracles: Keras' own ``Dice``/``Tversky`` losses and IoU metrics on the same data, and a
float64 NumPy reference of smp's formula (soft targets, where Keras' product
``sum(p * t)`` differs from smp's L1 form).
"""

from __future__ import annotations

import copy
import traceback
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest

import anyiou
import anyiou.keras as ak
from tests.adapters.keras.conftest import KERAS_BACKEND
from tests.support.oracles import np_onehot, np_softmax, np_tversky_losses

pytestmark = pytest.mark.only_backends(KERAS_BACKEND)

F32 = np.float32
C = 4


def _data(seed=0, shape=(3, 5, 6)):
    """(labels (N, H, W), channels-last logits (N, H, W, C), one-hot (N, H, W, C))."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, C, shape)
    logits = rng.normal(0, 2, (*shape, C)).astype(F32)
    return labels, logits, np.moveaxis(np_onehot(labels, C), 1, -1).astype(F32)


def _probs(logits):
    return np_softmax(logits.astype(np.float64), axis=-1).astype(F32)


# -- losses: one-hot and soft targets ---------------------------------------------------


@pytest.mark.parametrize("per_image", [False, True])
def test_dice_with_onehot_targets_equals_keras_dice(backend, per_image):
    """keras.losses.Dice over every axis but the class axis gives per-class losses; their
    mean is anyiou's multiclass Dice (Keras' product sum(p * t) is smp's L1 form for 0/1
    targets; its denominator carries an extra 1e-7)."""
    _, logits, onehot = _data()
    probs = _probs(logits)
    ours = ak.DiceLoss("multiclass", from_logits=False, per_image=per_image, reduction=None)
    axis = (1, 2) if per_image else (0, 1, 2)
    theirs = keras.losses.Dice(axis=axis, reduction=None)(onehot, probs)
    expected = np.mean(backend.to_numpy(theirs), axis=-1)
    np.testing.assert_allclose(backend.to_numpy(ours(onehot, probs)), expected, rtol=1e-5)
    # from logits: the softmax over the channels-last class axis
    out = ak.DiceLoss("multiclass", per_image=per_image, reduction=None)(onehot, logits)
    np.testing.assert_allclose(backend.to_numpy(out), expected, rtol=1e-5)


def test_tversky_with_onehot_targets_equals_keras_tversky(backend):
    """Keras' Tversky weights false negatives by alpha and false positives by beta
    (the reverse of anyiou's and smp's alpha/beta)."""
    _, logits, onehot = _data(1)
    probs = _probs(logits)
    ours = ak.TverskyLoss("multiclass", from_logits=False, alpha=0.3, beta=0.7)(onehot, probs)
    theirs = keras.losses.Tversky(alpha=0.7, beta=0.3, axis=(0, 1, 2), reduction=None)(
        onehot, probs)
    np.testing.assert_allclose(backend.to_numpy(ours), np.mean(backend.to_numpy(theirs)),
                               rtol=1e-5)


@pytest.mark.parametrize("name", ["JaccardLoss", "DiceLoss", "TverskyLoss"])
def test_onehot_equals_labels_and_soft_equals_reference(backend, name):
    labels, logits, onehot = _data(2)
    loss = getattr(ak, name)("multiclass")
    np.testing.assert_allclose(backend.to_numpy(loss(onehot, logits)),
                               backend.to_numpy(loss(labels, logits)), rtol=1e-6)
    soft = np_softmax(np.random.default_rng(3).normal(size=onehot.shape), axis=-1)
    alpha, beta = {"JaccardLoss": (1.0, 1.0)}.get(name, (0.5, 0.5))
    p = np.moveaxis(np_softmax(logits.astype(np.float64), axis=-1), -1, 1)
    per_class, present = np_tversky_losses(p, np.moveaxis(soft, -1, 1), alpha, beta)
    out = loss(soft.astype(F32), logits)
    np.testing.assert_allclose(backend.to_numpy(out), np.mean(per_class * present), rtol=1e-5)


def test_lovasz_and_ignore_index_refuse_onehot_targets(backend):
    _, logits, onehot = _data()
    with pytest.raises(ValueError, match="y_true.*LovaszLoss"):
        ak.LovaszLoss("multiclass")(onehot, logits)
    with pytest.raises(ValueError, match="ignore_index=255 applies to integer labels"):
        ak.JaccardLoss("multiclass", ignore_index=255)(onehot, logits)


# -- MeanIoU against Keras' IoU metrics ---------------------------------------------------


def _batches(seed=0, void=None):
    out = []
    for i in range(3):
        labels, logits, onehot = _data(seed + i)
        if void is not None:
            labels = np.where(np.random.default_rng(i).random(labels.shape) < 0.2, void, labels)
        out.append((labels, logits, onehot))
    return out


def _stream(metric, batches, target, pred):
    for labels, logits, onehot in batches:
        y_true = {"labels": labels, "onehot": onehot}[target]
        y_pred = {"scores": logits, "labels": np.argmax(logits, axis=-1)}[pred]
        metric.update_state(y_true, y_pred)
    return float(keras.ops.convert_to_numpy(metric.result()))


CASES = [
    # (anyiou options, Keras metric, y_true form, y_pred form, void label)
    ({"sparse_y_pred": True}, lambda: keras.metrics.MeanIoU(C), "labels", "labels", None),
    ({}, lambda: keras.metrics.MeanIoU(C, sparse_y_pred=False), "labels", "scores", None),
    ({"sparse_y_true": False}, lambda: keras.metrics.OneHotMeanIoU(C), "onehot", "scores", None),
    ({"ignore_class": 255}, lambda: keras.metrics.MeanIoU(C, ignore_class=255,
                                                           sparse_y_pred=False),
     "labels", "scores", 255),
    ({"ignore_class": 0, "sparse_y_pred": True},
     lambda: keras.metrics.MeanIoU(C, ignore_class=0), "labels", "labels", 0),
    ({"target_class_ids": [0, 2]},
     lambda: keras.metrics.IoU(C, [0, 2], sparse_y_pred=False), "labels", "scores", None),
    ({"target_class_ids": [3], "ignore_class": 3, "sparse_y_pred": True},
     lambda: keras.metrics.IoU(C, [3], ignore_class=3), "labels", "labels", 3),
    ({"target_class_ids": [1, 3], "sparse_y_true": False},
     lambda: keras.metrics.OneHotIoU(C, [1, 3]), "onehot", "scores", None),
]


@pytest.mark.parametrize(("options", "keras_metric", "target", "pred", "void"), CASES,
                         ids=[str(c[0]) for c in CASES])
def test_meaniou_options_equal_keras(backend, options, keras_metric, target, pred, void):
    batches = _batches(void=void)
    ours = _stream(ak.MeanIoU(C, **options), batches, target, pred)
    theirs = _stream(keras_metric(), batches, target, pred)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def test_target_class_ids_leave_out_empty_classes(backend):
    """A chosen class never in the target nor predicted is left out, as in Keras; none
    left gives zero_division (Keras: 0)."""
    t = np.array([[0, 0, 1, 1]])
    p = np.array([[0, 1, 1, 1]])
    for ids in ([0, 2], [2, 3]):
        ours = _stream_once(ak.MeanIoU(C, sparse_y_pred=True, target_class_ids=ids), t, p)
        theirs = _stream_once(keras.metrics.IoU(C, ids), t, p)
        np.testing.assert_allclose(ours, theirs, atol=1e-6)
    metric = ak.MeanIoU(C, sparse_y_pred=True, target_class_ids=[2, 3], zero_division=1.0)
    assert _stream_once(metric, t, p) == 1.0


def _stream_once(metric, t, p):
    metric.update_state(t, p)
    return float(keras.ops.convert_to_numpy(metric.result()))


def test_meaniou_errors_say_which_option(backend):
    labels, logits, onehot = _data()
    with pytest.raises(ValueError, match=r"y_pred must hold num_classes=4 scores.*sparse_y_pred"):
        ak.MeanIoU(C).update_state(labels, np.argmax(logits, axis=-1))
    with pytest.raises(ValueError, match=r"y_true must hold integer labels.*sparse_y_true=False"):
        ak.MeanIoU(C).update_state(onehot, logits)
    with pytest.raises(ValueError, match=r"y_pred .* and y_true .* one label per pixel"):
        ak.MeanIoU(C, sparse_y_pred=True).update_state(labels, logits)
    with pytest.raises(ValueError, match="ignore_index.*ignore_class"):
        ak.MeanIoU(C, 255, ignore_class=255)
    with pytest.raises(ValueError, match="target_class_ids"):
        ak.MeanIoU(C, target_class_ids=[0, 4])
    with pytest.raises(ValueError, match="target_class_ids.*average='macro'"):
        ak.MeanIoU(C, target_class_ids=[0], average="micro")
    with pytest.raises(TypeError, match="ignore_class"):
        ak.MeanIoU(C, ignore_class=2.5)
    with pytest.raises(TypeError, match="sparse_y_true"):
        ak.MeanIoU(C, sparse_y_true="no")


def test_meaniou_options_survive_config_and_copies(backend):
    batches = _batches(void=0)
    metric = ak.MeanIoU(C, ignore_class=0, sparse_y_true=False, target_class_ids=[0, 1, 3])
    rebuilt = ak.MeanIoU.from_config(metric.get_config())
    assert rebuilt.get_config() == metric.get_config()
    labels, logits, onehot = batches[0]
    metric.update_state(onehot, logits)
    clone = copy.deepcopy(metric)
    ref = keras.metrics.OneHotIoU(C, [0, 1, 3], ignore_class=0)
    ref.update_state(onehot, logits)
    for m in (metric, clone):
        np.testing.assert_allclose(float(keras.ops.convert_to_numpy(m.result())),
                                   float(keras.ops.convert_to_numpy(ref.result())), rtol=1e-5)


# -- model.fit: one-hot targets, and no warnings raised from anyiou -------------------------


def _anyiou_frames(stack):
    root = str(Path(anyiou.__file__).resolve().parent)
    return [f"{f.filename}:{f.lineno}" for f in stack if str(Path(f.filename).resolve())
            .startswith(root)]


def test_fit_with_onehot_targets_raises_no_warning_from_anyiou(backend):
    """A tiny model.fit/evaluate/predict with one-hot targets: every warning raised on the
    way (Keras on torch converts its logs with np.array, which warns about torch's
    __array__) is recorded with its stack, and none passes through anyiou's code. The
    evaluated loss is the float64 reference on the model's predictions."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4, 8, 8, 3)).astype(F32)
    labels = rng.integers(0, 3, (4, 8, 8))
    onehot = np.moveaxis(np_onehot(labels, 3), 1, -1).astype(F32)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(3, 1)])
    ours = []

    def record(message, category, filename, lineno, file=None, line=None):
        ours.extend(_anyiou_frames(traceback.extract_stack()))

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = record
        metric = ak.MeanIoU(3, sparse_y_true=False)
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss=ak.DiceLoss("multiclass"),
                      metrics=[metric])
        history = model.fit(x, onehot, batch_size=2, epochs=1, verbose=0)
        logits = keras.ops.convert_to_numpy(model.predict(x, batch_size=4, verbose=0))
        loss, miou = model.evaluate(x, onehot, batch_size=4, verbose=0)
        copy.deepcopy(metric)
    assert not ours, f"warnings raised through anyiou: {ours}"
    assert np.isfinite(history.history["loss"][0])
    p = np.moveaxis(np_softmax(logits.astype(np.float64), axis=-1), -1, 1)
    per_class, present = np_tversky_losses(p, np_onehot(labels, 3), 0.5, 0.5)
    np.testing.assert_allclose(loss, np.mean(per_class * present), rtol=1e-5, atol=1e-6)
    ref = keras.metrics.OneHotMeanIoU(3)
    ref.update_state(onehot, logits)
    np.testing.assert_allclose(miou, float(keras.ops.convert_to_numpy(ref.result())), rtol=1e-5)
