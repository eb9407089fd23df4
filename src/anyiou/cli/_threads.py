"""Reading threads: pairs handled a bounded number ahead, results in file order."""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["MAX_WORKERS", "default_workers", "in_order", "keep_freed_memory"]

T = TypeVar("T")

#: The most threads ``--workers`` may ask for.
MAX_WORKERS = 256
#: The most threads by default: more decode little faster and hold more pairs in memory.
_DEFAULT_WORKERS_CAP = 4


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def keep_freed_memory() -> None:
    """Let glibc keep the memory of the pairs already counted for the next ones.

    Each pair allocates and frees a few arrays of megabytes (decoded images, codes).
    By default glibc hands such blocks back to the system when they are freed (``mmap``
    above a threshold, heap trimming), and every page of the next pair's arrays then
    faults in again: a third of the run spent in the kernel. Blocks up to 32 MiB are
    served from the heap instead, and up to 64 MiB of free heap is kept. A no-op where
    the C library has no ``mallopt`` (not glibc).
    """
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, 32 << 20)
    mallopt(_M_TRIM_THRESHOLD, 64 << 20)


def default_workers() -> int:
    """Threads that read the files by default: the CPUs this process may use, at most 4."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, _DEFAULT_WORKERS_CAP))


def in_order(work: Callable[[T], Any], pairs: list[T], workers: int) -> Iterator[Any]:
    """``work(pair)`` of each pair, in order, run by ``workers`` threads at most
    ``workers + 1`` pairs ahead (their memory is bounded by that many pairs)."""
    if workers <= 1 or len(pairs) <= 1:
        for pair in pairs:
            yield work(pair)
        return
    todo = iter(pairs)
    with ThreadPoolExecutor(min(workers, len(pairs)), thread_name_prefix="anyiou") as pool:
        pending = deque(pool.submit(work, p) for p in itertools.islice(todo, workers + 1))
        try:
            while pending:
                done = pending.popleft().result()
                nxt = next(todo, None)
                if nxt is not None:
                    pending.append(pool.submit(work, nxt))
                yield done
        finally:  # an error, or the caller stopped: start nothing more
            for future in pending:
                future.cancel()
