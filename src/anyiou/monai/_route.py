"""MONAI's DiceLoss and TverskyLoss as anyiou's core overlap loss, where the
configuration maps exactly.

MONAI's Dice loss of one class is ``1 - (2 I + nr) / (P + T + dr)``, its Jaccard loss
``1 - (2 I + nr) / (2 (P + T - I) + dr)``: the core's ``1 - (I + s_nr) / max(alpha P +
beta T + (1 - alpha - beta) I + s_dr, eps)`` with ``s_nr = nr / 2``, ``s_dr = dr / 2``
(Dice: alpha = beta = 1/2; Jaccard: 1). MONAI's Tversky loss ``1 - (I + nr) / (I +
alpha FP + beta FN + dr)`` is the core's `TverskyLoss` with the same ``alpha``,
``beta`` (both at least 0), ``s_nr = nr`` and ``s_dr = dr``. ``eps`` is below ``s_dr``
(never reached: ``I``, ``FP`` and ``FN`` are at least 0 for probabilities). MONAI keeps
the loss of a class absent from the target (``empty="keep"``), averages the (N, C')
losses (``batch=False``: ``per_image=True``) or the (C') losses of the batch's sums,
and drops the background with ``include_background=False`` after the activation (the
core's ``classes``). The losses hand that core loss to the backends' whole-loss paths
(``kernels.overlap_loss``: the fused Triton loss, three launches); where none serves
the call they keep MONAI's composition, which on an accelerator takes fewer launches
than the core's composable path, and raise MONAI's errors. `GeneralizedDiceLoss` is
not routed: the core has no whole-loss path for it, only the composition that
anyiou.monai shares already (`generalized_dice_score`).

Mapped: ``softmax`` with labels (``to_onehot_y``, integer dtype) or with dense targets
and ``soft_label=True`` (the core's dense statistics are MONAI's norm form), ``sigmoid``
with dense targets and ``soft_label=True``; ``reduction`` mean or sum; no ``weight``,
``ignore_index``, ``other_act``, ``squared_pred`` or ``sync`` (no whole-loss path sums
over workers: the composition does, `loss_statistics`); ``smooth_dr > 0``; float32 or
float64 input with at least one sample, pixel and two channels. Everything else takes
MONAI's own composition (`_losses`).

The options are read on every call, not once at construction: MONAI keeps them as
plain attributes, and a script that sets one on a built loss (``loss.batch = True``)
gets the loss of the new options. A core loss is built once per options and class count
(a few attribute reads per call).
"""

from __future__ import annotations

import math
from typing import Any

from anyiou._lib._namespace import get_namespace
from anyiou.losses import DiceLoss, JaccardLoss, TverskyLoss

__all__ = ["core_loss"]

#: The options a core loss is built from (its cache key, with the class count).
_KEY = ("include_background", "sigmoid", "softmax", "jaccard", "alpha", "beta",
        "reduction", "smooth_nr", "smooth_dr", "batch")
#: Core losses kept per MONAI loss (options changed back and forth, several C).
_CACHE = 8


def _finite(v: Any, low: float = 0.0) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v) and v >= low


def _maps(loss: Any, kind: str) -> bool:
    """The options map onto a core loss (read at the call: see the module docstring)."""
    if (getattr(loss, "squared_pred", False) or loss.other_act is not None
            or loss.ignore_index is not None or getattr(loss, "weight", None) is not None
            or loss.sync is not None or loss.reduction not in ("mean", "sum")
            or not _finite(loss.smooth_dr) or loss.smooth_dr == 0
            or not _finite(loss.smooth_nr)):
        return False
    if kind == "tversky" and not (_finite(loss.alpha) and _finite(loss.beta)):
        return False
    if loss.softmax:
        return bool(loss.to_onehot_y) or bool(loss.soft_label)
    if loss.sigmoid:
        return not loss.to_onehot_y and bool(loss.soft_label)
    return False


def _build(loss: Any, kind: str, c: int) -> Any:
    mode = "multiclass" if loss.softmax else "multilabel"
    classes = None if loss.include_background else tuple(range(1, c))
    common = {"from_logits": True, "per_image": not loss.batch, "reduction": loss.reduction,
              "empty": "keep"}
    if kind == "tversky":
        nr, dr = loss.smooth_nr, loss.smooth_dr
        return TverskyLoss(mode, classes, smooth=nr, eps=dr / 2, alpha=loss.alpha,
                           beta=loss.beta, smooth_nr=nr, smooth_dr=dr, **common)
    s_nr, s_dr = loss.smooth_nr / 2, loss.smooth_dr / 2
    cls = JaccardLoss if loss.jaccard else DiceLoss
    return cls(mode, classes, smooth=s_nr, eps=s_dr / 2, smooth_nr=s_nr, smooth_dr=s_dr,
               **common)


def core_loss(loss: Any, input: Any, target: Any) -> Any | None:
    """The core loss equal to MONAI's ``loss`` (a `DiceLoss` or `TverskyLoss` of
    anyiou.monai) on this call, or None where the call keeps MONAI's own composition."""
    kind = type(loss).core_kind
    if kind is None or not _maps(loss, kind):
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
    key = (shape[1], *(getattr(loss, name, None) for name in _KEY))
    cores = loss.__dict__.setdefault("_cores", {})
    core = cores.get(key)
    if core is None:
        if len(cores) >= _CACHE:
            cores.clear()
        core = cores[key] = _build(loss, kind, shape[1])
    return core
