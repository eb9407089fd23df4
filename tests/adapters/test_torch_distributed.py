"""``anyiou.torch`` modules with ``sync=torch_sync()`` over 2 gloo ranks on 127.0.0.1:
``MeanIoU.compute()`` equals torchmetrics on the concatenated data on every rank, and the
``JaccardLoss`` module gives smp's loss of the concatenated batch.

The ranks are this file run as a script (``python test_torch_distributed.py RANK PORT
OUT``) with a hard timeout, so a hung collective cannot hang the suite.
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
C = 4
SPLITS = (slice(0, 2), slice(2, 3))  # unequal local batches
TIMEOUT_S = 120

pytestmark = [pytest.mark.only_backends("torch"), pytest.mark.slow]  # spawns ranks


def _data():
    rng = np.random.default_rng(21)
    logits = rng.normal(size=(3, C, 6, 5))
    labels = rng.integers(0, 3, (3, 6, 5))
    labels[2, :2, :2] = 3  # class 3 on rank 1 only
    labels[0, 0, :3] = 255
    return logits, labels


def _worker(rank: int, port: int, out: str) -> None:
    import torch
    import torch.distributed as dist

    from anyiou.distributed import torch_sync
    from anyiou.torch import JaccardLoss, MeanIoU

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=WORLD, timeout=timedelta(seconds=60))
    try:
        logits, labels = _data()
        x = torch.from_numpy(logits[SPLITS[rank]])
        y = torch.from_numpy(labels[SPLITS[rank]])
        metric = MeanIoU(C, 255, sync=torch_sync())
        batch_value = metric(x, y)
        loss = JaccardLoss("multiclass", ignore_index=255, sync=torch_sync())(x, y)
        np.savez(out, miou=metric.compute().numpy(), per_class=metric.per_class().numpy(),
                 batch=batch_value.numpy(), loss=loss.numpy())
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory) -> list[dict]:
    tmp = tmp_path_factory.mktemp("ddp_modules")
    env = dict(os.environ)
    env.setdefault("GLOO_SOCKET_IFNAME", "lo0" if sys.platform == "darwin" else "lo")
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]),
                                         env.get("PYTHONPATH", "")])
    port = _free_port()
    procs = [subprocess.Popen([sys.executable, str(Path(__file__).resolve()), str(r), str(port),
                               str(tmp / f"rank{r}.npz")],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
             for r in range(WORLD)]
    logs = []
    try:
        for p in procs:
            logs.append(p.communicate(timeout=TIMEOUT_S)[0].decode(errors="replace")[-3000:])
    except subprocess.TimeoutExpired:
        logs.append("timed out")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    if any(p.returncode for p in procs) or len(logs) < WORLD:
        pytest.fail("distributed ranks failed:\n" + "\n".join(logs))
    return [dict(np.load(tmp / f"rank{r}.npz")) for r in range(WORLD)]


def test_mean_iou_module_syncs_counts(ranks):
    import torch
    from torchmetrics.classification import MulticlassJaccardIndex

    logits, labels = _data()
    ref = MulticlassJaccardIndex(num_classes=C, ignore_index=255)
    ref_none = MulticlassJaccardIndex(num_classes=C, ignore_index=255, average="none")
    expected = ref(torch.from_numpy(logits), torch.from_numpy(labels)).item()
    expected_none = ref_none(torch.from_numpy(logits), torch.from_numpy(labels)).numpy()
    for rank, res in enumerate(ranks):
        np.testing.assert_allclose(res["miou"], expected, rtol=1e-12)
        np.testing.assert_allclose(res["per_class"], expected_none, rtol=1e-12)
        # forward's batch value is the rank's own batch, not synchronised
        local = MulticlassJaccardIndex(num_classes=C, ignore_index=255)
        s = SPLITS[rank]
        local_value = local(torch.from_numpy(logits[s]), torch.from_numpy(labels[s])).item()
        np.testing.assert_allclose(res["batch"], local_value, rtol=1e-12)


def test_loss_module_is_the_global_batch_loss(ranks):
    import torch

    from tests.support.oracles import smp_losses

    logits, labels = _data()
    expected = smp_losses().JaccardLoss("multiclass", ignore_index=255)(
        torch.from_numpy(logits), torch.from_numpy(labels)).item()
    for res in ranks:
        np.testing.assert_allclose(res["loss"], expected, rtol=1e-12)


if __name__ == "__main__":
    _worker(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
