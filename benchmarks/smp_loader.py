"""Import smp 0.6.0's losses without its heavy package ``__init__`` (timm, torchvision).

The same trick as ``tests/oracles.py``: register an empty parent module whose
``__path__`` points at the installed package, then import the subpackage.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types


def smp_subpackage(name: str):
    """``segmentation_models_pytorch.<name>`` (e.g. ``"losses"``); ImportError if absent."""
    if "segmentation_models_pytorch" not in sys.modules:
        spec = importlib.util.find_spec("segmentation_models_pytorch")
        if spec is None or spec.submodule_search_locations is None:
            raise ImportError("segmentation-models-pytorch==0.6.0 is not installed")
        pkg = types.ModuleType("segmentation_models_pytorch")
        pkg.__path__ = list(spec.submodule_search_locations)
        sys.modules["segmentation_models_pytorch"] = pkg
    return importlib.import_module(f"segmentation_models_pytorch.{name}")
