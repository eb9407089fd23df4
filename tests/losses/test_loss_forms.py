"""Every public form of a loss takes the parameters of its core class: same names, order,
kinds (positional or keyword-only) and defaults, except the differences listed on purpose
in ``tests/support/loss_forms.py``. The Keras forms are checked in tests/adapters/keras
(Keras needs ``KERAS_BACKEND`` before it is imported)."""

from __future__ import annotations

import pytest

import anyiou
import anyiou.losses
from tests.support.loss_forms import (
    EMPTY,
    FUNCTIONAL,
    FUNCTIONS,
    KW,
    LOSSES,
    POS,
    TORCH,
    Differences,
    mismatch,
    parameters,
)


@pytest.mark.parametrize("loss", LOSSES)
def test_functional_form_matches_the_class(loss):
    form = getattr(anyiou.losses, FUNCTIONS[loss])
    assert mismatch(form, getattr(anyiou, loss), FUNCTIONAL) is None, mismatch(
        form, getattr(anyiou, loss), FUNCTIONAL
    )


@pytest.mark.parametrize("loss", LOSSES)
def test_torch_module_matches_the_class(loss):
    torch_losses = pytest.importorskip("anyiou.torch")
    form = getattr(torch_losses, loss)
    assert mismatch(form, getattr(anyiou, loss), TORCH) is None, mismatch(
        form, getattr(anyiou, loss), TORCH
    )


def test_core_classes_share_one_signature():
    """Hand-written: smp 0.6.0's positional constructor, then anyiou's keyword-only options."""
    smp_positional = ["mode", "classes", "log_loss", "from_logits", "smooth", "ignore_index",
                      "eps"]
    keyword_only = ["per_image", "reduction", "empty", "class_axis", "sync", "smooth_nr",
                    "smooth_dr", "squared_pred"]
    overlap = smp_positional + ["class_weights"] + keyword_only
    tversky = smp_positional + ["alpha", "beta", "gamma", "class_weights"] + keyword_only
    for loss, names in (("JaccardLoss", overlap), ("DiceLoss", overlap),
                        ("TverskyLoss", tversky)):
        params = parameters(getattr(anyiou, loss))
        assert [n for n, _, _ in params] == names, loss
        assert [n for n, k, _ in params if k == KW] == keyword_only, loss
    lovasz = parameters(anyiou.LovaszLoss)
    assert lovasz == [("mode", POS, EMPTY), ("per_image", POS, False),
                      ("ignore_index", POS, None), ("from_logits", POS, True),
                      ("class_axis", KW, 1), ("classes", KW, "present"),
                      ("class_weights", KW, None)]


def test_a_drifted_form_is_caught():
    """The comparison is not vacuous: a parameter whose default drifted is reported."""

    def drifted(y_pred, y_true, *, mode, per_image=False, ignore_index=None, from_logits=False,
                class_axis=1, classes="present", class_weights=None):
        raise AssertionError("never called")

    report = mismatch(drifted, anyiou.LovaszLoss, FUNCTIONAL)
    assert report is not None and "from_logits" in report
    assert mismatch(drifted, anyiou.LovaszLoss, Differences(why="test")) is not None
