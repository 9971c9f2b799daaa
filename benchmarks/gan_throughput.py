"""DCGAN training throughput: deepzoo against a plain PyTorch loop written like pytorch/examples' dcgan,
and the time each takes to reach a fixed Fréchet classifier distance on digits.

**Images per second.** Both contenders train the same ``dcgan`` module (built by ``create_model`` from
the same seed) with one discriminator step and one generator step per batch of 128, Adam lr 2e-4,
β1 = 0.5, BCE on logits, on random crops of ``sample-images`` scaled to [−1, 1]: 64×64 on a GPU, 32×32
on the CPU. The plain loop is pytorch/examples' ``dcgan/main.py``: a DataLoader over host tensors,
``.to(device)`` per batch, the fake batch generated once and reused for the generator step, and
``.item()`` on D(x), D(G(z)) and both losses every step. deepzoo runs ``deepzoo train --model dcgan``
with the data resident on the device (and, on CUDA, channels_last and fused Adam). Both run in fp32
and — on CUDA — in bf16 autocast. The rate is images / wall time over the epochs after the first.

**Time to FCD.** On digits (8×8, the CPU), each contender trains until the validation FCD — from the
same judge classifier, trained once by deepzoo — falls below ``--target-fcd``; the time includes the
per-epoch evaluation (the same code in both).

Run: ``python benchmarks/gan_throughput.py [--device cpu|cuda] [--epochs 4] [--images 2560]``;
``--skip-fcd`` leaves out the second part.
"""

from __future__ import annotations

import argparse
import csv
import platform
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

from deepzoo import api
from deepzoo.data import load_dataset
from deepzoo.models import create_model

BATCH, LR, BETAS, LATENT = 128, 2e-4, (0.5, 0.999), 100
QUIET = ["train.checkpoint=false", "train.plots=false", "train.tensorboard=false", "train.progress=false",
         "train.log_every=1000000"]


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _autocast(device: str, precision: str):
    return torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=precision == "bf16")


def plain_epoch(netG, netD, loader, optG, optD, device: str, precision: str) -> None:
    """One epoch of pytorch/examples' dcgan loop (BCE on logits instead of its Sigmoid + BCELoss)."""
    criterion = torch.nn.BCEWithLogitsLoss()
    for (real,) in loader:
        real = real.to(device, non_blocking=True)
        b = real.size(0)
        label = torch.full((b,), 1.0, device=device)
        netD.zero_grad()
        with _autocast(device, precision):
            output = netD(real)
            errD_real = criterion(output.float(), label)
        errD_real.backward()
        D_x = output.float().mean().item()  # noqa: F841 - the example prints these every step
        noise = torch.randn(b, LATENT, device=device)
        with _autocast(device, precision):
            fake = netG(noise)
            label.fill_(0.0)
            output = netD(fake.detach())
            errD_fake = criterion(output.float(), label)
        errD_fake.backward()
        D_G_z1 = output.float().mean().item()  # noqa: F841
        errD = errD_real + errD_fake
        optD.step()
        netG.zero_grad()
        label.fill_(1.0)
        with _autocast(device, precision):
            output = netD(fake)
            errG = criterion(output.float(), label)
        errG.backward()
        D_G_z2 = output.float().mean().item()  # noqa: F841
        optG.step()
        errD.item(), errG.item()


def plain_setup(x: torch.Tensor, device: str, size: int):
    torch.manual_seed(0)
    pair = create_model("dcgan", image_size=size, channels=x.shape[1]).to(device)
    netG, netD = pair.generator, pair.discriminator
    optD = torch.optim.Adam(netD.parameters(), lr=LR, betas=BETAS)
    optG = torch.optim.Adam(netG.parameters(), lr=LR, betas=BETAS)
    loader = DataLoader(TensorDataset(x), batch_size=BATCH, shuffle=True, num_workers=2 if device != "cpu" else 0,
                        pin_memory=device != "cpu", persistent_workers=device != "cpu")
    return netG, netD, optG, optD, loader


def plain_images_per_second(x: torch.Tensor, device: str, size: int, epochs: int, precision: str) -> float:
    netG, netD, optG, optD, loader = plain_setup(x, device, size)
    plain_epoch(netG, netD, loader, optG, optD, device, precision)  # warm-up epoch
    _sync(device)
    start = time.perf_counter()
    for _ in range(epochs - 1):
        plain_epoch(netG, netD, loader, optG, optD, device, precision)
    _sync(device)
    return len(x) * (epochs - 1) / (time.perf_counter() - start)


def deepzoo_images_per_second(spec: str, device: str, epochs: int, precision: str) -> float:
    """``deepzoo train --model dcgan`` with no validation split and no judge; per-epoch wall times from
    metrics.csv, the first epoch left out as warm-up."""
    overrides = QUIET + [f"train.device={device}", f"train.precision={precision}", "data.valid_fraction=0",
                         "data.test_fraction=0", "task_args.classifier_run=none"]
    with tempfile.TemporaryDirectory() as tmp:
        run = api.train(model="dcgan", data=spec, task="gan", epochs=epochs, runs_dir=tmp, overrides=overrides,
                        echo=lambda *a, **k: None)
        rows = list(csv.DictReader((run.dir / "metrics.csv").open()))
        images = len(run.recipe.data.train)
    return images * (epochs - 1) / sum(float(r["seconds"]) for r in rows[1:])


