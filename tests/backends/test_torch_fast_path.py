"""The torch fast path of the overlap losses (one autograd node per call) against smp.

Eager torch tensors with the usual options take `_torch_overlap` (the rest of the suite
checks it on the oracle cases); here its three statistics paths are forced on the same
inputs: the host lane (`_torch_host`: CPU inputs of at most ``HOST_ELEMENTS`` values, the
default on these sizes), the whole-batch kernels (``HOST_ELEMENTS`` patched to 0) and
`_torch`'s per-sample kernels (``CHUNK_ELEMENTS`` patched small as well), each against
smp 0.6.0's value and gradient, and a second backward pass (``retain_graph=True``),
which recomputes the consumed buffers.
"""

from __future__ import annotations

import numpy as np
import pytest

import anyiou
from anyiou._lib.kernels import _chunks, _torch_host
from tests.support.cases import Case
from tests.support.oracles import smp_value_and_grad

pytestmark = pytest.mark.only_backends("torch")

CASES = [
    Case("mc", "multiclass", (3, 4, 6, 5), "labels"),
    Case("mc-ignore", "multiclass", (3, 4, 6, 5), "labels", {"ignore_index": 255}, void=255),
    # void labels below 0 and inside [0, C) take the masks' selections, 255 two clamps
    Case("mc-ignore-neg", "multiclass", (2, 4, 5, 5), "labels", {"ignore_index": -1}, void=-1),
    Case("mc-ignore-class", "multiclass", (2, 4, 5, 5), "labels", {"ignore_index": 1}, void=1),
    Case("mc-absent", "multiclass", (2, 5, 4, 4), "labels", absent=2),
    Case("mc-int32", "multiclass", (2, 3, 5, 5), "labels", target_dtype="int32"),
    Case("mc-channel", "multiclass", (2, 3, 5, 5), "labels", target_shape=(2, 1, 5, 5)),
    Case("bin", "binary", (3, 1, 6, 5)),
    Case("bin-nochannel", "binary", (3, 1, 6, 5), target_shape=(3, 6, 5)),
    Case("bin-ignore", "binary", (3, 1, 6, 5), options={"ignore_index": -1}, void=-1),
    Case("bin-soft", "binary", (3, 1, 6, 5), "soft"),
    Case("ml", "multilabel", (2, 3, 6, 5)),
    Case("ml-soft", "multilabel", (2, 3, 6, 5), "soft"),
    Case("ml-ignore", "multilabel", (2, 3, 6, 5), options={"ignore_index": 255}, void=255),
]

OPTIONS = [
    {},
    {"smooth": 1.0},
    {"log_loss": True},
    {"classes": [0, 2]},
    {"eps": 0.5},
    {"class_weights": "ramp"},  # 0, 1, 2, ... (a zero weight included)
    {"classes": [0, 2], "class_weights": "ramp"},
]


def _supported(case: Case, options: dict) -> bool:
    """smp (as anyiou) takes neither classes nor class weights in binary mode."""
    return case.mode != "binary" or not {"classes", "class_weights"} & set(options)


# the (case, options) pairs smp takes: no placeholder items for the others
CASE_OPTIONS = [
    pytest.param(case, options, id=f"{case.id}-{','.join(options) or 'default'}")
    for case in CASES for options in OPTIONS if _supported(case, options)
]


PATHS = ["host", "whole-batch", "per-sample"]


def _force(monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    """Route the calls below to ``path`` (the host lane is the default here)."""
    if path != "host":
        monkeypatch.setattr(_torch_host, "HOST_ELEMENTS", 0)
    if path == "per-sample":
        monkeypatch.setattr(_chunks, "CHUNK_ELEMENTS", 16)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("case", "options"), CASE_OPTIONS)
