"""The public forms of each loss and the intended differences of their signatures.

Every loss exists as a core class (``anyiou.JaccardLoss``, ...), a function
(``anyiou.losses.jaccard_loss``, ...), a ``torch.nn.Module`` (``anyiou.torch``) and a
``keras.losses.Loss`` (``anyiou.keras``). Their parameters are written out in each, so a
test compares each form's ``inspect.signature`` with the core class's, after the
differences listed here on purpose (and nothing else) are applied to the core's.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

LOSSES = ("JaccardLoss", "DiceLoss", "TverskyLoss", "LovaszLoss", "GeneralizedDiceLoss")
FUNCTIONS = {
    "JaccardLoss": "jaccard_loss",
    "DiceLoss": "dice_loss",
    "TverskyLoss": "tversky_loss",
    "LovaszLoss": "lovasz_loss",
    "GeneralizedDiceLoss": "generalized_dice_loss",
}
POS = inspect.Parameter.POSITIONAL_OR_KEYWORD
KW = inspect.Parameter.KEYWORD_ONLY
EMPTY = inspect.Parameter.empty


@dataclass(frozen=True)
class Differences:
    """What a form changes in the core class's parameters, on purpose."""

    why: str
    leading: tuple[tuple[str, Any, Any], ...] = ()  # (name, kind, default) put first
    dropped: frozenset[str] = frozenset()
    trailing: tuple[tuple[str, Any, Any], ...] = ()  # (name, kind, default) put last
    defaults: dict[str, Any] = field(default_factory=dict)
    all_keyword_only: bool = False


#: The allowlist: one entry per kind of form.
FUNCTIONAL = Differences(
    why="optax style: the arrays come first, positionally; every option (mode included, "
        "with no default) is keyword-only",
    leading=(("y_pred", POS, EMPTY), ("y_true", POS, EMPTY)),
    all_keyword_only=True,
)
TORCH = Differences(why="smp's constructors, unchanged")


def keras_differences(loss: str, core_params: list[str]) -> Differences:
    """Keras: its own reduction/name/dtype, no sync, channels-last by default."""
    return Differences(
        why="Keras' reduction (of what call returns) replaces anyiou's; a Keras "
            "distribution sees the global batch (no sync); Keras models are channels-last; "
            "name and dtype are keras.losses.Loss's",
        dropped=frozenset({"reduction", "sync"} & set(core_params)),
        trailing=(("reduction", KW, "sum_over_batch_size"), ("name", KW, FUNCTIONS[loss]),
                  ("dtype", KW, None)),
        defaults={"class_axis": -1},
    )


def parameters(obj: Any) -> list[tuple[str, Any, Any]]:
    """``(name, kind, default)`` of a class's constructor or a function, ``self`` aside."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(obj).parameters.values()]


def expected(core: Any, diff: Differences) -> list[tuple[str, Any, Any]]:
    """The core class's parameters with ``diff`` applied."""
    out = []
    for name, kind, default in parameters(core):
        if name in diff.dropped:
            continue
        if diff.all_keyword_only:
            kind = KW
        out.append((name, kind, diff.defaults.get(name, default)))
    for name in diff.defaults:
        assert any(n == name for n, _, _ in out), f"allowlist names unknown parameter {name}"
    return list(diff.leading) + out + list(diff.trailing)


def mismatch(form: Any, core: Any, diff: Differences) -> str | None:
    """None when ``form``'s parameters are the core's with ``diff``; else a description."""
    got, want = parameters(form), expected(core, diff)
    if got == want:
        return None
    lines = [f"{getattr(form, '__qualname__', form)} differs from its core class beyond "
             f"the allowlist ({diff.why}):"]
    for i in range(max(len(got), len(want))):
        g = got[i] if i < len(got) else None
        w = want[i] if i < len(want) else None
        if g != w:
            lines.append(f"  position {i}: got {g}, expected {w}")
    return "\n".join(lines)
