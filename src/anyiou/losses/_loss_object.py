"""What every loss object shares: drop-in conveniences for code written against
``torch.nn.Module`` losses (``.to()``), TorchScript's refusal and the repr of the
options."""

from __future__ import annotations

from typing import Any, TypeVar

from .._lib._options import refuse_torchscript

__all__ = ["LossObject"]

_L = TypeVar("_L", bound="LossObject")


class LossObject:
    """Base of the loss classes, which hold options only (no arrays)."""

    def to(self: _L, *args: Any, **kwargs: Any) -> _L:
        """No-op (the loss holds no arrays); returns ``self`` like ``nn.Module.to``."""
        return self

    def __prepare_scriptable__(self) -> Any:
        raise refuse_torchscript(self)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({opts})"
