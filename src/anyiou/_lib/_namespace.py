"""Namespace, device and dtype helpers shared by every public function.

Nothing here imports a framework: libraries are recognised through
``array_api_compat`` only.
"""

from __future__ import annotations

import sys
from typing import Any

import array_api_compat as aac

__all__ = [
    "accumulation_dtype",
    "device_of",
    "get_namespace",
    "index_dtype",
    "is_floating",
    "is_integral",
    "is_torch_tensor",
    "values_checkable",
]


def get_namespace(**arrays: Any) -> Any:
    """Return the array-API namespace shared by the named arrays.

    Raises ``TypeError`` naming the arguments when an argument is not an array or when
    the arrays come from different libraries, and ``ValueError`` when they live on
    different devices.
    """
    xp = _torch_while_compiling(*arrays.values())
    if xp is None:
        xp = _array_namespace(arrays)
    names = list(arrays)
    first = device_of(arrays[names[0]])
    for name in names[1:]:
        other = device_of(arrays[name])
        if first is not None and other is not None and str(first) != str(other):
            raise ValueError(
                f"{names[0]} and {name} must be on the same device, got {first} and {other}"
            )
    return xp


def _torch_while_compiling(*arrays: Any) -> Any:
    """array-api-compat's torch namespace when every array is a torch tensor and
    ``torch.compile`` traces, else None: the compat lookups (``array_namespace``,
    ``device``, ``is_*_array``) are ``functools.lru_cache``-wrapped, and dynamo warns
    at each one it traces. Plain ``isinstance`` tests are traced silently."""
    torch = sys.modules.get("torch")  # imported wherever a tensor exists
    if torch is None or not torch.compiler.is_compiling():
        return None
    if not all(isinstance(x, torch.Tensor) for x in arrays):
        return None
    from array_api_compat import torch as compat_torch

    return compat_torch


def _array_namespace(arrays: dict[str, Any]) -> Any:
    """``array_namespace`` of the named arrays, with errors that name them."""
    for name, x in arrays.items():
        if not aac.is_array_api_obj(x):
            raise TypeError(
                f"{name} must be an array (NumPy, CuPy, PyTorch, JAX, Dask or any array-API "
                f"library), got {type(x).__name__}"
            )
    try:
        xp = aac.array_namespace(*arrays.values())
    except TypeError as exc:
        kinds = ", ".join(
            f"{n}: {type(x).__module__}.{type(x).__name__}" for n, x in arrays.items()
        )
        raise TypeError(
            f"{' and '.join(arrays)} must come from the same array library ({kinds})"
        ) from exc
    return xp


def device_of(x: Any) -> Any:
    """The device of ``x`` (``None`` for JAX tracers, which carry none)."""
    if _torch_while_compiling(x) is not None:
        return x.device
    try:
        return aac.device(x)
    except Exception:  # pragma: no cover - exotic libraries
        return None


def index_dtype(xp: Any, device: Any = None) -> Any:
    """The namespace's default indexing dtype (int64, or int32 for JAX without x64)."""
    try:
        return xp.__array_namespace_info__().default_dtypes(device=device)["indexing"]
    except Exception:  # pragma: no cover - namespaces without the inspection API
        return xp.int64


def is_floating(xp: Any, dtype: Any) -> bool:
    """True for real floating dtypes, including float16 and bfloat16."""
    return bool(xp.isdtype(dtype, "real floating"))


def is_integral(xp: Any, dtype: Any) -> bool:
    """True for signed/unsigned integer dtypes and bool."""
    return bool(xp.isdtype(dtype, ("integral", "bool")))


def accumulation_dtype(xp: Any, dtype: Any) -> Any:
    """dtype used for reductions: float64 stays, everything narrower becomes float32.

    float16/bfloat16 sums over a 512x512 image overflow float16 (max 65504); summing in
    float32 keeps the loss finite.
    """
    if dtype == xp.float64:
        return xp.float64
    return xp.float32


def values_checkable(x: Any) -> bool:
    """Whether a value check on ``x`` is cheap and possible.

    False for lazy arrays (JAX, including eager JAX arrays, and Dask: checking would force
    a computation or fail under ``jit``) and for arrays on an accelerator (CuPy, torch
    CUDA/MPS), where a check costs a host synchronisation.

    torch CPU tensors are checked only when eager and plain: not while ``torch.compile``
    (dynamo, ``torch.export``) traces, not while ``torch.jit.trace`` records, not inside
    ``torch.func`` transforms (functorch-wrapped tensors: ``vmap``, ``grad``, ``jacrev``)
    and not for tensor subclasses (fake, functional or distributed tensors), where
    reading a value fails or would be baked into the traced program.
    """
    if is_torch_tensor(x):
        if x.device.type != "cpu":
            return False
        torch = sys.modules["torch"]  # already imported: x is a torch tensor
        if torch.compiler.is_compiling() or torch.jit.is_tracing():
            return False
        if type(x) not in (torch.Tensor, torch.nn.Parameter):
            return False
        if torch._C._functorch.is_functorch_wrapped_tensor(x):
            return False
        return "Batched" not in str(torch._C._dispatch_keys(x))  # the legacy vmap
    return not (aac.is_lazy_array(x) or aac.is_cupy_array(x))


def is_torch_tensor(x: Any) -> bool:
    """``array_api_compat.is_torch_array`` as an ``isinstance`` test (no lru-cached
    lookup for dynamo to trace); False while torch is not imported."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def move_axis(xp: Any, x: Any, source: int, destination: int) -> Any:
    """``moveaxis`` written as one ``permute_dims`` (torch's vmap has no batching rule for
    ``moveaxis``); ``source`` and ``destination`` are non-negative."""
    order = [i for i in range(x.ndim) if i != source]
    order.insert(destination, source)
    return xp.permute_dims(x, tuple(order))
