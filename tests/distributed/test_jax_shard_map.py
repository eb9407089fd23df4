"""JAX: with ``sync=jax_sync(axis)``, the loss inside ``shard_map`` over 2 host CPU devices
equals smp's loss on the concatenated batch, and so does the gradient w.r.t. replicated
parameters (to 1e-6, float64) in each usual recipe: ``jax.grad`` outside ``shard_map``,
``jax.grad`` inside then ``pmean`` (``check_vma`` on and off), and ``pmap``.
anyiou.monai's TverskyLoss with ``batch=True`` and ``sync=`` gives MONAI's loss and
gradient on the concatenated batch. MeanIoU's state syncs with one ``psum``
(torchmetrics on the concatenated data as oracle).

XLA's device count must be set before JAX starts, so the sharded half runs in a
subprocess (this file run as a script) and the suite's own JAX is left untouched.
Generated only in the jax session.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

DEVICES = 2
C = 4  # class 3 is rare: present in the last image (device 1) only
IN_CH = 3
N = 4  # 2 images per device
TIMEOUT_S = 180

# name -> (loss class, constructor arguments, channels-last)
CASES = {
    "jaccard_multiclass_ignore": ("JaccardLoss", {"mode": "multiclass", "ignore_index": 255}, False),
    "dice_multiclass_channels_last": ("DiceLoss", {"mode": "multiclass"}, True),
    "tversky_multilabel": ("TverskyLoss", {"mode": "multilabel", "alpha": 0.7, "beta": 0.3, "gamma": 2.0}, False),
}
# anyiou.monai, on sharded logits (N, C, 5, 6) and labels (N, 1, 5, 6): MONAI's arguments
MONAI_KWARGS = {"to_onehot_y": True, "softmax": True, "batch": True, "alpha": 0.3,
                "beta": 0.7, "ignore_index": 255, "reduction": "none"}
RECIPES = ("outer_grad", "inner_grad_pmean", "inner_grad_pmean_no_vma", "pmap_pmean")

pytestmark = [pytest.mark.only_backends("jax"), pytest.mark.slow]  # a subprocess


def _data(name: str):
    """Inputs (N, IN_CH, 5, 6), targets and the 1x1-conv weights (C, IN_CH), bias (C,)."""
    rng = np.random.default_rng(sum(map(ord, name)))
    x = rng.normal(size=(N, IN_CH, 5, 6))
    w = rng.normal(size=(C, IN_CH))
    b = rng.normal(size=(C,))
    if CASES[name][1]["mode"] == "multiclass":
        y = rng.integers(0, 3, size=(N, 5, 6))
        y[N - 1, :2, :2] = 3
        if "ignore_index" in CASES[name][1]:
            y[0, 0, :4] = 255
    else:
        y = (rng.random((N, C, 5, 6)) < 0.4).astype(np.int64)
        y[:, 3] = 0
        y[N - 1, 3, 0, :2] = 1
    return x, y, w, b


def _monai_data():
    """Logits (N, C, 5, 6) float64 and labels (N, 1, 5, 6): class 3 on device 1 only."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(N, C, 5, 6))
    y = rng.integers(0, 3, size=(N, 1, 5, 6))
    y[N - 1, 0, :2, :2] = 3
    y[0, 0, 0, :4] = 255
    return x, y


def _labels():
    """Integer predictions/targets (N, 6, 5) for the metric; 255 voids; class 3 rare."""
    rng = np.random.default_rng(11)
    t = rng.integers(0, 3, size=(N, 6, 5))
    t[N - 1, 0, :3] = 3
    p = np.where(rng.random(t.shape) < 0.6, t, rng.integers(0, C, t.shape))
    t[0, 2, :] = 255
    return p, t


# -- the sharded half (this file run as a script, 2 host devices) ----------------------


def _put(res: dict, key: str, value, grads) -> None:
    res[f"{key}/loss"] = np.asarray(value)
    res[f"{key}/grad_w"], res[f"{key}/grad_b"] = (np.asarray(g).ravel() for g in grads)


