"""anyiou for Keras 3 (``pip install anyiou[keras]``): the four losses as
``keras.losses.Loss`` and a streaming ``MeanIoU`` as ``keras.metrics.Metric``.

Works with ``KERAS_BACKEND=jax`` and ``KERAS_BACKEND=torch`` (Keras hands anyiou its
backend's arrays, on which anyiou's core dispatches); building one of these objects under
another Keras backend raises ``RuntimeError``. Channels-last (``class_axis=-1``) by
default, as Keras models produce.
"""

try:
    import keras as _keras
except ImportError as exc:
    raise ImportError("anyiou.keras needs Keras 3: pip install 'anyiou[keras]'") from exc
if int(_keras.__version__.split(".")[0]) < 3:
    raise ImportError(
        f"anyiou.keras needs Keras 3 (KERAS_BACKEND=jax or torch); found keras {_keras.__version__}"
    )

from ._losses import DiceLoss, JaccardLoss, LovaszLoss, TverskyLoss  # noqa: E402
from ._metric import MeanIoU  # noqa: E402

__all__ = ["DiceLoss", "JaccardLoss", "LovaszLoss", "MeanIoU", "TverskyLoss"]
