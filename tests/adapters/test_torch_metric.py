"""``anyiou.torch.MeanIoU`` against torchmetrics' ``MulticlassJaccardIndex`` (and the binary
and multilabel ones) over several batches: ``forward``'s batch value, ``compute``,
``reset``, its buffer under ``.to()`` and ``state_dict``, pickling mid-stream."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tm = pytest.importorskip("torchmetrics.classification")

from anyiou.torch import MeanIoU  # noqa: E402

pytestmark = pytest.mark.only_backends("torch", "torch_cuda")


def _batches(c: int = 4, n: int = 3, void: int | None = 255, scores: bool = False, seed: int = 0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        target = rng.integers(0, c, (2, 5, 6))
        if void is not None:
            target = np.where(rng.random(target.shape) < 0.2, void, target)
        preds = rng.normal(size=(2, c, 5, 6)).astype(np.float32) if scores else rng.integers(0, c, (2, 5, 6))
        out.append((preds, target))
    return out


def _device(backend):
    return backend.asarray(np.zeros(1)).device


@pytest.mark.parametrize("average", ["macro", "micro", "weighted", "none"])
@pytest.mark.parametrize("scores", [False, True], ids=["labels", "logits"])
def test_matches_torchmetrics_over_batches(backend, average: str, scores: bool):
    batches = _batches(scores=scores)
    ref = tm.MulticlassJaccardIndex(num_classes=4, ignore_index=255, average=average)
    metric = MeanIoU(4, 255, average=average).to(_device(backend))
    for preds, target in batches:
        expected_batch = ref(torch.from_numpy(preds), torch.from_numpy(target))
        got_batch = metric(backend.asarray(preds), backend.asarray(target))
        np.testing.assert_allclose(backend.to_numpy(got_batch), expected_batch.numpy(), rtol=1e-6)
    np.testing.assert_allclose(backend.to_numpy(metric.compute()), ref.compute().numpy(), rtol=1e-6)
    # update() adds without returning; reset() forgets
    metric.reset()
    ref.reset()
    preds, target = batches[0]
    assert metric.update(backend.asarray(preds), backend.asarray(target)) is None
    ref.update(torch.from_numpy(preds), torch.from_numpy(target))
    np.testing.assert_allclose(backend.to_numpy(metric.compute()), ref.compute().numpy(), rtol=1e-6)


def test_per_class_matches_torchmetrics(backend):
    ref = tm.MulticlassJaccardIndex(num_classes=4, average="none")
    metric = MeanIoU(4).to(_device(backend))
    for preds, target in _batches(void=None):
        ref.update(torch.from_numpy(preds), torch.from_numpy(target))
        metric.update(backend.asarray(preds), backend.asarray(target))
    np.testing.assert_allclose(backend.to_numpy(metric.per_class()), ref.compute().numpy(), rtol=1e-6)


@pytest.mark.parametrize("mode", ["binary", "multilabel"])
def test_binary_and_multilabel_match_torchmetrics(backend, mode: str):
    rng = np.random.default_rng(5)
    c = 1 if mode == "binary" else 3
    if mode == "binary":
        ref = tm.BinaryJaccardIndex(threshold=0.5)
    else:
        ref = tm.MultilabelJaccardIndex(num_labels=c, threshold=0.5, average="macro")
    metric = MeanIoU(c, mode=mode).to(_device(backend))
    for _ in range(3):
        preds = rng.random((2, c, 4, 5)).astype(np.float32)
        target = rng.integers(0, 2, (2, c, 4, 5))
        ref.update(torch.from_numpy(preds), torch.from_numpy(target))
        metric.update(backend.asarray(preds), backend.asarray(target))
    np.testing.assert_allclose(backend.to_numpy(metric.compute()), ref.compute().numpy(), rtol=1e-6)


def test_buffer_moves_with_to_and_stays_integer():
    metric = MeanIoU(3)
    assert metric.confmat.dtype == torch.int64
    # a torchmetrics state, not a buffer: DistributedDataParallel broadcasts buffers from
    # rank 0 at every forward, which would overwrite each rank's own counts
    assert "confmat" not in dict(metric.named_buffers())
    metric.half().to(torch.float64)  # counts are not floating: unchanged
    assert metric.confmat.dtype == torch.int64
    moved = metric.to("meta")
    assert moved is metric and metric.confmat.device.type == "meta"
    with pytest.raises(ValueError, match=r"preds is on cpu but the counts of MeanIoU are on meta"):
        metric.update(torch.zeros(1, 4, dtype=torch.int64), torch.zeros(1, 4, dtype=torch.int64))


def test_state_dict_round_trip_continues_the_stream(backend):
    batches = _batches(c=3, n=4, seed=7)
    ref = tm.MulticlassJaccardIndex(num_classes=3, ignore_index=255)
    first = MeanIoU(3, 255).to(_device(backend))
    for preds, target in batches:
        ref.update(torch.from_numpy(preds), torch.from_numpy(target))
    for preds, target in batches[:2]:
        first.update(backend.asarray(preds), backend.asarray(target))
    state = first.state_dict()
    assert list(state) == ["confmat"]
    second = MeanIoU(3, 255)
    second.load_state_dict(state)
    second.to(_device(backend))
    for preds, target in batches[2:]:
        second.update(backend.asarray(preds), backend.asarray(target))
    np.testing.assert_allclose(backend.to_numpy(second.compute()), ref.compute().numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="size mismatch"):
        MeanIoU(4).load_state_dict(state)


def _identity_sync(x):
    """A picklable stand-in for an all-reduce over one worker."""
    return x + 0


@pytest.mark.parametrize("clone", [copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))],
                         ids=["deepcopy", "pickle"])
def test_copies_mid_stream(backend, clone):
    batches = _batches(c=4, n=3, seed=9)
    ref = tm.MulticlassJaccardIndex(num_classes=4, ignore_index=255)
    metric = MeanIoU(4, 255, sync=_identity_sync).to(_device(backend))
    for preds, target in batches:
        ref.update(torch.from_numpy(preds), torch.from_numpy(target))
    for preds, target in batches[:2]:
        metric.update(backend.asarray(preds), backend.asarray(target))
    copied = clone(metric)
    preds, target = batches[2]
    copied.update(backend.asarray(preds), backend.asarray(target))
    np.testing.assert_allclose(backend.to_numpy(copied.compute()), ref.compute().numpy(), rtol=1e-6)
    # the original is untouched by the copy's update: it has seen two batches
    ref2 = tm.MulticlassJaccardIndex(num_classes=4, ignore_index=255)
    for p, t in batches[:2]:
        ref2.update(torch.from_numpy(p), torch.from_numpy(t))
    np.testing.assert_allclose(backend.to_numpy(metric.compute()), ref2.compute().numpy(), rtol=1e-6)


def test_compute_before_update_is_zero_division():
    # torchmetrics warns, and the zero counts score zero_division
    with pytest.warns(UserWarning, match="called before the ``update`` method"):
        assert MeanIoU(3).compute().item() == 0.0
    with pytest.warns(UserWarning, match="called before the ``update`` method"):
        assert MeanIoU(3, zero_division=1.0).compute().item() == 1.0


def test_repr_and_bad_sync():
    assert repr(MeanIoU(3, 255)) == (
        "MeanIoU(num_classes=3, ignore_index=255, average='macro', zero_division=0.0, "
        "mode='multiclass')"
    )
    with pytest.raises(TypeError, match="sync must be a callable"):
        MeanIoU(3, sync=1)


def test_pickle_with_torch_sync_keeps_counts_and_hook(backend):
    from anyiou.distributed import torch_sync

    preds, target = _batches(c=3, n=1, seed=11)[0]
    metric = MeanIoU(3, 255, sync=torch_sync()).to(_device(backend))
    metric.update(backend.asarray(preds), backend.asarray(target))
    ref = tm.MulticlassJaccardIndex(num_classes=3, ignore_index=255)
    ref.update(torch.from_numpy(preds), torch.from_numpy(target))
    for clone in (pickle.loads(pickle.dumps(metric)), copy.deepcopy(metric)):
        assert type(clone.sync) is type(metric.sync)
        clone.sync = None  # scoring the local counts needs no process group
        np.testing.assert_allclose(backend.to_numpy(clone.compute()), ref.compute().numpy(), rtol=1e-6)
