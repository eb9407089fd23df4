"""The Lovasz kernels (torch, JAX): both torch paths (one radix sort per row, all rows
at once) against smp, values at tied errors against smp and the pure array-API path, the
documented order of tied pixels (gradient by hand), repeated backward passes, gradients
with respect to soft targets."""

from __future__ import annotations

import numpy as np
import pytest

from anyiou import LovaszLoss
from anyiou._lib import kernels
from tests.support.cases import Case
from tests.support.oracles import smp_value_and_grad

ROW_CASES = [
    Case("bin", "binary", (2, 1, 6, 5)),
    Case("bin-soft-ignore", "binary", (2, 1, 6, 5), "soft", {"ignore_index": 255}, void=255),
    Case("bin-per-image-ignore", "binary", (2, 1, 6, 5), options={"ignore_index": -1,
                                                                   "per_image": True}, void=-1),
    Case("ml-ignore", "multilabel", (2, 3, 6, 5), options={"ignore_index": 255}, void=255),
    Case("mc", "multiclass", (2, 4, 6, 5), "labels"),
    Case("mc-ignore", "multiclass", (2, 4, 6, 5), "labels", {"ignore_index": 255}, void=255),
    Case("mc-ignore-per-image", "multiclass", (2, 4, 6, 5), "labels",
         {"ignore_index": 255, "per_image": True}, void=255),
]


