"""Bad input to the losses: each case raises ValueError/TypeError naming the argument."""

from __future__ import annotations

import numpy as np
import pytest

import anyiou

F32 = np.float32
MC_PRED = np.zeros((2, 3, 4, 4), F32)
MC_LAB = np.zeros((2, 4, 4), np.int64)

CONSTRUCTOR_ERRORS = [
    ("unknown-mode", dict(mode="multi"), ValueError, "mode"),
    ("mode-not-str", dict(mode=1), ValueError, "mode"),
    ("classes-binary", dict(mode="binary", classes=[0]), ValueError, "classes"),
    ("classes-int", dict(mode="multiclass", classes=1), TypeError, "classes"),
    ("classes-float", dict(mode="multiclass", classes=[0.5]), TypeError, "classes"),
    ("classes-negative", dict(mode="multiclass", classes=[-1]), ValueError, "classes"),
    ("classes-empty", dict(mode="multiclass", classes=[]), ValueError, "classes"),
    ("weights-binary", dict(mode="binary", class_weights=[1.0]), ValueError, "class_weights"),
    ("weights-negative", dict(mode="multiclass", class_weights=[1, -1, 1]), ValueError, "class_weights"),
    ("weights-nan", dict(mode="multiclass", class_weights=[1, float("nan"), 1]), ValueError,
     "class_weights"),
    ("ignore-float", dict(mode="multiclass", ignore_index=255.0), TypeError, "ignore_index"),
    ("ignore-bool", dict(mode="multiclass", ignore_index=True), TypeError, "ignore_index"),
    ("ignore-str", dict(mode="multiclass", ignore_index="255"), TypeError, "ignore_index"),
    ("smooth-negative", dict(mode="multiclass", smooth=-1.0), ValueError, "smooth"),
    ("eps-negative", dict(mode="multiclass", eps=-1e-7), ValueError, "eps"),
    ("eps-inf", dict(mode="multiclass", eps=float("inf")), ValueError, "eps"),
    ("reduction", dict(mode="multiclass", reduction="avg"), ValueError, "reduction"),
    ("empty", dict(mode="multiclass", empty="skip"), ValueError, "empty"),
    ("class-axis-float", dict(mode="multiclass", class_axis=1.0), TypeError, "class_axis"),
]


@pytest.mark.parametrize(("kwargs", "exc", "name"), [c[1:] for c in CONSTRUCTOR_ERRORS],
                         ids=[c[0] for c in CONSTRUCTOR_ERRORS])
@pytest.mark.parametrize("loss_name", ["JaccardLoss", "DiceLoss", "TverskyLoss"])
def test_constructor_rejects(loss_name, kwargs, exc, name):
    with pytest.raises(exc, match=name):
        getattr(anyiou, loss_name)(**kwargs)


def test_tversky_rejects_negative_alpha():
    with pytest.raises(ValueError, match="alpha"):
        anyiou.TverskyLoss("multiclass", alpha=-0.1)


