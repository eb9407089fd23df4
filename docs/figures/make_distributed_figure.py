"""Draw ``docs/img/distributed_loss.png``: the mean of per-rank Jaccard losses against
the global-batch loss (what ``sync=`` computes), on a small imbalanced batch. Committed;
the docs build does not run this. Needs matplotlib::

    python docs/figures/make_distributed_figure.py

The batch: 8 images of 32 x 32, 3 classes (background, object, rare lesion). The lesion
is in image 0 only, and the "model" predicts some lesion pixels in every image (false
positives). Split over W ranks, each rank sees 8 / W images. The workers of a data-parallel
run are simulated in one process: the sync hook is fed the statistics every "rank"
recorded in a first pass, which is what an all-reduce returns.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from anyiou import JaccardLoss  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "img" / "distributed_loss.png"
CLASSES = ["background", "object", "rare lesion"]
N, SIZE = 8, 32
WORLD_SIZES = [1, 2, 4, 8]


def batch(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits (N, 3, SIZE, SIZE) and labels (N, SIZE, SIZE)."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    labels = np.zeros((N, SIZE, SIZE), np.int64)
    for i in range(N):
        cy, cx, r = rng.uniform(10, 22), rng.uniform(10, 22), rng.uniform(5, 9)
        labels[i][np.hypot(rows - cy, cols - cx) < r] = 1
    labels[0, 3:8, 3:8] = 2  # 25 lesion pixels, image 0 only
    logits = 2.0 * np.eye(3)[labels].transpose(0, 3, 1, 2) + rng.normal(0, 1.0, (N, 3, SIZE, SIZE))
    logits[:, 2] -= 0.8  # the lesion is predicted weakly ...
    logits[:, 2, 20:24, 24:28] += 2.5  # ... and falsely in a corner of every image
    return logits, labels


def per_rank_mean(loss: JaccardLoss, logits: np.ndarray, labels: np.ndarray, w: int):
    """Mean over ranks of each rank's own loss (what training without sync optimises)."""
    shards = zip(np.split(logits, w), np.split(labels, w), strict=True)
    return np.mean([loss(x, y) for x, y in shards], axis=0)


def global_batch(kwargs: dict, logits: np.ndarray, labels: np.ndarray, w: int):
    """Every rank's loss with ``sync=``: the all-reduce is simulated by summing the (3, C)
    statistics recorded from every rank; all ranks get the same value."""
    recorded: list[np.ndarray] = []
    record = JaccardLoss("multiclass", **kwargs, sync=lambda s: recorded.append(s) or s)
    shards = list(zip(np.split(logits, w), np.split(labels, w), strict=True))
    for x, y in shards:
        record(x, y)
    total = np.sum(recorded, axis=0)
    synced = JaccardLoss("multiclass", **kwargs, sync=lambda s: total)
    values = [synced(x, y) for x, y in shards]
    assert all(np.allclose(v, values[0]) for v in values)
    return values[0]


def main() -> None:
    logits, labels = batch()
    mean_loss = JaccardLoss("multiclass")
    class_loss = JaccardLoss("multiclass", reduction="none")
    single = mean_loss(logits, labels)  # one process, whole batch

    glob = [global_batch({}, logits, labels, w) for w in WORLD_SIZES]
    ranked = [per_rank_mean(mean_loss, logits, labels, w) for w in WORLD_SIZES]
    np.testing.assert_allclose(glob, single, rtol=1e-12)

    w_bar = 4
    glob_c = global_batch({"reduction": "none"}, logits, labels, w_bar)
    ranked_c = per_rank_mean(class_loss, logits, labels, w_bar)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    ax1.plot(WORLD_SIZES, glob, "o-", color="#1f77b4", label="global batch (sync=)")
    ax1.plot(WORLD_SIZES, ranked, "s--", color="#d62728", label="mean of per-rank losses")
    ax1.set_xscale("log", base=2)
    ax1.set_xticks(WORLD_SIZES, [str(w) for w in WORLD_SIZES])
    ax1.set_xlabel("number of ranks the 8-image batch is split over")
    ax1.set_ylabel("JaccardLoss (mean over classes)")
    ax1.set_title("Same batch, same predictions")
    ax1.legend(frameon=False)

    pos = np.arange(len(CLASSES))
    ax2.bar(pos - 0.2, glob_c, 0.4, color="#1f77b4", label="global batch (sync=)")
    ax2.bar(pos + 0.2, ranked_c, 0.4, color="#d62728", label="mean of per-rank losses")
    ax2.set_xticks(pos, CLASSES)
    ax2.set_ylabel("per-class JaccardLoss")
    ax2.set_title(f"Per class, {w_bar} ranks of 2 images")
    ax2.legend(frameon=False)
    for x, v in zip(pos, glob_c, strict=True):
        ax2.annotate(f"{v:.2f}", (x - 0.2, v), ha="center", va="bottom", fontsize=8)
    for x, v in zip(pos, ranked_c, strict=True):
        ax2.annotate(f"{v:.2f}", (x + 0.2, v), ha="center", va="bottom", fontsize=8)

    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110)
    print(f"wrote {OUT}")
    print("world sizes      ", WORLD_SIZES)
    print("global batch     ", np.round(glob, 4).tolist())
    print("per-rank mean    ", np.round(ranked, 4).tolist())
    print(f"per class, W={w_bar}: global", np.round(glob_c, 4).tolist(),
          "per-rank mean", np.round(ranked_c, 4).tolist())


if __name__ == "__main__":
    main()
