"""Generalized Dice (Sudre et al. 2017) and the MONAI options of the overlap losses
(``squared_pred``, ``smooth_nr``/``smooth_dr``), against independent oracles:

* a float64 NumPy reference written from the paper's formula and MONAI's rule for absent
  classes (``_np_generalized``, ``_np_overlap``);
* MONAI 1.6.1 (``monai.losses.GeneralizedDiceLoss``, ``DiceLoss(squared_pred=True,
  jaccard=...)``), through torch;
* optax 0.2.8 (``multiclass_generalized_dice_loss``) reproduced from the internal
  functions the adapters call, on JAX.

MONAI adds its smoothing to ``2 I`` and ``sum p + sum t``: anyiou's halved form takes
half its values. MONAI keeps a loss for classes absent from the target where anyiou's
overlap losses give 0 (smp's rule), so the overlap comparisons have every class present.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import anyiou
from anyiou.losses import generalized_dice_loss
from anyiou.losses._class_losses import tversky_score
from anyiou.losses._generalized import generalized_dice_score, generalized_weights
from tests.support.oracles import np_onehot, np_sigmoid, np_softmax

WEIGHTS = ("square", "simple", "uniform")


def _np_weights(t_sum: np.ndarray, weight_type: str) -> np.ndarray:
    """MONAI's rule, in float64: infinite weights become the row's largest finite one."""
    with np.errstate(divide="ignore"):
        w = {"square": 1 / t_sum**2, "simple": 1 / t_sum, "uniform": np.ones_like(t_sum)}[
            weight_type
        ]
    inf = ~np.isfinite(w)
    w = np.where(inf, 0.0, w)
    return np.where(inf, w.max(axis=-1, keepdims=True), w)


def _np_generalized(p, t, weight_type, *, per_image, squared=False, nr=0.0, dr=0.0):
    """Loss (mean over samples with ``per_image``) of (N, C, P) probabilities and targets;
    ``nr``/``dr`` in MONAI's convention (added to 2 * sum(w I) and sum(w (P + T))).
    ``I = sum(min(p, t))``: smp's L1 form, ``sum(p * t)`` for 0/1 targets."""
    axes = (2,) if per_image else (0, 2)
    inter = np.minimum(p, t).sum(axes)
    t_sum = t.sum(axes)
    den = (p**2).sum(axes) + (t**2).sum(axes) if squared else p.sum(axes) + t.sum(axes)
    w = _np_weights(t_sum, weight_type)
    num = 2 * (w * inter).sum(-1) + nr
    d = (w * den).sum(-1) + dr
    score = np.where((t_sum > 0).any(-1), num / np.where(d == 0, 1, d), 1.0)
    return float(np.mean(1 - score))


def _np_overlap(p, t, alpha, beta, *, squared, nr, dr, per_image=False):
    """Mean per-class Tversky loss with sums of squares and separate smoothing (halved);
    ``I`` as in `_np_generalized`."""
    axes = (2,) if per_image else (0, 2)
    inter = np.minimum(p, t).sum(axes)
    ps = (p**2).sum(axes) if squared else p.sum(axes)
    ts = (t**2).sum(axes) if squared else t.sum(axes)
    score = (inter + nr) / (inter + alpha * (ps - inter) + beta * (ts - inter) + dr)
    return float(np.mean(np.where(t.sum(axes) > 0, 1 - score, 0.0)))


def _multiclass(seed, n=2, c=3, hw=(4, 5), absent=()):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 2, (n, c, *hw))
    labels = rng.integers(0, c, (n, *hw))
    labels[:, 0, :c] = np.arange(c)  # every class present ...
    for k in absent:  # ... except these
        labels[labels == k] = (k + 1) % c
    return x, labels


# -- the score on (N, C) statistics ------------------------------------------------------


@pytest.mark.parametrize("weight_type", WEIGHTS)
def test_score_of_statistics_matches_the_reference(xp, backend, weight_type):
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 1, (3, 4, 10))
    t = (rng.uniform(size=(3, 4, 10)) < 0.3).astype(np.float64)
    t[0, 1] = 0  # a class absent from sample 0
    t[2] = 0  # no class in sample 2
    inter, ps, ts = (backend.asarray(a) for a in ((p * t).sum(2), p.sum(2), t.sum(2)))
    score = generalized_dice_score(
        xp, inter, ps, ts, weight_type=weight_type, smooth_nr=0.25, smooth_dr=0.5,
    )
    got = backend.to_numpy(score)
    w = _np_weights(t.sum(2), weight_type)
    want = ((w * (p * t).sum(2)).sum(1) + 0.25) / (0.5 * (w * (p + t).sum(2)).sum(1) + 0.5)
    want[2] = 1.0  # no class present: score 1
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # MONAI's formula there instead: weights all 0 (all 1 for "uniform")
    raw = generalized_dice_score(
        xp, inter, ps, ts, weight_type=weight_type, smooth_nr=0.25, smooth_dr=0.5,
        empty_one=False,
    )
    monai = 0.25 / (0.5 * p[2].sum() + 0.5) if weight_type == "uniform" else 0.5
    assert backend.to_numpy(raw)[2] == pytest.approx(monai, rel=1e-12)