@pytest.mark.parametrize("loss_name", ["JaccardLoss", "DiceLoss"])
def test_fast_path_equals_smp(backend, monkeypatch, loss_name, case, options, path):
    import torch

    _force(monkeypatch, path)
    args = {**case.smp_args, **options}
    if "class_weights" in args:
        args["class_weights"] = [float(k) for k in range(case.pred_shape[1])]
    y_pred, y_true = case.make(seed=3)
    expected, expected_grad = smp_value_and_grad(loss_name, args, y_pred, y_true)
    x = torch.from_numpy(y_pred.copy()).requires_grad_(True)
    out = getattr(anyiou, loss_name)(**args)(x, torch.from_numpy(y_true))
    assert type(out.grad_fn).__name__ == "_OverlapLossBackward"  # the path under test
    out.backward(retain_graph=True)
    first = x.grad.clone()
    x.grad = None
    out.backward()  # the buffers were consumed: recomputed
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-6, atol=1e-6)
    scale = max(np.abs(expected_grad).max(), 1e-3)
    for grad in (first, x.grad):
        np.testing.assert_allclose(grad.numpy(), expected_grad, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", [CASES[0], CASES[1], CASES[10], CASES[13]],
                         ids=lambda c: c.id)
def test_fast_path_without_grad_equals_smp(backend, monkeypatch, case, path):
    """No gradient wanted: the statistics and epilogue run without the Function."""
    import torch

    _force(monkeypatch, path)
    y_pred, y_true = case.make(seed=4)
    expected, _ = smp_value_and_grad("JaccardLoss", case.smp_args, y_pred, y_true)
    with torch.no_grad():
        out = anyiou.JaccardLoss(**case.smp_args)(torch.from_numpy(y_pred),
                                                  torch.from_numpy(y_true))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("path", ["host", "per-sample"])
def test_subclass_that_replaces_a_step_takes_its_own_step(backend, monkeypatch, path):
    """A subclass overriding ``loss_from_statistics`` gets its override, not the fast
    path's built-in epilogue: here twice smp's value and gradient."""
    import torch

    class Doubled(anyiou.JaccardLoss):
        def loss_from_statistics(self, xp, stats):
            return 2 * super().loss_from_statistics(xp, stats)

    _force(monkeypatch, path)
    case = CASES[1]
    y_pred, y_true = case.make(seed=5)
    expected, expected_grad = smp_value_and_grad("JaccardLoss", case.smp_args, y_pred, y_true)
    x = torch.from_numpy(y_pred.copy()).requires_grad_(True)
    out = Doubled(**case.smp_args)(x, torch.from_numpy(y_true))
    out.backward()
    np.testing.assert_allclose(out.detach().numpy(), 2 * expected, rtol=1e-6, atol=1e-6)
    scale = max(np.abs(expected_grad).max(), 1e-3)
    np.testing.assert_allclose(x.grad.numpy(), 2 * expected_grad, rtol=1e-4, atol=1e-5 * scale)


def _smp_grad(loss_name: str, args: dict, y_pred: np.ndarray, y_true: np.ndarray,
              upstream: float) -> np.ndarray:
    """smp's gradient with respect to the logits for the upstream gradient ``upstream``."""
    import torch

    from tests.support.oracles import smp_losses

    x = torch.from_numpy(y_pred.copy()).requires_grad_(True)
    t = torch.from_numpy(np.ascontiguousarray(y_true))
    out = getattr(smp_losses(), loss_name)(**args)(x, t)
    (grad,) = torch.autograd.grad(out, x, torch.tensor(upstream, dtype=out.dtype))
    return grad.numpy()


