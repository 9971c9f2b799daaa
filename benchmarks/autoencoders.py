"""Autoencoders on digits: test reconstruction MSE and training time of every variant, and the time the
vanilla ``ae`` needs to reach a fixed test MSE through deepzoo against a plain PyTorch loop.

Part 1 trains each registered variant (ae, sparse_ae, denoising_ae, contractive_ae, conv_ae, vae, aae)
with its paper defaults for ``--epochs`` epochs through ``api.train`` (task ``reconstruct``, the family's
default Adam lr 3e-3, batch 64, digits in [0, 1]) and reports the test MSE per pixel and the seconds
spent in the epochs.

Part 2 trains the same architecture (64 → 64 → 32 → 64 → 64, ReLU, sigmoid output, the same initial
weights, batch 64, the same 1437 training images: no validation split) until the test MSE per pixel is
at most ``--target``, measured after every epoch (outside the timed region):

- deepzoo: ``fit`` with the recipe's choices (Adam at the family's 3e-3, fused; BCE summed over pixels
  with logits; device-resident batches; losses read back only at log intervals);
- the tutorial loop: a DataLoader, Adam at 1e-3, ``nn.MSELoss()`` on the sigmoid output, ``loss.item()``
  every step, as the PyTorch autoencoder tutorials write it;
- the tutorial loop with deepzoo's loss, and with deepzoo's loss and learning rate: these rows separate
  what the defaults buy (fewer epochs) from what the loop buys (time per epoch).

Run: ``python benchmarks/autoencoders.py [--epochs 30] [--target 0.02] [--repeats 3] [--device cpu|cuda]``
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
from deepzoo.engine import fit
from deepzoo.engine.runtime import seed_everything
from deepzoo.recipes.autoencoder import ADAM_DEFAULTS

VARIANTS = ["ae", "sparse_ae", "denoising_ae", "contractive_ae", "conv_ae", "vae", "aae"]
BATCH = 64
QUIET = ["train.progress=false", "train.tensorboard=false", "train.plots=false", "train.checkpoint=false",
         "train.log_every=1000000"]


class TargetReached(Exception):
    """Raised by the epoch callback to end a deepzoo run once the target MSE is reached."""


# -- part 1: every variant ----------------------------------------------------------------------------
def train_variant(name: str, epochs: int, device: str) -> tuple[float, float]:
    """(test MSE per pixel, seconds in the epochs) of one variant after ``epochs`` epochs."""
    with tempfile.TemporaryDirectory() as tmp:
        run = api.train(model=name, data="digits", task="reconstruct", epochs=epochs, seed=0, runs_dir=tmp,
                        overrides=[*QUIET, "early_stop.enabled=false", f"train.device={device}"],
                        echo=lambda *a: None)
        with open(os.path.join(run.dir, "metrics.csv")) as f:
            seconds = sum(float(row["seconds"]) for row in csv.DictReader(f))
    return run.metrics["test/mse"], seconds


# -- part 2: time to a target MSE -----------------------------------------------------------------------
def deepzoo_time_to_target(target: float, max_epochs: int, device: str) -> tuple[int, float, float]:
    """(epochs, seconds, test MSE) when deepzoo's ``ae`` first reaches ``target``; seconds are the
    engine's per-epoch wall times (the test evaluation in the callback is not counted)."""
    cfg = api.build_config(model="ae", data="digits", task="reconstruct", epochs=max_epochs, seed=0,
                           overrides=[*QUIET, "data.valid_fraction=0", "early_stop.enabled=false",
                                      f"train.batch_size={BATCH}", f"train.device={device}"])
    seed_everything(cfg.seed)  # as api.train does: the model starts from the weights the plain loops copy
    recipe, bundle = api.build_recipe(cfg)
    seconds, reached = 0.0, None

    def check(epoch: int, row: dict[str, float]) -> None:
        nonlocal seconds, reached
        seconds += row["seconds"]
        recipe.model.eval()
        mse = float(recipe.reconstruction_errors(bundle.test.x).mean())
        recipe.model.train()
        if mse <= target:
            reached = (epoch, seconds, mse)
            raise TargetReached

    try:
        fit(recipe, cfg, None, echo=lambda *a: None, callbacks=[check])
    except TargetReached:
        return reached
    return max_epochs, float("nan"), float("nan")


def plain_autoencoder(device: str) -> nn.Sequential:
    """The ``ae`` architecture as a tutorial writes it, with deepzoo's initial weights (seed 0)."""
    torch.manual_seed(0)
    reference = api.create_model("ae", input_shape=(1, 8, 8), value_range=(0.0, 1.0))
    plain = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32),
                          nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64))
    for mine, theirs in zip([m for m in plain if isinstance(m, nn.Linear)],
                            [m for m in reference.modules() if isinstance(m, nn.Linear)]):
        mine.load_state_dict(theirs.state_dict())
    return plain.to(device)


