"""Engine overhead: training steps per second of one small MLP through deepzoo's engine, a plain
PyTorch loop over a DataLoader, the same loop on device-resident tensors, and a Lightning Trainer.

The model is the issue's MLP (64 → 128 → 10, ReLU), Adam lr 1e-3, batch 64, on digits (the 1437 images
of 8×8 = 64 features left after the test split; no validation split, so no contender evaluates).
Every contender trains the same number of epochs from the same initialisation, and every contender
is timed between the same markers: the end of each epoch's work (for deepzoo, the epoch callback,
after its bookkeeping; for Lightning, ``on_train_epoch_end``; for the plain loops, after the epoch's
last step). The headline is steady-state optimizer steps per second from the end of epoch 1 to the
end of the last epoch; each contender's set-up (call start → end of epoch 1, less one steady epoch)
and its wind-down (end of the last epoch → return: for deepzoo the final evaluation, summary and
weights export) are reported beside it, separately.

Run: ``python benchmarks/engine_overhead.py [--epochs 30] [--device cpu|cuda]`` (Lightning is a
benchmark-only dependency: ``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import csv
import math
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


class Marks:
    """Wall-clock marks of one contender's call: its start, the end of every epoch, and its return."""

    def __init__(self, device: str):
        self.device = device
        self.start = time.perf_counter()
        self.epochs: list[float] = []
        self.end = math.nan

    def epoch_end(self) -> None:
        _sync(self.device)
        self.epochs.append(time.perf_counter())

    def finish(self) -> Marks:
        self.end = time.perf_counter()
        return self

    def result(self, steps_per_epoch: int) -> dict[str, float]:
        """Steady steps/s over epochs 2..N, set-up (start → end of epoch 1 less one steady epoch) and
        wind-down (end of the last epoch → return), in seconds."""
        steady = (self.epochs[-1] - self.epochs[0]) / (len(self.epochs) - 1)
        return {"steps/s": steps_per_epoch / steady, "setup": self.epochs[0] - self.start - steady,
                "wind-down": self.end - self.epochs[-1]}


def plain_dataloader_loop(x, y, epochs: int, device: str) -> dict[str, float]:
    """The tutorial's loop: DataLoader batches moved to the device, loss.item() every step."""
    marks = Marks(device)
    model = make_mlp().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(x, y), batch_size=BATCH, shuffle=True)
    for _ in range(epochs):
        running = 0.0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            running += loss.item()
        marks.epoch_end()
    return marks.finish().result(len(loader))


def plain_resident_loop(x, y, epochs: int, device: str) -> dict[str, float]:
    """The same loop on tensors kept on the device, shuffled by index, no per-step sync."""
    marks = Marks(device)
    model = make_mlp().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = x.to(device), y.to(device)
    for _ in range(epochs):
        order = torch.randperm(len(x), device=device)
        for i in range(0, len(x), BATCH):
            idx = order[i:i + BATCH]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
        marks.epoch_end()
    return marks.finish().result(math.ceil(len(x) / BATCH))


def lightning_trainer(x, y, epochs: int, device: str) -> dict[str, float] | None:
    """A LightningModule with the same model, fit by ``lightning.Trainer`` (no logger/checkpoints/bar);
    the marks come from a callback's ``on_train_epoch_end``."""
    try:
        import lightning as L
    except ImportError:
        return None
    marks = Marks(device)

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = make_mlp()

        def training_step(self, batch, batch_idx):
            xb, yb = batch
            return F.cross_entropy(self.net(xb), yb)

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    class EpochMarks(L.Callback):
        def on_train_epoch_end(self, trainer, module):
            marks.epoch_end()

    loader = DataLoader(TensorDataset(x, y), batch_size=BATCH, shuffle=True)
    trainer = L.Trainer(max_epochs=epochs, accelerator="gpu" if device == "cuda" else "cpu", devices=1,
                        logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0, callbacks=[EpochMarks()])
    trainer.fit(Module(), loader)
    return marks.finish().result(len(loader))


def deepzoo_engine(epochs: int, device: str, compile: bool = False) -> dict[str, float]:
    """deepzoo's ``api.train`` with the registered ``mlp`` (hidden 128), no early stopping and no
    artefacts; the marks come from its epoch callback (called after the epoch's bookkeeping)."""
    overrides = ["model.hidden=[128]", "data.valid_fraction=0", f"train.batch_size={BATCH}", "train.device=" + device,
                 "early_stop.enabled=false", "train.checkpoint=false", "train.plots=false",
                 "train.tensorboard=false", "train.progress=false", "train.log_every=1000000"]
    with tempfile.TemporaryDirectory() as tmp:
        marks = Marks(device)
        run = api.train(model="mlp", data="digits", epochs=epochs, runs_dir=tmp, overrides=overrides,
                        compile=compile or None, echo=lambda *a: None,
                        callbacks=[lambda epoch, row: marks.epoch_end()])
        marks.finish()
        with open(os.path.join(run.dir, "metrics.csv")) as f:
            steps_per_epoch = int(next(csv.DictReader(f))["step"])
    return marks.result(steps_per_epoch)


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

    def median(name: str, key: str) -> float | None:
        values = sorted(r[key] for r in runs[name] if r is not None)
        return values[len(values) // 2] if values else None

    machine = torch.cuda.get_device_name() if args.device == "cuda" else f"{platform.processor() or 'cpu'}, " \
        f"{torch.get_num_threads()} threads"
    print(f"MLP 64-128-10, batch {BATCH}, Adam, {args.epochs} epochs on digits; {args.device} ({machine}); "
          f"torch {torch.__version__}; median of {args.repeats} rounds, contenders in turn; steady state = "
          f"end of epoch 1 to end of epoch {args.epochs}")
    base = median("plain loop, DataLoader", "steps/s")
    print(f"{'contender':<30} {'steps/s':>9} {'vs DataLoader loop':>19} {'set-up s':>9} {'wind-down s':>12}")
    for name in contenders:
        rate = median(name, "steps/s")
        if rate is None:
            print(f"{name:<30} {'n/a':>9}   (not installed)")
        else:
            print(f"{name:<30} {rate:>9.0f} {rate / base:>18.2f}x {median(name, 'setup'):>9.3f} "
                  f"{median(name, 'wind-down'):>12.3f}")
    if median("Lightning Trainer", "steps/s"):
        ratios = sorted(a["steps/s"] / b["steps/s"] for a, b in zip(runs["deepzoo engine"], runs["Lightning Trainer"]))
        overall = median("deepzoo engine", "steps/s") / median("Lightning Trainer", "steps/s")
        print(f"deepzoo / Lightning, steady state: {overall:.2f}x (per round {', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
