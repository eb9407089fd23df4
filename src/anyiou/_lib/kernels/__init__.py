"""The kernel router: one table from array library to kernel module, one lookup (`get`),
and the kernels composed of routed pieces.

`BACKENDS` lists, in priority order, which kernel module serves which arrays. `get(x,
name)` walks it: the first entry that accepts ``x`` and whose module defines ``name``
gives the kernel; a library entry (``layer=False``) ends the walk, and whatever no module
defines comes from the pure array-API module `_standard` (the one fallback). A priority
layer (``layer=True``: e.g. a family of fused device kernels for some arrays, enabled by
an environment variable) sits above a library entry and passes every kernel it lacks on
down the table. A backend module (`_numpy`, `_torch`, `_jax`, `_cupy`, `_dask`) imports
its framework at the top and is imported only when an array of that library arrives, so
importing anyiou never imports a framework.

``USE_NATIVE = False`` (the one switch, read only by `get`) forces the pure-standard
path everywhere, so the tests can check that both paths agree. Facts about a library
rather than speed-ups (`values_checkable`) are looked up with ``switchable=False``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib.util import find_spec
from typing import Any, NamedTuple

import array_api_compat as aac

from . import _standard
from ._device import device_of, is_torch_tensor

#: Use the per-backend kernel modules; False forces `_standard` everywhere.
USE_NATIVE = True

__all__ = [
    "BACKENDS",
    "USE_NATIVE",
    "Backend",
    "box_interior",
    "get",
    "cumulative_sum",
    "inside_unit_interval",
    "is_native",
    "label_counts",
    "label_sums",
    "lovasz_extension",
    "negative_sums",
    "overlap_loss",
    "pair_counts",
    "probs_dense_stats",
    "probs_label_stats",
    "run_compiled",
    "sigmoid",
    "sigmoid_dense_stats",
    "softmax",
    "softmax_label_stats",
    "sort_along_last",
    "take_labels",
    "value_range",
    "values_checkable",
]


class Backend(NamedTuple):
    """One row of the routing table."""

    #: whether this entry serves the array (called on every lookup: keep it cheap)
    accepts: Callable[[Any], bool]
    #: imports and returns the kernel module (an ``import`` statement: ``torch.compile``
    #: traces it, also on the first call; dynamo refuses ``importlib.import_module``)
    load: Callable[[], Any]
    #: a priority layer: a kernel its module lacks is looked up further down the table
    layer: bool = False


def _load_lovasz_torch() -> Any:
    from . import _lovasz_torch as module

    return module


def _load_lovasz_jax() -> Any:
    from . import _lovasz_jax as module

    return module


def _load_triton() -> Any:
    from . import _triton as module

    return module


def _load_torch_overlap() -> Any:
    from . import _torch_overlap as module

    return module


def _load_torch_sigmoid() -> Any:
    from . import _torch_sigmoid as module

    return module


def _load_torch() -> Any:
    from . import _torch as module

    return module


def _load_jax() -> Any:
    from . import _jax as module

    return module


def _load_numpy() -> Any:
    from . import _numpy as module

    return module


def _load_cupy() -> Any:
    from . import _cupy as module

    return module


def _load_dask() -> Any:
    from . import _dask as module

    return module


#: The fused Triton kernels (opt-in, read once: ``ANYIOU_FUSED=1`` and triton installed).
FUSED = os.environ.get("ANYIOU_FUSED", "") == "1" and find_spec("triton") is not None
#: ... also for CPU tensors, in Triton's interpreter (the tests: ``TRITON_INTERPRET=1``
#: with the accelerator path forced, ``ANYIOU_ACCELERATOR_PATH=1``).
_FUSED_ON_CPU = (os.environ.get("ANYIOU_ACCELERATOR_PATH", "") == "1"
                 and os.environ.get("TRITON_INTERPRET", "") == "1")


def _fused(x: Any) -> bool:
    """Whether the fused Triton layer (`_triton`) serves ``x``: a CUDA tensor (a CPU
    tensor in the interpreter) with ``ANYIOU_FUSED=1``. Transforms are checked by the
    kernels, which hand such calls to `_torch`."""
    if not (FUSED and is_torch_tensor(x)):
        return False
    kind = x.device.type
    return kind == "cuda" or (_FUSED_ON_CPU and kind == "cpu")


#: The routing table, in priority order (see the module docstring).
BACKENDS: tuple[Backend, ...] = (
    # fused Triton kernels of the loss statistics (opt-in), a layer over the torch modules
    Backend(_fused, _load_triton, layer=True),
    # the whole overlap loss in few operations (eager, plain tensors), a layer over _torch
    # (first of the torch layers: asked on every loss call)
    Backend(is_torch_tensor, _load_torch_overlap, layer=True),
    # the Lovasz kernels (one sort per row), each a layer over its library's module
    Backend(is_torch_tensor, _load_lovasz_torch, layer=True),
    # the sigmoid + dense statistics (one torch Function), a layer over _torch
    Backend(is_torch_tensor, _load_torch_sigmoid, layer=True),
    Backend(is_torch_tensor, _load_torch),
    Backend(aac.is_jax_array, _load_lovasz_jax, layer=True),
    Backend(aac.is_jax_array, _load_jax),
    Backend(aac.is_numpy_array, _load_numpy),
    Backend(aac.is_cupy_array, _load_cupy),
    Backend(aac.is_dask_array, _load_dask),
)


def get(x: Any, name: str, *, switchable: bool = True) -> Callable[..., Any]:
    """The kernel ``name`` for the library of ``x``: from the first module of `BACKENDS`
    that accepts ``x`` and defines it, else `_standard`'s. ``switchable=False`` ignores
    ``USE_NATIVE`` (for facts about the library, which hold on both paths)."""
    if USE_NATIVE or not switchable:
        for entry in BACKENDS:
            if entry.accepts(x):
                kernel = getattr(entry.load(), name, None)
                if kernel is not None:
                    return kernel
                if not entry.layer:
                    break
    return getattr(_standard, name)


def is_native(x: Any) -> bool:
    """Whether ``x`` is served by a kernel module of `BACKENDS` (False on the
    pure-standard path: ``USE_NATIVE`` off, or a library without a module)."""
    return USE_NATIVE and any(entry.accepts(x) for entry in BACKENDS)


# -- facts about the library ------------------------------------------------------------


def values_checkable(x: Any) -> bool:
    """Whether a value check on ``x`` is cheap and possible (the switch of every eager
    value check).

    False for lazy arrays (JAX, including eager JAX arrays, and Dask: checking would force
    a computation or fail under ``jit``) and for arrays on an accelerator (CuPy, torch
    CUDA/MPS), where a check costs a host synchronisation.

    torch CPU tensors are checked only when eager and plain: not while ``torch.compile``
    (dynamo, ``torch.export``) traces, not while ``torch.jit.trace`` records, not inside
    ``torch.func`` transforms (functorch-wrapped tensors: ``vmap``, ``grad``, ``jacrev``)
    and not for tensor subclasses (fake, functional or distributed tensors), where
    reading a value fails or would be baked into the traced program.
    """
    return get(x, "values_checkable", switchable=False)(x)


# -- elementwise and gather primitives --------------------------------------------------


def softmax(xp: Any, x: Any, axis: int) -> Any:
    """Softmax of ``x`` over ``axis``; stable for logits of any magnitude."""
    return get(x, "softmax")(xp, x, axis)


def sigmoid(xp: Any, x: Any) -> Any:
    """Logistic sigmoid, finite with finite gradients for logits of any magnitude."""
    return get(x, "sigmoid")(xp, x)


def take_labels(xp: Any, p: Any, labels: Any) -> Any:
    """``p[n, labels[n, i], i]`` for ``p`` (N, C, P) and ``labels`` (N, P) in [0, C);
    shape (N, P)."""
    return get(p, "take_labels")(xp, p, labels)


def value_range(xp: Any, x: Any) -> tuple[Any, Any]:
    """``(min(x), max(x))`` of a non-empty 1-D ``x`` as 0-D arrays (eager value checks)."""
    return get(x, "value_range")(xp, x)


def sort_along_last(xp: Any, key: Any, *arrays: Any) -> tuple[Any, ...]:
    """Permute each of ``arrays`` by the descending, stable order of ``key`` on the
    last axis.

    ``key`` and every array share one shape (..., L). Returns one permuted array per
    input array (``key`` itself is not returned), differentiable with respect to
    ``arrays`` (the permutation is an integer array).
    """
    return get(key, "sort_along_last")(xp, key, *arrays)


def cumulative_sum(xp: Any, x: Any) -> Any:
    """Inclusive cumulative sum of ``x`` along its last axis (the namespace's
    ``cumulative_sum``; torch's ``cumsum``, which dynamo traces without array-api-compat's
    lru-cached namespace lookup)."""
    return get(x, "cumulative_sum")(xp, x)


def lovasz_extension(xp: Any, x: Any, g: Any, valid: Any | None, hinge: bool,
                     probs: bool) -> Any:
    """Lovasz extension of the Jaccard loss of each row ``x[b, k]`` (flattened):
    (B, K, ...) -> (B, K).

    ``x`` float errors, or with ``probs`` probabilities (``g`` is then bool and the
    errors are ``|g - x|``); ``g`` the ground truth in [0, 1] (0 at invalid pixels),
    float or bool, ``x``'s shape; ``valid`` bool broadcastable to ``x`` or None (every
    pixel valid); ``hinge``: errors at or below 0 count 0. torch and JAX sort each row
    once (`_lovasz_torch`, `_lovasz_jax`: layers of `BACKENDS`); the reference is
    `_standard_lovasz`.
    """
    return get(x, "lovasz_extension")(xp, x, g, valid, hinge, probs)


# -- per-row histograms -----------------------------------------------------------------


def label_sums(xp: Any, values: Any, labels: Any, num_bins: int) -> Any:
    """Per-row segment sums: ``out[n, c] = sum(values[n, i] for i with labels[n, i] == c)``.

    ``values`` (N, P) float, ``labels`` (N, P) integers in [0, num_bins). Returns
    (N, num_bins) in ``values``' dtype, differentiable with respect to ``values``.
    """
    out = get(values, "row_bincount")(xp, labels, num_bins, values)
    return xp.astype(out, values.dtype, copy=False)


def label_counts(xp: Any, labels: Any, num_bins: int) -> Any:
    """Per-row histogram of integer ``labels`` (N, P) in [0, num_bins): (N, num_bins) int."""
    return get(labels, "row_bincount")(xp, labels, num_bins)


def pair_counts(xp: Any, a: Any, b: Any, num_a: int, num_b: int) -> Any:
    """Joint histogram per row, with border bins for values outside the ranges.

    ``a`` and ``b`` are signed integer arrays of one shape (N, P) and dtype. Returns
    ``out`` of shape (N, num_a + 2, num_b + 2), exact counts in ``a``'s dtype:
    ``out[n, i + 1, j + 1] = #{k : a[n, k] == i and b[n, k] == j}`` for i in
    [0, num_a), j in [0, num_b); index 0 of an axis collects the values below 0 and
    index ``num + 1`` the values from ``num`` up (both are clipped to [-1, num]).

    JAX: one compiled program (`_jax.pair_counts`). The standard kernel counts with the
    backend's integer clip and one per-row bincount of the pair code
    ``a * (num_b + 2) + b`` where the backend has its own bincount, and by one-hot matrix
    products on the pure-standard path (`_standard.pair_counts`).
    """
    return get(a, "pair_counts")(xp, a, b, num_a, num_b)


def box_interior(xp: Any, labels: Any, axes: tuple[int, ...], d: int, outside: Any) -> Any:
    """Boundary IoU's box test (`_standard_box.box_interior`): the pixels of ``labels``
    whose (2d+1)-wide box over ``axes`` lies inside the array and holds their own label;
    Dask runs it on blocks with halos."""
    return get(labels, "box_interior")(xp, labels, axes, d, outside)


# -- fused loss statistics --------------------------------------------------------------


def negative_sums(xp: Any, p: Any, acc: Any) -> Any:
    """``sum(min(p, 0), axis=2)`` of (N, C, P) ``p``, (N, C) in ``acc``."""
    return get(p, "negative_sums")(xp, p, acc)


def inside_unit_interval(xp: Any, x: Any, upper: bool = True) -> bool:
    """Whether every value of ``x`` is above 0 (and, with ``upper``, below 1): where it
    is, the product form of the statistics is smp's L1 form in value *and* gradient.
    Reads the values: call it only on arrays whose values may be read
    (``values_checkable``). True for an empty ``x``; False where ``x`` holds NaN."""
    if any(s == 0 for s in x.shape):
        return True
    if not bool(xp.min(x) > 0):  # no reshape: a transposed view would be copied
        return False
    return not upper or bool(xp.max(x) < 1)


def probs_label_stats(
    xp: Any,
    p: Any,
    safe: Any,
    binned: Any,
    valid: Any | None,
    acc: Any,
    product: bool = False,
    positive: bool = False,
) -> tuple[Any, Any]:
    """Multiclass ``(I, Sp)`` from probabilities ``p`` (N, C, P), each (N, C) in ``acc``.

    ``Sp[n, c]`` sums ``p[n, c, i]`` over valid pixels (all pixels when ``valid`` is
    None). ``I`` is smp's ``(Sp + St - sum|p - onehot|) / 2`` for any ``p`` (outside
    [0, 1], or exactly 0 or 1), value and gradient, without a one-hot: summed elementwise
    as ``sum(min(p, onehot))``, that is ``min(p, 0)`` at every valid pixel and class
    (`negative_sums`) plus ``min(p, 1) - min(p, 0)`` at each pixel's label (one gather,
    one per-class scatter-add). ``positive`` (the caller has seen every ``p > 0``) drops
    the ``min(p, 0)`` sums, which are then 0 with gradient 0. ``product=True`` (``p`` is
    a softmax output) takes the product form, each pixel's probability of its label
    summed per class: the same value there. ``safe`` (N, P) holds labels clipped to
    [0, C); ``binned`` (N, P) holds labels in [0, C] where C marks ignored pixels.
    """
    c = p.shape[1]
    if valid is not None:
        zero = xp.zeros((), dtype=p.dtype, device=device_of(p))
        p = xp.where(xp.expand_dims(valid, axis=1), p, zero)
    p_true = xp.astype(take_labels(xp, p, safe), acc, copy=False)
    if product:
        at_label = p_true
    else:
        one = xp.ones((), dtype=acc, device=device_of(p_true))
        zero_acc = xp.zeros((), dtype=acc, device=device_of(p_true))
        at_label = xp.minimum(p_true, one) - xp.minimum(p_true, zero_acc)
    intersection = label_sums(xp, at_label, binned, c + 1)[:, :c]
    if not (product or positive):
        intersection = intersection + negative_sums(xp, p, acc)
    return intersection, xp.sum(p, axis=2, dtype=acc)


def softmax_label_stats(
    xp: Any,
    logits: Any,
    safe: Any,
    binned: Any,
    valid: Any | None,
    acc: Any,
    class_last: bool = False,
) -> tuple[Any, Any]:
    """`probs_label_stats` of ``softmax(logits, axis=1)``; one fused, memory-lean
    autodiff rule on torch and JAX. ``class_last`` tells that ``logits`` is a
    transposed view of channels-last (N, P, C) logits (the JAX rule then works on that
    layout, where the transposes cancel)."""
    return get(logits, "softmax_label_stats")(xp, logits, safe, binned, valid, acc, class_last)


def probs_dense_stats(
    xp: Any, p: Any, t: Any, valid: Any | None, hard: bool, acc: Any
) -> tuple[Any, Any, Any]:
    """Binary/multilabel ``(I, Sp, St)``, each (N, C), from probabilities ``p`` and
    targets ``t`` (N, C, P); ``valid`` (N, C, P) bool or None. ``I`` is smp's L1 form
    ``(Sp + St - sum|p - t|) / 2`` (as ``sum(min(p, t))``), value and gradient, for any
    ``p`` and ``t``. ``hard``: the caller knows that the product ``sum(p * t)`` has that
    value and gradient (0/1 targets and every ``p`` strictly inside (0, 1), or no
    gradient is taken), which the kernels then use."""
    return get(p, "probs_dense_stats")(xp, p, t, valid, hard, acc)


def sigmoid_dense_stats(
    xp: Any, logits: Any, t: Any, valid: Any | None, hard: bool, acc: Any
) -> tuple[Any, Any, Any]:
    """`probs_dense_stats` of ``sigmoid(logits)``; one fused autodiff rule on torch and JAX.

    ``hard``: 0/1 targets. The fused rules take the product only where it is exact (torch:
    the sigmoid's derivative ``p (1 - p)`` is 0 where ``p`` rounds to 0 or 1). So does a
    backend module that leaves the sigmoid to the standard composition (NumPy, no
    autodiff); the pure-standard path may be differentiated (torch or JAX with
    ``USE_NATIVE`` off), where its sigmoid's derivative at ``p == 1`` is not 0, and keeps
    the L1 form (`_standard.sigmoid_dense_stats`).
    """
    return get(logits, "sigmoid_dense_stats")(xp, logits, t, valid, hard, acc)


def overlap_loss(loss: Any, y_pred: Any, y_true: Any) -> Any | None:
    """The value of the overlap loss ``loss`` (an ``OverlapLoss``, read for its options)
    on ``(y_pred, y_true)`` in one call, where a backend has such a fast path for these
    arrays and options (torch: `_torch_overlap`), or None: the caller composes the
    loss from the pieces above (which also raise the errors)."""
    return get(y_pred, "overlap_loss")(loss, y_pred, y_true)


# -- compilation ------------------------------------------------------------------------


def run_compiled(fn: Any, xp: Any, *args: Any, static: tuple[int, ...] = (), **kwargs: Any) -> Any:
    """``fn(xp, *args, **kwargs)``; on JAX arrays as one cached ``jax.jit`` program.

    Eager JAX compiles every operation separately for each new shape; a pure helper made
    of many small operations compiles once this way (under an outer ``jit`` it is
    inlined). ``static`` lists the positions in ``args`` that are Python values
    (hashable); keyword arguments are always static. Routed on the first array among
    ``args``; other backends call ``fn`` (`_standard.run_compiled`).
    """
    first = next((a for a in args if is_torch_tensor(a) or aac.is_array_api_obj(a)), None)
    return get(first, "run_compiled")(fn, xp, *args, static=static, **kwargs)
