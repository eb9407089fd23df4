"""anyiou: the Jaccard (IoU) loss family and IoU metrics for semantic segmentation,
written once against the Python array API standard.

Works unchanged on NumPy, CuPy, PyTorch, JAX, Dask and array-api-strict arrays.
"""

from . import distributed, losses, metrics
from .losses import DiceLoss, JaccardLoss, LovaszLoss, TverskyLoss

__version__ = "0.1.0"  # the one place the version is written (pyproject.toml reads it)

__all__ = [
    "DiceLoss",
    "JaccardLoss",
    "LovaszLoss",
    "TverskyLoss",
    "__version__",
    "distributed",
    "losses",
    "metrics",
]
