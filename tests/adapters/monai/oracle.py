"""MONAI 1.6.1 itself as the oracle of anyiou.monai: values and input gradients on torch."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest


def monai_loss(name: str, kwargs: dict, act: Any, x: np.ndarray, target: np.ndarray,
               ) -> tuple[np.ndarray, np.ndarray]:
    """MONAI's loss ``name`` of ``(x, target)``, and the gradient of its sum w.r.t. ``x``."""
    torch = pytest.importorskip("torch")
    losses = pytest.importorskip("monai.losses")
    options = dict(kwargs)
    if act is not None:
        options["other_act"] = act
    t = torch.tensor(x, requires_grad=True)
    out = getattr(losses, name)(**options)(t, torch.tensor(target))
    (grad,) = torch.autograd.grad(out.sum(), t)
    return out.detach().numpy(), grad.numpy()


def monai_metric(name: str, kwargs: dict, batches: list) -> tuple[list, Any]:
    """MONAI's metric ``name``: the per-batch outputs, then ``aggregate()``."""
    torch = pytest.importorskip("torch")
    metrics = pytest.importorskip("monai.metrics")
    metric = getattr(metrics, name)(**kwargs)
    outs = [metric(y_pred=torch.tensor(p), y=torch.tensor(y)).numpy() for p, y in batches]
    agg = metric.aggregate()
    agg = tuple(a.numpy() for a in agg) if isinstance(agg, tuple) else agg.numpy()
    return outs, agg
