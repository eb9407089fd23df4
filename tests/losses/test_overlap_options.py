"""Options beyond smp: per_image, reduction, empty, class_axis, low precision, all-ignored.

Oracles: MONAI ``DiceLoss(batch=False)`` with its smoothing set to 0 (per-image Dice and
Jaccard), a float64 NumPy reference written from the formulas (tests/oracles.py), and
smp on re-laid-out inputs.
"""

from __future__ import annotations

import numpy as np
import pytest

import anyiou
from tests.support.cases import MC, ML, Case
from tests.support.oracles import (
    np_onehot,
    np_sigmoid,
    np_softmax,
    np_tversky_losses,
    smp_value_and_grad,
)

ALPHA_BETA = {"JaccardLoss": (1.0, 1.0), "DiceLoss": (0.5, 0.5), "TverskyLoss": (0.3, 0.7)}


def _make(loss_name: str, mode: str, **options):
    if loss_name == "TverskyLoss":
        options = {"alpha": 0.3, "beta": 0.7, **options}
    return getattr(anyiou, loss_name)(mode, **options)


def _reference(mode, logits, y, alpha, beta, *, per_image=False, classes=None, weights=None,
               empty="zero", reduction="mean", ignore_index=None, log_loss=False):
    """float64 reference written from the formulas: p = softmax/sigmoid, ignored pixels
    zeroed in p and t, per-class Tversky score (I + smooth) / max(I + a FP + b FN + smooth,
    eps), loss 1 - score (or -log), zero for classes absent from the target, then the
    class selection, weights, ``empty`` rule and reduction."""
    logits = logits.astype(np.float64)
    if mode == "multiclass":
        p = np_softmax(logits)
        valid = np.ones(y.shape, bool) if ignore_index is None else y != ignore_index
        t = np_onehot(np.where(valid, y, -1), logits.shape[1])
        p = p * valid[:, None]
    else:
        p = np_sigmoid(logits)
        t = y.astype(np.float64)
        if ignore_index is not None:
            valid = y != ignore_index
            p, t = p * valid, t * valid
    loss, present = np_tversky_losses(p, t, alpha, beta, per_image=per_image, log_loss=log_loss)
    if empty != "keep":  # "keep": the computed loss of an absent class stays
        loss = loss * present
    c = loss.shape[-1]
    w = np.ones(c) if weights is None else np.asarray(weights, np.float64)
    sel = list(range(c)) if classes is None else list(classes)
    loss, present, w = loss[..., sel], present[..., sel], w[sel]
    if reduction == "none":
        return loss
    w = np.broadcast_to(w, loss.shape) * (present if empty == "exclude" else 1)
    if reduction == "sum":
        return (loss * w).sum()
    return (loss * w).sum() / w.sum() if w.sum() > 0 else 0.0


def _monai_dice(y_pred, y_true, mode, jaccard):
    import torch
    from monai.losses import DiceLoss as MonaiDice

    kw = dict(batch=False, smooth_nr=0.0, smooth_dr=0.0, jaccard=jaccard, reduction="none")
    if mode == "multiclass":
        fn = MonaiDice(softmax=True, to_onehot_y=True, **kw)
        t = torch.from_numpy(y_true[:, None])
    else:
        fn = MonaiDice(sigmoid=True, **kw)
        t = torch.from_numpy(y_true.astype(np.float32))
    out = fn(torch.from_numpy(y_pred), t)
    return out.reshape(out.shape[0], out.shape[1]).numpy()


def _all_present(case: Case, seed: int = 3):
    """Inputs where every class occurs in every image (so MONAI's empty rule is moot)."""
    y_pred, y = case.make(seed)
    if case.mode == "multiclass":
        for c in range(case.pred_shape[1]):
            y[:, c, 0] = c
    else:
        y[:, :, 0, 0] = 1
    return y_pred, y


