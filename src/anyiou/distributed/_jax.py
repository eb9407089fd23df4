"""``jax_sync``: ``jax.lax.psum`` over a named mesh axis (``shard_map``, ``pmap``)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

__all__ = ["jax_sync"]


def jax_sync(axis_name: Hashable | Sequence[Hashable]) -> Callable[[Any], Any]:
    """A ``sync=`` hook summing an array over the devices of a named axis.

    For code running inside ``jax.shard_map`` (or ``jax.pmap``) with the batch split
    along ``axis_name``: pass it to `JaccardLoss`, `DiceLoss`, `TverskyLoss`
    (global-batch loss) or to `anyiou.metrics.MeanIoU` (global confusion matrix).

    Parameters
    ----------
    axis_name : hashable or tuple of hashable
        The mesh axis (or axes) the batch is sharded over, as named in the ``Mesh`` /
        ``pmap(axis_name=...)``.

    Returns
    -------
    callable
        ``fn(x) = jax.lax.psum(x, axis_name)``: the same global sum on every device.

    Notes
    -----
    Gradient semantics (checked by the test suite against the single-device gradient of
    the concatenated batch):

    * ``jax.grad`` of a ``shard_map``-ped loss with replicated parameters
      (``in_specs=P()``) is the gradient of the global-batch loss;
    * ``jax.grad`` taken *inside* ``shard_map``: with ``check_vma=True`` (the default)
      the gradient of replicated parameters is already the global one (a further
      ``pmean`` leaves it unchanged); with ``check_vma=False`` and under ``pmap``, each
      device holds ``n_devices * (dL/dS) (dS_d/dtheta)`` and the usual data-parallel
      ``jax.lax.pmean(grads, axis_name)`` gives the global gradient. Never ``psum``
      the gradients.

    Examples
    --------
    >>> from anyiou import DiceLoss
    >>> from anyiou.distributed import jax_sync
    >>> loss_fn = DiceLoss("multiclass", sync=jax_sync("batch"))
    """
    if isinstance(axis_name, list):
        axis_name = tuple(axis_name)
    try:
        hash(axis_name)
    except TypeError:
        raise TypeError(
            f"axis_name must be a mesh axis name (a string) or a tuple of them; "
            f"got {axis_name!r}"
        ) from None

    def sync(x: Any) -> Any:
        import jax

        return jax.lax.psum(x, axis_name)

    sync.__qualname__ = sync.__name__ = "jax_sync"
    return sync
