"""IoU-family losses: classes and smp-compatible functional scores."""

from ._functional import soft_dice_score, soft_jaccard_score, soft_tversky_score
from ._jaccard import JaccardLoss

__all__ = [
    "JaccardLoss",
    "soft_dice_score",
    "soft_jaccard_score",
    "soft_tversky_score",
]
