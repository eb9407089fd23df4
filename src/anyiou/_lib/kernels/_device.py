"""Which library an array is from and where new arrays go next to it: the rules every
kernel and every public function follows (``anyiou._lib._namespace`` re-exports them).

The torch tests are plain ``isinstance`` tests: array-api-compat's lookups
(``is_torch_array``, ``device``, ``array_namespace``) are ``functools.lru_cache``-wrapped,
and dynamo warns at each one it traces inside ``torch.compile``.
"""

from __future__ import annotations

import sys
from typing import Any

import array_api_compat as aac

__all__ = ["device_of", "is_torch_tensor", "torch_while_compiling"]


def is_torch_tensor(x: Any) -> bool:
    """``array_api_compat.is_torch_array`` as an ``isinstance`` test (no lru-cached
    lookup for dynamo to trace); False while torch is not imported."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def torch_while_compiling(*arrays: Any) -> Any:
    """array-api-compat's torch namespace when every array is a torch tensor and
    ``torch.compile`` traces, else None (the namespace without a traced compat lookup)."""
    torch = sys.modules.get("torch")  # imported wherever a tensor exists
    if torch is None or not torch.compiler.is_compiling():
        return None
    if not all(isinstance(x, torch.Tensor) for x in arrays):
        return None
    from array_api_compat import torch as compat_torch

    return compat_torch


def device_of(x: Any) -> Any:
    """The device to create new arrays on, to combine them with ``x``.

    ``array_api_compat.device(x)``, except ``None`` for JAX tracers (which carry none)
    and for JAX arrays sharded over several devices: their "device" is the sharding
    itself, which cannot be applied to an array of another shape (a scalar, the
    classes). Arrays created with ``device=None`` are uncommitted and follow the sharded
    operand they are combined with. A torch tensor's own ``device`` while dynamo traces.
    """
    if torch_while_compiling(x) is not None:
        return x.device
    try:
        dev = aac.device(x)
    except Exception:  # pragma: no cover - exotic libraries
        return None
    return None if len(getattr(dev, "device_set", ())) > 1 else dev
