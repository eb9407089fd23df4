"""The metrics with ``ignore_index`` given as several values: a pixel whose target equals
any of them is not counted; class ids among them are also left out of the averages.

Oracles: sklearn's confusion matrix of the counted pixels, torchmetrics and smp 0.6.0 on
the same data with every void value remapped to one ignore value, and the loop
reference of Boundary IoU.
"""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.metrics as skm
import torch
import torchmetrics.functional.classification as TMF

from anyiou import metrics as M
from tests.docs.test_pages import _sessions
from tests.support.boundary_oracles import boundary_iou_oracle
from tests.support.cases import plant_voids, remap_voids
from tests.support.oracles import smp_metrics

C = 4


def _case(seed, voids, shape=(2, 6, 7), c=C):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, c, shape)
    p = np.where(rng.random(shape) < 0.6, t, rng.integers(0, c, shape))
    return p, plant_voids(rng, t, voids, 5)


def test_confusion_matrix_matches_sklearn(backend):
    voids = (255, -1, 1)
    p, t = _case(0, voids)
    got = M.confusion_matrix(backend.asarray(p), backend.asarray(t), C, ignore_index=voids)
    keep = ~np.isin(t, voids)
    expected = skm.confusion_matrix(t[keep], p[keep], labels=list(range(C)))
    np.testing.assert_array_equal(backend.to_numpy(got), expected)


@pytest.mark.parametrize("average", ["macro", "micro", "weighted", "none"])
@pytest.mark.parametrize(("voids", "to"), [((255, -1), 255), ((0, 255), 0)], ids=["out", "in"])
def test_jaccard_and_dice_match_torchmetrics(backend, average, voids, to):
    """torchmetrics on the target with every void value remapped to ``to`` (a class id:
    torchmetrics' Jaccard leaves it out of the averages, as anyiou does each class id
    given; its F1 keeps it, so Dice is compared with voids outside [0, C) only)."""
    p, t = _case(1, voids)
    tt = torch.from_numpy(remap_voids(t, voids, to))
    pairs = [(M.jaccard_index, TMF.multiclass_jaccard_index)]
    if to >= C:
        pairs.append((M.dice_score, TMF.multiclass_f1_score))
    for fn, tm in pairs:
        got = fn(backend.asarray(p), backend.asarray(t), C, average=average,
                 ignore_index=list(voids))
        kw = {"multidim_average": "global"} if tm is TMF.multiclass_f1_score else {}
        expected = tm(torch.from_numpy(p), tt, C, average=average, ignore_index=to, **kw)
        np.testing.assert_allclose(backend.to_numpy(got), expected.numpy(), rtol=1e-6,
                                   atol=1e-12, err_msg=fn.__name__)


def test_multiclass_get_stats_match_smp(backend):
    """smp's get_stats with the void values remapped to one (smp takes one value outside
    [0, C), in multiclass only)."""
    voids = (255, -1)
    p, t = _case(2, voids)
    expected = smp_metrics().get_stats(torch.from_numpy(p), torch.from_numpy(
        remap_voids(t, voids, 255)), mode="multiclass", ignore_index=255, num_classes=C)
    got = M.get_stats(backend.asarray(p), backend.asarray(t), "multiclass", num_classes=C,
                      ignore_index=voids)
    for g, e, name in zip(got, expected, ("tp", "fp", "fn", "tn"), strict=True):
        np.testing.assert_array_equal(backend.to_numpy(g), e.numpy(), err_msg=name)