def test_weights_absent_rules(xp, backend):
    t = backend.asarray(np.array([[4.0, 0.0, 2.0], [0.0, 0.0, 0.0]]))
    got = {rule: backend.to_numpy(generalized_weights(xp, t, "square", absent=rule, offset=1.0))
           for rule in ("max", "offset", "zero")}
    np.testing.assert_allclose(got["max"], [[1 / 16, 1 / 4, 1 / 4], [0, 0, 0]])
    np.testing.assert_allclose(got["offset"], [[1 / 17, 1, 1 / 5], [1, 1, 1]])
    np.testing.assert_allclose(got["zero"], [[1 / 16, 0, 1 / 4], [0, 0, 0]])
    simple = backend.to_numpy(generalized_weights(xp, t, "simple"))
    np.testing.assert_allclose(simple, [[1 / 4, 1 / 2, 1 / 2], [0, 0, 0]])


# -- the loss against the float64 reference ----------------------------------------------


@pytest.mark.parametrize("weight_type", WEIGHTS)
@pytest.mark.parametrize("per_image", [False, True])
def test_multiclass_loss_matches_the_reference(backend, weight_type, per_image):
    x, labels = _multiclass(2, absent=(2,))
    labels[0, -1, -2:] = 255
    valid = (labels != 255)[:, None].reshape(2, 1, -1)
    p = np_softmax(x).reshape(2, 3, -1) * valid
    t = np_onehot(np.where(labels == 255, 0, labels), 3).reshape(2, 3, -1) * valid
    want = _np_generalized(p, t, weight_type, per_image=per_image, squared=True, nr=0.2, dr=0.6)
    loss = anyiou.GeneralizedDiceLoss(
        "multiclass", ignore_index=255, weight_type=weight_type, per_image=per_image,
        smooth_nr=0.1, smooth_dr=0.3, squared_pred=True,
    )
    assert float(loss(backend.asarray(x), backend.asarray(labels))) == pytest.approx(
        want, rel=1e-10
    )


@pytest.mark.lazy_subset("mode", ["multilabel"])
@pytest.mark.parametrize("mode", ["binary", "multilabel", "onehot"])
def test_dense_targets_match_the_reference(backend, mode):
    rng = np.random.default_rng(5)
    c = 1 if mode == "binary" else 3
    x = rng.normal(0, 2, (2, c, 3, 4))
    if mode == "onehot":
        t = np_onehot(rng.integers(0, 3, (2, 3, 4)), 3)
        p, m = np_softmax(x), "multiclass"
    else:
        t = rng.uniform(0, 1, x.shape)  # soft targets: sum t**2 != sum t
        t[0, 0] = 0.0
        p, m = np_sigmoid(x), mode
    want = _np_generalized(p.reshape(2, c, -1), t.reshape(2, c, -1), "square",
                           per_image=True, squared=True)
    got = generalized_dice_loss(backend.asarray(x), backend.asarray(t), mode=m,
                                per_image=True, squared_pred=True)
    assert float(got) == pytest.approx(want, rel=1e-10)


def test_reduction_none_and_classes(backend):
    x, labels = _multiclass(3)
    p = np_softmax(x).reshape(2, 3, -1)[:, 1:]
    t = np_onehot(labels, 3).reshape(2, 3, -1)[:, 1:]
    loss = anyiou.GeneralizedDiceLoss("multiclass", classes=[1, 2], per_image=True,
                                      reduction="none")
    got = backend.to_numpy(loss(backend.asarray(x), backend.asarray(labels)))
    want = [_np_generalized(p[i : i + 1], t[i : i + 1], "square", per_image=True)
            for i in range(2)]
    np.testing.assert_allclose(got, want, rtol=1e-10)


# -- MONAI -------------------------------------------------------------------------------


@pytest.fixture
def monai():
    return pytest.importorskip("monai.losses")


