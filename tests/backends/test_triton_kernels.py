"""The fused Triton kernels (``_lib/kernels/_triton.py``) against smp and float64 torch.

Collected only in ``nox -s triton`` (``tests/backends/conftest.py``), which sets
``TRITON_INTERPRET=1 ANYIOU_FUSED=1 ANYIOU_ACCELERATOR_PATH=1``: Triton's interpreter runs
the kernels on CPU tensors, on the accelerator path a GPU takes. Every test counts the
kernels launched (`_triton._launch`), so a fall-through to the composable path cannot
pass for the fused one: the whole loss (`_triton_loss`) launches three kernels, the
options outside its allow-list the fused statistics' two, and the options the fused
kernels do not serve (probabilities, transforms) none.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import anyiou
from anyiou._lib import kernels
from anyiou._lib.kernels import _triton
from tests.support.cases import BIN, MC, ML, Case
from tests.support.oracles import smp_value_and_grad

pytestmark = pytest.mark.only_backends("torch")

FUSED_SOFTMAX = ["_softmax_stats_kernel", "_softmax_grad_kernel"]
FUSED_SIGMOID = ["_sigmoid_stats_kernel", "_sigmoid_grad_kernel"]
#: the whole loss (`_triton_loss`): statistics, the (N, C) tail, the gradient
WHOLE_SOFTMAX = ["_softmax_stats_kernel", "_loss_tail_kernel", "_softmax_grad_kernel"]
WHOLE_SIGMOID = ["_sigmoid_stats_kernel", "_loss_tail_kernel", "_sigmoid_grad_kernel"]

LOSSES = {
    "JaccardLoss": {},
    "DiceLoss": {"smooth": 0.5},
    "TverskyLoss": {"alpha": 0.3, "beta": 0.7, "gamma": 1.5},
}

#: The option grid: (case, whether the fused kernels serve it).
CASES = [
    Case("mc", "multiclass", MC, "labels"),
    Case("mc-ignore", "multiclass", MC, "labels", {"ignore_index": 255}, void=255),
    Case("mc-ignore-uint8", "multiclass", MC, "labels", {"ignore_index": 255}, void=255,
         target_dtype="uint8"),
    Case("mc-per-image", "multiclass", MC, "labels", {"ignore_index": -1, "per_image": True},
         void=-1),
    Case("mc-classes-weights", "multiclass", MC, "labels",
         {"classes": [1, 3], "class_weights": [1.0, 2.0, 3.0, 4.0]}),
    Case("mc-log-eps-smooth", "multiclass", MC, "labels",
         {"log_loss": True, "eps": 1e-3, "smooth": 1.0}),
    Case("mc-3d-many-classes", "multiclass", (2, 37, 3, 4, 5), "labels", absent=2),
    Case("mc-probs", "multiclass", MC, "labels", probs=True),
    Case("mc-probs-ignore", "multiclass", MC, "labels", {"ignore_index": 255}, void=255,
         probs=True),
    Case("bin", "binary", BIN),
    Case("bin-ignore", "binary", BIN, "hard", {"ignore_index": -1}, void=-1),
    Case("bin-soft", "binary", BIN, "soft", {"log_loss": True}),
    Case("bin-probs", "binary", BIN, probs=True),
    Case("ml", "multilabel", ML, "hard", {"classes": [0, 2], "class_weights": [3.0, 1.0, 1.0]}),
    Case("ml-ignore-per-image", "multilabel", ML, "hard",
         {"ignore_index": 255, "per_image": True}, void=255),
    Case("ml-soft-smooth", "multilabel", ML, "soft", {"smooth": 0.1, "eps": 1e-4}),
    Case("ml-bool", "multilabel", ML, target_dtype="bool"),
    Case("ml-probs", "multilabel", ML, probs=True),
]
PARAMS = [(name, case) for name in LOSSES for case in CASES]
IDS = [f"{name}-{case.id}" for name, case in PARAMS]


@pytest.fixture
def launches(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the Triton kernels launched while the test runs."""
    names: list[str] = []
    launch = _triton._launch

    def counted(kernel, grid, *args, **meta):
        names.append(kernel.fn.__name__)
        return launch(kernel, grid, *args, **meta)

    monkeypatch.setattr(_triton, "_launch", counted)
    return names


