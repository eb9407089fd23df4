"""``anyiou evaluate --boundary [RATIO]``: the Boundary IoU column and mean in the table,
JSON and CSV, against the reference recipe (OpenCV) on each file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from anyiou.cli import main
from tests.support.boundary_oracles import boundary_cv2, reference_dilation

from .test_evaluate import VOID, C, Dataset


@pytest.fixture
def data(tmp_path):
    return Dataset(tmp_path, seed=3)


def _oracle(arrays, ratio, per_image=False):
    """Per-class band intersection/union summed over the files (each file with the band
    width of its own diagonal), void pixels removed from both masks."""
    inter, union = np.zeros(C), np.zeros(C)
    images = []
    for pred, target in arrays:
        d = reference_dilation(target.shape, ratio)
        counted = target != VOID
        i_k, u_k = np.zeros(C), np.zeros(C)
        for k in range(C):
            g = boundary_cv2((target == k) & counted, d)
            p = boundary_cv2((pred == k) & counted, d)
            i_k[k], u_k[k] = np.sum(g & p), np.sum(g | p)
        inter += i_k
        union += u_k
        images.append(_scores(i_k, u_k))
    return images if per_image else _scores(inter, union)


def _scores(inter, union):
    per_class = np.where(union > 0, inter / np.maximum(union, 1), np.nan)
    return per_class, float(np.nanmean(per_class))


def _values(rows, key="boundary_iou"):
    return np.array([np.nan if r[key] is None else r[key] for r in rows])


@pytest.mark.parametrize("ratio", [None, 0.1])
def test_json_matches_the_reference(data, capsys, ratio):
    flag = ["--boundary"] if ratio is None else [f"--boundary={ratio}"]
    assert main(data.args("--format", "json", "--per-image", *flag)) == 0
    report = json.loads(capsys.readouterr().out)
    ratio = ratio or 0.02
    assert report["boundary_ratio"] == ratio
    per_class, mean = _oracle(list(data.arrays.values()), ratio)
    np.testing.assert_allclose(_values(report["classes"]), per_class, rtol=1e-12)
    assert report["mean_boundary_iou"] == pytest.approx(mean, rel=1e-12)
    by_name = {im["name"].rsplit("/", 1)[-1]: im for im in report["images"]}
    for name, (pc, m) in zip(data.arrays, _oracle(list(data.arrays.values()), ratio, True),
                             strict=True):
        np.testing.assert_allclose(_values(by_name[name]["classes"]), pc, rtol=1e-12)
        assert by_name[name]["mean_boundary_iou"] == pytest.approx(m, rel=1e-12)


def test_table_and_csv_columns(data, capsys):
    assert main(data.args("--boundary")) == 0
    table = capsys.readouterr().out
    assert "Boundary IoU" in table.splitlines()[2]
    assert "mean Boundary IoU (macro, ratio 0.02)" in table
    assert main(data.args("--format", "csv", "--boundary", "0.05")) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    _, mean = _oracle(list(data.arrays.values()), 0.05)
    (dataset_mean,) = [r for r in rows if r["scope"] == "dataset" and r["class"] == "mean"]
    assert float(dataset_mean["boundary_iou"]) == pytest.approx(mean, rel=1e-12)
    # without the flag: no column
    assert main(data.args("--format", "csv")) == 0
    assert "boundary_iou" not in capsys.readouterr().out.splitlines()[0]


@pytest.mark.parametrize("ratio", ["0", "-0.1", "2", "nan"])
def test_bad_ratio_is_a_usage_error(data, capsys, ratio):
    with pytest.raises(SystemExit) as exc:
        main(data.args(f"--boundary={ratio}"))
    assert exc.value.code == 2
    assert "--boundary" in capsys.readouterr().err


@pytest.mark.parametrize("ratio", ["0.72", "0.75", "1"])
def test_ratio_beyond_every_square_image_is_a_usage_error(data, capsys, ratio):
    # round(ratio x diagonal) exceeds the side of a large enough square image for any
    # ratio above 1/sqrt(2): refused before any file is read, not after the counting pass
    with pytest.raises(SystemExit) as exc:
        main(data.args(f"--boundary={ratio}"))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--boundary" in err and "0.7071" in err, err


def test_largest_ratio_is_accepted(data, capsys):
    ratio = 0.7071  # just under 1/sqrt(2): a band of at most the largest side of any image
    assert main(data.args("--format", "json", f"--boundary={ratio}")) == 0
    report = json.loads(capsys.readouterr().out)
    _, mean = _oracle(list(data.arrays.values()), ratio)
    assert report["mean_boundary_iou"] == pytest.approx(mean, rel=1e-12)


# -- one pass: each file read once, the bands counted with the confusion matrix ------------


@pytest.mark.parametrize("extra", [[], ["--per-image"], ["-j", "1"], ["--backend", "torch"]])
def test_each_file_read_once(data, capsys, monkeypatch, extra):
    import anyiou.cli._checks as checks

    seen = []
    read = checks.read_labels

    def counting(source):
        seen.append(str(source))
        return read(source)

    monkeypatch.setattr(checks, "read_labels", counting)
    assert main(data.args("--format", "json", "--boundary", *extra)) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(seen) == 2 * len(data.arrays) == len(set(seen)), seen
    _, mean = _oracle(list(data.arrays.values()), 0.02)
    assert report["mean_boundary_iou"] == pytest.approx(mean, rel=1e-12)


def _band_oracle(pred, target, num_classes, ignore_index, ratio):
    """(3, C) band intersection, union, target band size: SciPy erosions of each class
    mask (any number of axes), void removed from both masks."""
    from tests.support.boundary_oracles import boundary_scipy

    d = reference_dilation(target.shape, ratio)
    counted = (target >= 0) & (target < num_classes)
    if ignore_index is not None:
        counted &= target != ignore_index
    out = np.zeros((3, num_classes), dtype=np.int64)
    for k in range(num_classes):
        g = boundary_scipy((target == k) & counted, d)
        p = boundary_scipy((pred == k) & counted, d)
        out[:, k] = np.sum(g & p), np.sum(g | p), np.sum(g)
    return out


@pytest.mark.parametrize("case", ["bytes", "int32", "volume", "classes_300", "ignored_class",
                                  "tiny", "wide_band", "one_axis"])
def test_band_counts_match_scipy(case):
    from anyiou.cli._bands import band_counts
    from anyiou.cli._checks import check_pair
    from anyiou.cli._files import LabelSource, Pair

    rng = np.random.default_rng(11)
    shape, c, ii, ratio, dtype = (40, 57), 5, 255, 0.05, np.uint8
    if case == "volume":
        shape = (9, 20, 17)
    elif case == "classes_300":
        c, dtype, ii = 300, np.int32, -1
    elif case == "ignored_class":
        ii = 2
    elif case == "tiny":
        shape = (3, 2)
    elif case == "wide_band":
        ratio = 0.7
    elif case == "one_axis":
        shape = (70,)
    elif case == "int32":
        dtype = np.int32
    blocks = rng.integers(0, c, tuple(s // 4 + 1 for s in shape))
    target = blocks[np.ix_(*(np.arange(s) // 4 for s in shape))]  # blocks of 4 pixels
    pred = np.where(rng.random(shape) < 0.85, target, rng.integers(0, c, shape))
    target = np.where(rng.random(shape) < 0.05, ii, target)
    pred, target = pred.astype(dtype), target.astype(dtype)
    expected = _band_oracle(pred.astype(np.int64), target.astype(np.int64), c,
                            None if ii < 0 else ii, ratio)
    if case != "int32":  # raw bytes, as the threads hand them on once the histogram checked
        np.testing.assert_array_equal(band_counts(pred, target, c, ii, ratio), expected)
    pair = Pair("x", LabelSource(Path("p.npy")), LabelSource(Path("t.npy")))
    checked = check_pair(pair, pred, target, c, ii)
    np.testing.assert_array_equal(band_counts(*checked, c, ii, ratio), expected)


@pytest.mark.only_backends("dask")
def test_dask_counts_the_bands_too(backend, data, capsys):
    assert main(data.args("--format", "json", "--per-image", "--boundary", "--dask")) == 0
    report = json.loads(capsys.readouterr().out)
    per_class, mean = _oracle(list(data.arrays.values()), 0.02)
    np.testing.assert_allclose(_values(report["classes"]), per_class, rtol=1e-12)
    assert report["mean_boundary_iou"] == pytest.approx(mean, rel=1e-12)
    assert all(im["mean_boundary_iou"] is not None for im in report["images"])
