"""``anyiou evaluate``: numbers against scikit-learn and torchmetrics, every error case.

Most tests call :func:`anyiou.cli.main` in-process (fast); a few run the installed
command as a subprocess (``python -m anyiou``) to check the real entry point, exit
status and streams. The CLI reads files with NumPy whatever the backend, so only the
``--backend``/``--dask`` tests take the ``backend`` fixture.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    jaccard_score,
    precision_score,
    recall_score,
)
from torchmetrics.functional.classification import multiclass_jaccard_index

from anyiou.cli import main

C = 4
VOID = 255
NAMES = ["background", "road", "car", "tree"]
SHAPES = [(12, 16), (12, 16), (10, 9), (7, 20)]


def _palette() -> list[int]:
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, 768).tolist()


def _save_png(path: Path, labels: np.ndarray, palette: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = labels.shape
    if palette:
        img = Image.frombytes("P", (w, h), labels.astype(np.uint8).tobytes())
        img.putpalette(_palette())
    else:
        img = Image.fromarray(labels.astype(np.uint8))
    img.save(path)


def _make_labels(rng: np.random.Generator, shape, void=True) -> tuple[np.ndarray, np.ndarray]:
    target = rng.integers(0, C, shape)
    pred = np.where(rng.random(shape) < 0.6, target, rng.integers(0, C, shape))
    if void:
        target = np.where(rng.random(shape) < 0.1, VOID, target)
    return pred, target


class Dataset:
    """Prediction and target folders written in several formats, with the arrays."""

    def __init__(self, root: Path, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.root = root
        self.preds_dir, self.targets_dir = root / "preds", root / "targets"
        self.arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for k, shape in enumerate(SHAPES):
            pred, target = _make_labels(rng, shape)
            name = f"img{k}"
            rel = f"city_{k % 2}/{name}"  # nested folders, searched recursively
            _save_png(self.targets_dir / f"{rel}.png", target, palette=True)
            if k % 2:
                (self.preds_dir / rel).parent.mkdir(parents=True, exist_ok=True)
                np.save(self.preds_dir / f"{rel}.npy", pred.astype(np.int64))
            else:
                _save_png(self.preds_dir / f"{rel}.png", pred, palette=False)
            self.arrays[name] = (pred, target)

    def args(self, *extra: str) -> list[str]:
        return ["evaluate", str(self.preds_dir), str(self.targets_dir), "--num-classes",
                str(C), "--ignore-index", str(VOID), "-q", *extra]


@pytest.fixture
def data(tmp_path: Path) -> Dataset:
    return Dataset(tmp_path)


def _flat(arrays, ignore=VOID) -> tuple[np.ndarray, np.ndarray]:
    p = np.concatenate([a.ravel() for a, _ in arrays])
    t = np.concatenate([b.ravel() for _, b in arrays])
    keep = t != ignore
    return p[keep], t[keep]


def _oracle(arrays, ignore=VOID) -> dict:
    """Per-class scores by scikit-learn, mIoU by torchmetrics, on the kept pixels."""
    p, t = _flat(arrays, ignore)
    labels = list(range(C))
    p_all = torch.from_numpy(np.concatenate([a.ravel() for a, _ in arrays]))
    t_all = torch.from_numpy(np.concatenate([b.ravel() for _, b in arrays]))
    support, predicted = np.bincount(t, minlength=C), np.bincount(p, minlength=C)

    def score(fn, undefined):  # the CLI reports None (NaN here) where sklearn divides 0/0
        return np.where(undefined, np.nan, fn(t, p, labels=labels, average=None,
                                              zero_division=0))

    return {
        "iou": score(jaccard_score, support + predicted == 0),
        "dice": score(f1_score, support + predicted == 0),
        "precision": score(precision_score, predicted == 0),
        "recall": score(recall_score, support == 0),
        "support": support,
        "pixel_accuracy": accuracy_score(t, p),
        "miou": {
            avg: float(multiclass_jaccard_index(p_all, t_all, C, average=avg, ignore_index=ignore))
            for avg in ("macro", "micro", "weighted")
        },
    }


def _json(capsys, argv) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def _image(report: dict, name: str) -> dict:
    (im,) = [im for im in report["images"] if im["name"].endswith("/" + name)]
    return im


def _assert_matches(report: dict, oracle: dict, average: str = "macro") -> None:
    for key in ("iou", "dice", "precision", "recall"):
        got = np.array([np.nan if r[key] is None else r[key] for r in report["classes"]])
        np.testing.assert_allclose(got, oracle[key], rtol=1e-12, err_msg=key)
    assert [r["support"] for r in report["classes"]] == oracle["support"].tolist()
    assert report["pixel_accuracy"] == pytest.approx(oracle["pixel_accuracy"], rel=1e-12)
    assert report["miou"] == pytest.approx(oracle["miou"][average], rel=1e-6)


# -- numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize("average", ["macro", "micro", "weighted"])
def test_json_matches_sklearn_and_torchmetrics(data, capsys, average):
    report = _json(capsys, data.args("--format", "json", "--average", average))
    _assert_matches(report, _oracle(list(data.arrays.values())), average)
    assert report["num_images"] == len(SHAPES)
    assert report["pixels"] == int(sum(int((t != VOID).sum()) for _, t in data.arrays.values()))
    cm = np.array(report["confusion_matrix"])
    p, t = _flat(list(data.arrays.values()))
    np.testing.assert_array_equal(cm, np.histogram2d(t, p, bins=C, range=[[0, C], [0, C]])[0])


def test_per_image_matches_sklearn(data, capsys):
    report = _json(capsys, data.args("--format", "json", "--per-image"))
    # named by their path relative to the folders, sorted
    expected = sorted(f"city_{k % 2}/img{k}" for k in range(len(SHAPES)))
    assert [im["name"] for im in report["images"]] == expected
    for im in report["images"]:
        _assert_matches(im, _oracle([data.arrays[im["name"].split("/")[1]]]))


def test_csv_matches_sklearn(data, capsys):
    assert main(data.args("--format", "csv", "--per-image")) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    dataset = [r for r in rows if r["scope"] == "dataset"]
    oracle = _oracle(list(data.arrays.values()))
    iou = [float(r["iou"]) for r in dataset if r["class"] != "mean"]
    np.testing.assert_allclose(iou, oracle["iou"], rtol=1e-12)
    mean = dataset[-1]
    assert mean["class"] == "mean"
    assert float(mean["iou"]) == pytest.approx(oracle["miou"]["macro"], rel=1e-6)
    assert float(mean["pixel_accuracy"]) == pytest.approx(oracle["pixel_accuracy"])
    assert {r["image"] for r in dataset} == {""}
    img2 = [r for r in rows if r["scope"] == "image" and r["image"] == "city_0/img2"
            and r["class"] != "mean"]
    np.testing.assert_allclose([float(r["recall"]) for r in img2],
                               _oracle([data.arrays["img2"]])["recall"], rtol=1e-12)


def test_csv_image_named_dataset_is_not_the_dataset(tmp_path, capsys):
    # an image called "dataset" (or "image") must not read as the data-set rows
    rng = np.random.default_rng(4)
    arrays = {}
    for name in ("dataset", "image"):
        pred, target = _make_labels(rng, (6, 5))
        _save_png(tmp_path / "p" / f"{name}.png", pred, palette=False)
        _save_png(tmp_path / "t" / f"{name}.png", target, palette=False)
        arrays[name] = (pred, target)
    argv = ["evaluate", str(tmp_path / "p"), str(tmp_path / "t"), "-c", str(C), "-i",
            str(VOID), "-q", "--per-image", "-f", "csv"]
    assert main(argv) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0])[:3] == ["scope", "image", "class_id"]
    scopes = {(r["scope"], r["image"]) for r in rows}
    assert scopes == {("dataset", ""), ("image", "dataset"), ("image", "image")}
    for (scope, image), arrs in ((("dataset", ""), list(arrays.values())),
                                 (("image", "dataset"), [arrays["dataset"]])):
        (mean,) = [r for r in rows if (r["scope"], r["image"]) == (scope, image)
                   and r["class"] == "mean"]
        assert float(mean["iou"]) == pytest.approx(_oracle(arrs)["miou"]["macro"], rel=1e-6)


def test_table_lists_classes_and_means(data, capsys, tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("\n".join(NAMES) + "\n")
    assert main(data.args("--class-names", str(names))) == 0
    out = capsys.readouterr().out
    oracle = _oracle(list(data.arrays.values()))
    for k, name in enumerate(NAMES):
        line = next(ln for ln in out.splitlines() if f" {name} " in f" {ln} ")
        assert f"{oracle['iou'][k]:.4f}" in line
    assert f"mIoU (macro)    {oracle['miou']['macro']:.4f}" in out
    assert f"pixel accuracy  {oracle['pixel_accuracy']:.4f}" in out


def test_class_names_json_and_count_from_names(data, capsys, tmp_path):
    names = tmp_path / "names.json"
    names.write_text(json.dumps({str(k): n for k, n in enumerate(NAMES)}))
    argv = [a for a in data.args("--class-names", str(names), "-f", "json")]
    i = argv.index("--num-classes")
    del argv[i : i + 2]  # C comes from the names
    report = _json(capsys, argv)
    assert [r["name"] for r in report["classes"]] == NAMES


def test_in_range_ignore_index_and_absent_class(tmp_path, capsys):
    """ignore_index=0 drops class 0 (torchmetrics); a class seen nowhere scores None."""
    rng = np.random.default_rng(3)
    target = rng.integers(0, 3, (20, 20))  # class 3 never occurs...
    pred = np.where(rng.random((20, 20)) < 0.7, target, rng.integers(0, 3, (20, 20)))
    np.save(tmp_path / "p.npy", pred)
    np.save(tmp_path / "t.npy", target)
    report = _json(capsys, ["evaluate", str(tmp_path / "p.npy"), str(tmp_path / "t.npy"),
                            "-c", "4", "-i", "0", "-f", "json"])
    rows = report["classes"]
    assert rows[0]["ignored"] and rows[0]["iou"] is None and rows[0]["support"] == 0
    assert rows[3]["iou"] is None and rows[3]["precision"] is None and rows[3]["support"] == 0
    tm = multiclass_jaccard_index(torch.from_numpy(pred), torch.from_numpy(target), 4,
                                  ignore_index=0)
    assert report["miou"] == pytest.approx(float(tm), rel=1e-6)
    keep = target != 0
    iou = jaccard_score(target[keep], pred[keep], labels=[1, 2], average=None)
    np.testing.assert_allclose([rows[1]["iou"], rows[2]["iou"]], iou, rtol=1e-12)


# -- inputs -------------------------------------------------------------------------------


def test_single_files_globs_npz_and_scores(tmp_path, capsys):
    rng = np.random.default_rng(5)
    pairs = {f"s{k}": _make_labels(rng, (6, 7), void=False) for k in range(3)}
    np.savez(tmp_path / "preds.npz", **{k: p for k, (p, _) in pairs.items()})
    for k, (_, t) in pairs.items():
        _save_png(tmp_path / "gt" / f"{k}.png", t, palette=False)
    oracle = _oracle(list(pairs.values()), ignore=-1)
    # one .npz holding every prediction, matched by array name with a folder
    report = _json(capsys, ["evaluate", str(tmp_path / "preds.npz"), str(tmp_path / "gt"),
                            "-c", str(C), "-f", "json"])
    _assert_matches(report, oracle)
    # a glob of targets
    report = _json(capsys, ["evaluate", str(tmp_path / "preds.npz"),
                            str(tmp_path / "gt" / "s*.png"), "-c", str(C), "-f", "json"])
    _assert_matches(report, oracle)
    # single files of different names are paired; float scores (C, H, W) are argmaxed
    p0, t0 = pairs["s0"]
    scores = rng.normal(size=(C, 6, 7)) + 5.0 * np.eye(C)[p0].transpose(2, 0, 1)
    np.save(tmp_path / "scores.npy", scores.astype(np.float32))
    report = _json(capsys, ["evaluate", str(tmp_path / "scores.npy"),
                            str(tmp_path / "gt" / "s0.png"), "-c", str(C), "-f", "json"])
    _assert_matches(report, _oracle([(p0, t0)], ignore=-1))


def test_palette_16bit_and_multipage_tiff_read_as_labels(tmp_path, capsys):
    rng = np.random.default_rng(9)
    p, t = _make_labels(rng, (3, 8, 5), void=False)
    frames = [Image.fromarray(x.astype(np.uint16)) for x in t]  # 16-bit, 3 pages
    frames[0].save(tmp_path / "t.tif", save_all=True, append_images=frames[1:])
    np.save(tmp_path / "p.npy", p.astype(np.uint8))
    report = _json(capsys, ["evaluate", str(tmp_path / "p.npy"), str(tmp_path / "t.tif"),
                            "-c", str(C), "-f", "json"])
    _assert_matches(report, _oracle([(p, t)], ignore=-1))
    # a palette PNG reads as its indices, whatever its colours
    _save_png(tmp_path / "pal.png", t[0], palette=True)
    np.save(tmp_path / "p0.npy", p[0])
    report = _json(capsys, ["evaluate", str(tmp_path / "p0.npy"), str(tmp_path / "pal.png"),
                            "-c", str(C), "-f", "json"])
    _assert_matches(report, _oracle([(p[0], t[0])], ignore=-1))


def test_output_file_and_format_from_suffix(data, capsys, tmp_path):
    out = tmp_path / "report.json"
    assert main(data.args("--output", str(out))) == 0
    assert capsys.readouterr().out == ""
    _assert_matches(json.loads(out.read_text()), _oracle(list(data.arrays.values())))


def test_progress_bar_is_tqdm():
    from tqdm import tqdm

    from anyiou.cli._evaluate import _progress

    assert isinstance(_progress([1, 2], enabled=True), tqdm)
    assert _progress([1, 2], enabled=False) == [1, 2]


def test_demo_still_runs(monkeypatch, capsys):
    import anyiou._demo

    monkeypatch.setattr(anyiou._demo, "BACKENDS", ("numpy",))
    assert main(["demo"]) == 0
    assert "JaccardLoss" in capsys.readouterr().out


# -- backends -----------------------------------------------------------------------------


@pytest.mark.only_backends("numpy", "torch", "jax", "cupy")
def test_backend_option_matches_sklearn(backend, data, capsys):
    report = _json(capsys, data.args("--format", "json", "--backend", backend.name,
                                     "--per-image"))
    assert report["backend"] == backend.name
    _assert_matches(report, _oracle(list(data.arrays.values())))
    _assert_matches(_image(report, "img2"), _oracle([data.arrays["img2"]]))


@pytest.mark.only_backends("dask")
def test_dask_threads_matches_sklearn(backend, data, capsys):
    report = _json(capsys, data.args("--format", "json", "--per-image", "--dask"))
    assert report["backend"] == "dask"
    _assert_matches(report, _oracle(list(data.arrays.values())))
    _assert_matches(_image(report, "img1"), _oracle([data.arrays["img1"]]))


@pytest.mark.only_backends("dask")
def test_dask_distributed_client(backend, data, capsys):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=None) as cluster:
        report = _json(capsys, data.args("-f", "json", f"--dask={cluster.scheduler_address}"))
    _assert_matches(report, _oracle(list(data.arrays.values())))


@pytest.mark.only_backends("dask")
def test_dask_bad_labels_name_the_file(backend, data, capsys):
    bad = data.targets_dir / "city_1" / "img3.png"
    _save_png(bad, np.full(SHAPES[3], 9), palette=True)
    assert main(data.args("--dask", "threads")) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert str(bad) in captured.err and "outside [0, 4)" in captured.err


# -- errors: exit status 1, the message names the file, nothing else is written ----------


def _fails(capsys, argv, *needles, output: Path | None = None) -> None:
    if output is not None:
        argv = [*argv, "--output", str(output)]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("anyiou evaluate: error: ")
    for needle in needles:
        assert needle in captured.err, (needle, captured.err)
    if output is not None:
        assert not output.exists()
        assert list(output.parent.glob(f".{output.name}*")) == []


def test_error_missing_path(data, capsys, tmp_path):
    argv = data.args()
    argv[1] = str(tmp_path / "nope")
    _fails(capsys, argv, "PRED", "nope", "does not exist", output=tmp_path / "r.json")


def test_error_unmatched_files_are_listed(data, capsys, tmp_path):
    (data.preds_dir / "city_0" / "img0.png").unlink()
    np.save(data.preds_dir / "extra.npy", np.zeros((2, 2), np.int64))
    _fails(capsys, data.args(), "1 of 4 predictions have no target", "extra.npy",
           "1 of 4 targets have no prediction", "img0.png", output=tmp_path / "r.csv")


def test_error_empty_folder(tmp_path, capsys):
    (tmp_path / "p").mkdir()
    (tmp_path / "t").mkdir()
    _fails(capsys, ["evaluate", str(tmp_path / "p"), str(tmp_path / "t"), "-c", "2"],
           "PRED folder", "holds no label map")


def test_error_shape_mismatch_names_both_files(data, capsys, tmp_path):
    np.save(data.preds_dir / "city_1" / "img1.npy", np.zeros((5, 5), np.int64))
    _fails(capsys, data.args(), "shape mismatch", "img1.npy", "(5, 5)", "img1.png", "(12, 16)",
           output=tmp_path / "r.txt")


def test_error_target_labels_out_of_range(data, capsys):
    bad = data.targets_dir / "city_0" / "img2.png"
    t = data.arrays["img2"][1].copy()
    t[0, :3] = [4, 7, 7]
    _save_png(bad, t, palette=True)
    _fails(capsys, data.args(), str(bad), "3 pixels", "outside [0, 4)", "4, 7")


def test_error_void_without_ignore_index_gives_a_hint(data, capsys):
    argv = data.args()
    i = argv.index("--ignore-index")
    del argv[i : i + 2]
    _fails(capsys, argv, "outside [0, 4)", "255", "pass --ignore-index 255")


def test_error_predicted_labels_out_of_range(data, capsys):
    p = data.arrays["img1"][0].copy()
    t = data.arrays["img1"][1]
    p[t != VOID] = 6  # only counted pixels matter
    np.save(data.preds_dir / "city_1" / "img1.npy", p)
    _fails(capsys, data.args(), "PRED", "img1.npy", "outside [0, 4)", ": 6")


def test_error_unreadable_file(data, capsys):
    (data.preds_dir / "city_0" / "img0.png").write_bytes(b"not a png")
    _fails(capsys, data.args(), "cannot read", "img0.png")


def test_error_colour_image(data, capsys):
    rgb = np.zeros((*SHAPES[0], 3), np.uint8)
    Image.fromarray(rgb).save(data.targets_dir / "city_0" / "img0.png")
    _fails(capsys, data.args(), "img0.png", "mode 'RGB'", "colour image")


def test_error_float_target(tmp_path, capsys):
    np.save(tmp_path / "p.npy", np.zeros((3, 3), np.int64))
    np.save(tmp_path / "t.npy", np.zeros((3, 3), np.float32))
    _fails(capsys, ["evaluate", str(tmp_path / "p.npy"), str(tmp_path / "t.npy"), "-c", "2"],
           "TARGET", "t.npy", "float32", "integer labels")


def test_error_class_names_and_num_classes(data, capsys, tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("a\nb\n")
    _fails(capsys, data.args("--class-names", str(names)), "has 2 names", "--num-classes is 4")
    _fails(capsys, data.args("--class-names", str(tmp_path / "absent.txt")), "cannot read",
           "absent.txt")


def test_error_output_folder_absent(data, capsys, tmp_path):
    _fails(capsys, data.args("--output", str(tmp_path / "no" / "r.json")), "cannot write",
           "r.json")


def test_error_backend_library_absent(data, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # importing it raises ImportError
    _fails(capsys, data.args("--backend", "cupy"), "--backend cupy needs cupy",
           "pip install 'anyiou[cupy]' (cupy-cuda12x)")
    _fails(capsys, data.args("--backend", "torch", "--dask"), "--dask", "--backend torch")


def test_usage_errors_exit_2(data, capsys):
    no_classes = data.args()
    del no_classes[3:5]  # --num-classes C
    for argv in (["evaluate"], ["evaluate", "--dask", "preds", "targets", "-c", "2"],
                 data.args("--average", "median"), data.args("-c", "0"), no_classes):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--dask got 'preds'" in err and "give --num-classes C" in err


# -- the installed command (subprocesses) -------------------------------------------------


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "anyiou", *args], capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.mark.slow  # python -m anyiou in a subprocess
def test_example_runs_with_no_arguments():
    from anyiou.data import example_dir

    proc = _run("evaluate", "--example")
    assert proc.returncode == 0, proc.stderr
    root = example_dir()
    arrays = [(np.asarray(Image.open(p)), np.asarray(Image.open(root / "targets" / p.name)))
              for p in sorted((root / "preds").glob("*.png"))]
    assert len(arrays) == 5
    oracle = _oracle(arrays)
    for name in ("background", "circle", "square", "bar"):
        assert name in proc.stdout
    assert f"mIoU (macro)    {oracle['miou']['macro']:.4f}" in proc.stdout
    assert f"pixel accuracy  {oracle['pixel_accuracy']:.4f}" in proc.stdout


@pytest.mark.slow  # python -m anyiou in a subprocess
def test_subprocess_error_exit_status_and_streams(data):
    (data.targets_dir / "city_1" / "img3.png").unlink()
    proc = _run(*data.args("-f", "json"))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "img3.npy" in proc.stderr and "no target" in proc.stderr


@pytest.mark.slow  # python -m anyiou in a subprocess
def test_subprocess_json_output(data, tmp_path):
    out = tmp_path / "r.json"
    proc = _run(*data.args("--output", str(out), "--per-image"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    report = json.loads(out.read_text())
    _assert_matches(report, _oracle(list(data.arrays.values())))
    assert len(report["images"]) == len(SHAPES)


def test_console_script_entry_point():
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group="console_scripts") if e.name == "anyiou"]
    assert ep.value == "anyiou.__main__:main"
    assert ep.load() is main
