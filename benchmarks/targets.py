"""Performance targets, checked on the measured ratios (never in the tests): JaccardLoss
forward+backward within 1.5x the time of the library's cross-entropy and 2x the logits'
bytes of peak extra memory (torch, JAX); the metric updates within 2x the time of the
library's ``bincount`` and, on NumPy, at least 10x faster than scikit-learn; LovaszLoss
forward+backward within 1.5x one sort of its errors with the same library and 4x the
logits' bytes of peak extra memory (torch, JAX)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Check:
    case: str
    family: str
    impl: str
    what: str  # "time" | "vs-sort" | "memory" | "vs-sklearn"
    value: float | None  # measured ratio (None: not measured)
    limit: float
    value_min: float | None = None  # the same ratio of the fastest repeats (information)
    higher_is_better: bool = False

    @property
    def label(self) -> str:
        if self.what == "time":
            return f"<={self.limit:g}x"
        if self.what == "vs-sort":
            return f"<={self.limit:g}x sort"
        if self.what == "memory":
            return f"mem<={self.limit:g}x"
        return f"sklearn>={self.limit:g}x"

    @property
    def status(self) -> str:
        if self.value is None:
            return "n/a"
        ok = self.value >= self.limit if self.higher_is_better else self.value <= self.limit
        return "PASS" if ok else "MISS"

    def as_dict(self) -> dict:
        return {**asdict(self), "label": self.label, "status": self.status}


TIME_LIMIT = {"torch": 1.5, "jax": 1.5, "metrics-numpy": 2.0, "metrics-torch": 2.0,
              "metrics-jax": 2.0}
MEMORY_LIMIT = 2.0  # x logits' bytes, forward+backward
SKLEARN_SPEEDUP = 10.0
LOSS_TARGETS = ("anyiou-jaccard",)  # the loss the targets are set for
#: LovaszLoss forward+backward against one sort of the same (C, N * P) float32 errors with
#: the same library (``torch.sort``, ``jnp.sort``), and its peak extra memory
LOVASZ_SORT_LIMIT = 1.5
LOVASZ_MEMORY_LIMIT = 4.0
METRIC_TARGETS = ("anyiou-confmat", "anyiou-meaniou")


def checks_for(case: str, family: str, impl: str, row: dict, sklearn_ms: float | None
               ) -> list[Check]:
    """The checks that apply to one measured row (see :func:`run.rows_of`)."""
    out: list[Check] = []
    if family in ("torch", "jax") and impl in LOSS_TARGETS:
        out.append(Check(case, family, impl, "time", row.get("ratio"), TIME_LIMIT[family],
                         row.get("ratio_min")))
        out.append(Check(case, family, impl, "memory", row.get("mem_x"), MEMORY_LIMIT))
    elif family in ("torch", "jax") and impl == "anyiou-lovasz":
        out.append(Check(case, family, impl, "vs-sort", row.get("sort_ratio"),
                         LOVASZ_SORT_LIMIT, row.get("sort_ratio_min")))
        out.append(Check(case, family, impl, "memory", row.get("mem_x"), LOVASZ_MEMORY_LIMIT))
    elif family.startswith("metrics-") and impl in METRIC_TARGETS:
        out.append(Check(case, family, impl, "time", row.get("ratio"), TIME_LIMIT[family],
                         row.get("ratio_min")))
        if family == "metrics-numpy":  # sklearn works on NumPy: compare like with like
            fwd = row.get("fwd_ms")
            speedup = sklearn_ms / fwd if (sklearn_ms and fwd) else None
            out.append(Check(case, family, impl, "vs-sklearn", speedup, SKLEARN_SPEEDUP,
                             higher_is_better=True))
    return out
