"""Measure implementations of one case in this (fresh) process; print one JSON line.

Started by :func:`memory.run_isolated`; not meant to be called by hand, but it can be:

    python -m benchmarks.worker '{"case": "multiclass-N8-C21-512x512", "family": "torch",
                                  "impls": ["anyiou-jaccard"]}'

For each implementation, in order: build it (JAX: compile ahead of time); warm it up
(JAX: one call; other libraries: calls on a tiny input of the same mode, so that lazy
imports and one-off set-up are done); the peak extra memory of one call on the full
input (forward+backward where there is one, else forward), which is also the first
timing warm-up. Then the timings of all implementations of the request, interleaved
(``timing.measure_interleaved``), so that they share the machine's load alike.
"""

from __future__ import annotations

import json
import sys
import traceback

from .cases import get_case, make_inputs, tiny
from .impls import Bench, build
from .memory import peak_extra
from .timing import Item, Policy, measure_interleaved


def prepare(family: str, impl: str, case, inp) -> tuple[dict, Bench | None]:
    """Build and warm up one implementation, then measure its peak extra memory."""
    try:
        bench = build(family, impl, case, inp)
    except ImportError as exc:  # a library (or smp) not installed here
        return {"error": f"n/a: {exc}"}, None
    out: dict = {"basis_bytes": bench.basis_bytes, **bench.info}
    main = bench.fb if bench.fb is not None else bench.fwd
    if family.endswith("jax"):
        bench.sync(main())  # first execution after the ahead-of-time compile
    else:  # lazy imports and one-off set-up, on a tiny input
        small = tiny(case)
        warm = build(family, impl, small, make_inputs(small))
        for fn in (warm.fwd, warm.fb):
            if fn is not None:
                warm.sync(fn())
        del warm
    mem = peak_extra(main, bench.sync)
    out["mem_bytes"] = mem["bytes"]
    out["mem_method"] = mem["method"]
    out["mem_of"] = "fwd+bwd" if bench.fb is not None else "fwd"
    out["_first_main_s"] = mem["seconds"]
    return out, bench


def measure_all(family: str, impls: list[str], case, inp, policy: Policy) -> dict:
    """Memory of each implementation in turn, then all timings interleaved."""
    results: dict = {}
    benches: dict[str, Bench] = {}
    for impl in impls:
        try:
            results[impl], bench = prepare(family, impl, case, inp)
        except Exception as exc:  # noqa: BLE001 - one failing implementation is reported
            traceback.print_exc(file=sys.stderr)
            results[impl], bench = {"error": f"{type(exc).__name__}: {exc}"}, None
        if bench is not None:
            benches[impl] = bench
    items: dict[tuple[str, str], Item] = {}
    for impl, bench in benches.items():
        first = results[impl].pop("_first_main_s")
        if bench.fb is not None:
            items[(impl, "fb")] = Item(bench.fb, bench.sync, first)
            items[(impl, "fwd")] = Item(bench.fwd, bench.sync)
        else:
            items[(impl, "fwd")] = Item(bench.fwd, bench.sync, first)
    for (impl, kind), timing in measure_interleaved(items, policy).items():
        results[impl][kind] = timing.as_dict()
    return results


def main(argv: list[str]) -> int:
    request = json.loads(argv[0])
    case = get_case(request["case"])
    policy = Policy(**request.get("policy", {}))
    if request.get("threads") and request["family"] in ("torch", "metrics-torch"):
        import torch

        torch.set_num_threads(int(request["threads"]))
    inp = make_inputs(case, request.get("seed", 0))
    results = measure_all(request["family"], request["impls"], case, inp, policy)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
