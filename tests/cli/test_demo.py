"""``python -m anyiou demo``: every loss in every mode, fast, through the shared converters."""

from __future__ import annotations

import numpy as np
import pytest

import anyiou._demo as demo
from anyiou.cli import main


def test_demo_lists_every_loss_in_every_mode(monkeypatch, capsys):
    monkeypatch.setattr(demo, "BACKENDS", ("numpy", "array_api_strict"))
    assert main(["demo"]) == 0
    rows = {tuple(line.split()[:2]) for line in capsys.readouterr().out.splitlines()
            if line.split()}
    for loss in ("JaccardLoss", "DiceLoss", "TverskyLoss", "LovaszLoss"):
        for mode in ("binary", "multiclass", "multilabel"):
            assert (loss, mode) in rows, (loss, mode)


@pytest.mark.only_backends("dask")
def test_demo_dask_chunks_are_sensible(backend, monkeypatch, capsys):
    da = backend.lib
    blocks = []
    from_array = da.from_array

    def spy(a, *args, **kwargs):
        x = from_array(a, *args, **kwargs)
        if np.ndim(a) >= 3:  # the demo's inputs (N, [C,] H, W)
            blocks.append((np.shape(a), x.numblocks))
        return x

    monkeypatch.setattr(da, "from_array", spy)
    monkeypatch.setattr(demo, "BACKENDS", ("numpy", "dask"))
    assert main(["demo"]) == 0
    assert "dask" in capsys.readouterr().out
    assert blocks
    for shape, numblocks in blocks:
        # at most one chunk per sample, never one per element
        assert int(np.prod(numblocks)) <= shape[0], (shape, numblocks)


def test_demo_converts_through_the_shared_helpers(monkeypatch, capsys):
    import anyiou._lib._convert as convert

    seen = []

    def spy(a, backend, **kwargs):
        seen.append(backend)
        return convert.from_numpy(a, backend, **kwargs)

    monkeypatch.setattr(demo, "from_numpy", spy)
    monkeypatch.setattr(demo, "BACKENDS", ("numpy", "torch"))
    pytest.importorskip("torch")
    assert main(["demo"]) == 0
    assert {"numpy", "torch"} <= set(seen)


def test_cli_backend_converts_through_the_shared_helpers(monkeypatch):
    import anyiou._lib._convert as convert
    import anyiou.cli._evaluate as evaluate

    torch = pytest.importorskip("torch")
    seen = []

    def spy(a, backend, **kwargs):
        seen.append(backend)
        return convert.from_numpy(a, backend, **kwargs)

    monkeypatch.setattr(evaluate, "from_numpy", spy)
    to_backend, to_numpy = evaluate.resolve_backend("torch")
    x = to_backend(np.arange(3, dtype=np.int32))
    assert isinstance(x, torch.Tensor) and seen == ["torch"]
    np.testing.assert_array_equal(to_numpy(x), [0, 1, 2])


def test_demo_failure_is_one_line(monkeypatch, capsys):
    def boom():
        raise RuntimeError("no backend at all")

    monkeypatch.setattr(demo, "run", boom)
    assert main(["demo"]) == 1
    assert capsys.readouterr().err == "anyiou demo: error: unexpected RuntimeError: no backend at all\n"
