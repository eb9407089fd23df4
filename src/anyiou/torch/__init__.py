"""anyiou as ``torch.nn.Module``\\ s: the four losses and a streaming ``MeanIoU``.

A drop-in for ``segmentation_models_pytorch.losses`` (same constructor, same numbers)::

    from anyiou.torch import JaccardLoss   # was: from segmentation_models_pytorch.losses import ...

The modules hold no parameters; ``MeanIoU`` keeps its counts in a registered buffer, so it
moves with ``.to(device)`` and round-trips through ``state_dict``. Needs PyTorch.
"""

try:
    import torch as _torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - torch is a test dependency
    raise ImportError(
        "anyiou.torch needs PyTorch: pip install 'anyiou[torch]'"
    ) from exc

from ._losses import DiceLoss, JaccardLoss, LovaszLoss, TverskyLoss
from ._metric import MeanIoU

__all__ = ["DiceLoss", "JaccardLoss", "LovaszLoss", "MeanIoU", "TverskyLoss"]
