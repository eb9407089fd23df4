"""``torch.compile(fullgraph=True)`` of the losses with static and dynamic shapes, against
smp 0.6.0 and eager, and a compiled training step that emits no warning from anyiou's
traced path (smp's emits none). The model + loss + backward step with static shapes is
in ``test_torch_transforms.py``."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

import anyiou
from tests.support.cases import TRANSFORM_LOSS_IDS as LOSS_IDS
from tests.support.cases import TRANSFORM_LOSSES as LOSSES
from tests.support.cases import Case
from tests.support.oracles import smp_losses, smp_value_and_grad

pytestmark = pytest.mark.only_backends("torch")

#: each case on two shapes: (N, C, H, W) and another N, H and W
CASES = [
    Case("bin", "binary", (2, 1, 5, 6), "hard"),
    Case("bin-ign-probs", "binary", (2, 1, 5, 6), "hard", {"ignore_index": -1}, void=-1,
         probs=True),
    Case("mc-ign", "multiclass", (2, 3, 5, 6), "labels", {"ignore_index": 255}, void=255),
    Case("mc-probs", "multiclass", (2, 3, 5, 6), "labels", probs=True),
    Case("ml-soft-ign", "multilabel", (2, 3, 5, 6), "soft", {"ignore_index": -1}, void=-1),
]
#: log_loss clips the score at eps as well (Jaccard, Dice and Tversky only)
LOG_CASE = Case("mc-log", "multiclass", (2, 3, 5, 6), "labels", {"log_loss": True})


def _other_shape(case: Case) -> Case:
    n, c, h, w = case.pred_shape
    return Case(case.id, case.mode, (n + 1, c, h + 3, w - 2), case.target, case.options,
                void=case.void, probs=case.probs)


def _loss(name: str, opts: dict, case: Case):
    return getattr(anyiou, name)(**case.smp_args, **opts)


def _check_compiled(torch, name: str, opts: dict, case: Case, dynamic: bool, backend: str):
    """The compiled loss (value and gradient) on the case's shape and, with ``dynamic``,
    on a second one, against smp and the eager loss."""
    loss = _loss(name, opts, case)
    torch._dynamo.reset()
    compiled = torch.compile(loss, fullgraph=True, dynamic=dynamic, backend=backend)
    shapes = [case, _other_shape(case)] if dynamic else [case]
    try:
        for shape_case in shapes:
            x, y = shape_case.make(seed=4)
            args = {**shape_case.smp_args, **opts}
            want_value, want_grad = smp_value_and_grad(name, args, x, y)
            z = torch.from_numpy(x).requires_grad_(True)
            value = compiled(z, torch.from_numpy(y))
            (grad,) = torch.autograd.grad(value, z)
            eager = loss(torch.from_numpy(x), torch.from_numpy(y))
            np.testing.assert_allclose(value.detach().numpy(), eager.numpy(), rtol=1e-6,
                                       atol=1e-7)
            np.testing.assert_allclose(value.detach().numpy(), want_value, rtol=1e-5,
                                       atol=1e-6)
            np.testing.assert_allclose(grad.numpy(), want_grad, rtol=1e-4, atol=1e-7)
    finally:
        torch._dynamo.reset()


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
@pytest.mark.parametrize(("name", "opts"), LOSSES, ids=LOSS_IDS)
def test_compiled_loss_matches_smp(backend, name, opts, case, dynamic):
    _check_compiled(backend.lib, name, opts, case, dynamic, "aot_eager")


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
@pytest.mark.parametrize(("name", "opts"), LOSSES[:3], ids=LOSS_IDS[:3])
def test_compiled_log_loss_matches_smp(backend, name, opts, dynamic):
    _check_compiled(backend.lib, name, opts, LOG_CASE, dynamic, "aot_eager")


@pytest.mark.slow
@pytest.mark.parametrize(("name", "opts"), [LOSSES[0], LOSSES[3]], ids=["Jaccard", "Lovasz"])
def test_inductor_dynamic_shapes_match_smp(backend, name, opts):
    """Generated kernels, two shapes through one dynamic-shape program."""
    _check_compiled(backend.lib, name, opts, CASES[2], True, "inductor")


# -- no warnings from the traced path ---------------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _compile_step_messages(torch, criterion, images, target, channels, dynamic):
    """Every warning and every log record at WARNING or above (the ``torch`` loggers:
    dynamo logs some of its messages) while a model + loss + backward step compiles
    and runs."""
    torch.manual_seed(0)
    model = torch.nn.Conv2d(3, channels, kernel_size=1)

    def step(images, target):
        loss = criterion(model(images), target)
        loss.backward()
        return loss.detach()

    handler = _Records()
    logger = logging.getLogger("torch")
    logger.addHandler(handler)
    torch._dynamo.reset()
    try:
        with warnings.catch_warnings(record=True) as caught, \
                torch._dynamo.config.patch(trace_autograd_ops=True):
            warnings.simplefilter("always")
            compiled = torch.compile(step, fullgraph=True, dynamic=dynamic, backend="aot_eager")
            value = compiled(images, target)
    finally:
        logger.removeHandler(handler)
        torch._dynamo.reset()
    messages = [str(w.message) for w in caught] + [r.getMessage() for r in handler.records]
    return value, messages


#: (loss, case): every mode, logits and probabilities, ignore_index, soft targets, log_loss
QUIET = [
    ("JaccardLoss", {}, CASES[2]),
    ("DiceLoss", {"smooth": 1.0}, CASES[1]),
    ("TverskyLoss", {"alpha": 0.3, "beta": 0.7, "log_loss": True}, CASES[4]),
    ("LovaszLoss", {}, CASES[2]),
    ("LovaszLoss", {}, CASES[4]),
]


def _step_images(torch):
    return torch.from_numpy(np.random.default_rng(5).normal(size=(2, 3, 5, 6)).astype("f4"))


def test_smp_compiled_step_is_quiet(backend, monkeypatch):
    """The control: a compiled step with smp's loss (and the model, the backward pass)
    emits nothing, so any message in the tests below comes from anyiou's path."""
    torch = backend.lib
    monkeypatch.setattr(torch._dynamo.utils, "warn_once_cache", set())
    case = CASES[2]
    _, y = case.make(seed=5)
    smp_loss = smp_losses().JaccardLoss(**case.smp_args)
    _, messages = _compile_step_messages(torch, smp_loss, _step_images(torch),
                                         torch.from_numpy(y), 3, dynamic=True)
    assert messages == []


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
@pytest.mark.parametrize(("name", "opts", "case"), QUIET,
                         ids=[f"{n}-{c.id}" for n, _, c in QUIET])
def test_compiled_step_emits_no_warnings(backend, monkeypatch, name, opts, case, dynamic):
    """No dynamo message (the lru_cache warnings of array-api-compat's lookups among
    them) while a step with an anyiou loss compiles; the step's loss equals smp's."""
    torch = backend.lib
    # dynamo warns once per message and process: forget what earlier tests triggered
    monkeypatch.setattr(torch._dynamo.utils, "warn_once_cache", set())
    _, y = case.make(seed=5)
    target = torch.from_numpy(y)
    channels = case.pred_shape[1]
    got, messages = _compile_step_messages(torch, _loss(name, opts, case), _step_images(torch),
                                           target, channels, dynamic)
    assert messages == []
    torch.manual_seed(0)
    model = torch.nn.Conv2d(3, channels, kernel_size=1)
    logits = model(_step_images(torch))  # taken as probabilities where from_logits=False
    want = getattr(smp_losses(), name)(**case.smp_args, **opts)(logits, target)
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-5, atol=1e-6)
