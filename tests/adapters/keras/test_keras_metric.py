"""``anyiou.keras.MeanIoU`` against torchmetrics and scikit-learn over several batches,
its integer state, ``reset_state``, ``get_config``, pickling mid-stream; and a
``model.fit`` of a tiny conv model with the losses and the metric."""

from __future__ import annotations

import copy
import pickle

import keras
import numpy as np
import pytest
import torch
from sklearn.metrics import jaccard_score
from torchmetrics.classification import MulticlassJaccardIndex

import anyiou.keras as ak
from tests.adapters.keras.conftest import KERAS_BACKEND
from tests.support.oracles import smp_value_and_grad

pytestmark = pytest.mark.only_backends(KERAS_BACKEND)


def _batches(n=3, c=4, void=255, seed=0):
    """(labels (N, H, W) with void pixels, channels-last logits (N, H, W, C))."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        t = rng.integers(0, c, (2, 5, 6))
        t = np.where(rng.random(t.shape) < 0.2, void, t)
        out.append((t, rng.normal(size=(2, 5, 6, c)).astype(np.float32)))
    return out


def _torchmetrics(batches, c=4, average="macro"):
    ref = MulticlassJaccardIndex(num_classes=c, ignore_index=255, average=average)
    for t, p in batches:
        ref.update(torch.from_numpy(np.moveaxis(p, -1, 1)), torch.from_numpy(t))
    return ref.compute().item()


@pytest.mark.parametrize("average", ["macro", "micro", "weighted"])
def test_matches_torchmetrics_over_batches(backend, average: str):
    batches = _batches()
    metric = ak.MeanIoU(4, 255, average=average)
    for t, p in batches:
        metric.update_state(t, p)
    np.testing.assert_allclose(backend.to_numpy(metric.result()), _torchmetrics(batches, average=average),
                               rtol=1e-6)
    metric.reset_state()
    metric.update_state(*batches[0])
    np.testing.assert_allclose(backend.to_numpy(metric.result()), _torchmetrics(batches[:1], average=average),
                               rtol=1e-6)


def test_matches_sklearn_with_channel_targets(backend):
    """Targets (N, H, W, 1) and probabilities; sklearn over the classes present."""
    rng = np.random.default_rng(1)
    t = rng.integers(0, 3, (4, 5, 6, 1))
    p = rng.dirichlet(np.ones(3), size=(4, 5, 6)).astype(np.float32)
    metric = ak.MeanIoU(3)
    metric.update_state(t[:2], p[:2])
    metric.update_state(t[2:], p[2:])
    expected = jaccard_score(t.ravel(), p.argmax(-1).ravel(), average="macro")
    np.testing.assert_allclose(backend.to_numpy(metric.result()), expected, rtol=1e-6)
    counts = backend.to_numpy(metric.confmat.value)
    assert np.issubdtype(counts.dtype, np.integer) and counts.sum() == t.size


@pytest.mark.parametrize("clone", [copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))],
                         ids=["deepcopy", "pickle"])
def test_copies_keep_the_stream(backend, clone):
    batches = _batches(seed=2)
    metric = ak.MeanIoU(4, 255, average="micro", name="miou")
    for t, p in batches[:2]:
        metric.update_state(t, p)
    copied = clone(metric)
    assert copied.get_config() == metric.get_config()
    copied.update_state(*batches[2])
    np.testing.assert_allclose(backend.to_numpy(copied.result()), _torchmetrics(batches, average="micro"),
                               rtol=1e-6)
    np.testing.assert_allclose(backend.to_numpy(metric.result()),
                               _torchmetrics(batches[:2], average="micro"), rtol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="sample_weight"):
        ak.MeanIoU(3).update_state(np.zeros((1, 2), np.int64), np.zeros((1, 2, 3), np.float32),
                                   sample_weight=np.ones(1))
    with pytest.raises(ValueError, match="average must be"):
        ak.MeanIoU(3, average="none")
    with pytest.raises(ValueError, match=r"y_true must hold integer labels"):
        ak.MeanIoU(3).update_state(np.zeros((1, 2, 3), np.int64), np.zeros((1, 2, 3), np.float32))


@pytest.mark.parametrize("channels", [1, 3, 5])
def test_y_pred_with_another_number_of_classes_raises(backend, channels: int):
    """A y_pred whose class axis does not hold num_classes scores is an error, as for the
    core MeanIoU (its argmax would silently count only the first classes)."""
    t = np.zeros((2, 5, 6), np.int64)
    p = np.zeros((2, 5, 6, channels), np.float32)
    metric = ak.MeanIoU(num_classes=4)
    with pytest.raises(ValueError, match=rf"y_pred must hold num_classes=4 scores along axis -1 "
                       rf".*got shape \(2, 5, 6, {channels}\)"):
        metric.update_state(t, p)
    with pytest.raises(ValueError, match=r"y_pred must hold num_classes=3 scores along axis 1"):
        ak.MeanIoU(3, class_axis=1).update_state(t, np.zeros((2, 4, 5, 6), np.float32))
    assert backend.to_numpy(metric.confmat.value).sum() == 0  # nothing was counted


def _tiny_model(c: int) -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((8, 8, 3)),
        keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
        keras.layers.Conv2D(c, 1),
    ])


@pytest.mark.parametrize("name", ["JaccardLoss", "DiceLoss", "TverskyLoss", "LovaszLoss"])
def test_fit_tiny_conv_model(backend, name: str):
    """Two optimizer steps with the loss and the metric: finite losses; then evaluate's
    loss equals smp's and its metric torchmetrics' on the model's predictions."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4, 8, 8, 3)).astype(np.float32)
    y = rng.integers(0, 3, (4, 8, 8))
    y[:, :2] = 255
    model = _tiny_model(3)
    model.compile(optimizer=keras.optimizers.SGD(0.1),
                  loss=getattr(ak, name)("multiclass", ignore_index=255),
                  metrics=[ak.MeanIoU(3, 255)])
    history = model.fit(x, y, batch_size=2, epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1 and np.isfinite(history.history["loss"][0])
    assert np.isfinite(history.history["mean_iou"][0])
    logits = keras.ops.convert_to_numpy(model.predict(x, batch_size=4, verbose=0))
    loss, miou = model.evaluate(x, y, batch_size=4, verbose=0)
    cf = np.ascontiguousarray(np.moveaxis(logits, -1, 1))
    expected, _ = smp_value_and_grad(name, {"mode": "multiclass", "ignore_index": 255}, cf, y)
    np.testing.assert_allclose(loss, expected, rtol=1e-5, atol=1e-6)
    ref = MulticlassJaccardIndex(num_classes=3, ignore_index=255)
    np.testing.assert_allclose(miou, ref(torch.from_numpy(cf), torch.from_numpy(y)).item(), rtol=1e-5)


def test_fit_per_image_with_sample_weight(backend):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(4, 8, 8, 3)).astype(np.float32)
    y = (rng.random((4, 8, 8, 2)) < 0.4).astype(np.float32)
    w = np.array([1.0, 0.5, 2.0, 1.0], np.float32)
    model = _tiny_model(2)
    model.compile(optimizer="adam", loss=ak.DiceLoss("multilabel", per_image=True))
    history = model.fit(x, y, sample_weight=w, batch_size=2, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    logits = keras.ops.convert_to_numpy(model.predict(x, batch_size=4, verbose=0))
    loss = model.evaluate(x, y, sample_weight=w, batch_size=4, verbose=0)
    cf, tf = np.moveaxis(logits, -1, 1), np.moveaxis(y, -1, 1)
    per_sample = np.array([smp_value_and_grad("DiceLoss", {"mode": "multilabel"},
                                              np.ascontiguousarray(cf[i : i + 1]),
                                              np.ascontiguousarray(tf[i : i + 1]))[0]
                           for i in range(4)])
    np.testing.assert_allclose(loss, (w * per_sample).mean(), rtol=1e-5, atol=1e-6)
