"""JAX: the losses and metrics called eagerly (outside ``jit``) on ``jax.Array``s sharded
over 2 host CPU devices (``NamedSharding``, batch axis split) give the unsharded result.

Oracles: the same call on plain single-device arrays (NumPy for the values, unsharded JAX
for ``jax.grad``), smp's loss value and gradient (torch float64) and torchmetrics /
smp.metrics for the metrics. The device check of the argument pair keeps accepting two
arrays placed on the same devices and keeps refusing arrays on different devices.

XLA's device count must be set before JAX starts, so the sharded half runs in a
subprocess (this file run as a script). Generated only in the jax session.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

DEVICES = 2
N, C, H, W = 4, 3, 5, 6
TIMEOUT_S = 240

LOSSES = ("JaccardLoss", "DiceLoss", "TverskyLoss", "LovaszLoss")
# name -> (loss class, constructor arguments)
CASES = {
    f"{cls}/{mode}": (cls, {"mode": mode}) for cls in LOSSES
    for mode in ("binary", "multiclass", "multilabel")
}
CASES["JaccardLoss/multiclass_ignore"] = ("JaccardLoss", {"mode": "multiclass",
                                                          "ignore_index": 255})
CASES["LovaszLoss/multiclass_ignore"] = ("LovaszLoss", {"mode": "multiclass",
                                                        "ignore_index": 255})
CASES["TverskyLoss/multiclass_weighted"] = ("TverskyLoss", {"mode": "multiclass", "alpha": 0.7,
                                                            "beta": 0.3, "gamma": 2.0})

pytestmark = pytest.mark.only_backends("jax")


def _data(name: str):
    """Logits (N, C or 1, H, W) float64 and targets for the case's mode."""
    rng = np.random.default_rng(sum(map(ord, name)))
    mode = CASES[name][1]["mode"]
    x = rng.normal(size=(N, 1 if mode == "binary" else C, H, W))
    if mode == "multiclass":
        y = rng.integers(0, C, size=(N, H, W))
        if "ignore_index" in CASES[name][1]:
            y[0, 0, :4] = 255
            y[3, 2, :] = 255
    else:
        y = (rng.random(x.shape) < 0.4).astype(np.int64)
    return x, y


def _labels():
    """Integer predictions/targets (N, H, W) for the metrics; 255 voids."""
    rng = np.random.default_rng(7)
    t = rng.integers(0, C, size=(N, H, W))
    p = np.where(rng.random(t.shape) < 0.6, t, rng.integers(0, C, t.shape))
    t[1, 2, :] = 255
    return p, t


# -- the sharded half (this file run as a script, 2 host devices) ----------------------


def _run(res: dict, key: str, fn) -> None:
    """Store ``fn()``'s arrays under ``key/i``, or the error it raised under ``key/error``."""
    try:
        out = fn()
    except Exception as exc:  # reported by the checks with the case's name
        res[f"{key}/error"] = np.asarray(f"{type(exc).__name__}: {exc}"[:800])
        return
    for i, value in enumerate(out if isinstance(out, tuple) else (out,)):
        res[f"{key}/{i}"] = np.asarray(value)


def _worker(out: str) -> None:
    import jax
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    import anyiou
    from anyiou.metrics import MeanIoU, get_stats, jaccard_index

    jax.config.update("jax_enable_x64", True)
    assert len(jax.devices()) == DEVICES, jax.devices()
    mesh = Mesh(np.array(jax.devices()), ("batch",))
    shard = NamedSharding(mesh, P("batch"))

    def put(*arrays):
        return tuple(jax.device_put(a, shard) for a in arrays)

    def loss_case(name: str) -> None:
        cls, kwargs = CASES[name]
        x, y = _data(name)
        loss_fn = getattr(anyiou, cls)(**kwargs)
        xs, ys = put(x, y)
        assert len(xs.sharding.device_set) == DEVICES
        _run(res, f"{name}/sharded", lambda: loss_fn(xs, ys))
        _run(res, f"{name}/sharded_grad",
             lambda: jax.value_and_grad(lambda v: loss_fn(v, ys))(xs))
        _run(res, f"{name}/numpy", lambda: loss_fn(x, y))
        _run(res, f"{name}/jax_grad", lambda: jax.value_and_grad(
            lambda v: loss_fn(v, jax.numpy.asarray(y)))(jax.numpy.asarray(x)))

    res = {}
    for name in CASES:
        loss_case(name)

    p, t = _labels()
    ps, ts = put(p, t)
    ml_o, ml_t = (np.random.default_rng(3).random((N, C, H, W)) for _ in range(2))
    ml_t = (ml_t < 0.5).astype(np.int64)
    ml_os, ml_ts = put(ml_o, ml_t)

    def stats(p, t, o, mt):
        return (get_stats(p, t, "multiclass", ignore_index=255, num_classes=C)
                + get_stats(o, mt, "multilabel", threshold=0.5))

    def jaccard(p, t):
        return (jaccard_index(p, t, C, ignore_index=255),
                jaccard_index(p, t, C, average="none", ignore_index=255))

    def mean_iou(p, t):
        metric = MeanIoU(C, ignore_index=255).update(p[:1], t[:1]).update(p[1:], t[1:])
        return metric.compute(), metric.confmat

    for key, fn in (("get_stats", stats), ("jaccard_index", jaccard),
                    ("mean_iou", mean_iou)):
        args = (p, t, ml_o, ml_t)[: fn.__code__.co_argcount]
        sharded = (ps, ts, ml_os, ml_ts)[: fn.__code__.co_argcount]
        _run(res, f"metric/{key}/sharded", lambda fn=fn, a=sharded: fn(*a))
        _run(res, f"metric/{key}/numpy", lambda fn=fn, a=args: fn(*a))

    # the pair's device check: same devices pass, different devices raise
    loss_fn = anyiou.JaccardLoss("multiclass")
    x, y = _data("JaccardLoss/multiclass")
    xs = jax.device_put(x, shard)
    same = jax.device_put(y, NamedSharding(mesh, P("batch", None)))  # spelled otherwise
    _run(res, "devices/same_devices", lambda: loss_fn(xs, same))
    one = jax.device_put(y, jax.devices()[1])
    try:
        loss_fn(xs, one)
        res["devices/mixed"] = np.asarray("no error")
    except ValueError as exc:
        res["devices/mixed"] = np.asarray(str(exc))
    np.savez(out, **res)


