"""The per-class report (IoU, Dice, precision, recall, support, mIoU, pixel accuracy) and
its table, Markdown, JSON and CSV renderings."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from .._lib._options import ignore_values
from .._lib._types import IgnoreValues
from ..metrics import dice_from_confusion_matrix, iou_from_confusion_matrix
from ._checks import flag_text
from ._errors import shown
from ._evaluate import Counts

__all__ = ["FORMATS", "SUFFIXES", "build_report", "render"]

FORMATS = ("table", "markdown", "json", "csv")
#: The format an ``--output`` suffix (lower-cased) names.
SUFFIXES = {".txt": "table", ".md": "markdown", ".json": "json", ".csv": "csv"}


def _num(x: Any) -> float | None:
    """A float, or None for NaN (JSON ``null``, an empty CSV cell, ``-`` in the table)."""
    x = float(x)
    return None if math.isnan(x) else x


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.maximum(den, 1), np.nan)


def summarize(confmat: np.ndarray, ignore_index: IgnoreValues,
              average: str) -> dict[str, Any]:
    """Scores of one (C, C) confusion matrix (rows target, columns prediction).

    Per class: IoU ``tp / (tp + fp + fn)``, Dice ``2tp / (2tp + fp + fn)``, precision
    ``tp / (tp + fp)``, recall ``tp / (tp + fn)``, support ``tp + fn`` (target pixels);
    None where the denominator is 0 and for an ``ignore_index`` class in [0, C). mIoU
    and mDice: :func:`anyiou.metrics.iou_from_confusion_matrix` with ``average`` (macro:
    over the classes whose union is not empty). Pixel accuracy: ``trace / total``.

    Examples
    --------
    >>> import numpy as np
    >>> s = summarize(np.array([[3, 1], [0, 4]]), None, "macro")
    >>> [round(c["iou"], 4) for c in s["classes"]], round(s["miou"], 4)
    ([0.75, 0.8], 0.775)
    """
    cm = np.asarray(confmat, dtype=np.int64)
    c = cm.shape[0]
    tp = np.diagonal(cm).astype(np.float64)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    iou = iou_from_confusion_matrix(cm, average="none", zero_division=float("nan"))
    dice = dice_from_confusion_matrix(cm, average="none", zero_division=float("nan"))
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    classes = []
    for k in range(c):
        ignored = k in ignore_values(ignore_index)
        row = {
            "id": k,
            "iou": None if ignored else _num(iou[k]),
            "dice": None if ignored else _num(dice[k]),
            "precision": None if ignored else _num(precision[k]),
            "recall": None if ignored else _num(recall[k]),
            "support": int(tp[k] + fn[k]),
        }
        if ignored:
            row["ignored"] = True
        classes.append(row)
    total = int(cm.sum())
    nan = float("nan")
    return {
        "miou": _num(iou_from_confusion_matrix(cm, average, ignore_index, zero_division=nan)),
        "mdice": _num(dice_from_confusion_matrix(cm, average, ignore_index, zero_division=nan)),
        "pixel_accuracy": _num(_ratio(np.trace(cm), total)),
        "pixels": total,
        "classes": classes,
    }


def _named(rows: list[dict], names: list[str]) -> list[dict]:
    return [{"id": r["id"], "name": names[r["id"]], **{k: v for k, v in r.items() if k != "id"}}
            for r in rows]


def build_report(
    counts: Counts,
    *,
    ignore_index: IgnoreValues,
    average: str,
    class_names: list[str] | None,
    backend: str,
) -> dict[str, Any]:
    """The whole report as JSON-ready data (but ``confusion_matrix``, the (C, C) int64
    array, which :func:`render` writes row by row); names and paths are printable
    text."""
    c = counts.confmat.shape[0]
    names = class_names or [str(k) for k in range(c)]
    summary = summarize(counts.confmat, ignore_index, average)
    summary["classes"] = _named(summary["classes"], names)
    report = {
        "num_images": len(counts.pairs),
        "num_classes": c,
        "ignore_index": ignore_index,
        "average": average,
        "backend": backend,
        **summary,
        "confusion_matrix": counts.confmat,  # written row by row (_render_json)
    }
    if counts.per_pair is not None:
        images = []
        for pair, cm in zip(counts.pairs, counts.per_pair, strict=True):
            s = summarize(cm, ignore_index, average)
            s["classes"] = _named(s["classes"], names)
            images.append({
                # file names are shown the same way in every format (see ``shown``)
                "name": shown(pair.key or pair.pred.path.stem),
                "pred": str(pair.pred),
                "target": str(pair.target),
                "miou": s["miou"],
                "mdice": s["mdice"],
                "pixel_accuracy": s["pixel_accuracy"],
                "pixels": s["pixels"],
                "classes": s["classes"],
            })
        report["images"] = images
    return report


# -- renderings ---------------------------------------------------------------------------


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


def _table(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [v.rjust(w) if i in right else v.ljust(w)
                 for i, (v, w) in enumerate(zip(r, widths, strict=True))]
        out.append("  ".join(cells).rstrip())
    return out


def _markdown(rows: list[list[str]], right: set[int]) -> list[str]:
    """A Markdown (GitHub) pipe table; ``|`` in a cell escaped."""
    cells = [[v.replace("|", "\\|") for v in r] for r in rows]
    rule = ["---:" if i in right else "---" for i in range(len(rows[0]))]
    return ["| " + " | ".join(r) + " |" for r in (cells[0], rule, *cells[1:])]


def _render_table(report: dict[str, Any], markdown: bool = False) -> str:
    """The text table, or with ``markdown`` the same tables in Markdown."""
    table = _markdown if markdown else _table
    ii = report["ignore_index"]
    head = (
        f"{report['num_images']} image{'s' * (report['num_images'] != 1)}, "
        f"{report['num_classes']} classes, {report['pixels']:,} pixels counted"
        + ("" if ii is None else f" (ignore_index {flag_text(ii)})")
        + f", backend {report['backend']}"
    )
    bound = "mean_boundary_iou" in report  # --boundary
    rows = [["id", "class", "IoU", "Dice", "Precision", "Recall", "Support"]
            + ["Boundary IoU"] * bound]
    for r in report["classes"]:
        name = r["name"] + (" (ignored)" if r.get("ignored") else "")
        rows.append([str(r["id"]), name, _fmt(r["iou"]), _fmt(r["dice"]),
                     _fmt(r["precision"]), _fmt(r["recall"]), f"{r['support']:,}"]
                    + [_fmt(r.get("boundary_iou"))] * bound)
    lines = [head, "", *table(rows, right={0, 2, 3, 4, 5, 6, 7}), ""]
    avg = report["average"]
    summary = [
        [f"mIoU ({avg})", _fmt(report["miou"])],
        [f"mDice ({avg})", _fmt(report["mdice"])],
        ["pixel accuracy", _fmt(report["pixel_accuracy"])],
    ]
    if bound:
        summary.append([f"mean Boundary IoU ({avg}, ratio {report['boundary_ratio']:g})",
                        _fmt(report["mean_boundary_iou"])])
    lines += table([["score", "value"], *summary] if markdown else summary, right={1})
    if "images" in report:
        rows = [["image", "mIoU", "mDice", "pixel acc", "pixels"] + ["Boundary IoU"] * bound]
        for im in report["images"]:
            rows.append([im["name"], _fmt(im["miou"]), _fmt(im["mdice"]),
                         _fmt(im["pixel_accuracy"]), f"{im['pixels']:,}"]
                        + [_fmt(im.get("mean_boundary_iou"))] * bound)
        lines += ["", *table(rows, right={1, 2, 3, 4, 5})]
    return "\n".join(lines) + "\n"


#: ``scope`` is ``dataset`` or ``image``; ``image`` names the image (empty on the
#: data-set rows), so no image name can be read as the data set.
_CSV_FIELDS = ("scope", "image", "class_id", "class", "iou", "dice", "precision", "recall",
               "support", "pixel_accuracy")


def _csv_rows(scope: str, image: str, classes: list[dict], summary: dict) -> list[dict]:
    bound = "mean_boundary_iou" in summary  # --boundary: one more column
    where = {"scope": scope, "image": image}
    rows = [{**where, "class_id": r["id"], "class": r["name"], "iou": r["iou"],
             "dice": r["dice"], "precision": r["precision"], "recall": r["recall"],
             "support": r["support"], **({"boundary_iou": r["boundary_iou"]} if bound else {})}
            for r in classes]
    rows.append({**where, "class_id": "", "class": "mean", "iou": summary["miou"],
                 "dice": summary["mdice"], "support": summary["pixels"],
                 "pixel_accuracy": summary["pixel_accuracy"],
                 **({"boundary_iou": summary["mean_boundary_iou"]} if bound else {})})
    return rows


def _render_csv(report: dict[str, Any]) -> str:
    buf = io.StringIO()
    fields = _CSV_FIELDS + ("boundary_iou",) * ("mean_boundary_iou" in report)
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    rows = _csv_rows("dataset", "", report["classes"], report)
    for im in report.get("images", []):
        rows += _csv_rows("image", im["name"], im["classes"], im)
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()


def _render_json(report: dict[str, Any]) -> Iterator[str]:
    """The JSON text in pieces: the confusion matrix one row per line, so that no list
    of C * C Python ints, nor one string of them all, is ever built."""
    cm = report.get("confusion_matrix")
    rest = {k: v for k, v in report.items() if k != "confusion_matrix"}
    head = json.dumps(rest, indent=2)
    if cm is None:
        yield head + "\n"
        return
    yield head[:-2] + ',\n  "confusion_matrix": ['  # head ends with "\n}"
    last = len(cm) - 1
    for i, row in enumerate(cm):
        yield "\n    [" + ", ".join(map(str, row.tolist())) + ("]," if i < last else "]")
    yield "\n  ]\n}\n"


def render(report: dict[str, Any], fmt: str) -> str | Iterator[str]:
    """``report`` as a text table, Markdown tables, JSON (NaN written as null; in
    pieces) or CSV."""
    if fmt == "markdown":
        return _render_table(report, markdown=True)
    if fmt == "json":
        return _render_json(report)
    if fmt == "csv":
        return _render_csv(report)
    return _render_table(report)
