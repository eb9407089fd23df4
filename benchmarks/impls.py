"""The implementations compared, grouped in families that share a baseline.

=================  ==========================================  ===========================
family             implementations                             baseline (ratio = 1)
=================  ==========================================  ===========================
``torch``          anyiou Jaccard/Dice/Lovasz, smp 0.6.0 ones  ``F.cross_entropy`` (BCE
                                                               with logits for binary and
                                                               multilabel)
``jax``            anyiou Jaccard/Dice/Lovasz, all jitted      optax softmax (sigmoid) CE
``numpy``          anyiou Jaccard/Dice/Lovasz, forward only    a NumPy softmax (sigmoid)
``metrics-*``      anyiou ``confusion_matrix``,                the backend's ``bincount``
                   ``MeanIoU.update``; sklearn ``jaccard_score``  of ``target * K + preds``
=================  ==========================================  ===========================

:func:`build` returns a :class:`Bench`: zero-argument callables for the forward pass
and (losses under autodiff) the forward+backward pass, all on the same inputs. Inputs
reach torch and JAX through :func:`anyiou._lib._convert.from_numpy` (torch shares the
NumPy buffers; JAX arrays are put on the host CPU, where the memory is measured); a
library that is not installed raises ImportError (reported as n/a).

The loss constructors (:func:`anyiou_loss`, :func:`torch_ce`, :func:`optax_ce`,
:func:`softmax`, :func:`smp_losses`) are also the ones ``gpu.py`` measures on a GPU
(families ``torch``, ``jax`` and ``cupy`` of :data:`GPU_BASELINE`).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from anyiou._lib._convert import from_numpy

from .cases import Case, Inputs

FAMILIES = ("torch", "jax", "numpy", "metrics-numpy", "metrics-torch", "metrics-jax")
LOSS_FAMILIES = ("torch", "jax", "numpy")
BASELINE = {
    "torch": "cross-entropy",
    "jax": "optax-ce",
    "numpy": "softmax",
    "metrics-numpy": "bincount",
    "metrics-torch": "bincount",
    "metrics-jax": "bincount",
}
#: The GPU benchmark's families and baselines (``gpu.py``; CuPy: forward only).
GPU_FAMILIES = ("torch", "jax", "cupy")
GPU_BASELINE = {"torch": "cross-entropy", "jax": "optax-ce", "cupy": "softmax"}


@dataclass
class Bench:
    fwd: Callable[[], Any]
    fb: Callable[[], Any] | None = None
    sync: Callable[[Any], None] = lambda _: None
    basis_bytes: int = 0  # memory is reported as a multiple of this
    info: dict = field(default_factory=dict)  # extra facts (e.g. XLA memory analysis)


def impl_names(family: str, case: Case) -> list[str]:
    """Implementations of ``family`` measured on ``case``; the baseline comes first."""
    lovasz = ["anyiou-lovasz"] if case.lovasz else []
    if family in ("torch", "jax") and case.lovasz:  # the Lovasz losses' floor: one sort
        lovasz.append("sort")
    if family == "torch":
        smp_lovasz = ["smp-lovasz"] if case.lovasz else []
        return ["cross-entropy", "anyiou-jaccard", "anyiou-dice", *lovasz, "smp-jaccard",
                "smp-dice", *smp_lovasz]
    if family == "jax":
        return ["optax-ce", "anyiou-jaccard", "anyiou-dice", *lovasz]
    if family == "numpy":
        return ["softmax", "anyiou-jaccard", "anyiou-dice", *lovasz]
    names = ["bincount"]
    if case.mode != "multilabel":
        names.append("anyiou-confmat")
    names.append("anyiou-meaniou")
    if family == "metrics-numpy":
        names.append("sklearn")
    return names


ANYIOU_LOSSES = {"anyiou-jaccard": "JaccardLoss", "anyiou-dice": "DiceLoss",
                 "anyiou-lovasz": "LovaszLoss"}


# -- the losses and their baselines (also the GPU benchmark's) -------------------------------


def anyiou_loss(impl: str, mode: str) -> Any:
    """The anyiou loss ``impl`` (a key of :data:`ANYIOU_LOSSES`) for ``mode``."""
    import anyiou

    return getattr(anyiou, ANYIOU_LOSSES[impl])(mode)


def torch_ce(mode: str, target_float: Any = None) -> Callable[[Any, Any], Any]:
    """torch's cross-entropy ``fn(logits, labels)``; binary and multilabel: BCE with
    logits against ``target_float`` (a float tensor; the labels argument is unused)."""
    import torch.nn.functional as F

    if mode == "multiclass":
        return F.cross_entropy

    def fn(logits, _y):
        return F.binary_cross_entropy_with_logits(logits, target_float)

    return fn


def optax_ce(mode: str, inp: Inputs) -> tuple[Callable[[Any, Any], Any], np.ndarray]:
    """optax's softmax (sigmoid) cross-entropy ``fn(logits, target)`` and the NumPy
    target it takes: int32 labels (multiclass; JAX has no 64-bit integers by default)
    or the float32 0/1 targets."""
    import optax

    if mode == "multiclass":

        def fn(logits, labels):
            return optax.softmax_cross_entropy_with_integer_labels(logits, labels,
                                                                   axis=1).mean()

        return fn, inp.target.astype(np.int32)

    def fn(logits, labels):
        return optax.sigmoid_binary_cross_entropy(logits, labels).mean()

    return fn, inp.target_float


def softmax(xp: Any, mode: str, x: Any) -> Callable[[], Any]:
    """A softmax over the class axis (multiclass) or a sigmoid of ``x`` with ``xp``
    (NumPy or CuPy), as a zero-argument callable: the forward-only baseline."""
    if mode == "multiclass":

        def fwd():
            e = xp.exp(x - x.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
    else:

        def fwd():
            return 1.0 / (1.0 + xp.exp(-x))
    return fwd


def smp_losses() -> Any:
    """``segmentation_models_pytorch.losses`` (smp 0.6.0) without the package's heavy
    ``__init__`` (which needs timm/torchvision): an empty parent module is registered
    first. ImportError if smp is not installed."""
    if "segmentation_models_pytorch" not in sys.modules:
        spec = importlib.util.find_spec("segmentation_models_pytorch")
        if spec is None or spec.submodule_search_locations is None:
            raise ImportError("segmentation-models-pytorch==0.6.0 is not installed (the "
                              "benchmarks compare against it)")
        pkg = types.ModuleType("segmentation_models_pytorch")
        pkg.__path__ = list(spec.submodule_search_locations)
        sys.modules["segmentation_models_pytorch"] = pkg
    return importlib.import_module("segmentation_models_pytorch.losses")


def build(family: str, impl: str, case: Case, inp: Inputs) -> Bench:
    builders = {
        "torch": _torch_loss,
        "jax": _jax_loss,
        "numpy": _numpy_loss,
        "metrics-numpy": _numpy_metric,
        "metrics-torch": _torch_metric,
        "metrics-jax": _jax_metric,
    }
    if family not in builders:
        raise ValueError(f"unknown family {family!r}; known: {', '.join(FAMILIES)}")
    return builders[family](impl, case, inp)


# -- losses ------------------------------------------------------------------------------


def _torch_loss(impl: str, case: Case, inp: Inputs) -> Bench:
    import torch

    x = from_numpy(inp.logits, "torch", copy=False)
    y = from_numpy(inp.target, "torch", copy=False)
    if impl == "cross-entropy":
        yf = (None if inp.target_float is None
              else from_numpy(inp.target_float, "torch", copy=False))
        fn = torch_ce(case.mode, yf)
    elif impl == "sort":
        errors = torch.from_numpy(lovasz_errors(case, inp))

        def sort():  # values and indices, as the Lovasz losses need both
            return torch.sort(errors, dim=-1, descending=True)

        return Bench(sort, sort, basis_bytes=case.logits_bytes)
    elif impl.startswith("anyiou-"):
        fn = anyiou_loss(impl, case.mode)
    elif impl.startswith("smp-"):
        losses = smp_losses()
        cls = {"smp-jaccard": losses.JaccardLoss, "smp-dice": losses.DiceLoss,
               "smp-lovasz": losses.LovaszLoss}[impl]
        fn = cls(case.mode)
    else:
        raise ValueError(f"unknown torch implementation {impl!r}")

    xg = x.detach().requires_grad_(True)  # shares x's storage

    def fwd():
        with torch.no_grad():
            return fn(x, y)

    def fb():
        xg.grad = None
        loss = fn(xg, y)
        loss.backward()
        return xg.grad

    return Bench(fwd, fb, basis_bytes=case.logits_bytes)


def lovasz_errors(case: Case, inp: Inputs) -> np.ndarray:
    """The errors the Lovasz losses sort, float32 (C, N * P): ``|onehot - softmax|`` per
    class (multiclass), the hinge ``1 - z (2 t - 1)`` of all pixels and channels (1, .)."""
    z = inp.logits
    if case.mode == "multiclass":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        onehot = inp.target[:, None] == np.arange(case.c).reshape(1, -1, *[1] * len(case.spatial))
        err = np.where(onehot, 1 - p, p)
        return np.ascontiguousarray(np.moveaxis(err, 1, 0).reshape(case.c, -1), np.float32)
    err = 1 - z * (2 * inp.target_float - 1)
    return np.ascontiguousarray(err.reshape(1, -1), dtype=np.float32)


def _jax_loss(impl: str, case: Case, inp: Inputs) -> Bench:
    import jax

    x = from_numpy(inp.logits, "jax")
    y = from_numpy(inp.target.astype(np.int32), "jax")  # JAX default: no 64-bit integers
    if impl == "optax-ce":
        fn, target = optax_ce(case.mode, inp)
        y = from_numpy(target, "jax")
    elif impl == "sort":
        import jax.numpy as jnp

        errors = from_numpy(lovasz_errors(case, inp), "jax")
        sort = jax.jit(lambda e: jnp.sort(e, axis=-1)).lower(errors).compile()
        return Bench(lambda: sort(errors), lambda: sort(errors), sync=jax.block_until_ready,
                     basis_bytes=case.logits_bytes)
    elif impl.startswith("anyiou-"):
        fn = anyiou_loss(impl, case.mode)
    else:
        raise ValueError(f"unknown jax implementation {impl!r}")

    fwd_c = jax.jit(lambda a, b: fn(a, b)).lower(x, y).compile()
    fb_c = jax.jit(jax.value_and_grad(lambda a, b: fn(a, b))).lower(x, y).compile()
    info: dict = {}
    try:
        m = fb_c.memory_analysis()
        # Everything the call allocates beyond its arguments: temporaries + outputs
        # (the gradient, logits-sized, and the value) - outputs aliased to arguments.
        info["xla_extra_bytes"] = int(
            m.temp_size_in_bytes + m.output_size_in_bytes - m.alias_size_in_bytes
        )
        info["xla_temp_bytes"] = int(m.temp_size_in_bytes)
    except Exception as exc:  # noqa: BLE001 - optional information only
        info["xla_memory_analysis"] = f"unavailable: {exc}"
    return Bench(lambda: fwd_c(x, y), lambda: fb_c(x, y), sync=jax.block_until_ready,
                 basis_bytes=case.logits_bytes, info=info)


def _numpy_loss(impl: str, case: Case, inp: Inputs) -> Bench:
    x, y = inp.logits, inp.target
    if impl == "softmax":
        fwd = softmax(np, case.mode, x)
    elif impl.startswith("anyiou-"):
        fn = anyiou_loss(impl, case.mode)

        def fwd():
            return fn(x, y)
    else:
        raise ValueError(f"unknown numpy implementation {impl!r}")
    return Bench(fwd, None, basis_bytes=case.logits_bytes)


# -- metrics -----------------------------------------------------------------------------
# The baseline is the histogram a hand-written confusion matrix computes with the
# library's own bincount: code = target * K + preds (K = C classes; binary and
# multilabel: K = 2 per channel, channels offset by 4 * c).


def _codes(xp: Any, case: Case, p: Any, t: Any) -> tuple[Any, int]:
    if case.mode == "multiclass":
        return xp.reshape(t * case.c + p, (-1,)), case.c * case.c
    offsets = xp.reshape(xp.arange(case.c) * 4, (1, case.c) + (1,) * len(case.spatial))
    return xp.reshape(t * 2 + p + offsets, (-1,)), 4 * case.c


def _confmat_fn(case: Case) -> Callable[[Any, Any], Any]:
    from anyiou.metrics import confusion_matrix

    if case.mode == "multiclass":
        return lambda p, t: confusion_matrix(p, t, case.c)
    # binary: the 0/1 masks as 2-class label maps
    return lambda p, t: confusion_matrix(p[:, 0], t[:, 0], 2)


def _meaniou(case: Case) -> Any:
    from anyiou.metrics import MeanIoU

    return MeanIoU(case.c, mode=case.mode)


def _numpy_metric(impl: str, case: Case, inp: Inputs) -> Bench:
    p, t = inp.preds, inp.target
    basis = t.nbytes
    if impl == "bincount":

        def fwd():
            codes, length = _codes(np, case, p, t)
            return np.bincount(codes, minlength=length)
    elif impl == "anyiou-confmat":
        cm = _confmat_fn(case)

        def fwd():
            return cm(p, t)
    elif impl == "anyiou-meaniou":
        metric = _meaniou(case)

        def fwd():
            return metric.update(p, t)
    elif impl == "sklearn":
        from sklearn.metrics import jaccard_score

        if case.mode == "multilabel":  # sklearn wants (samples, labels) indicators
            t2 = np.ascontiguousarray(np.moveaxis(t, 1, -1).reshape(-1, case.c))
            p2 = np.ascontiguousarray(np.moveaxis(p, 1, -1).reshape(-1, case.c))

            def fwd():
                return jaccard_score(t2, p2, average="macro")
        else:
            average = "macro" if case.mode == "multiclass" else "binary"
            tr, pr = t.reshape(-1), p.reshape(-1)

            def fwd():
                return jaccard_score(tr, pr, average=average)
    else:
        raise ValueError(f"unknown numpy metric {impl!r}")
    return Bench(fwd, None, basis_bytes=basis)


def _torch_metric(impl: str, case: Case, inp: Inputs) -> Bench:
    import array_api_compat.torch as xp
    import torch

    p, t = from_numpy(inp.preds, "torch", copy=False), from_numpy(inp.target, "torch", copy=False)
    if impl == "bincount":

        def fwd():
            codes, length = _codes(xp, case, p, t)
            return torch.bincount(codes, minlength=length)
    elif impl == "anyiou-confmat":
        cm = _confmat_fn(case)

        def fwd():
            return cm(p, t)
    elif impl == "anyiou-meaniou":
        metric = _meaniou(case)

        def fwd():
            return metric.update(p, t)
    else:
        raise ValueError(f"unknown torch metric {impl!r}")
    return Bench(fwd, None, basis_bytes=inp.target.nbytes)


def _jax_metric(impl: str, case: Case, inp: Inputs) -> Bench:
    import jax
    import jax.numpy as jnp

    p = from_numpy(inp.preds.astype(np.int32), "jax", copy=False)
    t = from_numpy(inp.target.astype(np.int32), "jax", copy=False)
    if impl == "bincount":

        def run(p, t):
            codes, length = _codes(jnp, case, p, t)
            return jnp.bincount(codes, length=length)

        jitted = jax.jit(run).lower(p, t).compile()

        def fwd():
            return jitted(p, t)
    elif impl == "anyiou-confmat":
        jitted = jax.jit(_confmat_fn(case)).lower(p, t).compile()

        def fwd():
            return jitted(p, t)
    elif impl == "anyiou-meaniou":
        metric = _meaniou(case)
        state = metric.init_state(t)
        jitted = jax.jit(metric.update_state).lower(state, p, t).compile()

        def fwd():
            return jitted(state, p, t)
    else:
        raise ValueError(f"unknown jax metric {impl!r}")
    return Bench(fwd, None, sync=jax.block_until_ready, basis_bytes=inp.target.nbytes)