def _worker(out: str) -> None:
    import jax
    import jax.numpy as jnp
    from jax.sharding import Mesh
    from jax.sharding import PartitionSpec as P

    import anyiou
    from anyiou.distributed import jax_sync
    from anyiou.metrics import MeanIoU

    jax.config.update("jax_enable_x64", True)
    assert len(jax.devices()) == DEVICES, jax.devices()
    mesh = Mesh(np.array(jax.devices()), ("batch",))
    sharded, rep = P("batch"), P()
    res = {}
    for name, (cls, kwargs, channels_last) in CASES.items():
        x, y, w, b = _data(name)
        x = np.moveaxis(x, 1, -1) if channels_last else x
        if channels_last and kwargs["mode"] != "multiclass":
            y = np.moveaxis(y, 1, -1)
        extra = {"class_axis": -1} if channels_last else {}
        loss_fn = getattr(anyiou, cls)(**kwargs, **extra, sync=jax_sync("batch"))

        def loss(params, x, y, loss_fn=loss_fn, channels_last=channels_last):
            w, b = params
            if channels_last:
                logits = jnp.einsum("kc,nhwc->nhwk", w, x) + b
            else:
                logits = jnp.einsum("kc,nchw->nkhw", w, x) + b[:, None, None]
            return loss_fn(logits, y)

        params = (jnp.asarray(w), jnp.asarray(b))
        xs, ys = jnp.asarray(x), jnp.asarray(y)

        # 1. jax.grad of the shard_map-ped global loss, parameters replicated
        global_loss = jax.shard_map(loss, mesh=mesh, in_specs=(rep, sharded, sharded),
                                    out_specs=rep)
        v, g = jax.jit(jax.value_and_grad(global_loss))(params, xs, ys)
        _put(res, f"{name}/outer_grad", v, g)

        # 2./3. the data-parallel step: grad inside shard_map, then pmean over devices
        def step(params, x, y, loss=loss):
            v, g = jax.value_and_grad(loss)(params, x, y)
            return v, jax.lax.pmean(g, "batch")

        for recipe, vma in (("inner_grad_pmean", True), ("inner_grad_pmean_no_vma", False)):
            f = jax.shard_map(step, mesh=mesh, in_specs=(rep, sharded, sharded),
                              out_specs=(rep, rep), check_vma=vma)
            v, g = jax.jit(f)(params, xs, ys)
            _put(res, f"{name}/{recipe}", v, g)

        # 4. pmap with the batch split along a leading device axis
        split = (DEVICES, N // DEVICES)
        v, g = jax.pmap(step, axis_name="batch", in_axes=(None, 0, 0))(
            params, xs.reshape(split + xs.shape[1:]), ys.reshape(split + ys.shape[1:]))
        _put(res, f"{name}/pmap_pmean", v[1], (g[0][1], g[1][1]))  # device 1's copy

    # anyiou.monai: jax.grad of the shard_map-ped global loss w.r.t. the sharded logits
    from anyiou import monai

    tversky = monai.TverskyLoss(**MONAI_KWARGS, sync=jax_sync("batch"))
    global_tversky = jax.shard_map(tversky, mesh=mesh, in_specs=(sharded, sharded),
                                   out_specs=rep)
    x, y = _monai_data()
    v, g = jax.jit(jax.value_and_grad(lambda p, t: jnp.sum(global_tversky(p, t))))(
        jnp.asarray(x), jnp.asarray(y))
    res["monai_tversky/loss"] = np.asarray(jax.jit(global_tversky)(jnp.asarray(x),
                                                                   jnp.asarray(y)))
    res["monai_tversky/sum"], res["monai_tversky/grad"] = np.asarray(v), np.asarray(g)

    # metrics: local update, one psum in compute_state
    p, t = _labels()
    metric = MeanIoU(C, ignore_index=255, sync=jax_sync("batch"))

    def evaluate(p, t):
        state = metric.update_state(None, p[:1], t[:1])
        state = metric.update_state(state, p[1:], t[1:])
        return (metric.compute_state(state), metric.compute_state(state, average="none"),
                metric.sync(state["confmat"]))

    f = jax.jit(jax.shard_map(evaluate, mesh=mesh, in_specs=(sharded, sharded),
                              out_specs=(rep, rep, rep)))
    macro, per_class, confmat = f(jnp.asarray(p), jnp.asarray(t))
    res["miou/macro"], res["miou/none"], res["miou/confmat"] = map(np.asarray,
                                                                   (macro, per_class, confmat))
    np.savez(out, **res)


# -- the single-device reference and the checks ---------------------------------------


@pytest.fixture(scope="module")
def sharded(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("shard_map") / "results.npz"
    env = dict(os.environ)
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") +
                        f" --xla_force_host_platform_device_count={DEVICES}").strip()
    env["JAX_PLATFORMS"] = "cpu"
    try:
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), str(out)],
                              env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the shard_map subprocess ran past {TIMEOUT_S} s:\n{exc.stderr}")
    if proc.returncode:
        pytest.fail(f"the shard_map subprocess failed:\n{proc.stderr[-4000:]}")
    return dict(np.load(out))


