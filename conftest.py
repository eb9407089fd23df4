"""Backend matrix for the whole test suite.

Every test that takes the ``backend`` fixture (or ``xp``) runs once per selected
backend. Selection: the environment variable ``ANYIOU_BACKENDS``, a comma-separated
list of names from :data:`BACKEND_NAMES` or ``all``.

* unset: every backend whose library imports (GPU ones only where a GPU is present);
* set: exactly those backends; one that cannot be imported, or a GPU backend without a
  GPU, makes the run **fail** (so CI can never silently test NumPy alone).

A test that takes neither fixture is backend-independent: with ``ANYIOU_BACKENDS`` set
it runs only where NumPy is selected (the nox ``numpy`` session), or, when it carries
``only_backends`` marks, only where one of their backends is; so it runs once in a
``nox`` run, not once per session (see :func:`_runs_here`).

JAX runs with ``jax_enable_x64`` so float64 references can be compared exactly; tests
that need float32 ask for it explicitly.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from anyiou._lib._convert import backend_library, from_numpy, to_numpy

ENV_VAR = "ANYIOU_BACKENDS"


@dataclass
class Backend:
    """One array library on one device, with converters used by the tests."""

    name: str
    module: str
    gpu: bool = False
    lib: Any = field(default=None, repr=False)

    # -- construction -----------------------------------------------------------------
    def load(self) -> Backend:
        self.lib = importlib.import_module(self.module)
        backend_library(self.name)  # the module the conversions use
        if self.name.startswith("jax"):
            import jax

            jax.config.update("jax_enable_x64", True)
            if self.gpu and not any(d.platform == "gpu" for d in jax.devices()):
                raise RuntimeError("jax_gpu requested but JAX sees no GPU")
        if self.name == "torch_cuda" and not self.lib.cuda.is_available():
            raise RuntimeError("torch_cuda requested but torch.cuda.is_available() is False")
        if self.name == "cupy":
            self.lib.cuda.runtime.getDeviceCount()
        return self

    def __str__(self) -> str:
        return self.name

    @property
    def xp(self) -> Any:
        import array_api_compat

        return array_api_compat.array_namespace(self.asarray(np.zeros(1, np.float32)))

    @property
    def lazy(self) -> bool:
        return self.name in ("dask",) or self.name.startswith("jax")

    @property
    def has_autodiff(self) -> bool:
        return self.name.startswith(("torch", "jax"))

    @property
    def checks_values(self) -> bool:
        """Whether eager value checks (label ranges) run on this backend."""
        return self.name in ("numpy", "array_api_strict", "torch")

    # -- conversion (anyiou._lib._convert, shared with the demo, the CLI and benchmarks) -
    def asarray(self, a: Any, dtype: Any = None) -> Any:
        """A copy of ``a`` (anything ``np.asarray`` takes) on this backend; Dask arrays are
        chunked in halves of each axis, so every reduction crosses chunk boundaries."""
        a = np.asarray(a) if dtype is None else np.asarray(a, dtype=dtype)
        chunks = tuple(max(1, (s + 1) // 2) for s in a.shape)
        return from_numpy(a, self.name, chunks=chunks)

    def to_numpy(self, x: Any) -> np.ndarray:
        return to_numpy(x)

    def value_and_grad(
        self, fn: Callable[[Any], Any], x: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Value of ``fn(asarray(x))`` and its gradient w.r.t. that input, as NumPy."""
        if self.name.startswith("torch"):
            t = self.asarray(x).requires_grad_(True)
            out = fn(t)
            (g,) = self.lib.autograd.grad(out, t)
            return self.to_numpy(out), self.to_numpy(g)
        if self.name.startswith("jax"):
            import jax

            v, g = jax.value_and_grad(fn)(self.asarray(x))
            return np.asarray(v), np.asarray(g)
        raise NotImplementedError(f"{self.name} has no autodiff")


BACKEND_NAMES = {
    "numpy": Backend("numpy", "numpy"),
    "array_api_strict": Backend("array_api_strict", "array_api_strict"),
    "torch": Backend("torch", "torch"),
    "jax": Backend("jax", "jax"),
    "dask": Backend("dask", "dask.array"),
    "cupy": Backend("cupy", "cupy", gpu=True),
    "torch_cuda": Backend("torch_cuda", "torch", gpu=True),
    "jax_gpu": Backend("jax_gpu", "jax", gpu=True),
}

SELECTED: list[Backend] = []


def _select() -> list[Backend]:
    raw = os.environ.get(ENV_VAR, "").strip()
    if raw in ("", "auto"):
        chosen = []
        for b in BACKEND_NAMES.values():
            try:
                chosen.append(b.load())
            except Exception:
                continue
        return chosen
    if raw == "all":
        names = list(BACKEND_NAMES)
    else:
        names = [s.strip() for s in raw.split(",") if s.strip()]
    unknown = [n for n in names if n not in BACKEND_NAMES]
    if unknown:
        raise pytest.UsageError(
            f"{ENV_VAR}: unknown backend(s) {unknown}; choose from {sorted(BACKEND_NAMES)}"
        )
    chosen = []
    for n in names:
        try:
            chosen.append(BACKEND_NAMES[n].load())
        except Exception as exc:
            raise pytest.UsageError(
                f"{ENV_VAR} requests backend {n!r} but it is not usable here: {exc!r}"
            ) from exc
    return chosen


