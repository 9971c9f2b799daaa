"""Autoencoders on digits: test reconstruction MSE and training time of every variant, the learning-rate
sweep behind the family's default, and the time the vanilla ``ae`` needs to reach a fixed test MSE
through deepzoo against a plain PyTorch loop at equal settings.

Part 1 trains each registered variant (ae, sparse_ae, denoising_ae, contractive_ae, conv_ae, vae, aae)
with its paper defaults for ``--epochs`` epochs through ``api.train`` (task ``reconstruct``, the family's
default Adam lr 3e-3 and 1e-3 for the aae, batch 64, digits in [0, 1]) and reports the test MSE per
pixel and the seconds spent in the epochs.

Part 2 is the learning-rate sweep: every variant for ``--sweep-epochs`` epochs at Adam 1e-3, 3e-3 and
1e-2, first on *other data* — 16×16 RGB crops of scikit-learn's two photos (``sample-images``) — then
on digits. The rule that picks the family's default is applied to the other data only: the largest
rate whose test MSE is within 5% of 1e-3's, or better, on every non-adversarial variant (the aae
keeps 1e-3; see ``ADAM_DEFAULTS``). The digits rows then show whether that choice carries over to the
benchmark's own data; only if it does may part 3's defaults row count.

Part 3 trains the same architecture (64 → 64 → 32 → 64 → 64, ReLU, sigmoid output, the same initial
weights, batch 64, the same 1437 training images: no validation split) until the test MSE per pixel is
at most ``--target``, measured after every epoch (outside the timed region), with the contenders in
turn in each of ``--repeats`` rounds:

- deepzoo: ``fit`` with the recipe's loss (BCE summed over pixels, with logits; fused Adam;
  device-resident batches; losses read back only at log intervals) at Adam 1e-3 and at 3e-3;
- the plain loop with the same loss at the same two rates (a DataLoader, ``torch.optim.Adam``,
  ``loss.item()`` every step): **deepzoo against it at the same rate is the headline**, the loop alone;
- the tutorial loop: Adam at 1e-3 and ``nn.MSELoss()`` on the sigmoid output, as the PyTorch
  autoencoder tutorials write it — the reference a user would otherwise run.

Run: ``python benchmarks/autoencoders.py [--epochs 30] [--sweep-epochs 15] [--target 0.02] [--repeats 5]
[--device cpu|cuda] [--skip-variants] [--skip-sweep]``
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
from deepzoo.recipes.autoencoder import ADAM_DEFAULTS
from deepzoo.runtime import seed_everything

VARIANTS = ["ae", "sparse_ae", "denoising_ae", "contractive_ae", "conv_ae", "vae", "aae"]
BATCH = 64
QUIET = ["train.progress=false", "train.tensorboard=false", "train.plots=false", "train.checkpoint=false",
         "train.log_every=1000000"]


class TargetReached(Exception):
    """Raised by the epoch callback to end a deepzoo run once the target MSE is reached."""


#: the other data of the sweep: 2048 random 16×16 RGB crops of the two photos (1638 for training)
OTHER_DATA = "sample-images?crop=16&count=2048"
SWEEP_RATES = (1e-3, 3e-3, 1e-2)


# -- part 1: every variant ----------------------------------------------------------------------------
def train_variant(name: str, epochs: int, device: str, data: str = "digits",
                  lr: float | None = None) -> tuple[float, float]:
    """(test MSE per pixel, seconds in the epochs) of one variant after ``epochs`` epochs (at the
    family's default learning rate unless ``lr`` is given)."""
    overrides = [*QUIET, "early_stop.enabled=false", f"train.device={device}"]
    overrides += [] if lr is None else [f"optim.lr={lr}"]
    with tempfile.TemporaryDirectory() as tmp:
        run = api.train(model=name, data=data, task="reconstruct", epochs=epochs, seed=0, runs_dir=tmp,
                        overrides=overrides, echo=lambda *a: None)
        with open(os.path.join(run.dir, "metrics.csv")) as f:
            seconds = sum(float(row["seconds"]) for row in csv.DictReader(f))
    return run.metrics["test/mse"], seconds


# -- part 2: the learning-rate sweep ---------------------------------------------------------------------
def sweep(data: str, epochs: int, device: str) -> dict[str, dict[float, float]]:
    """Test MSE per pixel of every variant at every rate of :data:`SWEEP_RATES` on ``data``."""
    return {name: {lr: train_variant(name, epochs, device, data, lr)[0] for lr in SWEEP_RATES} for name in VARIANTS}


#: a rate counts as no worse than 1e-3 within this relative margin of its test MSE
TOLERANCE = 0.05


def no_worse(table: dict[str, dict[float, float]], lr: float) -> bool:
    """Whether ``lr`` is within :data:`TOLERANCE` of 1e-3's test MSE, or better, on every variant but the aae."""
    return all(row[lr] <= (1 + TOLERANCE) * row[SWEEP_RATES[0]] for name, row in table.items() if name != "aae")


def chosen_rate(table: dict[str, dict[float, float]]) -> float:
    """The default rule: the largest rate no worse than 1e-3 (within 5%) on every non-adversarial variant."""
    return max(lr for lr in SWEEP_RATES if no_worse(table, lr))


def print_sweep(title: str, table: dict[str, dict[float, float]]) -> None:
    print(title)
    print(f"{'model':<16} " + " ".join(f"{lr:>8g}" for lr in SWEEP_RATES))
    for name, row in table.items():
        print(f"{name:<16} " + " ".join(f"{row[lr]:>8.4f}" for lr in SWEEP_RATES))


# -- part 3: time to a target MSE -----------------------------------------------------------------------
def deepzoo_time_to_target(target: float, max_epochs: int, device: str, lr: float) -> tuple[int, float, float]:
    """(epochs, seconds, test MSE) when deepzoo's ``ae`` at Adam ``lr`` first reaches ``target``; seconds
    are the engine's per-epoch wall times (the test evaluation in the callback is not counted)."""
    cfg = api.build_config(model="ae", data="digits", task="reconstruct", epochs=max_epochs, seed=0,
                           overrides=[*QUIET, "data.valid_fraction=0", "early_stop.enabled=false",
                                      f"train.batch_size={BATCH}", f"train.device={device}", f"optim.lr={lr}"])
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
    parser.add_argument("--sweep-epochs", type=int, default=15, help="epochs per variant and rate in part 2")
    parser.add_argument("--repeats", type=int, default=5, help="rounds of the contenders in part 3 (median)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--skip-variants", action="store_true", help="skip part 1")
    parser.add_argument("--skip-sweep", action="store_true", help="skip part 2")
    args = parser.parse_args()
    machine = torch.cuda.get_device_name() if args.device == "cuda" else \
        f"{platform.processor() or 'cpu'}, {torch.get_num_threads()} threads"
    print(f"{args.device} ({machine}); torch {torch.__version__}; seed 0\n")

    if not args.skip_variants:
        print(f"Part 1: every variant on digits, {args.epochs} epochs, the family's defaults (Adam "
              f"{ADAM_DEFAULTS['optim.lr']:g}; aae 0.001), batch {BATCH}")
        print(f"{'model':<16} {'test MSE':>9} {'seconds':>8}")
        for name in VARIANTS:
            mse, seconds = train_variant(name, args.epochs, args.device)
            print(f"{name:<16} {mse:>9.4f} {seconds:>8.2f}")
        print()

    if not args.skip_sweep:
        other = sweep(OTHER_DATA, args.sweep_epochs, args.device)
        print_sweep(f"Part 2: test MSE after {args.sweep_epochs} epochs on the other data ({OTHER_DATA})", other)
        rate = chosen_rate(other)
        print(f"the rule (largest rate within 5% of 1e-3 or better on every variant but aae) picks {rate:g} on the "
              f"other data; the family's default is {ADAM_DEFAULTS['optim.lr']:g} (aae: 0.001)")
        mine = sweep("digits", args.sweep_epochs, args.device)
        print_sweep(f"the same sweep on digits ({args.sweep_epochs} epochs)", mine)
        print(f"{rate:g} is within 5% of 1e-3 or better on every variant but aae on digits too: "
              f"{'yes' if no_worse(mine, rate) else 'no'}\n")

    bundle = load_dataset("digits", normalize="none", valid_fraction=0)
    x, x_test = bundle.train.x, bundle.test.x
    default = ADAM_DEFAULTS["optim.lr"]
    print(f"Part 3: ae to a test MSE of {args.target} ({len(x)} training images, at most {args.max_epochs} epochs, "
          f"median of {args.repeats} rounds, contenders in turn)")
    def deepzoo_at(lr: float):
        return lambda: deepzoo_time_to_target(args.target, args.max_epochs, args.device, lr)

    def plain_at(lr: float, loss: str = "bce"):
        return lambda: plain_time_to_target(x, x_test, args.target, args.max_epochs, args.device, loss, lr)

    pairs = {lr: (f"deepzoo, Adam {lr:g}", f"plain loop, the same BCE, Adam {lr:g}") for lr in (1e-3, default)}
    contenders = {name: fn for lr, (mine, theirs) in pairs.items() for name, fn in ((mine, deepzoo_at(lr)),
                                                                                     (theirs, plain_at(lr)))}
    contenders["tutorial loop, MSELoss, Adam 0.001"] = plain_at(1e-3, "mse")
    runs: dict[str, list] = {name: [] for name in contenders}
    for _ in range(args.repeats):  # every contender in turn each round, so a change in load hits them all
        for name, fn in contenders.items():
            runs[name].append(fn())
    results = {name: sorted(r, key=lambda t: t[1])[len(r) // 2] for name, r in runs.items()}
    tutorial = results["tutorial loop, MSELoss, Adam 0.001"][1]
    print(f"{'contender':<40} {'epochs':>6} {'seconds':>8} {'test MSE':>9} {'vs tutorial':>12}")
    for name, (epochs, seconds, mse) in results.items():
        if seconds != seconds:  # NaN: the target was not reached
            print(f"{name:<40} {'>' + str(epochs):>6}   (target not reached)")
        else:
            print(f"{name:<40} {epochs:>6} {seconds:>8.2f} {mse:>9.4f} {tutorial / seconds:>11.2f}x")
    for lr, (mine, theirs) in pairs.items():
        ratios = sorted(b[1] / a[1] for a, b in zip(runs[mine], runs[theirs]))
        print(f"equal settings (BCE, Adam {lr:g}): deepzoo {ratios[len(ratios) // 2]:.2f}x the plain loop "
              f"(per round {', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
