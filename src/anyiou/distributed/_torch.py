"""``torch_sync``: a differentiable sum over the ranks of a ``torch.distributed`` group."""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["TorchSync", "torch_sync"]


@functools.cache
def _all_reduce_sum() -> Any:
    """The autograd Function (built on first use, so anyiou never imports torch itself)."""
    import torch
    import torch.distributed as dist

    class AllReduceSum(torch.autograd.Function):
        """Forward: sum of ``x`` over the group. Backward: sum of the incoming gradients
        over the group (the transpose of a sum that every rank receives)."""

        @staticmethod
        def forward(ctx: Any, x: Any, group: Any) -> Any:  # type: ignore[override]
            ctx.group = group
            out = x.clone(memory_format=torch.contiguous_format)
            dist.all_reduce(out, op=dist.ReduceOp.SUM, group=group)
            return out

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:  # type: ignore[override]
            grad = grad.clone(memory_format=torch.contiguous_format)
            dist.all_reduce(grad, op=dist.ReduceOp.SUM, group=ctx.group)
            return grad, None

    return AllReduceSum


def torch_sync(group: Any = None) -> TorchSync:
    """A ``sync=`` hook summing a tensor over the ranks of a ``torch.distributed`` group.

    Pass it to `JaccardLoss`, `DiceLoss`, `TverskyLoss` (global-batch loss) or to
    `anyiou.metrics.MeanIoU` (global confusion matrix). One ``all_reduce`` per call,
    on whatever backend the group runs (NCCL, gloo, ...).

    Parameters
    ----------
    group : torch.distributed.ProcessGroup, optional
        The ranks to sum over; default: the world group. Every rank of the group must
        call the hook (collective).

    Returns
    -------
    TorchSync
        A callable ``fn(x) -> y``: ``y`` is the sum of ``x`` over the group, a new tensor
        of ``x``'s shape, dtype and device (``x`` is not modified). Differentiable: the
        backward pass sums the incoming gradients over the group too. It pickles and
        deep-copies (so a loss holding it does, e.g. for ``torch.save(model)`` and
        spawn-started workers) when ``group`` is None, the world group of whichever
        process unpickles it; a copy shares ``group``.

    Notes
    -----
    Gradient semantics. With ``sync``, every rank computes the same global-batch loss
    ``L(S)`` of the summed statistics ``S = sum_r S_r``. The backward all-reduce gives
    each rank ``world_size * dL/dS`` as the gradient of its local statistics ``S_r``, so
    a rank's parameter gradient is ``world_size * (dL/dS) (dS_r/dtheta)`` and its logit
    gradient is ``world_size`` times the single-process gradient of those logits.
    ``DistributedDataParallel`` (and FSDP) then *average* the parameter gradients over
    the ranks, which gives exactly ``dL/dtheta``: the gradient of the loss of the
    concatenated batch on one process, whatever the per-rank batch sizes. Without DDP,
    average the gradients over ranks yourself (``all_reduce`` then divide by the world
    size); summing them would be ``world_size`` times too large.

    Raises
    ------
    RuntimeError
        When the hook is called before ``torch.distributed.init_process_group``.
    TypeError
        When called on something other than a ``torch.Tensor``, or when pickling a hook
        built on an explicit ``group`` (a process group is a handle of one process).

    Examples
    --------
    >>> from anyiou import JaccardLoss
    >>> from anyiou.distributed import torch_sync
    >>> loss_fn = JaccardLoss("multiclass", sync=torch_sync())  # doctest: +SKIP
    >>> loss = loss_fn(model(images), masks)  # same value on every rank  # doctest: +SKIP
    """
    return TorchSync(group)


class TorchSync:
    """The callable `torch_sync` returns: sums a tensor over the ranks of ``group``
    (None: the world group). A module-level class, so it pickles and deep-copies."""

    __slots__ = ("group",)
    group: Any

    def __init__(self, group: Any = None) -> None:
        self.group = group

    def __call__(self, x: Any) -> Any:
        import torch
        import torch.distributed as dist

        if not isinstance(x, torch.Tensor):
            raise TypeError(f"torch_sync sums torch tensors; got {type(x).__name__}")
        if not (dist.is_available() and dist.is_initialized()):
            raise RuntimeError(
                "torch_sync needs an initialized process group: call "
                "torch.distributed.init_process_group(...) on every rank first"
            )
        return _all_reduce_sum().apply(x, self.group)

    def __reduce__(self) -> tuple[Any, ...]:
        if self.group is not None:
            raise TypeError(
                "torch_sync(group=...) cannot be pickled: a process group is a handle of "
                "one process. Pickle torch_sync() (the world group), or set sync= again "
                "after loading"
            )
        return (TorchSync, ())

    def __copy__(self) -> TorchSync:
        return TorchSync(self.group)

    def __deepcopy__(self, memo: dict[int, Any]) -> TorchSync:
        return TorchSync(self.group)  # the same process group, not a copy of the handle

    def __eq__(self, other: object) -> bool:
        return type(other) is TorchSync and other.group is self.group

    def __hash__(self) -> int:
        return hash((TorchSync, id(self.group)))

    def __repr__(self) -> str:
        return "torch_sync()" if self.group is None else f"torch_sync(group={self.group!r})"