def plain_time_to_target(x: torch.Tensor, x_test: torch.Tensor, target: float, max_epochs: int, device: str,
                         loss_name: str, lr: float = 1e-3) -> tuple[int, float, float]:
    """The tutorial loop: DataLoader batches moved to the device, Adam at ``lr``, ``loss.item()`` every step.

    ``loss_name`` ``mse``: ``nn.MSELoss()`` on the sigmoid output (the tutorials); ``bce``: BCE with
    logits summed over the pixels of an image and averaged over the batch (deepzoo's loss).
    """
    model = plain_autoencoder(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(x), batch_size=BATCH, shuffle=True, generator=torch.Generator().manual_seed(0))
    mse_loss = nn.MSELoss()
    seconds = 0.0
    for epoch in range(1, max_epochs + 1):
        start = time.perf_counter()
        running = 0.0
        for (xb,) in loader:
            xb = xb.to(device).flatten(1)
            logits = model(xb)
            if loss_name == "mse":
                loss = mse_loss(torch.sigmoid(logits), xb)
            else:
                loss = F.binary_cross_entropy_with_logits(logits, xb, reduction="none").sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            running += loss.item()
        _sync(device)
        seconds += time.perf_counter() - start
        with torch.no_grad():
            mse = float((torch.sigmoid(model(x_test.to(device).flatten(1))) - x_test.to(device).flatten(1))
                        .square().mean())
        if mse <= target:
            return epoch, seconds, mse
    return max_epochs, float("nan"), float("nan")


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30, help="epochs per variant in part 1")
    parser.add_argument("--target", type=float, default=0.02, help="test MSE per pixel to reach in part 2")
    parser.add_argument("--max-epochs", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3, help="runs per contender in part 2 (median)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    machine = torch.cuda.get_device_name() if args.device == "cuda" else \
        f"{platform.processor() or 'cpu'}, {torch.get_num_threads()} threads"
    print(f"digits 8×8 in [0, 1]; {args.device} ({machine}); torch {torch.__version__}; one run each\n")

    print(f"Part 1: every variant, {args.epochs} epochs, Adam {ADAM_DEFAULTS['optim.lr']:g}, batch {BATCH}")
    print(f"{'model':<16} {'test MSE':>9} {'seconds':>8}")
    for name in VARIANTS:
        mse, seconds = train_variant(name, args.epochs, args.device)
        print(f"{name:<16} {mse:>9.4f} {seconds:>8.2f}")

    bundle = load_dataset("digits", normalize="none", valid_fraction=0)
    x, x_test = bundle.train.x, bundle.test.x
    print(f"\nPart 2: ae to a test MSE of {args.target} ({len(x)} training images, at most {args.max_epochs} epochs, "
          f"median of {args.repeats})")
    lr = ADAM_DEFAULTS["optim.lr"]
    contenders = {
        "deepzoo (its defaults)": lambda: deepzoo_time_to_target(args.target, args.max_epochs, args.device),
        "plain loop, MSELoss, lr 1e-3 (tutorial)": lambda: plain_time_to_target(x, x_test, args.target,
                                                                                args.max_epochs, args.device, "mse"),
        "plain loop, deepzoo's BCE, lr 1e-3": lambda: plain_time_to_target(x, x_test, args.target, args.max_epochs,
                                                                           args.device, "bce"),
        f"plain loop, deepzoo's BCE, lr {lr:g}": lambda: plain_time_to_target(x, x_test, args.target, args.max_epochs,
                                                                              args.device, "bce", lr),
    }
    results = {}
    for name, fn in contenders.items():  # median time of --repeats runs (the machine may be shared)
        runs = sorted((fn() for _ in range(args.repeats)), key=lambda r: r[1])
        results[name] = runs[len(runs) // 2]
    base = results["plain loop, MSELoss, lr 1e-3 (tutorial)"][1]
    print(f"{'contender':<40} {'epochs':>6} {'seconds':>8} {'test MSE':>9} {'speed-up':>9}")
    for name, (epochs, seconds, mse) in results.items():
        if seconds != seconds:  # NaN: the target was not reached
            print(f"{name:<40} {'>' + str(epochs):>6}   (target not reached)")
        else:
            print(f"{name:<40} {epochs:>6} {seconds:>8.2f} {mse:>9.4f} {base / seconds:>8.2f}x")


if __name__ == "__main__":
    main()