@pytest.mark.parametrize("mode", ["multiclass", "multilabel", "binary"])
@pytest.mark.parametrize("loss_name", ["JaccardLoss", "DiceLoss"])
def test_per_image_matches_monai(backend, loss_name, mode):
    shape = {"multiclass": MC, "multilabel": ML, "binary": (3, 1, 5, 4)}[mode]
    y_pred, y = _all_present(Case("x", mode, shape, "labels" if mode == "multiclass" else "hard"))
    expected = _monai_dice(y_pred, y, mode, jaccard=loss_name == "JaccardLoss")
    p, t = backend.asarray(y_pred), backend.asarray(y)
    none = backend.to_numpy(_make(loss_name, mode, per_image=True, reduction="none")(p, t))
    assert none.shape == expected.shape
    np.testing.assert_allclose(none, expected, rtol=1e-5, atol=1e-6)
    mean = backend.to_numpy(_make(loss_name, mode, per_image=True)(p, t))
    np.testing.assert_allclose(mean, expected.mean(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("jaccard", [False, True])
def test_empty_keep_matches_monai(backend, jaccard):
    """``empty="keep"`` with halved smoothing is MONAI's DiceLoss (``batch=False``) on
    images where a class is absent: its loss ``1 - s_nr / (P + s_dr)`` counts."""
    import torch
    from monai.losses import DiceLoss as MonaiDice

    case = Case("x", "multiclass", (3, 4, 5, 6), "labels", absent=2)
    y_pred, y = case.make(seed=5)
    y[0, 0, 0] = 2  # class 2 present in image 0 only
    expected = MonaiDice(softmax=True, to_onehot_y=True, jaccard=jaccard, smooth_nr=1e-3,
                         smooth_dr=1e-3)(torch.from_numpy(y_pred), torch.from_numpy(y[:, None]))
    loss = _make("JaccardLoss" if jaccard else "DiceLoss", "multiclass", per_image=True,
                 empty="keep", smooth=5e-4)
    got = backend.to_numpy(loss(backend.asarray(y_pred), backend.asarray(y)))
    np.testing.assert_allclose(got, expected.item(), rtol=2e-6, atol=2e-6)


OPTION_SETS = [
    {"reduction": "none"},
    {"reduction": "sum"},
    {"reduction": "none", "per_image": True},
    {"reduction": "sum", "per_image": True},
    {"per_image": True, "classes": [0, 3], "class_weights": [1.0, 2.0, 3.0, 0.5]},
    {"empty": "exclude"},
    {"empty": "exclude", "class_weights": [1.0, 2.0, 3.0, 0.5]},
    {"empty": "exclude", "per_image": True},
    {"empty": "exclude", "per_image": True, "reduction": "none"},
    {"reduction": "none", "classes": [2, 1], "ignore_index": 255},
    {"empty": "keep"},
    {"empty": "keep", "per_image": True, "reduction": "sum", "classes": [2, 1]},
    {"empty": "keep", "per_image": True, "reduction": "none"},
    {"per_image": True, "log_loss": True, "ignore_index": 255},
]


@pytest.mark.parametrize("options", OPTION_SETS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("loss_name", ["JaccardLoss", "DiceLoss", "TverskyLoss"])
def test_options_match_float64_reference(backend, loss_name, options):
    case = Case("x", "multiclass", (3, 4, 5, 6), "labels", absent=2, void=255)
    y_pred, y = case.make(seed=7)
    y[0, 0, 0] = 2  # class 2 present in image 0 only: exercises per-image presence
    ignore = options.get("ignore_index")
    if ignore is None:
        y = np.where(y == 255, 0, y)
    alpha, beta = ALPHA_BETA[loss_name]
    expected = _reference(
        "multiclass", y_pred, y, alpha, beta,
        per_image=options.get("per_image", False), classes=options.get("classes"),
        weights=options.get("class_weights"), empty=options.get("empty", "zero"),
        reduction=options.get("reduction", "mean"), ignore_index=ignore,
        log_loss=options.get("log_loss", False),
    )
    out = _make(loss_name, "multiclass", **options)(backend.asarray(y_pred), backend.asarray(y))
    got = backend.to_numpy(out)
    assert got.shape == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize(
    "case",
    [
        Case("mc", "multiclass", (2, 3, 5, 4), "labels"),
        Case("mc-ignore", "multiclass", (2, 3, 5, 4), "labels", {"ignore_index": 255}, void=255),
        Case("ml-soft", "multilabel", (2, 3, 5, 4), "soft"),
    ],
    ids=lambda c: c.id,
)
def test_channels_last_equals_smp_on_channels_first(backend, case):
    y_pred, y = case.make(seed=11)
    expected, expected_grad = smp_value_and_grad("JaccardLoss", case.smp_args, y_pred, y)
    last_pred = np.ascontiguousarray(np.moveaxis(y_pred, 1, -1))
    last_true = y if case.mode == "multiclass" else np.moveaxis(y, 1, -1)
    loss = anyiou.JaccardLoss(**case.smp_args, class_axis=-1)
    t = backend.asarray(last_true)
    got = backend.to_numpy(loss(backend.asarray(last_pred), t))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    if backend.has_autodiff:
        _, grad = backend.value_and_grad(lambda p: loss(p, t), last_pred)
        np.testing.assert_allclose(grad, np.moveaxis(expected_grad, 1, -1), rtol=1e-4, atol=1e-7)


@pytest.mark.only_backends("torch", "torch_cuda")
def test_non_contiguous_torch_inputs(backend):
    torch = backend.lib
    y_pred, y = Case("x", "multiclass", (2, 3, 6, 5), "labels").make(seed=5)
    expected, _ = smp_value_and_grad("DiceLoss", {"mode": "multiclass"}, y_pred, y)
    # the same data, stored transposed: non-contiguous views with the original shapes
    p = backend.asarray(np.ascontiguousarray(np.swapaxes(y_pred, 2, 3))).transpose(2, 3)
    t = backend.asarray(np.ascontiguousarray(np.swapaxes(y, 1, 2))).transpose(1, 2)
    assert not p.is_contiguous() and not t.is_contiguous()
    got = anyiou.DiceLoss("multiclass")(p, t)
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-6)
    assert torch.is_tensor(got)


@pytest.mark.parametrize("mode", ["multiclass", "binary", "multilabel"])
@pytest.mark.parametrize("loss_name", ["JaccardLoss", "DiceLoss", "TverskyLoss"])
def test_all_pixels_ignored_gives_zero_loss_and_gradient(backend, loss_name, mode):
    shape = {"multiclass": (2, 3, 4, 4), "multilabel": (2, 3, 4, 4), "binary": (2, 1, 4, 4)}[mode]
    y_pred = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    y = np.full(shape if mode != "multiclass" else (2, 4, 4), 255, dtype=np.int64)
    for per_image in (False, True):
        loss = _make(loss_name, mode, ignore_index=255, per_image=per_image)
        out = backend.to_numpy(loss(backend.asarray(y_pred), backend.asarray(y)))
        assert out == 0.0
        if backend.has_autodiff:
            t = backend.asarray(y)
            value, grad = backend.value_and_grad(lambda p, loss=loss, t=t: loss(p, t), y_pred)
            assert value == 0.0 and np.all(grad == 0.0)


@pytest.mark.only_backends("torch", "jax", "torch_cuda", "jax_gpu")
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("loss_name", ["JaccardLoss", "DiceLoss"])
def test_half_precision_accumulates_in_float32(backend, dtype, loss_name):
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2, 3, 512, 512)).astype(np.float32)
    labels = rng.integers(0, 3, (2, 512, 512))
    expected, _ = smp_value_and_grad(loss_name, {"mode": "multiclass"}, logits, labels)
    if backend.name.startswith("torch"):
        x = backend.asarray(logits).to(getattr(backend.lib, dtype))
    else:
        x = backend.asarray(logits).astype(dtype)
    loss = getattr(anyiou, loss_name)("multiclass")
    out = loss(x, backend.asarray(labels))
    got = backend.to_numpy(out).astype(np.float64) if dtype != "bfloat16" else np.float64(out)
    assert str(out.dtype).endswith("float32")
    assert np.isfinite(got)
    np.testing.assert_allclose(got, expected, rtol=0, atol=5e-3)


