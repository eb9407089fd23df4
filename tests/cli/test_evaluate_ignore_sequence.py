"""``anyiou evaluate`` with several ``--ignore-index`` values (repeated or separated by
commas): the numbers against scikit-learn and torchmetrics on the counted pixels, and
Boundary IoU against the OpenCV recipe, on 8-bit PNG maps (the byte histogram path) and
int64 .npy maps (the checked path). Collected in the numpy session only (the CLI reads
files with NumPy); one test runs every ``--backend`` of the session's library."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.metrics import jaccard_score
from torchmetrics.functional.classification import multiclass_jaccard_index

from anyiou.cli import main
from tests.docs.test_pages import _sessions
from tests.support.boundary_oracles import boundary_cv2, reference_dilation

C = 4


def _pairs(tmp_path, voids, png):
    """Two (pred, target) pairs written as PNG (uint8) or .npy (int64) files."""
    rng = np.random.default_rng(11)
    arrays = []
    for k, shape in enumerate([(14, 18), (11, 13)]):
        target = np.repeat(rng.integers(0, C, (shape[0], (shape[1] + 1) // 2)), 2, 1)
        target = target[:, : shape[1]]
        pred = np.where(rng.random(shape) < 0.7, target, rng.integers(0, C, shape))
        for v in voids:
            target = np.where(rng.random(shape) < 0.08, v, target)
        arrays.append((pred, target))
        for folder, a in (("p", pred), ("t", target)):
            (tmp_path / folder).mkdir(exist_ok=True)
            if png:
                Image.fromarray(a.astype(np.uint8)).save(tmp_path / folder / f"{k}.png")
            else:
                np.save(tmp_path / folder / f"{k}.npy", a)
    return arrays


def _report(capsys, tmp_path, *flags):
    argv = ["evaluate", str(tmp_path / "p"), str(tmp_path / "t"), "-c", str(C), "-q",
            "-f", "json", *flags]
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def _check(report, arrays, voids):
    pred = np.concatenate([p.ravel() for p, _ in arrays])
    target = np.concatenate([t.ravel() for _, t in arrays])
    keep = ~np.isin(target, voids)
    classes = [k for k in range(C) if k not in voids]
    rows = report["classes"]
    expected = jaccard_score(target[keep], pred[keep], labels=classes, average=None)
    np.testing.assert_allclose([rows[k]["iou"] for k in classes], expected, rtol=1e-12)
    assert all(rows[k].get("ignored") and rows[k]["iou"] is None for k in range(C)
               if k in voids)
    remapped = np.where(keep, target, min(voids))  # one ignore value for torchmetrics
    tm = multiclass_jaccard_index(torch.from_numpy(pred), torch.from_numpy(remapped), C,
                                  ignore_index=min(voids))
    assert report["miou"] == pytest.approx(float(tm), rel=1e-6)
    assert report["pixels"] == int(keep.sum())


if "numpy" in _sessions():

    @pytest.mark.parametrize("png", [True, False], ids=["png", "npy"])
    def test_repeated_and_comma_separated_values(tmp_path, capsys, png):
        """A class id (0) and 255 void: the pixels left out, class 0 out of the mean."""
        arrays = _pairs(tmp_path, (0, 255), png)
        comma = _report(capsys, tmp_path, "-i", "255,0")
        repeated = _report(capsys, tmp_path, "-i", "0", "--ignore-index", "255")
        assert comma["ignore_index"] == repeated["ignore_index"] == [0, 255]
        for report in (comma, repeated):
            _check(report, arrays, (0, 255))


    def test_negative_values_and_boundary(tmp_path, capsys):
        """-1 and 255 in int64 maps (relabelled -1 for the backend), --boundary against
        the OpenCV recipe with those pixels removed from both masks."""
        arrays = _pairs(tmp_path, (-1, 255), png=False)
        report = _report(capsys, tmp_path, "-i=-1,255", "--boundary", "0.1")
        _check(report, arrays, (-1, 255))
        inter, union = np.zeros(C), np.zeros(C)
        for pred, target in arrays:
            d = reference_dilation(target.shape, 0.1)
            counted = ~np.isin(target, (-1, 255))
            for k in range(C):
                g = boundary_cv2((target == k) & counted, d)
                p = boundary_cv2((pred == k) & counted, d)
                inter[k] += np.sum(g & p)
                union[k] += np.sum(g | p)
        got = [r["boundary_iou"] for r in report["classes"]]
        np.testing.assert_allclose(got, inter / union, rtol=1e-12)

    def test_a_bad_value_is_a_usage_error(tmp_path, capsys):
        _pairs(tmp_path, (255,), png=True)
        with pytest.raises(SystemExit) as exc:
            main(["evaluate", str(tmp_path / "p"), str(tmp_path / "t"), "-c", "4",
                  "-i", "255,x"])
        assert exc.value.code == 2
        assert "--ignore-index" in capsys.readouterr().err


@pytest.mark.only_backends("numpy", "torch", "jax", "cupy")
@pytest.mark.parametrize("png", [True, False], ids=["png", "npy"])
def test_every_backend(backend, tmp_path, capsys, png):
    arrays = _pairs(tmp_path, (0, 255), png)
    report = _report(capsys, tmp_path, "-i", "0,255", "--backend", backend.name)
    _check(report, arrays, (0, 255))


@pytest.mark.only_backends("dask")
def test_dask(backend, tmp_path, capsys):
    arrays = _pairs(tmp_path, (-1, 255), png=False)
    _check(_report(capsys, tmp_path, "-i", "255", "-i", "-1", "--dask"), arrays, (-1, 255))

