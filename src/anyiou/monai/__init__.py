"""anyiou.monai: MONAI 1.6.1's Dice-family losses and Dice/IoU metrics on any array library.

A drop-in for ``monai.losses.DiceLoss``, ``GeneralizedDiceLoss``, ``TverskyLoss`` and
``monai.metrics.DiceMetric``, ``MeanIoU`` (``compute_dice``, ``compute_iou``): the same
arguments and values, on NumPy, PyTorch, JAX, Dask, CuPy and array-api-strict arrays.
Labels with ``to_onehot_y=True`` are never turned into a one-hot. Written against the
array API: importing this package imports no framework (and never the real ``monai``).
"""

from __future__ import annotations

from anyiou.monai._losses import DiceLoss, GeneralizedDiceLoss, TverskyLoss
from anyiou.monai._metrics import DiceMetric, MeanIoU, compute_dice, compute_iou

__all__ = [
    "DiceLoss",
    "DiceMetric",
    "GeneralizedDiceLoss",
    "MeanIoU",
    "TverskyLoss",
    "compute_dice",
    "compute_iou",
]
