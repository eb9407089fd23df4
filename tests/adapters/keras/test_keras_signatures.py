"""``anyiou.keras``'s losses take the parameters of their core class (names, order, kinds,
defaults) except Keras' intended differences (``keras_differences`` in
``tests/support/loss_forms.py``): Keras' ``reduction``, ``name`` and ``dtype``, no
``sync``, ``class_axis=-1``. The other forms are checked in tests/losses/test_loss_forms.py."""

from __future__ import annotations

import pytest

import anyiou
import anyiou.keras as ak
from tests.support.loss_forms import LOSSES, keras_differences, mismatch, parameters


@pytest.mark.parametrize("loss", LOSSES)
def test_keras_loss_matches_the_class(loss):
    core = getattr(anyiou, loss)
    diff = keras_differences(loss, [n for n, _, _ in parameters(core)])
    report = mismatch(getattr(ak, loss), core, diff)
    assert report is None, report
