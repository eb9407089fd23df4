"""The Keras backends anyiou runs on."""

from __future__ import annotations

import keras

SUPPORTED_BACKENDS = ("jax", "torch")


def check_keras_backend(what: str) -> None:
    """Raise ``RuntimeError`` naming the supported backends when Keras runs on another."""
    name = keras.backend.backend()
    if name not in SUPPORTED_BACKENDS:
        raise RuntimeError(
            f"anyiou.keras.{what} works with the Keras backends {' and '.join(SUPPORTED_BACKENDS)} "
            f"(set KERAS_BACKEND=jax or KERAS_BACKEND=torch before importing keras); the "
            f"current Keras backend is {name!r}, whose tensors anyiou does not compute on"
        )
