"""``jax_sync``: ``jax.lax.psum`` over a named mesh axis (``shard_map``, ``pmap``)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

__all__ = ["JaxSync", "jax_sync"]


def jax_sync(axis_name: Hashable | Sequence[Hashable]) -> JaxSync:
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
    JaxSync
        A callable ``fn(x) = jax.lax.psum(x, axis_name)``: the same global sum on every
        device. It pickles and deep-copies (so does a loss or metric holding it), and two
        hooks on the same axis compare equal (a stable ``jit`` cache key when the loss is
        a static argument).

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
    return JaxSync(axis_name)


class JaxSync:
    """The callable `jax_sync` returns: ``jax.lax.psum`` over ``axis_name``. A
    module-level class, so it pickles and deep-copies."""

    __slots__ = ("axis_name",)
    axis_name: Hashable | Sequence[Hashable]

    def __init__(self, axis_name: Hashable | Sequence[Hashable]) -> None:
        if isinstance(axis_name, list):
            axis_name = tuple(axis_name)
        try:
            hash(axis_name)
        except TypeError:
            raise TypeError(
                f"axis_name must be a mesh axis name (a string) or a tuple of them; "
                f"got {axis_name!r}"
            ) from None
        self.axis_name = axis_name

    def __call__(self, x: Any) -> Any:
        import jax

        return jax.lax.psum(x, self.axis_name)

    def __reduce__(self) -> tuple[Any, ...]:
        return (JaxSync, (self.axis_name,))

    def __eq__(self, other: object) -> bool:
        return type(other) is JaxSync and other.axis_name == self.axis_name

    def __hash__(self) -> int:
        return hash((JaxSync, self.axis_name))

    def __repr__(self) -> str:
        return f"jax_sync({self.axis_name!r})"