def _assert_smp(backend, case: Case, y_pred, y_true, grad: bool = True) -> None:
    expected, expected_grad = smp_value_and_grad("LovaszLoss", case.smp_args, y_pred, y_true)
    loss = LovaszLoss(**case.smp_args)
    t = backend.asarray(y_true)
    value, got_grad = backend.value_and_grad(lambda p: loss(p, t), y_pred)
    np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-6)
    if grad:
        scale = max(np.abs(expected_grad).max(), 1e-3)
        np.testing.assert_allclose(got_grad, expected_grad, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.only_backends("torch")
@pytest.mark.parametrize("rows", [True, False], ids=["radix-rows", "vectorised"])
@pytest.mark.parametrize("case", ROW_CASES, ids=lambda c: c.id)
def test_torch_paths_match_smp(backend, case: Case, rows: bool, monkeypatch):
    from anyiou._lib.kernels import _lovasz_torch

    monkeypatch.setattr(_lovasz_torch, "ROW_LOOP_MIN", 1 if rows else 1 << 62)
    y_pred, y_true = case.make(seed=5)
    _assert_smp(backend, case, y_pred, y_true)


@pytest.mark.only_backends("jax")
@pytest.mark.parametrize("platform", ["cpu", "gpu"])
def test_jax_rows_loop_on_the_cpu_only(backend, platform, monkeypatch):
    """On an accelerator all rows are sorted in one launch: no device loop (``scan``,
    ``while``) over the rows in the program, whatever the row length; on the CPU long rows are
    sorted one after the other. The value is smp's either way."""
    import jax

    from anyiou._lib.kernels import _lovasz_jax

    monkeypatch.setattr(_lovasz_jax, "ROW_MAP_MIN", 1)
    monkeypatch.setattr(_lovasz_jax.jax, "default_backend", lambda: platform)
    case = next(c for c in ROW_CASES if c.id == "mc")  # several rows: one per class
    y_pred, y_true = case.make(seed=5)
    loss = LovaszLoss(**case.smp_args)
    t = backend.asarray(y_true)
    program = str(jax.make_jaxpr(jax.value_and_grad(lambda p: loss(p, t)))(
        backend.asarray(y_pred)))
    looped = "scan[" in program or "while[" in program
    assert looped == (platform == "cpu")
    expected, _ = smp_value_and_grad("LovaszLoss", case.smp_args, y_pred, y_true)
    value = jax.jit(lambda p: loss(p, t))(backend.asarray(y_pred))
    np.testing.assert_allclose(np.asarray(value), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.only_backends("jax")
@pytest.mark.parametrize("one_by_one", [True, False], ids=["row-map", "all-rows"])
@pytest.mark.parametrize("case", ROW_CASES, ids=lambda c: c.id)
def test_jax_paths_match_smp(backend, case: Case, one_by_one: bool, monkeypatch):
    import jax

    from anyiou._lib.kernels import _lovasz_jax

    monkeypatch.setattr(_lovasz_jax, "ROW_MAP_MIN", 1 if one_by_one else 1 << 62)
    y_pred, y_true = case.make(seed=5)
    expected, expected_grad = smp_value_and_grad("LovaszLoss", case.smp_args, y_pred, y_true)
    loss = LovaszLoss(**case.smp_args)
    t = backend.asarray(y_true)
    value, grad = jax.jit(jax.value_and_grad(lambda p: loss(p, t)))(backend.asarray(y_pred))
    np.testing.assert_allclose(np.asarray(value), expected, rtol=1e-6, atol=1e-6)
    scale = max(np.abs(expected_grad).max(), 1e-3)
    np.testing.assert_allclose(np.asarray(grad), expected_grad, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.only_backends("jax")
@pytest.mark.parametrize("per_image", [True, False], ids=["per-image", "batch"])
def test_jax_row_map_under_vmap_and_forward_mode(backend, per_image, monkeypatch):
    """The row-by-row paths (per image; per class over the batch) under vmap and jvp
    equal the pure composition."""
    import jax

    from anyiou._lib.kernels import _lovasz_jax

    monkeypatch.setattr(_lovasz_jax, "ROW_MAP_MIN", 1)
    rng = np.random.default_rng(6)
    x = backend.asarray(rng.normal(size=(3, 2, 4, 5, 6)).astype(np.float32))
    y = backend.asarray(rng.integers(0, 4, (3, 2, 5, 6)))
    v = backend.asarray(rng.normal(size=(2, 4, 5, 6)).astype(np.float32))
    loss = LovaszLoss("multiclass", per_image=per_image)

    def both():
        return (jax.jit(jax.vmap(loss))(x, y),
                jax.jvp(lambda a: loss(a, y[0]), (x[0],), (v,))[1])

    got = both()
    monkeypatch.setattr(kernels, "USE_NATIVE", False)
    want = both()
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def _tied(mode: str, seed: int = 0):
    """Logits from {-1, 0, 1} (and all-zero pixels): many exactly equal errors, also
    between foreground and background pixels."""
    rng = np.random.default_rng(seed)
    c = {"binary": 1, "multilabel": 3, "multiclass": 3}[mode]
    x = rng.integers(-1, 2, (2, c, 4, 5)).astype(np.float32)
    x[:, :, 0] = 0.0  # a row of pixels with the same probabilities for every class
    if mode == "multiclass":
        y = rng.integers(0, c, (2, 4, 5))
    else:
        y = rng.integers(0, 2, x.shape)
    return x, y


@pytest.mark.parametrize("per_image", [False, True], ids=["batch", "per-image"])
@pytest.mark.parametrize("mode", ["binary", "multilabel", "multiclass"])
def test_values_at_ties_match_smp_and_the_pure_path(backend, mode, per_image, monkeypatch):
    x, y = _tied(mode)
    args = {"mode": mode, "per_image": per_image}
    expected, _ = smp_value_and_grad("LovaszLoss", args, x, y)
    loss = LovaszLoss(**args)
    got = backend.to_numpy(loss(backend.asarray(x), backend.asarray(y)))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    monkeypatch.setattr(kernels, "USE_NATIVE", False)
    pure = backend.to_numpy(loss(backend.asarray(x), backend.asarray(y)))
    np.testing.assert_allclose(got, pure, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("native", [True, False], ids=["native", "pure"])
def test_tied_errors_are_ordered_by_position(ad_backend, native, monkeypatch):
    """Three pixels with the same hinge error 1 (logits 0), targets (1, 0, 1): taken in
    position order, J = (1/2, 2/3, 1), weights (1/2, 1/6, 1/3); d error / d z = 1 - 2 g."""
    monkeypatch.setattr(kernels, "USE_NATIVE", native)
    x = np.zeros((1, 1, 1, 3), dtype=np.float32)
    t = ad_backend.asarray(np.array([[[[1, 0, 1]]]]))
    loss = LovaszLoss("binary")
    value, grad = ad_backend.value_and_grad(lambda p: loss(p, t), x)
    np.testing.assert_allclose(value, 1.0, rtol=1e-6)
    np.testing.assert_allclose(grad.reshape(-1), [-1 / 2, 1 / 6, -1 / 3], rtol=1e-6)


@pytest.mark.only_backends("torch")
@pytest.mark.parametrize("rows", [True, False], ids=["radix-rows", "vectorised"])
@pytest.mark.parametrize("mode", ["binary", "multiclass"])
def test_torch_second_backward_with_retain_graph(backend, mode, rows, monkeypatch):
    """The first backward turns the weights into the gradient in place; a second one
    (retain_graph=True) recomputes them."""
    import torch

    from anyiou._lib.kernels import _lovasz_torch

    monkeypatch.setattr(_lovasz_torch, "ROW_LOOP_MIN", 1 if rows else 1 << 62)
    case = Case("c", mode, (2, 3 if mode == "multiclass" else 1, 4, 5),
                "labels" if mode == "multiclass" else "hard")
    y_pred, y_true = case.make(seed=1)
    x = torch.from_numpy(y_pred).requires_grad_(True)
    out = LovaszLoss(mode)(x, torch.from_numpy(y_true))
    out.backward(retain_graph=True)
    first = x.grad.clone()
    out.backward()
    torch.testing.assert_close(x.grad, 2 * first)
    _, expected = smp_value_and_grad("LovaszLoss", {"mode": mode}, y_pred, y_true)
    np.testing.assert_allclose(first.numpy(), expected, rtol=1e-4, atol=1e-6)


@pytest.mark.only_backends("torch")
def test_torch_double_backward_through_the_softmax(backend):
    """create_graph=True: the Lovasz weights are constants, the second derivative comes
    from the softmax; equal to autograd through the pure composition."""
    import torch

    case = Case("c", "multiclass", (1, 3, 2, 3), "labels")
    y_pred, y_true = case.make(seed=2, dtype=np.float64)
    t = torch.from_numpy(y_true)
    v = torch.from_numpy(np.random.default_rng(0).normal(size=y_pred.shape))

    def hvp() -> np.ndarray:
        x = torch.from_numpy(y_pred).requires_grad_(True)
        (g,) = torch.autograd.grad(LovaszLoss("multiclass")(x, t), x, create_graph=True)
        (h,) = torch.autograd.grad((g * v).sum(), x)
        return h.numpy()

    got = hvp()
    kernels.USE_NATIVE = False
    try:
        want = hvp()
    finally:
        kernels.USE_NATIVE = True
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.only_backends("jax")
def test_jax_gradient_with_respect_to_soft_targets(backend, monkeypatch):
    """The weights depend on soft targets: reverse and forward mode with respect to them
    equal JAX's autodiff of the pure composition."""
    import jax

    case = Case("c", "binary", (2, 1, 4, 5), "soft", {"ignore_index": 255}, void=255)
    y_pred, y_true = case.make(seed=4)
    y_true = np.where(y_true == 255, 255.0, y_true).astype(np.float32)
    loss = LovaszLoss(**case.smp_args)
    p, t = backend.asarray(y_pred), backend.asarray(y_true)
    dt = backend.asarray(np.random.default_rng(1).normal(size=y_true.shape).astype(np.float32))
    fn = jax.jit(jax.grad(loss, argnums=(0, 1)))
    got = fn(p, t)
    got_jvp = jax.jvp(lambda tt: loss(p, tt), (t,), (dt,))[1]
    monkeypatch.setattr(kernels, "USE_NATIVE", False)
    want = jax.jit(jax.grad(loss, argnums=(0, 1)))(p, t)
    want_jvp = jax.jvp(lambda tt: loss(p, tt), (t,), (dt,))[1]
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(got_jvp), np.asarray(want_jvp), rtol=1e-5, atol=1e-6)
