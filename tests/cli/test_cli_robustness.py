"""``anyiou evaluate`` on awkward input: matching, encodings, odd file names, absurd
numbers, report permissions, and never a traceback (one line, exit status 1)."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anyiou.cli import main

C = 4
VOID = 255


def _labels(seed: int, shape=(6, 7), void: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    target = rng.integers(0, C, shape)
    pred = np.where(rng.random(shape) < 0.6, target, rng.integers(0, C, shape))
    if void:
        target = np.where(rng.random(shape) < 0.1, VOID, target)
    return pred, target


def _folders(root: Path, names=("a", "b")) -> tuple[Path, Path]:
    """preds/ and targets/ of .npy label maps with the same names."""
    for k, name in enumerate(names):
        pred, target = _labels(k, void=True)
        for sub, arr in (("preds", pred), ("targets", target)):
            (root / sub).mkdir(parents=True, exist_ok=True)
            np.save(root / sub / f"{name}.npy", arr)
    return root / "preds", root / "targets"


def _args(pred, target, *extra: str) -> list[str]:
    return ["evaluate", str(pred), str(target), "-c", str(C), "-i", str(VOID), "-q", *extra]


def _fails(capsys, argv, *needles: str) -> str:
    """Exit status 1, nothing on stdout, one line on stderr holding every needle."""
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err
    assert err.startswith("anyiou evaluate: error: ")
    assert err.count("\n") == 1 and err.endswith("\n"), err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "anyiou", *args], capture_output=True,
                          text=True, timeout=120, check=False, env={**os.environ, **env})


def _leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(".tmp")]


# -- 1. matching --------------------------------------------------------------------------


def test_folders_of_one_file_each_are_matched_by_name(tmp_path, capsys):
    pred, target = _labels(0)
    for sub, name, arr in (("p", "scene_a", pred), ("t", "scene_b", target)):
        (tmp_path / sub).mkdir()
        np.save(tmp_path / sub / f"{name}.npy", arr)
    _fails(capsys, _args(tmp_path / "p", tmp_path / "t"), "do not match",
           "1 of 1 predictions have no target", "scene_a.npy",
           "1 of 1 targets have no prediction", "scene_b.npy")
    # the same name (another suffix) matches; a single file against a folder too
    np.save(tmp_path / "p" / "scene_b.npy", pred)
    (tmp_path / "p" / "scene_a.npy").unlink()
    assert main(_args(tmp_path / "p", tmp_path / "t", "-f", "json")) == 0
    assert json.loads(capsys.readouterr().out)["num_images"] == 1
    assert main(_args(tmp_path / "p" / "scene_b.npy", tmp_path / "t", "-f", "json")) == 0
    capsys.readouterr()
    # two single files are still paired whatever their names
    assert main(_args(tmp_path / "p" / "scene_b.npy", tmp_path / "t" / "scene_b.npy")) == 0


def test_unmatched_files_are_one_line(tmp_path, capsys):
    preds, targets = _folders(tmp_path, names=("a", "b", "c"))
    (preds / "a.npy").rename(preds / "x.npy")
    _fails(capsys, _args(preds, targets), "x.npy", "a.npy")


def test_two_label_maps_of_one_name_are_an_error(tmp_path, capsys):
    preds, targets = _folders(tmp_path)
    Image.fromarray(np.zeros((6, 7), np.uint8)).save(preds / "a.png")
    _fails(capsys, _args(preds, targets), "PRED holds 2 label maps named 'a'", "a.npy", "a.png")


# -- 2. class names that are not UTF-8 ----------------------------------------------------


def test_class_names_not_utf8(tmp_path, capsys):
    preds, targets = _folders(tmp_path)
    names = tmp_path / "names.txt"
    names.write_bytes("fond\nvoie\ncaf\u00e9\narbre\n".encode("latin-1"))
    _fails(capsys, _args(preds, targets, "--class-names", str(names)), str(names), "UTF-8")
    # UTF-8, with a byte-order mark, is read
    names.write_bytes("\ufefffond\nvoie\ncaf\u00e9\narbre\n".encode())
    assert main(_args(preds, targets, "--class-names", str(names), "-f", "json")) == 0
    report = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in report["classes"]] == ["fond", "voie", "caf\u00e9", "arbre"]


def test_class_names_bad_json_is_one_line(tmp_path, capsys):
    preds, targets = _folders(tmp_path)
    names = tmp_path / "names.json"
    names.write_text("[" * 100_000)
    _fails(capsys, _args(preds, targets, "--class-names", str(names)), "names.json")


# -- 3. file names that are not UTF-8; no temporary file left -----------------------------


@pytest.fixture
def odd_names(tmp_path: Path) -> tuple[Path, Path]:
    """preds/ and targets/ holding b"\\xff.npy" and b"ok.npy" (Linux file names are bytes)."""
    if sys.platform != "linux":
        pytest.skip("file names of arbitrary bytes are a Linux feature")
    root = os.fsencode(tmp_path)
    for k, name in enumerate((b"\xff", b"ok")):
        pred, target = _labels(k, void=True)
        for sub, arr in ((b"preds", pred), (b"targets", target)):
            os.makedirs(os.path.join(root, sub), exist_ok=True)
            with open(os.path.join(root, sub, name + b".npy"), "wb") as f:
                np.save(f, arr)
    return tmp_path / "preds", tmp_path / "targets"


@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_non_utf8_file_name_in_reports(odd_names, tmp_path, capsys, fmt):
    out = tmp_path / f"r.{fmt}"
    assert main(_args(*odd_names, "--per-image", "--format", fmt, "-o", str(out))) == 0
    text = out.read_text(encoding="utf-8")
    if fmt == "csv":
        images = {row["image"] for row in csv.DictReader(io.StringIO(text))}
        assert images == {"", "\\xff", "ok"}
    elif fmt == "json":
        images = {im["name"]: im for im in json.loads(text)["images"]}
        assert set(images) == {"\\xff", "ok"}
        assert images["\\xff"]["pred"].endswith("\\xff.npy")
    else:
        assert "\\xff" in text
    assert _leftovers(tmp_path) == []


@pytest.mark.slow  # python -m anyiou in a subprocess
def test_non_utf8_file_name_in_messages_and_on_stdout(odd_names, tmp_path):
    proc = _run(*_args(*odd_names, "--per-image", "-f", "csv"))
    assert proc.returncode == 0, proc.stderr
    assert "\\xff," in proc.stdout
    os.remove(os.path.join(os.fsencode(odd_names[1]), b"\xff.npy"))
    proc = _run(*_args(*odd_names))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "\\xff.npy" in proc.stderr and proc.stderr.count("\n") == 1


def test_no_temporary_file_left_on_any_error(tmp_path, capsys, monkeypatch):
    preds, targets = _folders(tmp_path)
    out = tmp_path / "r.json"

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(os, "replace", broken)
    _fails(capsys, _args(preds, targets, "-o", str(out)), "disk on fire")
    assert _leftovers(tmp_path) == [] and not out.exists()


# -- 4. absurd numbers --------------------------------------------------------------------


def test_absurd_num_classes(tmp_path, capsys):
    preds, targets = _folders(tmp_path)
    argv = _args(preds, targets)
    argv[argv.index("-c") + 1] = "200000"
    _fails(capsys, argv, "--num-classes", "200000", "GiB", "16384")
    names = tmp_path / "names.txt"
    names.write_text("\n".join(f"c{k}" for k in range(16385)))
    del argv[argv.index("-c"): argv.index("-c") + 2]
    _fails(capsys, [*argv, "--class-names", str(names)], "--class-names", "16385", "16384")


def test_per_image_counts_too_large(tmp_path, capsys, monkeypatch):
    import anyiou.cli._checks

    preds, targets = _folders(tmp_path)
    monkeypatch.setattr(anyiou.cli._checks, "MAX_COUNT_BYTES", 2 * C * C * 8 - 1)
    _fails(capsys, _args(preds, targets, "--per-image"), "--per-image", "2 images")
    assert main(_args(preds, targets)) == 0  # the dataset's one matrix fits


@pytest.mark.parametrize("library", ["numpy", "torch"])
def test_ignore_index_beyond_int64(tmp_path, capsys, library):
    pytest.importorskip(library)
    preds, targets = _folders(tmp_path)
    argv = _args(preds, targets, "--backend", library)
    argv[argv.index("-i") + 1] = "99999999999999999999"
    _fails(capsys, argv, "--ignore-index", "99999999999999999999", "64-bit")


@pytest.mark.parametrize("library", ["numpy", "torch"])
@pytest.mark.parametrize("ignore", [2**40, 2**63 - 1, -(2**63), -100])
def test_ignore_index_outside_label_dtype_matches_nothing(tmp_path, capsys, library, ignore):
    pytest.importorskip(library)
    pred, target = _labels(3, (5, 6))
    np.save(tmp_path / "p.npy", pred.astype(np.uint8))
    np.save(tmp_path / "t.npy", target.astype(np.uint8))
    argv = ["evaluate", str(tmp_path / "p.npy"), str(tmp_path / "t.npy"), "-c", str(C), "-q",
            "-f", "json", "--backend", library]
    assert main(argv) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main([*argv, "-i", str(ignore)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["confusion_matrix"] == plain["confusion_matrix"]
    assert report["ignore_index"] == ignore


def test_ignore_index_held_by_int64_labels(tmp_path, capsys):
    pred, target = _labels(4, (5, 6))
    target[0] = 2**40
    np.save(tmp_path / "p.npy", pred)
    np.save(tmp_path / "t.npy", target)
    argv = ["evaluate", str(tmp_path / "p.npy"), str(tmp_path / "t.npy"), "-c", str(C), "-q",
            "-f", "json", "--backend", "torch", "-i", str(2**40)]
    pytest.importorskip("torch")
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["pixels"] == 4 * 6


# -- 5. permissions of the report ---------------------------------------------------------


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_report_permissions(tmp_path, capsys, umask_022):
    preds, targets = _folders(tmp_path)
    out = tmp_path / "r.json"
    assert main(_args(preds, targets, "-o", str(out))) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o644  # 0666 less the umask
    for mode in (0o644, 0o640, 0o664):
        out.chmod(mode)
        assert main(_args(preds, targets, "-o", str(out))) == 0
        assert stat.S_IMODE(out.stat().st_mode) == mode  # an overwritten report keeps its
    os.umask(0o077)
    new = tmp_path / "private.csv"
    assert main(_args(preds, targets, "-o", str(new))) == 0
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    assert _leftovers(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_output_to_a_named_pipe_writes_into_it(tmp_path, capsys):
    preds, targets = _folders(tmp_path)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # a reader, so the writer does not block
    try:
        assert main(_args(preds, targets, "-f", "json", "-o", str(fifo))) == 0
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # not replaced by a regular file
        assert json.loads(os.read(fd, 1 << 16))["num_images"] == 2
    finally:
        os.close(fd)


def test_output_symlink_is_followed(tmp_path, capsys):
    preds, targets = _folders(tmp_path)
    real = tmp_path / "real.json"
    real.write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert main(_args(preds, targets, "-o", str(link))) == 0
    assert link.is_symlink() and json.loads(real.read_text())["num_images"] == 2


# -- 6. never a traceback -----------------------------------------------------------------


def test_tiff_pages_of_different_sizes(tmp_path, capsys):
    pages = [Image.fromarray(np.zeros(s, np.uint8)) for s in ((3, 3), (4, 4))]
    pages[0].save(tmp_path / "t.tif", save_all=True, append_images=pages[1:])
    np.save(tmp_path / "p.npy", np.zeros((2, 3, 3), np.int64))
    _fails(capsys, ["evaluate", str(tmp_path / "p.npy"), str(tmp_path / "t.tif"), "-c", "2"],
           "t.tif", "pages differ in size")


def test_output_is_a_folder(tmp_path, capsys):
    preds, targets = _folders(tmp_path)
    _fails(capsys, _args(preds, targets, "-o", str(tmp_path)), "--output", "it is a folder")


def test_unexpected_errors_are_one_line(tmp_path, capsys, monkeypatch):
    import anyiou.cli._evaluate

    preds, targets = _folders(tmp_path)

    def boom(*args, **kwargs):
        raise RuntimeError("first line\nsecond line")

    monkeypatch.setattr(anyiou.cli._evaluate, "read_pair", boom)
    _fails(capsys, _args(preds, targets), "unexpected RuntimeError", "first line\\nsecond line")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(anyiou.cli._evaluate, "read_pair", interrupted)
    assert main(_args(preds, targets)) == 130
    assert capsys.readouterr().err == "anyiou evaluate: interrupted\n"


@pytest.mark.slow  # python -m anyiou in a subprocess
def test_subprocess_never_prints_a_traceback(tmp_path):
    preds, targets = _folders(tmp_path)
    latin = tmp_path / "names.txt"
    latin.write_bytes(b"caf\xe9\n" * C)
    for extra in (["--class-names", str(latin)], ["-c", "200000"],
                  ["--backend", "torch", "-i", "99999999999999999999"]):
        proc = _run(*_args(preds, targets, *extra))
        assert proc.returncode == 1, (extra, proc.stderr)
        assert proc.stdout == "" and "Traceback" not in proc.stderr
        assert proc.stderr.count("\n") == 1, proc.stderr


# -- 7. label values printed exactly ------------------------------------------------------


@pytest.mark.parametrize("role", ["TARGET", "PRED"])
def test_uint64_labels_are_printed_exactly(tmp_path, capsys, role):
    pred, target = _labels(5, (4, 5))
    arrays = {"PRED": pred.astype(np.uint64), "TARGET": target.astype(np.uint64)}
    arrays[role][0, 0] = 2**63 + 5
    np.save(tmp_path / "p.npy", arrays["PRED"])
    np.save(tmp_path / "t.npy", arrays["TARGET"])
    err = _fails(capsys, ["evaluate", str(tmp_path / "p.npy"), str(tmp_path / "t.npy"),
                          "-c", str(C), "-i", "-1"], role, str(2**63 + 5))
    assert "-9223372036854775803" not in err
