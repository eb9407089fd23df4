"""anyiou as ``torch.nn.Module``\\ s: the five losses, and ``MeanIoU`` and ``BoundaryIoU`` as
``torchmetrics.Metric``\\ s.

A drop-in for ``segmentation_models_pytorch.losses`` (same constructor, same numbers, the
same mode constants)::

    from anyiou.torch import JaccardLoss   # was: from segmentation_models_pytorch.losses import ...

The losses hold no parameters; the metrics keep their counts in a persistent torchmetrics
state, so they move with ``.to(device)``, round-trip through ``state_dict``, and work with
``self.log`` in Lightning, ``MetricCollection`` and torchmetrics' DDP reduction. Needs
PyTorch and torchmetrics (``pip install 'anyiou[torch]'``).
"""

try:
    import torch as _torch  # noqa: F401
    import torchmetrics as _torchmetrics  # noqa: F401
except ImportError as _exc:  # pragma: no cover - torch and torchmetrics are test dependencies
    raise ImportError(
        "anyiou.torch needs PyTorch and torchmetrics: pip install 'anyiou[torch]'"
    ) from _exc

from .._lib import _options
from ._boundary_metric import BoundaryIoU
from ._losses import DiceLoss, GeneralizedDiceLoss, JaccardLoss, LovaszLoss, TverskyLoss
from ._metric import MeanIoU

BINARY_MODE = _options.BINARY_MODE
"""``mode="binary"``: one foreground channel, as smp's ``losses.BINARY_MODE``."""
MULTICLASS_MODE = _options.MULTICLASS_MODE
"""``mode="multiclass"``: one label per pixel, as smp's ``MULTICLASS_MODE``."""
MULTILABEL_MODE = _options.MULTILABEL_MODE
"""``mode="multilabel"``: independent 0/1 channels, as smp's ``MULTILABEL_MODE``."""

__all__ = [
    "BINARY_MODE",
    "MULTICLASS_MODE",
    "MULTILABEL_MODE",
    "BoundaryIoU",
    "DiceLoss",
    "GeneralizedDiceLoss",
    "JaccardLoss",
    "LovaszLoss",
    "MeanIoU",
    "TverskyLoss",
]
