"""The device to create new arrays on, next to a given array: the one rule every kernel
and every public function follows (``anyiou._lib._namespace`` re-exports it)."""

from __future__ import annotations

from typing import Any

import array_api_compat as aac

__all__ = ["device_of"]


def device_of(x: Any) -> Any:
    """The device to create new arrays on, to combine them with ``x``.

    ``array_api_compat.device(x)``, except ``None`` for JAX tracers (which carry none)
    and for JAX arrays sharded over several devices: their "device" is the sharding
    itself, which cannot be applied to an array of another shape (a scalar, the
    classes). Arrays created with ``device=None`` are uncommitted and follow the sharded
    operand they are combined with.
    """
    try:
        dev = aac.device(x)
    except Exception:  # pragma: no cover - exotic libraries
        return None
    return None if len(getattr(dev, "device_set", ())) > 1 else dev
