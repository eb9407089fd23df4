"""The core loss that anyiou.monai's DiceLoss maps its common configurations onto
(`anyiou.monai._route`, served by the backends' whole-loss paths) against MONAI 1.6.1:
the mapped loss's value on every backend (a class absent from the target included),
which configurations map, and MONAI's value where a backend serves it (the fused Triton
loss: tests/backends/test_triton_kernels.py)."""

from __future__ import annotations

import numpy as np
import pytest

from anyiou import monai as am
from anyiou.monai._route import core_loss
from tests.adapters.monai.oracle import monai_loss

MAPPED = [
    {"softmax": True, "to_onehot_y": True},
    {"softmax": True, "to_onehot_y": True, "jaccard": True, "include_background": False,
     "batch": True, "reduction": "sum", "smooth_nr": 1e-3},
    {"softmax": True, "soft_label": True, "smooth_dr": 1e-2},
    {"sigmoid": True, "soft_label": True, "jaccard": True, "batch": True},
]
KEPT = [  # MONAI's own composition: no exact core loss
    {"softmax": True, "to_onehot_y": True, "weight": [1.0, 2.0, 3.0, 4.0]},
    {"softmax": True, "to_onehot_y": True, "reduction": "none"},
    {"softmax": True, "to_onehot_y": True, "ignore_index": 0},
    {"softmax": True, "to_onehot_y": True, "squared_pred": True},
    {"softmax": True, "to_onehot_y": True, "smooth_dr": 0.0},
    {"softmax": True},  # soft_label=False: the product form, exact for soft targets
    {"sigmoid": True, "to_onehot_y": True},
    {"to_onehot_y": True},
]


def _inputs(kwargs: dict) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 4, 5, 3)).astype(np.float32)
    labels = rng.integers(0, 3, size=(2, 1, 5, 3))  # class 3 absent everywhere
    labels[0, 0, 0, 0] = 3 if kwargs.get("batch") else 0  # present in one image only
    if kwargs.get("to_onehot_y"):
        return x, labels
    soft = rng.uniform(size=x.shape).astype(np.float32)
    return x, soft * (np.arange(4)[:, None, None] < 3)


@pytest.mark.parametrize("kwargs", MAPPED, ids=range(len(MAPPED)))
def test_mapped_core_loss_matches_monai(backend, kwargs):
    x, t = _inputs(kwargs)
    loss = am.DiceLoss(**kwargs)
    xa, ta = backend.asarray(x), backend.asarray(t)
    core = core_loss(loss, xa, ta)
    assert core is not None and core.empty == "keep"
    expected = monai_loss("DiceLoss", kwargs, None, x, t)[0]
    np.testing.assert_allclose(backend.to_numpy(core(xa, ta)), np.asarray(expected),
                               rtol=2e-5, atol=1e-6)
    # and the call itself (a whole-loss path or MONAI's composition) agrees
    np.testing.assert_allclose(backend.to_numpy(loss(xa, ta)), np.asarray(expected),
                               rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("kwargs", KEPT, ids=range(len(KEPT)))
def test_unmapped_configurations_keep_monai_composition(kwargs):
    x, t = _inputs(kwargs)
    assert core_loss(am.DiceLoss(**kwargs), x, t) is None
