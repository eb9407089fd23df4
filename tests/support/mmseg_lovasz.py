"""A float64 NumPy port of mmsegmentation's multiclass Lovasz-softmax
(``mmseg/models/losses/lovasz_loss.py``: ``lovasz_grad``, ``flatten_probs``,
``lovasz_softmax_flat``, ``lovasz_softmax``): the oracle of ``LovaszLoss``'s ``classes``
and ``class_weights``. Ignored pixels are removed by boolean indexing and each class is
sorted on its own, as there; nothing of anyiou is used."""

from __future__ import annotations

import numpy as np

from tests.support.oracles import np_softmax

__all__ = ["mmseg_lovasz_softmax"]


def _mmseg_lovasz_grad(gt_sorted: np.ndarray) -> np.ndarray:
    gts = gt_sorted.sum()
    intersection = gts - np.cumsum(gt_sorted)
    union = gts + np.cumsum(1.0 - gt_sorted)
    jaccard = 1.0 - intersection / union
    jaccard[1:] = jaccard[1:] - jaccard[:-1]
    return jaccard


def _mmseg_softmax_flat(probs: np.ndarray, labels: np.ndarray, classes, class_weight):
    """probs (P, C), labels (P,) without ignored pixels: the mean of ``w_c * loss_c`` over
    the classes (mmseg skips absent classes only for ``"present"``)."""
    if probs.size == 0:  # mmseg returns an empty tensor; anyiou's documented value is 0
        return 0.0
    c_total = probs.shape[1]
    to_sum = range(c_total) if isinstance(classes, str) else classes
    losses = []
    for c in to_sum:
        fg = (labels == c).astype(np.float64)
        if classes == "present" and fg.sum() == 0:
            continue
        errors = np.abs(fg - probs[:, c])
        perm = np.argsort(-errors, kind="stable")
        loss = errors[perm] @ _mmseg_lovasz_grad(fg[perm])
        if class_weight is not None:
            loss *= class_weight[c]
        losses.append(loss)
    return float(np.mean(losses)) if losses else 0.0


def _flatten(probs: np.ndarray, labels: np.ndarray, ignore_index):
    """mmseg's flatten_probs: (N, C, *S) -> (P, C), ignored pixels removed."""
    c = probs.shape[1]
    probs = np.moveaxis(probs, 1, -1).reshape(-1, c)
    labels = labels.reshape(-1)
    if ignore_index is None:
        return probs, labels
    keep = labels != ignore_index
    return probs[keep], labels[keep]


def mmseg_lovasz_softmax(logits, labels, classes="present", per_image=False,
                         class_weight=None, ignore_index=None) -> float:
    probs = np_softmax(np.asarray(logits, np.float64), axis=1)
    if per_image:
        return float(np.mean([
            _mmseg_softmax_flat(*_flatten(p[None], y[None], ignore_index), classes,
                                class_weight)
            for p, y in zip(probs, labels, strict=True)
        ]))
    return _mmseg_softmax_flat(*_flatten(probs, labels, ignore_index), classes, class_weight)
