"""Score functions on every stats shape smp 0.6.0 accepts: (N, C) from ``get_stats``, and
the 1-D (N,) and 0-D stats built by hand (smp's own examples call
``iou_score(torch.tensor([tp]), ..., reduction="micro")``); smp is the oracle."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from anyiou import metrics as M
from tests.support.oracles import smp_metrics

SMP = smp_metrics()

REDUCTIONS = ["micro", "macro", "weighted", "micro-imagewise", "macro-imagewise",
              "weighted-imagewise", "none", None]
EAGER_SCORES = ["iou_score", "f1_score", "accuracy", "precision", "recall", "specificity",
                "balanced_accuracy", "negative_predictive_value",
                "positive_likelihood_ratio", "false_omission_rate"]
LAZY_SCORES = ["iou_score", "balanced_accuracy"]
SHAPES = {"C": (3,), "one": (1,), "NC": (2, 3), "0d": ()}


def _stats(shape, seed=0):
    rng = np.random.default_rng(seed)
    stats = [rng.integers(0, 6, size=shape) for _ in range(4)]
    if len(shape) >= 1 and shape[-1] > 1:
        for x in stats[:3]:  # one class with empty union and empty prediction
            x[..., 0] = 0
    return stats


def _smp(name, stats, **kw):
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = getattr(SMP, name)(*(torch.from_numpy(np.asarray(s)) for s in stats), **kw)
    return out.numpy()


def _weights(shape, reduction):
    """Class weights where the reduction needs them: one per class, and 1-D/0-D stats
    hold one class (smp reads their axis as images)."""
    if reduction is None or "weighted" not in reduction:
        return None
    return [1.0, 2.0, 3.0][: shape[1]] if len(shape) == 2 else [2.0]


@pytest.mark.parametrize("zero_division", [1.0, 0.0])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", list(SHAPES), ids=list(SHAPES))
def test_stats_shapes_match_smp(backend, shape, reduction, zero_division):
    shape = SHAPES[shape]
    names = LAZY_SCORES if backend.lazy else EAGER_SCORES
    stats = _stats(shape)
    cw = _weights(shape, reduction)
    for name in names:
        kw = dict(reduction=reduction, class_weights=cw, zero_division=zero_division)
        args = [backend.asarray(s) for s in stats]
        if len(shape) < 2 and reduction == "micro-imagewise":
            # smp: IndexError (no axis 1 to sum); anyiou names the shape it needs
            with pytest.raises(ValueError, match=r"micro-imagewise.*\(N, C\)"):
                getattr(M, name)(*args, **kw)
            continue
        expected = _smp(name, stats, **kw)
        if cw is not None and len(shape) == 2 and reduction != "weighted":
            expected = expected * shape[1]  # smp divides by C once more (documented)
        got = backend.to_numpy(getattr(M, name)(*args, **kw))
        assert got.shape == expected.shape, (name, got.shape, expected.shape)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7, err_msg=name)


def test_smp_building_example(backend):
    """smp's building segmentation example: stats summed over a dataset, one per
    image batch, wrapped as (1,) tensors."""
    tp, fp, fn, tn = 70, 10, 20, 900
    stats = [np.array([v]) for v in (tp, fp, fn, tn)]
    args = [backend.asarray(s) for s in stats]
    for reduction in ("micro", "macro", "macro-imagewise", "none"):
        got = backend.to_numpy(M.iou_score(*args, reduction=reduction)).ravel()[0]
        assert math.isclose(got, tp / (tp + fp + fn), rel_tol=1e-6)
        expected = _smp("iou_score", stats, reduction=reduction).ravel()[0]
        assert math.isclose(got, expected, rel_tol=1e-6)


@pytest.mark.parametrize("reduction", ["macro", "weighted-imagewise"])
def test_one_dimensional_stats_hold_one_class(backend, reduction):
    """1-D stats are N images of one class (smp sums and averages their axis 0): class
    weights must be one value."""
    args = [backend.asarray(s) for s in _stats((3,))]
    with pytest.raises(ValueError, match=r"class_weights.*1"):
        M.iou_score(*args, reduction=reduction, class_weights=[1.0, 2.0, 3.0])


def test_three_dimensional_stats_are_rejected(backend):
    args = [backend.asarray(s) for s in _stats((2, 3, 2))]
    with pytest.raises(ValueError, match=r"\(N, C\), \(N,\) or \(\)"):
        M.iou_score(*args, reduction="micro")
