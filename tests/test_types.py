"""What a user's type checker sees: pyright on two small user scripts.

The string options are ``Literal`` types, so a misspelt ``mode``, ``reduction``,
``average`` or ``empty`` is a type error before anything runs; the losses and metric
functions return the array type they are given (a ``torch.Tensor`` in, a
``torch.Tensor`` out). The oracle is pyright itself, pinned by
``PYRIGHT_PYTHON_FORCE_VERSION`` (the PyPI wrapper fetches that npm release once and
caches it). pyright runs on Node.js: without ``node`` on PATH the test fails, naming it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.test_pages import _sessions

ROOT = Path(__file__).resolve().parents[1]
PYRIGHT_VERSION = "1.1.414"

#: every line ending in ``# error`` must get exactly one pyright error, no other line any
TYPOS = """\
import numpy as np
import torch

import anyiou.torch
from anyiou import GeneralizedDiceLoss, JaccardLoss, LovaszLoss, TverskyLoss
from anyiou.losses import dice_loss
from anyiou.metrics import MeanIoU, get_stats, iou_score, jaccard_index

x = torch.zeros(2, 3, 4, 4)
labels = torch.zeros(2, 4, 4, dtype=torch.int64)
JaccardLoss("multiclas")  # error
JaccardLoss("multiclass", reduction="avg")  # error
TverskyLoss("binary", empty="skip")  # error
LovaszLoss(mode="multi")  # error
GeneralizedDiceLoss("multiclass", weight_type="squared")  # error
dice_loss(x, labels, mode="multiclass", reduction="meen")  # error
anyiou.torch.DiceLoss("Binary")  # error
jaccard_index(np.zeros((2, 2), dtype=np.int64), np.zeros((2, 2), dtype=np.int64),
              num_classes=2, average="mean")  # error
MeanIoU(3, mode="multi-class")  # error
tp, fp, fn, tn = get_stats(x, labels, mode="multiclass")
iou_score(tp, fp, fn, tn, reduction="micro_imagewise")  # error
iou_score(tp, fp, fn, tn, zero_division="nan")  # error
"""

#: the same calls spelt right: no error; each ``reveal_type`` line names the type it shows
CORRECT = """\
import numpy as np
import torch

import anyiou.torch
from anyiou import GeneralizedDiceLoss, JaccardLoss, LovaszLoss, TverskyLoss
from anyiou.losses import dice_loss, soft_jaccard_score
from anyiou.metrics import MeanIoU, get_stats, iou_score, jaccard_index

