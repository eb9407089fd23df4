"""The types of the public signatures: ``Literal`` aliases of the string options (a typo
such as ``mode="multiclas"`` is a type error in mypy and pyright) and ``ArrayT``, the
array type that goes in and comes out (a ``torch.Tensor`` in, a ``torch.Tensor`` out).

Only annotations use these names; the options are still checked at run time (see
``_options``), for callers without a type checker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeVar

__all__ = [
    "Average",
    "ArrayT",
    "EmptyRule",
    "IgnoreIndex",
    "IgnoreValues",
    "KerasReduction",
    "LossReduction",
    "LovaszClasses",
    "Mode",
    "ScalarAverage",
    "ScoreReduction",
    "WeightType",
    "ZeroDivision",
]

#: ``mode`` of every loss and metric.
Mode = Literal["binary", "multiclass", "multilabel"]
#: ``reduction`` of the losses (``JaccardLoss``, ``DiceLoss``, ``TverskyLoss``).
LossReduction = Literal["mean", "sum", "none"]
#: ``classes`` of ``LovaszLoss`` as a string (a sequence of class ids is the other form).
LovaszClasses = Literal["present", "all"]
#: ``empty`` of the losses: classes without target pixels.
EmptyRule = Literal["zero", "exclude", "keep"]
#: ``weight_type`` of ``GeneralizedDiceLoss``: the class weights from the target volumes.
WeightType = Literal["square", "simple", "uniform"]
#: ``reduction`` of the smp-style score functions (``iou_score``, ``f1_score``, ...).
ScoreReduction = Literal[
    "micro",
    "macro",
    "weighted",
    "micro-imagewise",
    "macro-imagewise",
    "weighted-imagewise",
    "none",
]
#: ``average`` of the confusion-matrix metrics (``jaccard_index``, ``MeanIoU``, ...).
Average = Literal["micro", "macro", "weighted", "none"]
#: ``average`` of a metric whose result is one number (the Keras ``MeanIoU``).
ScalarAverage = Literal["micro", "macro", "weighted"]
#: ``zero_division`` of the score functions: a number, or ``"warn"`` (0 with a warning).
ZeroDivision = float | Literal["warn"]
#: ``ignore_index``: one label value, several (any of them marks a void pixel), or None.
IgnoreIndex = int | Sequence[int] | None
#: ``ignore_index`` once checked (``check_ignore_index``): None, one int, or a sorted
#: tuple of at least two ints. The internal functions take this form.
IgnoreValues = int | tuple[int, ...] | None
#: ``reduction`` of the Keras losses (Keras' own names).
KerasReduction = Literal["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none"]

#: The array type of an argument, and of the result: the same library's array type (a
#: ``torch.Tensor`` in gives a ``torch.Tensor`` out). Bound to nothing: every array-API
#: library's array type fits.
ArrayT = TypeVar("ArrayT")
