"""Distributed training and evaluation: ``sync=`` hooks that sum across workers.

An overlap loss is a ratio of sums, so the mean of per-worker losses is not the loss of
the global batch. `JaccardLoss`, `DiceLoss`, `TverskyLoss` and
`anyiou.metrics.MeanIoU` take a keyword-only ``sync=`` callable that sums their
statistics over the workers before the ratio; this module builds it on the engine you
already run:

* `torch_sync`: a differentiable ``torch.distributed`` all-reduce (any process group);
* `jax_sync`: ``jax.lax.psum`` over a named axis, for ``shard_map`` and ``pmap``.

Dask needs no hook: `anyiou.metrics.confusion_matrix`, `anyiou.metrics.jaccard_index`
and `anyiou.metrics.MeanIoU` accept Dask arrays and stay lazy (chunk-wise counts summed in
one task graph). See ``docs/distributed.md``.

The hooks are instances of the module-level classes `TorchSync` and `JaxSync`: a loss or
metric holding one pickles and deep-copies.
"""

from ._jax import JaxSync, jax_sync
from ._torch import TorchSync, torch_sync

__all__ = ["JaxSync", "TorchSync", "jax_sync", "torch_sync"]
