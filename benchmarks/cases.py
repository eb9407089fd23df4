"""Benchmark cases: shapes, modes and their deterministic NumPy inputs.

Every implementation of a case gets the same arrays (converted to its library
without changing values), generated from one seed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

REFERENCE = "multiclass-N8-C21-512x512"


@dataclass(frozen=True)
class Case:
    """One benchmark input: ``mode`` and the logits' shape (N, C, *S)."""

    name: str
    mode: str
    n: int
    c: int
    spatial: tuple[int, ...]
    lovasz: bool = True  # time the Lovasz losses on this case

    @property
    def logits_shape(self) -> tuple[int, ...]:
        return (self.n, self.c, *self.spatial)

    @property
    def logits_bytes(self) -> int:
        return 4 * int(np.prod(self.logits_shape))

    @property
    def pixels(self) -> int:
        return self.n * int(np.prod(self.spatial))

    def describe(self) -> str:
        space = "x".join(str(s) for s in self.spatial)
        return f"{self.mode} N={self.n} C={self.c} {space}"


def _name(mode: str, n: int, c: int, spatial: tuple[int, ...]) -> str:
    if len(set(spatial)) == 1 and len(spatial) == 3:
        space = f"{spatial[0]}^3"
    else:
        space = "x".join(str(s) for s in spatial)
    return f"{mode}-N{n}-C{c}-{space}" if mode != "binary" else f"binary-N{n}-{space}"


def _case(mode: str, n: int, c: int, spatial: tuple[int, ...], **kw) -> Case:
    return Case(_name(mode, n, c, spatial), mode, n, c, spatial, **kw)


#: The default run. The first one is the reference case (``--cases ref``): a PASCAL
#: VOC-sized multiclass batch, the case the performance targets are quoted for.
#: Lovasz (a sort of every pixel per class: 20-80x cross-entropy) is measured on the
#: reference case and the binary case only, to keep the default run within minutes;
#: ``--lovasz all`` adds it everywhere. ``--quick`` has it everywhere.
CASES: list[Case] = [
    _case("multiclass", 8, 21, (512, 512)),
    _case("multiclass", 4, 150, (256, 256), lovasz=False),
    _case("binary", 16, 1, (512, 512)),
    _case("multilabel", 8, 5, (512, 512), lovasz=False),
    _case("multiclass", 2, 4, (128, 128, 128), lovasz=False),
]

#: ``--quick``: the same modes and class counts on far fewer pixels.
QUICK_CASES: list[Case] = [
    _case("multiclass", 2, 21, (128, 128)),
    _case("multiclass", 1, 150, (64, 64)),
    _case("binary", 4, 1, (128, 128)),
    _case("multilabel", 2, 5, (128, 128)),
    _case("multiclass", 1, 4, (32, 32, 32)),
]

#: Scaling series (torch CPU, JaccardLoss vs cross-entropy): classes at fixed pixels,
#: then pixels at fixed classes.
SCALING_CLASSES = [_case("multiclass", 2, c, (256, 256), lovasz=False) for c in (2, 21, 150, 1000)]
SCALING_PIXELS = [
    _case("multiclass", 1, 21, (s, s), lovasz=False) for s in (128, 256, 512, 1024)
]
QUICK_SCALING_CLASSES = [
    _case("multiclass", 1, c, (64, 64), lovasz=False) for c in (2, 21, 150, 1000)
]
QUICK_SCALING_PIXELS = [_case("multiclass", 1, 21, (s, s), lovasz=False) for s in (32, 64, 128)]


def all_cases() -> dict[str, Case]:
    """Every named case (default, quick and scaling), by name."""
    out: dict[str, Case] = {}
    for group in (CASES, QUICK_CASES, SCALING_CLASSES, SCALING_PIXELS, QUICK_SCALING_CLASSES,
                  QUICK_SCALING_PIXELS):
        for case in group:
            out.setdefault(case.name, case)
    return out


def get_case(name: str) -> Case:
    cases = all_cases()
    if name not in cases:
        raise ValueError(f"unknown case {name!r}; known: {', '.join(cases)}")
    return cases[name]


def tiny(case: Case) -> Case:
    """A one-sample, 8-pixels-per-axis version of ``case`` (warms up lazy imports)."""
    spatial = (8,) * len(case.spatial)
    return replace(case, name=case.name + "-tiny", n=1, spatial=spatial)


@dataclass
class Inputs:
    """NumPy inputs of a case.

    * ``logits``: float32 (N, C, *S);
    * ``target``: int64 labels (N, *S) in multiclass mode, else int64 0/1 masks of the
      logits' shape (binary: (N, 1, *S));
    * ``target_float``: the target as float32 (what BCE needs), None in multiclass;
    * ``preds``: int64 hard predictions of the target's shape (argmax / ``logits > 0``),
      the input of the metrics.
    """

    logits: np.ndarray
    target: np.ndarray
    target_float: np.ndarray | None
    preds: np.ndarray


def make_inputs(case: Case, seed: int = 0) -> Inputs:
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal(case.logits_shape, dtype=np.float32)
    logits *= 2.0
    if case.mode == "multiclass":
        target = rng.integers(0, case.c, (case.n, *case.spatial), dtype=np.int64)
        preds = np.argmax(logits, axis=1).astype(np.int64)
        return Inputs(logits, target, None, preds)
    target = rng.integers(0, 2, case.logits_shape, dtype=np.int64)
    preds = (logits > 0).astype(np.int64)
    return Inputs(logits, target, target.astype(np.float32), preds)
