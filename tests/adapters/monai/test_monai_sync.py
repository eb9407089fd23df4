"""anyiou.monai's ``sync=`` (anyiou's addition) against MONAI 1.6.1 on the concatenated
batch: with ``batch=True`` the statistics go through the hook once per call and every
worker gets the loss of the global batch.

Two workers are played in one process: a hook adds to worker 0's statistics those
worker 1 computed on its own shard, and on JAX ``jax.vmap`` over a worker axis with
``jax_sync`` sums the two shards' statistics. The real collectives are tested in tests/distributed (torch gloo ranks and JAX
``shard_map``)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from anyiou import monai as am
from tests.adapters.monai.oracle import monai_loss

C = 4
# name -> (loss, MONAI's arguments, target kind); every case has batch=True
CASES = {
    "dice-ignore-weight": ("DiceLoss", {"to_onehot_y": True, "softmax": True, "batch": True,
                                        "ignore_index": 255, "jaccard": True,
                                        "weight": [0.5, 1.0, 2.0], "include_background": False},
                           "labels"),
    "tversky-soft-none": ("TverskyLoss", {"sigmoid": True, "soft_label": True, "batch": True,
                                          "alpha": 0.3, "beta": 0.7, "reduction": "none"},
                          "soft"),
    "gdl-labels": ("GeneralizedDiceLoss", {"to_onehot_y": True, "softmax": True,
                                           "batch": True}, "labels"),
}


def _shards(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Two shards of 2 images, stacked (2, 2, C, 5, 4) and their targets; class 3 in
    shard 1 only, voids (255) in shard 0."""
    rng = np.random.default_rng(sum(map(ord, name)))
    x = rng.normal(size=(2, 2, C, 5, 4)).astype(np.float32)
    labels = rng.integers(0, 3, size=(2, 2, 1, 5, 4))
    labels[1, 1, 0, :2, :2] = 3
    if CASES[name][2] == "soft":
        onehot = (np.arange(C)[:, None, None] == labels).astype(np.float32)
        return x, onehot * rng.uniform(0.5, 1.0, size=onehot.shape).astype(np.float32)
    if "ignore_index" in CASES[name][1]:
        labels[0, 0, 0, 0, :3] = 255
    return x, labels


class TwoWorkers:
    """The sum over two workers as worker 0 sees it: its own statistics plus those that
    worker 1 contributes (recorded from worker 1's own call); records its calls."""

    def __init__(self, backend) -> None:
        self.backend = backend
        self.other = None  # worker 1's statistics, as NumPy
        self.shapes: list[tuple[int, ...]] = []

    def __call__(self, s):
        self.shapes.append(tuple(s.shape))
        if self.other is None:  # worker 1's call: record what it sends
            self.other = self.backend.to_numpy(s)
            return s
        return s + self.backend.asarray(self.other, dtype=self.backend.to_numpy(s).dtype)


@pytest.mark.skip_backends("jax")
@pytest.mark.parametrize("name", list(CASES))
def test_sync_gives_the_loss_of_the_global_batch(backend, name):
    cls, kwargs, _ = CASES[name]
    xs, ts = _shards(name)
    expected, expected_grad = monai_loss(cls, kwargs, None, np.concatenate(list(xs)),
                                         np.concatenate(list(ts)))
    sync = TwoWorkers(backend)
    loss = getattr(am, cls)(**kwargs, sync=sync)
    loss(backend.asarray(xs[1]), backend.asarray(ts[1]))  # worker 1's statistics
    x, t = backend.asarray(xs[0]), backend.asarray(ts[0])
    got = loss(x, t)
    kept = C - (not kwargs.get("include_background", True))
    assert sync.shapes == [(4, kept)] * 2  # one all-reduce of the (tp, fp, fn, ground) sums
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=1e-5, atol=1e-6)
    local = monai_loss(cls, kwargs, None, xs[0], ts[0])[0]
    assert np.abs(local - expected).max() > 1e-3  # the global loss is not worker 0's
    if backend.name == "torch":
        xp = backend.xp
        _, grad = backend.value_and_grad(lambda p: xp.sum(loss(p, t)), xs[0])
        np.testing.assert_allclose(grad, expected_grad[: len(xs[0])], rtol=1e-4, atol=1e-7)


@pytest.mark.only_backends("jax")
@pytest.mark.parametrize("name", list(CASES))
def test_jax_sync_over_a_vmapped_worker_axis(backend, name):
    """Two workers with different shards (``vmap`` names the axis ``psum`` sums over):
    each gets MONAI's loss of the concatenated batch, and the gradient of the workers'
    mean is MONAI's gradient, under ``jit``."""
    import jax
    import jax.numpy as jnp

    from anyiou.distributed import jax_sync

    cls, kwargs, _ = CASES[name]
    xs, ts = _shards(name)
    expected, expected_grad = monai_loss(cls, kwargs, None, np.concatenate(list(xs)),
                                         np.concatenate(list(ts)))
    loss = getattr(am, cls)(**kwargs, sync=jax_sync("worker"))
    per_worker = jax.vmap(loss, axis_name="worker")

    def mean_loss(x):  # every worker holds the same loss: their mean is it
        return jnp.sum(jnp.mean(per_worker(x, jnp.asarray(ts)), axis=0))

    values = jax.jit(per_worker)(jnp.asarray(xs), jnp.asarray(ts))
    for value in np.asarray(values):
        np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-6)
    grad = np.asarray(jax.jit(jax.grad(mean_loss))(jnp.asarray(xs)))
    np.testing.assert_allclose(grad.reshape(expected_grad.shape), expected_grad, rtol=1e-4,
                               atol=1e-7)


@pytest.mark.only_backends("numpy")
@pytest.mark.parametrize("cls", [am.DiceLoss, am.TverskyLoss, am.GeneralizedDiceLoss])
def test_sync_needs_batch_and_a_callable(backend, cls):
    with pytest.raises(ValueError, match=r"sync.*batch=True"):
        cls(sync=lambda s: s)  # batch=False: per-image losses are not summed
    with pytest.raises(TypeError, match="sync"):
        cls(batch=True, sync="all_reduce")
    sync = inspect.signature(cls).parameters["sync"]
    assert sync.kind is inspect.Parameter.KEYWORD_ONLY and sync.default is None
    loss = cls(batch=True, sync=lambda s: s)
    loss.batch = False  # set on the built loss: refused at the call
    x = np.zeros((1, 2, 3), np.float32)
    with pytest.raises(ValueError, match=r"sync.*batch=True"):
        loss(x, x)
