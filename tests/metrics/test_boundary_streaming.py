"""BoundaryIoU: streaming over batches equals one boundary_iou call on the concatenated
batch (and the per-mask reference oracle); summable state, merge, sync, checks, jit."""

from __future__ import annotations

import numpy as np
import pytest

from anyiou import metrics as M
from tests.support.boundary_oracles import boundary_iou_oracle

C = 4


def _batches(seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for n in (1, 3, 2):
        t = np.repeat(np.repeat(rng.integers(0, 3, (n, 6, 5)), 3, axis=1), 3, axis=2)
        p = np.where(rng.random(t.shape) < 0.8, np.roll(t, 1, axis=2),
                     rng.integers(0, C, t.shape))
        t = np.where(rng.random(t.shape) < 0.05, 255, t)
        out.append((p, t))
    return out


def _oracle(batches, average):
    p = np.concatenate([b[0] for b in batches])
    t = np.concatenate([b[1] for b in batches])
    one_hot = lambda x: np.stack([x == k for k in range(C)], axis=1)  # noqa: E731
    counted = np.broadcast_to((t != 255)[:, None], one_hot(t).shape)
    return boundary_iou_oracle(one_hot(t), one_hot(p), 2, counted=counted, average=average)


@pytest.mark.parametrize("average", ["macro", "micro", "weighted", "none"])
def test_streaming_equals_one_call(backend, average):
    batches = _batches()
    m = M.BoundaryIoU(C, ignore_index=255, average=average, dilation=2)
    for p, t in batches:
        m.update(backend.asarray(p), backend.asarray(t))
    np.testing.assert_allclose(backend.to_numpy(m.compute()), _oracle(batches, average),
                               rtol=1e-6)
    np.testing.assert_allclose(backend.to_numpy(m.per_class()), _oracle(batches, "none"),
                               rtol=1e-6)
    p_all = np.concatenate([b[0] for b in batches])
    t_all = np.concatenate([b[1] for b in batches])
    one = M.boundary_iou(backend.asarray(p_all), backend.asarray(t_all), C, average,
                         ignore_index=255, dilation=2)
    np.testing.assert_allclose(backend.to_numpy(m.compute()), backend.to_numpy(one))


def test_state_is_summable_and_mergeable(backend):
    batches = _batches(1)
    ranks = [M.BoundaryIoU(C, 255, dilation=2), M.BoundaryIoU(C, 255, dilation=2)]
    for i, (p, t) in enumerate(batches):
        ranks[i % 2].update(backend.asarray(p), backend.asarray(t))
    summed = ranks[0].state["counts"] + ranks[1].state["counts"]
    total = M.BoundaryIoU(C, 255, dilation=2).load_state({"counts": summed})
    np.testing.assert_allclose(backend.to_numpy(total.compute()), _oracle(batches, "macro"),
                               rtol=1e-6)
    merged = ranks[0].merge(ranks[1])
    np.testing.assert_array_equal(backend.to_numpy(merged.state["counts"]),
                                  backend.to_numpy(summed))
    # sync: a sum over "workers" (here: twice the local counts) scores the global counts
    synced = M.BoundaryIoU(C, 255, dilation=2, sync=lambda x: x + x)
    synced.load_state({"counts": summed})
    np.testing.assert_allclose(backend.to_numpy(synced.compute()),
                               backend.to_numpy(total.compute()))


def test_state_layout(backend):
    """counts = (intersection, union, target band) per class (hand-computed: the square
    of the boundary_iou example)."""
    t = np.zeros((1, 6, 6), np.int64)
    t[0, 1:5, 1:5] = 1
    m = M.BoundaryIoU(2, dilation=1).update(backend.asarray(np.roll(t, 1, axis=2)),
                                            backend.asarray(t))
    assert backend.to_numpy(m.state["counts"])[:, 1].tolist() == [6, 18, 12]


def test_errors():
    m = M.BoundaryIoU(3, dilation=1)
    with pytest.raises(RuntimeError, match="before any update"):
        m.compute()
    with pytest.raises(ValueError, match="dilation_ratio"):
        M.BoundaryIoU(3, dilation_ratio=0)
    with pytest.raises(TypeError, match="dilation must be an integer"):
        M.BoundaryIoU(3, dilation=1.5)
    with pytest.raises(ValueError, match="num_classes must be 1 in binary mode"):
        M.BoundaryIoU(3, mode="binary")
    with pytest.raises(ValueError, match="same num_classes"):
        m.merge(M.BoundaryIoU(3, dilation=2))
    with pytest.raises(TypeError, match="dtype"):
        m.load_state({"counts": np.zeros((3, 3), np.int32)})
    with pytest.raises(ValueError, match="shape"):
        m.load_state({"counts": np.zeros((2, 3), np.int64)})
    with pytest.raises(ValueError, match="num_classes=3"):
        m.update(np.zeros((1, 2, 4, 4)), np.zeros((1, 4, 4), np.int64))


@pytest.mark.only_backends("jax", reason="jit")
def test_update_state_jits(backend):
    import jax

    batches = _batches(2)
    m = M.BoundaryIoU(C, ignore_index=255, dilation=2)
    step = jax.jit(m.update_state)
    state = m.init_state(backend.asarray(batches[0][1]))
    for p, t in batches:
        state = step(state, backend.asarray(p), backend.asarray(t))
    np.testing.assert_allclose(np.asarray(jax.jit(m.compute_state)(state)),
                               _oracle(batches, "macro"), rtol=1e-6)