@pytest.mark.parametrize("upstream", [2.5, float("nan")])
@pytest.mark.parametrize("case", [CASES[1], CASES[10], CASES[13]], ids=lambda c: c.id)
def test_host_lane_scales_its_gradient_by_the_upstream_gradient(backend, case, upstream):
    """A scalar loss: the host lane's forward pass computes the gradient for an upstream
    gradient of 1 and the backward pass multiplies (a non-finite one is propagated
    cell by cell instead); smp's gradient for the same upstream gradient."""
    import torch

    y_pred, y_true = case.make(seed=6)
    args = {**case.smp_args, "classes": [0, 2]} if case.mode != "binary" else case.smp_args
    expected = _smp_grad("JaccardLoss", args, y_pred, y_true, upstream)
    x = torch.from_numpy(y_pred.copy()).requires_grad_(True)
    out = anyiou.JaccardLoss(**args)(x, torch.from_numpy(y_true))
    assert type(out.grad_fn).__name__ == "_OverlapLossBackward"
    (grad,) = torch.autograd.grad(out, x, torch.tensor(upstream))
    scale = max(np.abs(np.nan_to_num(expected)).max(), 1e-3)
    np.testing.assert_allclose(grad.numpy(), expected, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.parametrize("case", [CASES[0], CASES[7], CASES[11]], ids=lambda c: c.id)
def test_host_lane_hands_over_a_gradient_of_the_callers_own(backend, case):
    """The first backward pass hands the forward pass's gradient over (upstream gradient
    1); what the caller then does with it (accumulating ``.grad`` over more backward
    passes) changes neither the gradients handed out before nor those rebuilt after:
    each is smp's."""
    import torch

    y_pred, y_true = case.make(seed=9)
    expected = _smp_grad("DiceLoss", case.smp_args, y_pred, y_true, 1.0)
    x = torch.from_numpy(y_pred.copy()).requires_grad_(True)
    out = anyiou.DiceLoss(**case.smp_args)(x, torch.from_numpy(y_true))
    assert type(out.grad_fn).__name__ == "_OverlapLossBackward"
    (first,) = torch.autograd.grad(out, x, retain_graph=True)  # handed over
    kept = first.clone()
    out.backward(retain_graph=True)  # rebuilt, becomes x.grad
    out.backward()  # accumulated into x.grad in place
    scale = max(np.abs(expected).max(), 1e-3)
    np.testing.assert_allclose(first.numpy(), expected, rtol=1e-4, atol=1e-5 * scale)
    np.testing.assert_array_equal(first.numpy(), kept.numpy())
    np.testing.assert_allclose(x.grad.numpy(), 2 * expected, rtol=1e-4, atol=2e-5 * scale)


@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("case", [CASES[1], CASES[12]], ids=lambda c: c.id)
def test_host_lane_gradient_of_unreduced_losses(backend, case, per_image):
    """``reduction="none"``: the gradient of ``sum(G * losses)`` for a random (C,) or
    (N, C) ``G`` is smp's: the sum over classes j (and images n) of ``G_j`` times smp's
    gradient of the loss of class j alone (``classes=[j]``, image n alone)."""
    import torch

    y_pred, y_true = case.make(seed=8)
    n, c = y_pred.shape[:2]
    weights = np.random.default_rng(2).normal(size=(n, c) if per_image else (c,))
    expected = np.zeros_like(y_pred)
    for i in range(n) if per_image else [None]:
        rows = slice(None) if i is None else slice(i, i + 1)
        for j in range(c):
            g = weights[j] if i is None else weights[i, j]
            expected[rows] += g * _smp_grad("DiceLoss", {**case.smp_args, "classes": [j]},
                                            y_pred[rows], y_true[rows], 1.0)
    x = torch.from_numpy(y_pred.copy()).requires_grad_(True)
    loss = anyiou.DiceLoss(**case.smp_args, reduction="none", per_image=per_image)
    out = loss(x, torch.from_numpy(y_true))
    assert type(out.grad_fn).__name__ == "_OverlapLossBackward"
    assert out.shape == weights.shape
    (grad,) = torch.autograd.grad(out, x, torch.from_numpy(weights.astype(np.float32)))
    scale = max(np.abs(expected).max(), 1e-3)
    np.testing.assert_allclose(grad.numpy(), expected, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.parametrize("case", [CASES[0], CASES[10]], ids=lambda c: c.id)
def test_host_lane_half_precision(backend, case):
    """float16 logits take the host lane (float32 sums, a float16 gradient); bfloat16
    targets, which NumPy cannot read, take the whole-batch kernels: smp's value and
    gradient on the same values in float32."""
    import torch

    y_pred, y_true = case.make(seed=9)
    y_pred = y_pred.astype(np.float16).astype(np.float32)
    expected, expected_grad = smp_value_and_grad("DiceLoss", case.smp_args, y_pred, y_true)
    x = torch.from_numpy(y_pred).to(torch.float16).requires_grad_(True)
    t = torch.from_numpy(y_true)
    if t.dtype.is_floating_point:
        t = t.to(torch.bfloat16)  # the soft targets' draws are not all bfloat16 values
        expected, expected_grad = smp_value_and_grad(
            "DiceLoss", case.smp_args, y_pred, t.float().numpy())
    out = anyiou.DiceLoss(**case.smp_args)(x, t)
    out.backward()
    assert out.dtype == torch.float32 and x.grad.dtype == torch.float16
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-6, atol=1e-6)
    scale = max(np.abs(expected_grad).max(), 1e-3)
    np.testing.assert_allclose(x.grad.float().numpy(), expected_grad, rtol=1e-2,
                               atol=1e-3 * scale)
