"""``anyiou.torch.MeanIoU`` and ``BoundaryIoU`` as ``torchmetrics.Metric``\\ s: in a
``MetricCollection``, logged by a Lightning module with ``self.log(..., on_epoch=True)``,
the ``sync=`` hook in place of torchmetrics' own reduction, and the smp mode constants.
Oracles: torchmetrics' ``MulticlassJaccardIndex``, the reference Boundary IoU recipe
(``tests.support.boundary_oracles``) and smp's constants."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torchmetrics = pytest.importorskip("torchmetrics")
tm = pytest.importorskip("torchmetrics.classification")

from anyiou.torch import BoundaryIoU, MeanIoU  # noqa: E402
from tests.support.boundary_oracles import boundary_iou_oracle  # noqa: E402

pytestmark = pytest.mark.only_backends("torch", "torch_cuda")

C = 4


def _batches(n: int = 3, seed: int = 0):
    """Blocky label maps (so that bands are not the whole image), 5% void (255)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        t = np.repeat(np.repeat(rng.integers(0, 3, (2, 6, 5)), 3, axis=1), 3, axis=2)
        p = np.where(rng.random(t.shape) < 0.8, np.roll(t, 1, axis=2), rng.integers(0, C, t.shape))
        t = np.where(rng.random(t.shape) < 0.05, 255, t)
        out.append((p, t))
    return out


def _boundary_oracle(batches, average: str, dilation: int = 2):
    p = np.concatenate([b[0] for b in batches])
    t = np.concatenate([b[1] for b in batches])
    one_hot = lambda x: np.stack([x == k for k in range(C)], axis=1)  # noqa: E731
    counted = np.broadcast_to((t != 255)[:, None], one_hot(t).shape)
    return boundary_iou_oracle(one_hot(t), one_hot(p), dilation, counted=counted, average=average)


def _device(backend):
    return backend.asarray(np.zeros(1)).device


def test_is_a_torchmetrics_metric():
    for metric in (MeanIoU(C), BoundaryIoU(C)):
        assert isinstance(metric, torchmetrics.Metric)
        assert metric.full_state_update is False and metric.higher_is_better is True


@pytest.mark.parametrize("average", ["macro", "micro", "weighted", "none"])
def test_boundary_module_matches_reference_recipe(backend, average: str):
    batches = _batches()
    metric = BoundaryIoU(C, 255, average=average, dilation=2).to(_device(backend))
    for i, (p, t) in enumerate(batches):
        batch = metric(backend.asarray(p), backend.asarray(t))
        np.testing.assert_allclose(backend.to_numpy(batch), _boundary_oracle([batches[i]], average), rtol=1e-6)
    np.testing.assert_allclose(backend.to_numpy(metric.compute()), _boundary_oracle(batches, average), rtol=1e-6)
    np.testing.assert_allclose(backend.to_numpy(metric.per_class()), _boundary_oracle(batches, "none"), rtol=1e-6)
    metric.reset()
    p, t = batches[1]
    assert metric.update(backend.asarray(p), backend.asarray(t)) is None
    np.testing.assert_allclose(backend.to_numpy(metric.compute()), _boundary_oracle([batches[1]], average), rtol=1e-6)


def test_boundary_module_state_dict_pickle_repr(backend):
    batches = _batches(n=4, seed=3)
    first = BoundaryIoU(C, 255, dilation=2).to(_device(backend))
    for p, t in batches[:2]:
        first.update(backend.asarray(p), backend.asarray(t))
    state = first.state_dict()
    assert list(state) == ["counts"] and state["counts"].dtype == torch.int64
    second = BoundaryIoU(C, 255, dilation=2)
    second.load_state_dict(state)
    second = pickle.loads(pickle.dumps(second)).to(_device(backend))
    for p, t in batches[2:]:
        second.update(backend.asarray(p), backend.asarray(t))
    np.testing.assert_allclose(backend.to_numpy(second.compute()), _boundary_oracle(batches, "macro"), rtol=1e-6)
    with pytest.raises(RuntimeError, match="size mismatch for counts"):
        BoundaryIoU(C + 1, dilation=2).load_state_dict(state)
    assert repr(BoundaryIoU(2, 255, dilation=3)) == (
        "BoundaryIoU(num_classes=2, ignore_index=255, average='macro', zero_division=0.0, "
        "mode='multiclass', dilation=3)"
    )
    with pytest.raises(ValueError, match="preds is on cpu but the counts of BoundaryIoU are on meta"):
        BoundaryIoU(2).to("meta").update(torch.zeros(1, 4, 4, dtype=torch.int64),
                                         torch.zeros(1, 4, 4, dtype=torch.int64))


