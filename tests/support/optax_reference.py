"""optax 0.2.8's segmentation losses (``optax/losses/_segmentation.py``) restated in
float64 NumPy: the oracle of `anyiou.optax` on the backends where optax is not installed
(tests/losses/test_optax_dropin.py); tests/losses/test_optax_oracle.py checks anyiou
against optax itself on JAX."""

from __future__ import annotations

import numpy as np


def _activate(p: np.ndarray, apply_softmax: bool) -> np.ndarray:
    if not apply_softmax:
        return p
    if p.shape[-1] == 1:
        return 1.0 / (1.0 + np.exp(-p))
    e = np.exp(p - p.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    return np.eye(num_classes)[np.asarray(labels)]


def class_losses(pred, targ, *, smooth=1.0, alpha=0.5, beta=0.5, apply_softmax=True,
                 axis=None, valid=None):
    """Per-class ``1 - dice`` over ``axis``; ``valid`` (the pixels' shape) zeroes the
    prediction and the target of the other pixels (after the activation)."""
    p = np.asarray(pred, dtype=np.float64)
    t = np.asarray(targ, dtype=np.float64)
    if p.ndim == t.ndim - 1:
        p = p[..., None]
    if t.ndim == p.ndim - 1:
        t = t[..., None]
    assert p.shape == t.shape
    p = _activate(p, apply_softmax)
    if valid is not None:
        p = p * valid[..., None]
        t = t * valid[..., None]
    axis = tuple(range(1, p.ndim - 1)) if axis is None else axis
    inter = (p * t).sum(axis=axis)
    pred_sum = p.sum(axis=axis)
    target_sum = t.sum(axis=axis)
    den = inter + alpha * (pred_sum - inter) + beta * (target_sum - inter) + smooth
    return 1.0 - (inter + smooth) / den, p.shape[-1], t


def dice_loss(pred, targ, *, class_weights=None, reduction="mean", ignore_background=False,
              **kw):
    loss, channels, _ = class_losses(pred, targ, **kw)
    if class_weights is not None:
        loss = loss * np.asarray(class_weights, dtype=np.float64)
    if ignore_background and channels > 1:
        loss = loss[..., 1:]
    if reduction == "mean":
        return loss.mean(axis=-1)
    if reduction == "sum":
        return loss.sum(axis=-1)
    return loss


def binary_dice_loss(pred, targ, *, smooth=1.0, apply_sigmoid=True, valid=None):
    pred, targ = np.asarray(pred), np.asarray(targ)
    if pred.ndim == targ.ndim and pred.shape[-1] != 1:
        pred, targ = pred[..., None], targ[..., None]
    return dice_loss(pred, targ, smooth=smooth, apply_softmax=apply_sigmoid, valid=valid)


def generalized_dice_loss(pred, targ, *, smooth=1.0, apply_softmax=True,
                          ignore_background=False, valid=None):
    loss, channels, t = class_losses(pred, targ, smooth=smooth, apply_softmax=apply_softmax,
                                     valid=valid)
    freq = t.sum(axis=tuple(range(t.ndim - 1)))
    w = 1.0 / (freq**2 + 1e-7)
    w = w / w.sum() * len(w)
    loss = loss * w
    if ignore_background and channels > 1:
        loss = loss[..., 1:]
    return loss.mean()
