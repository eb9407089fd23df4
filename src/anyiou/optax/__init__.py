"""A drop-in for optax's segmentation losses (``optax.losses``, optax 0.2.8), on every
array library.

`dice_loss`, `binary_dice_loss` and `multiclass_generalized_dice_loss` take optax's
arguments and give optax's values and gradients: channels-last logits, one-hot (or soft)
targets of their shape, sums over the spatial axes of each example, one loss per example.
They run on NumPy, PyTorch, JAX (``jit``, ``vmap``, ``grad``), Dask, CuPy and
array-api-strict arrays; this module imports no framework (nor optax). Additions: integer
class labels in place of a one-hot target, with an optional ``ignore_index``, and a
boolean ``mask`` of the pixels that count.

Replace ``from optax.losses import dice_loss`` by ``from anyiou.optax import dice_loss``;
see ``docs/migrating_optax.md`` for what differs, and when anyiou's own
`anyiou.losses.dice_loss` (smp's semantics) is the better choice.
"""

from ._dice import binary_dice_loss, dice_loss
from ._generalized import multiclass_generalized_dice_loss

__all__ = ["binary_dice_loss", "dice_loss", "multiclass_generalized_dice_loss"]