def test_metric_collection(backend):
    batches = _batches(seed=5)
    collection = torchmetrics.MetricCollection({
        "miou": MeanIoU(C, 255),
        "iou_per_class": MeanIoU(C, 255, average="none"),
        "biou": BoundaryIoU(C, 255, dilation=2),
    }).to(_device(backend))
    ref = tm.MulticlassJaccardIndex(num_classes=C, ignore_index=255)
    ref_none = tm.MulticlassJaccardIndex(num_classes=C, ignore_index=255, average="none")
    for p, t in batches:
        out = collection(backend.asarray(p), backend.asarray(t))
        expected = ref(torch.from_numpy(p), torch.from_numpy(t))
        ref_none.update(torch.from_numpy(p), torch.from_numpy(t))
        np.testing.assert_allclose(backend.to_numpy(out["miou"]), expected.numpy(), rtol=1e-6)
    result = collection.compute()
    np.testing.assert_allclose(backend.to_numpy(result["miou"]), ref.compute().numpy(), rtol=1e-6)
    np.testing.assert_allclose(backend.to_numpy(result["iou_per_class"]), ref_none.compute().numpy(), rtol=1e-6)
    np.testing.assert_allclose(backend.to_numpy(result["biou"]), _boundary_oracle(batches, "macro"), rtol=1e-6)
    collection.reset()
    assert int(collection["miou"].confmat.sum()) == 0


def _sum_of_two(x):
    """A picklable stand-in for an all-reduce over two identical workers."""
    return x * 2


def test_sync_hook_replaces_torchmetrics_reduction():
    metric = MeanIoU(C)
    assert metric.sync is None and metric.sync_on_compute is True
    hooked = MeanIoU(C, sync=_sum_of_two)
    assert hooked.sync is _sum_of_two and hooked.sync_on_compute is False
    hooked.sync = None  # torchmetrics' reduction again
    assert hooked.sync_on_compute is True
    assert MeanIoU(C, sync_on_compute=False).sync_on_compute is False
    with pytest.raises(ValueError, match="sync and sync_on_compute=True"):
        MeanIoU(C, sync=_sum_of_two, sync_on_compute=True)
    with pytest.raises(TypeError, match="sync must be a callable"):
        BoundaryIoU(C, sync=1)


def test_sync_hook_scores_summed_counts_and_forward_stays_local():
    """``compute`` scores hook(counts); the batch value of forward does not call it."""
    calls = []

    def hook(x):
        calls.append(x.clone())
        return x * 2  # doubled counts: the same IoU, so the oracle is unchanged

    p, t = _batches(n=1, seed=8)[0]
    metric = MeanIoU(C, 255, sync=hook)
    batch = metric(torch.from_numpy(p), torch.from_numpy(t))
    assert calls == []
    ref = tm.MulticlassJaccardIndex(num_classes=C, ignore_index=255)
    np.testing.assert_allclose(batch.numpy(), ref(torch.from_numpy(p), torch.from_numpy(t)).numpy(), rtol=1e-6)
    np.testing.assert_allclose(metric.compute().numpy(), ref.compute().numpy(), rtol=1e-6)
    assert len(calls) == 1 and torch.equal(calls[0], metric.confmat)


def test_mode_constants_are_smp_s():
    import anyiou.torch as at
    from tests.support.oracles import smp_losses

    smp = smp_losses()
    assert (at.BINARY_MODE, at.MULTICLASS_MODE, at.MULTILABEL_MODE) == (
        smp.BINARY_MODE, smp.MULTICLASS_MODE, smp.MULTILABEL_MODE)
    assert at.MeanIoU(1, mode=at.BINARY_MODE).metric.mode == "binary"
    assert at.JaccardLoss(at.MULTILABEL_MODE).mode == "multilabel"
