"""Device discipline, proved on the CPU with array-api-strict's extra devices.

Every public function and option (the calls of ``tests/support/device_cases.py``) is
called with arrays on ``Device("device1")``, and on ``Device("no_float64")`` (float32
default, no float64, like torch on MPS); every array it returns must sit on that device
(and array-api-strict itself raises if anything inside combines arrays of two devices). Placement is the subject here: the values are
compared with the same call on NumPy arrays (whose numbers are tested against smp,
torchmetrics and sklearn elsewhere), and a few against hand-computed numbers. Arrays on
two devices must raise a ``ValueError`` that names both arguments.

Runs in the array_api_strict session only (``only_backends``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import anyiou
import anyiou.metrics as M
from anyiou._lib._namespace import get_namespace
from tests.support.device_cases import ALL_CASES, MIXED_CALLS

pytestmark = pytest.mark.only_backends("array_api_strict")

# -- the placement test -------------------------------------------------------------------


def _device(lib: Any, name: str = "device1") -> Any:
    return lib.Device(name)


def _on(lib: Any, device: Any) -> Callable:
    return lambda x: lib.asarray(np.asarray(x), device=device)


def _arrays(out: Any) -> list[Any]:
    return list(out) if isinstance(out, tuple | list) else [out]


#: device -> relative tolerance against NumPy. ``no_float64`` (float32 default, no
#: float64 at all, like torch on MPS) also proves that nothing hard-codes float64.
DEVICES = {"device1": 1e-6, "no_float64": 2e-5}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy oracle: inf/nan in ratios
@pytest.mark.parametrize("device_name", list(DEVICES))
@pytest.mark.parametrize("call", [c[1] for c in ALL_CASES], ids=[c[0] for c in ALL_CASES])
def test_result_on_input_device(backend, call, device_name):
    lib = backend.lib
    device = _device(lib, device_name)
    got = _arrays(call(_on(lib, device)))
    want = _arrays(call(np.asarray))
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert type(g).__module__.startswith("array_api_strict"), type(g)
        assert g.device == device, f"result on {g.device}, input on {device}"
        g = backend.to_numpy(g)
        assert g.shape == np.shape(w) and g.dtype.kind == np.asarray(w).dtype.kind
        np.testing.assert_allclose(g, np.asarray(w), rtol=DEVICES[device_name], atol=1e-7)


def test_hand_computed_values_on_device(backend):
    """Values on device1 against hand-computed numbers (see the docstring examples)."""
    lib = backend.lib
    device = _device(lib)
    a = _on(lib, device)
    # Lovasz hinge: errors (-1, 0.5, 1.5), sorted targets (0, 0, 1): 1.5/2 + 0.5/6 = 5/6
    loss = anyiou.LovaszLoss("binary")(a(np.array([[2.0, -0.5, 0.5]])), a(np.array([[1, 0, 0]])))
    assert loss.device == device
    assert abs(float(backend.to_numpy(loss)) - 5 / 6) < 1e-12
    # Jaccard, probabilities: I = 0.8 + 0.6 = 1.4, union = 1.6 + 2 - 1.4 = 2.2
    p = a(np.array([[0.8, 0.6, 0.2, 0.0]]))
    t = a(np.array([[1, 1, 0, 0]]))
    jl = anyiou.JaccardLoss("binary", from_logits=False)(p, t)
    assert jl.device == device
    assert abs(float(backend.to_numpy(jl)) - (1 - 1.4 / 2.2)) < 1e-12
    # two images, C = 3: class IoUs 2/5, 2/3, 1/3 accumulated over both -> mean 0.466667
    m = M.MeanIoU(3)
    m.update(a(np.array([[0, 1, 1, 1]])), a(np.array([[0, 0, 1, 1]])))
    m.update(a(np.array([[2, 0, 0, 0]])), a(np.array([[2, 2, 2, 0]])))
    assert m.compute().device == device and m.confmat.device == device
    np.testing.assert_allclose(backend.to_numpy(m.per_class()), [0.4, 2 / 3, 1 / 3])
    # get_stats + iou_score, micro: tp 3, fp 1, fn 1 -> 3/5
    stats = M.get_stats(a(np.array([[[0, 1], [1, 1]]])), a(np.array([[[0, 0], [1, 1]]])),
                        "multiclass", num_classes=3)
    score = M.iou_score(*stats, reduction="micro")
    assert score.device == device
    assert abs(float(backend.to_numpy(score)) - 0.6) < 1e-12



@pytest.mark.parametrize(("call", "names"), [c[1:] for c in MIXED_CALLS],
                         ids=[c[0] for c in MIXED_CALLS])
def test_mixed_devices_rejected(backend, call, names):
    lib = backend.lib
    device1, cpu = _device(lib), _device(lib, "CPU_DEVICE")
    with pytest.raises(ValueError, match="must be on the same device") as err:
        call(_on(lib, device1), _on(lib, cpu))
    message = str(err.value)
    for name in names:
        assert name in message, f"{name!r} not in {message!r}"
    assert "device1" in message and "CPU_DEVICE" in message


def test_get_namespace_names_the_arguments_on_two_devices(backend):
    lib = backend.lib
    x = lib.asarray([1.0], device=_device(lib))
    y = lib.asarray([1.0], device=_device(lib, "CPU_DEVICE"))
    assert get_namespace(a=x, b=x) is get_namespace(a=y, b=y)
    with pytest.raises(ValueError, match="first and third must be on the same device"):
        get_namespace(first=x, second=x, third=y)
