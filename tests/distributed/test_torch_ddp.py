"""torch.distributed: the global-batch loss over 2 gloo ranks on 127.0.0.1 equals smp's loss
on the concatenated batch, and so do the parameter gradients after DDP's averaging (to
1e-6, float64); anyiou.monai's losses with ``batch=True`` and ``sync=`` give MONAI's loss
of the concatenated batch; MeanIoU syncs its confusion matrix with one all-reduce
(torchmetrics and sklearn on the concatenated data as oracles).

The two ranks are this file run as a script (``python test_distributed_torch.py RANK
PORT OUT``), launched by a module fixture with a hard timeout, so a hung collective can
never hang the suite. Generated only in the torch session (the test is about
torch.distributed, not about an array backend).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

WORLD = 2
C = 4  # classes; class 3 is rare and present on rank 1 only
IN_CH = 3
SPLITS = (slice(0, 2), slice(2, 3))  # unequal local batches: 2 images and 1 image
TIMEOUT_S = 120

# name -> (loss class, constructor arguments, use an explicit process group)
CASES = {
    "jaccard_multiclass_ignore": ("JaccardLoss", {"mode": "multiclass", "ignore_index": 255}, False),
    "jaccard_multiclass_log": ("JaccardLoss", {"mode": "multiclass", "log_loss": True, "smooth": 0.5}, True),
    "dice_multilabel": ("DiceLoss", {"mode": "multilabel"}, False),
    "tversky_binary": ("TverskyLoss", {"mode": "binary", "alpha": 0.3, "beta": 0.7, "gamma": 1.5}, False),
}

# anyiou.monai: name -> (loss class, MONAI's arguments); labels (N, 1, 6, 5), class 3 rare
MONAI_CASES = {
    "monai_dice_ignore": ("DiceLoss", {"to_onehot_y": True, "softmax": True, "batch": True,
                                       "ignore_index": 255, "include_background": False}),
    "monai_gdl_none": ("GeneralizedDiceLoss", {"to_onehot_y": True, "softmax": True,
                                               "batch": True, "reduction": "none"}),
}

pytestmark = [pytest.mark.only_backends("torch"), pytest.mark.slow]  # spawns ranks


# -- data shared by the ranks and the single-process reference ------------------------


def _data(name: str):
    """Full batch (3 images) of inputs (N, IN_CH, 6, 5), targets and model weights."""
    rng = np.random.default_rng(sum(map(ord, name)))
    x = rng.normal(size=(3, IN_CH, 6, 5))
    mode = CASES[name][1]["mode"]
    out_ch = 1 if mode == "binary" else C
    weight = rng.normal(size=(out_ch, IN_CH, 1, 1))
    bias = rng.normal(size=(out_ch,))
    if mode == "multiclass":
        y = rng.integers(0, 3, size=(3, 6, 5))
        y[2, :2, :2] = 3  # the rare class: 4 pixels, in the image of rank 1 only
        if "ignore_index" in CASES[name][1]:
            y[0, 0, :3] = 255
    elif mode == "multilabel":
        y = (rng.random((3, C, 6, 5)) < 0.4).astype(np.int64)
        y[:2, 3] = 0  # rare label, rank 1 only
        y[2, 3] = 0
        y[2, 3, 0, :3] = 1
    else:
        y = np.zeros((3, 1, 6, 5), np.int64)
        y[2, 0, 1:3, 1:3] = 1  # foreground on rank 1 only
    return x, y, weight, bias


def _monai_data(name: str):
    """Logits (3, C, 6, 5) float64 and labels (3, 1, 6, 5): class 3 on rank 1 only."""
    rng = np.random.default_rng(sum(map(ord, name)))
    x = rng.normal(size=(3, C, 6, 5))
    y = rng.integers(0, 3, size=(3, 1, 6, 5))
    y[2, 0, :2, :2] = 3
    y[0, 0, 0, :3] = 255
    if "ignore_index" not in MONAI_CASES[name][1]:
        y[0, 0, 0, :3] = 1
    return x, y


def _model(weight: np.ndarray, bias: np.ndarray):
    import torch

    model = torch.nn.Conv2d(IN_CH, weight.shape[0], 1, dtype=torch.float64)
    with torch.no_grad():
        model.weight.copy_(torch.from_numpy(weight))
        model.bias.copy_(torch.from_numpy(bias))
    return model


def _labels(rank_or_all):
    """Integer predictions/targets (N, 7, 6) for the metric, class 3 rare; 255 voids."""
    rng = np.random.default_rng(7)
    t = rng.integers(0, 3, size=(3, 7, 6))
    t[2, 0, :2] = 3
    p = np.where(rng.random(t.shape) < 0.6, t, rng.integers(0, C, t.shape))
    t[1, 3, :] = 255
    ml_t = rng.random((3, C, 7, 6)) < 0.3
    ml_p = rng.random((3, C, 7, 6))
    sl = slice(None) if rank_or_all is None else SPLITS[rank_or_all]
    return p[sl], t[sl], ml_p[sl], ml_t[sl]


# -- one rank (this file run as a script) ----------------------------------------------


def _worker(rank: int, port: int, out: str) -> None:
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    import anyiou
    from anyiou.distributed import torch_sync
    from anyiou.metrics import MeanIoU

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=WORLD, timeout=timedelta(seconds=60))
    group = dist.new_group(list(range(WORLD)))
    res = {}
    for name, (cls, kwargs, own_group) in CASES.items():
        x, y, weight, bias = _data(name)
        sl = SPLITS[rank]
        ddp = DDP(_model(weight, bias))
        sync = torch_sync(group if own_group else None)
        loss_fn = getattr(anyiou, cls)(**kwargs, sync=sync)
        logits = ddp(torch.from_numpy(x[sl]))
        logits.retain_grad()
        loss = loss_fn(logits, torch.from_numpy(y[sl]))
        loss.backward()  # DDP averages the parameter gradients over the ranks here
        res[f"{name}/loss"] = loss.detach().numpy()
        res[f"{name}/grad_weight"] = ddp.module.weight.grad.numpy()
        res[f"{name}/grad_bias"] = ddp.module.bias.grad.numpy()
        res[f"{name}/grad_logits"] = logits.grad.numpy()
        with torch.no_grad():  # the per-rank loss without sync, for the teeth check
            local = getattr(anyiou, cls)(**kwargs)(logits, torch.from_numpy(y[sl]))
        res[f"{name}/local_loss"] = local.numpy()

    from anyiou import monai

    for name, (cls, kwargs) in MONAI_CASES.items():  # logits as leaves: no model
        x, y = _monai_data(name)
        logits = torch.from_numpy(x[SPLITS[rank]]).requires_grad_(True)
        loss = getattr(monai, cls)(**kwargs, sync=torch_sync())(logits,
                                                                torch.from_numpy(y[SPLITS[rank]]))
        loss.sum().backward()
        res[f"{name}/loss"] = loss.detach().numpy()
        res[f"{name}/grad_logits"] = logits.grad.numpy()

    p, t, ml_p, ml_t = (torch.from_numpy(a) for a in _labels(rank))
    m = MeanIoU(C, ignore_index=255, average="macro", sync=torch_sync())
    m.update(p[:1], t[:1]).update(p[1:], t[1:])  # rank 1's second batch is empty
    res["miou/macro"] = m.compute().numpy()
    res["miou/none"] = m.per_class().numpy()
    res["miou/local_confmat"] = m.confmat.numpy()
    res["miou/global_confmat"] = m.sync(m.confmat).numpy()
    ml = MeanIoU(C, mode="multilabel", sync=torch_sync(group)).update(ml_p, ml_t)
    res["miou_multilabel/macro"] = ml.compute().numpy()
    np.savez(out, **res)
    dist.barrier()
    dist.destroy_process_group()


# -- the launcher and the single-process references ------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(tmp: Path, env: dict) -> tuple[list | None, str]:
    """Start the ranks on a free port; wait at most TIMEOUT_S. Returns (exit codes, logs)."""
    port = _free_port()
    procs, logs = [], []
    for rank in range(WORLD):
        log = open(tmp / f"rank{rank}.log", "w+b")  # noqa: SIM115 (closed below)
        logs.append(log)
        procs.append(subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), str(rank), str(port),
             str(tmp / f"rank{rank}.npz")],
            stdout=log, stderr=subprocess.STDOUT, env=env))
    try:
        codes = [p.wait(timeout=TIMEOUT_S) for p in procs]
    except subprocess.TimeoutExpired:
        codes = None
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    text = []
    for rank, log in enumerate(logs):
        log.seek(0)
        text.append(f"--- rank {rank} ---\n{log.read().decode(errors='replace')[-3000:]}")
        log.close()
    return codes, "\n".join(text)


@pytest.fixture(scope="module")
def ranks(tmp_path_factory) -> list[dict]:
    """Run the 2 ranks once; each writes its results to an .npz file."""
    tmp = tmp_path_factory.mktemp("ddp")
    env = dict(os.environ)
    env.setdefault("GLOO_SOCKET_IFNAME", "lo0" if sys.platform == "darwin" else "lo")
    env.setdefault("OMP_NUM_THREADS", "1")
    codes, text = _launch(tmp, env)
    if codes is not None and any(codes) and "address already in use" in text.lower():
        codes, text = _launch(tmp, env)  # the free port was taken meanwhile: once more
    if codes is None or any(codes):
        pytest.fail(f"distributed ranks failed or timed out (exit codes {codes}):\n{text}")
    return [dict(np.load(tmp / f"rank{r}.npz")) for r in range(WORLD)]


def _reference(name: str):
    """smp's loss of the concatenated batch on one process: value and gradients."""
    import torch

    from tests.support.oracles import smp_losses

    cls, kwargs, _ = CASES[name]
    x, y, weight, bias = _data(name)
    model = _model(weight, bias)
    logits = model(torch.from_numpy(x))
    logits.retain_grad()
    loss = getattr(smp_losses(), cls)(**kwargs)(logits, torch.from_numpy(y))
    loss.backward()
    return (loss.detach().numpy(), model.weight.grad.numpy(), model.bias.grad.numpy(),
            logits.grad.numpy())


