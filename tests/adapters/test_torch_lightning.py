"""``anyiou.torch.MeanIoU`` and ``BoundaryIoU`` logged by a Lightning module with
``self.log(name, metric, on_epoch=True)``: the epoch value equals torchmetrics'
``MulticlassJaccardIndex`` (and the reference Boundary IoU recipe) on all the data, in
one process and under ``Trainer(accelerator="cpu", devices=2, strategy="ddp")`` on 2 gloo
processes, with torchmetrics' own reduction and with ``sync=torch_sync()``.

The DDP ranks are this file run as a script (``python test_torch_lightning.py RANK PORT
OUT``) with Lightning's environment variables set, so Lightning joins them instead of
launching processes; a hard timeout keeps a hung collective from hanging the suite.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

C = 4
N = 8  # images; each DDP rank gets every other one (DistributedSampler, no shuffle)
BATCH = 2
WORLD = 2
TIMEOUT_S = 240

pytestmark = pytest.mark.only_backends("torch")


def _data(seed: int = 0):
    """N blocky label maps and predictions (N, 9, 10); class 3 and void only in images 1
    and 3 (rank 1's), so one rank's score differs from the score of all the data."""
    rng = np.random.default_rng(seed)
    t = np.repeat(np.repeat(rng.integers(0, 3, (N, 3, 5)), 3, axis=1), 2, axis=2)
    t[1, :3, :4] = 3
    t[3, 3:6, 2:6] = 3
    p = np.where(rng.random(t.shape) < 0.8, np.roll(t, 1, axis=2), rng.integers(0, C, t.shape))
    t[3, 0, :] = 255
    return p, t


def _module_and_data(sync: bool):
    import lightning as L
    import torch
    from torch.utils.data import DataLoader, TensorDataset
    from torchmetrics.classification import MulticlassJaccardIndex

    from anyiou.distributed import torch_sync
    from anyiou.torch import BoundaryIoU, MeanIoU

    class Segmenter(L.LightningModule):
        """The batches carry (preds, target); one parameter is trained on a dummy loss."""

        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))
            self.train_miou = MeanIoU(C, 255)
            self.val_miou = MeanIoU(C, 255)
            self.val_miou_hook = MeanIoU(C, 255, sync=torch_sync() if sync else None)
            self.val_biou = BoundaryIoU(C, 255, dilation=1)
            self.val_tm = MulticlassJaccardIndex(num_classes=C, ignore_index=255)

        def training_step(self, batch, batch_idx):
            preds, target = batch
            self.train_miou(preds, target)
            self.log("train/miou", self.train_miou, on_step=False, on_epoch=True)
            return (self.w - 1).pow(2).sum()

        def validation_step(self, batch, batch_idx):
            preds, target = batch
            for name in ("val_miou", "val_miou_hook", "val_biou", "val_tm"):
                metric = getattr(self, name)
                metric(preds, target)
                self.log(f"val/{name.removeprefix('val_')}", metric, on_epoch=True)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    p, t = _data()
    data = TensorDataset(torch.from_numpy(p), torch.from_numpy(t))
    loader = DataLoader(data, batch_size=BATCH, shuffle=False)
    return Segmenter(), loader


def _fit(devices: int, sync: bool) -> dict[str, float]:
    import lightning as L

    model, loader = _module_and_data(sync)
    trainer = L.Trainer(
        accelerator="cpu", devices=devices, strategy="ddp" if devices > 1 else "auto",
        max_epochs=1, num_sanity_val_steps=0, enable_progress_bar=False, logger=False,
        enable_checkpointing=False, enable_model_summary=False,
    )
    trainer.fit(model, loader, loader)
    return {k: float(v) for k, v in trainer.callback_metrics.items()}


def _oracle(items) -> dict[str, float]:
    import torch
    from torchmetrics.functional.classification import multiclass_jaccard_index

    from tests.support.boundary_oracles import boundary_iou_oracle

    p, t = (a[items] for a in _data())
    miou = multiclass_jaccard_index(torch.from_numpy(p), torch.from_numpy(t), C, ignore_index=255)
    one_hot = lambda x: np.stack([x == k for k in range(C)], axis=1)  # noqa: E731
    counted = np.broadcast_to((t != 255)[:, None], one_hot(t).shape)
    biou = boundary_iou_oracle(one_hot(t), one_hot(p), 1, counted=counted, average="macro")
    return {"miou": float(miou), "biou": float(biou)}


def _check(results: dict[str, float], expected: dict[str, float]) -> None:
    for name in ("train/miou", "val/miou", "val/miou_hook", "val/tm"):
        np.testing.assert_allclose(results[name], expected["miou"], rtol=1e-6, err_msg=name)
    np.testing.assert_allclose(results["val/biou"], expected["biou"], rtol=1e-6)


def test_logged_epoch_value_in_one_process():
    pytest.importorskip("lightning")
    _check(_fit(devices=1, sync=False), _oracle(slice(None)))


# -- DDP: 2 gloo processes ------------------------------------------------------------


def _worker(rank: int, port: int, out: str, sync: bool) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(WORLD),
                      NODE_RANK="0", LOCAL_RANK=str(rank), RANK=str(rank))
    results = _fit(devices=WORLD, sync=sync)
    np.savez(out, **{k.replace("/", "__"): v for k, v in results.items()})


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module", params=[False, True], ids=["torchmetrics_sync", "sync_hook"])
def ddp_ranks(request, tmp_path_factory) -> list[dict]:
    pytest.importorskip("lightning")
    tmp = tmp_path_factory.mktemp("lightning_ddp")
    env = dict(os.environ)
    env.setdefault("GLOO_SOCKET_IFNAME", "lo0" if sys.platform == "darwin" else "lo")
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]),
                                         env.get("PYTHONPATH", "")])
    port = _free_port()
    procs = [subprocess.Popen([sys.executable, str(Path(__file__).resolve()), str(r), str(port),
                               str(tmp / f"rank{r}.npz"), str(int(request.param))],
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
        pytest.fail("Lightning DDP ranks failed:\n" + "\n".join(logs))
    return [{k.replace("__", "/"): float(v) for k, v in np.load(tmp / f"rank{r}.npz").items()}
            for r in range(WORLD)]


@pytest.mark.slow
def test_logged_epoch_value_under_lightning_ddp(ddp_ranks):
    expected = _oracle(slice(None))
    for rank, results in enumerate(ddp_ranks):
        _check(results, expected)
        # teeth: a rank's own images score differently from all the data
        local = _oracle(slice(rank, None, WORLD))
        assert abs(local["miou"] - expected["miou"]) > 1e-3
        assert abs(local["biou"] - expected["biou"]) > 1e-3


if __name__ == "__main__":
    _worker(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], bool(int(sys.argv[4])))
