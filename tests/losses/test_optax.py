"""The claims the pages make about optax (docs/losses/dice.md, docs/frameworks/jax.md),
checked against optax itself as the oracle, on the JAX backend.

optax's ``dice_loss(predictions, targets)`` takes channels-last logits and one-hot (or
0/1) targets, sums over the spatial axes of each example, uses ``smooth=1.0`` on the
halved (Tversky) form and returns one loss per example. Its mean over the batch is
``DiceLoss(..., class_axis=-1, smooth=1.0, per_image=True)`` when every class is in
every image's target; a class absent from an image's target costs
``1 - 1 / (sum(p) / 2 + 1)`` in optax and 0 in anyiou (smp's rule)."""

from __future__ import annotations

import numpy as np
import pytest

from anyiou import DiceLoss
from anyiou.losses import dice_loss

pytestmark = pytest.mark.only_backends("jax")



@pytest.fixture
def optax():
    """optax itself, the oracle: the jax session installs it, so a missing optax fails
    there instead of skipping (the module is deselected in the other sessions)."""
    import optax

    return optax


def _multiclass(seed: int, absent: bool):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 2.0, (3, 6, 5, 4)).astype(np.float32)  # (N, H, W, C)
    labels = rng.integers(0, 4, (3, 6, 5))
    if absent:
        labels[0][labels[0] == 3] = 0  # image 0 has no class 3
    else:
        labels[:, 0, :4] = np.arange(4)  # every class in every image
    return logits, labels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multiclass_dice_matches_optax_with_its_settings(backend, optax, seed):
    import jax
    import jax.numpy as jnp

    logits, labels = _multiclass(seed, absent=False)
    expected = jnp.mean(optax.losses.dice_loss(jnp.asarray(logits),
                                               jax.nn.one_hot(labels, 4)))
    x, y = backend.asarray(logits), backend.asarray(labels)
    ours = DiceLoss("multiclass", class_axis=-1, smooth=1.0, per_image=True)(x, y)
    assert float(ours) == pytest.approx(float(expected), abs=1e-6)
    ours_fn = dice_loss(x, y, mode="multiclass", class_axis=-1, smooth=1.0, per_image=True)
    assert float(ours_fn) == pytest.approx(float(expected), abs=1e-6)
    # the gradients agree too
    g_optax = jax.grad(lambda z: jnp.mean(optax.losses.dice_loss(z, jax.nn.one_hot(labels, 4))))(x)
    g_ours = jax.grad(lambda z: dice_loss(z, y, mode="multiclass", class_axis=-1, smooth=1.0,
                                          per_image=True))(x)
    np.testing.assert_allclose(np.asarray(g_ours), np.asarray(g_optax), atol=1e-6)


def test_class_axis_alone_does_not_reproduce_optax(backend, optax):
    """The defaults differ (smooth 0 against 1, one batch against per example)."""
    import jax
    import jax.numpy as jnp

    logits, labels = _multiclass(0, absent=False)
    expected = float(jnp.mean(optax.losses.dice_loss(jnp.asarray(logits),
                                                     jax.nn.one_hot(labels, 4))))
    x, y = backend.asarray(logits), backend.asarray(labels)
    assert float(DiceLoss("multiclass", class_axis=-1)(x, y)) != pytest.approx(expected, abs=1e-4)
    assert float(DiceLoss("multiclass", class_axis=-1, smooth=1.0)(x, y)) != \
        pytest.approx(expected, abs=1e-4)


def test_a_class_absent_from_an_image_costs_optax_more(backend, optax):
    import jax
    import jax.numpy as jnp

    logits, labels = _multiclass(3, absent=True)
    per_class = optax.losses.dice_loss(jnp.asarray(logits), jax.nn.one_hot(labels, 4),
                                       reduction="none")  # (N, C)
    probs = jax.nn.softmax(jnp.asarray(logits), axis=-1)
    # optax's loss of the absent class: 1 - 1 / (sum(p) / 2 + 1)
    np.testing.assert_allclose(np.asarray(per_class[0, 3]),
                               1 - 1 / (np.asarray(probs[0, ..., 3]).sum() / 2 + 1), rtol=1e-5)
    # anyiou (smp's rule) counts it as 0; everything else agrees
    smp_rule = np.asarray(per_class).copy()
    smp_rule[0, 3] = 0.0
    ours = DiceLoss("multiclass", class_axis=-1, smooth=1.0, per_image=True)(
        backend.asarray(logits), backend.asarray(labels))
    assert float(ours) == pytest.approx(float(smp_rule.mean()), abs=1e-6)
    assert float(ours) != pytest.approx(float(np.asarray(per_class).mean()), abs=1e-4)


def test_binary_dice_matches_optax_when_every_image_has_foreground(backend, optax):
    import jax.numpy as jnp

    rng = np.random.default_rng(4)
    logits = rng.normal(0.0, 2.0, (3, 6, 5, 1)).astype(np.float32)
    mask = (rng.random((3, 6, 5, 1)) > 0.5).astype(np.float32)
    mask[:, 0, 0, 0] = 1.0
    expected = jnp.mean(optax.losses.dice_loss(jnp.asarray(logits), jnp.asarray(mask)))
    ours = DiceLoss("binary", class_axis=-1, smooth=1.0, per_image=True)(
        backend.asarray(logits), backend.asarray(mask))
    assert float(ours) == pytest.approx(float(expected), abs=1e-6)


def test_gradients_feed_an_optax_optimizer(backend, optax):
    """docs/frameworks/jax.md: the loss's gradient goes to any optax optimizer as usual;
    one SGD step moves the parameters by -lr * grad (the oracle) and lowers the loss."""
    import jax
    import jax.numpy as jnp

    from anyiou.losses import jaccard_loss

    logits, labels = _multiclass(5, absent=False)
    params = jnp.asarray(logits)
    y = backend.asarray(labels)

    def loss(p):
        return jaccard_loss(p, y, mode="multiclass", class_axis=-1)

    optimizer = optax.sgd(learning_rate=10.0)
    state = optimizer.init(params)
    grads = jax.grad(loss)(params)
    updates, state = optimizer.update(grads, state, params)
    new = optax.apply_updates(params, updates)
    np.testing.assert_allclose(np.asarray(new), np.asarray(params - 10.0 * grads), atol=1e-6)
    assert float(loss(new)) < float(loss(params))
