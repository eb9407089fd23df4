"""``anyiou.keras`` with ``ignore_index`` given as several values: the losses against smp
0.6.0 and ``MeanIoU`` against torchmetrics, each on the targets with every void value
remapped to one ignore value; the option survives ``get_config``/``from_config``."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch
from torchmetrics.functional.classification import multiclass_jaccard_index

import anyiou.keras as ak
from tests.adapters.keras.conftest import KERAS_BACKEND, channels_last
from tests.support.oracles import smp_value_and_grad

pytestmark = pytest.mark.only_backends(KERAS_BACKEND)

VOIDS = (255, -1)


def _data(seed=0, c=4):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 2, (2, c, 5, 6)).astype(np.float32)
    t = rng.integers(0, c, (2, 5, 6))
    t = np.where(rng.random(t.shape) < 0.1, 255, t)
    t = np.where(rng.random(t.shape) < 0.1, -1, t)
    return x, t


@pytest.mark.parametrize("name", ["DiceLoss", "LovaszLoss"])
def test_losses_equal_smp(backend, name):
    x, t = _data()
    expected, _ = smp_value_and_grad(name, {"mode": "multiclass", "ignore_index": 255}, x,
                                     np.where(np.isin(t, VOIDS), 255, t))
    loss = getattr(ak, name)("multiclass", ignore_index=list(VOIDS))
    clone = type(loss).from_config(loss.get_config())
    for one in (loss, clone):
        got = one(keras.ops.convert_to_tensor(t), keras.ops.convert_to_tensor(channels_last(x)))
        np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-5, atol=1e-6)


def test_mean_iou_equals_torchmetrics(backend):
    x, t = _data(1)
    metric = ak.MeanIoU(4, ignore_index=VOIDS)
    metric.update_state(t, channels_last(x))
    expected = multiclass_jaccard_index(torch.from_numpy(x), torch.from_numpy(
        np.where(np.isin(t, VOIDS), 255, t)), 4, ignore_index=255)
    np.testing.assert_allclose(backend.to_numpy(metric.result()), expected.numpy(), rtol=1e-6)
    clone = ak.MeanIoU.from_config(metric.get_config())
    clone.update_state(t, channels_last(x))
    np.testing.assert_allclose(backend.to_numpy(clone.result()), expected.numpy(), rtol=1e-6)
    with pytest.raises(TypeError, match="ignore_class"):
        ak.MeanIoU(4, ignore_class=VOIDS)
