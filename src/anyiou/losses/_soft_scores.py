"""smp-compatible functional scores: ``soft_jaccard_score``, ``soft_dice_score``,
``soft_tversky_score``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._lib._namespace import accumulation_dtype, get_namespace, is_floating
from .._lib._types import ArrayT
from ._class_losses import as_array, tversky_score

__all__ = ["soft_dice_score", "soft_jaccard_score", "soft_tversky_score"]


def soft_tversky_score(
    output: ArrayT,
    target: Any,
    alpha: float,
    beta: float,
    smooth: float = 0.0,
    eps: float = 1e-7,
    dims: int | Sequence[int] | None = None,
) -> ArrayT:
    r"""Soft Tversky index of ``output`` against ``target``, as in smp 0.6.0.

    $$
    \begin{gathered}
    I = \tfrac12\Big(\sum o + \sum t - \sum |o - t|\Big),\\
    T = \frac{I + s}{\max(I + \alpha\,(\sum o - I) + \beta\,(\sum t - I) + s,\ \varepsilon)}
    \end{gathered}
    $$

    The L1 form of the intersection equals $\sum o\,t$ for 0/1 targets and ``output`` in
    [0, 1], and makes ``T = 1`` at ``output == target`` for soft targets too. It is
    computed as $\sum \min(o, t)$ (the same value), whose gradient is smp's on torch and
    JAX, also where ``output == target``.

    Parameters
    ----------
    output : array
        Floating probabilities, any shape.
    target : array
        Same shape as ``output``; 0/1 or soft values in [0, 1]; cast to ``output``'s dtype.
    alpha : float
        Weight of false positives.
    beta : float
        Weight of false negatives.
    smooth : float, default 0.0
        Added to numerator and denominator.
    eps : float, default 1e-7
        Lower bound of the denominator. With ``eps=0`` an empty ``output`` against an
        empty ``target`` (0 / 0) scores 0, as for any ``eps > 0`` (smp: NaN).
    dims : int or sequence of int, optional
        Axes summed over; ``None`` sums everything, and so does an empty ``()`` or
        ``[]`` on every backend (as smp, whose ``torch.sum(dim=())`` reduces every axis;
        the array API's ``sum(axis=())`` would reduce none).

    Returns
    -------
    array
        ``output``'s shape without ``dims`` (a 0-d array for ``dims=None`` or empty,
        also on NumPy); float32 for float16/bfloat16 inputs, else ``output``'s dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.losses import soft_tversky_score
    >>> o = np.array([0.7, 0.2, 0.9, 0.4]); t = np.array([1.0, 1.0, 0.0, 0.0])
    >>> round(float(soft_tversky_score(o, t, 0.3, 0.7)), 6)  # 0.9 / (0.9 + 0.3*1.3 + 0.7*1.1)
    0.436893
    """
    xp = get_namespace(output=output, target=target)
    if not is_floating(xp, output.dtype):
        raise TypeError(f"output must be a floating-point array; got dtype {output.dtype}")
    if tuple(output.shape) != tuple(target.shape):
        raise ValueError(
            f"output and target must have the same shape; got {tuple(output.shape)} and "
            f"{tuple(target.shape)}"
        )
    acc = accumulation_dtype(xp, output.dtype)
    target = xp.astype(target, output.dtype)
    axis = None if dims is None else (dims if isinstance(dims, int) else tuple(dims))
    if axis == ():  # smp's torch.sum(dim=()) sums every axis; the array API, none
        axis = None
    out_sum = xp.sum(output, axis=axis, dtype=acc)
    tgt_sum = xp.sum(target, axis=axis, dtype=acc)
    # smp's (sum(o) + sum(t) - sum|o - t|) / 2, summed elementwise as min(o, t): the same
    # value and, on torch and JAX, torch's derivative of smp's form (1/2 where o == t)
    intersection = xp.sum(xp.minimum(output, target), axis=axis, dtype=acc)
    score = tversky_score(
        xp, intersection, out_sum, tgt_sum, alpha, beta, smooth, eps, for_loss=False
    )
    return as_array(score)


def soft_jaccard_score(
    output: ArrayT,
    target: Any,
    smooth: float = 0.0,
    eps: float = 1e-7,
    dims: int | Sequence[int] | None = None,
) -> ArrayT:
    """Soft Jaccard index: `soft_tversky_score` with ``alpha = beta = 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.losses import soft_jaccard_score
    >>> p = np.array([0.8, 0.6, 0.2, 0.0]); t = np.array([1, 1, 0, 0])
    >>> round(float(soft_jaccard_score(p, t)), 6)  # 1.4 / 2.2
    0.636364
    >>> float(soft_jaccard_score(np.array([0.5, 0.5]), np.array([0.5, 0.5])))
    1.0
    """
    return soft_tversky_score(output, target, 1.0, 1.0, smooth, eps, dims)


def soft_dice_score(
    output: ArrayT,
    target: Any,
    smooth: float = 0.0,
    eps: float = 1e-7,
    dims: int | Sequence[int] | None = None,
) -> ArrayT:
    """Soft Dice coefficient: `soft_tversky_score` with ``alpha = beta = 0.5``.

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou.losses import soft_dice_score
    >>> p = np.array([0.8, 0.6, 0.2, 0.0]); t = np.array([1, 1, 0, 0])
    >>> round(float(soft_dice_score(p, t)), 6)  # 2 * 1.4 / (1.6 + 2)
    0.777778
    """
    return soft_tversky_score(output, target, 0.5, 0.5, smooth, eps, dims)
