"""anyiou.monai's DiceMetric and MeanIoU against MONAI 1.6.1: the per-batch scores
(NaN where MONAI gives NaN), ``aggregate()`` in every reduction, ``reset()``."""

from __future__ import annotations

import numpy as np
import pytest

from anyiou import monai as am
from tests.adapters.monai.cases import METRIC_CASES, MetricCase
from tests.adapters.monai.oracle import monai_metric

IDS = [c.id for c in METRIC_CASES]


def _close(got, expected):
    got = np.asarray(got)
    assert got.shape == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", METRIC_CASES, ids=IDS)
def test_metric_matches_monai(backend, case: MetricCase):
    batches = case.batches()
    outs, agg = monai_metric(case.metric, case.kwargs, batches)
    metric = getattr(am, case.metric)(**case.kwargs)
    for (p, y), expected in zip(batches, outs, strict=True):
        _close(backend.to_numpy(metric(y_pred=backend.asarray(p), y=backend.asarray(y))), expected)
    got = metric.aggregate()
    if isinstance(agg, tuple):
        assert isinstance(got, tuple)
        for g, e in zip(got, agg, strict=True):
            _close(backend.to_numpy(g), e)
    else:
        _close(backend.to_numpy(got), agg)


REDUCTIONS = ["none", "mean", "sum", "mean_batch", "sum_batch", "mean_channel", "sum_channel"]


@pytest.mark.only_backends("numpy")
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_aggregate_reductions_match_monai(backend, reduction):
    """Every MetricReduction of one buffer with NaNs (a whole image of NaN included)."""
    import torch
    from monai.metrics.utils import do_metric_reduction

    from anyiou.monai._reduction import metric_reduction

    f = np.array([[0.5, np.nan, 0.25], [np.nan, np.nan, np.nan], [1.0, 0.0, np.nan]], np.float32)
    expected = do_metric_reduction(torch.tensor(f), reduction)
    got = metric_reduction(backend.xp, backend.asarray(f), reduction)
    for g, e in zip(got, expected, strict=True):
        _close(backend.to_numpy(g), e.numpy())


@pytest.mark.only_backends("numpy")
def test_reset_and_return_with_label(backend):
    import torch
    from monai.metrics import DiceMetric

    case = next(c for c in METRIC_CASES if c.id == "dice-mean")
    batches = case.batches()
    ours = am.DiceMetric(reduction="mean_batch", return_with_label=True,
                         include_background=False)
    theirs = DiceMetric(reduction="mean_batch", return_with_label=True,
                        include_background=False)
    ours(y_pred=batches[0][0], y=batches[0][1])
    ours.reset()
    for p, y in batches[1:]:
        ours(y_pred=p, y=y)
        theirs(y_pred=torch.tensor(p), y=torch.tensor(y))
    assert ours.aggregate() == theirs.aggregate()
    ours.reset()
    with pytest.raises(ValueError, match="no scores"):
        ours.aggregate()


@pytest.mark.only_backends("jax")
def test_compute_dice_under_jit(backend):
    import jax

    case = next(c for c in METRIC_CASES if c.id == "dice-ignore-255")
    batches = case.batches()
    outs, _ = monai_metric(case.metric, case.kwargs, batches)
    step = jax.jit(lambda p, y: am.compute_dice(p, y, ignore_index=255))
    for (p, y), expected in zip(batches, outs, strict=True):
        _close(np.asarray(step(backend.asarray(p), backend.asarray(y))), expected)