@pytest.mark.parametrize("name", list(CASES))
def test_global_batch_loss_and_ddp_gradients(backend, ranks, name):
    loss, g_weight, g_bias, g_logits = _reference(name)
    for rank, res in enumerate(ranks):
        np.testing.assert_allclose(res[f"{name}/loss"], loss, rtol=1e-6, atol=1e-9)
        # DDP's average over ranks == the single-process gradient on the whole batch
        np.testing.assert_allclose(res[f"{name}/grad_weight"], g_weight, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(res[f"{name}/grad_bias"], g_bias, rtol=1e-6, atol=1e-9)
        # documented: a rank's logit gradient is world_size x the single-process one
        np.testing.assert_allclose(res[f"{name}/grad_logits"], WORLD * g_logits[SPLITS[rank]],
                                   rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", list(CASES))
def test_mean_of_rank_losses_is_not_the_batch_loss(backend, ranks, name):
    """Why sync exists: averaging per-rank losses is off when a class is rare."""
    loss = _reference(name)[0]
    per_rank_mean = np.mean([res[f"{name}/local_loss"] for res in ranks])
    assert abs(per_rank_mean - loss) > 1e-2


@pytest.mark.parametrize("name", list(MONAI_CASES))
def test_monai_losses_sync_the_global_batch(backend, ranks, name):
    """MONAI's loss of the concatenated batch on every rank; a rank's logits get world
    size x MONAI's gradient there (the hook's backward all-reduce, as for the core)."""
    import torch
    from monai import losses

    cls, kwargs = MONAI_CASES[name]
    x, y = _monai_data(name)
    logits = torch.from_numpy(x).requires_grad_(True)
    expected = getattr(losses, cls)(**kwargs)(logits, torch.from_numpy(y))
    (grad,) = torch.autograd.grad(expected.sum(), logits)
    for rank, res in enumerate(ranks):
        np.testing.assert_allclose(res[f"{name}/loss"], expected.detach().numpy(), rtol=1e-6,
                                   atol=1e-9)
        np.testing.assert_allclose(res[f"{name}/grad_logits"],
                                   WORLD * grad.numpy()[SPLITS[rank]], rtol=1e-6, atol=1e-9)


def test_mean_iou_syncs_confusion_matrix(backend, ranks):
    import sklearn.metrics as skm
    import torch
    from torchmetrics.functional import classification as TMF

    p, t, ml_p, ml_t = _labels(None)
    kw = {"num_classes": C, "ignore_index": 255}
    macro = TMF.multiclass_jaccard_index(torch.from_numpy(p), torch.from_numpy(t), **kw)
    none = TMF.multiclass_jaccard_index(torch.from_numpy(p), torch.from_numpy(t),
                                        average="none", **kw)
    ml = TMF.multilabel_jaccard_index(torch.from_numpy(ml_p).float(), torch.from_numpy(ml_t),
                                      num_labels=C, threshold=0.5 - 1e-9)  # anyiou uses >=
    keep = t != 255
    global_cm = skm.confusion_matrix(t[keep], p[keep], labels=range(C))
    for rank, res in enumerate(ranks):
        np.testing.assert_allclose(res["miou/macro"], macro.numpy(), rtol=1e-6)
        np.testing.assert_allclose(res["miou/none"], none.numpy(), rtol=1e-6)
        np.testing.assert_allclose(res["miou_multilabel/macro"], ml.numpy(), rtol=1e-6)
        np.testing.assert_array_equal(res["miou/global_confmat"], global_cm)
        # the local state is left as it was (compute() can be called again)
        lp, lt, _, _ = _labels(rank)
        lkeep = lt != 255
        np.testing.assert_array_equal(res["miou/local_confmat"],
                                      skm.confusion_matrix(lt[lkeep], lp[lkeep], labels=range(C)))


def test_torch_sync_needs_a_process_group(backend):
    import torch
    import torch.distributed as dist

    from anyiou.distributed import torch_sync

    if dist.is_available() and dist.is_initialized():
        pytest.skip("a process group is already initialized in this process")
    with pytest.raises(RuntimeError, match="init_process_group"):
        torch_sync()(torch.ones(3))
    with pytest.raises(TypeError, match="torch tensors"):
        torch_sync()(np.ones(3))


def test_mean_iou_sync_must_be_callable(backend):
    from anyiou.metrics import MeanIoU

    with pytest.raises(TypeError, match="sync"):
        MeanIoU(C, sync="all_reduce")


if __name__ == "__main__":
    _worker(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
