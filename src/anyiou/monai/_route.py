"""MONAI's DiceLoss as anyiou's core overlap loss, where the configuration maps exactly.

MONAI's Dice loss of one class is ``1 - (2 I + nr) / (P + T + dr)``, its Jaccard loss
``1 - (2 I + nr) / (2 (P + T - I) + dr)``: the core's ``1 - (I + s_nr) / max(alpha P +
beta T + (1 - alpha - beta) I + s_dr, eps)`` with ``s_nr = nr / 2``, ``s_dr = dr / 2``
(Dice: alpha = beta = 1/2; Jaccard: 1) and ``eps`` below ``s_dr`` (never reached: ``P``,
``T`` and ``P + T - I`` are at least 0 for probabilities). MONAI keeps the loss of a
class absent from the target (``empty="keep"``), averages the (N, C') losses
(``batch=False``: ``per_image=True``) or the (C') losses of the batch's sums, and drops
the background with ``include_background=False`` after the activation (the core's
``classes``). `DiceLoss` hands that core loss to the backends' whole-loss paths
(``kernels.overlap_loss``: the fused Triton loss, three launches); where none serves the
call it keeps MONAI's composition, which on an accelerator takes fewer launches than
the core's composable path, and raises MONAI's errors.

Mapped: ``softmax`` with labels (``to_onehot_y``, integer dtype) or with dense targets
and ``soft_label=True`` (the core's dense statistics are MONAI's norm form), ``sigmoid``
with dense targets and ``soft_label=True``; ``reduction`` mean or sum; no ``weight``,
``ignore_index``, ``other_act`` or ``squared_pred``; ``smooth_dr > 0``; float32 or
float64 input with at least one sample, pixel and two channels. Everything else takes
MONAI's own composition (`_losses`).
"""

from __future__ import annotations

import math
from typing import Any

from anyiou._lib._namespace import get_namespace
from anyiou.losses import DiceLoss, JaccardLoss

__all__ = ["core_loss"]


def _maps(loss: Any) -> bool:
    """The options (known at construction) map onto a core loss."""
    if (loss.squared_pred or loss.other_act is not None or loss.ignore_index is not None
            or loss.weight is not None or loss.reduction not in ("mean", "sum")
            or not loss.smooth_dr > 0 or not math.isfinite(loss.smooth_dr)
            or not math.isfinite(loss.smooth_nr) or loss.smooth_nr < 0):
        return False
    if loss.softmax:
        return bool(loss.to_onehot_y) or bool(loss.soft_label)
    if loss.sigmoid:
        return not loss.to_onehot_y and bool(loss.soft_label)
    return False


def _build(loss: Any, c: int) -> Any:
    s_nr, s_dr = loss.smooth_nr / 2, loss.smooth_dr / 2
    cls = JaccardLoss if loss.jaccard else DiceLoss
    mode = "multiclass" if loss.softmax else "multilabel"
    classes = None if loss.include_background else tuple(range(1, c))
    return cls(mode, classes, from_logits=True, smooth=s_nr, eps=s_dr / 2,
               per_image=not loss.batch, reduction=loss.reduction, empty="keep",
               smooth_nr=s_nr, smooth_dr=s_dr)


def core_loss(loss: Any, input: Any, target: Any) -> Any | None:
    """The core loss equal to MONAI's ``loss`` on this call (built once per class
    count), or None where the call keeps MONAI's own composition."""
    cores = loss.__dict__.get("_cores")
    if cores is None:
        return None
    shape = tuple(getattr(input, "shape", ()))
    tshape = tuple(getattr(target, "shape", ()))
    if len(shape) < 3 or shape[0] == 0 or shape[1] < 2 or math.prod(shape[2:]) == 0:
        return None
    xp = get_namespace(input=input, target=target)
    if input.dtype not in (xp.float32, xp.float64):
        return None
    if loss.to_onehot_y:
        if tshape != (shape[0], 1, *shape[2:]) or not xp.isdtype(target.dtype, "integral"):
            return None
    elif tshape != shape or not xp.isdtype(target.dtype, "real floating"):
        return None
    core = cores.get(shape[1])
    if core is None:
        core = cores[shape[1]] = _build(loss, shape[1])
    return core


def enable(loss: Any) -> None:
    """Set up the route on a MONAI loss whose options map (see the module docstring)."""
    loss._cores = {} if _maps(loss) else None
