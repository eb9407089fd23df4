"""Bad input to the metrics: one parametrized case per bad input, each raising
ValueError/TypeError whose message names the argument and what was expected; defined
results for empty batches; what happens where values are not checked (JAX, Dask).

The tables are in tests/support/error_cases.py and listed in docs/errors.md. Oracles:
the expected exception and message fragments (written in the tables), hand-computed
results for N = 0, and a NumPy re-count of the documented rule for labels that are not
checked.
"""

from __future__ import annotations

import numpy as np
import pytest

import anyiou.metrics as M
from tests.support import error_cases as E
from tests.support.error_cases import (
    EMPTY_BATCH,
    METRIC_CALL_ERRORS,
    METRIC_CONSTRUCTOR_ERRORS,
    METRIC_VALUE_ERRORS,
    MIXED_DEVICE_CALLS,
    MIXED_LIBRARY_CALLS,
)

I64, F32 = np.int64, np.float32


def _check_message(err: pytest.ExceptionInfo, says: tuple[str, ...]) -> None:
    message = str(err.value)
    for fragment in says:
        assert fragment in message, f"{fragment!r} not in {message!r}"


@pytest.mark.parametrize("bad", METRIC_CALL_ERRORS, ids=lambda b: b.id)
def test_call_rejects(backend, bad):
    with pytest.raises(bad.exc) as err:
        bad.call(backend.asarray)
    _check_message(err, bad.says)


@pytest.mark.parametrize("bad", METRIC_CONSTRUCTOR_ERRORS, ids=lambda b: b.id)
def test_constructor_rejects(bad):
    with pytest.raises(bad.exc) as err:
        bad.call()
    _check_message(err, bad.says)


@pytest.mark.parametrize("bad", METRIC_VALUE_ERRORS, ids=lambda b: b.id)
def test_label_values_checked_on_eager_arrays(backend, bad):
    if backend.checks_values:
        with pytest.raises(bad.exc) as err:
            bad.call(backend.asarray)
        _check_message(err, bad.says)
    else:
        # JAX, Dask and GPU arrays are not inspected (documented): no error, a result
        # (see test_unchecked_labels_follow_the_documented_rule for its value).
        out = bad.call(backend.asarray)
        for x in out if isinstance(out, tuple) else (getattr(out, "confmat", out),):
            assert backend.to_numpy(x).size > 0


# -- mixed libraries and devices --------------------------------------------------------


@pytest.mark.parametrize(("call", "names"), [m[1:] for m in MIXED_LIBRARY_CALLS],
                         ids=[m[0] for m in MIXED_LIBRARY_CALLS])
def test_mixed_libraries_rejected(call, names):
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError) as err:
        call(np.zeros((2, 3), I64), torch.zeros((2, 3), dtype=torch.int64))
    _check_message(err, (names, "same array library"))


@pytest.mark.only_backends("torch")
@pytest.mark.parametrize(("call", "names"), [m[1:] for m in MIXED_DEVICE_CALLS],
                         ids=[m[0] for m in MIXED_DEVICE_CALLS])
def test_mixed_devices_rejected(backend, call, names):
    torch = backend.lib
    cpu = torch.zeros((2, 3), dtype=torch.int64)
    meta = torch.zeros((2, 3), dtype=torch.int64, device="meta")
    with pytest.raises(ValueError) as err:
        call(cpu, meta)
    _check_message(err, ("same device", "meta"))


# -- empty batch: a defined result, no error, no warning --------------------------------


@pytest.mark.filterwarnings("error")  # no 'mean of empty slice' or 0/0 warnings either
@pytest.mark.parametrize(("call", "expected"), [e[1:] for e in EMPTY_BATCH],
                         ids=[e[0] for e in EMPTY_BATCH])
def test_empty_batch_gives_a_defined_result(backend, call, expected):
    out = call(backend.asarray)
    if isinstance(expected, list):
        assert len(out) == len(expected)
        for got, want in zip(out, expected, strict=True):
            got = backend.to_numpy(got)
            assert got.shape == want.shape and np.issubdtype(got.dtype, np.integer)
        return
    got = backend.to_numpy(out)
    np.testing.assert_array_equal(got, np.asarray(expected))


# -- labels outside [0, C) where values are not checked (JAX, also under jit; Dask) ------


def _unchecked_case():
    """Labels with values outside [0, 3) in both the target and the prediction."""
    rng = np.random.default_rng(3)
    target = rng.integers(0, 3, (2, 5, 4))
    preds = rng.integers(0, 3, (2, 5, 4))
    target[0, 0, :] = 7  # never a class
    target[1, 1, :2] = -3
    target[1, 2, 0] = 255  # the ignore_index of the second variant
    preds[0, 1, :] = 9  # predicted outside [0, C) at counted pixels
    preds[1, 3, 1] = -1
    return preds, target


def _documented_counts(preds, target, c, ignore_index):
    """The rule of docs/errors.md, re-counted in NumPy: a pixel counts where its target
    lies in [0, C) and is not ignore_index; there a prediction outside [0, C) is a false
    negative of the target's class (get_stats) and is left out of the confusion matrix."""
    counted = (target >= 0) & (target < c)
    if ignore_index is not None:
        counted &= target != ignore_index
    confmat = np.zeros((c, c), I64)
    tp, fp, fn = (np.zeros((target.shape[0], c), I64) for _ in range(3))
    for n in range(target.shape[0]):
        t, p, k = target[n].ravel(), preds[n].ravel(), counted[n].ravel()
        for i in range(c):
            tp[n, i] = np.sum(k & (t == i) & (p == i))
            fp[n, i] = np.sum(k & (t != i) & (p == i))
            fn[n, i] = np.sum(k & (t == i) & (p != i))
        for ti, pi in zip(t[k], p[k], strict=True):
            if 0 <= pi < c:
                confmat[ti, pi] += 1
    tn = counted.reshape(target.shape[0], -1).sum(1, keepdims=True) - tp - fp - fn
    return confmat, (tp, fp, fn, tn)


