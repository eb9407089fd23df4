"""torchmetrics' ``segmentation.DiceScore`` (the oracle, run on torch CPU) against
anyiou's per-image F1 (``f1_score`` of ``get_stats``) and its data-set ``dice_score``,
as stated in docs/metrics.md: ``DiceScore(average="macro")`` with its default
``aggregation_level="samplewise"`` is the per-image (smp ``macro-imagewise``) F1, not
``dice_score``; ``aggregation_level="global"`` is ``dice_score``."""

from __future__ import annotations

import math

import numpy as np
import pytest

from anyiou.metrics import dice_score, f1_score, get_stats

torch = pytest.importorskip("torch")
segmentation = pytest.importorskip("torchmetrics.segmentation")

C = 4


def _labels(seed: int, absent: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    pred = rng.integers(0, C, (5, 9, 7))
    target = rng.integers(0, C, (5, 9, 7))
    if absent:
        # image 0: class 3 in neither map (an empty union); image 1: class 2 predicted
        # but absent from the target; image 2: class 1 in the target only
        target[0][target[0] == 3] = 0
        pred[0][pred[0] == 3] = 1
        target[1][target[1] == 2] = 0
        pred[2][pred[2] == 1] = 0
    return pred, target


def _torchmetrics(pred, target, aggregation_level: str) -> float:
    metric = segmentation.DiceScore(num_classes=C, average="macro", input_format="index",
                                    aggregation_level=aggregation_level)
    metric.update(torch.from_numpy(pred), torch.from_numpy(target))
    return float(metric.compute())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_samplewise_macro_is_the_per_image_f1(backend, seed):
    """Every class in every image (prediction or target): reduction="macro-imagewise"."""
    pred, target = _labels(seed, absent=False)
    stats = get_stats(backend.asarray(pred), backend.asarray(target), "multiclass",
                      num_classes=C)
    ours = float(backend.to_numpy(f1_score(*stats, reduction="macro-imagewise")))
    expected = _torchmetrics(pred, target, "samplewise")
    assert ours == pytest.approx(expected, abs=1e-6)
    # and it is not the data-set Dice (which differs on these inputs)
    assert float(backend.to_numpy(dice_score(backend.asarray(pred),
                                             backend.asarray(target), C))) != \
        pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_samplewise_macro_skips_empty_unions(backend, seed):
    """A class absent from both maps of an image has no Dice there: torchmetrics leaves it
    out of that image's mean; a class predicted but absent from the target scores 0."""
    pred, target = _labels(seed, absent=True)
    stats = get_stats(backend.asarray(pred), backend.asarray(target), "multiclass",
                      num_classes=C)
    per = backend.to_numpy(f1_score(*stats, reduction="none", zero_division=math.nan))
    ours = float(np.mean(np.nanmean(per, axis=1)))
    expected = _torchmetrics(pred, target, "samplewise")
    assert ours == pytest.approx(expected, abs=1e-6)
    # neither zero_division=0 nor 1 of "macro-imagewise" gives it
    for z in (0, 1):
        other = float(backend.to_numpy(f1_score(*stats, reduction="macro-imagewise",
                                                zero_division=z)))
        assert other != pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("absent", [False, True])
def test_global_macro_is_dice_score(backend, absent):
    pred, target = _labels(3, absent)
    ours = float(backend.to_numpy(dice_score(backend.asarray(pred),
                                             backend.asarray(target), C)))
    assert ours == pytest.approx(_torchmetrics(pred, target, "global"), abs=1e-6)


def test_the_example_of_the_metrics_page(backend):
    """The figures printed on docs/metrics.md are torchmetrics' (0.6167 samplewise,
    0.6238 global) and smp's macro-imagewise (0.7444)."""
    target = np.array([[[0, 0], [1, 1]], [[2, 2], [2, 0]]])
    pred = np.array([[[0, 1], [1, 1]], [[2, 0], [0, 0]]])
    metric = segmentation.DiceScore(num_classes=3, average="macro", input_format="index")
    metric.update(torch.from_numpy(pred), torch.from_numpy(target))
    samplewise = float(metric.compute())
    metric = segmentation.DiceScore(num_classes=3, average="macro", input_format="index",
                                    aggregation_level="global")
    metric.update(torch.from_numpy(pred), torch.from_numpy(target))
    global_ = float(metric.compute())
    p, t = backend.asarray(pred), backend.asarray(target)
    stats = get_stats(p, t, "multiclass", num_classes=3)
    f1 = backend.to_numpy(f1_score(*stats, reduction="none", zero_division=math.nan))
    assert float(np.mean(np.nanmean(f1, axis=1))) == pytest.approx(samplewise, abs=1e-6)
    assert float(backend.to_numpy(dice_score(p, t, 3))) == pytest.approx(global_, abs=1e-6)
    assert (round(samplewise, 4), round(global_, 4)) == (0.6167, 0.6238)
    # smp's macro-imagewise counts image 0's class 2 and image 1's class 1 as 1
    smp_style = float(backend.to_numpy(f1_score(*stats, reduction="macro-imagewise")))
    assert smp_style == pytest.approx((2 / 3 + 0.8 + 1 + 0.5 + 1 + 0.5) / 6, abs=1e-6)
