"""Boundary IoU oracles: the reference ``mask_to_boundary`` recipe (one-pixel zero
border, then ``d`` erosions by a 3x3 square of ones) with OpenCV, the same with
``scipy.ndimage.binary_erosion`` (any number of axes), and per-class band counts as
Python loops over images and classes, in float64.

Void pixels (``ignore_index``) are "not this class" on both sides: they are removed
from the target and the prediction masks before the erosion.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from scipy import ndimage

__all__ = [
    "boundary_cv2",
    "boundary_scipy",
    "boundary_iou_oracle",
    "reference_dilation",
]


def reference_dilation(spatial: tuple[int, ...], ratio: float = 0.02) -> int:
    """``int(round(ratio * diagonal))``, at least 1, as ``mask_to_boundary``."""
    diagonal = math.sqrt(sum(s * s for s in spatial))
    return max(1, int(round(ratio * diagonal)))


def boundary_cv2(mask: np.ndarray, d: int) -> np.ndarray:
    """The reference ``mask_to_boundary`` of a 2-D mask with band width ``d``."""
    mask = np.asarray(mask, dtype=np.uint8)
    h, w = mask.shape
    padded = cv2.copyMakeBorder(mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    eroded = cv2.erode(padded, np.ones((3, 3), dtype=np.uint8), iterations=d)
    return (mask - eroded[1 : h + 1, 1 : w + 1]).astype(bool)


def boundary_scipy(mask: np.ndarray, d: int) -> np.ndarray:
    """The same band with SciPy, for masks of any number of axes: ``d`` erosions by a
    3^k cube after a one-pixel zero border."""
    mask = np.asarray(mask, dtype=bool)
    padded = np.pad(mask, 1)
    eroded = ndimage.binary_erosion(padded, structure=np.ones((3,) * mask.ndim, bool),
                                    iterations=d, border_value=0)
    inner = eroded[tuple(slice(1, -1) for _ in range(mask.ndim))]
    return mask & ~inner


def boundary_iou_oracle(
    target_masks: np.ndarray,
    pred_masks: np.ndarray,
    d: int,
    *,
    counted: np.ndarray | None = None,
    average: str = "macro",
    multiclass: bool = True,
    per_image: bool = False,
    zero_division: float = 0.0,
    skip_class: int | None = None,
    band=boundary_scipy,
) -> np.ndarray:
    """Boundary IoU of per-class masks (N, C, *S), with loops over images and classes.

    ``counted`` (N, C, *S) or None removes void pixels from both masks first. Reductions:
    'none', 'micro', 'macro' (multiclass: over classes with a non-empty union),
    'weighted' (by target band size); ``skip_class`` is left out of the averages.
    """
    n, c = target_masks.shape[:2]
    inter = np.zeros((n, c))
    gb = np.zeros((n, c))
    pb = np.zeros((n, c))
    for i in range(n):
        for k in range(c):
            g, p = target_masks[i, k].astype(bool), pred_masks[i, k].astype(bool)
            if counted is not None:
                g, p = g & counted[i, k], p & counted[i, k]
            bg, bp = band(g, d), band(p, d)
            inter[i, k] = np.sum(bg & bp)
            gb[i, k] = np.sum(bg)
            pb[i, k] = np.sum(bp)
    if not per_image:
        inter, gb, pb = (x.sum(0, keepdims=True) for x in (inter, gb, pb))
    out = np.array([_reduce(a, b, e, average, multiclass, zero_division, skip_class)
                    for a, b, e in zip(inter, gb, pb, strict=True)])
    return out if per_image else out[0]


def _reduce(inter, gb, pb, average, multiclass, zero_division, skip_class):
    union = gb + pb - inter
    keep = np.ones(len(inter), bool)
    if skip_class is not None and 0 <= skip_class < len(inter):
        keep[skip_class] = False
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(union > 0, inter / np.where(union > 0, union, 1), zero_division)
    if average == "none":
        return per_class
    if average == "micro":
        u = union[keep].sum()
        return inter[keep].sum() / u if u > 0 else zero_division
    if average == "weighted":
        w = gb * keep
    else:
        w = keep * ((union > 0) if multiclass else 1.0)
    ok = ~np.isnan(per_class)
    w = np.where(ok, w, 0.0)
    s = np.where(ok, per_class, 0.0)
    return (w * s).sum() / w.sum() if w.sum() > 0 else zero_division
