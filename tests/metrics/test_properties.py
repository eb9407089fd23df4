"""Property-based tests (hypothesis) linking the metrics to a NumPy re-count and to the
losses, on every backend.

Oracles: per-image counts re-computed in NumPy with ``np.bincount`` (written here from the
definitions, not from anyiou's code), and the identity ``JaccardLoss = 1 - IoU`` (``DiceLoss
= 1 - F1``) per class for hard 0/1 predictions, where the losses and the metrics are two
independent code paths (float sums of probabilities vs. integer histograms).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import anyiou
import anyiou.metrics as M
from tests.support.oracles import np_onehot

MODES = ["binary", "multiclass", "multilabel"]


def _settings(backend, jax_examples: int = 8, examples: int = 25):
    # eager JAX compiles every new shape and Dask builds a graph per call: fewer examples
    # there keep each backend's share of this module well under 30 s
    n = {"jax": jax_examples, "dask": 15}.get(backend.name, examples)
    return settings(max_examples=n, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def problems(draw, modes=tuple(MODES), in_range_ignore=True):
    """(mode, preds, target, ignore_index): hard predictions and targets of one batch.

    ``preds``: multiclass (N, *S) labels in [0, C); binary/multilabel (N, C, *S) 0/1.
    ``target``: the same layout, some pixels equal to ``ignore_index``.
    """
    mode = draw(st.sampled_from(modes))
    n = draw(st.integers(1, 3))
    c = 1 if mode == "binary" else draw(st.integers(2, 4))
    spatial = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    agree = draw(st.sampled_from([0.0, 0.5, 0.9]))
    ignores = [None, 255, -1] + ([0] if in_range_ignore and mode == "multiclass" else [])
    ignore = draw(st.sampled_from(ignores))
    shape = (n,) + spatial if mode == "multiclass" else (n, c) + spatial
    high = c if mode == "multiclass" else 2
    target = rng.integers(0, high, shape)
    preds = np.where(rng.random(shape) < agree, target, rng.integers(0, high, shape))
    if ignore is not None:
        target = np.where(rng.random(shape) < 0.2, ignore, target)
    return mode, c, preds, target, ignore


def reference_counts(mode, c, preds, target, ignore):
    """tp, fp, fn, tn per image and class, (N, C) int64, re-counted with np.bincount."""
    n = target.shape[0]
    counted = np.ones(target.shape, bool) if ignore is None else target != ignore
    if mode == "multiclass":
        out = np.zeros((4, n, c), np.int64)
        for i in range(n):
            k = counted[i].ravel()
            t, p = target[i].ravel()[k], preds[i].ravel()[k]
            cm = np.bincount(t * c + p, minlength=c * c).reshape(c, c)
            tp = np.diag(cm)
            out[:, i] = tp, cm.sum(0) - tp, cm.sum(1) - tp, k.sum() - cm.sum(0) - cm.sum(1) + tp
        return tuple(out)
    k = counted.reshape(n, c, -1)
    p = (preds.reshape(n, c, -1) == 1) & k
    t = (target.reshape(n, c, -1) == 1) & k
    tp, fp, fn = (p & t).sum(2), (p & ~t).sum(2), (~p & t).sum(2)
    return tp, fp, fn, k.sum(2) - tp - fp - fn


def reference_confmat(mode, c, preds, target, ignore):
    """The summed state: (C, C) multiclass, (C, 2, 2) ``[[tn, fp], [fn, tp]]`` otherwise."""
    tp, fp, fn, tn = (x.sum(0) for x in reference_counts(mode, c, preds, target, ignore))
    if mode != "multiclass":
        return np.stack([np.stack([tn, fp], -1), np.stack([fn, tp], -1)], -2)
    counted = np.ones(target.shape, bool) if ignore is None else target != ignore
    t, p = target[counted], preds[counted]
    return np.bincount(t * c + p, minlength=c * c).reshape(c, c)


def reference_iou(mode, confmat, ignore):
    """Per-class IoU (0 where the union is empty) and the macro mean of jaccard_index:
    multiclass over classes with a non-empty union except an in-range ignore_index,
    binary/multilabel over every class."""
    if mode == "multiclass":
        tp = np.diag(confmat)
        union = confmat.sum(0) + confmat.sum(1) - tp
        keep = union > 0
        if ignore is not None and 0 <= ignore < len(tp):
            keep[ignore] = False
    else:
        tp, union = confmat[:, 1, 1], confmat[:, 1, 1] + confmat[:, 0, 1] + confmat[:, 1, 0]
        keep = np.ones(len(tp), bool)
    per_class = np.where(union > 0, tp / np.maximum(union, 1), 0.0)
    macro = per_class[keep].mean() if keep.any() else 0.0
    return per_class, macro


def _stats_kwargs(mode, c, ignore):
    return {"ignore_index": ignore, "num_classes": c if mode == "multiclass" else None}


LOSS_SCORES = {"JaccardLoss": (M.iou_score, M.iou_from_confusion_matrix),
               "DiceLoss": (M.f1_score, M.dice_from_confusion_matrix)}


def test_hard_prediction_loss_is_one_minus_metric(backend):
    """JaccardLoss(reduction='none') per class = 1 - IoU (DiceLoss: 1 - F1) for hard 0/1
    predictions passed as probabilities, for every class present in the target; a class
    absent from the target gets loss 0 (the losses' empty="zero" rule), whatever the IoU."""
    xp = backend.xp

    @_settings(backend)
    @given(problems(), st.booleans(), st.sampled_from(sorted(LOSS_SCORES)))
    def check(problem, per_image, loss_name):
        mode, c, preds, target, ignore = problem
        probs = np_onehot(preds, c) if mode == "multiclass" else preds
        loss = getattr(anyiou, loss_name)(mode, from_logits=False, ignore_index=ignore,
                                          per_image=per_image, reduction="none")
        score_fn, from_confmat = LOSS_SCORES[loss_name]

        def compute(probs, preds, target):
            stats = M.get_stats(preds, target, mode, **_stats_kwargs(mode, c, ignore))
            if per_image:
                score = score_fn(*stats, reduction="none")
            elif mode == "multiclass":  # the confusion-matrix family
                cm = M.confusion_matrix(preds, target, c, ignore_index=ignore)
                score = from_confmat(cm, average="none")
            else:
                score = score_fn(*[xp.sum(s, axis=0, keepdims=True) for s in stats],
                                 reduction="none")[0, ...]
            return loss(probs, target), stats, score

        if backend.name.startswith("jax"):  # one program per example: eager JAX compiles
            import jax  # every operation for every new shape

            compute = jax.jit(compute)
        got, stats, score = compute(backend.asarray(probs.astype(np.float32)),
                                    backend.asarray(preds), backend.asarray(target))
        got, score = backend.to_numpy(got), backend.to_numpy(score)
        counts = reference_counts(mode, c, preds, target, ignore)
        for s, ref in zip(stats, counts, strict=True):
            np.testing.assert_array_equal(backend.to_numpy(s), ref)
        present = (counts[0] + counts[2]) > 0
        if not per_image:
            present = present.any(axis=0)
        assert got.shape == score.shape == present.shape
        np.testing.assert_allclose(got[present], 1.0 - score[present], rtol=0, atol=2e-6)
        np.testing.assert_array_equal(got[~present], 0.0)

    check()


def _permute_pixels(nspatial, arrays, seed):
    """The same random permutation of the pixels (the last ``nspatial`` axes) of every
    image, applied to each array."""
    shape = arrays[0].shape
    pixels = int(np.prod(shape[len(shape) - nspatial:]))
    perm = np.random.default_rng(seed).permutation(pixels)
    out = []
    for x in arrays:
        lead = x.shape[: x.ndim - nspatial]
        out.append(x.reshape(lead + (pixels,))[..., perm].reshape(x.shape))
    return out


def test_counts_equal_the_bincount_reference_in_any_pixel_order(backend):
    """get_stats and confusion_matrix equal the NumPy re-count, for label or score
    predictions (argmax), thresholded probabilities, and after permuting the pixels."""

    @_settings(backend)
    @given(problems(), st.booleans(), st.integers(0, 2**16))
    def check(problem, soft, seed):
        mode, c, preds, target, ignore = problem
        rng = np.random.default_rng(seed)
        if not soft:
            output, threshold = preds, None
        elif mode == "multiclass":  # scores (N, C, *S) whose argmax is preds
            output = rng.random((preds.shape[0], c) + preds.shape[1:]).astype(np.float32)
            output = output + 2.0 * np_onehot(preds, c).astype(np.float32)
            threshold = None
        else:  # probabilities, positive where >= 0.5 (0.5 itself included)
            values = np.where(preds == 1, rng.choice([0.5, 0.75, 1.0], preds.shape),
                              rng.choice([0.0, 0.25, 0.49], preds.shape))
            output, threshold = values.astype(np.float32), 0.5
        expected = reference_counts(mode, c, preds, target, ignore)
        kwargs = dict(_stats_kwargs(mode, c, ignore), threshold=threshold)
        if mode == "multiclass" and soft:
            kwargs["num_classes"] = None
        nspatial = target.ndim - (1 if mode == "multiclass" else 2)
        perm_out, perm_target = _permute_pixels(nspatial, [output, target], seed)
        for o, t in ((output, target), (perm_out, perm_target)):
            got = M.get_stats(backend.asarray(o), backend.asarray(t), mode, **kwargs)
            for g, want in zip(got, expected, strict=True):
                np.testing.assert_array_equal(backend.to_numpy(g), want)
        if mode == "multiclass":
            cm = M.confusion_matrix(backend.asarray(perm_out), backend.asarray(perm_target),
                                    c, ignore_index=ignore)
            np.testing.assert_array_equal(backend.to_numpy(cm),
                                          reference_confmat(mode, c, preds, target, ignore))

    check()


@st.composite
def streams(draw):
    """A mode, C, ignore_index and 1 to 4 batches of different batch and spatial sizes."""
    mode = draw(st.sampled_from(MODES))
    c = 1 if mode == "binary" else draw(st.integers(2, 4))
    ignore = draw(st.sampled_from([None, 255] + ([1] if mode == "multiclass" else [])))
    ndim = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    batches = []
    for _ in range(draw(st.integers(1, 4))):
        n = draw(st.integers(0, 3))
        spatial = tuple(draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
        shape = (n,) + spatial if mode == "multiclass" else (n, c) + spatial
        high = c if mode == "multiclass" else 2
        target = rng.integers(0, high, shape)
        preds = np.where(rng.random(shape) < 0.6, target, rng.integers(0, high, shape))
        if ignore is not None:
            target = np.where(rng.random(shape) < 0.2, ignore, target)
        batches.append((preds, target))
    return mode, c, ignore, batches


def _one_image(mode, c, batches, index):
    """Every batch's pixels as one image: (1, P) labels or (1, C, P) masks."""
    if mode == "multiclass":
        return np.concatenate([b[index].reshape(1, -1) for b in batches], axis=1)
    return np.concatenate(
        [np.moveaxis(b[index], 1, 0).reshape(1, c, -1) for b in batches], axis=2)


def test_streaming_over_a_random_split_equals_one_call(backend):
    """MeanIoU over any sequence of batches (of any sizes, N = 0 included), and merged
    halves, equal one jaccard_index call on all pixels and the NumPy re-count."""

    @_settings(backend, jax_examples=6, examples=20)
    @given(streams())
    def check(stream):
        mode, c, ignore, batches = stream
        preds_all, target_all = _one_image(mode, c, batches, 0), _one_image(mode, c, batches, 1)
        confmat = reference_confmat(mode, c, preds_all, target_all, ignore)
        per_class, macro = reference_iou(mode, confmat, ignore)
        whole = M.MeanIoU(c, ignore, mode=mode)
        halves = [M.MeanIoU(c, ignore, mode=mode), M.MeanIoU(c, ignore, mode=mode)]
        for i, (p, t) in enumerate(batches):
            whole.update(backend.asarray(p), backend.asarray(t))
            halves[i % 2].update(backend.asarray(p), backend.asarray(t))
        merged = halves[0].merge(halves[1])
        one_call = M.jaccard_index(backend.asarray(preds_all), backend.asarray(target_all), c,
                                   ignore_index=ignore, mode=mode)
        for metric in (whole, merged):
            np.testing.assert_array_equal(backend.to_numpy(metric.confmat), confmat)
            np.testing.assert_allclose(backend.to_numpy(metric.per_class()), per_class,
                                       rtol=1e-6, atol=1e-7)
            np.testing.assert_allclose(backend.to_numpy(metric.compute()), macro, rtol=1e-6,
                                       atol=1e-7)
        np.testing.assert_allclose(backend.to_numpy(one_call), macro, rtol=1e-6, atol=1e-7)

    check()


@pytest.mark.only_backends("jax", "jax_gpu")
def test_jit_equals_the_reference(backend):
    """get_stats and jaccard_index under jax.jit (mode, C, ignore_index static) equal the
    NumPy re-count and the reference IoU."""
    import jax

    @_settings(backend, jax_examples=6)
    @given(problems())
    def check(problem):
        mode, c, preds, target, ignore = problem
        kwargs = _stats_kwargs(mode, c, ignore)
        stats = jax.jit(lambda o, t: M.get_stats(o, t, mode, **kwargs))(
            backend.asarray(preds), backend.asarray(target))
        for g, want in zip(stats, reference_counts(mode, c, preds, target, ignore), strict=True):
            np.testing.assert_array_equal(np.asarray(g), want)
        iou = jax.jit(lambda o, t: M.jaccard_index(o, t, c, average="none", ignore_index=ignore,
                                                   mode=mode))(
            backend.asarray(preds), backend.asarray(target))
        per_class, _ = reference_iou(mode, reference_confmat(mode, c, preds, target, ignore),
                                     ignore)
        np.testing.assert_allclose(np.asarray(iou), per_class, rtol=1e-12)

    check()
