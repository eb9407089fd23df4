"""The command line's manners: ``--version``, a bare ``anyiou``, ``--output``'s suffix,
``--boundary`` before PRED, an ``--output`` in a missing folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from anyiou.cli import main

from .test_evaluate import VOID, C, Dataset, _assert_matches, _oracle

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture
def data(tmp_path: Path) -> Dataset:
    return Dataset(tmp_path)


def _run(*args: str) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [SRC, *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run([sys.executable, "-m", "anyiou", *args], capture_output=True,
                          text=True, timeout=120, check=False, env=env)


def _usage_error(capsys, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


# -- --version, a bare anyiou ---------------------------------------------------------------


def test_version(capsys):
    # the version written in the package's __init__, read back from its source text
    init = Path(SRC, "anyiou", "__init__.py").read_text()
    (line,) = [s for s in init.splitlines() if s.startswith("__version__ = ")]
    version = line.split('"')[1]
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"anyiou {version}\n"
    proc = _run("--version")
    assert proc.returncode == 0 and proc.stdout == f"anyiou {version}\n", proc.stderr


def test_no_arguments_prints_help_not_the_demo(capsys, monkeypatch):
    import anyiou._demo as demo

    def boom():
        raise AssertionError("the demo ran")

    monkeypatch.setattr(demo, "run", boom)
    assert main([]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    for word in ("usage: anyiou", "evaluate", "demo", "--version"):
        assert word in captured.err, (word, captured.err)
    proc = _run()
    assert proc.returncode == 2 and "usage: anyiou" in proc.stderr and proc.stdout == ""


# -- --output's suffix ----------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".xlsx", ".html", ".JSONL"])
def test_unknown_output_suffix_is_a_usage_error(data, capsys, tmp_path, suffix):
    out = tmp_path / f"report{suffix}"
    err = _usage_error(capsys, data.args("-o", str(out)))
    assert "-o/--output" in err and suffix in err, err
    for known in (".json", ".csv", ".md", ".txt"):
        assert known in err, (known, err)
    assert not out.exists()


@pytest.mark.parametrize("suffix, fmt", [(".json", "json"), (".csv", "csv"),
                                         (".md", "markdown"), (".txt", "table"),
                                         (".CSV", "csv")])
def test_format_inferred_from_output_suffix(data, capsys, tmp_path, suffix, fmt):
    out = tmp_path / f"report{suffix}"
    assert main(data.args("-o", str(out))) == 0
    ref = tmp_path / "ref"
    assert main(data.args("-f", fmt, "-o", str(ref))) == 0  # no suffix: as --format says
    assert out.read_text() == ref.read_text()
    assert capsys.readouterr().out == ""


def test_suffix_contradicting_format_is_a_usage_error(data, capsys, tmp_path):
    out = tmp_path / "report.csv"
    err = _usage_error(capsys, data.args("-f", "json", "-o", str(out)))
    assert "-o/--output" in err and ".csv" in err and "json" in err, err
    assert not out.exists()


def test_explicit_format_allows_any_other_suffix(data, capsys, tmp_path):
    out = tmp_path / "report.log"
    assert main(data.args("-f", "json", "-o", str(out))) == 0
    _assert_matches(json.loads(out.read_text()), _oracle(list(data.arrays.values())))


def test_markdown_report(data, capsys):
    assert main(data.args("-f", "markdown", "--per-image", "--boundary")) == 0
    text = capsys.readouterr().out
    oracle = _oracle(list(data.arrays.values()))
    lines = text.splitlines()
    header = [ln for ln in lines if ln.startswith("| id |")]
    assert header and "Boundary IoU" in header[0]
    assert f"| mIoU (macro) | {oracle['miou']['macro']:.4f} |" in lines
    assert any(ln.startswith("| image |") for ln in lines)
    for ln in lines:  # every table row has the cells of its header
        if ln.startswith("|"):
            assert ln.endswith("|")


# -- --boundary before PRED -----------------------------------------------------------------


def _report(capsys, argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("ratio", [None, "0.05"])
def test_boundary_before_pred_parses(data, capsys, ratio):
    value = [] if ratio is None else [ratio]
    pred, target = str(data.preds_dir), str(data.targets_dir)
    common = ["-c", str(C), "-i", str(VOID), "-q", "-f", "json"]
    after = _report(capsys, ["evaluate", pred, target, *common, "--boundary", *value])
    before = _report(capsys, ["evaluate", "--boundary", *value, pred, target, *common])
    first = _report(capsys, ["evaluate", "--boundary", *value, "-c", str(C), pred, target,
                             *common[2:]])
    assert after["boundary_ratio"] == float(ratio or 0.02)
    assert before == after == first


def test_boundary_abbreviated_before_pred(data, capsys):
    pred, target = str(data.preds_dir), str(data.targets_dir)
    report = _report(capsys, ["evaluate", "--bound", pred, target, "-c", str(C), "-i",
                              str(VOID), "-q", "-f", "json"])
    assert report["boundary_ratio"] == 0.02


def test_boundary_bad_number_still_a_usage_error(data, capsys):
    err = _usage_error(capsys, ["evaluate", "--boundary", "2", str(data.preds_dir),
                                str(data.targets_dir), "-c", str(C)])
    assert "--boundary" in err


# -- --output in a missing folder -----------------------------------------------------------


def test_output_in_missing_folder_names_the_folder(data, capsys, tmp_path, monkeypatch):
    import anyiou.cli._evaluate as ev

    def no_counting(*args, **kwargs):
        raise AssertionError("counted before the output folder was checked")

    monkeypatch.setattr(ev, "count", no_counting)
    folder = tmp_path / "missing"
    assert main(data.args("-o", str(folder / "r.json"))) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err
    assert err.count("\n") == 1 and err.startswith("anyiou evaluate: error: "), err
    assert f"the folder {folder} does not exist" in err, err
    assert ".tmp" not in err, err