x = torch.zeros(2, 3, 4, 4)
labels = torch.zeros(2, 4, 4, dtype=torch.int64)
loss = JaccardLoss("multiclass", reduction="none", empty="exclude")
reveal_type(loss(x, labels))  # Tensor
reveal_type(TverskyLoss("binary", alpha=0.3)(x[:, :1], labels))  # Tensor
reveal_type(LovaszLoss(mode="multiclass")(x, labels))  # Tensor
reveal_type(GeneralizedDiceLoss("multiclass", weight_type="simple")(x, labels))  # Tensor
reveal_type(dice_loss(x, labels, mode="multiclass", reduction="sum"))  # Tensor
reveal_type(anyiou.torch.DiceLoss("multiclass")(x, labels))  # Tensor
reveal_type(soft_jaccard_score(x, x))  # Tensor
tp, fp, fn, tn = get_stats(x.argmax(1), labels, mode="multiclass", num_classes=3)
reveal_type(tp)  # Tensor
reveal_type(iou_score(tp, fp, fn, tn, reduction="micro-imagewise", zero_division="warn"))  # Tensor
reveal_type(jaccard_index(x.argmax(1), labels, num_classes=3, average=None))  # Tensor
MeanIoU(3, average="weighted", mode="multiclass")
logits = np.zeros((2, 3, 4, 4), dtype=np.float32)
reveal_type(loss(logits, np.zeros((2, 4, 4), dtype=np.int64)))  # ndarray
mode = "multiclass"  # a str variable declared once: its literal type is inferred
JaccardLoss(mode)
"""


def _pyright(script: str, tmp_path: Path) -> list[dict]:
    """pyright's diagnostics of ``script`` as a user would run it: this Python's
    site-packages, this checkout's ``src`` first (an editable install's import hook is
    invisible to a static checker)."""
    if shutil.which("node") is None:
        pytest.fail(
            "pyright needs Node.js: install node (https://nodejs.org) and put it on PATH; "
            "the type checks of the public API cannot run without it"
        )
    try:
        import pyright  # noqa: F401  (the PyPI wrapper, from the `test` extra)
    except ImportError:
        pytest.fail("pyright (the PyPI wrapper) is missing: pip install -e '.[test]'")
    (tmp_path / "user.py").write_text(script)
    config = {"include": ["user.py"], "extraPaths": [str(ROOT / "src")],
              "typeCheckingMode": "standard", "pythonVersion": "3.10"}
    (tmp_path / "pyrightconfig.json").write_text(json.dumps(config))
    env = {**os.environ, "PYRIGHT_PYTHON_FORCE_VERSION": PYRIGHT_VERSION}
    env.pop("PYTHONPATH", None)  # the import roots are the config's and this Python's
    result = subprocess.run(
        [sys.executable, "-m", "pyright", "--outputjson", "--pythonpath", sys.executable,
         "-p", str(tmp_path / "pyrightconfig.json")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"pyright gave no report (exit {result.returncode}):\n{result.stdout}\n"
                    f"{result.stderr}")
    assert report["version"] == PYRIGHT_VERSION, report["version"]
    assert report["summary"]["filesAnalyzed"] == 1, report["summary"]
    return report["generalDiagnostics"]


def _lines(script: str, marker: str) -> dict[int, str]:
    """0-based line -> the comment after ``marker`` on the script's lines that have it."""
    return {
        i: line.rsplit(marker, 1)[1].strip()
        for i, line in enumerate(script.splitlines())
        if f"{marker}" in line
    }


def _check_typos_are_errors(tmp_path: Path) -> None:
    diagnostics = _pyright(TYPOS, tmp_path)
    errors = sorted(d["range"]["end"]["line"] for d in diagnostics if d["severity"] == "error")
    expected = sorted(_lines(TYPOS, "# error"))
    assert errors == expected, [
        (d["range"]["start"]["line"] + 1, d["message"]) for d in diagnostics
    ]
    # the message names the argument and the allowed values
    first = next(d for d in diagnostics if d["range"]["end"]["line"] == expected[0])["message"]
    assert 'parameter "mode"' in first and "Literal['multiclass']" in first, first


def _check_correct_script_passes_with_array_types(tmp_path: Path) -> None:
    diagnostics = _pyright(CORRECT, tmp_path)
    errors = [(d["range"]["start"]["line"] + 1, d["message"]) for d in diagnostics
              if d["severity"] != "information"]
    assert not errors, errors
    revealed = {d["range"]["start"]["line"]: d["message"] for d in diagnostics
                if d["severity"] == "information"}
    expected = _lines(CORRECT, "# ")
    expected = {i: t for i, t in expected.items() if "reveal_type" in CORRECT.splitlines()[i]}
    assert set(revealed) == set(expected), (revealed, expected)
    for line, kind in expected.items():
        # 'Type of "loss(x, labels)" is "Tensor"', '... is "ndarray[...]"'
        shown = revealed[line].rsplit(" is ", 1)[1].strip('"')
        assert shown.split("[", 1)[0] == kind, (line + 1, revealed[line])


# pyright reads the package, not arrays: collected once, in the numpy session (or a run
# without ANYIOU_BACKENDS), never a skip elsewhere
if "numpy" in _sessions():
    test_option_typos_are_type_errors = pytest.mark.slow(_check_typos_are_errors)
    test_correct_script_passes_with_array_types = pytest.mark.slow(
        _check_correct_script_passes_with_array_types
    )
