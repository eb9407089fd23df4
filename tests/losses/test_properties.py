"""Property-based tests (hypothesis) of the overlap losses on every backend.

Oracle: the float64 NumPy reference of tests/oracles.py, written from the formulas;
plus invariances that any correct implementation satisfies.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import anyiou
from tests.support.oracles import np_onehot, np_sigmoid, np_softmax, np_tversky_losses

LOSSES = {"JaccardLoss": (1.0, 1.0), "DiceLoss": (0.5, 0.5), "TverskyLoss": (0.3, 0.7)}


def _examples(backend) -> int:
    # eager JAX compiles every new shape: fewer examples keep the suite fast
    return 8 if backend.name.startswith("jax") else 25


@st.composite
def problems(draw):
    mode = draw(st.sampled_from(["binary", "multiclass", "multilabel"]))
    n = draw(st.integers(1, 3))
    c = 1 if mode == "binary" else draw(st.integers(2, 4))
    spatial = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, draw(st.sampled_from([0.5, 3.0, 20.0])), (n, c) + spatial).astype(np.float32)
    ignore = draw(st.sampled_from([None, 255, -1]))
    if mode == "multiclass":
        y = rng.integers(0, c, (n,) + spatial)
    else:
        y = rng.integers(0, 2, (n, c) + spatial)
    if ignore is not None:
        y = np.where(rng.random(y.shape) < 0.25, ignore, y)
    options = {
        "smooth": draw(st.sampled_from([0.0, 0.0, 1.0])),
        "per_image": draw(st.booleans()),
        "ignore_index": ignore,
    }
    loss_name = draw(st.sampled_from(sorted(LOSSES)))
    return mode, loss_name, logits, y, options


def _reference(mode, loss_name, logits, y, options):
    alpha, beta = LOSSES[loss_name]
    ignore = options["ignore_index"]
    x = logits.astype(np.float64)
    if mode == "multiclass":
        valid = np.ones(y.shape, bool) if ignore is None else y != ignore
        p = np_softmax(x) * valid[:, None]
        t = np_onehot(np.where(valid, y, -1), x.shape[1])
    else:
        valid = np.ones(y.shape, bool) if ignore is None else y != ignore
        p = np_sigmoid(x) * valid
        t = np.where(valid, y, 0)
    loss, present = np_tversky_losses(p, t, alpha, beta, smooth=options["smooth"],
                                      per_image=options["per_image"])
    return float(np.mean(loss * present))


def _make(mode, loss_name, options, **extra):
    kw = dict(options, **extra)
    if loss_name == "TverskyLoss":
        kw.update(alpha=0.3, beta=0.7)
    return getattr(anyiou, loss_name)(mode, **kw)


def test_matches_float64_reference_and_bounds(backend):
    @settings(max_examples=_examples(backend), deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(problems())
    def check(problem):
        mode, loss_name, logits, y, options = problem
        expected = _reference(mode, loss_name, logits, y, options)
        got = float(backend.to_numpy(_make(mode, loss_name, options)(backend.asarray(logits),
                                                                     backend.asarray(y))))
        assert got == pytest.approx(expected, rel=1e-5, abs=1e-5)
        assert -1e-6 <= got <= 1 + 1e-6

    check()


def test_perfect_prediction_scores_zero(backend):
    @settings(max_examples=_examples(backend), deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(problems())
    def check(problem):
        mode, loss_name, _, y, options = problem
        c = 1 if mode == "binary" else (y.shape[1] if mode == "multilabel" else 4)
        if mode == "multiclass":
            y = np.where((y >= 0) & (y < c), y, options["ignore_index"] or 0)
            probs = np_onehot(y, c).astype(np.float32)
        else:
            probs = np.where((y == 0) | (y == 1), y, 0).astype(np.float32)
        opts = dict(options, smooth=0.0)
        loss = _make(mode, loss_name, opts, from_logits=False)
        got = float(backend.to_numpy(loss(backend.asarray(probs), backend.asarray(y))))
        assert got == pytest.approx(0.0, abs=1e-6)

    check()


def test_invariant_to_permuting_pixels(backend):
    @settings(max_examples=_examples(backend), deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(problems(), st.integers(0, 2**16))
    def check(problem, seed):
        mode, loss_name, logits, y, options = problem
        n, c = logits.shape[:2]
        perm = np.random.default_rng(seed).permutation(int(np.prod(logits.shape[2:])))
        lp = logits.reshape(n, c, -1)[..., perm]
        yp = y.reshape(n, -1)[..., perm] if mode == "multiclass" else y.reshape(n, c, -1)[..., perm]
        loss = _make(mode, loss_name, options)
        a = backend.to_numpy(loss(backend.asarray(logits), backend.asarray(y)))
        b = backend.to_numpy(loss(backend.asarray(lp), backend.asarray(yp)))
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

    check()


def test_equivariant_to_permuting_classes(backend):
    @settings(max_examples=_examples(backend), deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(problems(), st.integers(0, 2**16))
    def check(problem, seed):
        mode, loss_name, logits, y, options = problem
        if mode == "binary":
            return
        c = logits.shape[1]
        perm = np.random.default_rng(seed).permutation(c)
        lp = logits[:, perm]
        if mode == "multiclass":
            inverse = np.argsort(perm)
            yp = np.where((y >= 0) & (y < c), inverse[np.clip(y, 0, c - 1)], y)
        else:
            yp = y[:, perm]
        loss = _make(mode, loss_name, options, reduction="none")
        a = backend.to_numpy(loss(backend.asarray(logits), backend.asarray(y)))
        b = backend.to_numpy(loss(backend.asarray(lp), backend.asarray(yp)))
        np.testing.assert_allclose(a[..., perm], b, rtol=1e-5, atol=1e-6)

    check()


@pytest.mark.only_backends("jax", "jax_gpu")
def test_jit_equals_eager(backend):
    import jax

    @settings(max_examples=6, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(problems())
    def check(problem):
        mode, loss_name, logits, y, options = problem
        loss = _make(mode, loss_name, options)
        p, t = backend.asarray(logits), backend.asarray(y)
        expected = _reference(mode, loss_name, logits, y, options)
        np.testing.assert_allclose(np.asarray(jax.jit(loss)(p, t)), np.asarray(loss(p, t)), rtol=1e-6,
                                   atol=1e-7)
        assert float(jax.jit(loss)(p, t)) == pytest.approx(expected, rel=1e-5, abs=1e-5)

    check()
