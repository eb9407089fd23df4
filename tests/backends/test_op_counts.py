"""The accelerator path of the torch kernels launches a fixed number of operations.

On a GPU every torch operation is a kernel launch of a few microseconds, so a Python loop
over samples, pixel chunks or classes would make a loss slower than cross-entropy. The
kernels take their accelerator path where ``_torch._accelerator(x)`` is true; here it is
forced on CPU tensors, and the value checks are switched off as they are on a GPU
(``values_checkable``), so the code that runs is the code a GPU runs: by monkeypatching
in-process, or for a whole run with ``ANYIOU_ACCELERATOR_PATH=1`` in the environment (read
at import; the fixture then patches nothing, and a subprocess test checks that the switch
gives the patched path's counts). Every aten
operation of one forward + backward pass is counted (a ``TorchDispatchMode``) at two
input sizes (N, H, W) = (2, 8, 8) and (5, 32, 40): the counts must be equal and small,
and the values and gradients must equal smp's.

Counts measured (torch 2.13, views such as ``slice`` and ``unsqueeze`` included). Logits
with the usual options take the fast path (`_torch_overlap`: one autograd node, the
whole-batch statistics of `_torch_batch` at these sizes, the epilogue's gradient by
hand): JaccardLoss multiclass 60, with ignore_index 69; binary and multilabel 39 (soft
targets 38), with ignore_index 44; DiceLoss 2 more. The composed path (probabilities;
TverskyLoss with gamma != 1, 13 more): multiclass logits 111, with ignore_index 120;
multiclass probabilities 115 / 123; binary and multilabel logits 131, with ignore_index
147; probabilities 70 / 78. A control test checks that the CPU path, with small pixel
chunks, does grow with the input (so the counter sees a loop).
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import anyiou
from anyiou._lib import _values
from anyiou._lib.kernels import _chunks, _torch, _torch_host
from anyiou.losses import _statistics
from tests.support.cases import Case
from tests.support.oracles import smp_value_and_grad

# the `backend` argument only selects the torch session (the tests build torch tensors)
pytestmark = pytest.mark.only_backends("torch")

SMALL, LARGE = (2, 8, 8), (5, 32, 40)

#: The most operations one forward + backward may launch (the counts above, with room).
MAX_OPS = 170

LOSSES = [
    ("JaccardLoss", {}),
    ("DiceLoss", {"smooth": 1.0}),
    ("TverskyLoss", {"alpha": 0.3, "beta": 0.7, "gamma": 1.5}),
]

#: (id, mode, classes, target kind, options, void label, probabilities)
VARIANTS = [
    ("mc", "multiclass", 4, "labels", {}, None, False),
    ("mc-ignore", "multiclass", 4, "labels", {"ignore_index": 255}, 255, False),
    ("mc-probs", "multiclass", 4, "labels", {}, None, True),
    ("mc-probs-ignore", "multiclass", 4, "labels", {"ignore_index": -1}, -1, True),
    ("bin", "binary", 1, "hard", {}, None, False),
    ("bin-ignore", "binary", 1, "hard", {"ignore_index": -1}, -1, False),
    ("bin-probs", "binary", 1, "hard", {}, None, True),
    ("ml", "multilabel", 3, "hard", {}, None, False),
    ("ml-soft", "multilabel", 3, "soft", {}, None, False),
    ("ml-ignore", "multilabel", 3, "hard", {"ignore_index": 255}, 255, False),
    ("ml-probs-ignore", "multilabel", 3, "hard", {"ignore_index": -1}, -1, True),
]

PARAMS = [(name, opts, v) for name, opts in LOSSES for v in VARIANTS]
IDS = [f"{name}-{v[0]}" for name, _, v in PARAMS]


def _case(variant: tuple, size: tuple[int, int, int], options: dict) -> Case:
    vid, mode, c, target, extra, void, probs = variant
    n, h, w = size
    return Case(vid, mode, (n, c, h, w), target, {**options, **extra}, void=void, probs=probs)


class _OpCounter(TorchDispatchMode):
    """Counts the aten operations dispatched while active."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: collections.Counter = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops[str(func.overloadpacket)] += 1
        return func(*args, **(kwargs or {}))


def _count(loss_name: str, case: Case) -> tuple[int, float, np.ndarray, collections.Counter]:
    y_pred, y_true = case.make()
    loss = getattr(anyiou, loss_name)(**case.smp_args)
    x = torch.from_numpy(y_pred).requires_grad_(True)
    t = torch.from_numpy(y_true)
    with _OpCounter() as counter:
        out = loss(x, t)
        (grad,) = torch.autograd.grad(out, x)
    return sum(counter.ops.values()), out.item(), grad.numpy(), counter.ops


