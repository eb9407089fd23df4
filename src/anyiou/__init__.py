"""anyiou: the Jaccard (IoU) loss family and IoU metrics for semantic segmentation,
written once against the Python array API standard.

Works unchanged on NumPy, CuPy, PyTorch, JAX, Dask and array-api-strict arrays.
"""

# The submodules are imported on first use (PEP 562): ``import anyiou`` stays cheap, so
# that the command line (``python -m anyiou``) installs its Ctrl-C handler at once.
from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing here would cost start-up time
if TYPE_CHECKING:  # what the names are, for type checkers and the API pages
    from . import distributed, losses, metrics, monai
    from .losses import DiceLoss, GeneralizedDiceLoss, JaccardLoss, LovaszLoss, TverskyLoss

__version__ = "0.1.0"  # the one place the version is written (pyproject.toml reads it)

__all__ = [
    "DiceLoss",
    "GeneralizedDiceLoss",
    "JaccardLoss",
    "LovaszLoss",
    "TverskyLoss",
    "__version__",
    "distributed",
    "losses",
    "metrics",
    "monai",
]

_SUBMODULES = ("distributed", "losses", "metrics", "monai")
_LOSSES = ("DiceLoss", "GeneralizedDiceLoss", "JaccardLoss", "LovaszLoss", "TverskyLoss")


def __getattr__(name: str) -> object:
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LOSSES:
        return getattr(importlib.import_module(".losses", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
