"""Test matrix: ``nox`` runs every CPU backend, lint and the docs build.

Each ``tests`` session installs anyiou with its test oracles plus one backend's extra,
then runs the whole suite on that backend alone (``ANYIOU_BACKENDS``), so a backend
that fails to install fails the session instead of being skipped. A test without the
``backend`` fixture runs in one session only: numpy's, or the one its ``only_backends``
marks name (conftest.py; docs/architecture.md, "Running the tests"). The Python examples
of README.md and docs/ run in the session each page names (``tests/docs``). torch is pinned by
``constraints.txt`` (an unpinned torch pulls a multi-GB CUDA build). Arguments after ``--``
go to pytest: ``nox -s tests keras -- -m "not slow"`` is the fast lane for local work (no
subprocess or torch.compile tests; docs/architecture.md), CI runs everything. Each session
spreads its tests over the machine's cores with pytest-xdist (``XDIST``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import nox

nox.options.sessions = ["tests", "keras", "triton", "lint", "docs"]
nox.options.reuse_existing_virtualenvs = True

CONSTRAINTS = ("-c", "constraints.txt")
# backend -> (extras of anyiou, other requirements)
CPU_BACKENDS = {
    "numpy": ([], []),
    "array_api_strict": ([], []),
    "torch": ([], []),
    # optax: the oracle of the pages' optax claims (tests/losses/test_optax.py)
    "jax": (["jax"], ["optax"]),
    # jax too: docs/distributed.md (whose examples this session runs, tests/docs) uses
    # Dask, torch and JAX on one page
    "dask": (["dask", "jax"], []),
}
GPU_BACKENDS = {"cupy": (["cupy"], []), "torch_cuda": ([], []), "jax_gpu": ([], ["jax[cuda12]"])}
# Keras backends anyiou.keras runs on; each is also the anyiou backend of its session
KERAS_BACKENDS = ("jax", "torch")


def _install_test_env(session: nox.Session, extra: tuple[list[str], list[str]]) -> None:
    extras, others = extra
    # the `cli` extra (Pillow, tqdm) lets tests/cli/ run `anyiou evaluate`
    session.install(*CONSTRAINTS, "-e", f".[{','.join(['test', 'cli', *extras])}]", *others)
    # smp's losses/metrics are the reference; its timm/torchvision deps are not needed.
    session.install("--no-deps", "segmentation-models-pytorch==0.6.0")


def _check_report(session: nox.Session, report: Path, backend: str) -> None:
    """Fail when the backend ran no test, or when a test was skipped for a missing import."""
    root = ET.parse(report).getroot()
    passed, bad_skips = 0, []
    for case in root.iter("testcase"):
        name = case.get("name", "")
        skipped = case.find("skipped")
        failed = case.find("failure") is not None or case.find("error") is not None
        if skipped is not None:
            msg = (skipped.get("message") or "").lower()
            if any(w in msg for w in ("import", "not installed", "not available", "missing")):
                bad_skips.append(f"{name}: {msg}")
        elif not failed:
            passed += 1
    if bad_skips:
        session.error("tests skipped for a missing install:\n" + "\n".join(bad_skips))
    if passed == 0:
        session.error(f"no test passed on backend {backend!r}")
    session.log(f"{backend}: {passed} tests passed")


#: pytest-xdist: one worker per core (at most 4), a test file's tests in one worker, so
#: that a file's compiled JAX programs and torch.compile graphs are reused. ``-- -n 0``
#: runs a session in one process (a later ``-n`` wins).
XDIST = ("--numprocesses=auto", "--maxprocesses=4", "--dist=loadfile")


def _run_tests(
    session: nox.Session, backend: str, *paths: str, keras_backend: str = "",
    env: dict[str, str] | None = None, workers: tuple[str, ...] = XDIST,
) -> None:
    """pytest on one backend. tests/adapters/keras is collected only with KERAS_BACKEND set
    (tests/adapters/conftest.py), which only the ``keras`` sessions do; ``env`` adds
    variables (the ``triton`` session's switches); ``workers`` are pytest-xdist's options."""
    report = Path(session.create_tmp()) / f"junit-{backend}.xml"
    session.run(
        "pytest",
        f"--junitxml={report}",
        *workers,
        *paths,
        *session.posargs,
        env={"ANYIOU_BACKENDS": backend, "PYTHONHASHSEED": "0", "KERAS_BACKEND": keras_backend,
             **(env or {})},
    )
    _check_report(session, report, backend)


@nox.session
@nox.parametrize("backend", list(CPU_BACKENDS))
def tests(session: nox.Session, backend: str) -> None:
    """The test suite on one CPU backend."""
    _install_test_env(session, CPU_BACKENDS[backend])
    _run_tests(session, backend)


@nox.session
@nox.parametrize("backend", list(KERAS_BACKENDS))
def keras(session: nox.Session, backend: str) -> None:
    """anyiou.keras (tests/adapters/keras) and the Keras pages' examples (tests/docs) on
    one Keras backend: Keras reads KERAS_BACKEND once, at import, so each backend gets
    its own session."""
    _install_test_env(session, (["keras", "jax"], []))
    _run_tests(session, backend, "tests/adapters/keras", "tests/docs", keras_backend=backend)


#: The triton session's switches: Triton's interpreter on CPU tensors, the fused kernels
#: on, the accelerator path forced (docs/architecture.md, "The fused Triton layer").
TRITON_ENV = {"TRITON_INTERPRET": "1", "ANYIOU_FUSED": "1", "ANYIOU_ACCELERATOR_PATH": "1"}


@nox.session
def triton(session: nox.Session) -> None:
    """The opt-in fused Triton kernels in Triton's CPU interpreter (about 2 minutes): their
    own tests (tests/backends/test_triton_kernels.py, collected only here), the smp parity
    of the overlap losses and the launch counts, all on the fused path."""
    _install_test_env(session, (["triton"], []))
    _run_tests(session, "torch", "tests/backends/test_triton_kernels.py",
               "tests/losses/test_overlap_parity.py", "tests/backends/test_op_counts.py",
               env=TRITON_ENV)


@nox.session(name="tests-gpu")
@nox.parametrize("backend", list(GPU_BACKENDS))
def tests_gpu(session: nox.Session, backend: str) -> None:
    """The test suite on a GPU backend (needs a GPU; never part of CI), in one process:
    JAX and CuPy workers would each reserve the GPU's memory."""
    _install_test_env(session, GPU_BACKENDS[backend])
    _run_tests(session, backend, workers=())


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check."""
    session.install("ruff")
    paths = [p for p in ("src", "tests", "benchmarks", "docs") if Path(p).is_dir()]
    session.run("ruff", "check", *paths, "noxfile.py", "conftest.py")


@nox.session
def docs(session: nox.Session) -> None:
    """Check the API docstrings (tests/docs/check_api.py) and build the documentation site
    with warnings as errors (offline; the figures in docs/img are committed: regenerate
    them with docs/figures/make_figures.py). The pages' examples run in the test sessions."""
    session.install(*CONSTRAINTS, "-e", ".[docs]")
    # every public object's docstring matches its signature (names, order, defaults)
    session.run("python", "tests/docs/check_api.py")
    site = Path(session.create_tmp()) / "site"
    session.run("mkdocs", "build", "--strict", "--site-dir", str(site),
                env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmark (prints ratios, writes JSON and a PNG chart)."""
    session.install(*CONSTRAINTS, "-e", ".[test,jax]", "optax", "matplotlib")
    session.install("--no-deps", "segmentation-models-pytorch==0.6.0")
    session.run("python", "-m", "benchmarks.run", *session.posargs)


@nox.session(name="bench-gpu")
def bench_gpu(session: nox.Session) -> None:
    """The GPU benchmark: torch CUDA, JAX GPU and CuPy against cross-entropy, with the
    allocator's peak memory (needs a GPU; a few minutes; never part of CI).
    ``nox -s bench-gpu -- --device cpu`` is a dry run on the CPU."""
    session.install(*CONSTRAINTS, "-e", ".[test,cupy]", "jax[cuda12]", "optax", "matplotlib")
    session.install("--no-deps", "segmentation-models-pytorch==0.6.0")
    session.run("python", "-m", "benchmarks.gpu", *session.posargs)