# -- the checks ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sharded(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("sharded_eager") / "results.npz"
    env = dict(os.environ)
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") +
                        f" --xla_force_host_platform_device_count={DEVICES}").strip()
    env["JAX_PLATFORMS"] = "cpu"
    try:
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), str(out)],
                              env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the sharded subprocess ran past {TIMEOUT_S} s:\n{exc.stderr}")
    if proc.returncode:
        pytest.fail(f"the sharded subprocess failed:\n{proc.stderr[-4000:]}")
    return dict(np.load(out))


def _get(res: dict, key: str, n: int) -> list:
    if f"{key}/error" in res:
        pytest.fail(f"{key} raised {res[f'{key}/error']}")
    return [res[f"{key}/{i}"] for i in range(n)]


@pytest.mark.parametrize("name", list(CASES))
def test_loss_on_sharded_arrays(backend, sharded, name):
    from tests.support.oracles import smp_value_and_grad

    cls, kwargs = CASES[name]
    x, y = _data(name)
    # smp's Lovasz losses mix float32 into their dot product: compare in float32
    f32 = cls == "LovaszLoss"
    rtol = 1e-5 if f32 else 1e-7
    expected, expected_grad = smp_value_and_grad(
        cls, kwargs, x.astype(np.float32) if f32 else x, y)
    (unsharded,) = _get(sharded, f"{name}/numpy", 1)
    _, unsharded_grad = _get(sharded, f"{name}/jax_grad", 2)
    (value,) = _get(sharded, f"{name}/sharded", 1)
    grad_value, grad = _get(sharded, f"{name}/sharded_grad", 2)
    for v in (value, grad_value):
        np.testing.assert_allclose(v, unsharded, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(v, expected, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(grad, unsharded_grad, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(grad, expected_grad, rtol=10 * rtol, atol=1e-7 if f32 else 1e-12)


def test_get_stats_on_sharded_arrays(backend, sharded):
    import torch

    from tests.support.oracles import smp_metrics

    got = _get(sharded, "metric/get_stats/sharded", 8)
    unsharded = _get(sharded, "metric/get_stats/numpy", 8)
    p, t = _labels()
    smp_get_stats = smp_metrics().get_stats
    ref = smp_get_stats(torch.from_numpy(p), torch.from_numpy(t), "multiclass",
                        ignore_index=255, num_classes=C)
    for a, b, r in zip(got[:4], unsharded[:4], ref, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, r.numpy())
    for a, b in zip(got[4:], unsharded[4:], strict=True):
        np.testing.assert_array_equal(a, b)
    assert got[4].sum() + got[5].sum() + got[6].sum() + got[7].sum() == N * C * H * W


@pytest.mark.parametrize("key", ["jaccard_index", "mean_iou"])
def test_confusion_metrics_on_sharded_arrays(backend, sharded, key):
    import torch
    from torchmetrics.functional import classification as TMF

    got = _get(sharded, f"metric/{key}/sharded", 2)
    unsharded = _get(sharded, f"metric/{key}/numpy", 2)
    for a, b in zip(got, unsharded, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    p, t = _labels()
    kw = {"num_classes": C, "ignore_index": 255}
    expected = TMF.multiclass_jaccard_index(torch.from_numpy(p), torch.from_numpy(t), **kw)
    np.testing.assert_allclose(got[0], expected.numpy(), rtol=1e-6)


def test_device_check_of_sharded_pairs(backend, sharded):
    """Two arrays on the same devices pass (however the spec is spelled); a sharded
    array with an array on one device is refused with the same-device ``ValueError``."""
    from tests.support.oracles import smp_value_and_grad

    x, y = _data("JaccardLoss/multiclass")
    expected, _ = smp_value_and_grad("JaccardLoss", {"mode": "multiclass"}, x, y)
    (value,) = _get(sharded, "devices/same_devices", 1)
    np.testing.assert_allclose(value, expected, rtol=1e-7)
    assert "must be on the same device" in str(sharded["devices/mixed"])


if __name__ == "__main__":
    _worker(sys.argv[1])
