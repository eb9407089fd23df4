"""Draw ``docs/img/architecture.png``: the path of one loss call through the modules
(committed; the docs build does not run this). Needs matplotlib::

    python docs/figures/make_architecture_figure.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "img" / "architecture.png"

# (key, x, y, title, body, colour): one box per module on the path of the call
LAYERS = {"public": "#dbe8f5", "core": "#e8f0da", "checks": "#f6e7cf", "kernels": "#f3dada"}
BOXES = [
    ("call", 0.50, 0.93, "JaccardLoss(\"multiclass\")(y_pred, y_true)",
     "losses/_jaccard.py: alpha = beta = 1 on OverlapLoss", "public"),
    ("overlap", 0.50, 0.78, "losses/_overlap.py  OverlapLoss.__call__",
     "options checked at construction (_lib/_options.py)", "core"),
    ("namespace", 0.14, 0.62, "_lib/_namespace.py", "get_namespace: one library,\none device",
     "core"),
    ("stats", 0.50, 0.62, "losses/_statistics.py  overlap_statistics",
     "branches on the mode; (N, C) I, Sp, St", "core"),
    ("checks", 0.86, 0.70, "_lib/_checks.py", "check_loss_pair: shapes, dtypes", "checks"),
    ("values", 0.86, 0.54, "_lib/_values.py", "labels in range (eager only)", "checks"),
    ("router", 0.50, 0.44, "_lib/kernels/__init__.py  (router)",
     "softmax_label_stats: picks the module of y_pred's library", "kernels"),
    ("torch", 0.14, 0.25, "kernels/_torch.py", "SoftmaxLabelStats\n(autograd.Function)", "kernels"),
    ("jax", 0.38, 0.25, "kernels/_jax.py", "custom JVP rules", "kernels"),
    ("numpy", 0.62, 0.25, "kernels/_numpy.py", "one-buffer softmax,\nweighted bincount", "kernels"),
    ("standard", 0.86, 0.25, "kernels/_standard.py", "pure array API\n(strict, Dask, fallback)",
     "kernels"),
    ("reduce", 0.50, 0.07, "losses/_class_losses.py",
     "tversky_score -> 1 - score -> reduce_class_losses (0-d array)", "core"),
]
ARROWS = [
    ("call", "overlap", ""), ("overlap", "namespace", "1"), ("overlap", "stats", "2"),
    ("stats", "checks", ""), ("stats", "values", ""), ("stats", "router", ""),
    ("router", "torch", "torch"), ("router", "jax", "JAX"), ("router", "numpy", "NumPy"),
    ("router", "standard", "else"), ("overlap", "reduce", "3"),
]


def main() -> None:
    fig, ax = plt.subplots(figsize=(11, 7.2))
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    where = {}
    for key, x, y, title, body, layer in BOXES:
        w, h = (0.2, 0.1) if x != 0.5 else (0.42, 0.09)
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.008",
                                    fc=LAYERS[layer], ec="#555555", lw=1))
        ax.text(x, y + h / 4.5, title, ha="center", va="center", fontsize=9, weight="bold",
                family="monospace")
        ax.text(x, y - h / 5, body, ha="center", va="center", fontsize=8, color="#333333")
        where[key] = (x, y, w, h)
    for a, b, label in ARROWS:
        (xa, ya, wa, ha), (xb, yb, wb, hb) = where[a], where[b]
        style = "arc3,rad=0.0"
        if b == "reduce":  # around the statistics column, on the left
            start, end = (xa - wa / 2, ya - 0.02), (xb - wb / 2, yb + 0.02)
            style = "arc3,rad=0.35"
        elif abs(ya - yb) <= 0.1:  # side by side: edge to edge
            start, end = (xa + wa / 2, ya), (xb - wb / 2, yb)
        else:
            start, end = (xa, ya - ha / 2), (xb, yb + hb / 2)
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=11,
                                     color="#444444", lw=1, connectionstyle=style,
                                     shrinkA=2, shrinkB=2))
        if label:
            x_mid = (start[0] + end[0]) / 2 + (-0.09 if b == "reduce" else 0.012)
            ax.text(x_mid, (start[1] + end[1]) / 2, label,
                    fontsize=8, color="#7a1f1f")
    legend = [("public class", "public"), ("core (array API only)", "core"),
              ("checks", "checks"), ("kernels (one module per library)", "kernels")]
    for i, (text, layer) in enumerate(legend):
        ax.add_patch(FancyBboxPatch((0.02 + 0.245 * i, -0.045), 0.02, 0.02,
                                    boxstyle="square,pad=0", fc=LAYERS[layer], ec="#555555"))
        ax.text(0.047 + 0.245 * i, -0.035, text, fontsize=8, va="center")
    ax.set_ylim(-0.06, 1.0)
    fig.tight_layout()
    fig.savefig(OUT, dpi=110)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