@pytest.mark.only_backends("numpy", "torch")
@pytest.mark.parametrize("weight_type", WEIGHTS)
@pytest.mark.parametrize("batch", [False, True])
def test_generalized_dice_matches_monai(backend, monai, weight_type, batch):
    import torch

    x, labels = _multiclass(7, absent=(1,))
    labels[1][labels[1] == 2] = 0  # sample 1: class 0 only
    onehot = torch.from_numpy(np_onehot(labels, 3))
    oracle = monai.GeneralizedDiceLoss(softmax=True, w_type=weight_type, batch=batch,
                                       smooth_nr=1e-3, smooth_dr=1e-3)
    want = oracle(torch.from_numpy(x), onehot).item()
    loss = anyiou.GeneralizedDiceLoss("multiclass", weight_type=weight_type,
                                      per_image=not batch, smooth=5e-4)
    assert float(loss(backend.asarray(x), backend.asarray(labels))) == pytest.approx(
        want, rel=1e-6
    )


@pytest.mark.only_backends("numpy", "torch")
@pytest.mark.parametrize("jaccard", [False, True])
@pytest.mark.parametrize("target", ["labels", "onehot"])
def test_squared_pred_and_smoothing_match_monai(backend, monai, jaccard, target):
    """Also the torch fast path's host: it declines these options and the composition
    gives MONAI's value and gradient."""
    import torch

    x, labels = _multiclass(11)
    onehot = np_onehot(labels, 3)
    oracle = monai.DiceLoss(softmax=True, squared_pred=True, jaccard=jaccard, batch=True,
                            smooth_nr=0.2, smooth_dr=0.6)
    xt = torch.from_numpy(x).requires_grad_(True)
    want = oracle(xt, torch.from_numpy(onehot))
    (want_grad,) = torch.autograd.grad(want, xt)
    cls = anyiou.JaccardLoss if jaccard else anyiou.DiceLoss
    loss = cls("multiclass", smooth_nr=0.1, smooth_dr=0.3, squared_pred=True)
    y = labels if target == "labels" else onehot
    if backend.has_autodiff:
        value, grad = backend.value_and_grad(lambda z: loss(z, backend.asarray(y)), x)
        np.testing.assert_allclose(grad, want_grad.numpy(), rtol=1e-7, atol=1e-12)
    else:
        value = backend.to_numpy(loss(backend.asarray(x), backend.asarray(y)))
    assert float(value) == pytest.approx(want.item(), rel=1e-10)


@pytest.mark.lazy_subset("name", ["TverskyLoss"])
@pytest.mark.parametrize("name", ["JaccardLoss", "DiceLoss", "TverskyLoss"])
@pytest.mark.parametrize("squared", [False, True])
def test_overlap_options_match_the_reference(backend, name, squared):
    rng = np.random.default_rng(4)
    x = rng.normal(0, 2, (2, 3, 4, 4))
    t = rng.uniform(0, 1, x.shape)
    alpha, beta = {"JaccardLoss": (1, 1), "DiceLoss": (0.5, 0.5), "TverskyLoss": (0.3, 0.7)}[
        name
    ]
    extra = {"alpha": 0.3, "beta": 0.7} if name == "TverskyLoss" else {}
    loss = getattr(anyiou, name)("multilabel", smooth_nr=0.5, smooth_dr=1.5,
                                 squared_pred=squared, per_image=True, **extra)
    want = _np_overlap(np_sigmoid(x).reshape(2, 3, -1), t.reshape(2, 3, -1), alpha, beta,
                       squared=squared, nr=0.5, dr=1.5, per_image=True)
    assert float(loss(backend.asarray(x), backend.asarray(t))) == pytest.approx(want, rel=1e-10)


# -- optax -------------------------------------------------------------------------------


@pytest.mark.only_backends("jax")
def test_optax_generalized_dice_from_the_internal_functions(xp, backend):
    """optax's formula: per-sample Dice losses, weighted by 1 / (T_c**2 + 1e-7) of the
    whole batch (normalised to mean 1), averaged; reproduced with the ``offset`` rule."""
    optax = pytest.importorskip("optax")
    import jax
    import jax.numpy as jnp

    from anyiou.losses._statistics import overlap_statistics

    x, labels = _multiclass(9, absent=(2,))
    x_last = np.moveaxis(x, 1, -1)
    want = optax.losses.multiclass_generalized_dice_loss(
        jnp.asarray(x_last), jax.nn.one_hot(labels, 3))

    def ours(z):
        stats = overlap_statistics(xp, z, backend.asarray(labels), mode="multiclass",
                                   from_logits=True, ignore_index=None, class_axis=-1)
        w = generalized_weights(xp, xp.sum(stats.target_sum, axis=0), "square",
                                absent="offset", offset=1e-7)
        w = w / xp.sum(w) * w.shape[0]
        dice = tversky_score(xp, *stats, 0.5, 0.5, 1.0, 0.0, for_loss=False)
        return xp.mean(w * (1.0 - dice))

    got, grad = jax.jit(jax.value_and_grad(ours))(backend.asarray(x_last))
    assert float(got) == pytest.approx(float(want), rel=1e-5)
    g_optax = jax.jit(jax.grad(lambda z: optax.losses.multiclass_generalized_dice_loss(
        z, jax.nn.one_hot(labels, 3))))(jnp.asarray(x_last))
    np.testing.assert_allclose(np.asarray(grad), np.asarray(g_optax), rtol=1e-4, atol=1e-9)