def _reference(name: str):
    """smp's loss of the whole batch on one process (torch float64): value, dL/dw, dL/db."""
    import torch

    from tests.support.oracles import smp_losses

    cls, kwargs, _ = CASES[name]
    x, y, w, b = _data(name)
    wt = torch.from_numpy(w).requires_grad_(True)
    bt = torch.from_numpy(b).requires_grad_(True)
    logits = torch.einsum("kc,nchw->nkhw", wt, torch.from_numpy(x)) + bt[:, None, None]
    loss = getattr(smp_losses(), cls)(**kwargs)(logits, torch.from_numpy(y))
    gw, gb = torch.autograd.grad(loss, (wt, bt))
    return loss.detach().numpy(), gw.numpy().ravel(), gb.numpy()


@pytest.mark.parametrize("recipe", RECIPES)
@pytest.mark.parametrize("name", list(CASES))
def test_global_batch_loss_and_gradient(backend, sharded, name, recipe):
    loss, gw, gb = _reference(name)
    key = f"{name}/{recipe}"
    np.testing.assert_allclose(sharded[f"{key}/loss"], loss, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(sharded[f"{key}/grad_w"], gw, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(sharded[f"{key}/grad_b"], gb, rtol=1e-6, atol=1e-9)


def test_monai_tversky_syncs_with_psum(backend, sharded):
    import torch
    from monai.losses import TverskyLoss

    x, y = _monai_data()
    logits = torch.from_numpy(x).requires_grad_(True)
    expected = TverskyLoss(**MONAI_KWARGS)(logits, torch.from_numpy(y))
    (grad,) = torch.autograd.grad(expected.sum(), logits)
    np.testing.assert_allclose(sharded["monai_tversky/loss"], expected.detach().numpy(),
                               rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(sharded["monai_tversky/sum"], expected.sum().item(), rtol=1e-6)
    np.testing.assert_allclose(sharded["monai_tversky/grad"], grad.numpy(), rtol=1e-6,
                               atol=1e-9)


def test_mean_iou_syncs_with_psum(backend, sharded):
    import sklearn.metrics as skm
    import torch
    from torchmetrics.functional import classification as TMF

    p, t = _labels()
    pt, tt = torch.from_numpy(p), torch.from_numpy(t)
    kw = {"num_classes": C, "ignore_index": 255}
    np.testing.assert_allclose(sharded["miou/macro"],
                               TMF.multiclass_jaccard_index(pt, tt, **kw).numpy(), rtol=1e-6)
    np.testing.assert_allclose(sharded["miou/none"],
                               TMF.multiclass_jaccard_index(pt, tt, average="none", **kw).numpy(),
                               rtol=1e-6)
    keep = t != 255
    np.testing.assert_array_equal(sharded["miou/confmat"],
                                  skm.confusion_matrix(t[keep], p[keep], labels=range(C)))


def test_jax_sync_is_psum_over_the_named_axis(backend):
    """Without a mesh, ``vmap`` names an axis too: psum over it is the batch sum."""
    import jax
    import jax.numpy as jnp

    from anyiou.distributed import jax_sync

    x = np.arange(6.0).reshape(3, 2)
    out = jax.vmap(jax_sync("i"), axis_name="i")(jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(out), np.broadcast_to(x.sum(0), (3, 2)))
    with pytest.raises(TypeError, match="axis_name"):
        jax_sync({"batch": 1})


if __name__ == "__main__":
    _worker(sys.argv[1])
