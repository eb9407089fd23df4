"""Forward-mode autodiff of the losses on torch, against smp 0.6.0 under the same
transform: ``torch.func.jvp``, ``jacfwd``, ``hessian`` (forward over reverse) and
``jacrev`` of ``jacfwd`` (reverse over forward), and ``torch.autograd.forward_ad`` dual
tensors, for each loss in binary, multiclass and multilabel mode, from logits and from
probabilities, with ignored pixels and with soft targets (tangents of the targets).

Small float64 inputs: the fused torch kernels' ``jvp`` rules must give smp's
derivatives to rounding."""

from __future__ import annotations

import numpy as np
import pytest

import anyiou
from tests.support.cases import TRANSFORM_LOSS_IDS as LOSS_IDS
from tests.support.cases import TRANSFORM_LOSSES as LOSSES
from tests.support.cases import Case
from tests.support.oracles import smp_losses

pytestmark = pytest.mark.only_backends("torch")

CASES = [
    Case("bin", "binary", (2, 1, 3, 3), "hard"),
    Case("bin-ign", "binary", (2, 1, 3, 3), "hard", {"ignore_index": -1}, void=-1),
    Case("bin-probs", "binary", (2, 1, 3, 3), "hard", probs=True),
    Case("mc", "multiclass", (2, 3, 3, 3), "labels"),
    Case("mc-ign", "multiclass", (2, 3, 3, 3), "labels", {"ignore_index": 255}, void=255),
    Case("mc-probs", "multiclass", (2, 3, 3, 3), "labels", probs=True),
    Case("ml", "multilabel", (2, 3, 3, 3), "hard"),
    Case("ml-ign", "multilabel", (2, 3, 3, 3), "hard", {"ignore_index": -1}, void=-1),
    Case("ml-probs", "multilabel", (2, 3, 3, 3), "hard", probs=True),
]
SOFT = [
    Case("bin-soft", "binary", (2, 1, 3, 3), "soft"),
    Case("ml-soft", "multilabel", (2, 3, 3, 3), "soft"),
    Case("ml-soft-ign", "multilabel", (2, 3, 3, 3), "soft", {"ignore_index": -1}, void=-1),
]
TOL = {"rtol": 1e-7, "atol": 1e-10}
TOL32 = {"rtol": 2e-5, "atol": 1e-6}  # smp's Lovasz: float32 only


def _tol(name: str, case: Case) -> dict:
    return TOL32 if name == "LovaszLoss" else TOL


def _setup(torch, name: str, opts: dict, case: Case, seed: int = 3):
    """(anyiou loss fn, smp loss fn, prediction, target, tangent of the prediction):
    float64 tensors; the loss fns take (prediction, target)."""
    x, y = case.make(seed=seed, dtype=np.float64)
    args = {**case.smp_args, **opts}
    ours = getattr(anyiou, name)(**args)
    theirs = getattr(smp_losses(), name)(**args)
    if _tol(name, case) is TOL32:  # smp's Lovasz casts the labels to float32
        smp_lovasz = theirs

        def theirs(z, t):
            return smp_lovasz(z.float(), t if case.mode == "multiclass" else t.float()).double()
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    if case.probs:  # a tangent that keeps the probabilities a distribution / in (0, 1)
        dx = torch.from_numpy(np.random.default_rng(seed + 1).normal(size=x.shape))
        dx = dx - dx.mean(dim=1, keepdim=True) if case.mode == "multiclass" else dx
    else:
        dx = torch.from_numpy(np.random.default_rng(seed + 1).normal(size=x.shape))
    return ours, theirs, tx, ty, dx


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
@pytest.mark.parametrize(("name", "opts"), LOSSES, ids=LOSS_IDS)
def test_func_jvp_matches_smp(backend, name, opts, case):
    torch = backend.lib
    ours, theirs, x, y, dx = _setup(torch, name, opts, case)
    value, tangent = torch.func.jvp(lambda z: ours(z, y), (x,), (dx,))
    want_value, want_tangent = torch.func.jvp(lambda z: theirs(z, y), (x,), (dx,))
    np.testing.assert_allclose(value.numpy(), want_value.numpy(), **_tol(name, case))
    np.testing.assert_allclose(tangent.numpy(), want_tangent.numpy(), **_tol(name, case))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
@pytest.mark.parametrize(("name", "opts"), LOSSES, ids=LOSS_IDS)
def test_forward_ad_dual_tensors_match_smp(backend, name, opts, case):
    """``torch.autograd.forward_ad``: plain dual tensors (no functorch wrapper)."""
    torch = backend.lib
    fwad = torch.autograd.forward_ad
    ours, theirs, x, y, dx = _setup(torch, name, opts, case)
    with fwad.dual_level():
        got = fwad.unpack_dual(ours(fwad.make_dual(x, dx), y))
        want = fwad.unpack_dual(theirs(fwad.make_dual(x, dx), y))
    np.testing.assert_allclose(got.primal.numpy(), want.primal.numpy(), **_tol(name, case))
    np.testing.assert_allclose(got.tangent.numpy(), want.tangent.numpy(), **_tol(name, case))


