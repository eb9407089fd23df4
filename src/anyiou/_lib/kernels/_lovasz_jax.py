"""JAX kernel of the Lovasz extension (none yet: the array-API composition is used)."""

from __future__ import annotations

from typing import Any


def lovasz_kernel(errors: Any, g: Any) -> Any:
    return None
