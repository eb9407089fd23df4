"""Boundary IoU options: the band width (``dilation_ratio`` or ``dilation``) and its
resolution for an image shape, as the reference ``mask_to_boundary`` computes it."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["DEFAULT_DILATION_RATIO", "check_dilation", "check_spatial", "resolve_dilation"]

#: The reference's default band width, as a fraction of the image diagonal.
DEFAULT_DILATION_RATIO = 0.02


# -- options ----------------------------------------------------------------------------


def check_dilation(dilation_ratio: Any, dilation: Any) -> tuple[float, int | None]:
    """Checked ``(dilation_ratio, dilation)``: a finite ratio > 0, and None or an integer
    number of pixels >= 1 (which wins over the ratio)."""
    if dilation is not None:
        if isinstance(dilation, bool) or not hasattr(dilation, "__index__"):
            raise TypeError(
                f"dilation must be an integer number of pixels (or None to use "
                f"dilation_ratio); got {dilation!r} of type {type(dilation).__name__}"
            )
        dilation = int(dilation.__index__())
        if dilation < 1:
            raise ValueError(f"dilation must be a positive number of pixels; got {dilation}")
    if isinstance(dilation_ratio, (bool, str, bytes)) or not hasattr(dilation_ratio, "__float__"):
        raise TypeError(
            f"dilation_ratio must be a positive number (fraction of the image diagonal); "
            f"got {dilation_ratio!r}"
        )
    ratio = float(dilation_ratio)
    if not (math.isfinite(ratio) and ratio > 0):
        raise ValueError(
            f"dilation_ratio must be a finite number > 0 (fraction of the image diagonal, "
            f"e.g. 0.02); got {dilation_ratio!r}"
        )
    return ratio, dilation


def check_spatial(spatial: tuple[int, ...]) -> None:
    """Boundary IoU needs a contour: at least one spatial axis."""
    if not spatial:
        raise ValueError(
            "boundary_iou needs at least one spatial axis: inputs of shape (N, *S) with "
            "S non-empty"
        )


def resolve_dilation(spatial: tuple[int, ...], ratio: float, dilation: int | None) -> int:
    """The band width in pixels for images of shape ``spatial``: ``dilation`` if given,
    else ``round(ratio * diagonal)`` (Python's ``round``, as the reference), at least 1.
    A width beyond the largest side is refused (the band would be every pixel)."""
    check_spatial(spatial)
    if dilation is None:
        diagonal = math.sqrt(sum(int(s) ** 2 for s in spatial))
        dilation = max(1, int(round(ratio * diagonal)))
        source = f"dilation_ratio={ratio} gives dilation={dilation}, which"
    else:
        source = f"dilation={dilation}"
    if dilation > max(spatial):
        raise ValueError(
            f"{source} is larger than the image (spatial shape {tuple(spatial)}): every "
            "pixel would be a boundary pixel; pass a smaller dilation or dilation_ratio"
        )
    return dilation
