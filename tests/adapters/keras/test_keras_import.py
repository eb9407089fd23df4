"""Importing ``anyiou.keras`` where Keras itself cannot import: the error names the cause
(a Keras backend that is not installed) and the fix, not a missing Keras."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # spawns a Python process

SRC = str(Path(__file__).resolve().parents[3] / "src")


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is not None,
                    reason="TensorFlow is present, so Keras imports without KERAS_BACKEND")
def test_unset_keras_backend_names_the_cause_and_the_fix(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["KERAS_HOME"] = str(tmp_path)  # no keras.json naming a backend: Keras picks TensorFlow
    env["PYTHONPATH"] = os.pathsep.join([SRC, env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", "import anyiou.keras"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: ")
    assert "pip install 'anyiou[keras]'" not in last  # Keras is installed
    assert "tensorflow" in last and "KERAS_BACKEND is unset" in last
    assert "KERAS_BACKEND=jax or KERAS_BACKEND=torch" in last
