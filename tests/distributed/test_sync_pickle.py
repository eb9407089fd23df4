"""The ``sync=`` hooks pickle and deep-copy, and so do the losses and a mid-stream
``MeanIoU`` holding them (``torch.save(model)``, spawn-started workers): the copies give
smp's / torchmetrics' values. torch runs in a one-rank gloo group in this process."""

from __future__ import annotations

import copy
import io
import pickle

import numpy as np
import pytest

import anyiou
from anyiou.distributed import JaxSync, TorchSync, jax_sync, torch_sync
from anyiou.metrics import MeanIoU
from tests.support.cases import Case
from tests.support.oracles import smp_value_and_grad

C = 3
CASE = Case("mc-ign", "multiclass", (2, C, 6, 5), "labels", {"ignore_index": 255}, void=255)
OVERLAP = [
    ("JaccardLoss", {}),
    ("DiceLoss", {"smooth": 1.0}),
    ("TverskyLoss", {"alpha": 0.3, "beta": 0.7, "gamma": 1.5}),
]


def _round_trips(obj):
    """pickle, ``copy.deepcopy`` and ``torch.save``/``torch.load`` copies of ``obj``."""
    import torch

    buf = io.BytesIO()
    torch.save({"obj": obj}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=False)["obj"]
    return [pickle.loads(pickle.dumps(obj)), copy.deepcopy(obj), saved]


@pytest.fixture
def one_rank_group():
    import torch.distributed as dist

    if not dist.is_available():
        pytest.skip("torch.distributed is not available")
    if dist.is_initialized():
        pytest.skip("a process group is already initialized in this process")
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        yield dist
    finally:
        dist.destroy_process_group()


@pytest.mark.only_backends("torch")
@pytest.mark.parametrize(("loss_name", "opts"), OVERLAP, ids=[n for n, _ in OVERLAP])
def test_losses_with_torch_sync_survive_pickling(backend, one_rank_group, loss_name, opts):
    torch = backend.lib
    x, y = CASE.make(seed=1)
    args = {**CASE.smp_args, **opts}
    want, want_grad = smp_value_and_grad(loss_name, args, x, y)
    loss = getattr(anyiou, loss_name)(**args, sync=torch_sync())
    for clone in _round_trips(loss):
        assert isinstance(clone.sync, TorchSync) and clone.sync == loss.sync
        z = torch.from_numpy(x.copy()).requires_grad_(True)
        value = clone(z, torch.from_numpy(y))  # one rank: the all-reduce is the identity
        value.backward()
        np.testing.assert_allclose(value.detach().numpy(), want, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(z.grad.numpy(), want_grad, rtol=1e-5, atol=1e-7)


@pytest.mark.only_backends("torch")
def test_mean_iou_mid_stream_survives_pickling(backend, one_rank_group):
    torch = backend.lib
    from torchmetrics.functional.classification import multiclass_jaccard_index

    rng = np.random.default_rng(4)
    preds = torch.from_numpy(rng.integers(0, C, (4, 5, 6)))
    target = torch.from_numpy(np.where(rng.random((4, 5, 6)) < 0.1, 255, rng.integers(0, C, (4, 5, 6))))
    metric = MeanIoU(C, ignore_index=255, sync=torch_sync()).update(preds[:2], target[:2])
    clones = _round_trips(metric)
    want = multiclass_jaccard_index(preds, target, num_classes=C, ignore_index=255)
    for clone in clones:
        assert clone.sync == metric.sync
        clone.update(preds[2:], target[2:])
        np.testing.assert_allclose(clone.compute().numpy(), want.numpy(), rtol=1e-6)
    # the original kept its own state: only the first half
    first = multiclass_jaccard_index(preds[:2], target[:2], num_classes=C, ignore_index=255)
    np.testing.assert_allclose(metric.compute().numpy(), first.numpy(), rtol=1e-6)


@pytest.mark.only_backends("torch")
def test_torch_sync_on_an_explicit_group_copies_but_refuses_pickling(backend, one_rank_group):
    dist = one_rank_group
    group = dist.new_group([0])
    hook = torch_sync(group)
    assert copy.deepcopy(hook).group is group and copy.copy(hook) == hook
    with pytest.raises(TypeError, match="group"):
        pickle.dumps(anyiou.JaccardLoss("multiclass", sync=hook))
    x = backend.lib.arange(3.0)
    np.testing.assert_array_equal(copy.deepcopy(hook)(x).numpy(), [0.0, 1.0, 2.0])


@pytest.mark.only_backends("jax")
def test_jax_sync_survives_pickling(backend):
    import jax
    import jax.numpy as jnp

    hook = jax_sync(["batch", "model"])
    for clone in (pickle.loads(pickle.dumps(hook)), copy.deepcopy(hook)):
        assert isinstance(clone, JaxSync) and clone == hook and hash(clone) == hash(hook)
        assert clone.axis_name == ("batch", "model")
    x = np.arange(6.0).reshape(3, 2)
    loss = pickle.loads(pickle.dumps(anyiou.DiceLoss("multiclass", sync=jax_sync("i"))))
    out = jax.vmap(loss.sync, axis_name="i")(jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(out), np.broadcast_to(x.sum(0), (3, 2)))
