"""The options the whole-loss fast paths compute (torch: `_torch_overlap`, Triton:
`_triton_loss`) are an allow-list (`_allowed`): an option they do not know (one added
later, or set on a loss object by hand) takes the composable path, with smp's value and
gradient; and every option of the loss classes is listed, so that whoever adds one
decides whether the fast paths compute it."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import anyiou
from anyiou.losses import _overlap
from tests.support.cases import Case
from tests.support.oracles import smp_value_and_grad

pytestmark = pytest.mark.only_backends("torch")

CASE = Case("mc-ignore", "multiclass", (2, 4, 5, 5), "labels", {"ignore_index": 255}, void=255)


class _FutureLoss(anyiou.JaccardLoss):
    """A loss with one more option (its steps are the built-in ones)."""

    def __init__(self, *args, future: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.future = future


def _set_by_hand(**args):
    loss = anyiou.JaccardLoss(**args)
    loss.future_option = False  # an option the fast paths do not know
    return loss


@pytest.mark.parametrize("make", [_set_by_hand, _FutureLoss], ids=["attribute", "subclass"])
def test_an_unknown_option_takes_the_composable_path(backend, make):
    import torch

    from anyiou._lib import kernels

    y_pred, y_true = CASE.make(seed=6)
    expected, expected_grad = smp_value_and_grad("JaccardLoss", CASE.smp_args, y_pred, y_true)
    loss = make(**CASE.smp_args)
    x = torch.from_numpy(y_pred.copy()).requires_grad_(True)
    t = torch.from_numpy(y_true)
    assert kernels.overlap_loss(loss, x, t) is None
    out = loss(x, t)
    assert type(out.grad_fn).__name__ != "_OverlapLossBackward"
    out.backward()
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), expected_grad, rtol=1e-4,
                               atol=1e-5 * np.abs(expected_grad).max())


def _options(cls: type) -> set[str]:
    """Every option of a loss class: its constructor's parameters, the annotated
    attributes of it and its bases, and the attributes of an instance."""
    names = set(inspect.signature(cls.__init__).parameters) - {"self"}
    for klass in cls.__mro__:
        names |= set(inspect.get_annotations(klass))
    return names | set(vars(cls("multiclass")))


@pytest.mark.parametrize("cls", [anyiou.JaccardLoss, anyiou.DiceLoss, anyiou.TverskyLoss,
                                 _overlap.OverlapLoss], ids=lambda c: c.__name__)
def test_every_option_of_the_overlap_losses_is_listed(backend, cls):
    """A new option must be added to the allow-lists (with the values the fast paths
    compute, possibly none) before the fast paths serve the loss again."""
    from anyiou._lib.kernels import _allowed

    for table in (_allowed.TORCH, _allowed.TRITON):
        assert _options(cls) <= set(table)


def test_the_generalized_dice_loss_is_declined(backend):
    """`GeneralizedDiceLoss` shares the overlap losses' options but for its weights
    (``weight_type``), which no fast path knows: the gates decline it."""
    from anyiou._lib.kernels import _allowed

    loss = anyiou.GeneralizedDiceLoss("multiclass")
    for table in (_allowed.TORCH, _allowed.TRITON):
        assert _options(anyiou.GeneralizedDiceLoss) - set(table) == {"weight_type"}
    assert not _allowed.TORCH_GATE(loss)
    assert not _allowed.TRITON_GATE(loss)


@pytest.mark.parametrize("options", [
    {}, {"ignore_index": (255, -1)}, {"reduction": "none"}, {"sync": lambda s: s},
    {"per_image": True, "classes": [0, 2], "class_weights": [1.0, 2.0, 0.5, 1.0]},
], ids=["default", "ignore-tuple", "reduction-none", "sync", "per-image"])
def test_the_torch_gate_serves_the_usual_options(backend, options):
    from anyiou._lib.kernels import _allowed

    assert _allowed.TORCH_GATE(anyiou.JaccardLoss("multiclass", **options))


@pytest.mark.parametrize("options", [
    {"from_logits": False}, {"eps": 0.0}, {"class_axis": -1}, {"squared_pred": True},
    {"smooth": 1.0, "smooth_nr": 0.5}, {"empty": "keep"}, {"gamma": 2.0},
], ids=["probs", "eps-0", "channels-last", "squared", "smooth-nr", "keep", "focal"])
def test_the_torch_gate_declines_what_it_does_not_compute(backend, options):
    from anyiou._lib.kernels import _allowed

    assert not _allowed.TORCH_GATE(anyiou.TverskyLoss("multiclass", **options))


def test_a_changed_option_is_seen(backend):
    """The gates remember their verdicts by the options' values, not by the object."""
    from anyiou._lib.kernels import _allowed

    loss = anyiou.JaccardLoss("multiclass")
    assert _allowed.TORCH_GATE(loss) and _allowed.TRITON_GATE(loss)
    loss.reduction = "none"
    assert _allowed.TORCH_GATE(loss) and not _allowed.TRITON_GATE(loss)
    loss.future_option = 1
    assert not _allowed.TORCH_GATE(loss) and not _allowed.TRITON_GATE(loss)
    del loss.future_option
    loss.reduction = "mean"
    assert _allowed.TORCH_GATE(loss) and _allowed.TRITON_GATE(loss)


def test_the_gate_is_not_traced_by_torch_compile(backend, monkeypatch):
    """``torch.compile`` never runs the torch gate inside its trace: dynamo would guard
    every entry of the gate's memo, and a compiled step would take minutes. The
    compiled loss still equals smp's."""
    torch = backend.lib
    from anyiou._lib.kernels import _allowed, _torch_overlap

    calls = []
    gate = _allowed.TORCH_GATE

    def recording(loss):
        calls.append(torch.compiler.is_compiling())
        return gate(loss)

    monkeypatch.setattr(_torch_overlap._allowed, "TORCH_GATE", recording)
    y_pred, y_true = CASE.make(seed=3)
    expected, _ = smp_value_and_grad("JaccardLoss", CASE.smp_args, y_pred, y_true)
    loss = anyiou.JaccardLoss(**CASE.smp_args)
    torch._dynamo.reset()
    try:
        compiled = torch.compile(lambda x, t: loss(x, t), backend="eager", fullgraph=True)
        out = compiled(torch.from_numpy(y_pred), torch.from_numpy(y_true))
    finally:
        torch._dynamo.reset()
    assert True not in calls
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6, atol=1e-6)