def pytest_configure(config: pytest.Config) -> None:
    SELECTED[:] = _select()
    config.addinivalue_line(
        "markers", "skip_backends(*names, reason): do not generate the test for these backends"
    )
    config.addinivalue_line("markers", "only_backends(*names): generate the test only for these")
    config.addinivalue_line(
        "markers",
        "lazy_subset(param, values): on lazy backends keep only the tests whose parameter "
        "`param` is in `values` (the others are deselected, not skipped)",
    )
    config.addinivalue_line(
        "markers",
        "own_session: the module picks the sessions the test runs in itself (the pages "
        "of tests/docs/test_pages.py); the one-session rule of backend-independent tests "
        "leaves it alone",
    )


BACKEND_FIXTURES = ("backend", "ad_backend")
#: The backend whose session runs the backend-independent tests
HOME_BACKEND = "numpy"


def _requested() -> set[str] | None:
    """The backends ``ANYIOU_BACKENDS`` names, or None when it leaves the choice open."""
    raw = os.environ.get(ENV_VAR, "").strip()
    if raw in ("", "auto", "all"):
        return None
    return {s.strip() for s in raw.split(",") if s.strip()}


def _runs_here(item: pytest.Item, requested: set[str] | None) -> bool:
    """Whether a test that takes no backend fixture runs in this session. It does the
    same whatever ``ANYIOU_BACKENDS`` says (a CLI subprocess, a package check), so a nox
    run needs it once: in the session of ``HOME_BACKEND``, or, when the test carries
    ``only_backends`` marks (a torch-only module's DDP test), in the sessions they name.
    Tests under tests/adapters/keras run in the keras sessions, which collect them alone;
    ``own_session`` modules choose for themselves. Without ``ANYIOU_BACKENDS`` all run."""
    if requested is None or item.get_closest_marker("own_session") is not None:
        return True
    if "adapters/keras/" in item.nodeid:
        return True
    marks = list(item.iter_markers("only_backends"))
    names = {HOME_BACKEND} if not marks else set.intersection(*(set(m.args) for m in marks))
    for mark in item.iter_markers("skip_backends"):
        names -= set(mark.args)
    return bool(names & requested)


def _placeholder(params: dict[str, Any]) -> bool:
    """Whether an item is pytest's stand-in for an empty ``backend``/``ad_backend``
    parametrization (no selected backend suits the test): its value is no Backend."""
    return any(
        name in params and not isinstance(params[name], Backend) for name in BACKEND_FIXTURES
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect, rather than skip, what does not apply to the selected backends, so a
    skip in the report always means something:

    * a test none of whose backends is selected (``only_backends``/``skip_backends``, or
      ``ad_backend`` with no autodiff backend): pytest would report its empty
      parametrization as one skip per combination of its other parameters;
    * ``lazy_subset`` marks: a full parameter product on eager backends, a
      representative part of it on lazy ones (each lazy call builds and runs a graph);
    * a backend-independent test outside its one session (:func:`_runs_here`)."""
    keep, drop = [], []
    requested = _requested()
    for item in items:
        mark = item.get_closest_marker("lazy_subset")
        params = getattr(getattr(item, "callspec", None), "params", {})
        if _placeholder(params):
            drop.append(item)
            continue
        if not any(name in params for name in BACKEND_FIXTURES) and not _runs_here(
            item, requested
        ):
            drop.append(item)
            continue
        backend = params.get("backend")
        if mark is not None and backend is not None and backend.lazy:
            param, values = mark.args
            if params.get(param) not in values:
                drop.append(item)
                continue
        keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_header(config: pytest.Config) -> str:
    return f"anyiou backends: {', '.join(b.name for b in SELECTED) or '(none)'}"


def _wanted(metafunc: pytest.Metafunc, candidates: list[Backend]) -> list[Backend]:
    """Backends a test runs on: ``only_backends``/``skip_backends`` marks filter at
    collection, so a test is never even generated for a backend it does not support."""
    chosen = list(candidates)
    for mark in metafunc.definition.iter_markers("only_backends"):
        chosen = [b for b in chosen if b.name in mark.args]
    for mark in metafunc.definition.iter_markers("skip_backends"):
        chosen = [b for b in chosen if b.name not in mark.args]
    return chosen


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        chosen = _wanted(metafunc, SELECTED)
        metafunc.parametrize("backend", chosen, ids=[b.name for b in chosen])
    if "ad_backend" in metafunc.fixturenames:
        chosen = _wanted(metafunc, [b for b in SELECTED if b.has_autodiff])
        metafunc.parametrize("ad_backend", chosen, ids=[b.name for b in chosen])


@pytest.fixture
def xp(backend: Backend) -> Any:
    return backend.xp
