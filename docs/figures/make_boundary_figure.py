"""Draw ``docs/img/boundary_iou.png``: a mask, its boundary band, and how mask IoU and
Boundary IoU react to a prediction shifted by k pixels (committed; the docs build does
not run this). Needs matplotlib; run from the repository root::

    PYTHONPATH=src python docs/figures/make_boundary_figure.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")

import array_api_compat.numpy as xp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from anyiou._lib.kernels._standard_box import box_interior  # noqa: E402
from anyiou.metrics import boundary_iou, jaccard_index  # noqa: E402
from anyiou.metrics._boundary import resolve_dilation  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "img" / "boundary_iou.png"
SIZE = 256


def _mask(size: int = SIZE) -> np.ndarray:
    """A large disc with a thin handle: interior-heavy, with one thin part."""
    yy, xx = np.mgrid[:size, :size]
    disc = (yy - 0.55 * size) ** 2 + (xx - 0.45 * size) ** 2 < (0.3 * size) ** 2
    handle = (np.abs(yy - 0.2 * size) < 3) & (xx > 0.45 * size) & (xx < 0.9 * size)
    return (disc | handle).astype(np.int64)


def _band(mask: np.ndarray, d: int) -> np.ndarray:
    """The mask's boundary band (its boundary_iou counts with itself)."""
    m = mask.astype(bool)[None]
    return (m & ~box_interior(xp, m, (1, 2), d, False))[0]


def main() -> Path:
    mask = _mask()
    d = resolve_dilation((SIZE, SIZE), 0.02, None)
    shifts = np.arange(0, 13)
    m_iou, b_iou = [], []
    for k in shifts:
        pred = np.roll(mask, int(k), axis=1)
        m_iou.append(float(jaccard_index(pred[None], mask[None], 2, "none")[1]))
        b_iou.append(float(boundary_iou(pred[None], mask[None], 2, "none")[1]))

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.9))
    axes[0].imshow(mask, cmap="Greys", vmin=0, vmax=1.6)
    axes[0].set_title("target mask G")
    overlay = np.where(_band(mask, d), 2, mask)
    axes[1].imshow(overlay, cmap="magma_r", vmin=0, vmax=2.6)
    axes[1].set_title(f"boundary band G_d ∩ G (d = {d} px = 0.02 x diagonal)")
    for ax in axes[:2]:
        ax.set_xticks([])
        ax.set_yticks([])
    axes[2].plot(shifts, m_iou, "o-", label="mask IoU")
    axes[2].plot(shifts, b_iou, "s-", label="Boundary IoU")
    axes[2].set_xlabel("prediction shifted right by k pixels")
    axes[2].set_ylabel("IoU of the mask")
    axes[2].set_ylim(0, 1.02)
    axes[2].grid(alpha=0.3)
    axes[2].legend()
    axes[2].set_title("a shift barely moves mask IoU")
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110)
    for k, a, b in zip(shifts, m_iou, b_iou, strict=True):
        print(f"k={k:2d}  mask IoU {a:.3f}  boundary IoU {b:.3f}")
    return OUT


if __name__ == "__main__":
    print(main())