@pytest.fixture
def accelerator_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernels' accelerator path on CPU tensors, without the eager value checks
    (already so for the whole run under ``ANYIOU_ACCELERATOR_PATH=1``)."""
    if _torch.FORCE_ACCELERATOR_PATH:
        return
    monkeypatch.setattr(_torch, "_accelerator", lambda x: True)
    monkeypatch.setattr(_statistics, "values_checkable", lambda x: False)
    monkeypatch.setattr(_values, "values_checkable", lambda x: False)


@pytest.mark.parametrize(("loss_name", "options", "variant"), PARAMS, ids=IDS)
def test_operations_do_not_grow_with_the_input(backend, accelerator_path, loss_name, options,
                                                variant):
    small, *_ = _count(loss_name, _case(variant, SMALL, options))
    large_case = _case(variant, LARGE, options)
    large, value, grad, ops = _count(loss_name, large_case)
    assert small == large, f"{small} operations at {SMALL}, {large} at {LARGE}: {dict(ops)}"
    assert large <= MAX_OPS, dict(ops)
    # the forced path computes smp's loss
    y_pred, y_true = large_case.make()
    expected, expected_grad = smp_value_and_grad(loss_name, large_case.smp_args, y_pred, y_true)
    np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-6)
    scale = max(np.abs(expected_grad).max(), 1e-3)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.skipif(_torch.FORCE_ACCELERATOR_PATH,
                    reason="ANYIOU_ACCELERATOR_PATH=1: this run has no CPU path")
@pytest.mark.parametrize("variant", [VARIANTS[1], VARIANTS[5]], ids=["mc-ignore", "bin-ignore"])
def test_cpu_path_chunks_grow_with_the_input(backend, monkeypatch, variant):
    """Control: on the CPU path, with small chunks, the count grows (the counter sees the
    loops the accelerator path does not have)."""
    monkeypatch.setattr(_chunks, "CHUNK_ELEMENTS", 64)
    monkeypatch.setattr(_torch_host, "HOST_ELEMENTS", 0)  # not the host lane
    small, *_ = _count("JaccardLoss", _case(variant, SMALL, {}))
    large, *_ = _count("JaccardLoss", _case(variant, LARGE, {}))
    assert large > small


_SWITCH_CHILD = """
import torch
from anyiou._lib import kernels
from anyiou._lib.kernels import _torch
from tests.backends.test_op_counts import VARIANTS, LARGE, _case, _count
x = torch.zeros(3)
print(_torch._accelerator(x), kernels.values_checkable(x))
print(_count("JaccardLoss", _case(VARIANTS[1], LARGE, {}))[0])
print(_count("JaccardLoss", _case(VARIANTS[5], LARGE, {}))[0])
"""


@pytest.mark.slow
def test_environment_switch_forces_the_accelerator_path(backend, accelerator_path):
    """``ANYIOU_ACCELERATOR_PATH=1`` in a fresh process: CPU tensors take the accelerator
    path without value checks, launching what the monkeypatched path launches here."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "ANYIOU_ACCELERATOR_PATH": "1",
           "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    out = subprocess.run([sys.executable, "-c", _SWITCH_CHILD], env=env, cwd=root,
                         capture_output=True, text=True, timeout=300, check=True).stdout.split()
    assert out[:2] == ["True", "False"], out
    expected = [_count("JaccardLoss", _case(VARIANTS[i], LARGE, {}))[0] for i in (1, 5)]
    assert [int(n) for n in out[2:]] == expected


#: The most operations one forward + backward of the host lane (`_torch_host`: tiny CPU
#: inputs) may launch: measured 8 in every mode, with ignore_index too (the activation,
#: the loss's scalar, detaches, the upstream gradient's ones and its read; the rest is
#: NumPy).
MAX_HOST_OPS, MAX_HOST_OPS_IGNORE = 10, 10

HOST_VARIANTS = [v for v in VARIANTS if not v[6]]  # logits


@pytest.mark.skipif(_torch.FORCE_ACCELERATOR_PATH,
                    reason="ANYIOU_ACCELERATOR_PATH=1: this run has no host lane")
@pytest.mark.parametrize("variant", HOST_VARIANTS, ids=[v[0] for v in HOST_VARIANTS])
def test_host_lane_operations(backend, variant):
    """Tiny CPU inputs take the host lane: few operations, smp's value and gradient."""
    case = _case(variant, SMALL, {})
    _count("DiceLoss", case)  # fills the lane's constant cache
    count, value, grad, ops = _count("DiceLoss", case)
    limit = MAX_HOST_OPS_IGNORE if variant[5] is not None else MAX_HOST_OPS
    assert count <= limit, dict(ops)
    y_pred, y_true = case.make()
    expected, expected_grad = smp_value_and_grad("DiceLoss", case.smp_args, y_pred, y_true)
    np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-6)
    scale = max(np.abs(expected_grad).max(), 1e-3)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-4, atol=1e-5 * scale)
