"""Many devices for every family: two DDP processes (gloo, CPU, through ``torchrun``) with batch B each
reach the weights of one process with batch 2B — for a GAN (each player in its own
DistributedDataParallel, the generator step reusing the discriminator step's fakes), the adversarial
autoencoder (three players, the encoder shared by two of them) and SimCLR (NT-Xent over the global
batch, its negatives gathered from both processes with their gradients).

None of the models has batch norm or dropout, so the comparison is exact up to float rounding: batch
norm's statistics are per process unless it is SyncBatchNorm, and dropout masks come from each
process's own RNG. Noise (the GAN's z, the AAE's prior codes) is drawn for the global batch and sliced
(:func:`deepzoo.runtime.rank_share`), so the two processes together draw what the one process draws.
SimCLR's views are made deterministic (``flip`` with p = 0) for the same reason: its augmentations
draw per-process random numbers.

This file is also the worker that ``torchrun`` starts (``python -m torch.distributed.run ... THIS_FILE
OUT``): each process trains the three runs into ``OUT/runs`` and saves its NT-Xent loss and gradients
for fixed projections in ``OUT``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import QUIET

pytestmark = pytest.mark.slow

BATCH = 16  # per process; the single process reads 2 × BATCH
#: name → (model, data, task, epochs, overrides): training splits divisible by 2 × BATCH (ring?count=500:
#: 320 points; moons: 640) or a dropped short last batch (SimCLR), so every step is a full global batch
RUNS = {
    "gan": ("gan", "ring?count=500", None, 2,
            ["task_args.classifier_run=none", "task_args.fresh_noise=false", "model.hidden=[32]"]),
    "aae": ("aae", "moons", None, 2, ["model.hidden=[32]", "model.disc_hidden=[16]"]),
    "simclr": ("mlp", "digits", "simclr", 1,
               ["data.augment=flip:p=0", "model.hidden=[32]", "task_args.projection_dim=8", "task_args.evaluate=false",
                "task_args.finetune=false", "task_args.supervised=false"]),
}
#: float rounding of a mean of two per-process means against one mean, through a few Adam steps
TOLERANCE = 1e-6


def train_all(runs_dir: Path, batch_size: int) -> None:
    """Train every run of :data:`RUNS` into ``runs_dir`` with ``batch_size`` per process."""
    from deepzoo import api

    for name, (model, data, task, epochs, overrides) in RUNS.items():
        api.train(model, data, task, epochs=epochs, seed=0, name=name, runs_dir=str(runs_dir), echo=lambda *a: None,
                  overrides=[*QUIET, "early_stop.enabled=false", *overrides, f"train.batch_size={batch_size}"])


def projections() -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed (2·BATCH, 8) projections of two views: the combined batch; process r holds rows r·BATCH…"""
    generator = torch.Generator().manual_seed(5)
    return torch.randn(2 * BATCH, 8, generator=generator), torch.randn(2 * BATCH, 8, generator=generator)


def worker(out: Path) -> None:
    """One torchrun process: the three runs, then NT-Xent with global negatives on its half of
    :func:`projections` (its loss and the gradients of its rows saved as ``ntxent_RANK.pt``)."""
    from deepzoo.runtime import init_distributed
    from deepzoo.ssl.losses import nt_xent_loss, positive_pair_accuracy

    rank = init_distributed().rank
    train_all(out / "runs", BATCH)
    z1, z2 = (z[rank * BATCH:(rank + 1) * BATCH].clone().requires_grad_() for z in projections())
    loss = nt_xent_loss(z1, z2, 0.5, across_processes=True)
    loss.backward()
    accuracy = positive_pair_accuracy(z1.detach(), z2.detach(), across_processes=True)
    torch.save({"loss": loss.detach(), "accuracy": accuracy, "grad1": z1.grad, "grad2": z2.grad},
               out / f"ntxent_{rank}.pt")


def weights(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def logged_losses(folder: Path) -> list[float]:
    """``train/loss`` of every epoch in a run's ``metrics.csv`` (the mean over the processes under DDP)."""
    import csv

    with open(folder / "metrics.csv") as f:
        return [float(row["train/loss"]) for row in csv.DictReader(f) if row.get("train/loss")]


def test_two_processes_match_one_process_with_the_combined_batch(tmp_path):
    """One torchrun launch (its start-up is most of the time) for every check: the weights of the GAN,
    the AAE and SimCLR, SimCLR's logged loss, and NT-Xent's loss and gradients across processes."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parents[1])}
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                          __file__, str(tmp_path)], env=env, capture_output=True, text=True, timeout=300)
    assert ddp.returncode == 0, (ddp.stdout + ddp.stderr)[-3000:]
    train_all(tmp_path / "one", 2 * BATCH)
    train_all(tmp_path / "half", BATCH)  # one process with one process's batch: what DDP must not give

    for name in RUNS:
        two, one, half = (weights(tmp_path / d / name) for d in ("runs", "one", "half"))
        assert two.keys() == one.keys()
        for key in one:
            torch.testing.assert_close(two[key], one[key], atol=TOLERANCE, rtol=0, msg=f"{name}: {key}")
        # the comparison can fail: training with half the batch lands far outside the tolerance
        assert max(float((half[k] - one[k]).abs().max()) for k in one) > 100 * TOLERANCE, name

    # SimCLR's logged loss (the mean over the processes) is the loss over the combined batch
    two, one = logged_losses(tmp_path / "runs" / "simclr"), logged_losses(tmp_path / "one" / "simclr")
    assert len(two) == len(one) == 1 and two == pytest.approx(one, abs=TOLERANCE)
    check_nt_xent([torch.load(tmp_path / f"ntxent_{r}.pt") for r in (0, 1)])


def check_nt_xent(ranks: list[dict[str, torch.Tensor]]) -> None:
    """Each process's NT-Xent covers its own views against the global batch: the mean over the
    processes is the single process's loss over the combined batch, and each process's gradient is
    W = 2 times the single process's gradient of its rows (the gathered rows' gradients are summed over
    the processes; DDP then divides by W). Not the loss a process computes alone (half the negatives)."""
    from deepzoo.ssl.losses import nt_xent_loss, positive_pair_accuracy

    z1, z2 = (z.clone().requires_grad_() for z in projections())
    loss = nt_xent_loss(z1, z2, 0.5)
    loss.backward()
    torch.testing.assert_close((ranks[0]["loss"] + ranks[1]["loss"]) / 2, loss.detach(), atol=1e-6, rtol=0)
    for r, result in enumerate(ranks):
        rows = slice(r * BATCH, (r + 1) * BATCH)
        torch.testing.assert_close(result["grad1"] / 2, z1.grad[rows], atol=1e-7, rtol=0)
        torch.testing.assert_close(result["grad2"] / 2, z2.grad[rows], atol=1e-7, rtol=0)
    accuracy = positive_pair_accuracy(z1.detach(), z2.detach())
    assert float((ranks[0]["accuracy"] + ranks[1]["accuracy"]) / 2) == pytest.approx(float(accuracy))
    alone = nt_xent_loss(z1.detach()[:BATCH], z2.detach()[:BATCH], 0.5)
    assert abs(float(alone) - float(ranks[0]["loss"])) > 1e-3


if __name__ == "__main__":
    worker(Path(sys.argv[1]))
