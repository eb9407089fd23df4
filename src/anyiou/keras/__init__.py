"""anyiou for Keras 3 (``pip install anyiou[keras]``): the five losses as
``keras.losses.Loss`` and a streaming ``MeanIoU`` as ``keras.metrics.Metric``.

Works with ``KERAS_BACKEND=jax`` and ``KERAS_BACKEND=torch`` (Keras hands anyiou its
backend's arrays, on which anyiou's core dispatches); building one of these objects under
another Keras backend raises ``RuntimeError``. Channels-last (``class_axis=-1``) by
default, as Keras models produce.
"""

import importlib.util as _util
import os as _os

try:
    import keras as _keras
except ImportError as _exc:
    if _exc.name == "keras" or _util.find_spec("keras") is None:
        raise ImportError("anyiou.keras needs Keras 3: pip install 'anyiou[keras]'") from _exc
    # Keras is installed but importing it failed: most often the Keras backend it picked
    # (TensorFlow when KERAS_BACKEND is unset) is not installed
    _chosen = _os.environ.get("KERAS_BACKEND")
    _which = (f"KERAS_BACKEND={_chosen!r}" if _chosen else "KERAS_BACKEND is unset, so Keras "
              "uses the backend of ~/.keras/keras.json, TensorFlow by default")
    raise ImportError(
        f"Keras is installed but failed to import ({_exc}; {_which}). anyiou.keras runs on "
        "the Keras backends jax and torch: set KERAS_BACKEND=jax or KERAS_BACKEND=torch "
        "before importing keras"
    ) from _exc
if int(_keras.__version__.split(".")[0]) < 3:
    raise ImportError(
        f"anyiou.keras needs Keras 3 (KERAS_BACKEND=jax or torch); found keras {_keras.__version__}"
    )

from ._losses import (  # noqa: E402
    DiceLoss,
    GeneralizedDiceLoss,
    JaccardLoss,
    LovaszLoss,
    TverskyLoss,
)
from ._metric import MeanIoU  # noqa: E402

__all__ = [
    "DiceLoss",
    "GeneralizedDiceLoss",
    "JaccardLoss",
    "LovaszLoss",
    "MeanIoU",
    "TverskyLoss",
]
