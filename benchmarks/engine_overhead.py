"""Engine overhead: training steps per second of one small MLP through deepzoo's engine, a plain
PyTorch loop over a DataLoader, the same loop on device-resident tensors, and a Lightning Trainer.

The model is the issue's MLP (64 → 128 → 10, ReLU), Adam lr 1e-3, batch 64, on digits (the 1437 images
of 8×8 = 64 features left after the test split; no validation split, so no contender evaluates).
Every contender trains the same number of epochs from the same initialisation; the figure is optimizer
steps per second of wall time spent in the epochs.

Run: ``python benchmarks/engine_overhead.py [--epochs 30] [--device cpu|cuda]`` (Lightning is a
benchmark-only dependency: ``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import tempfile
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from deepzoo import api
from deepzoo.data import load_dataset

BATCH = 64


def make_mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


def plain_dataloader_loop(x, y, epochs: int, device: str) -> float:
    """The tutorial's loop: DataLoader batches moved to the device, loss.item() every step."""
    model = make_mlp().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(x, y), batch_size=BATCH, shuffle=True)
    steps, start = 0, time.perf_counter()
    for _ in range(epochs):
        running = 0.0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            running += loss.item()
            steps += 1
    _sync(device)
    return steps / (time.perf_counter() - start)


def plain_resident_loop(x, y, epochs: int, device: str) -> float:
    """The same loop on tensors kept on the device, shuffled by index, no per-step sync."""
    model = make_mlp().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = x.to(device), y.to(device)
    steps, start = 0, time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(x), device=device)
        for i in range(0, len(x), BATCH):
            idx = order[i:i + BATCH]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
            steps += 1
    _sync(device)
    return steps / (time.perf_counter() - start)


def lightning_trainer(x, y, epochs: int, device: str) -> float | None:
    """A LightningModule with the same model, fit by ``lightning.Trainer`` (no logger/checkpoints/bar)."""
    try:
        import lightning as L
    except ImportError:
        return None

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = make_mlp()

        def training_step(self, batch, batch_idx):
            xb, yb = batch
            return F.cross_entropy(self.net(xb), yb)

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    loader = DataLoader(TensorDataset(x, y), batch_size=BATCH, shuffle=True)
    trainer = L.Trainer(max_epochs=epochs, accelerator="gpu" if device == "cuda" else "cpu", devices=1,
                        logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0)
    module = Module()
    start = time.perf_counter()
    trainer.fit(module, loader)
    _sync(device)
    return trainer.global_step / (time.perf_counter() - start)


def deepzoo_engine(epochs: int, device: str, compile: bool = False) -> float:
    """deepzoo's ``fit`` with the registered ``mlp`` (hidden 128), no early stopping, no artefacts.
    Each epoch's wall time is summed from metrics.csv (the final test evaluation is not counted)."""
    overrides = ["model.hidden=[128]", "data.valid_fraction=0", f"train.batch_size={BATCH}", "train.device=" + device,
                 "early_stop.enabled=false", "train.checkpoint=false", "train.plots=false",
                 "train.tensorboard=false", "train.progress=false", "train.log_every=1000000"]
    with tempfile.TemporaryDirectory() as tmp:
        run = api.train(model="mlp", data="digits", epochs=epochs, runs_dir=tmp, overrides=overrides,
                        compile=compile or None, echo=lambda *a: None)
        with open(os.path.join(run.dir, "metrics.csv")) as f:
            rows = list(csv.DictReader(f))
    seconds = sum(float(r["seconds"]) for r in rows)
    return int(rows[-1]["step"]) / seconds


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    bundle = load_dataset("digits", valid_fraction=0)  # the same training split the engine uses
    x, y = bundle.train.x.reshape(len(bundle.train), -1), bundle.train.y
    contenders = {
        "deepzoo engine": lambda: deepzoo_engine(args.epochs, args.device),
        "plain loop, DataLoader": lambda: plain_dataloader_loop(x, y, args.epochs, args.device),
        "plain loop, resident tensors": lambda: plain_resident_loop(x, y, args.epochs, args.device),
        "Lightning Trainer": lambda: lightning_trainer(x, y, args.epochs, args.device),
    }
    runs: dict[str, list] = {name: [] for name in contenders}
    for _ in range(args.repeats):  # rounds of every contender in turn, so a change in load hits them all
        for name, fn in contenders.items():
            runs[name].append(fn())
    results = {name: None if r[0] is None else sorted(r)[len(r) // 2] for name, r in runs.items()}
    machine = torch.cuda.get_device_name() if args.device == "cuda" else f"{platform.processor() or 'cpu'}, " \
        f"{torch.get_num_threads()} threads"
    print(f"MLP 64-128-10, batch {BATCH}, Adam, {args.epochs} epochs on digits; {args.device} ({machine}); "
          f"torch {torch.__version__}; median of {args.repeats} rounds, contenders in turn")
    base = results["plain loop, DataLoader"]
    print(f"{'contender':<30} {'steps/s':>9} {'vs DataLoader loop':>19}")
    for name, value in results.items():
        if value is None:
            print(f"{name:<30} {'n/a':>9}   (not installed)")
        else:
            print(f"{name:<30} {value:>9.0f} {value / base:>18.2f}x")
    if results["Lightning Trainer"]:
        print(f"deepzoo / Lightning: {results['deepzoo engine'] / results['Lightning Trainer']:.2f}x")


if __name__ == "__main__":
    main()
