"""A GPU cost model of one forward + backward pass, without a GPU: kernel launches and
bytes moved, against cross-entropy and smp (MONAI) on the same inputs.

    python -m benchmarks.costmodel            # the cases below, torch and JAX
    python -m benchmarks.costmodel --no-jax   # torch only (seconds)

(also part of ``python -m benchmarks.run --costmodel``). On a GPU a segmentation loss is
bound by memory traffic and by launch latency, both of which can be counted on a CPU:

* **torch**: the inputs are ``meta`` tensors (shapes and dtypes, no storage), which take
  the kernels' accelerator path as a CUDA tensor does (no value is read). Every aten
  operation of ``loss(x, y)`` and ``torch.autograd.grad`` is counted by a
  ``TorchDispatchMode``; a view (``view``, ``permute``, ``expand``, ``slice``, ...) is
  free and an allocation (``empty``) launches nothing, every other operation is one
  launch that reads its tensor inputs and writes its outputs once (an expanded input
  counts its distinct elements). With ``--fused`` (or ``ANYIOU_FUSED=1``) the fused
  Triton layer is put in the router for ``meta`` tensors and each Triton launch is
  recorded (the bytes of its tensor arguments) instead of run.
* **JAX**: XLA's own estimate, ``cost_analysis()["bytes accessed"]`` of the compiled
  ``jax.jit(jax.value_and_grad(loss))`` (lowered from shapes alone), for anyiou's loss
  and optax's cross-entropy; XLA fuses, so only its bytes are compared.

The MONAI case (`MONAI_CASE`, torch only) compares ``anyiou.monai.DiceLoss`` with MONAI
1.6.1's ``DiceLoss``, both ``to_onehot_y=True, softmax=True``, on logits (N, C, *S) and
labels (N, 1, *S); cross-entropy of the same input is its baseline too. MONAI's one-hot
(``zeros`` + ``scatter_``) runs on ``meta`` tensors, so it is counted like the rest.
With the fused layer anyiou.monai maps this configuration onto the core Dice loss
(``empty="keep"``, ``per_image=True``, halved smoothing) and takes its whole-loss path
(``overlap_loss``: three launches); without it, MONAI's composition on the kernels.

The modelled time on an H100 is ``bytes / 3.35e12 B/s + 5 us x launches``. The numbers are
a model: a fused elementwise chain on a real GPU, caches and launch overlap are not in
it. ``logits-passes`` are the bytes over the logits' bytes.
"""

from __future__ import annotations

import argparse
import collections
import math
from dataclasses import asdict, dataclass
from typing import Any

from .impls import smp_losses, torch_ce
from .paths import RESULTS, save_result

#: H100 SXM memory bandwidth (bytes/s) and a typical launch latency (s).
BANDWIDTH = 3.35e12
LAUNCH_S = 5e-6


@dataclass(frozen=True)
class CostCase:
    """One input: ``mode``, the logits' shape (N, C, *S) and the ``ignore_index``."""

    name: str
    mode: str
    n: int
    c: int
    spatial: tuple[int, ...]
    ignore_index: int | None = None

    @property
    def logits_bytes(self) -> int:
        return 4 * self.n * self.c * math.prod(self.spatial)


CASES = [
    CostCase("multiclass-N8-C21-512x512-ignore255", "multiclass", 8, 21, (512, 512), 255),
    CostCase("multiclass-N4-C150-256x256", "multiclass", 4, 150, (256, 256)),
    CostCase("multiclass-N2-C4-64^3", "multiclass", 2, 4, (64, 64, 64)),
    CostCase("binary-N16-512x512", "binary", 16, 1, (512, 512)),
]
#: MONAI's DiceLoss(to_onehot_y=True, softmax=True) on labels (N, 1, *S): the
#: implementations, MONAI's first (the reference of the ratios), and its targets.
MONAI_CASE = CostCase("monai-dice-N2-C14-64^3", "monai", 2, 14, (64, 64, 64))
MONAI_IMPLS = ("monai-dice", "anyiou-monai-dice")
MONAI_TARGET = 0.5

