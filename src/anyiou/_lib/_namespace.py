"""Namespace, device and dtype helpers shared by every public function.

Nothing here imports a framework: libraries are recognised through
``array_api_compat`` only. `values_checkable` (whether eager value checks run) is the
kernel router's, and `device_of` the kernel layer's, re-exported here for the checks
that import their helpers from this module.
"""

from __future__ import annotations

from typing import Any

import array_api_compat as aac

from .kernels import values_checkable
from .kernels._device import device_of, is_torch_tensor, torch_while_compiling

__all__ = [
    "accumulation_dtype",
    "device_of",
    "get_namespace",
    "index_dtype",
    "is_floating",
    "is_integral",
    "is_torch_tensor",
    "placement_of",
    "values_checkable",
]


def get_namespace(**arrays: Any) -> Any:
    """Return the array-API namespace shared by the named arrays.

    Raises ``TypeError`` naming the arguments when an argument is not an array or when
    the arrays come from different libraries, and ``ValueError`` when they live on
    different devices.
    """
    xp = torch_while_compiling(*arrays.values())
    if xp is None:
        xp = _array_namespace(arrays)
    names = list(arrays)
    first = placement_of(arrays[names[0]])
    for name in names[1:]:
        other = placement_of(arrays[name])
        if first is not None and other is not None and first != other:
            raise ValueError(
                f"{names[0]} and {name} must be on the same device, got {first} and {other}"
            )
    return xp


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


def placement_of(x: Any) -> str | None:
    """Where ``x`` lives, for comparing two arguments: the device's name, the sorted
    names of the devices of a sharded JAX array (two arrays on the same devices compare
    equal whatever their partition spec), ``None`` when unknown (JAX tracers)."""
    if torch_while_compiling(x) is not None:
        return str(x.device)
    try:
        dev = aac.device(x)
    except Exception:  # pragma: no cover - exotic libraries
        return None
    if dev is None:
        return None
    devices = getattr(dev, "device_set", None)  # a JAX sharding
    if devices is None:
        return str(dev)
    names = sorted(str(d) for d in devices)
    return names[0] if len(names) == 1 else "[" + ", ".join(names) + "]"


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


def move_axis(xp: Any, x: Any, source: int, destination: int) -> Any:
    """``moveaxis`` written as one ``permute_dims`` (torch's vmap has no batching rule for
    ``moveaxis``); ``source`` and ``destination`` are non-negative."""
    order = [i for i in range(x.ndim) if i != source]
    order.insert(destination, source)
    return xp.permute_dims(x, tuple(order))
