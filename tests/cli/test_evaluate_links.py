"""``anyiou evaluate`` over symbolic links: links to folders are followed, every real
file is scored once (link loops are walked once), and a dangling link is an error."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import jaccard_score

from anyiou.cli import main

C = 3

pytestmark = pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")


def _save(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, arr)


def _tree(root: Path, names: list[str], seed: int = 0) -> dict[str, tuple]:
    """``root/pred/<name>.npy`` and ``root/target/<name>.npy``; the arrays by name."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for name in names:
        target = rng.integers(0, C, (5, 6))
        pred = np.where(rng.random((5, 6)) < 0.5, target, rng.integers(0, C, (5, 6)))
        _save(root / "pred" / f"{name}.npy", pred)
        _save(root / "target" / f"{name}.npy", target)
        arrays[name] = (pred, target)
    return arrays


def _miou(arrays) -> float:
    """sklearn's macro IoU over the classes present, on all the pixels of ``arrays``."""
    p = np.concatenate([a.ravel() for a, _ in arrays])
    t = np.concatenate([b.ravel() for _, b in arrays])
    labels = sorted(set(p.tolist()) | set(t.tolist()))
    return float(jaccard_score(t, p, labels=labels, average="macro"))


def _report(capsys, pred, target) -> dict:
    assert main(["evaluate", str(pred), str(target), "-c", str(C), "-q", "-f", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_links_to_folders_are_followed(tmp_path, capsys):
    data = tmp_path / "data"
    linked = _tree(data, ["cityA/x", "cityA/y"], seed=1)
    local = _tree(tmp_path / "run", ["cityB/z"], seed=2)
    for side in ("pred", "target"):  # run/<side>/cityA -> data/<side>/cityA
        os.symlink(data / side / "cityA", tmp_path / "run" / side / "cityA")
    report = _report(capsys, tmp_path / "run" / "pred", tmp_path / "run" / "target")
    assert report["num_images"] == 3
    assert report["miou"] == pytest.approx(_miou([*linked.values(), *local.values()]))


def test_a_folder_link_loop_is_walked_once(tmp_path, capsys):
    arrays = _tree(tmp_path, ["a", "sub/b"])
    for side in ("pred", "target"):
        os.symlink(tmp_path / side, tmp_path / side / "sub" / "up")  # a loop
        os.symlink(".", tmp_path / side / "self")  # another
    report = _report(capsys, tmp_path / "pred", tmp_path / "target")
    assert report["num_images"] == 2
    assert report["miou"] == pytest.approx(_miou(arrays.values()))


def test_a_recursive_glob_counts_each_file_once(tmp_path, capsys):
    arrays = _tree(tmp_path, ["a", "sub/b", "sub/deeper/c"])
    for side in ("pred", "target"):
        os.symlink(tmp_path / side, tmp_path / side / "sub" / "loop")
    report = _report(capsys, f"{tmp_path}/pred/**/*.npy", f"{tmp_path}/target/**/*.npy")
    assert report["num_images"] == 3
    assert report["miou"] == pytest.approx(_miou(arrays.values()))


def test_a_glob_reaching_a_file_twice_counts_it_once(tmp_path, capsys):
    arrays = _tree(tmp_path, ["a", "b"])
    for side in ("pred", "target"):
        os.symlink(tmp_path / side, tmp_path / side / "again")
    report = _report(capsys, f"{tmp_path}/pred/*/*.npy", f"{tmp_path}/target/*/*.npy")
    assert report["num_images"] == 2
    assert report["miou"] == pytest.approx(_miou(arrays.values()))


def test_a_dangling_link_is_an_error(tmp_path, capsys):
    _tree(tmp_path, ["a", "b"])
    os.symlink(tmp_path / "gone.npy", tmp_path / "pred" / "c.npy")
    assert main(["evaluate", str(tmp_path / "pred"), str(tmp_path / "target"), "-c",
                 str(C), "-q"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "c.npy" in err and "link" in err, err
