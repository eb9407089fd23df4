"""``anyiou evaluate --boundary [RATIO]``: Boundary IoU per class and its mean, added to
the report (table column, JSON keys, CSV column).

Each pair's band counts are taken by :func:`anyiou.cli._bands.band_counts` with the
band width of its own image size (``round(RATIO * diagonal)``, at least 1, as the
reference) and summed in int64 (the state of :class:`anyiou.metrics.BoundaryIoU`).
Streamed, the reading threads take them with the confusion matrix, each file read once
(:func:`anyiou.cli._evaluate.count`); with ``--dask``, :func:`count_boundary` makes a
second pass over the files on NumPy threads.
"""

from __future__ import annotations

import math
from typing import Any

import array_api_compat.numpy as xp
import numpy as np

from .._lib._types import IgnoreValues
from ..metrics._boundary import reduce_boundary
from ._bands import pair_bands
from ._checks import load_pair
from ._files import Pair
from ._threads import default_workers, in_order

__all__ = ["DEFAULT_RATIO", "MAX_RATIO", "add_boundary", "check_ratio", "count_boundary"]

DEFAULT_RATIO = 0.02


#: The largest ``--boundary`` ratio. The band is ``round(ratio * diagonal)`` pixels and
#: may not exceed the image's largest side (``resolve_dilation`` of
#: :mod:`anyiou.metrics._boundary_options`). A 2-D diagonal is at most sqrt(2) times the
#: largest side (equal for a square), so every ratio up to 1/sqrt(2) fits every 2-D image,
#: and every ratio above it fails on large enough square images.
MAX_RATIO = 1 / math.sqrt(2)


def check_ratio(ratio: float) -> str | None:
    """The usage error for a bad ``--boundary`` ratio, or None."""
    if not (math.isfinite(ratio) and 0 < ratio <= MAX_RATIO):
        return (
            "--boundary takes a ratio of the image diagonal in (0, 1/sqrt(2) = "
            f"{MAX_RATIO:.4f}], e.g. 0.02 (a band of round(RATIO x diagonal) pixels must "
            f"fit in the image's largest side); got {ratio}"
        )
    return None


def _pair_counts(pair: Pair, num_classes: int, ignore_index: IgnoreValues,
                 ratio: float) -> np.ndarray:
    """(3, C) int64: band intersection, band union, target band size of one pair."""
    pred, target = load_pair(pair, num_classes, ignore_index)
    return pair_bands(pair, pred, target, num_classes, ignore_index, ratio)


def count_boundary(pairs: list[Pair], num_classes: int, ignore_index: IgnoreValues,
                   ratio: float, *, per_image: bool = False,
                   workers: int | None = None) -> tuple[np.ndarray, list[np.ndarray] | None]:
    """Summed (3, C) band counts of ``pairs`` (and each pair's with ``per_image``): a
    pass of its own over the files (the ``--dask`` path)."""
    total = np.zeros((3, num_classes), dtype=np.int64)
    kept: list[np.ndarray] | None = [] if per_image else None

    def work(pair: Pair) -> np.ndarray:
        return _pair_counts(pair, num_classes, ignore_index, ratio)

    for counts in in_order(work, pairs, default_workers() if workers is None else workers):
        total += counts
        if kept is not None:
            kept.append(counts)
    return total, kept


def _scores(counts: np.ndarray, average: str,
            ignore_index: IgnoreValues) -> tuple[Any, Any]:
    """(per-class scores with NaN where the band union is empty, their mean)."""
    inter, union, target = counts[0], counts[1], counts[2]
    args = (xp, inter, union - target, target - inter)
    options = {"multilabel": False, "ignore_index": ignore_index, "zero_division": math.nan}
    per_class = reduce_boundary(*args, average="none", **options)
    mean = reduce_boundary(*args, average=average, **options)
    return np.asarray(per_class), float(mean)


def _num(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _add(section: dict, counts: np.ndarray, average: str,
         ignore_index: IgnoreValues) -> None:
    per_class, mean = _scores(counts, average, ignore_index)
    section["mean_boundary_iou"] = _num(mean)
    for row in section["classes"]:
        row["boundary_iou"] = None if row.get("ignored") else _num(per_class[row["id"]])


def add_boundary(report: dict, total: np.ndarray, per_pair: list[np.ndarray] | None,
                 ratio: float) -> dict:
    """Add ``boundary_ratio``, ``mean_boundary_iou`` and each class's ``boundary_iou``
    (None where no band pixel was seen, and for an ignored class) to ``report``, and to
    each of its images."""
    ignore_index, average = report["ignore_index"], report["average"]
    report["boundary_ratio"] = ratio
    _add(report, total, average, ignore_index)
    if per_pair is not None:
        for image, counts in zip(report.get("images", []), per_pair, strict=True):
            _add(image, counts, average, ignore_index)
    return report
