"""Pairs read by threads and 8-bit label maps counted in one pass, against the bincount
loop a user writes by hand."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anyiou.cli import main
from anyiou.cli._checks import check_pair
from anyiou.cli._files import LabelSource, Pair
from anyiou.cli._histogram import byte_confusion_matrix
from anyiou.cli._threads import default_workers, in_order
from anyiou.metrics import confusion_matrix

C = 5
VOID = 255


def _pair(rng: np.random.Generator, shape=(48, 64)) -> tuple[np.ndarray, np.ndarray]:
    """Blocky uint8 label maps with noise; about 5% void in the target."""
    coarse = rng.integers(0, C, (shape[0] // 8, shape[1] // 8))
    target = np.kron(coarse, np.ones((8, 8), int)).astype(np.uint8)
    pred = np.where(rng.random(shape) < 0.8, target, rng.integers(0, C, shape)).astype(np.uint8)
    target[rng.random(shape) < 0.05] = VOID
    return pred, target


def _write(root: Path, arrays: list[tuple[np.ndarray, np.ndarray]]) -> tuple[Path, Path]:
    for sub in ("preds", "targets"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for k, (pred, target) in enumerate(arrays):
        Image.fromarray(pred).save(root / "preds" / f"im{k}.png")
        Image.fromarray(target).save(root / "targets" / f"im{k}.png")
    return root / "preds", root / "targets"


def _hand_loop(arrays, num_classes: int, ignore_index: int | None) -> np.ndarray:
    """The loop a user writes: mask the void, bincount ``target * C + pred``."""
    cm = np.zeros(num_classes * num_classes, dtype=np.int64)
    for pred, target in arrays:
        m = target < num_classes
        if ignore_index is not None:
            m &= target != ignore_index
        cm += np.bincount(target[m].astype(np.int64) * num_classes + pred[m],
                          minlength=num_classes * num_classes)
    return cm.reshape(num_classes, num_classes)


def _json(capsys, argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def dataset(tmp_path):
    rng = np.random.default_rng(0)
    arrays = [_pair(rng) for _ in range(7)]
    return arrays, *_write(tmp_path, arrays)


@pytest.mark.parametrize("workers", ["1", "2", "3", "64"])
def test_counts_match_the_hand_loop_for_any_number_of_threads(dataset, capsys, workers):
    arrays, preds, targets = dataset
    argv = ["evaluate", str(preds), str(targets), "-c", str(C), "-i", str(VOID), "-q",
            "-f", "json", "--per-image"]
    report = _json(capsys, [*argv, "--workers", workers])
    np.testing.assert_array_equal(report["confusion_matrix"], _hand_loop(arrays, C, VOID))
    for image, pair in zip(report["images"], arrays, strict=True):
        assert image["pixels"] == int(_hand_loop([pair], C, VOID).sum())
    assert report == _json(capsys, [*argv, "-j", "1"])  # the same report, byte for byte


@pytest.mark.parametrize(
    ("num_classes", "ignore_index"),
    [(C, VOID), (C, None), (C, 2), (C, 1000), (C, -1), (300, VOID), (300, None), (256, 0)],
)
def test_one_pass_count_equals_checks_then_confusion_matrix(num_classes, ignore_index):
    rng = np.random.default_rng(1)
    pred, target = _pair(rng)
    if ignore_index is not None and 0 <= ignore_index <= VOID:
        target[target == VOID] = ignore_index  # void pixels marked by ignore_index
    elif num_classes <= VOID:
        target[target == VOID] = 0  # no void: a value no byte holds ignores nothing
    pair = Pair("x", LabelSource(Path("p.png")), LabelSource(Path("t.png")))
    got = byte_confusion_matrix(pred, target, num_classes, ignore_index)
    p, t = check_pair(pair, pred, target, num_classes, ignore_index)
    ii = ignore_index if ignore_index is None or 0 <= ignore_index < num_classes else -1
    np.testing.assert_array_equal(got, confusion_matrix(p[None], t[None], num_classes, ii))
    np.testing.assert_array_equal(got, _hand_loop([(pred, target)], num_classes, ignore_index))
    assert got.dtype == np.int64


def test_one_pass_count_of_bool_maps_and_what_it_leaves_to_the_checks():
    rng = np.random.default_rng(2)
    pred, target = rng.random((2, 9, 11)) < 0.5
    expected = _hand_loop([(pred.astype(np.uint8), target.astype(np.uint8))], 2, None)
    np.testing.assert_array_equal(byte_confusion_matrix(pred, target, 2, None), expected)
    labels = rng.integers(0, C, (9, 11)).astype(np.uint8)
    bad_target, bad_pred = labels.copy(), labels.copy()
    bad_target[0, 0], bad_pred[0, 0] = 7, 7
    assert byte_confusion_matrix(labels, bad_target, C, VOID) is None
    assert byte_confusion_matrix(bad_pred, labels, C, VOID) is None
    ignored = labels.copy()
    ignored[0, 0] = VOID  # a wrong prediction at a void pixel is not counted
    assert byte_confusion_matrix(bad_pred, ignored, C, VOID) is not None
    assert byte_confusion_matrix(labels.astype(np.int32), labels, C, VOID) is None
    assert byte_confusion_matrix(labels[:, :5], labels, C, VOID) is None


def _write_npy(root: Path, arrays) -> tuple[Path, Path]:
    """The same label maps as int64 .npy files: the general path, not the one-pass count."""
    for sub in ("preds", "targets"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for k, (pred, target) in enumerate(arrays):
        np.save(root / "preds" / f"im{k}.npy", pred.astype(np.int64))
        np.save(root / "targets" / f"im{k}.npy", target.astype(np.int64))
    return root / "preds", root / "targets"


def _error(capsys, preds: Path, targets: Path, workers: str) -> str:
    argv = ["evaluate", str(preds), str(targets), "-c", str(C), "-i", str(VOID), "-q",
            "-j", workers]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


@pytest.mark.parametrize("workers", ["1", "3"])
def test_first_bad_pair_in_file_order_is_reported_with_the_usual_message(tmp_path, capsys,
                                                                          workers):
    rng = np.random.default_rng(3)
    arrays = [_pair(rng) for _ in range(6)]
    arrays[4][0][5, 5], arrays[4][1][5, 5] = 9, 0  # predicted 9 at a counted pixel
    for bad_target in (True, False):
        arrays[2][1][0, :3] = 7 if bad_target else 0  # target 7: neither a class nor void
        png = _write(tmp_path / f"png{bad_target}", arrays)
        npy = _write_npy(tmp_path / f"npy{bad_target}", arrays)
        err = _error(capsys, *png, workers)
        if bad_target:
            assert err == (
                f"anyiou evaluate: error: TARGET {png[1] / 'im2.png'}: 3 pixels have labels "
                f"outside [0, {C}) and are not --ignore-index {VOID}: 7\n")
        else:
            assert err == (
                f"anyiou evaluate: error: PRED {png[0] / 'im4.png'}: 1 counted pixels have "
                f"predicted labels outside [0, {C}): 9\n")
        general = _error(capsys, *npy, workers)
        assert general.replace(str(npy[0].parent), str(png[0].parent)).replace(
            ".npy", ".png") == err


def test_default_workers_is_a_few_threads():
    assert 1 <= default_workers() <= 4


def test_threads_keep_order_and_stay_a_bounded_number_ahead():
    started, consumed, ahead = [], [0], []
    lock = threading.Lock()

    def work(k: int) -> int:
        with lock:
            started.append(k)
            ahead.append(len(started) - consumed[0])
        time.sleep(0.002 * (k % 3))  # later pairs often finish first
        return k * k

    out = []
    for value in in_order(work, list(range(20)), 3):
        out.append(value)
        consumed[0] += 1
    assert out == [k * k for k in range(20)]
    assert max(ahead) <= 3 + 1 + 1  # workers + 1 pending, and the one being consumed


def test_an_error_stops_the_threads_from_starting_more_pairs():
    started = []

    def work(k: int) -> int:
        started.append(k)
        if k == 2:
            raise ValueError("bad pair")
        return k

    with pytest.raises(ValueError, match="bad pair"):
        list(in_order(work, list(range(50)), 2))
    assert max(started) <= 2 + 2 + 1


@pytest.mark.parametrize("bad", ["0", "-1", "100000"])
def test_workers_out_of_bounds_is_a_usage_error(dataset, capsys, bad):
    _, preds, targets = dataset
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", str(preds), str(targets), "-c", str(C), "--workers", bad])
    assert exc.value.code == 2
    assert "--workers must be between 1 and 256" in capsys.readouterr().err
