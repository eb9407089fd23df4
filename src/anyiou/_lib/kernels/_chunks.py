"""Pixel blocks of the torch and NumPy kernels' broadcast temporaries.

On a CPU a block is one sample's pixel chunk of about `CHUNK_ELEMENTS` values: a
broadcast temporary stays small (a whole (C, P) sample would be half the logits at
N = 2), and a loop step costs far less than the memory it saves. On an accelerator every
operation is a kernel launch of a few microseconds, so the blocks span all samples and
their number is fixed (`ACCELERATOR_BLOCKS`): the operations launched per call do not
grow with the input, and a block temporary is about half the logits (one block: no
temporary bound; more blocks: more launches).
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["ACCELERATOR_BLOCKS", "CHUNK_ELEMENTS", "pixel_blocks", "pixel_chunks"]

#: Elements per pixel chunk on a CPU (bounds the kernels' temporaries).
CHUNK_ELEMENTS = 1 << 20

#: Pixel blocks per call on an accelerator (a constant: no loop grows with the input).
ACCELERATOR_BLOCKS = 2


def pixel_chunks(n: int, c: int, pixels: int) -> Iterator[tuple[int, int, int]]:
    """``(sample, start, stop)`` pixel ranges whose (C, stop - start) blocks hold about
    `CHUNK_ELEMENTS` values."""
    step = max(1, CHUNK_ELEMENTS // max(c, 1))
    for i in range(n):
        for lo in range(0, pixels, step):
            yield i, lo, min(lo + step, pixels)


def pixel_blocks(
    n: int, c: int, pixels: int, accelerator: bool
) -> Iterator[tuple[int | slice, int, int]]:
    """``(rows, start, stop)``: `pixel_chunks` on a CPU (``rows`` one sample index); on
    an accelerator `ACCELERATOR_BLOCKS` pixel ranges of every sample (``rows`` is
    ``slice(None)``), so ``a[rows, :, start:stop]`` is (C, L) or (N, C, L). Every range
    is non-empty."""
    if not accelerator:
        yield from pixel_chunks(n, c, pixels)
        return
    if n == 0:
        return
    blocks = max(1, min(ACCELERATOR_BLOCKS, pixels))
    bounds = [pixels * k // blocks for k in range(blocks + 1)]
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        if hi > lo:
            yield slice(None), lo, hi
