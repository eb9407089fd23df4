"""The package as users get it: one version, and an sdist that builds a working wheel.

The version is written once, as ``__version__`` in ``src/anyiou/__init__.py``; setuptools
reads it from there into the metadata (``[tool.setuptools.dynamic]`` in pyproject.toml).
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

import anyiou
from tests.docs.pages import all_pages
from tests.docs.test_pages import _sessions

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_FILES = {
    "anyiou/data/example/classes.txt",
    *(f"anyiou/data/example/{d}/scene_{i}.png" for d in ("preds", "targets") for i in range(5)),
}


def test_installed_metadata_version_is_the_package_version() -> None:
    """The installed distribution's metadata carries ``anyiou.__version__``."""
    assert importlib.metadata.version("anyiou") == anyiou.__version__


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"{args}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result.stdout


def _clean_env() -> dict[str, str]:
    """The environment without PYTHONPATH (the tests put the checkout's src/ on it)."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


_BUILD = """
import sys
from setuptools import build_meta
kind, out = sys.argv[1], sys.argv[2]
hook = build_meta.build_sdist if kind == "sdist" else build_meta.build_wheel
print(hook(out))
"""


def _build(kind: str, source: Path, out: Path) -> Path:
    """Run setuptools' PEP 517 hook in ``source`` with the environment's setuptools (no
    build isolation, so nothing is downloaded)."""
    name = _run(sys.executable, "-c", _BUILD, kind, out, cwd=source, env=_clean_env())
    return out / name.strip().splitlines()[-1]


@pytest.mark.slow
def _check_sdist_builds_a_wheel_that_installs_and_runs(tmp_path: Path) -> None:
    """sdist from the checkout, wheel from the unpacked sdist, the wheel installed into a
    fresh virtual environment, and ``anyiou evaluate --example`` run from there."""
    # what the sdist is made of, without the checkout's build junk
    checkout = tmp_path / "checkout"
    junk = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    shutil.copytree(ROOT / "src", checkout / "src", ignore=junk)
    for path in ROOT.iterdir():
        if path.is_file() and not path.name.startswith("."):
            shutil.copy2(path, checkout / path.name)

    dist = tmp_path / "dist"
    dist.mkdir()
    sdist = _build("sdist", checkout, dist)
    version = anyiou.__version__
    assert sdist.name == f"anyiou-{version}.tar.gz"
    with tarfile.open(sdist) as tar:
        names = set(tar.getnames())
        top = f"anyiou-{version}"
        assert f"{top}/LICENSE" in names
        assert {f"{top}/src/{f}" for f in EXAMPLE_FILES} <= names
        # the "data" filter where this Python has it (3.10.12+, 3.11.4+)
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(tmp_path / "unpacked", **safe)

    wheel = _build("wheel", tmp_path / "unpacked" / top, dist)
    assert wheel.name == f"anyiou-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        metadata = whl.read(f"anyiou-{version}.dist-info/METADATA").decode()
    assert f"anyiou-{version}.dist-info/licenses/LICENSE" in names
    assert EXAMPLE_FILES | {"anyiou/py.typed"} <= names
    assert "License-Expression: MIT" in metadata

    # A fresh environment. numpy, array-api-compat, Pillow and tqdm come from this
    # environment's site-packages, appended by a .pth file (a path line only: .pth files
    # there, such as an editable install's, are not run), so the wheel's anyiou comes first.
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path, env=_clean_env())
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / ("python.exe" if os.name == "nt" else "python")
    site = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                cwd=tmp_path, env=_clean_env()).strip()
    outer = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (Path(site) / "_outer_env.pth").write_text("\n".join(outer) + "\n")
    _run(python, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", wheel,
         cwd=tmp_path, env=_clean_env())

    where = _run(python, "-c", "import importlib.metadata as m, anyiou; "
                 "print(anyiou.__file__); print(anyiou.__version__); print(m.version('anyiou'))",
                 cwd=tmp_path, env=_clean_env()).split()
    assert Path(where[0]).resolve().is_relative_to(venv.resolve()), where
    assert where[1:] == [version, version]

    out = _run(bin_dir / "anyiou", "evaluate", "--example", "--quiet",
               cwd=tmp_path, env=_clean_env())
    assert out.strip() == _example_table_on_the_cli_page().strip()


def _example_table_on_the_cli_page() -> str:
    """The output docs/cli.md shows for ``anyiou evaluate --example``."""
    blocks = next(p for p in all_pages() if p.name == "docs/cli.md").blocks
    return next(
        b2.code for b1, b2 in zip(blocks, blocks[1:], strict=False)
        if b1.lang == "bash" and "anyiou evaluate --example" in b1.code and b2.title == "Output"
    )


# the package build does not depend on the array library: collected once, in the numpy
# session (or a run without ANYIOU_BACKENDS), never a skip elsewhere
if "numpy" in _sessions():
    test_sdist_builds_a_wheel_that_installs_and_runs = _check_sdist_builds_a_wheel_that_installs_and_runs
