"""``anyiou.keras.GeneralizedDiceLoss`` against MONAI 1.6.1 (channels-last inputs):
per-sample losses under Keras' reduction, the batch loss, and ``get_config``."""

from __future__ import annotations

import numpy as np
import pytest

import anyiou.keras as ak
from tests.adapters.keras.conftest import KERAS_BACKEND, channels_last
from tests.support.oracles import np_onehot

pytestmark = pytest.mark.only_backends(KERAS_BACKEND)


def _monai(x: np.ndarray, labels: np.ndarray, *, batch: bool) -> np.ndarray:
    import torch
    from monai.losses import GeneralizedDiceLoss

    oracle = GeneralizedDiceLoss(softmax=True, w_type="simple", batch=batch, reduction="none",
                                 smooth_nr=1e-3, smooth_dr=1e-3)
    onehot = torch.from_numpy(np_onehot(labels, x.shape[1]))
    return oracle(torch.from_numpy(x), onehot).numpy().reshape(-1)


def test_generalized_dice_matches_monai(backend):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 2, (2, 3, 5, 4)).astype(np.float32)
    labels = rng.integers(0, 3, (2, 5, 4))
    labels[1][labels[1] == 2] = 0  # sample 1 without class 2
    args = {"weight_type": "simple", "smooth": 5e-4}
    per_sample = _monai(x, labels, batch=False)
    p = channels_last(x)
    none = ak.GeneralizedDiceLoss("multiclass", per_image=True, reduction=None, **args)
    np.testing.assert_allclose(backend.to_numpy(none(labels, p)), per_sample, rtol=1e-5)
    batch = ak.GeneralizedDiceLoss("multiclass", **args)
    np.testing.assert_allclose(backend.to_numpy(batch(labels, p)), _monai(x, labels, batch=True),
                               rtol=1e-5)
    clone = ak.GeneralizedDiceLoss.from_config(none.get_config())
    assert clone.get_config()["weight_type"] == "simple"
    np.testing.assert_allclose(backend.to_numpy(clone(labels, p)), per_sample, rtol=1e-5)
