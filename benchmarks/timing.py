"""Wall-clock timing: warm-up, then the median of repeats (``time.perf_counter``).

The number of repeats adapts to the cost of one call so that the whole default run
stays within minutes on a small machine: ``budget_s / t_first`` repeats, clamped to
``[min_repeats, max_repeats]``. A call slower than ``slow_s`` is timed once (its first
call is then the only sample; one-off start-up costs are negligible at that length).

Implementations that are compared with each other are timed *interleaved*
(:func:`measure_interleaved`): round after round, each one called once, so that a
change in the machine's load (other jobs) hits all of them alike instead of whichever
happened to run at that moment.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Policy:
    budget_s: float = 1.0
    min_repeats: int = 3
    max_repeats: int = 10
    warmup: int = 1
    slow_s: float = 3.0


QUICK_POLICY = Policy(budget_s=0.3, min_repeats=3, max_repeats=5, warmup=1, slow_s=1.0)


@dataclass(frozen=True)
class Timing:
    median_ms: float
    min_ms: float
    repeats: int

    def as_dict(self) -> dict:
        return asdict(self)


def no_sync(_: object) -> None:
    return None


def once(fn: Callable[[], object], sync: Callable[[object], None] = no_sync) -> float:
    """Seconds of one call, waiting for its result with ``sync``."""
    t0 = time.perf_counter()
    sync(fn())
    return time.perf_counter() - t0


@dataclass
class Item:
    """One function to time: ``first_s`` is the duration of a call already made (it
    counts as the first warm-up call)."""

    fn: Callable[[], object]
    sync: Callable[[object], None] = no_sync
    first_s: float | None = None


def _repeats(first_s: float, policy: Policy) -> int:
    if first_s >= policy.slow_s:
        return 0
    n = int(policy.budget_s / max(first_s, 1e-9))
    return max(policy.min_repeats, min(policy.max_repeats, n))


def measure_interleaved(items: dict[Hashable, Item], policy: Policy) -> dict[Hashable, Timing]:
    """Time every item, interleaved in rounds; returns one :class:`Timing` per key."""
    first = {}
    for key, item in items.items():
        first[key] = item.first_s if item.first_s is not None else once(item.fn, item.sync)
    wanted = {key: _repeats(first[key], policy) for key in items}
    for _ in range(policy.warmup - 1):
        for key, item in items.items():
            if wanted[key]:
                once(item.fn, item.sync)
    samples: dict[Hashable, list[float]] = {key: [] for key in items}
    while any(len(samples[k]) < wanted[k] for k in items):
        for key, item in items.items():
            if len(samples[key]) < wanted[key]:
                samples[key].append(once(item.fn, item.sync))
    out = {}
    for key in items:
        s = samples[key] or [first[key]]  # slow calls: the first call is the sample
        out[key] = Timing(statistics.median(s) * 1e3, min(s) * 1e3, len(s))
    return out


def measure(fn: Callable[[], object], policy: Policy, sync: Callable[[object], None] = no_sync,
            first_s: float | None = None) -> Timing:
    """Time one function (see :func:`measure_interleaved`)."""
    return measure_interleaved({0: Item(fn, sync, first_s)}, policy)[0]
