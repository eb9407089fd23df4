"""IoU-family losses: classes, pure functions (optax style) and smp-compatible scores."""

from ._dice import DiceLoss
from ._generalized_loss import GeneralizedDiceLoss
from ._jaccard import JaccardLoss
from ._loss_functions import (
    dice_loss,
    generalized_dice_loss,
    jaccard_loss,
    lovasz_loss,
    tversky_loss,
)
from ._lovasz import LovaszLoss
from ._soft_scores import soft_dice_score, soft_jaccard_score, soft_tversky_score
from ._tversky import TverskyLoss

__all__ = [
    "DiceLoss",
    "GeneralizedDiceLoss",
    "JaccardLoss",
    "LovaszLoss",
    "TverskyLoss",
    "dice_loss",
    "generalized_dice_loss",
    "jaccard_loss",
    "lovasz_loss",
    "soft_dice_score",
    "soft_jaccard_score",
    "soft_tversky_score",
    "tversky_loss",
]
