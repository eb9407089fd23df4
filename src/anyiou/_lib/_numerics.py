"""Numerical helpers shared by the losses and the metrics."""

from __future__ import annotations

from typing import Any

from ._namespace import device_of

__all__ = ["clip_below", "safe_divide"]


def safe_divide(xp: Any, num: Any, den: Any, fill: float = 0.0) -> Any:
    """``num / den`` where ``den != 0``, else ``fill``; gradients stay finite.

    The inner ``where`` keeps the division itself away from 0/0, whose NaN gradient
    would otherwise leak through the outer ``where`` (a known autodiff pitfall).
    """
    ok = den != 0
    # 0-D fillers broadcast: no den- or num-sized arrays of ones and zeros
    one = xp.asarray(1, dtype=den.dtype, device=device_of(den))
    filler = xp.asarray(fill, dtype=num.dtype, device=device_of(num))
    return xp.where(ok, num / xp.where(ok, den, one), filler)


def clip_below(xp: Any, x: Any, lo: float) -> Any:
    """``clip(x, min=lo)`` (NaN kept; gradient 1 where ``x >= lo``, else 0), with ``lo``
    as a 0-D array: under ``torch.compile(dynamic=True)`` a float option may be
    symbolic, which the compat layer's scalar ``clip`` cannot test for NaN."""
    return xp.clip(x, min=xp.asarray(lo, dtype=x.dtype, device=device_of(x)))