def _expected_launches(case: Case) -> list[str]:
    if case.probs:  # from_logits=False: no softmax or sigmoid to fuse
        return []
    return WHOLE_SOFTMAX if case.mode == "multiclass" else WHOLE_SIGMOID


def _smp(loss_name: str, args: dict, y_pred: np.ndarray, y_true: np.ndarray,
         per_image: bool) -> tuple[np.ndarray, np.ndarray]:
    """smp's value and gradient; per_image (smp has none): the mean of its per-sample
    losses."""
    if y_true.dtype == bool:
        y_true = y_true.astype(np.float32)
    if not per_image:
        return smp_value_and_grad(loss_name, args, y_pred, y_true)
    n = y_pred.shape[0]
    parts = [smp_value_and_grad(loss_name, args, y_pred[i:i + 1], y_true[i:i + 1])
             for i in range(n)]
    return np.mean([v for v, _ in parts]), np.concatenate([g for _, g in parts]) / n


def test_the_fused_layer_is_routed(backend):
    x = torch.zeros((1, 2, 3))
    assert kernels.FUSED
    assert kernels.get(x, "softmax_label_stats") is _triton.softmax_label_stats
    assert kernels.get(x, "sigmoid_dense_stats") is _triton.sigmoid_dense_stats
    # what the layer does not define comes from the torch module below it
    assert kernels.get(x, "take_labels").__module__.endswith("_torch")


@pytest.mark.parametrize(("loss_name", "case"), PARAMS, ids=IDS)
def test_value_and_gradient_match_smp(backend, launches, loss_name, case):
    y_pred, y_true = case.make()
    options = {**case.smp_args, **LOSSES[loss_name]}
    per_image = options.pop("per_image", False)
    if per_image:  # smp raises the batch's mean loss to gamma: no per-sample mean then
        options.pop("gamma", None)
    expected, expected_grad = _smp(loss_name, options, y_pred, y_true, per_image)
    loss = getattr(anyiou, loss_name)(**options, per_image=per_image)
    x = torch.from_numpy(y_pred).requires_grad_(True)
    value = loss(x, torch.from_numpy(y_true))
    (grad,) = torch.autograd.grad(value, x)
    assert launches == _expected_launches(case)
    np.testing.assert_allclose(value.item(), expected, rtol=1e-6, atol=1e-6)
    scale = max(np.abs(expected_grad).max(), 1e-3)
    np.testing.assert_allclose(grad.numpy(), expected_grad, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.parametrize("class_axis", [1, -1], ids=["permuted", "class-last"])
@pytest.mark.parametrize("mode", ["multiclass", "multilabel"])
def test_strided_logits_match_smp(backend, launches, mode, class_axis):
    """Channels-last logits viewed as (N, C, H, W) or given with ``class_axis=-1``
    (strides are kernel arguments, no copy), float64 (float64 sums), with ignored
    pixels."""
    case = Case("strided", mode, (2, 3, 5, 4), "labels" if mode == "multiclass" else "hard",
                {"ignore_index": 255}, void=255)
    y_pred, y_true = case.make(dtype=np.float64)
    channels_last = np.ascontiguousarray(np.moveaxis(y_pred, 1, -1))
    x = torch.from_numpy(channels_last).requires_grad_(True)
    t = torch.from_numpy(y_true)
    if class_axis == -1:
        t = t if mode == "multiclass" else t.permute(0, 2, 3, 1)
        value = anyiou.JaccardLoss(**case.smp_args, class_axis=-1)(x, t)
    else:
        value = anyiou.JaccardLoss(**case.smp_args)(x.permute(0, 3, 1, 2), t)
    (grad,) = torch.autograd.grad(value, x)
    expected, expected_grad = smp_value_and_grad("JaccardLoss", case.smp_args, y_pred, y_true)
    assert launches == _expected_launches(case)
    np.testing.assert_allclose(value.item(), expected, rtol=1e-9)
    np.testing.assert_allclose(grad.permute(0, 3, 1, 2).numpy(), expected_grad, rtol=1e-8,
                               atol=1e-12)


@pytest.mark.parametrize("hard", [True, False], ids=["hard", "l1"])
@pytest.mark.parametrize("masked", [True, False], ids=["valid", "all"])
def test_sigmoid_kernel_matches_float64_autograd(backend, launches, hard, masked):
    """The kernel itself, both forms (the losses pass hard=False on the accelerator path,
    whose targets are never value-checked): (I, Sp, St) and their gradient against torch
    autograd of the plain float64 formulas."""
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.normal(0, 3, (2, 3, 50)).astype(np.float32)).requires_grad_(True)
    t = torch.from_numpy(rng.integers(0, 2, (2, 3, 50)))
    valid = torch.from_numpy(rng.random((2, 3, 50)) < 0.8) if masked else None
    weights = [torch.from_numpy(rng.normal(size=(2, 3))) for _ in range(3)]
    stats = _triton.sigmoid_dense_stats(None, x, t, valid, hard, torch.float32)
    weighted = sum((s * w.float()).sum() for s, w in zip(stats, weights, strict=True))
    (grad,) = torch.autograd.grad(weighted, x)

    x64 = x.detach().double().requires_grad_(True)
    keep = torch.ones_like(x64) if valid is None else valid.double()
    p, tf = torch.sigmoid(x64) * keep, t.double() * keep
    inter = (p * tf).sum(2) if hard else torch.minimum(p, tf).sum(2)
    expected = (inter, p.sum(2), tf.sum(2))
    (expected_grad,) = torch.autograd.grad(
        sum((s * w).sum() for s, w in zip(expected, weights, strict=True)), x64)
    assert launches == FUSED_SIGMOID
    for got, want in zip(stats, expected, strict=True):
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(grad.numpy(), expected_grad.numpy(), rtol=1e-4, atol=1e-6)


