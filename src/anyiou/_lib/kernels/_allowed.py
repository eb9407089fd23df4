"""The options of the overlap losses that the whole-loss fast paths compute: allow-lists
of ``option -> accepted values`` for the torch path (`_torch_overlap`) and the fused
Triton loss (`_triton_loss`), and the gates that check a loss object against them.

A loss is served only if its options are exactly the listed ones (``vars(loss)`` and
the class-level ``alpha``, ``beta``, ``gamma``), each with a value its predicate accepts,
and with one smoothing (``smooth_nr == smooth == smooth_dr``). An option missing from a
list, one added later to the losses or set on an object by hand, declines the call: the
caller composes the loss from its steps, which know every option. Whoever adds an option
adds it here with the values the fast paths compute (possibly none:
``lambda v: False``); a test checks that every option of the loss classes is listed.

The check runs on every call: a gate remembers its verdict by the options (the loss's
class, the class-level options, ``vars(loss)``'s names and values, compared by
equality), so a call with options seen before costs one tuple and one dict lookup.
Callers ask the gate after their check that no tracer (``torch.compile``'s dynamo,
``torch.jit.trace``) is running: dynamo would guard on every entry of the memo, and a
compiled step would take minutes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

__all__ = ["TORCH", "TORCH_GATE", "TRITON", "TRITON_GATE", "Gate"]

Check = Callable[[Any], bool]

#: the options the loss classes hold as class attributes (Jaccard, Dice: 1 or 0.5);
#: `TverskyLoss` sets them per object
CLASS_OPTIONS = ("alpha", "beta", "gamma")


def _real(v: Any) -> bool:
    """A finite real number float32 can hold."""
    return (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            and abs(v) < 1e38)


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _flag(v: Any) -> bool:
    return v is True or v is False


#: what both paths accept alike
COMMON: dict[str, Check] = {
    "mode": lambda v: v in ("multiclass", "binary", "multilabel"),
    "classes": lambda v: v is None or (isinstance(v, tuple) and all(_int(k) for k in v)),
    "log_loss": _flag,
    "from_logits": lambda v: v is True,
    "smooth": lambda v: _real(v) and v >= 0,
    "eps": lambda v: _real(v) and v > 0,
    "class_weights": lambda v: v is None or (isinstance(v, tuple)
                                             and all(_real(w) for w in v)),
    "per_image": _flag,
    "alpha": _real,
    "beta": _real,
    # one smoothing, added to numerator and denominator alike (checked by the gate)
    "smooth_nr": _real,
    "smooth_dr": _real,
    "squared_pred": lambda v: v is False,
}

#: `_torch_overlap`: void values (one or several), every reduction, ``sync``; the
#: class axis 1, focal ``gamma`` 1, and absent classes dropped (``empty="keep"`` not)
TORCH: dict[str, Check] = {
    **COMMON,
    "ignore_index": lambda v: v is None or _int(v) or (
        isinstance(v, tuple) and all(_int(k) for k in v)),
    "reduction": lambda v: v in ("mean", "sum", "none"),
    "empty": lambda v: v in ("zero", "exclude"),
    "class_axis": lambda v: _int(v) and v == 1,
    "sync": lambda v: v is None or callable(v),
    "gamma": lambda v: _real(v) and v == 1,
}

#: `_triton_loss`: one void value or none, reduction mean or sum, no ``sync``; any
#: class axis, ``gamma`` and ``empty`` rule
TRITON: dict[str, Check] = {
    **COMMON,
    "ignore_index": lambda v: v is None or _int(v),
    "reduction": lambda v: v in ("mean", "sum"),
    "empty": lambda v: v in ("zero", "exclude", "keep"),
    "class_axis": _int,
    "sync": lambda v: v is None,
    "gamma": _real,
}

_MEMO_SIZE = 256


class Gate:
    """``gate(loss)``: whether ``loss``'s options are exactly those of ``allowed``, each
    accepted by its predicate, with one smoothing (see the module docstring)."""

    def __init__(self, allowed: dict[str, Check]) -> None:
        self.allowed = allowed
        self._names = frozenset(allowed)
        self._memo: dict[tuple[Any, ...], bool] = {}

    def __call__(self, loss: Any) -> bool:
        try:
            d = loss.__dict__
            # the names, then the values (a flat tuple: cheaper to hash than items)
            key = (type(loss), loss.alpha, loss.beta, loss.gamma, *d, *d.values())
            return self._memo[key]
        except KeyError:
            pass
        except (AttributeError, TypeError):  # a class option missing, or unhashable
            return self._verdict(loss)
        verdict = self._verdict(loss)
        if len(self._memo) >= _MEMO_SIZE:
            self._memo.clear()
        self._memo[key] = verdict
        return verdict

    def _verdict(self, loss: Any) -> bool:
        options = {k: getattr(loss, k) for k in CLASS_OPTIONS if hasattr(loss, k)}
        options.update(vars(loss))
        if options.keys() != self._names:
            return False
        if not all(self.allowed[k](v) for k, v in options.items()):
            return False
        return bool(options["smooth_nr"] == options["smooth"] == options["smooth_dr"])


TORCH_GATE = Gate(TORCH)
TRITON_GATE = Gate(TRITON)
