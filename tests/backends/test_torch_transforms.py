"""Every torch transform on the core losses, against smp 0.6.0 or finite differences:
``torch.compile(fullgraph=True)`` of a model + loss + backward step, ``torch.func.grad``,
``torch.func.vmap``, ``torch.func.jacrev``, double backward (a gradient penalty),
``torch.autocast``, TorchScript, and pickling / ``copy.deepcopy`` of the losses."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import anyiou
from anyiou.distributed import jax_sync, torch_sync
from tests.support.cases import TRANSFORM_LOSS_IDS as LOSS_IDS
from tests.support.cases import TRANSFORM_LOSSES as LOSSES
from tests.support.cases import Case
from tests.support.oracles import smp_losses, smp_value_and_grad

pytestmark = [
    pytest.mark.only_backends("torch"),
    # the traced path reaches no lru_cache-wrapped helper (test_torch_compile.py)
    pytest.mark.filterwarnings("error:Dynamo detected a call to a `functools.lru_cache`"),
]

IGNORED = [
    Case("bin-ign", "binary", (2, 1, 8, 8), "hard", {"ignore_index": -1}, void=-1),
    Case("mc-ign", "multiclass", (2, 3, 8, 8), "labels", {"ignore_index": 255}, void=255),
    Case("ml-ign", "multilabel", (2, 3, 8, 8), "hard", {"ignore_index": -1}, void=-1),
]
MODES = [
    Case("bin", "binary", (2, 1, 8, 8), "hard"),
    Case("mc", "multiclass", (2, 3, 8, 8), "labels"),
    Case("ml", "multilabel", (2, 3, 8, 8), "hard"),
    *IGNORED,
]


def _pair(torch, case: Case, seed: int = 3, dtype=np.float32):
    x, y = case.make(seed=seed, dtype=dtype)
    return x, y, torch.from_numpy(x), torch.from_numpy(y)


def _losses(name: str, opts: dict, case: Case, **extra):
    """(anyiou loss, smp loss) built with the same arguments."""
    args = {**case.smp_args, **opts}
    return getattr(anyiou, name)(**args, **extra), getattr(smp_losses(), name)(**args)


def _smp_target(torch, y: np.ndarray):
    t = torch.from_numpy(y)
    return t.long() if t.dtype != torch.float32 and t.dtype != torch.float64 else t


# -- torch.compile ----------------------------------------------------------------------


def _step_results(torch, criterion, images, target, channels, compile_backend=None):
    """Loss and conv parameter gradients of one step (model + loss + backward), with the
    step compiled by ``torch.compile(fullgraph=True)`` when ``compile_backend`` is set."""
    torch.manual_seed(0)
    model = torch.nn.Conv2d(3, channels, kernel_size=1)

    def step(images, target):
        loss = criterion(model(images), target)
        loss.backward()
        return loss.detach()

    if compile_backend is not None:
        torch._dynamo.reset()
        with torch._dynamo.config.patch(trace_autograd_ops=True):
            value = torch.compile(step, fullgraph=True, backend=compile_backend)(images, target)
        torch._dynamo.reset()
    else:
        value = step(images, target)
    return value, model.weight.grad, model.bias.grad


@pytest.mark.slow  # torch.compile: dynamo + aot_eager, seconds per case
@pytest.mark.parametrize("case", IGNORED, ids=lambda c: c.id)
@pytest.mark.parametrize(("loss_name", "opts"), LOSSES, ids=LOSS_IDS)
def test_compile_fullgraph_step_matches_eager_and_smp(backend, loss_name, opts, case):
    torch = backend.lib
    _, y, _, _ = _pair(torch, case)
    images = torch.from_numpy(np.random.default_rng(5).normal(size=(2, 3, 8, 8)).astype("f4"))
    loss, smp_loss = _losses(loss_name, opts, case)
    channels = case.pred_shape[1]
    compiled = _step_results(torch, loss, images, torch.from_numpy(y), channels, "aot_eager")
    eager = _step_results(torch, loss, images, torch.from_numpy(y), channels)
    oracle = _step_results(torch, smp_loss, images, _smp_target(torch, y), channels)
    for got, want, ref in zip(compiled, eager, oracle, strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.slow  # inductor generates and compiles C++ kernels: minutes on a small CPU
def test_compile_inductor_multiclass_matches_smp(backend):
    """One case through inductor (generated kernels), the others through aot_eager."""
    torch = backend.lib
    case = IGNORED[1]
    _, y, _, _ = _pair(torch, case)
    images = torch.from_numpy(np.random.default_rng(6).normal(size=(2, 3, 8, 8)).astype("f4"))
    loss, smp_loss = _losses("JaccardLoss", {}, case)
    compiled = _step_results(torch, loss, images, torch.from_numpy(y), 3, "inductor")
    oracle = _step_results(torch, smp_loss, images, _smp_target(torch, y), 3)
    for got, ref in zip(compiled, oracle, strict=True):
        np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.slow  # torch.compile
def test_value_checks_skipped_while_compiling(backend):
    """Compiled, an out-of-range label is not checked (no error, no graph break); the
    result is the documented one: a pixel of no class, like smp's zero one-hot row."""
    torch = backend.lib
    case = MODES[1]
    x, y, tx, _ = _pair(torch, case)
    y[0, 0, 0] = 7
    loss = anyiou.JaccardLoss("multiclass")
    with pytest.raises(ValueError, match="y_true"):
        loss(tx, torch.from_numpy(y))
    torch._dynamo.reset()
    got = torch.compile(loss, fullgraph=True, backend="aot_eager")(tx, torch.from_numpy(y))
    torch._dynamo.reset()
    # smp cannot one-hot label 7; its multilabel loss on softmax probabilities and a
    # one-hot target with a zero row there is the documented result
    onehot = (y[:, None] == np.arange(3)[None, :, None, None]).astype(np.float32)
    ref = smp_losses().JaccardLoss("multilabel", from_logits=False)
    expected = ref(torch.softmax(tx, dim=1), torch.from_numpy(onehot))
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5)