def test_double_backward_matches_smp(backend, launches):
    """create_graph=True: the backward pass is the differentiable torch formula, so a
    Hessian-vector product works and equals smp's."""
    case = Case("hvp", "multiclass", MC, "labels", {"ignore_index": 255}, void=255)
    y_pred, y_true = case.make()
    v = torch.from_numpy(np.random.default_rng(2).normal(size=y_pred.shape).astype(np.float32))

    def hvp(loss):
        x = torch.from_numpy(y_pred.copy()).requires_grad_(True)
        (g,) = torch.autograd.grad(loss(x, torch.from_numpy(y_true)), x, create_graph=True)
        (h,) = torch.autograd.grad((g * v).sum(), x)
        return h.numpy()

    got = hvp(anyiou.JaccardLoss(**case.smp_args))
    from tests.support.oracles import smp_losses

    expected = hvp(smp_losses().JaccardLoss(**case.smp_args))
    # the forward pass is the whole fused loss; the first backward (create_graph)
    # recomputes the composable path on the fused statistics and differentiates it in
    # torch ops, the second passes through the statistics' fused backward kernel
    assert launches == WHOLE_SOFTMAX[:2] + FUSED_SOFTMAX
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max())


@pytest.mark.parametrize("mode", ["multiclass", "binary"])
def test_transforms_fall_through(backend, launches, mode):
    """Under torch.func (functorch-wrapped tensors) the composable kernels run: no Triton
    launch, smp's gradient."""
    case = Case("func", mode, MC if mode == "multiclass" else BIN,
                "labels" if mode == "multiclass" else "hard")
    y_pred, y_true = case.make()
    loss = anyiou.JaccardLoss(**case.smp_args)
    t = torch.from_numpy(y_true)
    grad = torch.func.grad(lambda x: loss(x, t))(torch.from_numpy(y_pred))
    _, expected_grad = smp_value_and_grad("JaccardLoss", case.smp_args, y_pred, y_true)
    assert launches == []
    np.testing.assert_allclose(grad.numpy(), expected_grad, rtol=1e-4,
                               atol=1e-5 * np.abs(expected_grad).max())


