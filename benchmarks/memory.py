"""Peak extra memory of one call, measured in a fresh process per (case, implementation).

torch CPU, NumPy and XLA CPU allocations do not go through Python's allocator, so
``tracemalloc`` does not see them; the process's resident set size (RSS) does. In a
fresh worker process (``benchmarks/worker.py``, started by :func:`run_isolated`):

1. the inputs are built and, for JAX, the function compiled ahead of time;
2. ``gc.collect()`` and glibc ``malloc_trim(0)`` hand freed memory back to the OS, so
   memory cached by the allocator cannot hide the next call's allocations;
3. the RSS high-water mark is reset (Linux: write ``5`` to ``/proc/self/clear_refs``)
   and the current RSS read as the baseline (inputs already resident);
4. the function runs once; ``peak extra = VmHWM - baseline``.

Where the high-water mark cannot be reset (not Linux), the delta of
``resource.getrusage().ru_maxrss`` is used instead, which under-counts whenever
imports or input generation peaked higher than the call. Results are reported as a
multiple of the logits' bytes; for forward+backward they include the gradient itself
(1x), which every implementation allocates.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .paths import ROOT  # the workers run ``python -m benchmarks.worker`` from there

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kib(field: str) -> int | None:
    try:
        text = _STATUS.read_text()
    except OSError:
        return None
    m = re.search(rf"^{field}:\s+(\d+)\s+kB", text, re.MULTILINE)
    return int(m.group(1)) if m else None


def rss_bytes() -> int | None:
    """Current resident set size (Linux), or None."""
    kib = _status_kib("VmRSS")
    return None if kib is None else kib * 1024


def _maxrss_bytes() -> int:
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def release_free_memory() -> None:
    """Collect garbage and return the C allocator's free pages to the OS (glibc)."""
    gc.collect()
    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_peak() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def peak_extra(fn: Callable[[], object], sync: Callable[[object], None]) -> dict:
    """Run ``fn`` once; its peak extra resident memory in bytes and its duration.

    Returns ``{"bytes": int, "method": str, "seconds": float}``.
    """
    release_free_memory()
    if _reset_peak() and (base := rss_bytes()) is not None:
        t0 = time.perf_counter()
        sync(fn())
        seconds = time.perf_counter() - t0
        peak = _status_kib("VmHWM")
        return {"bytes": max(0, peak * 1024 - base), "method": "VmHWM-reset", "seconds": seconds}
    base = _maxrss_bytes()
    t0 = time.perf_counter()
    sync(fn())
    seconds = time.perf_counter() - t0
    return {"bytes": max(0, _maxrss_bytes() - base), "method": "ru_maxrss-delta",
            "seconds": seconds}


def run_isolated(request: dict, timeout_s: float = 900.0) -> dict:
    """Measure one request in a fresh ``python -m benchmarks.worker`` process.

    ``request`` is passed as JSON; the worker prints one JSON object on its last line.
    Failures come back as ``{"error": "..."}`` instead of raising.
    """
    cmd = [sys.executable, "-m", "benchmarks.worker", json.dumps(request)]
    env = dict(os.environ)
    env.setdefault("PYTHONHASHSEED", "0")
    if request.get("threads"):
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[var] = str(request["threads"])
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env,
                              cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s:.0f} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"error": f"worker exit {proc.returncode}: {' | '.join(tail)}"}
    return json.loads(lines[-1])


def memory_in_module(module: str, args: list[str], shape: tuple[int, ...],
                     threads: int | None) -> dict:
    """The JSON line that ``python -m <module> --memory <args> --shape <shape>`` prints
    last (its peak extra memory, measured in that fresh process), or ``{"error": ...}``
    with the last line of its stderr."""
    cmd = [sys.executable, "-m", module, "--memory", *args,
           "--shape", *map(str, shape), *(["--threads", str(threads)] if threads else [])]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def set_threads(threads: int | None) -> None:
    """torch's intra-op threads (None or 0: torch's default)."""
    if threads:
        import torch

        torch.set_num_threads(threads)