def test_forward_ad_then_backward_matches_smp(backend):
    """A dual tensor that also requires grad: the tangent, then ``.backward()`` (the
    in-place gradient path) on the same graph."""
    torch = backend.lib
    fwad = torch.autograd.forward_ad
    for name, opts in LOSSES:
        for case in (CASES[4], CASES[7]):
            ours, theirs, x, y, dx = _setup(torch, name, opts, case)
            results = []
            for fn in (ours, theirs):
                z = x.clone().requires_grad_(True)
                with fwad.dual_level():
                    out = fn(fwad.make_dual(z, dx), y)
                    tangent = fwad.unpack_dual(out).tangent
                out.backward()
                results.append((tangent.detach().numpy(), z.grad.numpy()))
            for got, want in zip(*results, strict=True):
                np.testing.assert_allclose(got, want, **_tol(name, case))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
@pytest.mark.parametrize(("name", "opts"), LOSSES, ids=LOSS_IDS)
def test_jacfwd_matches_smp(backend, name, opts, case):
    torch = backend.lib
    ours, theirs, x, y, _ = _setup(torch, name, opts, case)
    got = torch.func.jacfwd(lambda z: ours(z, y))(x)
    want = torch.func.jacfwd(lambda z: theirs(z, y))(x)
    np.testing.assert_allclose(got.numpy(), want.numpy(), **_tol(name, case))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
@pytest.mark.parametrize(("name", "opts"), LOSSES, ids=LOSS_IDS)
def test_hessian_matches_smp(backend, name, opts, case):
    """``torch.func.hessian`` (forward over reverse); the Lovasz hinge is piecewise
    linear (a zero Hessian, as smp's)."""
    torch = backend.lib
    ours, theirs, x, y, _ = _setup(torch, name, opts, case)
    got = torch.func.hessian(lambda z: ours(z, y))(x)
    want = torch.func.hessian(lambda z: theirs(z, y))(x)
    assert got.shape == x.shape * 2
    np.testing.assert_allclose(got.numpy(), want.numpy(), **_tol(name, case))


@pytest.mark.parametrize("case", [CASES[1], CASES[4], CASES[7]], ids=lambda c: c.id)
@pytest.mark.parametrize(("name", "opts"), LOSSES, ids=LOSS_IDS)
def test_reverse_over_forward_hessian_matches_smp(backend, name, opts, case):
    """``jacrev(jacfwd(f))``: the ``jvp`` rules' tangents are differentiated in reverse."""
    torch = backend.lib
    ours, theirs, x, y, _ = _setup(torch, name, opts, case)
    got = torch.func.jacrev(torch.func.jacfwd(lambda z: ours(z, y)))(x)
    want = torch.func.hessian(lambda z: theirs(z, y))(x)
    np.testing.assert_allclose(got.numpy(), want.numpy(), **_tol(name, case))


@pytest.mark.parametrize("case", SOFT, ids=lambda c: c.id)
@pytest.mark.parametrize(("name", "opts"), LOSSES, ids=LOSS_IDS)
def test_jvp_in_prediction_and_soft_target_matches_smp(backend, name, opts, case):
    """Tangents of both arguments (soft targets are differentiable in smp); functorch
    and dual tensors."""
    torch = backend.lib
    fwad = torch.autograd.forward_ad
    ours, theirs, x, y, dx = _setup(torch, name, opts, case)
    dy = torch.from_numpy(np.random.default_rng(8).normal(size=y.shape))
    if case.void is not None:
        dy = torch.where(y == case.void, 0, dy)  # the ignore label stays put
    got = torch.func.jvp(ours, (x, y), (dx, dy))
    want = torch.func.jvp(theirs, (x, y), (dx, dy))
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), **_tol(name, case))
    with fwad.dual_level():
        dual = fwad.unpack_dual(ours(fwad.make_dual(x, dx), fwad.make_dual(y, dy)))
    np.testing.assert_allclose(dual.tangent.numpy(), want[1].numpy(), **_tol(name, case))


@pytest.mark.parametrize(("name", "opts"), LOSSES, ids=LOSS_IDS)
def test_vmap_of_jvp_per_sample_matches_smp(backend, name, opts):
    """Per-sample tangents (``vmap`` over ``jvp``): the ``jvp`` rules under the
    generated batching rules."""
    torch = backend.lib
    case = CASES[4]
    extra = {"per_image": True} if name == "LovaszLoss" else {}  # vmap: docs/errors.md
    ours, theirs, x, y, dx = _setup(torch, name, {**opts, **extra}, case)

    def per_sample(fn):
        return lambda z, t, d: torch.func.jvp(lambda u: fn(u[None], t[None]), (z,), (d,))[1]

    got = torch.func.vmap(per_sample(ours))(x, y, dx)
    want = torch.stack([per_sample(theirs)(x[i], y[i], dx[i]) for i in range(len(x))])
    np.testing.assert_allclose(got.numpy(), want.numpy(), **_tol(name, case))
