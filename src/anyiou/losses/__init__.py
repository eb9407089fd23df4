"""IoU-family losses: classes and smp-compatible functional scores."""

from ._dice import DiceLoss
from ._functional import soft_dice_score, soft_jaccard_score, soft_tversky_score
from ._jaccard import JaccardLoss
from ._lovasz import LovaszLoss
from ._tversky import TverskyLoss

__all__ = [
    "DiceLoss",
    "JaccardLoss",
    "LovaszLoss",
    "TverskyLoss",
    "soft_dice_score",
    "soft_jaccard_score",
    "soft_tversky_score",
]
