"""IoU metrics with exact integer counts, on every array-API library.

Two families (see ``docs/metrics.md`` for which arguments reproduce smp, torchmetrics,
Keras, sklearn and MONAI numbers):

* smp.metrics parity: `get_stats` -> ``tp, fp, fn, tn`` (N, C), then score
  functions (`iou_score`, `f1_score`, ...) with smp's reductions;
* confusion-matrix (dataset-level) mIoU: `confusion_matrix`,
  `jaccard_index`, `dice_score` and the streaming `MeanIoU`;
* Boundary IoU (the IoU of the bands along the contours): `boundary_iou` and the
  streaming `BoundaryIoU`.
"""

from ._boundary import boundary_iou
from ._boundary_iou_metric import BoundaryIoU
from ._confusion import (
    confusion_matrix,
    dice_from_confusion_matrix,
    dice_score,
    iou_from_confusion_matrix,
    jaccard_index,
)
from ._counts import get_stats
from ._mean_iou_metric import MeanIoU
from ._score_functions import (
    accuracy,
    balanced_accuracy,
    f1_score,
    false_discovery_rate,
    false_negative_rate,
    false_omission_rate,
    false_positive_rate,
    fbeta_score,
    iou_score,
    negative_likelihood_ratio,
    negative_predictive_value,
    positive_likelihood_ratio,
    positive_predictive_value,
    precision,
    recall,
    sensitivity,
    specificity,
)

__all__ = [
    "BoundaryIoU",
    "MeanIoU",
    "accuracy",
    "balanced_accuracy",
    "boundary_iou",
    "confusion_matrix",
    "dice_from_confusion_matrix",
    "dice_score",
    "f1_score",
    "false_discovery_rate",
    "false_negative_rate",
    "false_omission_rate",
    "false_positive_rate",
    "fbeta_score",
    "get_stats",
    "iou_from_confusion_matrix",
    "iou_score",
    "jaccard_index",
    "negative_likelihood_ratio",
    "negative_predictive_value",
    "positive_likelihood_ratio",
    "positive_predictive_value",
    "precision",
    "recall",
    "sensitivity",
    "specificity",
]