# -- absent classes: never NaN or inf ----------------------------------------------------


@pytest.mark.only_backends("torch", "jax")
@pytest.mark.parametrize("weight_type", WEIGHTS)
def test_every_absent_class_pattern_is_finite(ad_backend, weight_type):
    """C = 3, each subset of classes absent from the target (all of them included):
    value and gradient finite, the value the reference's, in every form of the loss."""
    rng = np.random.default_rng(0)
    x = rng.normal(0, 3, (2, 3, 3, 3))
    for absent in itertools.chain.from_iterable(
        itertools.combinations(range(3), k) for k in range(4)
    ):
        t = np_onehot(rng.integers(0, 3, (2, 3, 3)), 3)
        t[:, list(absent)] = 0.0  # soft multilabel targets: any subset may be empty
        for per_image, squared in ((False, False), (True, True)):
            loss = anyiou.GeneralizedDiceLoss("multilabel", weight_type=weight_type,
                                              per_image=per_image, squared_pred=squared)
            value, grad = ad_backend.value_and_grad(
                lambda z, loss=loss, t=t: loss(z, ad_backend.asarray(t)), x
            )
            assert np.isfinite(value) and np.isfinite(grad).all(), (absent, per_image)
            want = _np_generalized(np_sigmoid(x).reshape(2, 3, -1), t.reshape(2, 3, -1),
                                   weight_type, per_image=per_image, squared=squared)
            assert float(value) == pytest.approx(want, rel=1e-10, abs=1e-12), absent
            if len(absent) == 3:
                assert float(value) == 0.0 and not grad.any()


# -- options -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"weight_type": "log"}, ValueError, "weight_type"),
        ({"smooth_nr": -1.0}, ValueError, "smooth_nr"),
        ({"smooth_dr": "1"}, TypeError, "smooth_dr"),
        ({"squared_pred": 1}, TypeError, "squared_pred"),
        ({"sync": lambda a: a, "per_image": True}, ValueError, "per_image=False"),
    ],
)
@pytest.mark.only_backends("numpy")  # no arrays: once
def test_bad_options_are_refused(backend, kwargs, error, match):
    with pytest.raises(error, match=match):
        anyiou.GeneralizedDiceLoss("multiclass", **kwargs)
    if "weight_type" not in kwargs and "sync" not in kwargs:
        with pytest.raises(error, match=match):
            anyiou.DiceLoss("multiclass", **kwargs)


@pytest.mark.only_backends("numpy", "torch")
@pytest.mark.parametrize("name", ["GeneralizedDiceLoss", "DiceLoss"])
def test_sync_sums_the_squared_statistics(backend, name):
    """Two workers holding the same batch (an all-reduce that doubles the (5, C)
    statistics) give the loss of that batch twice over, computed by the reference."""
    x, labels = _multiclass(13)
    loss = getattr(anyiou, name)("multiclass", squared_pred=True, smooth_nr=0.1,
                                 smooth_dr=0.2, sync=lambda s: s * 2)
    got = float(loss(backend.asarray(x), backend.asarray(labels)))
    p2 = np.concatenate([np_softmax(x)] * 2).reshape(4, 3, -1)
    t2 = np.concatenate([np_onehot(labels, 3)] * 2).reshape(4, 3, -1)
    if name == "DiceLoss":
        want = _np_overlap(p2, t2, 0.5, 0.5, squared=True, nr=0.1, dr=0.2)
    else:
        want = _np_generalized(p2, t2, "square", per_image=False, squared=True, nr=0.2, dr=0.4)
    assert got == pytest.approx(want, rel=1e-10)


@pytest.mark.only_backends("numpy")
@pytest.mark.parametrize("cls", [anyiou.GeneralizedDiceLoss, anyiou.DiceLoss])
def test_classes_beyond_the_channels_are_refused(backend, cls):
    """``classes`` naming a channel the prediction lacks is a ValueError at the call."""
    x = np.zeros((1, 3, 2, 2), dtype=np.float32)
    labels = np.zeros((1, 2, 2), dtype=np.int64)
    with pytest.raises(ValueError, match=r"class indices in \[0, 3\)"):
        cls("multiclass", classes=[1, 3])(x, labels)
