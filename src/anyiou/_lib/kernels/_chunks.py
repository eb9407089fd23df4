"""Pixel chunks of the torch and NumPy CPU kernels: a broadcast temporary of one chunk
stays small (a whole (C, P) sample would be half the logits at N = 2)."""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["CHUNK_ELEMENTS", "pixel_chunks"]

#: Elements per pixel chunk (bounds the kernels' temporaries).
CHUNK_ELEMENTS = 1 << 20


def pixel_chunks(n: int, c: int, pixels: int) -> Iterator[tuple[int, int, int]]:
    """``(sample, start, stop)`` pixel ranges whose (C, stop - start) blocks hold about
    `CHUNK_ELEMENTS` values."""
    step = max(1, CHUNK_ELEMENTS // max(c, 1))
    for i in range(n):
        for lo in range(0, pixels, step):
            yield i, lo, min(lo + step, pixels)