def test_smp_overflows_in_float16_where_anyiou_does_not():
    """Documents https://github.com/qubvel-org/segmentation_models.pytorch/issues/463: smp's float16 sums over 512x512 overflow to inf/NaN."""
    import torch

    rng = np.random.default_rng(1)
    logits = torch.from_numpy(rng.normal(size=(2, 3, 512, 512)).astype(np.float16))
    labels = torch.from_numpy(rng.integers(0, 3, (2, 512, 512)))
    from tests.support.oracles import smp_losses

    smp_out = smp_losses().JaccardLoss("multiclass")(logits, labels)
    assert not torch.isfinite(smp_out)
    ours = anyiou.JaccardLoss("multiclass")(logits, labels)
    assert torch.isfinite(ours)


@pytest.mark.parametrize("loss_name", ["JaccardLoss", "DiceLoss", "TverskyLoss"])
def test_sync_hook_gives_the_global_batch_loss(backend, loss_name):
    """Two 'workers' each see half the batch; a sync that adds the other worker's
    statistics yields smp's loss on the concatenated batch on both workers."""
    y_pred, y = Case("x", "multiclass", (4, 3, 5, 5), "labels", {"ignore_index": 255},
                     void=255).make(seed=2)
    opts = {"mode": "multiclass", "ignore_index": 255}
    if loss_name == "TverskyLoss":
        opts.update(alpha=0.3, beta=0.7)
    expected, _ = smp_value_and_grad(loss_name, opts, y_pred, y)
    shards = [(backend.asarray(y_pred[:2]), backend.asarray(y[:2])),
              (backend.asarray(y_pred[2:]), backend.asarray(y[2:]))]
    local = getattr(anyiou, loss_name)(**opts)
    xp = backend.xp
    partial = [xp.sum(xp.stack(list(local.statistics(p, t))), axis=1) for p, t in shards]
    for rank in range(2):
        other = partial[1 - rank]
        loss = getattr(anyiou, loss_name)(**opts, sync=lambda s, other=other: s + other)
        got = backend.to_numpy(loss(*shards[rank]))
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_sync_needs_batch_statistics():
    with pytest.raises(ValueError, match="per_image"):
        anyiou.JaccardLoss("multiclass", per_image=True, sync=lambda s: s)
    with pytest.raises(TypeError, match="sync"):
        anyiou.JaccardLoss("multiclass", sync=3)


@pytest.mark.parametrize("mode", ["multiclass", "binary", "multilabel"])
@pytest.mark.parametrize("loss_name", ["JaccardLoss", "DiceLoss", "TverskyLoss", "LovaszLoss"])
def test_empty_batch_gives_zero(backend, loss_name, mode):
    """N = 0 is defined: no class has target pixels, so the loss is 0 (no NaN, no error)."""
    c = 1 if mode == "binary" else 3
    y_pred = np.zeros((0, c, 4, 4), np.float32)
    y = np.zeros((0, 4, 4) if mode == "multiclass" else (0, c, 4, 4), np.int64)
    for per_image in (False, True):
        loss = getattr(anyiou, loss_name)(mode, per_image=per_image)
        out = backend.to_numpy(loss(backend.asarray(y_pred), backend.asarray(y)))
        assert out.shape == () and out == 0.0
