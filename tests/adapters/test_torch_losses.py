"""``anyiou.torch`` losses as ``nn.Module``\\ s against smp 0.6.0: values and gradients for
every loss and mode, smp's positional constructor, containers, ``.to()``/``.eval()``/
``.half()``, ``state_dict``, ``repr``, pickling and deep copies."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import anyiou.torch as at  # noqa: E402
from tests.support.cases import BIN, MC, ML, PARITY_CASES, Case  # noqa: E402
from tests.support.oracles import smp_losses, smp_value_and_grad  # noqa: E402

pytestmark = pytest.mark.only_backends("torch", "torch_cuda")

BY_ID = {c.id: c for c in PARITY_CASES}
OVERLAP = [BY_ID[i] for i in (
    "mc-default", "mc-3d", "mc-everything", "mc-ignore-255", "mc-probs",
    "bin-N1HW", "bin-soft", "bin-ignore-minus1", "bin-log-smooth",
    "ml-default", "ml-soft-log", "ml-ignore-255", "ml-classes-weights",
)]
TVERSKY = [
    Case("tv-mc-focal", "multiclass", MC, "labels",
         {"alpha": 0.2, "beta": 0.8, "gamma": 2.0, "class_weights": [1, 2, 1, 2], "ignore_index": 255},
         void=255),
    Case("tv-bin", "binary", BIN, "soft", {"alpha": 0.4, "beta": 0.6, "gamma": 1.5}),
    Case("tv-ml", "multilabel", ML, "hard", {"alpha": 0.1, "beta": 0.9, "log_loss": True}),
]
LOVASZ = [
    Case("lv-bin", "binary", BIN, "hard", {"ignore_index": 255}, void=255),
    Case("lv-bin-per-image", "binary", BIN, "hard", {"per_image": True}),
    Case("lv-mc", "multiclass", MC, "labels", {"ignore_index": 255}, void=255),
    Case("lv-mc-per-image", "multiclass", MC, "labels", {"per_image": True}),
    Case("lv-ml", "multilabel", ML),
]
CASES = (
    [("JaccardLoss", c) for c in OVERLAP]
    + [("DiceLoss", c) for c in OVERLAP]
    + [("TverskyLoss", c) for c in TVERSKY]
    + [("LovaszLoss", c) for c in LOVASZ]
)
IDS = [f"{n}-{c.id}" for n, c in CASES]


@pytest.mark.parametrize(("name", "case"), CASES, ids=IDS)
def test_module_matches_smp(backend, name: str, case: Case):
    y_pred, y_true = case.make()
    expected, expected_grad = smp_value_and_grad(name, case.smp_args, y_pred, y_true)
    module = getattr(at, name)(**case.smp_args)
    assert isinstance(module, torch.nn.Module)
    t = backend.asarray(y_true)
    value, grad = backend.value_and_grad(lambda p: module(p, t), y_pred)
    np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-6)
    scale = max(np.abs(expected_grad).max(), 1e-3)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-4, atol=1e-5 * scale)


# smp's positional order, every argument given positionally
POSITIONAL = [
    ("JaccardLoss", ("multiclass", [0, 1, 3], True, True, 0.5, 255, 1e-5, [1.0, 2.0, 3.0, 4.0])),
    ("DiceLoss", ("multiclass", [1, 3], False, True, 1.0, 255, 1e-4, [1.0, 2.0, 3.0, 4.0])),
    ("TverskyLoss", ("multiclass", [0, 2], False, True, 0.3, 255, 1e-6, 0.3, 0.7, 1.5, [2.0, 1.0, 1.0, 1.0])),
    ("LovaszLoss", ("multiclass", True, 255, True)),
]


@pytest.mark.parametrize(("name", "args"), POSITIONAL, ids=[n for n, _ in POSITIONAL])
def test_positional_arguments_as_smp(backend, name: str, args: tuple):
    y_pred, y_true = Case("mc", "multiclass", MC, "labels", void=255).make(seed=3)
    smp_loss = getattr(smp_losses(), name)(*args)
    expected = smp_loss(torch.from_numpy(y_pred), torch.from_numpy(y_true)).item()
    got = getattr(at, name)(*args)(backend.asarray(y_pred), backend.asarray(y_true))
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-6, atol=1e-6)


def _smp_value(name: str, args: dict, y_pred: np.ndarray, y_true: np.ndarray) -> float:
    return float(smp_value_and_grad(name, args, y_pred, y_true)[0])


def test_containers_and_module_methods(backend):
    """ModuleDict/ModuleList, .to(device)/.to(dtype)/.eval()/.train()/.half()/.cuda()."""
    args = {"mode": "multiclass", "ignore_index": 255}
    y_pred, y_true = Case("mc", "multiclass", MC, "labels", void=255).make(seed=1)
    names = ("JaccardLoss", "DiceLoss", "TverskyLoss", "LovaszLoss")
    crits = torch.nn.ModuleDict({n: getattr(at, n)(**args) for n in names})
    listed = torch.nn.ModuleList(list(crits.values()))
    device = backend.asarray(np.zeros(1)).device
    crits.to(device).to(torch.float64).eval()
    assert len(list(crits.parameters())) == 0 and len(list(listed.modules())) == 5
    p, t = backend.asarray(y_pred), backend.asarray(y_true)
    for name, module in zip(names, listed, strict=True):
        assert not module.training
        expected = _smp_value(name, args, y_pred, y_true)
        np.testing.assert_allclose(backend.to_numpy(crits[name](p, t)), expected, rtol=1e-6)
        assert module.train() is module and module.training
        # .half(): the module holds nothing to convert; float16 logits accumulate in float32
        p16 = p.half()
        expected16 = _smp_value(name, args, backend.to_numpy(p16).astype(np.float32), y_true)
        out = module.half()(p16, t)
        assert out.dtype == torch.float32
        np.testing.assert_allclose(backend.to_numpy(out), expected16, rtol=1e-5, atol=1e-6)
    if backend.name == "torch_cuda":
        cuda_out = crits["JaccardLoss"].cuda()(p, t)
        assert cuda_out.device.type == "cuda"


def test_state_dict_is_empty_and_loads(backend):
    loss = at.TverskyLoss("multilabel", alpha=0.3, beta=0.7)
    assert loss.state_dict() == {}
    assert not loss.load_state_dict({}).missing_keys
    y_pred, y_true = Case("ml", "multilabel", ML).make(seed=2)
    expected = _smp_value("TverskyLoss", {"mode": "multilabel", "alpha": 0.3, "beta": 0.7}, y_pred, y_true)
    got = loss(backend.asarray(y_pred), backend.asarray(y_true))
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-6)


def test_repr_shows_the_options():
    assert repr(at.LovaszLoss("binary", ignore_index=255)) == (
        "LovaszLoss(mode='binary', per_image=False, ignore_index=255, from_logits=True, "
        "class_axis=1, classes='present', class_weights=None)"
    )
    text = repr(at.TverskyLoss("multiclass", alpha=0.3, beta=0.7, per_image=True))
    assert text.startswith("TverskyLoss(mode='multiclass', classes=None, log_loss=False")
    for part in ("per_image=True", "alpha=0.3", "beta=0.7", "gamma=1.0", "reduction='mean'"):
        assert part in text


def test_options_read_like_smp_and_are_fixed():
    loss = at.DiceLoss("multiclass", [0, 2], ignore_index=-1)
    ref = smp_losses().DiceLoss("multiclass", [0, 2], ignore_index=-1)
    assert (loss.mode, list(loss.classes), loss.ignore_index) == (ref.mode, list(ref.classes), ref.ignore_index)
    with pytest.raises(AttributeError, match="ignore_index is fixed at construction"):
        loss.ignore_index = 255
    with pytest.raises(ValueError, match="mode"):
        at.JaccardLoss("multi-class")


def _identity_sync(x):
    """A picklable stand-in for an all-reduce over one worker."""
    return x + 0


@pytest.mark.parametrize("name", ["JaccardLoss", "DiceLoss", "TverskyLoss", "LovaszLoss"])
def test_pickle_and_deepcopy(backend, name: str):
    kwargs = {} if name == "LovaszLoss" else {"sync": _identity_sync}
    loss = getattr(at, name)("multiclass", ignore_index=255, **kwargs)
    y_pred, y_true = Case("mc", "multiclass", MC, "labels", void=255).make(seed=4)
    expected = _smp_value(name, {"mode": "multiclass", "ignore_index": 255}, y_pred, y_true)
    p, t = backend.asarray(y_pred), backend.asarray(y_true)
    for clone in (pickle.loads(pickle.dumps(loss)), copy.deepcopy(loss)):
        assert type(clone) is type(loss) and repr(clone) == repr(loss)
        np.testing.assert_allclose(backend.to_numpy(clone(p, t)), expected, rtol=1e-6)


def test_optimizer_step_with_module(backend):
    """A conv model trained one step with the module gets smp's gradient."""
    torch.manual_seed(0)
    model = torch.nn.Conv2d(3, 4, 3, padding=1)
    ref = copy.deepcopy(model)
    x = torch.randn(2, 3, 6, 5)
    y = torch.randint(0, 4, (2, 6, 5))
    device = backend.asarray(np.zeros(1)).device
    at.JaccardLoss("multiclass")(model.to(device)(x.to(device)), y.to(device)).backward()
    smp_losses().JaccardLoss("multiclass")(ref(x), y).backward()
    np.testing.assert_allclose(model.weight.grad.cpu().numpy(), ref.weight.grad.numpy(),
                               rtol=1e-4, atol=1e-6)


def test_pickle_with_torch_sync_keeps_the_hook():
    """A loss holding ``torch_sync()`` pickles and deep-copies (no process group needed)."""
    from anyiou.distributed import torch_sync

    loss = at.JaccardLoss("multiclass", sync=torch_sync())
    for clone in (pickle.loads(pickle.dumps(loss)), copy.deepcopy(loss)):
        assert type(clone.sync) is type(loss.sync)
        assert repr(clone) == repr(loss)
