"""Jaccard (IoU) loss."""

from __future__ import annotations

from ._overlap import OverlapLoss

__all__ = ["JaccardLoss"]


class JaccardLoss(OverlapLoss):
    r"""Soft Jaccard (intersection over union) loss, a drop-in for smp 0.6.0.

    Per class $c$, with probabilities $p$ and targets $t$ summed over
    the batch and all spatial positions (or per sample with ``per_image=True``):

    $$
    \begin{gathered}
    I_c = \tfrac12\Big(\sum p + \sum t - \sum |p - t|\Big),\\
    J_c = \frac{I_c + s}{\max\big(\sum p + \sum t - I_c + s,\ \varepsilon\big)},\\
    \ell_c = 1 - J_c \ \text{ or } \ -\log\max(J_c, \varepsilon).
    \end{gathered}
    $$

    For hard targets $I_c = \sum p\,t$. A class with no target pixels gets
    $\ell_c = 0$ and still counts in the mean (smp's rule; see ``empty``).

    Parameters
    ----------
    mode : str
        Input layout: ``"binary"``, ``"multiclass"`` or ``"multilabel"`` (see *Notes*).
    classes : sequence of int, optional
        Channels that enter the average (default: all). Not for binary mode.
    log_loss : bool, default False
        Return ``-log(J)`` instead of ``1 - J``.
    from_logits : bool, default True
        Apply softmax (multiclass) or sigmoid (binary, multilabel) to ``y_pred`` first.
    smooth : float, default 0.0
        Added to numerator and denominator.
    ignore_index : int or sequence of int, optional
        Target value (or values) of void pixels (e.g. 255, -1, or a class id): they get prediction 0
        and target 0 in every class. Any integer works in every mode.
    eps : float, default 1e-7
        Lower bound of the denominator (and of ``J`` inside the log).
    class_weights : sequence of float, optional
        One non-negative weight per class (length C); the mean becomes
        ``sum(w * l) / sum(w)`` over the selected classes. Not for binary mode.
    per_image : bool, default False
        Compute the statistics per sample and average the (N, C) losses.
    reduction : str, default "mean"
        One of ``"mean"``, ``"sum"``, ``"none"``.
        ``"none"`` returns the per-class losses, (len(classes),) or with ``per_image``
        (N, len(classes)), unweighted.
    empty : str, default "zero"
        One of ``"zero"``, ``"exclude"``.
        Classes without target pixels: loss 0 and counted in the mean (smp), or left out
        of the mean (0 if no class is present).
    class_axis : int, default 1
        Axis of ``y_pred`` holding the classes; ``-1`` for channels-last arrays.
    sync : callable, optional
        Distributed training: a function that sums an array over all workers (an
        all-reduce). The per-class statistics, shape (3, C), pass through it before the
        ratio, so every worker gets the loss of the global batch. Needs
        ``per_image=False``.
    smooth_nr : float, optional
        Added to the numerator in place of ``smooth`` (default: ``smooth``), as MONAI's
        ``smooth_nr``; the score is ``(I + smooth_nr) / max(den + smooth_dr, eps)``.
    smooth_dr : float, optional
        Added to the denominator in place of ``smooth`` (default: ``smooth``).
    squared_pred : bool, default False
        Sums of squares in the denominator (MONAI's ``squared_pred``): ``sum p**2`` and
        ``sum t**2`` take the place of ``sum p`` and ``sum t`` (so ``FP = sum p**2 - I``,
        ``FN = sum t**2 - I``); ``I`` stays. Integer labels give ``sum t**2 = sum t``
        (no one-hot is built). ``sync`` then sums (5, C) statistics.

    Notes
    -----
    | mode | y_pred (float) | y_true |
    |---|---|---|
    | binary | (N, 1, \*S) or (N, \*S) | same number of elements; 0/1 or [0, 1] |
    | multiclass | (N, C, \*S) | (N, \*S) or (N, 1, \*S) labels, or one-hot/soft (N, C, \*S) |
    | multilabel | (N, C, \*S) | (N, C, \*S); 0/1 or soft in [0, 1] |

    ``*S`` is any number of spatial axes. The result is a 0-d array (or the
    ``reduction="none"`` shape) of ``y_pred``'s library and device, float32 for
    float16/bfloat16 input (sums accumulate in float32), differentiable.

    Examples
    --------
    The worked example of the docs: one binary image of four pixels.

    >>> import numpy as np
    >>> from anyiou import JaccardLoss
    >>> p = np.array([[0.8, 0.6, 0.2, 0.0]])
    >>> t = np.array([[1, 1, 0, 0]])
    >>> loss = JaccardLoss("binary", from_logits=False)
    >>> round(float(loss(p, t)), 6)  # I = 1.4, union = 1.6 + 2 - 1.4 = 2.2
    0.363636

    Multiclass logits with a void label:

    >>> logits = np.zeros((1, 3, 2, 2), dtype=np.float32)
    >>> labels = np.array([[[0, 1], [2, 255]]])
    >>> loss = JaccardLoss("multiclass", ignore_index=255)
    >>> round(float(loss(logits, labels)), 6)  # each class: (1/3) / (1 + 1 - 1/3)
    0.8
    """

    alpha: float = 1.0
    beta: float = 1.0