# -- time to a fixed FCD on digits ----------------------------------------------------------------------

def train_judge(folder: Path) -> Path:
    """The judge: deepzoo's cnn on digits (same seed, so the same split as the GAN runs)."""
    api.train(model="cnn", data="digits", epochs=10, name="judge", runs_dir=str(folder), overrides=QUIET,
              echo=lambda *a, **k: None)
    return folder / "judge"


def deepzoo_time_to_fcd(judge: Path, target: float, epochs: int, folder: Path) -> tuple[float | None, float]:
    """Seconds until the validation FCD first falls to ``target`` (None if never), and the best FCD."""
    run = api.train(model="dcgan", data="digits", task="gan", epochs=epochs, runs_dir=str(folder), name="dz",
                    overrides=QUIET + ["train.device=cpu", f"task_args.classifier_run={judge}"],
                    echo=lambda *a, **k: None)
    rows = list(csv.DictReader((run.dir / "metrics.csv").open()))
    return _first_below([(float(r["seconds"]), float(r["valid/fcd"])) for r in rows], target)


def plain_time_to_fcd(judge_dir: Path, target: float, epochs: int) -> tuple[float | None, float]:
    """The plain loop on the digits training split, scored after every epoch like deepzoo's recipe."""
    device = "cpu"
    judge = api.load_judge(judge_dir, torch.device(device))
    data = load_dataset("digits", normalize="symmetric", seed=0)
    x, valid = data.train.x, data.valid.x
    reference = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(13))[:len(valid)]]
    eval_noise = torch.randn(len(valid), LATENT, generator=torch.Generator().manual_seed(12))
    netG, netD, optG, optD, loader = plain_setup(x, device, 8)
    history = []
    for _ in range(epochs):
        start = time.perf_counter()
        netG.train()
        netD.train()
        plain_epoch(netG, netD, loader, optG, optD, device, "fp32")
        netG.eval()
        with torch.no_grad():
            fake = netG(eval_noise)
        fcd = judge.scores((fake + 1) / 2, (valid + 1) / 2, (reference + 1) / 2)["fcd"]
        history.append((time.perf_counter() - start, fcd))
    return _first_below(history, target)


def _first_below(history: list[tuple[float, float]], target: float) -> tuple[float | None, float]:
    elapsed = 0.0
    for seconds, fcd in history:
        elapsed += seconds
        if fcd <= target:
            return elapsed, min(f for _, f in history)
    return None, min(f for _, f in history)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per throughput measurement (first = warm-up)")
    parser.add_argument("--images", type=int, default=2560, help="training crops of sample-images")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--target-fcd", type=float, default=10.0)
    parser.add_argument("--fcd-epochs", type=int, default=60)
    parser.add_argument("--skip-fcd", action="store_true")
    args = parser.parse_args()

    size = 64 if args.device.startswith("cuda") else 32
    spec = f"sample-images?crop={size}&count={args.images}"
    x = load_dataset(spec, normalize="symmetric", valid_fraction=0, test_fraction=0).train.x
    machine = torch.cuda.get_device_name() if args.device.startswith("cuda") else \
        f"{platform.processor() or 'cpu'}, {torch.get_num_threads()} threads"
    print(f"DCGAN {size}×{size}, batch {BATCH}, {len(x)} images, {args.epochs} epochs (first = warm-up); "
          f"{args.device} ({machine}); torch {torch.__version__}; median of {args.repeats}")
    print(f"{'precision':<10} {'deepzoo img/s':>14} {'plain loop img/s':>17} {'ratio':>7}")
    for precision in ("fp32", "bf16") if args.device.startswith("cuda") else ("fp32",):
        ours, theirs = [], []
        for _ in range(args.repeats):  # interleaved, so both see the same machine load
            ours.append(deepzoo_images_per_second(spec, args.device, args.epochs, precision))
            theirs.append(plain_images_per_second(x, args.device, size, args.epochs, precision))
        a, b = sorted(ours)[len(ours) // 2], sorted(theirs)[len(theirs) // 2]
        print(f"{precision:<10} {a:>14,.0f} {b:>17,.0f} {a / b:>6.2f}x")

    if args.skip_fcd:
        return
    with tempfile.TemporaryDirectory() as tmp:
        judge = train_judge(Path(tmp))
        ours = deepzoo_time_to_fcd(judge, args.target_fcd, args.fcd_epochs, Path(tmp))
        theirs = plain_time_to_fcd(judge, args.target_fcd, args.fcd_epochs)
    print(f"\ntime to validation FCD ≤ {args.target_fcd} on digits (8×8 DCGAN, CPU, evaluation every epoch included)")
    for name, (seconds, best) in (("deepzoo", ours), ("plain loop", theirs)):
        shown = f"{seconds:.1f} s" if seconds is not None else f"not reached in {args.fcd_epochs} epochs"
        print(f"{name:<12} {shown:>28}   best FCD {best:.3g}")


if __name__ == "__main__":
    main()