CALL_ERRORS = [
    ("pred-int", "multiclass", {}, np.zeros((2, 3, 4, 4), np.int64), MC_LAB, TypeError, "y_pred"),
    ("pred-1d", "binary", {}, np.zeros((4,), F32), np.zeros((4,), np.int64), ValueError, "y_pred"),
    ("pred-0d", "binary", {}, np.zeros((), F32), np.zeros((), np.int64), ValueError, "y_pred"),
    ("batch-mismatch", "multiclass", {}, MC_PRED, np.zeros((3, 4, 4), np.int64), ValueError, "batch"),
    ("mc-float-labels", "multiclass", {}, MC_PRED, MC_LAB.astype(F32), TypeError, "y_true"),
    ("mc-onehot-target", "multiclass", {}, MC_PRED, np.zeros((2, 3, 4, 4), np.int64), ValueError,
     "y_true"),
    ("mc-spatial-mismatch", "multiclass", {}, MC_PRED, np.zeros((2, 4, 5), np.int64), ValueError,
     "y_true"),
    ("ml-shape", "multilabel", {}, MC_PRED, np.zeros((2, 2, 4, 4), np.int64), ValueError, "y_true"),
    ("bin-shape", "binary", {}, np.zeros((2, 1, 4, 4), F32), np.zeros((2, 4, 5), np.int64),
     ValueError, "y_true"),
    ("bad-class-axis", "multiclass", {"class_axis": 0}, MC_PRED, MC_LAB, ValueError, "class_axis"),
    ("class-axis-out-of-range", "multiclass", {"class_axis": 4}, MC_PRED, MC_LAB, ValueError,
     "class_axis"),
    ("classes-out-of-range", "multiclass", {"classes": [0, 3]}, MC_PRED, MC_LAB, ValueError, "classes"),
    ("weights-wrong-length", "multiclass", {"class_weights": [1.0, 2.0]}, MC_PRED, MC_LAB, ValueError,
     "class_weights"),
    ("weights-all-zero", "multiclass", {"class_weights": [0.0, 0.0, 1.0], "classes": [0, 1]}, MC_PRED,
     MC_LAB, ValueError, "class_weights"),
]

VALUE_ERRORS = [
    ("mc-label-too-large", "multiclass", {}, MC_PRED, np.full((2, 4, 4), 3), ValueError, "y_true"),
    ("mc-label-negative", "multiclass", {}, MC_PRED, np.full((2, 4, 4), -1), ValueError, "y_true"),
    ("mc-255-without-ignore", "multiclass", {"ignore_index": -1}, MC_PRED, np.full((2, 4, 4), 255),
     ValueError, "ignore_index"),
    ("bin-target-255", "binary", {}, np.zeros((2, 1, 4, 4), F32), np.full((2, 1, 4, 4), 255),
     ValueError, "y_true"),
    ("ml-target-above-one", "multilabel", {}, MC_PRED, np.full((2, 3, 4, 4), 1.5, F32), ValueError,
     "y_true"),
]


@pytest.mark.parametrize(("mode", "opts", "pred", "true", "exc", "name"), [c[1:] for c in CALL_ERRORS],
                         ids=[c[0] for c in CALL_ERRORS])
def test_call_rejects(backend, mode, opts, pred, true, exc, name):
    loss = anyiou.JaccardLoss(mode, **opts)
    with pytest.raises(exc, match=name):
        loss(backend.asarray(pred), backend.asarray(true))


@pytest.mark.parametrize(("mode", "opts", "pred", "true", "exc", "name"), [c[1:] for c in VALUE_ERRORS],
                         ids=[c[0] for c in VALUE_ERRORS])
def test_label_values_checked_on_eager_arrays(backend, mode, opts, pred, true, exc, name):
    loss = anyiou.JaccardLoss(mode, **opts)
    p, t = backend.asarray(pred), backend.asarray(true)
    if backend.checks_values:
        with pytest.raises(exc, match=name):
            loss(p, t)
    else:
        # Lazy/GPU arrays are not inspected (documented): out-of-range labels never crash,
        # they are treated like ignored pixels, and the result stays finite.
        out = backend.to_numpy(loss(p, t))
        assert np.isfinite(out) or mode != "multiclass"


def test_mixed_libraries_rejected():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="y_pred and y_true"):
        anyiou.JaccardLoss("multiclass")(torch.zeros(2, 3, 4, 4), MC_LAB)


def test_non_array_rejected():
    with pytest.raises(TypeError, match="y_true"):
        anyiou.JaccardLoss("multiclass")(MC_PRED, [[0, 1]])


@pytest.mark.only_backends("torch")
def test_mixed_devices_rejected(backend):
    torch = backend.lib
    pred = torch.zeros(2, 3, 4, 4)
    labels = torch.zeros(2, 4, 4, dtype=torch.int64, device="meta")
    with pytest.raises(ValueError, match="same device"):
        anyiou.JaccardLoss("multiclass")(pred, labels)
