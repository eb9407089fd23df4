"""Draw the documentation figures into ``docs/img/`` (committed; the docs build does not
run this). Needs matplotlib and Pillow::

    python docs/figures/make_figures.py

* ``loss_vs_iou.png``: Jaccard, Dice and Lovasz loss values against the IoU of the
  thresholded prediction, on two sweeps of soft predictions of a disk;
* ``example_iou.png``: one scene of the shipped example dataset: target, prediction,
  error map and per-class IoU (the numbers ``anyiou evaluate --example --per-image``
  prints);
* ``onehot.png``: a multiclass target and its one-hot channels (void pixels are 0 in
  every channel).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from PIL import Image  # noqa: E402

from anyiou import DiceLoss, JaccardLoss, LovaszLoss  # noqa: E402
from anyiou.data import EXAMPLE_IGNORE_INDEX, EXAMPLE_NUM_CLASSES, example_dir  # noqa: E402
from anyiou.metrics import jaccard_index  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "img"
VOID = EXAMPLE_IGNORE_INDEX
SIZE = 64
# background, circle, square, bar (PASCAL VOC colours), then void
CLASS_COLOURS = ["#000000", "#800000", "#008000", "#808000"]
VOID_COLOUR = "#e0dcc8"


def _disk(cy: float, cx: float, r: float) -> np.ndarray:
    """Signed distance to the circle (positive inside), shape (SIZE, SIZE)."""
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    return r - np.hypot(rows - cy, cols - cx)


def _sweep(logit_maps: list[np.ndarray], target: np.ndarray) -> dict[str, np.ndarray]:
    """IoU of ``logits > 0`` and each loss, for every logit map."""
    losses = {
        "JaccardLoss": JaccardLoss("binary"),
        "DiceLoss": DiceLoss("binary"),
        "LovaszLoss (hinge)": LovaszLoss("binary"),
    }
    y = target[None, None].astype(np.int64)
    out: dict[str, list[float]] = {"IoU": [], **{k: [] for k in losses}}
    for z in logit_maps:
        hard = z > 0
        inter = np.logical_and(hard, target).sum()
        union = np.logical_or(hard, target).sum()
        out["IoU"].append(inter / union)
        for name, loss in losses.items():
            out[name].append(float(loss(z[None, None].astype(np.float64), y)))
    return {k: np.asarray(v) for k, v in out.items()}


def loss_vs_iou() -> None:
    target = (_disk(32, 32, 14) > 0).astype(np.int64)
    sharpness = 1.0  # logits = signed distance in pixels: soft only near the border
    sweeps = {
        "shifted sideways 0-30 px": [sharpness * _disk(32, 32 + s, 14)
                                     for s in np.linspace(0, 30, 31)],
        "shrunk (radius 14 to 1 px)": [sharpness * _disk(32, 32, r)
                                       for r in np.linspace(14, 1, 27)],
        "grown (radius 14 to 30 px)": [sharpness * _disk(32, 32, r)
                                       for r in np.linspace(14, 30, 33)],
    }
    results = {name: _sweep(maps, target) for name, maps in sweeps.items()}
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.5))
    markers = dict(zip(sweeps, ("o", "^", "s"), strict=True))
    for ax, loss in zip(axes, ("JaccardLoss", "DiceLoss", "LovaszLoss (hinge)"), strict=True):
        for name, res in results.items():
            ax.plot(res["IoU"], res[loss], "-" + markers[name], ms=3, lw=1, label=name)
        ax.plot([0, 1], [1, 0], ":", color="grey", lw=1, label="1 - IoU")
        ax.set_title(loss, fontsize=10)
        ax.set_xlabel("IoU of the thresholded prediction")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("loss value")
    axes[0].legend(fontsize=7, title="prediction", title_fontsize=7)
    fig.suptitle("Binary losses from logits against IoU: a disk of radius 14 px, predicted "
                 "with logits = signed distance to another disk", fontsize=10)
    fig.tight_layout()
    fig.savefig(OUT / "loss_vs_iou.png", dpi=110)
    plt.close(fig)


def _label_image(ax, labels: np.ndarray, title: str) -> None:
    cmap = ListedColormap([*CLASS_COLOURS, VOID_COLOUR])
    shown = np.where(labels == VOID, len(CLASS_COLOURS), labels)
    ax.imshow(shown, cmap=cmap, vmin=0, vmax=len(CLASS_COLOURS), interpolation="nearest")
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def example_iou() -> None:
    root = example_dir()
    names = (root / "classes.txt").read_text().split()
    scene = "scene_2.png"
    target = np.asarray(Image.open(root / "targets" / scene)).astype(np.int64)
    pred = np.asarray(Image.open(root / "preds" / scene)).astype(np.int64)
    iou = jaccard_index(pred[None], target[None], EXAMPLE_NUM_CLASSES, average="none",
                        ignore_index=VOID)
    miou = float(jaccard_index(pred[None], target[None], EXAMPLE_NUM_CLASSES,
                               ignore_index=VOID))
    errors = np.where(target == VOID, 2, (pred != target).astype(np.int64))
    fig, axes = plt.subplots(1, 4, figsize=(11, 2.7),
                             gridspec_kw={"width_ratios": [1, 1, 1, 1.1]})
    _label_image(axes[0], target, "target (void: light)")
    _label_image(axes[1], pred, "prediction")
    axes[2].imshow(errors, cmap=ListedColormap(["#3a923a", "#d62728", VOID_COLOUR]),
                   vmin=0, vmax=2, interpolation="nearest")
    axes[2].set_title("correct / wrong / void", fontsize=10)
    axes[2].set_xticks([])
    axes[2].set_yticks([])
    bars = axes[3].barh(names[::-1], np.asarray(iou)[::-1], color=CLASS_COLOURS[::-1])
    axes[3].bar_label(bars, fmt="%.3f", fontsize=8, padding=2)
    axes[3].set_xlim(0, 1.15)
    axes[3].set_title(f"per-class IoU (mIoU {miou:.3f})", fontsize=10)
    fig.tight_layout()
    fig.savefig(OUT / "example_iou.png", dpi=110)
    plt.close(fig)


def onehot() -> None:
    root = example_dir()
    names = (root / "classes.txt").read_text().split()
    target = np.asarray(Image.open(root / "targets" / "scene_0.png")).astype(np.int64)
    fig, axes = plt.subplots(1, EXAMPLE_NUM_CLASSES + 1, figsize=(11, 2.1))
    _label_image(axes[0], target, "target labels (void: light)")
    for c in range(EXAMPLE_NUM_CLASSES):
        channel = (target == c).astype(np.int64)  # void pixels are 0 in every channel
        axes[c + 1].imshow(channel, cmap=ListedColormap(["#ffffff", "#1f4e8c"]),
                           vmin=0, vmax=1, interpolation="nearest")
        axes[c + 1].set_title(f"channel {c}: {names[c]}", fontsize=9)
        axes[c + 1].set_xticks([])
        axes[c + 1].set_yticks([])
    fig.suptitle("A multiclass target (H, W) and its one-hot encoding (C, H, W); void pixels "
                 "are 0 in every channel", fontsize=10)
    fig.tight_layout()
    fig.savefig(OUT / "onehot.png", dpi=110)
    plt.close(fig)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    loss_vs_iou()
    example_iou()
    onehot()
    print(f"wrote {', '.join(sorted(p.name for p in OUT.glob('*.png')))} to {OUT}")


if __name__ == "__main__":
    main()
