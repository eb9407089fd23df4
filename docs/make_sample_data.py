"""Generate the example dataset shipped in ``src/anyiou/data/example`` (a few KB).

Five synthetic 48x64 scenes with four classes (background, circle, square, bar):

* ``targets/scene_K.png``: VOC-style palette PNGs; the outline of every object is void
  (label 255), as in PASCAL VOC ground truth;
* ``preds/scene_K.png``: grayscale PNG predictions of the same names: the objects
  shifted and resized a little, one square partly taken for a circle, a spurious blob;
* ``classes.txt``: one class name per line.

Deterministic (fixed seed). Run from the repository root::

    python docs/make_sample_data.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

OUT = Path(__file__).resolve().parents[1] / "src" / "anyiou" / "data" / "example"
CLASSES = ("background", "circle", "square", "bar")
H, W = 48, 64
VOID = 255


def voc_palette() -> list[int]:
    """The PASCAL VOC colour map (256 RGB entries, flattened)."""
    palette = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette += [r, g, b]
    return palette


def draw(shapes: list[tuple[str, float, float, float]]) -> np.ndarray:
    """Label map of ``(kind, row, col, size)`` shapes painted in order on background."""
    rows, cols = np.mgrid[0:H, 0:W]
    labels = np.zeros((H, W), dtype=np.uint8)
    for kind, r, c, s in shapes:
        if kind == "circle":
            mask = (rows - r) ** 2 + (cols - c) ** 2 <= s**2
        elif kind == "square":
            mask = (np.abs(rows - r) <= s) & (np.abs(cols - c) <= s)
        else:  # a horizontal bar across the image
            mask = np.abs(rows - r) <= s
        labels[mask] = CLASSES.index(kind)
    return labels


def outline(labels: np.ndarray) -> np.ndarray:
    """Pixels whose 4-neighbourhood holds another label (the void band of VOC)."""
    edge = np.zeros(labels.shape, dtype=bool)
    edge[1:, :] |= labels[1:, :] != labels[:-1, :]
    edge[:-1, :] |= labels[:-1, :] != labels[1:, :]
    edge[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    edge[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    return edge


def scene(rng: np.random.Generator, k: int) -> tuple[np.ndarray, np.ndarray]:
    truth = [
        ("bar", rng.uniform(36, 42), 0.0, rng.uniform(2, 4)),
        ("circle", rng.uniform(12, 30), rng.uniform(12, 28), rng.uniform(6, 10)),
        ("square", rng.uniform(12, 28), rng.uniform(38, 52), rng.uniform(5, 8)),
    ]
    guess = [
        (kind, r + rng.uniform(-2, 2), c + rng.uniform(-3, 3), s * rng.uniform(0.8, 1.15))
        for kind, r, c, s in truth
    ]
    if k == 2:  # the square partly read as a circle
        _, r, c, s = guess[2]
        guess.append(("circle", r - s / 2, c - s / 2, s * 0.7))
    if k == 4:  # a spurious square on the background
        guess.append(("square", 6.0, 58.0, 3.0))
    target = draw(truth)
    target[outline(target)] = VOID
    return target, draw(guess)


def main() -> None:
    rng = np.random.default_rng(2024)
    (OUT / "targets").mkdir(parents=True, exist_ok=True)
    (OUT / "preds").mkdir(parents=True, exist_ok=True)
    palette = voc_palette()
    for k in range(5):
        target, pred = scene(rng, k)
        img = Image.frombytes("P", (W, H), target.tobytes())
        img.putpalette(palette)
        img.save(OUT / "targets" / f"scene_{k}.png", optimize=True)
        Image.fromarray(pred).save(OUT / "preds" / f"scene_{k}.png", optimize=True)
    (OUT / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()
