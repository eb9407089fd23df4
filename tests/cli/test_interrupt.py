"""Ctrl-C at any moment of ``anyiou evaluate``: exit status 130, the one line
"anyiou evaluate: interrupted" on stderr, no report file (or, once the run is over,
status 0 and the whole report), never a traceback nor "Exception ignored"."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

N = 24  # pairs: a counting pass long enough to be interrupted in its middle
SRC = str(Path(__file__).resolve().parents[2] / "src")


def _data(root: Path) -> None:
    rng = np.random.default_rng(0)
    for k in range(N):
        target = rng.integers(0, 4, (192, 256)).astype(np.uint8)
        pred = np.where(rng.random(target.shape) < 0.7, target, 0).astype(np.uint8)
        for side, arr in (("p", pred), ("t", target)):
            (root / side).mkdir(exist_ok=True)
            Image.fromarray(arr).save(root / side / f"{k}.png")


def _startup() -> float:
    """Seconds the interpreter alone takes to start here (the delays add to it: a
    signal before the first line of anyiou runs is the interpreter's own business)."""
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - t


def _interrupted(root: Path, delay: float, backend: str) -> None:
    out = root / f"report-{backend}-{delay}.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [SRC, *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "anyiou", "evaluate", str(root / "p"), str(root / "t"),
         "-c", "4", "-q", "-o", str(out), "--backend", backend, "-j", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=300)
    where = f"{backend}, SIGINT after {delay:.2f} s: rc {proc.returncode}, stderr {stderr!r}"
    assert stdout == "", where
    assert [p.name for p in root.iterdir() if p.name.endswith(".tmp")] == [], where
    if proc.returncode == 0:  # the run was over before the signal came
        assert stderr == "", where
        assert json.loads(out.read_text())["num_images"] == N, where
    elif proc.returncode == -signal.SIGINT and "anyiou" not in stderr:
        pass  # (a loaded machine) the signal came before anyiou's first line ran
    else:
        assert proc.returncode == 130, where
        assert stderr == "anyiou evaluate: interrupted\n", where
        assert not out.exists(), where


@pytest.mark.slow
@pytest.mark.only_backends("numpy", "jax")
def test_sigint_at_any_moment(tmp_path, backend):
    _data(tmp_path)
    start = _startup()
    for delay in (0.05, 0.1, 0.2, 0.35, 0.6, 1.0, 1.6):
        _interrupted(tmp_path, start + delay, backend.name)