@pytest.mark.parametrize("mode", ["binary", "multilabel"])
def test_mask_get_stats_match_reference(backend, mode):
    """0/1 modes (smp has no ignore_index there): counts per image and class of the
    pixels whose target is none of the void values, from NumPy masks."""
    voids = (-1, 7)
    p, t = _case(2, voids, shape=(2, 1 if mode == "binary" else 3, 5, 6), c=2)
    counted = ~np.isin(t, voids)
    pos_p, pos_t = (p == 1) & counted, (t == 1) & counted
    expected = [np.sum(a & b, axis=(2, 3)) for a, b in (
        (pos_p, pos_t), (pos_p, ~pos_t & counted), (~pos_p & counted, pos_t),
        (~pos_p & counted, ~pos_t & counted))]
    got = M.get_stats(backend.asarray(p), backend.asarray(t), mode, ignore_index=voids)
    for g, e, name in zip(got, expected, ("tp", "fp", "fn", "tn"), strict=True):
        np.testing.assert_array_equal(backend.to_numpy(g), e, err_msg=name)


def test_streaming_mean_iou_matches_torchmetrics(backend):
    voids = (2, 255)
    batches = [_case(s, voids) for s in (3, 4)]
    metric = M.MeanIoU(C, ignore_index=[255, 2], average="none")
    assert metric.ignore_index == (2, 255)
    for p, t in batches:
        metric.update(backend.asarray(p), backend.asarray(t))
    p = np.concatenate([b[0] for b in batches])
    t = np.concatenate([b[1] for b in batches])
    expected = TMF.multiclass_jaccard_index(torch.from_numpy(p),
                                            torch.from_numpy(remap_voids(t, voids, 2)), C,
                                            average="none", ignore_index=2)
    np.testing.assert_allclose(backend.to_numpy(metric.compute()), expected.numpy(),
                               rtol=1e-6)


@pytest.mark.parametrize("average", ["macro", "none"])
def test_boundary_iou_matches_reference(backend, average):
    """A class id (0) and an outside value (255) void: the loop reference with those
    pixels removed from every mask and class 0 left out of the average."""
    rng = np.random.default_rng(5)
    t = np.repeat(np.repeat(rng.integers(0, C, (2, 6, 6)), 3, axis=1), 3, axis=2)
    p = np.where(rng.random(t.shape) < 0.9, np.roll(t, 1, axis=2), rng.integers(0, C, t.shape))
    t = np.where(rng.random(t.shape) < 0.05, 255, t)
    counted = np.broadcast_to(~np.isin(t, (0, 255))[:, None], (2, C, 18, 18))
    masks = [np.stack([a == k for k in range(C)], axis=1) for a in (t, p)]
    expected = boundary_iou_oracle(*masks, 2, counted=counted, average=average,
                                   skip_class=0)
    got = M.boundary_iou(backend.asarray(p), backend.asarray(t), C, average,
                         ignore_index=(255, 0), dilation=2)
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-6)
    metric = M.BoundaryIoU(C, ignore_index=(0, 255), average=average, dilation=2)
    metric.update(backend.asarray(p), backend.asarray(t))
    np.testing.assert_allclose(backend.to_numpy(metric.compute()), expected, rtol=1e-6)


if "jax" in _sessions():

    def test_get_stats_under_jax_jit():
        import jax
        import jax.numpy as jnp

        voids = (255, -1)
        p, t = _case(6, voids)
        expected = smp_metrics().get_stats(torch.from_numpy(p), torch.from_numpy(
            remap_voids(t, voids, 255)), mode="multiclass", ignore_index=255, num_classes=C)
        fn = jax.jit(lambda a, b: M.get_stats(a, b, "multiclass", num_classes=C,
                                              ignore_index=voids))
        got = fn(jnp.asarray(p), jnp.asarray(t))
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_array_equal(np.asarray(g), e.numpy())


if "torch" in _sessions():

    def test_torchmetrics_adapter_matches_torchmetrics():
        import anyiou.torch as at

        voids = (-1, 255)
        p, t = _case(7, voids)
        metric = at.MeanIoU(C, ignore_index=voids)
        metric.update(torch.from_numpy(p), torch.from_numpy(t))
        expected = TMF.multiclass_jaccard_index(torch.from_numpy(p), torch.from_numpy(
            remap_voids(t, voids, 255)), C, ignore_index=255)
        np.testing.assert_allclose(metric.compute().numpy(), expected.numpy(), rtol=1e-6)