def _reference(y_pred: np.ndarray, y_true: np.ndarray, mode: str, opts: dict,
               alpha: float = 1.0, beta: float = 1.0, gamma: float = 1.0) -> float:
    """The loss in float64 NumPy: per-class Tversky losses, the empty rule, classes,
    weights, the reduction and gamma, written out."""
    from tests.support.oracles import np_onehot, np_sigmoid, np_softmax, np_tversky_losses

    c = y_pred.shape[1]
    if mode == "multiclass":
        p, t = np_softmax(y_pred.astype(np.float64)), np_onehot(y_true, c)
    else:
        p, t = np_sigmoid(y_pred.astype(np.float64)), y_true.astype(np.float64)
    losses, present = np_tversky_losses(p, t, alpha, beta, per_image=opts.get("per_image",
                                                                                 False))
    if opts.get("empty") != "keep":
        losses = losses * present
    classes = opts.get("classes") or list(range(c))
    weights = np.asarray(opts.get("class_weights") or [1.0] * c)[classes]
    losses, present = losses[..., classes], present[..., classes]
    w = np.broadcast_to(weights, losses.shape) * (present if opts.get("empty") == "exclude"
                                                  else 1.0)
    total = (losses * w).sum()
    out = total if opts.get("reduction") == "sum" else (total / w.sum() if w.sum() else 0.0)
    return out**gamma


#: options only the fused tail (not smp) has: (mode, options, alpha, beta, gamma)
TAIL_CASES = [
    ("multiclass", {"reduction": "sum", "empty": "exclude", "class_weights": [1, 2, 0, 4]},
     1.0, 1.0, 1.0),
    ("multiclass", {"per_image": True, "empty": "exclude", "classes": [3, 0, 2]},
     0.3, 0.7, 0.5),
    ("multilabel", {"reduction": "sum", "classes": [1, 2]}, 0.5, 0.5, 2.0),
    ("multiclass", {"per_image": True, "empty": "keep", "classes": [2, 1]}, 0.5, 0.5, 1.0),
]


@pytest.mark.parametrize("tail", TAIL_CASES, ids=["sum-exclude-weights",
                                                  "per-image-exclude-classes-gamma",
                                                  "ml-sum-classes-gamma",
                                                  "per-image-keep-classes"])
def test_tail_options_match_float64_reference(backend, launches, tail):
    """The tail kernel's reductions smp lacks against float64 NumPy (the value) and
    finite differences (the gradient, float64)."""
    mode, opts, alpha, beta, gamma = tail
    case = Case("tail", mode, (2, 4, 3, 3) if mode == "multiclass" else (2, 3, 3, 3),
                "labels" if mode == "multiclass" else "hard", absent=2)
    y_pred, y_true = case.make(dtype=np.float64)
    loss = anyiou.TverskyLoss(mode, alpha=alpha, beta=beta, gamma=gamma, **opts)
    t = torch.from_numpy(y_true)
    x = torch.from_numpy(y_pred).requires_grad_(True)
    value = loss(x, t)
    torch.autograd.grad(value, x)
    assert launches == (WHOLE_SOFTMAX if mode == "multiclass" else WHOLE_SIGMOID)
    np.testing.assert_allclose(value.item(), _reference(y_pred, y_true, mode, opts, alpha,
                                                         beta, gamma), rtol=1e-10)
    assert torch.autograd.gradcheck(lambda z: loss(z, t), (x,), eps=1e-6, atol=1e-7)


class _SubclassedLoss(anyiou.JaccardLoss):
    """A subclass (it may change the pipeline): the fused loss declines it."""


