"""Per-class overlap counts of two label maps from per-row label histograms only.

``tp[m, c]`` = pixels of row ``m`` where both maps hold class ``c``, and the per-class
totals of each map, from three per-row bincounts of ``C + 1`` bins (bin ``C`` collects
the pixels of no class: not counted, void, outside [0, C)). Memory is O(M * C) for the
counts plus a few pixel-sized temporaries, whatever the number of classes: no
(C, C) joint histogram per image. Used by multiclass `get_stats` and `boundary_iou`
where a joint histogram per image would be larger than the image
(`use_joint_histogram`; a smaller one is one bincount, faster than three).
"""

from __future__ import annotations

from typing import Any

from .._lib import kernels
from .._lib._namespace import device_of, index_dtype, values_checkable
from .._lib._types import IgnoreValues
from .._lib._values import check_labels_in_range, label_range

__all__ = [
    "MAX_INT32_BINS",
    "check_int32_room",
    "check_label_pair",
    "counted_masks",
    "label_overlap",
    "row_counts",
    "use_joint_histogram",
]

#: Largest row offset plus bin (and count) that 32-bit indices hold; JAX without x64
#: counts in int32. A module constant so that the tests can lower it.
MAX_INT32_BINS = 2**31 - 1

#: A joint histogram per row is used where its bins are at most this many times the
#: row's pixels (memory O(pixels)); a module constant so that the tests can force
#: either path (0: never, inf: always).
JOINT_BINS_PER_PIXEL = 1.0

#: Pixels times bins per step of the one-hot counting on the pure array-API path.
_FALLBACK_CHUNK_ELEMENTS = 2**24


def counted_masks(t: Any, p: Any, ignored: Any | None, c: int, t_ok: bool,
                  p_ok: bool) -> tuple[Any | None, Any | None]:
    """``(counted, valid_p)`` of (N, P) index labels: the pixels whose target is in
    [0, C) and not ignored, and those whose prediction is in [0, C) too; None where
    nothing is masked (``t_ok``/``p_ok``: the eager checks saw every label in range)."""
    counted = None if t_ok else (t >= 0) & (t < c)
    if ignored is not None:
        counted = ~ignored if counted is None else counted & ~ignored
    valid_p = None if p_ok else (p >= 0) & (p < c)
    if counted is not None:
        valid_p = counted if valid_p is None else valid_p & counted
    return counted, valid_p


def check_int32_room(xp: Any, like: Any, rows: int, bins: int, cols: int) -> None:
    """Where the indexing dtype is 32-bit (JAX without x64), a ``ValueError`` when the
    per-row histograms' flat indices (``rows * bins``) or a row's counts (up to
    ``cols``) would not fit in int32, instead of silently wrong counts."""
    idt = index_dtype(xp, device_of(like))
    if int(xp.iinfo(idt).bits) > 32:
        return
    if rows * bins > MAX_INT32_BINS or cols > MAX_INT32_BINS:
        raise ValueError(
            f"counting {rows} row(s) of {cols} pixels into {bins} bins each needs indices "
            f"up to {max(rows * bins, cols)}, beyond the 32-bit integers JAX uses without "
            f"64-bit mode (at most {MAX_INT32_BINS}); enable it with "
            "jax.config.update('jax_enable_x64', True), or pass fewer images or classes "
            "per call"
        )


def use_joint_histogram(xp: Any, like: Any, rows: int, bins: int, cols: int) -> bool:
    """Whether to count pairs in one joint histogram of ``bins`` per row rather than in
    per-row label histograms: the backend has a bincount (the pure array-API fallback
    counts labels in chunks instead), the joint histogram is no larger than the labels
    (`JOINT_BINS_PER_PIXEL`), and its indices fit the indexing dtype."""
    if not kernels.is_native(like):
        return False
    if bins > JOINT_BINS_PER_PIXEL * cols:
        return False
    idt = index_dtype(xp, device_of(like))
    return int(xp.iinfo(idt).bits) > 32 or rows * bins <= MAX_INT32_BINS


def row_counts(xp: Any, labels: Any, num_bins: int) -> Any:
    """Per-row histogram (M, num_bins) of integer ``labels`` (M, P) in [0, num_bins), in
    the indexing dtype. The backend's bincount; on the pure array-API path one-hot
    comparisons in pixel chunks of at most `_FALLBACK_CHUNK_ELEMENTS` entries."""
    idt = index_dtype(xp, device_of(labels))
    labels = xp.astype(labels, idt, copy=False)
    if kernels.is_native(labels):
        return xp.astype(kernels.label_counts(xp, labels, num_bins), idt, copy=False)
    rows, cols = labels.shape
    bins = xp.arange(num_bins, dtype=idt, device=device_of(labels))
    step = max(1, _FALLBACK_CHUNK_ELEMENTS // max(rows * num_bins, 1))
    out = xp.zeros((rows, num_bins), dtype=idt, device=device_of(labels))
    for lo in range(0, cols, step):
        chunk = labels[:, lo : min(lo + step, cols)]
        match = xp.expand_dims(chunk, axis=1) == bins[None, :, None]
        out = out + xp.astype(xp.count_nonzero(match, axis=2), idt)
    return out


def label_overlap(xp: Any, a: Any, b: Any, c: int) -> tuple[Any, Any, Any]:
    """``(both, in_a, in_b)``, each (M, C) in the indexing dtype, of two label maps
    ``a`` and ``b`` (M, P) with values in [0, C], C meaning "no class": ``both[m, k]``
    counts the pixels where ``a`` and ``b`` both hold ``k``, ``in_a``/``in_b`` those
    where one map does."""
    border = xp.asarray(c, dtype=a.dtype, device=device_of(a))
    both = row_counts(xp, xp.where(a == b, a, border), c + 1)[:, :c]
    in_a = row_counts(xp, a, c + 1)[:, :c]
    in_b = row_counts(xp, b, c + 1)[:, :c]
    return both, in_a, in_b


def check_label_pair(xp: Any, t: Any, p: Any, labels_p: Any, target: Any, c: int,
                     ignore_index: IgnoreValues, ignored: Any, preds_name: str = "preds",
                     target_name: str = "target") -> tuple[bool, bool]:
    """Eager arrays only: target labels in [0, C) or ``ignore_index``; predicted labels
    in [0, C) at the pixels that are not ignored.

    ``t``/``p`` are the `index_labels` of ``target`` and of the predicted labels
    ``labels_p`` (their values are quoted in the messages), ``ignored`` the target's
    `ignore_mask`. Returns whether each array was seen to lie in [0, C) entirely (False
    where values are not checked).
    """
    if not values_checkable(target) or any(s == 0 for s in target.shape):
        return False, False
    t_ok = check_labels_in_range(xp, t, c, ignore_index, ignored, name=target_name,
                                 original=target)
    lo, hi = kernels.value_range(xp, xp.reshape(p, (-1,)))
    if int(lo) >= 0 and int(hi) < c:
        return t_ok, True
    bad = (p < 0) | (p >= c)
    if ignored is not None:
        bad = bad & ~ignored
    if bool(xp.any(bad)):
        lo, hi = label_range(xp, labels_p)  # type: ignore[misc]
        raise ValueError(
            f"{preds_name} holds labels outside [0, {c}) at pixels that are not ignored: "
            f"found values in [{lo}, {hi}]"
        )
    return t_ok, False
