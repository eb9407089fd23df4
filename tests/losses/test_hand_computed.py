"""Hand-computed values and bounds: perfect prediction 0, disjoint 1, worked examples."""

from __future__ import annotations

import numpy as np
import pytest

import anyiou
from anyiou.losses import soft_dice_score, soft_jaccard_score, soft_tversky_score

LOSSES = ["JaccardLoss", "DiceLoss", "TverskyLoss"]


def test_worked_example_binary(backend):
    # p = [.8, .6, .2, 0], t = [1, 1, 0, 0]: I = 1.4, sum p = 1.6, sum t = 2
    p = backend.asarray(np.array([[0.8, 0.6, 0.2, 0.0]], np.float32))
    t = backend.asarray(np.array([[1, 1, 0, 0]]))
    jac = anyiou.JaccardLoss("binary", from_logits=False)(p, t)
    dice = anyiou.DiceLoss("binary", from_logits=False)(p, t)
    tv = anyiou.TverskyLoss("binary", from_logits=False, alpha=0.2, beta=0.8)(p, t)
    np.testing.assert_allclose(backend.to_numpy(jac), 1 - 1.4 / 2.2, rtol=1e-6)
    np.testing.assert_allclose(backend.to_numpy(dice), 1 - 2.8 / 3.6, rtol=1e-6)
    np.testing.assert_allclose(backend.to_numpy(tv), 1 - 1.4 / (1.4 + 0.2 * 0.2 + 0.8 * 0.6), rtol=1e-6)


def test_worked_example_multiclass_with_void(backend):
    # uniform probabilities 1/3; labels [[0, 1], [2, 255]] with 255 ignored:
    # each class: I = 1/3, sum p = 1 (3 valid pixels), sum t = 1 -> J = (1/3)/(5/3) = 0.2
    logits = backend.asarray(np.zeros((1, 3, 2, 2), np.float32))
    labels = backend.asarray(np.array([[[0, 1], [2, 255]]]))
    out = anyiou.JaccardLoss("multiclass", ignore_index=255)(logits, labels)
    np.testing.assert_allclose(backend.to_numpy(out), 0.8, rtol=1e-6)


@pytest.mark.parametrize("loss_name", LOSSES)
@pytest.mark.parametrize("mode", ["multiclass", "binary", "multilabel"])
def test_perfect_prediction_is_zero_and_disjoint_is_one(backend, loss_name, mode):
    rng = np.random.default_rng(3)
    if mode == "multiclass":
        labels = rng.integers(0, 3, (2, 5, 5))
        labels[:, 0, :3] = [0, 1, 2]
        perfect = (labels[:, None] == np.arange(3)[None, :, None, None]).astype(np.float32)
        wrong = np.roll(perfect, 1, axis=1)
        target = labels
    else:
        c = 1 if mode == "binary" else 3
        target = rng.integers(0, 2, (2, c, 5, 5))
        target[:, :, 0, 0] = 1
        perfect = target.astype(np.float32)
        wrong = 1 - perfect
    loss = getattr(anyiou, loss_name)(mode, from_logits=False)
    t = backend.asarray(target)
    assert backend.to_numpy(loss(backend.asarray(perfect), t)) == pytest.approx(0.0, abs=1e-7)
    assert backend.to_numpy(loss(backend.asarray(wrong), t)) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("loss_name", LOSSES)
def test_non_log_losses_lie_in_unit_interval(backend, loss_name):
    rng = np.random.default_rng(8)
    for seed in range(5):
        logits = rng.normal(0, 3, (2, 4, 6, 6)).astype(np.float32)
        labels = rng.integers(0, 4, (2, 6, 6))
        loss = getattr(anyiou, loss_name)("multiclass", per_image=bool(seed % 2))
        v = float(backend.to_numpy(loss(backend.asarray(logits), backend.asarray(labels))))
        assert 0.0 <= v <= 1.0, (seed, v)


def test_soft_target_equal_to_prediction_gives_zero_loss(backend):
    # smp >= 0.6 L1 intersection (https://github.com/qubvel-org/segmentation_models.pytorch/pull/927):
    # p == t = 0.5 scores 1, classic sum(p*t) gives 2/3.
    half = backend.asarray(np.full((1, 1, 4), 0.5, np.float32))
    loss = anyiou.DiceLoss("binary", from_logits=False)(half, half)
    assert backend.to_numpy(loss) == pytest.approx(0.0, abs=1e-7)


def test_functional_scores_match_smp(backend):
    import torch

    from tests.support.oracles import smp_losses

    F = smp_losses()._functional
    rng = np.random.default_rng(0)
    o = rng.random((2, 3, 7)).astype(np.float32)
    t = rng.random((2, 3, 7)).astype(np.float32)
    for dims in (None, (0, 2), 2):
        to, tt = torch.from_numpy(o), torch.from_numpy(t)
        bo, bt = backend.asarray(o), backend.asarray(t)
        cases = [
            (soft_jaccard_score(bo, bt, 0.5, 1e-7, dims), F.soft_jaccard_score(to, tt, 0.5, 1e-7, dims)),
            (soft_dice_score(bo, bt, dims=dims), F.soft_dice_score(to, tt, dims=dims)),
            (soft_tversky_score(bo, bt, 0.3, 0.7, 0.0, 1e-7, dims),
             F.soft_tversky_score(to, tt, 0.3, 0.7, 0.0, 1e-7, dims)),
        ]
        for got, exp in cases:
            np.testing.assert_allclose(backend.to_numpy(got), exp.numpy(), rtol=1e-6, atol=1e-7)