def _unknown_option(**opts):
    loss = anyiou.JaccardLoss(**opts)
    loss.future_option = False  # an option the fused loss does not know
    return loss


@pytest.mark.parametrize("make", [_SubclassedLoss, _unknown_option,
                                  lambda **o: anyiou.JaccardLoss(**o, reduction="none"),
                                  lambda **o: anyiou.JaccardLoss(**o, sync=lambda s: s)],
                         ids=["subclass", "unknown-option", "reduction-none", "sync"])
def test_options_outside_the_allow_list_are_declined(backend, launches, make):
    """What the whole fused loss does not know takes the composable path on the fused
    statistics (two launches, no tail), with smp's value and gradient."""
    case = Case("declined", "multiclass", MC, "labels", {"ignore_index": 255}, void=255)
    y_pred, y_true = case.make()
    x = torch.from_numpy(y_pred).requires_grad_(True)
    value = make(**case.smp_args)(x, torch.from_numpy(y_true)).mean()
    (grad,) = torch.autograd.grad(value, x)
    expected, expected_grad = smp_value_and_grad("JaccardLoss", case.smp_args, y_pred, y_true)
    assert launches == FUSED_SOFTMAX
    np.testing.assert_allclose(value.item(), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(grad.numpy(), expected_grad, rtol=1e-4,
                               atol=1e-5 * np.abs(expected_grad).max())


@pytest.mark.parametrize("ignore_index", [None, 255], ids=["unmasked", "masked"])
def test_labels_out_of_range_count_nowhere(backend, launches, ignore_index):
    """Unchecked labels (the accelerator path reads no value on the host) outside [0, C)
    are in no class, as the composable path bins them: the kernel's own valid mask. With
    an ignore_index the prediction is masked there too (smp masks it only then)."""
    rng = np.random.default_rng(3)
    y_pred = rng.normal(0, 2, (2, 4, 5, 6))
    y_true = rng.integers(-2, 6, (2, 5, 6))
    y_true[0, 0, :3] = 255
    p = np.moveaxis(np.exp(y_pred) / np.exp(y_pred).sum(1, keepdims=True), 1, -1)
    onehot = y_true[..., None] == np.arange(4)
    if ignore_index is not None:
        p = p * ((y_true >= 0) & (y_true < 4))[..., None]
    inter, pred_sum, target_sum = ((p * onehot).sum((0, 1, 2)), p.sum((0, 1, 2)),
                                   onehot.sum((0, 1, 2)))
    per_class = 1 - inter / np.maximum(pred_sum + target_sum - inter, 1e-7)
    expected = (per_class * (target_sum > 0)).mean()
    loss = anyiou.JaccardLoss("multiclass", ignore_index=ignore_index)
    x = torch.from_numpy(y_pred).requires_grad_(True)
    value = loss(x, torch.from_numpy(y_true))
    torch.autograd.grad(value, x)
    assert launches == WHOLE_SOFTMAX
    np.testing.assert_allclose(value.item(), expected, rtol=1e-10)


def test_cost_model_targets(backend):
    """The cost model (benchmarks/costmodel.py, launches recorded, not run) of one fused
    forward + backward: at most 2x the launches and 0.75x the bytes of cross-entropy
    (BCE) on its four cases."""
    from benchmarks import costmodel

    for case in costmodel.CASES:
        ce = costmodel.torch_costs(case, "cross-entropy")
        fused = costmodel.torch_costs(case, "anyiou-jaccard-fused")
        kernels = WHOLE_SOFTMAX if case.mode == "multiclass" else WHOLE_SIGMOID
        # the three launches and autograd's seed of the output's gradient
        assert set(fused["by_op"]) == {"ones_like", *(f"triton:{k}" for k in kernels)}
        assert fused["launches"] <= 2 * ce["launches"], (case.name, fused["by_op"])
        assert fused["bytes"] <= 0.75 * ce["bytes"], (case.name, fused["by_op"])


MONAI_ROUTED = {
    "softmax-labels": ("DiceLoss", {"softmax": True, "to_onehot_y": True}, "labels"),
    "jaccard-nobg-batch-sum": ("DiceLoss", {
        "softmax": True, "to_onehot_y": True, "jaccard": True, "include_background": False,
        "batch": True, "reduction": "sum", "smooth_nr": 1e-3, "smooth_dr": 1e-3}, "labels"),
    "sigmoid-soft": ("DiceLoss", {"sigmoid": True, "soft_label": True}, "soft"),
    "tversky-softmax-labels": ("TverskyLoss", {"softmax": True, "to_onehot_y": True,
                                               "alpha": 0.3, "beta": 0.7}, "labels"),
    "tversky-sigmoid-soft-batch-sum": ("TverskyLoss", {
        "sigmoid": True, "soft_label": True, "alpha": 0.8, "beta": 0.2, "batch": True,
        "reduction": "sum"}, "soft"),
}


def _monai_case(target: str) -> tuple[np.ndarray, torch.Tensor]:
    mode = "multiclass" if target == "labels" else "multilabel"
    case = Case("monai", mode, (2, 4, 3, 3), target, absent=2)
    y_pred, y_true = case.make(dtype=np.float64)
    return y_pred, torch.from_numpy(y_true[:, None] if target == "labels" else y_true)


def _monai_oracle(name: str, options: dict, y_pred: np.ndarray, t: torch.Tensor):
    from monai import losses

    xm = torch.from_numpy(y_pred).requires_grad_(True)
    expected = getattr(losses, name)(**options)(xm, t)
    (expected_grad,) = torch.autograd.grad(expected, xm)
    return expected.item(), expected_grad.numpy()


@pytest.mark.parametrize("key", list(MONAI_ROUTED))
def test_monai_losses_take_the_whole_fused_loss(backend, launches, key):
    """anyiou.monai's DiceLoss and TverskyLoss map their common configurations onto the
    core loss, which the whole fused loss serves (three launches), with MONAI's value
    and gradient (a class absent from the target keeps MONAI's loss)."""
    from anyiou import monai

    name, options, target = MONAI_ROUTED[key]
    y_pred, t = _monai_case(target)
    x = torch.from_numpy(y_pred).requires_grad_(True)
    value = getattr(monai, name)(**options)(x, t)
    (grad,) = torch.autograd.grad(value, x)
    assert launches == (WHOLE_SOFTMAX if target == "labels" else WHOLE_SIGMOID)
    expected, expected_grad = _monai_oracle(name, options, y_pred, t)
    np.testing.assert_allclose(value.item(), expected, rtol=1e-10)
    np.testing.assert_allclose(grad.numpy(), expected_grad, rtol=1e-8, atol=1e-12)


def test_monai_options_set_on_a_built_loss_reach_the_fused_loss(backend, launches):
    """The route reads the options at each call: a loss built with ``batch=False`` and
    then set to ``batch=True`` gives MONAI's ``batch=True`` loss on the fused path."""
    from anyiou import monai

    y_pred, t = _monai_case("labels")
    loss = monai.TverskyLoss(softmax=True, to_onehot_y=True, alpha=0.3, beta=0.7)
    loss(torch.from_numpy(y_pred), t)
    loss.batch, loss.alpha = True, 0.6
    del launches[:]
    x = torch.from_numpy(y_pred).requires_grad_(True)
    value = loss(x, t)
    (grad,) = torch.autograd.grad(value, x)
    assert launches == WHOLE_SOFTMAX
    expected, expected_grad = _monai_oracle(
        "TverskyLoss", {"softmax": True, "to_onehot_y": True, "alpha": 0.6, "beta": 0.7,
                        "batch": True}, y_pred, t)
    np.testing.assert_allclose(value.item(), expected, rtol=1e-10)
    np.testing.assert_allclose(grad.numpy(), expected_grad, rtol=1e-8, atol=1e-12)
