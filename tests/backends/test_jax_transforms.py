"""JAX: every transform on every loss and mode (Dice and Tversky, which share Jaccard's rule,
in one case per mode). ``grad``, ``jacrev``, ``jacfwd``, ``jvp``,
``linearize``, ``checkpoint``, ``vmap``, ``hessian``, grad of grad, forward-over-reverse and
``jacrev`` of ``jacrev``, under ``jit`` (and ``jvp``, ``linearize``, grad of grad eagerly), on
JaccardLoss, DiceLoss, TverskyLoss and LovaszLoss (binary with hard and soft targets,
multiclass with and without ignore_index, channels-last multiclass, multilabel with
ignore_index), in float64, against two oracles:

* central finite differences of the loss (first order) and of its gradient (second order);
* JAX's own autodiff of the pure array-API composition (``kernels.USE_NATIVE = False``,
  no custom rule anywhere).

``shard_map`` over 2 host CPU devices (``grad``, ``jvp``, grad of grad and the Hessian of
the global loss) runs in a subprocess, as in tests/distributed/test_jax_shard_map.py.
Generated only in the jax session.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import anyiou
from anyiou._lib import kernels

pytestmark = pytest.mark.only_backends("jax")

H = 1e-5  # central differences in float64: error ~ H**2 (truncation) + 1e-16 / H
FD_TOL = {"rtol": 1e-5, "atol": 1e-7}
AD_TOL = {"rtol": 1e-9, "atol": 1e-12}  # the same derivative by another route
LOSSES = {
    "jaccard": ("JaccardLoss", {}),
    "dice": ("DiceLoss", {"smooth": 1.0}),
    "tversky": ("TverskyLoss", {"alpha": 0.3, "beta": 0.7, "gamma": 1.5}),
    "lovasz": ("LovaszLoss", {}),
}
# name -> (mode, logits shape, options, target kind); every shape has 24 elements
CASES = {
    "binary": ("binary", (2, 1, 4, 3), {}, "hard"),
    "binary_soft": ("binary", (2, 1, 4, 3), {}, "soft"),
    "multiclass": ("multiclass", (2, 3, 2, 2), {}, "labels"),
    "multiclass_ignore": ("multiclass", (2, 3, 2, 2), {"ignore_index": 255}, "labels"),
    "multiclass_last": ("multiclass", (2, 2, 2, 3), {"class_axis": -1}, "labels"),
    "multilabel_ignore": ("multilabel", (2, 3, 2, 2), {"ignore_index": -1}, "hard"),
}
FIRST_ORDER = ("grad", "jacrev", "jacfwd", "jvp", "linearize", "checkpoint_grad")
SECOND_ORDER = ("hessian", "grad_of_grad", "jvp_of_grad", "jacrev_of_jacrev")
# The programs below are large and each runs once: XLA without LLVM's optimization passes
# compiles them about twice as fast (the same IEEE operations, no fast-math).
JIT_OPTIONS = {"xla_backend_optimization_level": 0}


def _data(case: str):
    """float64 logits, a target and a direction ``v`` for directional derivatives."""
    mode, shape, options, kind = CASES[case]
    rng = np.random.default_rng(sum(map(ord, case)))
    x = rng.normal(0, 1.5, shape)
    v = rng.normal(size=shape)
    if kind == "labels":
        c = shape[-1] if options.get("class_axis") == -1 else shape[1]
        spatial = shape[:-1] if options.get("class_axis") == -1 else (shape[0], *shape[2:])
        y = rng.integers(0, c, spatial)
        if "ignore_index" in options:
            y.reshape(-1)[::4] = options["ignore_index"]
    elif kind == "soft":
        y = rng.uniform(0.05, 0.95, shape)
    else:
        y = rng.integers(0, 2, shape)
        if "ignore_index" in options:
            y.reshape(-1)[1::5] = options["ignore_index"]
    return x, y, v


def _loss(loss: str, case: str, **kwargs):
    cls, extra = LOSSES[loss]
    mode, _, options, _ = CASES[case]
    return getattr(anyiou, cls)(mode, **options, **extra, **kwargs)


def _transform(name: str, f, x, v):
    """The derivative ``name`` of the scalar function ``f`` at ``x`` (along ``v`` for the
    directional ones)."""
    import jax
    import jax.numpy as jnp

    g = jax.grad(f)
    runs = {
        "grad": lambda: g(x),
        "jacrev": lambda: jax.jacrev(f)(x),
        "jacfwd": lambda: jax.jacfwd(f)(x),
        "jvp": lambda: jax.jvp(f, (x,), (v,))[1],
        "linearize": lambda: jax.linearize(f, x)[1](v),
        "checkpoint_grad": lambda: jax.grad(jax.checkpoint(f))(x),
        "hessian": lambda: jax.hessian(f)(x),
        "grad_of_grad": lambda: jax.grad(lambda a: jnp.vdot(g(a), v))(x),
        "jvp_of_grad": lambda: jax.jvp(g, (x,), (v,))[1],
        "jacrev_of_jacrev": lambda: jax.jacrev(jax.jacrev(f))(x),
    }
    return runs[name]()


def _expected(name: str, grad: np.ndarray, hessian: np.ndarray, v: np.ndarray) -> np.ndarray:
    """What transform ``name`` gives, from the gradient and the Hessian."""
    if name in ("jvp", "linearize"):
        return np.vdot(grad, v)
    if name in ("grad_of_grad", "jvp_of_grad"):
        return (hessian.reshape(v.size, v.size) @ v.reshape(-1)).reshape(v.shape)
    return hessian if name in SECOND_ORDER else grad


def _shifted(x: np.ndarray) -> np.ndarray:
    """``x`` moved by +H, then -H, along each coordinate: (2 x.size, *x.shape)."""
    steps = np.concatenate([np.eye(x.size), -np.eye(x.size)]) * H
    return x[None] + steps.reshape(2 * x.size, *x.shape)


def _central(at_shifted: np.ndarray, shape: tuple) -> np.ndarray:
    """Central differences from values (or gradients) at `_shifted` points."""
    d = at_shifted.shape[0] // 2
    return ((at_shifted[:d] - at_shifted[d:]) / (2 * H)).reshape(shape + at_shifted.shape[1:])


@functools.cache
def _pure(loss: str, case: str, per_image: bool = False) -> dict:
    """The pure composition's gradient (at x and at -x/2) and Hessian: JAX autodiff with
    no custom rule anywhere."""
    import jax
    import jax.numpy as jnp

    x, y, _ = _data(case)
    fn, t = _loss(loss, case, per_image=per_image), jnp.asarray(y)

    def f(a):
        return fn(a, t)

    def run(a):
        return {"grad": jax.grad(f)(a), "grad_half": jax.grad(f)(-0.5 * a),
                "hessian": jax.hessian(f)(a)}

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kernels, "USE_NATIVE", False)
        return {k: np.asarray(a) for k, a in jax.jit(run, compiler_options=JIT_OPTIONS)(jnp.asarray(x)).items()}


# Dice and Tversky differentiate through Jaccard's custom JVP rule (other weights, and
# Tversky's focal power): each keeps one case per mode, between them every target kind;
# Jaccard and Lovasz (a rule of its own) run every case. Each pair compiles one program.
REPEATS_KEPT = {"dice": ("binary_soft", "multiclass_ignore", "multilabel_ignore"),
                "tversky": ("binary", "multiclass_last", "multilabel_ignore")}
TRANSFORM_CASES = [(loss, case) for loss in LOSSES for case in CASES
                   if case in REPEATS_KEPT.get(loss, CASES)]


@pytest.mark.parametrize(("loss", "case"), TRANSFORM_CASES,
                         ids=[f"{loss}-{case}" for loss, case in TRANSFORM_CASES])
def test_transforms_match_finite_differences_and_plain_autodiff(backend, loss, case):
    """Every transform of FIRST_ORDER and SECOND_ORDER, plus ``vmap`` of ``grad``, in one
    ``jit`` program."""
    import jax
    import jax.numpy as jnp

    x, y, v = _data(case)
    fn, t = _loss(loss, case), jnp.asarray(y)

    def f(a):
        return fn(a, t)

    def run(a, b, shifted):
        out = {name: _transform(name, f, a, b) for name in FIRST_ORDER + SECOND_ORDER}
        # two problems at once: x, and x scaled by -1/2
        out["vmap_grad"] = jax.vmap(jax.grad(f))(jnp.stack([a, -0.5 * a]))
        out["fd_values"] = jax.vmap(f)(shifted)
        out["fd_grads"] = jax.vmap(jax.grad(f))(shifted)
        return out

    got = {k: np.asarray(a) for k, a in
           jax.jit(run, compiler_options=JIT_OPTIONS)(jnp.asarray(x), jnp.asarray(v), jnp.asarray(_shifted(x))).items()}
    fd = (_central(got.pop("fd_values"), x.shape), _central(got.pop("fd_grads"), x.shape))
    pure = _pure(loss, case)
    for name, value in got.items():
        assert np.all(np.isfinite(value)), name
        if name == "vmap_grad":
            np.testing.assert_allclose(value[0], fd[0], **FD_TOL, err_msg="vmap_grad vs fd")
            np.testing.assert_allclose(value[0], pure["grad"], **AD_TOL, err_msg=name)
            np.testing.assert_allclose(value[1], pure["grad_half"], **AD_TOL, err_msg=name)
            continue
        for source, (grad, hessian), tol in (("fd", fd, FD_TOL),
                                             ("pure", (pure["grad"], pure["hessian"]), AD_TOL)):
            want = _expected(name, grad, hessian, v)
            np.testing.assert_allclose(np.reshape(value, np.shape(want)), want, **tol,
                                       err_msg=f"{name} vs {source}")


@pytest.mark.parametrize("case", ["multiclass_ignore", "multilabel_ignore"])
def test_eager_transforms(backend, case):
    """Outside ``jit`` (op by op): ``jvp``, ``linearize`` and grad of grad of both rules."""
    import jax.numpy as jnp

    x, y, v = _data(case)
    fn, t = _loss("jaccard", case), jnp.asarray(y)
    pure = _pure("jaccard", case)
    for name in ("jvp", "linearize", "grad_of_grad"):
        got = np.asarray(_transform(name, lambda a: fn(a, t), jnp.asarray(x), jnp.asarray(v)))
        want = _expected(name, pure["grad"], pure["hessian"], v)
        np.testing.assert_allclose(got, want, **AD_TOL, err_msg=name)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("loss", ["jaccard", "dice", "tversky"])
def test_native_rule_is_the_one_differentiated(backend, loss, case):
    """The comparisons above are not vacuous: on JAX arrays the overlap losses go
    through the custom JVP rule, the pure path through none."""
    import jax
    import jax.numpy as jnp

    x, y, _ = _data(case)
    fn, t = _loss(loss, case), jnp.asarray(y)
    assert "custom_jvp_call" in str(jax.make_jaxpr(lambda a: fn(a, t))(jnp.asarray(x)))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kernels, "USE_NATIVE", False)
        assert "custom_jvp_call" not in str(jax.make_jaxpr(lambda a: fn(a, t))(jnp.asarray(x)))


def test_forward_mode_on_soft_targets_matches_finite_differences(backend):
    """The rule's tangent w.r.t. a float target (a teacher's probabilities), forward and
    reverse, in one ``jvp`` over both arguments."""
    import jax
    import jax.numpy as jnp

    x, y, v = _data("binary_soft")
    w = np.random.default_rng(3).normal(size=y.shape)
    fn = _loss("jaccard", "binary_soft")
    _, got = jax.jvp(fn, (jnp.asarray(x), jnp.asarray(y)), (jnp.asarray(v), jnp.asarray(w)))
    want = (np.asarray(fn(jnp.asarray(x + H * v), jnp.asarray(y + H * w)))
            - np.asarray(fn(jnp.asarray(x - H * v), jnp.asarray(y - H * w)))) / (2 * H)
    np.testing.assert_allclose(np.asarray(got), want, **FD_TOL)
    gx, gy = jax.grad(fn, argnums=(0, 1))(jnp.asarray(x), jnp.asarray(y))
    np.testing.assert_allclose(np.vdot(gx, v) + np.vdot(gy, w), want, **FD_TOL)


# -- shard_map over 2 host devices (this file run as a script) -------------------------

DEVICES = 2
SHARD_CASES = {  # loss, case, and whether the loss is a per-device mean to pmean
    "jaccard_multiclass_ignore": ("jaccard", "multiclass_ignore", False),
    "dice_multilabel_ignore": ("dice", "multilabel_ignore", False),
    "tversky_binary_soft": ("tversky", "binary_soft", False),
    "lovasz_multiclass_per_image": ("lovasz", "multiclass", True),
}
SHARD_TRANSFORMS = ("grad", "jvp", "grad_of_grad", "hessian")
TIMEOUT_S = 300


def _shard_loss(name: str, axis: str | None):
    """The global loss of a 2-image batch; with ``axis``, its statistics (or, for Lovasz
    per image, its mean) summed over the named device axis."""
    import jax

    from anyiou.distributed import jax_sync

    loss, case, per_device_mean = SHARD_CASES[name]
    cls, extra = LOSSES[loss]
    mode, _, options, _ = CASES[case]
    if per_device_mean:
        fn = getattr(anyiou, cls)(mode, **options, **extra, per_image=True)
        if axis is None:
            return fn
        return lambda a, b: jax.lax.pmean(fn(a, b), axis)
    sync = None if axis is None else jax_sync(axis)
    return getattr(anyiou, cls)(mode, **options, **extra, sync=sync)


def _worker(out: str) -> None:
    import jax
    import jax.numpy as jnp
    from jax.sharding import Mesh
    from jax.sharding import PartitionSpec as P

    jax.config.update("jax_enable_x64", True)
    assert len(jax.devices()) == DEVICES, jax.devices()
    mesh = Mesh(np.array(jax.devices()), ("batch",))
    res = {}
    for name, (_, case, _) in SHARD_CASES.items():
        x, y, v = _data(case)
        fn = _shard_loss(name, "batch")
        global_loss = jax.shard_map(fn, mesh=mesh, in_specs=(P("batch"), P("batch")),
                                    out_specs=P())
        t = jnp.asarray(y)

        def run(a, b, f=global_loss, t=t):
            return {k: _transform(k, lambda c: f(c, t), a, b) for k in SHARD_TRANSFORMS}

        for transform, got in jax.jit(run, compiler_options=JIT_OPTIONS)(jnp.asarray(x), jnp.asarray(v)).items():
            res[f"{name}/{transform}"] = np.asarray(got)
    np.savez(out, **res)


@pytest.fixture(scope="module")
def sharded(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("jax_transforms") / "results.npz"
    env = dict(os.environ)
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") +
                        f" --xla_force_host_platform_device_count={DEVICES}").strip()
    env["JAX_PLATFORMS"] = "cpu"
    root = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    try:
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), str(out)],
                              env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the shard_map subprocess ran past {TIMEOUT_S} s:\n{exc.stderr}")
    if proc.returncode:
        pytest.fail(f"the shard_map subprocess failed:\n{proc.stderr[-4000:]}")
    return dict(np.load(out))


@pytest.mark.slow  # the `sharded` fixture runs a Python subprocess
@pytest.mark.parametrize("transform", SHARD_TRANSFORMS)
@pytest.mark.parametrize("name", list(SHARD_CASES))
def test_shard_map_transforms_match_one_device(backend, sharded, name, transform):
    """The global loss under ``shard_map`` has the one-device loss's derivatives: checked
    against central differences (first order) and the pure path's autodiff."""
    import jax.numpy as jnp

    loss, case, _ = SHARD_CASES[name]
    x, y, v = _data(case)
    fn, t = _shard_loss(name, None), jnp.asarray(y)
    pure = _pure(loss, case, per_image=SHARD_CASES[name][2])
    got = sharded[f"{name}/{transform}"]
    want = _expected(transform, pure["grad"], pure["hessian"], v)
    np.testing.assert_allclose(np.reshape(got, np.shape(want)), want, **AD_TOL)
    if transform == "jvp":  # the oracle itself against central differences
        fd = ((np.asarray(fn(jnp.asarray(x + H * v), t))
               - np.asarray(fn(jnp.asarray(x - H * v), t))) / (2 * H))
        np.testing.assert_allclose(got, fd, **FD_TOL)


if __name__ == "__main__":
    _worker(sys.argv[1])
