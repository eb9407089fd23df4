"""The functional soft scores' ``dims`` against smp 0.6.0 (torch, the oracle): an empty
``dims`` (``()`` or ``[]``) reduces over every axis on every backend, as torch's
``sum(dim=())`` does in smp, like ``dims=None``."""

from __future__ import annotations

import numpy as np
import pytest

from anyiou.losses import soft_dice_score, soft_jaccard_score, soft_tversky_score
from tests.support.oracles import smp_losses

SCORES = {
    "jaccard": (soft_jaccard_score, "soft_jaccard_score", ()),
    "dice": (soft_dice_score, "soft_dice_score", ()),
    "tversky": (soft_tversky_score, "soft_tversky_score", (0.3, 0.7)),
}


def _smp(name, o, t, extra, dims):
    import torch

    fn = getattr(smp_losses()._functional, name)
    out = fn(torch.from_numpy(o), torch.from_numpy(t), *extra, dims=dims)
    return out.numpy()


@pytest.mark.parametrize("dims", [(), [], None, (0, 2), [1], 2], ids=repr)
@pytest.mark.parametrize("score", list(SCORES))
def test_dims_match_smp(backend, score, dims):
    fn, smp_name, extra = SCORES[score]
    rng = np.random.default_rng(0)
    o = rng.random((2, 3, 4))
    t = (rng.random((2, 3, 4)) > 0.5).astype(np.float64)
    expected = _smp(smp_name, o, t, extra, dims)
    got = backend.to_numpy(fn(backend.asarray(o), backend.asarray(t), *extra, dims=dims))
    assert got.shape == expected.shape, (got.shape, expected.shape)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
