"""The core loss that anyiou.monai's DiceLoss and TverskyLoss map their common
configurations onto (`anyiou.monai._route`, served by the backends' whole-loss paths)
against MONAI 1.6.1: the mapped loss's value on every backend (a class absent from the
target included), which configurations map, that options set on a built loss are read
at the call, and MONAI's value where a backend serves it (the fused Triton loss:
tests/backends/test_triton_kernels.py)."""

from __future__ import annotations

import numpy as np
import pytest

from anyiou import monai as am
from anyiou.monai._route import core_loss
from tests.adapters.monai.oracle import monai_loss

MAPPED = [
    ("DiceLoss", {"softmax": True, "to_onehot_y": True}),
    ("DiceLoss", {"softmax": True, "to_onehot_y": True, "jaccard": True,
                  "include_background": False, "batch": True, "reduction": "sum",
                  "smooth_nr": 1e-3}),
    ("DiceLoss", {"softmax": True, "soft_label": True, "smooth_dr": 1e-2}),
    ("DiceLoss", {"sigmoid": True, "soft_label": True, "jaccard": True, "batch": True}),
    ("TverskyLoss", {"softmax": True, "to_onehot_y": True, "alpha": 0.3, "beta": 0.7}),
    ("TverskyLoss", {"softmax": True, "to_onehot_y": True, "alpha": 0.9, "beta": 0.0,
                     "include_background": False, "batch": True, "reduction": "sum",
                     "smooth_nr": 1e-3}),
    ("TverskyLoss", {"sigmoid": True, "soft_label": True, "alpha": 0.6, "beta": 0.4,
                     "smooth_dr": 1e-2}),
]
KEPT = [  # MONAI's own composition: no exact core loss
    ("DiceLoss", {"softmax": True, "to_onehot_y": True, "weight": [1.0, 2.0, 3.0, 4.0]}),
    ("DiceLoss", {"softmax": True, "to_onehot_y": True, "reduction": "none"}),
    ("DiceLoss", {"softmax": True, "to_onehot_y": True, "ignore_index": 0}),
    ("DiceLoss", {"softmax": True, "to_onehot_y": True, "squared_pred": True}),
    ("DiceLoss", {"softmax": True, "to_onehot_y": True, "smooth_dr": 0.0}),
    ("DiceLoss", {"softmax": True}),  # soft_label=False: the product form
    ("DiceLoss", {"sigmoid": True, "to_onehot_y": True}),
    ("DiceLoss", {"to_onehot_y": True}),
    ("DiceLoss", {"softmax": True, "to_onehot_y": True, "batch": True, "sync": lambda s: s}),
    ("TverskyLoss", {"softmax": True, "to_onehot_y": True, "alpha": -0.5}),  # core: >= 0
    ("TverskyLoss", {"softmax": True, "to_onehot_y": True, "reduction": "none"}),
    ("TverskyLoss", {"softmax": True, "to_onehot_y": True, "ignore_index": 0}),
    ("GeneralizedDiceLoss", {"softmax": True, "to_onehot_y": True}),  # no whole-loss path
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


@pytest.mark.parametrize(("name", "kwargs"), MAPPED, ids=range(len(MAPPED)))
def test_mapped_core_loss_matches_monai(backend, name, kwargs):
    x, t = _inputs(kwargs)
    loss = getattr(am, name)(**kwargs)
    xa, ta = backend.asarray(x), backend.asarray(t)
    core = core_loss(loss, xa, ta)
    assert core is not None and core.empty == "keep"
    expected = monai_loss(name, kwargs, None, x, t)[0]
    np.testing.assert_allclose(backend.to_numpy(core(xa, ta)), np.asarray(expected),
                               rtol=2e-5, atol=1e-6)
    # and the call itself (a whole-loss path or MONAI's composition) agrees
    np.testing.assert_allclose(backend.to_numpy(loss(xa, ta)), np.asarray(expected),
                               rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize(("name", "kwargs"), KEPT, ids=range(len(KEPT)))
def test_unmapped_configurations_keep_monai_composition(name, kwargs):
    x, t = _inputs(kwargs)
    assert core_loss(getattr(am, name)(**kwargs), x, t) is None


@pytest.mark.only_backends("numpy")
@pytest.mark.parametrize("name", ["DiceLoss", "TverskyLoss"])
def test_options_set_after_construction_are_read_at_the_call(backend, name):
    """MONAI keeps its options as plain attributes: a script may set one on a built
    loss. The route reads them at each call: the core loss is the new options' (MONAI's
    loss built with them), and an option that maps onto no core loss leaves the route."""
    first = {"softmax": True, "to_onehot_y": True}
    later = {"jaccard": True} if name == "DiceLoss" else {"alpha": 0.8, "beta": 0.1}
    later |= {"batch": True, "include_background": False, "smooth_nr": 1e-3}
    x, t = _inputs(first | later)
    loss = getattr(am, name)(**first)
    core_loss(loss, x, t)  # the route of the first options, built and kept
    for key, value in later.items():
        setattr(loss, key, value)
    expected = monai_loss(name, first | later, None, x, t)[0]
    core = core_loss(loss, x, t)
    assert core is not None
    np.testing.assert_allclose(core(x, t), expected, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(loss(x, t), expected, rtol=2e-5, atol=1e-6)
    loss.reduction = "none"  # no core loss: MONAI's composition, MONAI's shape
    assert core_loss(loss, x, t) is None
    expected = monai_loss(name, first | later | {"reduction": "none"}, None, x, t)[0]
    np.testing.assert_allclose(loss(x, t), expected, rtol=2e-5, atol=1e-6)
