"""Keras tests: ``KERAS_BACKEND`` (jax or torch) must name a backend that ``ANYIOU_BACKENDS``
selects, so that the ``backend`` fixture converts Keras' arrays."""

from __future__ import annotations

import os

import numpy as np
import pytest

KERAS_BACKEND = os.environ.get("KERAS_BACKEND", "")


def pytest_configure(config: pytest.Config) -> None:
    if KERAS_BACKEND not in ("jax", "torch"):
        raise pytest.UsageError(
            f"tests/adapters/keras needs KERAS_BACKEND=jax or torch; got {KERAS_BACKEND!r}"
        )


def channels_last(x: np.ndarray) -> np.ndarray:
    """(N, C, *S) -> (N, *S, C)."""
    return np.moveaxis(x, 1, -1)
