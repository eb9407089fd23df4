"""Dask: `confusion_matrix`, `jaccard_index`, `dice_score` and `MeanIoU.update` take Dask arrays and
stay lazy (nothing runs until the user computes; then one task graph runs once), on
label volumes of many chunks, equal to sklearn on the NumPy data; with the threaded
scheduler, on a NumPy memmap read chunk by chunk, and on a ``dask.distributed``
``LocalCluster`` of 2 worker processes on 127.0.0.1."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.metrics as skm

from anyiou.metrics import MeanIoU, confusion_matrix, dice_score, jaccard_index

pytestmark = pytest.mark.only_backends("dask")

C = 5
CHUNKS = (1, 16, 16)


def _volume(seed=0, shape=(3, 50, 40)):
    """Integer predictions and targets; 255 voids; class 4 rare (one image only)."""
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 4, size=shape)
    t[-1, :5, :5] = 4
    p = np.where(rng.random(shape) < 0.7, t, rng.integers(0, C, shape))
    t[0, 10:14, :] = 255
    return p, t


def _sk_confmat(p, t):
    keep = t != 255
    return skm.confusion_matrix(t[keep], p[keep], labels=range(C))


def _sk_iou(p, t, average):
    keep = t != 255
    if average == "none":
        return skm.jaccard_score(t[keep], p[keep], labels=range(C), average=None,
                                 zero_division=0)
    return skm.jaccard_score(t[keep], p[keep], average=average)


class _Schedulers:
    """Dask schedulers for the laziness checks: one that forbids computing, one that
    counts how many times a task graph is run."""

    def __init__(self):
        self.runs = 0

    @staticmethod
    def forbid(dsk, keys, **kwargs):
        raise AssertionError("a Dask graph was computed while it should stay lazy")

    def count(self, dsk, keys, **kwargs):
        import dask.threaded

        self.runs += 1
        return dask.threaded.get(dsk, keys, **kwargs)


def test_lazy_until_computed_then_one_graph(backend):
    import dask
    import dask.array as da

    p, t = _volume()
    dp, dt = da.from_array(p, chunks=CHUNKS), da.from_array(t, chunks=CHUNKS)
    assert dt.npartitions > 1
    sched = _Schedulers()
    with dask.config.set(scheduler=sched.forbid):
        cm = confusion_matrix(dp, dt, C, ignore_index=255)
        macro = jaccard_index(dp, dt, C, ignore_index=255)
        per_class = jaccard_index(dp, dt, C, average="none", ignore_index=255)
        dice = dice_score(dp, dt, C, ignore_index=255)
        metric = MeanIoU(C, ignore_index=255)
        for i in range(p.shape[0]):  # uneven stream: one image at a time
            metric.update(dp[i : i + 1], dt[i : i + 1])
        streamed = metric.compute()
    for x in (cm, macro, per_class, dice, streamed, metric.confmat):
        assert isinstance(x, da.Array)
    with dask.config.set(scheduler=sched.count):
        cm, macro, per_class, dice, streamed = dask.compute(cm, macro, per_class, dice,
                                                             streamed)
    assert sched.runs == 1
    np.testing.assert_array_equal(cm, _sk_confmat(p, t))
    np.testing.assert_allclose(macro, _sk_iou(p, t, "macro"), rtol=1e-12)
    np.testing.assert_allclose(per_class, _sk_iou(p, t, "none"), rtol=1e-12)
    np.testing.assert_allclose(streamed, _sk_iou(p, t, "macro"), rtol=1e-12)
    keep = t != 255
    np.testing.assert_allclose(dice, skm.f1_score(t[keep], p[keep], average="macro"),
                               rtol=1e-12)


def test_score_predictions_argmax_lazily(backend):
    """(N, C, *S) scores chunked along space: the argmax stays a blockwise step."""
    import dask
    import dask.array as da

    p, t = _volume(1)
    rng = np.random.default_rng(1)
    scores = rng.random((p.shape[0], C, *p.shape[1:]))
    scores += 2.0 * (np.arange(C)[None, :, None, None] == p[:, None])  # argmax == p
    with dask.config.set(scheduler=_Schedulers.forbid):
        iou = jaccard_index(da.from_array(scores, chunks=(1, C, 16, 16)),
                            da.from_array(t, chunks=CHUNKS), C, average="micro",
                            ignore_index=255)
    np.testing.assert_allclose(iou.compute(scheduler="threads"), _sk_iou(p, t, "micro"),
                               rtol=1e-12)


def test_numpy_memmap_dataset_chunk_by_chunk(backend, tmp_path):
    """The docs' recipe: a label dataset on disk, never loaded whole."""
    import dask.array as da

    p, t = _volume(2, shape=(6, 48, 40))
    np.save(tmp_path / "pred.npy", p.astype(np.uint8))
    np.save(tmp_path / "true.npy", t.astype(np.uint8))
    preds = da.from_array(np.load(tmp_path / "pred.npy", mmap_mode="r"), chunks=(2, 24, 40))
    target = da.from_array(np.load(tmp_path / "true.npy", mmap_mode="r"), chunks=(2, 24, 40))
    metric = MeanIoU(C, ignore_index=255, average="none").update(preds, target)
    np.testing.assert_allclose(metric.compute().compute(scheduler="threads"),
                               _sk_iou(p, t, "none"), rtol=1e-12)


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  silence_logs=40) as cluster, \
            distributed.Client(cluster, timeout=60) as client:
        yield client


def test_local_cluster_equals_numpy(backend, client):
    import dask.array as da

    p, t = _volume(3)
    dp, dt = da.from_array(p, chunks=CHUNKS), da.from_array(t, chunks=CHUNKS)
    cm = confusion_matrix(dp, dt, C, ignore_index=255)
    macro = jaccard_index(dp, dt, C, ignore_index=255)
    metric = MeanIoU(C, ignore_index=255, average="weighted")
    metric.update(dp[:2], dt[:2]).update(dp[2:], dt[2:])
    futures = client.compute([cm, macro, metric.compute()])
    cm, macro, weighted = (f.result(timeout=60) for f in futures)
    np.testing.assert_array_equal(cm, _sk_confmat(p, t))
    np.testing.assert_allclose(macro, _sk_iou(p, t, "macro"), rtol=1e-12)
    np.testing.assert_allclose(weighted, _sk_iou(p, t, "weighted"), rtol=1e-12)
    assert {w["host"] for w in client.scheduler_info()["workers"].values()} == {"127.0.0.1"}