# -- torch.func -------------------------------------------------------------------------


@pytest.mark.parametrize("case", MODES, ids=lambda c: c.id)
@pytest.mark.parametrize(("loss_name", "opts"), LOSSES, ids=LOSS_IDS)
def test_func_grad_matches_smp(backend, loss_name, opts, case):
    torch = backend.lib
    x, y, tx, ty = _pair(torch, case)
    loss, _ = _losses(loss_name, opts, case)
    want_value, want_grad = smp_value_and_grad(loss_name, {**case.smp_args, **opts}, x, y)
    grad, value = torch.func.grad_and_value(lambda z: loss(z, ty))(tx)
    np.testing.assert_allclose(value.numpy(), want_value, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad.numpy(), want_grad, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("case", MODES, ids=lambda c: c.id)
@pytest.mark.parametrize(("loss_name", "opts"), LOSSES, ids=LOSS_IDS)
def test_vmap_per_sample_equals_loop_over_smp(backend, loss_name, opts, case):
    torch = backend.lib
    x, y, tx, ty = _pair(torch, case)
    loss, smp_loss = _losses(loss_name, opts, case)
    got = torch.func.vmap(lambda z, t: loss(z[None], t[None]))(tx, ty)
    want = [smp_loss(tx[i : i + 1], _smp_target(torch, y[i : i + 1])) for i in range(len(x))]
    np.testing.assert_allclose(got.numpy(), torch.stack(want).numpy(), rtol=1e-5, atol=1e-6)
    # and the per-sample gradients: vmap of grad
    grads = torch.func.vmap(torch.func.grad(lambda z, t: loss(z[None], t[None])))(tx, ty)
    for i in range(len(x)):
        _, want_grad = smp_value_and_grad(
            loss_name, {**case.smp_args, **opts}, x[i : i + 1], y[i : i + 1]
        )
        np.testing.assert_allclose(grads[i].numpy(), want_grad[0], rtol=1e-4, atol=1e-7)


def _small(case: Case) -> Case:
    """The case on 3x3 images (finite differences take two calls per input)."""
    return Case(case.id, case.mode, case.pred_shape[:2] + (3, 3), case.target, case.options,
                void=case.void)


def _finite_difference_jacobian(fn, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of ``fn`` (float64 NumPy -> NumPy): (*out, *x.shape)."""
    flat = x.reshape(-1)
    cols = []
    for k in range(flat.size):
        up, down = flat.copy(), flat.copy()
        up[k] += h
        down[k] -= h
        cols.append((fn(up.reshape(x.shape)) - fn(down.reshape(x.shape))) / (2 * h))
    jac = np.stack(cols, axis=-1)
    return jac.reshape(jac.shape[:-1] + x.shape)


@pytest.mark.parametrize("case", IGNORED, ids=lambda c: c.id)
@pytest.mark.parametrize(("loss_name", "opts"), LOSSES[:3], ids=LOSS_IDS[:3])
def test_jacrev_of_per_class_losses_matches_finite_differences(backend, loss_name, opts, case):
    torch = backend.lib
    small = _small(case)
    x, y, tx, ty = _pair(torch, small, dtype=np.float64)
    loss = getattr(anyiou, loss_name)(**small.smp_args, **opts, reduction="none")
    jac = torch.func.jacrev(lambda z: loss(z, ty))(tx)
    expected = _finite_difference_jacobian(lambda a: loss(torch.from_numpy(a), ty).numpy(), x)
    np.testing.assert_allclose(jac.numpy(), expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("case", IGNORED, ids=lambda c: c.id)
def test_jacrev_lovasz_matches_smp_gradient(backend, case):
    torch = backend.lib
    x, y, tx, ty = _pair(torch, case)
    loss, _ = _losses("LovaszLoss", {}, case)
    jac = torch.func.jacrev(lambda z: loss(z, ty))(tx)
    _, want_grad = smp_value_and_grad("LovaszLoss", case.smp_args, x, y)
    np.testing.assert_allclose(jac.numpy(), want_grad, rtol=1e-4, atol=1e-7)


# -- double backward ----------------------------------------------------------------------


def _penalty_grads(torch, loss_fn, x: np.ndarray, target, weights: np.ndarray):
    """First gradient g of the loss, and the gradient of the penalty sum(w * g**2)."""
    z = torch.from_numpy(x.copy()).requires_grad_(True)
    (g,) = torch.autograd.grad(loss_fn(z, target), z, create_graph=True)
    if not g.requires_grad:  # piecewise-linear loss (Lovasz hinge): no second order
        return g.detach().numpy(), np.zeros_like(x)
    (gg,) = torch.autograd.grad((torch.from_numpy(weights) * g**2).sum(), z)
    return g.detach().numpy(), gg.numpy()


@pytest.mark.parametrize("case", MODES, ids=lambda c: c.id)
@pytest.mark.parametrize(("loss_name", "opts"), LOSSES, ids=LOSS_IDS)
def test_double_backward_matches_smp(backend, loss_name, opts, case):
    torch = backend.lib
    x, y, _, ty = _pair(torch, case)
    weights = np.random.default_rng(9).random(x.shape).astype(np.float32)
    loss, smp_loss = _losses(loss_name, opts, case)
    g, gg = _penalty_grads(torch, loss, x, ty, weights)
    want_g, want_gg = _penalty_grads(torch, smp_loss, x, _smp_target(torch, y), weights)
    np.testing.assert_allclose(g, want_g, rtol=1e-4, atol=1e-7)
    scale = max(np.abs(want_gg).max(), 1e-12)
    np.testing.assert_allclose(gg / scale, want_gg / scale, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize(
    "case",
    [*(_small(c) for c in IGNORED), Case("bin-soft", "binary", (2, 1, 3, 3), "soft"),
     Case("ml-soft-ign", "multilabel", (2, 3, 3, 3), "soft", {"ignore_index": -1}, void=-1)],
    ids=lambda c: c.id,
)
def test_gradgradcheck_float64(backend, case):
    """Second derivatives against finite differences of the first (torch.autograd)."""
    torch = backend.lib
    _, _, tx, ty = _pair(torch, case, dtype=np.float64)
    loss = anyiou.TverskyLoss(**case.smp_args, alpha=0.3, beta=0.7, per_image=True)
    x = tx.requires_grad_(True)
    assert torch.autograd.gradgradcheck(lambda p: loss(p, ty), (x,), eps=1e-6, atol=1e-5)
    assert torch.autograd.gradcheck(
        lambda p: loss(p, ty), (x,), eps=1e-6, atol=1e-6, check_batched_grad=True
    )


@pytest.mark.parametrize("case", [IGNORED[1], IGNORED[2]], ids=lambda c: c.id)
def test_plain_backward_keeps_the_in_place_path(backend, case, monkeypatch):
    """``.backward()`` must not take the out-of-place (differentiable) gradient path, which
    costs logits-sized temporaries; ``create_graph=True`` must. Gradients equal smp's."""
    torch = backend.lib
    from anyiou._lib.kernels import _torch, _torch_sigmoid

    calls = []
    for module, name in ((_torch, "_softmax_grad"), (_torch_sigmoid, "_sigmoid_grads")):
        original = getattr(module, name)
        monkeypatch.setattr(
            module, name, lambda *a, _f=original, _n=name: calls.append(_n) or _f(*a)
        )
    x, y, _, ty = _pair(torch, case)
    loss, _ = _losses("JaccardLoss", {}, case)
    z = torch.from_numpy(x.copy()).requires_grad_(True)
    loss(z, ty).backward()
    assert calls == []
    _, want_grad = smp_value_and_grad("JaccardLoss", case.smp_args, x, y)
    np.testing.assert_allclose(z.grad.numpy(), want_grad, rtol=1e-4, atol=1e-7)
    (g,) = torch.autograd.grad(loss(z, ty), z, create_graph=True)
    assert len(calls) == 1 and g.requires_grad
    np.testing.assert_allclose(g.detach().numpy(), want_grad, rtol=1e-4, atol=1e-7)


# -- autocast -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", MODES, ids=lambda c: c.id)
@pytest.mark.parametrize(("loss_name", "opts"), LOSSES, ids=LOSS_IDS)
def test_autocast_bfloat16_close_to_smp_float32(backend, loss_name, opts, case):
    torch = backend.lib
    _, y, _, ty = _pair(torch, case)
    images = torch.from_numpy(np.random.default_rng(7).normal(size=(2, 3, 8, 8)).astype("f4"))
    loss, smp_loss = _losses(loss_name, opts, case)
    torch.manual_seed(0)
    model = torch.nn.Conv2d(3, case.pred_shape[1], kernel_size=1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(images)
        value = loss(logits, ty)
    assert logits.dtype == torch.bfloat16 and value.dtype == torch.float32
    value.backward()
    got_grad = model.weight.grad.clone()
    model.zero_grad()
    want = smp_loss(model(images), _smp_target(torch, y))
    want.backward()
    np.testing.assert_allclose(value.item(), want.item(), rtol=2e-2, atol=2e-2)
    scale = max(model.weight.grad.abs().max().item(), 1e-6)
    np.testing.assert_allclose(
        got_grad.numpy() / scale, model.weight.grad.numpy() / scale, atol=5e-2
    )


# -- TorchScript ------------------------------------------------------------------------------


@pytest.mark.parametrize(("loss_name", "opts"), LOSSES, ids=LOSS_IDS)
def test_torchscript_script_is_refused_and_trace_matches_smp(backend, loss_name, opts):
    """``torch.jit.script`` cannot compile array-API code: it raises (docs/errors.md);
    ``torch.jit.trace`` records the eager ops (value checks skipped) and runs new inputs."""
    torch = backend.lib
    case = IGNORED[1]
    x, y, tx, ty = _pair(torch, case)
    loss, smp_loss = _losses(loss_name, opts, case)
    with pytest.raises(RuntimeError, match="torch.jit.script.*torch.compile"):
        torch.jit.script(loss)
    traced = torch.jit.trace(lambda z: loss(z, ty), (tx,), check_trace=False)
    x2, _ = case.make(seed=11)
    want = smp_loss(torch.from_numpy(x2), ty)
    np.testing.assert_allclose(traced(torch.from_numpy(x2)).numpy(), want.numpy(), rtol=1e-5)


# -- pickling and deepcopy ------------------------------------------------------------------


@pytest.mark.parametrize(
    "sync", [None, torch_sync(), jax_sync("batch")], ids=["none", "torch_sync", "jax_sync"]
)
@pytest.mark.parametrize(("loss_name", "opts"), LOSSES, ids=LOSS_IDS)
def test_pickle_and_deepcopy_round_trips_give_smp_values(backend, loss_name, opts, sync):
    torch = backend.lib
    case = IGNORED[1]
    x, y, tx, ty = _pair(torch, case)
    extra = {} if sync is None or loss_name == "LovaszLoss" else {"sync": sync}
    loss, smp_loss = _losses(loss_name, opts, case, **extra)
    want = smp_loss(tx, ty).numpy()
    for clone in (pickle.loads(pickle.dumps(loss)), copy.deepcopy(loss), copy.copy(loss)):
        assert type(clone) is type(loss) and repr(clone) == repr(loss)
        if "sync" in extra:
            assert clone.sync == sync
            clone.sync = None  # no process group here: tests/distributed runs the hook
        np.testing.assert_allclose(clone(tx, ty).numpy(), want, rtol=1e-5, atol=1e-6)