#: aten operations that launch nothing: views (free) and allocations.
VIEWS = frozenset({
    "view", "_unsafe_view", "_reshape_alias", "reshape", "permute", "expand", "squeeze",
    "unsqueeze", "t", "transpose", "alias", "slice", "select", "as_strided", "detach",
    "split", "unbind", "narrow", "diagonal", "lift_fresh",
})
ALLOCATIONS = frozenset({"empty", "empty_like", "empty_strided", "new_empty",
                         "new_empty_strided"})


def _distinct_bytes(t: Any) -> int:
    """Bytes of the distinct elements of a tensor (a stride-0 axis is read once)."""
    count = math.prod(s for s, st in zip(t.shape, t.stride(), strict=True) if st != 0)
    return count * t.element_size()


def _tensors(tree: Any) -> list[Any]:
    import torch

    if isinstance(tree, torch.Tensor):
        return [tree]
    if isinstance(tree, (list, tuple)):
        return [t for item in tree for t in _tensors(item)]
    if isinstance(tree, dict):
        return [t for item in tree.values() for t in _tensors(item)]
    return []


class Tally:
    """Launches and bytes of one measured call, by operation."""

    def __init__(self) -> None:
        self.ops: collections.Counter = collections.Counter()
        self.launches: collections.Counter = collections.Counter()
        self.bytes: collections.Counter = collections.Counter()

    def add(self, name: str, args: list[Any], kwargs: list[Any], outputs: list[Any]) -> None:
        """One aten call: its positional and keyword tensor arguments and its outputs."""
        self.ops[name] += 1
        if name in VIEWS or name in ALLOCATIONS:
            return
        written = {id(t) for t in outputs}
        # an out= argument is written, not read; an in-place self is read and written
        read = args + [t for t in kwargs if id(t) not in written]
        self.launches[name] += 1
        self.bytes[name] += sum(_distinct_bytes(t) for t in read + outputs)

    def summary(self, logits_bytes: int) -> dict:
        launches, moved = sum(self.launches.values()), sum(self.bytes.values())
        return {"aten_ops": sum(self.ops.values()), "launches": launches, "bytes": moved,
                "logits_passes": moved / logits_bytes,
                "h100_us": 1e6 * (moved / BANDWIDTH + LAUNCH_S * launches),
                "by_op": {k: [self.launches[k], self.bytes[k]] for k in self.launches}}