@pytest.mark.parametrize("ignore_index", [None, 255])
def test_unchecked_labels_follow_the_documented_rule(backend, ignore_index):
    if backend.checks_values:
        pytest.skip("eager CPU arrays raise instead (test_label_values_checked_on_eager_arrays)")
    preds, target = _unchecked_case()
    confmat, stats = _documented_counts(preds, target, 3, ignore_index)

    def run(p, t):
        cm = M.confusion_matrix(p, t, 3, ignore_index=ignore_index)
        st = M.get_stats(p, t, "multiclass", num_classes=3, ignore_index=ignore_index)
        iou = M.jaccard_index(p, t, 3, average="none", ignore_index=ignore_index)
        return cm, st, iou

    runners = [run]
    if backend.name.startswith("jax"):
        import jax

        runners.append(jax.jit(run))
    for fn in runners:
        cm, st, iou = fn(backend.asarray(preds), backend.asarray(target))
        np.testing.assert_array_equal(backend.to_numpy(cm), confmat)
        for got, want in zip(st, stats, strict=True):
            np.testing.assert_array_equal(backend.to_numpy(got), want)
        tp = np.diag(confmat)
        union = confmat.sum(0) + confmat.sum(1) - tp
        np.testing.assert_allclose(backend.to_numpy(iou), tp / union, rtol=1e-12)


def test_unchecked_binary_values_count_nonzero_as_positive(backend):
    """Without a threshold, binary/multilabel values other than 0/1 raise on eager CPU
    arrays; elsewhere (JAX, Dask, GPU) any non-zero value is a positive."""
    output = np.array([[[0, 1, 2, 0, 5, 1]]])
    target = np.array([[[0, 1, 1, 255, 0, 0]]])
    args = (backend.asarray(output), backend.asarray(target), "binary")
    if backend.checks_values:
        with pytest.raises(ValueError, match="output must hold 0/1"):
            M.get_stats(*args)
        return
    calls = [lambda o, t: M.get_stats(o, t, "binary")]
    if backend.name.startswith("jax"):
        import jax

        calls.append(jax.jit(calls[0]))
    for call in calls:
        got = [backend.to_numpy(x).tolist() for x in call(*args[:2])]
        # positives: output at 1, 2, 4, 5; target at 1, 2, 3
        assert got == [[[2]], [[2]], [[1]], [[1]]]


# -- the docs page lists the same table ----------------------------------------------------


def test_docs_list_every_case():
    """docs/errors.md ("Every case tried") names every case of the loss and metric
    error tables (tests/support/error_cases.py)."""
    from pathlib import Path

    page = Path(__file__).resolve().parents[2] / "docs" / "errors.md"
    if not page.exists():  # pragma: no cover - tests run from an sdist without docs
        pytest.skip("docs/errors.md not present")
    text = page.read_text()
    ids = [b.id for b in METRIC_CALL_ERRORS + METRIC_CONSTRUCTOR_ERRORS + METRIC_VALUE_ERRORS]
    ids += [f"mixed-libraries/{m[0]}" for m in MIXED_LIBRARY_CALLS]
    ids += [f"mixed-devices/{m[0]}" for m in MIXED_DEVICE_CALLS]
    ids += [f"constructor/{c[0]}" for c in E.LOSS_CONSTRUCTOR_ERRORS]
    ids += [f"lovasz-constructor/{c[0]}" for c in E.LOVASZ_CONSTRUCTOR_ERRORS]
    ids += [f"lovasz-call/{c[0]}" for c in E.LOVASZ_CALL_ERRORS]
    ids += [f"call/{c[0]}" for c in E.LOSS_CALL_ERRORS]
    ids += [f"value/{c[0]}" for c in E.LOSS_VALUE_ERRORS]
    missing = [i for i in ids if f"`{i}`" not in text]
    assert not missing, f"docs/errors.md does not list {missing}"


def test_meaniou_with_per_class_threshold_array_merges(backend):
    """Regression: a per-class threshold given as an array made merge() fail with
    "truth value of an array is ambiguous"; it is now checked once and kept as a tuple."""
    preds = np.array([[[0.2, 0.6], [0.7, 0.1]]], F32)  # (1, C=2, 2)
    target = np.array([[[0, 1], [1, 1]]])
    a, b = (M.MeanIoU(2, mode="multilabel", threshold=np.array([0.5, 0.65])) for _ in range(2))
    a.update(backend.asarray(preds), backend.asarray(target))
    b.update(backend.asarray(preds), backend.asarray(target))
    assert a.threshold == (0.5, 0.65)
    # class 0: positives (0.6) vs target (1): tp 1; class 1: positives (0.7) vs (1, 1): tp 1, fn 1
    merged = backend.to_numpy(a.merge(b).confmat).tolist()
    assert merged == [[[2, 0], [0, 2]], [[0, 0], [2, 2]]]
