"""PNG bar chart of a benchmark run (matplotlib, no display needed).

    python -m benchmarks.plot benchmarks/results/benchmarks.json [out.png]

Four panels stacked vertically (readable at the width of a page's column, on a phone
too), one group of bars per case, log-scaled ratios with the performance target
(``targets.py``) drawn as a dashed line: torch CPU forward+backward time / cross-entropy,
peak extra memory of torch forward+backward / logits' bytes, JAX jit forward+backward
time / optax cross-entropy, metric update time / the library's bincount. With
``results["before"]`` (``benchmarks.run --before``), a black tick marks each bar's value in
the earlier run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

PANELS = [
    ("torch", "ratio", ["anyiou-jaccard", "anyiou-dice", "anyiou-lovasz", "smp-jaccard",
                        "smp-dice", "smp-lovasz"],
     "torch CPU fwd+bwd time / cross-entropy", 1.5),
    ("torch", "mem_x", ["cross-entropy", "anyiou-jaccard", "anyiou-dice", "anyiou-lovasz",
                        "smp-jaccard", "smp-dice", "smp-lovasz"],
     "torch CPU fwd+bwd peak extra memory / logits' bytes", 2.0),
    ("jax", "ratio", ["anyiou-jaccard", "anyiou-dice", "anyiou-lovasz"],
     "JAX jit fwd+bwd time / optax cross-entropy", 1.5),
    ("metrics", "ratio", ["numpy:anyiou-confmat", "numpy:anyiou-meaniou", "numpy:sklearn",
                          "torch:anyiou-confmat", "torch:anyiou-meaniou",
                          "jax:anyiou-confmat", "jax:anyiou-meaniou"],
     "metric update time / the library's bincount (sklearn: on NumPy)", 2.0),
]

COLORS = {
    "cross-entropy": "#7f7f7f",
    "anyiou-jaccard": "#1f77b4", "anyiou-dice": "#6baed6", "anyiou-lovasz": "#c6dbef",
    "smp-jaccard": "#d62728", "smp-dice": "#fb6a4a", "smp-lovasz": "#fcbba1",
    "numpy:anyiou-confmat": "#1f77b4", "numpy:anyiou-meaniou": "#6baed6",
    "numpy:sklearn": "#bcbd22",
    "torch:anyiou-confmat": "#ff7f0e", "torch:anyiou-meaniou": "#fdbe85",
    "jax:anyiou-confmat": "#2ca02c", "jax:anyiou-meaniou": "#a1d99b",
}


def _value(rows: list[dict], case: str, family: str, impl: str, key: str) -> float | None:
    if family == "metrics":
        lib, impl = impl.split(":")
        family = f"metrics-{lib}"
    for r in rows:
        if r["case"] == case and r["family"] == family and r["impl"] == impl:
            return r.get(key)
    return None


def _label(case: str) -> str:
    """'multiclass-N8-C21-512x512' on three lines: mode, batch and classes, image."""
    mode, *middle, image = case.split("-")
    return "\n".join([mode, "-".join(middle), image] if middle else [mode, image])


def draw(results: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["rows"]
    before = (results.get("before") or {}).get("rows", [])
    cases = [c["case"] for c in results["cases"]]
    fig, axes = plt.subplots(4, 1, figsize=(7, 19))
    for ax, (family, key, impls, title, target) in zip(axes.flat, PANELS, strict=True):
        present = [i for i in impls if any(_value(rows, c, family, i, key) for c in cases)]
        width = 0.8 / max(len(present), 1)
        for k, impl in enumerate(present):
            xs, ys = [], []
            for j, case in enumerate(cases):
                v = _value(rows, case, family, impl, key)
                if v:
                    xs.append(j - 0.4 + width * (k + 0.5))
                    ys.append(v)
            bars = ax.bar(xs, ys, width, label=impl, color=COLORS.get(impl, "#999999"),
                          edgecolor="white", linewidth=0.3)
            olds = [(x, _value(before, case, family, impl, key))
                    for x, case in zip(xs, [c for c in cases
                                            if _value(rows, c, family, impl, key)],
                                       strict=True)]
            olds = [(x, v) for x, v in olds if v]
            if olds:  # the earlier run (--before) as a black tick on each bar
                ax.scatter([x for x, _ in olds], [v for _, v in olds], marker="_", s=60,
                           color="k", linewidths=1.5, zorder=3,
                           label="before" if k == 0 else None)
            for b, v in zip(bars, ys, strict=True):
                ax.annotate(f"{v:.2g}" if v < 100 else f"{v:.0f}",
                            (b.get_x() + b.get_width() / 2, v), ha="center", va="bottom",
                            fontsize=8, rotation=90)
        ax.axhline(target, color="k", ls="--", lw=1)
        ax.text(len(cases) - 0.5, target, f" target {target:g}x", va="bottom", ha="right",
                fontsize=10)
        ax.axhline(1.0, color="0.6", lw=0.8)
        ax.set_yscale("log")
        low, high = ax.get_ylim()
        ax.set_ylim(min(low, 0.5), high * 200)  # headroom for the legend
        ax.set_title(title, fontsize=12)
        ax.set_xticks(range(len(cases)))
        ax.set_xticklabels([_label(c) for c in cases], fontsize=10)
        ax.tick_params(axis="y", labelsize=10)
        ax.legend(fontsize=9, ncol=2, loc="upper left", frameon=False)
        ax.set_ylabel("ratio (log scale)", fontsize=11)
    meta = results["meta"]
    fig.suptitle(
        f"anyiou benchmark ({'quick, ' if meta.get('quick') else ''}{meta['date']},\n"
        f"{meta['machine'].get('cpus')} CPU cores, torch {meta['versions'].get('torch')}, "
        f"jax {meta['versions'].get('jax')}); lower is better",
        fontsize=12,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


if __name__ == "__main__":
    src = Path(sys.argv[1])
    dst = Path(sys.argv[2]) if len(sys.argv) > 2 else src.with_suffix(".png")
    print(draw(json.loads(src.read_text()), dst))
