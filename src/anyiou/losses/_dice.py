"""Dice (F1) loss."""

from __future__ import annotations

from ._overlap import OverlapLoss

__all__ = ["DiceLoss"]


class DiceLoss(OverlapLoss):
    r"""Soft Dice loss, a drop-in for smp 0.6.0 ``DiceLoss``.

    Per class $c$, with the intersection $I_c$ of `JaccardLoss`:

    $$
    \begin{gathered}
    D_c = \frac{I_c + s}{\max\big(I_c + \tfrac12 FP_c + \tfrac12 FN_c + s,\ \varepsilon\big)},\\
    \ell_c = 1 - D_c \ \text{ or } \ -\log\max(D_c, \varepsilon).
    \end{gathered}
    $$

    Without ``smooth`` this is $2 I_c / (\sum p + \sum t)$, the F1 score.
    smp computes this form (the Tversky index with alpha = beta = 0.5), so ``smooth``
    and ``eps`` act on the halved sums; anyiou does the same.

    Parameters, shapes, output and options are those of `JaccardLoss`
    (``mode, classes, log_loss, from_logits, smooth, ignore_index, eps, class_weights``
    positionally, then keyword-only ``per_image, reduction, empty, class_axis, sync,
    smooth_nr, smooth_dr, squared_pred``). MONAI's ``DiceLoss(smooth_nr=a, smooth_dr=b)``
    is ``smooth_nr=a/2, smooth_dr=b/2`` here (MONAI adds them to ``2 I`` and
    ``sum p + sum t``).

    Examples
    --------
    >>> import numpy as np
    >>> from anyiou import DiceLoss
    >>> p = np.array([[0.8, 0.6, 0.2, 0.0]])
    >>> t = np.array([[1, 1, 0, 0]])
    >>> round(float(DiceLoss("binary", from_logits=False)(p, t)), 6)  # 1 - 2*1.4/3.6
    0.222222
    """

    alpha: float = 0.5
    beta: float = 0.5