def _counting_mode(tally: Tally) -> Any:
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    class Counter(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            name = str(func.overloadpacket).removeprefix("aten.")
            if name == "bincount" and args[0].device.type == "meta":  # no meta kernel
                size = kwargs.get("minlength", args[2] if len(args) > 2 else 0)
                out = torch.zeros(size, dtype=torch.int64, device="meta")
            else:
                out = func(*args, **kwargs)
            tally.add(name, _tensors(args), _tensors(kwargs), _tensors(out))
            return out

    return Counter()


def _inputs(case: CostCase) -> tuple[Any, Any, Any]:
    """``meta`` logits (requiring grad), int64 labels/targets and float targets."""
    import torch

    shape = (case.n, case.c, *case.spatial)
    x = torch.empty(shape, device="meta").requires_grad_(True)
    if case.mode in ("multiclass", "monai"):
        labels = (case.n, 1, *case.spatial) if case.mode == "monai" else (case.n, *case.spatial)
        return x, torch.empty(labels, dtype=torch.int64, device="meta"), None
    y = torch.empty(shape, dtype=torch.int64, device="meta")
    return x, y, torch.empty(shape, device="meta")


def _torch_fn(impl: str, case: CostCase, yf: Any) -> Any:
    import torch.nn.functional as F

    if case.mode == "monai":
        return _monai_fn(impl)
    ignore = {} if case.ignore_index is None else {"ignore_index": case.ignore_index}
    if impl == "cross-entropy":
        if case.mode == "multiclass":
            return lambda x, y: F.cross_entropy(x, y, **ignore)
        return torch_ce(case.mode, yf)
    if impl == "smp-jaccard":
        return smp_losses().JaccardLoss(case.mode, **ignore)
    import anyiou

    return anyiou.JaccardLoss(case.mode, **ignore)


def _monai_fn(impl: str) -> Any:
    """cross-entropy of labels (N, 1, *S), MONAI's or anyiou.monai's DiceLoss."""
    import torch.nn.functional as F

    if impl == "cross-entropy":
        return lambda x, y: F.cross_entropy(x, y[:, 0])
    if impl == "monai-dice":
        from monai.losses import DiceLoss
    else:
        from anyiou.monai import DiceLoss
    return DiceLoss(to_onehot_y=True, softmax=True)


@dataclass
class _Fused:
    """The fused Triton layer routed for ``meta`` tensors, its launches recorded."""

    tally: Tally

    def __enter__(self) -> _Fused:
        from anyiou._lib import kernels
        from anyiou._lib.kernels import _triton

        self._saved = (kernels.BACKENDS, _triton._launch)
        fused = kernels.Backend(lambda x: kernels.aac.is_torch_array(x),
                                kernels._load_triton, layer=True)
        kernels.BACKENDS = (fused, *kernels.BACKENDS)

        def record(kernel: Any, grid: Any, *args: Any, **meta: Any) -> None:
            tensors = _tensors(list(args))
            name = "triton:" + getattr(kernel, "__name__", "kernel")
            self.tally.ops[name] += 1
            self.tally.launches[name] += 1
            self.tally.bytes[name] += sum(_distinct_bytes(t) for t in tensors)

        _triton._launch = record
        return self

    def __exit__(self, *exc: Any) -> None:
        from anyiou._lib import kernels
        from anyiou._lib.kernels import _triton

        kernels.BACKENDS, _triton._launch = self._saved


def torch_costs(case: CostCase, impl: str) -> dict:
    """Launches and bytes of ``impl`` (cross-entropy, smp-jaccard, anyiou-jaccard,
    anyiou-jaccard-fused; on `MONAI_CASE` monai-dice, anyiou-monai-dice,
    anyiou-monai-dice-fused) for one forward + backward on ``case``."""
    import torch

    x, y, yf = _inputs(case)
    fn = _torch_fn(impl, case, yf)
    tally = Tally()
    fused = _Fused(tally) if impl.endswith("-fused") else None
    if fused is not None:
        fused.__enter__()
    try:
        with _counting_mode(tally):
            loss = fn(x, y)
            torch.autograd.grad(loss, x)
    finally:
        if fused is not None:
            fused.__exit__()
    return tally.summary(case.logits_bytes)


def _fused_available() -> bool:
    try:
        from anyiou._lib.kernels import _triton  # noqa: F401
    except ImportError:
        return False
    return True


def jax_costs(case: CostCase, impl: str) -> dict:
    """XLA's bytes accessed of the compiled value-and-grad of ``impl`` (optax-ce,
    anyiou-jaccard) on ``case``, lowered from shapes alone."""
    import jax
    import jax.numpy as jnp
    import optax

    import anyiou

    shape = (case.n, case.c, *case.spatial)
    x = jax.ShapeDtypeStruct(shape, jnp.float32)
    if case.mode == "multiclass":
        y = jax.ShapeDtypeStruct((case.n, *case.spatial), jnp.int32)
    else:
        y = jax.ShapeDtypeStruct(shape, jnp.int32 if impl.startswith("anyiou") else jnp.float32)
    if impl == "optax-ce" and case.mode == "multiclass":
        def loss(logits, labels):
            ce = optax.softmax_cross_entropy_with_integer_labels(
                logits, jnp.where(labels == case.ignore_index, 0, labels), axis=1)
            if case.ignore_index is None:
                return ce.mean()
            keep = labels != case.ignore_index
            return jnp.where(keep, ce, 0).sum() / jnp.maximum(keep.sum(), 1)
    elif impl == "optax-ce":
        def loss(logits, target):
            return optax.sigmoid_binary_cross_entropy(logits, target).mean()
    else:
        ignore = {} if case.ignore_index is None else {"ignore_index": case.ignore_index}
        loss = anyiou.JaccardLoss(case.mode, **ignore)
    compiled = jax.jit(jax.value_and_grad(loss)).lower(x, y).compile()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    moved = float(cost.get("bytes accessed", float("nan")))
    return {"bytes": moved, "logits_passes": moved / case.logits_bytes,
            "flops": float(cost.get("flops", float("nan")))}


def measure(fused: bool | None = None, with_jax: bool = True,
            cases: list[CostCase] | None = None, with_monai: bool = True) -> dict:
    """Every case's costs and ratios; the dict ``benchmarks.run --costmodel`` stores
    (the MONAI case under ``"monai"``, ``with_monai``). ``fused``: also the fused Triton
    path (default: where ``_triton`` imports)."""
    fused = _fused_available() if fused is None else fused
    impls = ["cross-entropy", "smp-jaccard", "anyiou-jaccard"]
    impls += ["anyiou-jaccard-fused"] if fused else []
    out: dict[str, Any] = {"bandwidth": BANDWIDTH, "launch_s": LAUNCH_S, "cases": []}
    for case in cases or CASES:
        torch_rows = {impl: torch_costs(case, impl) for impl in impls}
        ce, smp = torch_rows["cross-entropy"], torch_rows["smp-jaccard"]
        for row in torch_rows.values():
            row["vs_ce"] = {k: row[k] / ce[k] for k in ("launches", "bytes", "h100_us")}
            row["vs_smp"] = {k: row[k] / smp[k] for k in ("launches", "bytes", "h100_us")}
        entry = {"case": asdict(case), "torch": torch_rows}
        if with_jax:
            jax_rows = {impl: jax_costs(case, impl) for impl in ("optax-ce", "anyiou-jaccard")}
            jax_rows["anyiou-jaccard"]["bytes_vs_ce"] = (
                jax_rows["anyiou-jaccard"]["bytes"] / jax_rows["optax-ce"]["bytes"])
            entry["jax"] = jax_rows
        out["cases"].append(entry)
    if with_monai:
        out["monai"] = measure_monai(fused)
    return out


def measure_monai(fused: bool, case: CostCase = MONAI_CASE) -> dict:
    """The MONAI case's torch costs: cross-entropy, MONAI, anyiou.monai (and its fused
    path), with ratios to cross-entropy (``vs_ce``) and to MONAI (``vs_monai``)."""
    impls = ["cross-entropy", *MONAI_IMPLS] + (["anyiou-monai-dice-fused"] if fused else [])
    rows = {impl: torch_costs(case, impl) for impl in impls}
    for row in rows.values():
        for key, ref in (("vs_ce", "cross-entropy"), ("vs_monai", "monai-dice")):
            row[key] = {k: row[k] / rows[ref][k] for k in ("launches", "bytes", "h100_us")}
    return {"case": asdict(case), "torch": rows}


def markdown(result: dict) -> str:
    """The results of :func:`measure` as Markdown tables (also what
    ``python -m benchmarks.costmodel`` prints)."""
    lines = ["torch, one forward + backward (modelled H100: bytes / 3.35 TB/s + 5 us per "
             "launch; views free)", "",
             "| case | implementation | aten ops | launches | logits-passes | H100 us | "
             "launches / CE | bytes / CE | time / CE | time / smp |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for entry in result["cases"]:
        for impl, r in entry["torch"].items():
            lines.append(
                f"| {entry['case']['name']} | {impl} | {r['aten_ops']} | {r['launches']} | "
                f"{r['logits_passes']:.1f} | {r['h100_us']:.0f} | "
                f"{r['vs_ce']['launches']:.1f}x | {r['vs_ce']['bytes']:.2f}x | "
                f"{r['vs_ce']['h100_us']:.2f}x | {r['vs_smp']['h100_us']:.2f}x |")
    if any("jax" in e for e in result["cases"]):
        lines += ["", "JAX, XLA's bytes accessed of jit(value_and_grad) (CPU compiler)", "",
                  "| case | optax CE logits-passes | anyiou logits-passes | bytes / CE |",
                  "| --- | --- | --- | --- |"]
        for entry in result["cases"]:
            if "jax" in entry:
                ce, ours = entry["jax"]["optax-ce"], entry["jax"]["anyiou-jaccard"]
                lines.append(f"| {entry['case']['name']} | {ce['logits_passes']:.1f} | "
                             f"{ours['logits_passes']:.1f} | {ours['bytes_vs_ce']:.2f}x |")
    if result.get("monai"):
        lines += ["", "torch, MONAI's DiceLoss(to_onehot_y=True, softmax=True), one forward + "
                  "backward", "", monai_table(result["monai"])]
    return "\n".join(lines)


def monai_table(entry: dict) -> str:
    """The MONAI case: launches, bytes and modelled time of cross-entropy, MONAI and
    anyiou.monai (composable, fused), and anyiou's ratios to MONAI against the targets."""
    lines = [f"| case | implementation | launches | MB moved | logits-passes | H100 us | "
             f"time / CE | bytes / MONAI (<= {MONAI_TARGET:g}x) | "
             f"time / MONAI (<= {MONAI_TARGET:g}x) |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- |"]
    for impl, r in entry["torch"].items():
        cells = [entry["case"]["name"], impl, str(r["launches"]), f"{r['bytes'] / 1e6:.0f}",
                 f"{r['logits_passes']:.1f}", f"{r['h100_us']:.0f}",
                 f"{r['vs_ce']['h100_us']:.2f}x"]
        for key in ("bytes", "h100_us"):
            ratio = r["vs_monai"][key]
            verdict = "" if not impl.startswith("anyiou") else (
                " PASS" if ratio <= MONAI_TARGET else " MISS")
            cells.append(f"{ratio:.2f}x{verdict}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


#: The targets of the fused path per case: launches <= 2x and bytes <= 0.75x CE/BCE's.
LAUNCH_TARGET, BYTES_TARGET = 2.0, 0.75


def page_table(result: dict) -> str:
    """The benchmarks page's cost-model table: per case, cross-entropy (BCE), smp, anyiou's
    composable accelerator path (before) and the fused Triton path (after), launches and
    logits-passes, with the fused path's ratios to cross-entropy against the targets; then
    the MONAI case's table (`monai_table`)."""
    lines = [
        "| case | CE launches | CE passes | smp launches | smp passes | before: launches | "
        f"before: passes | after: launches | after: passes | after / CE launches (<= "
        f"{LAUNCH_TARGET:g}x) | after / CE bytes (<= {BYTES_TARGET:g}x) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for entry in result["cases"]:
        rows = entry["torch"]
        ce, smp, before = rows["cross-entropy"], rows["smp-jaccard"], rows["anyiou-jaccard"]
        after = rows.get("anyiou-jaccard-fused")
        cells = [entry["case"]["name"], str(ce["launches"]), f"{ce['logits_passes']:.1f}",
                 str(smp["launches"]), f"{smp['logits_passes']:.1f}",
                 str(before["launches"]), f"{before['logits_passes']:.1f}"]
        if after is None:
            cells += ["-"] * 4
        else:
            launches, moved = after["vs_ce"]["launches"], after["vs_ce"]["bytes"]
            cells += [str(after["launches"]), f"{after['logits_passes']:.1f}",
                      f"{launches:.2f}x {'PASS' if launches <= LAUNCH_TARGET else 'MISS'}",
                      f"{moved:.2f}x {'PASS' if moved <= BYTES_TARGET else 'MISS'}"]
        lines.append("| " + " | ".join(cells) + " |")
    if result.get("monai"):
        lines += ["", monai_table(result["monai"])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-jax", action="store_true", help="torch only")
    ap.add_argument("--fused", choices=("auto", "on", "off"), default="auto",
                    help="also the fused Triton path (auto: where triton imports)")
    ap.add_argument("--out", default=str(RESULTS), help="output folder")
    args = ap.parse_args(argv)
    fused = None if args.fused == "auto" else args.fused == "on"
    result = measure(fused, not args.no_jax)
    print(markdown(result))
    save_result(result, args.out, "costmodel.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
