"""Independent references the tests compare against.

* smp 0.6.0 losses and metrics, imported without the package's heavy top-level
  ``__init__`` (which needs timm/torchvision) by registering an empty parent module;
* float64 NumPy re-implementations written from the formulas, not from anyiou's code.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

import numpy as np


def smp_subpackage(name: str):
    """``segmentation_models_pytorch.<name>`` (e.g. ``"losses"``) without the package's
    ``__init__``; ImportError if smp is not installed."""
    if "segmentation_models_pytorch" not in sys.modules:
        spec = importlib.util.find_spec("segmentation_models_pytorch")
        if spec is None or spec.submodule_search_locations is None:
            raise ImportError("segmentation-models-pytorch==0.6.0 is not installed (the tests "
                              "and benchmarks compare against it)")
        pkg = types.ModuleType("segmentation_models_pytorch")
        pkg.__path__ = list(spec.submodule_search_locations)
        sys.modules["segmentation_models_pytorch"] = pkg
    return importlib.import_module(f"segmentation_models_pytorch.{name}")


def smp_losses():
    return smp_subpackage("losses")


def smp_metrics():
    return smp_subpackage("metrics")


def smp_value_and_grad(loss_cls_name: str, args: dict, y_pred: np.ndarray, y_true: np.ndarray):
    """smp loss value and gradient w.r.t. ``y_pred`` (torch CPU, y_pred's dtype)."""
    import torch

    loss = getattr(smp_losses(), loss_cls_name)(**args)
    x = torch.from_numpy(y_pred.copy()).requires_grad_(True)
    t = torch.from_numpy(np.ascontiguousarray(y_true))
    if t.dtype in (torch.int32, torch.int16, torch.uint8, torch.int8) and args.get("mode") == "multiclass":
        t = t.long()  # smp's F.one_hot needs int64 labels
    out = loss(x, t)
    (g,) = torch.autograd.grad(out, x, allow_unused=True)
    g = torch.zeros_like(x) if g is None else g
    return out.detach().numpy(), g.numpy()


# -- float64 NumPy references ---------------------------------------------------------


def np_softmax(x: np.ndarray, axis: int = 1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def np_onehot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(N, *S) labels -> (N, C, *S) float64 one-hot; labels outside [0, C) give zero rows."""
    return (labels[:, None] == np.arange(num_classes).reshape((1, -1) + (1,) * (labels.ndim - 1))).astype(
        np.float64
    )


def np_tversky_losses(p: np.ndarray, t: np.ndarray, alpha: float, beta: float, smooth=0.0, eps=1e-7,
                      per_image=False, log_loss=False) -> tuple[np.ndarray, np.ndarray]:
    """Per-class losses and presence for (N, C, ...) probabilities and targets, float64."""
    p = p.astype(np.float64).reshape(p.shape[0], p.shape[1], -1)
    t = t.astype(np.float64).reshape(t.shape[0], t.shape[1], -1)
    axes = (2,) if per_image else (0, 2)
    inter = (p.sum(axes) + t.sum(axes) - np.abs(p - t).sum(axes)) / 2
    fp = p.sum(axes) - inter
    fn = t.sum(axes) - inter
    score = (inter + smooth) / np.maximum(inter + alpha * fp + beta * fn + smooth, eps)
    loss = -np.log(np.maximum(score, eps)) if log_loss else 1 - score
    return loss, t.sum(axes) > 0
