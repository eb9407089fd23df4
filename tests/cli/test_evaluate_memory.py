"""``anyiou evaluate`` at a large number of classes holds at most three (C, C) int64
matrices at once, whatever the output format and the number of reading threads."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from anyiou.cli import main

C = 2048
MATRIX = C * C * 8  # one (C, C) int64 matrix: 32 MiB
SLACK = 4 << 20  # the files, the classes' rows, the report's text lines


def _files(root, kind: str) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    arrays = []
    for k in range(8):
        high = 256 if kind == "png" else C
        target = rng.integers(0, high, (24, 32))
        pred = np.where(rng.random(target.shape) < 0.5, target, rng.integers(0, high, (24, 32)))
        for side, arr in (("p", pred), ("t", target)):
            (root / side).mkdir(exist_ok=True)
            if kind == "png":  # 8-bit maps: the one-pass histogram path
                Image.fromarray(arr.astype(np.uint8)).save(root / side / f"{k}.png")
            else:
                np.save(root / side / f"{k}.npy", arr.astype(np.uint16))
        arrays.append((pred, target))
    return arrays


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "fmt"), [("npy", "table"), ("npy", "json"),
                                           ("npy", "csv"), ("png", "json")])
def test_peak_memory_is_three_matrices(tmp_path, kind, fmt):
    arrays = _files(tmp_path, kind)
    out = tmp_path / f"report.{fmt}"
    argv = ["evaluate", str(tmp_path / "p"), str(tmp_path / "t"), "-c", str(C), "-q",
            "-f", fmt, "-o", str(out), "-j", "4"]
    assert main([*argv[:4], "2", *argv[5:]]) == 1  # imports done before measuring
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        assert main(argv) == 0
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    assert peak <= 3 * MATRIX + SLACK, f"{peak / MATRIX:.2f} matrices"
    if fmt == "json":  # the report is still the whole matrix (oracle: np.add.at)
        expected = np.zeros((C, C), np.int64)
        for pred, target in arrays:
            np.add.at(expected, (target.ravel(), pred.ravel()), 1)
        report = json.loads(out.read_text())
        assert np.array_equal(np.array(report["confusion_matrix"]), expected)
        assert report["pixels"] == int(expected.sum())


@pytest.mark.parametrize("ignore", [3, 255])
def test_fewer_pixels_than_cells_counts_exactly(tmp_path, capsys, ignore):
    # 64 classes, 42 pixels a pair: each pair counted as its non-zero cells
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix

    rng = np.random.default_rng(1)
    c, preds, targets = 64, [], []
    for k in range(3):
        target = rng.integers(0, c, (6, 7))
        target[rng.random(target.shape) < 0.2] = ignore
        pred = np.where(rng.random(target.shape) < 0.5, target % c, rng.integers(0, c, (6, 7)))
        for side, arr in (("p", pred), ("t", target)):
            (tmp_path / side).mkdir(exist_ok=True)
            np.save(tmp_path / side / f"{k}.npy", arr.astype(np.int16))
        preds.append(pred.ravel())
        targets.append(target.ravel())
    p, t = np.concatenate(preds), np.concatenate(targets)
    keep = t != ignore
    expected = sk_confusion_matrix(t[keep], p[keep], labels=list(range(c)))
    assert main(["evaluate", str(tmp_path / "p"), str(tmp_path / "t"), "-c", str(c), "-i",
                 str(ignore), "-q", "-f", "json", "-j", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert np.array_equal(np.array(report["confusion_matrix"]), expected)
