"""Image-to-image training throughput: pix2pix and U-Net segmentation through deepzoo against plain PyTorch
loops written as the official pix2pix code trains, in one run, the contenders alternating.

**pix2pix.** Both contenders train the same ``pix2pix`` module (``create_model`` from the same seed) on
the same pairs of ``shapes-pairs`` (mask → scene), at the paper's batch size 1 with its losses (cGAN on
the PatchGAN's logits + 100·L1, D's loss halved) and Adam 2e-4, β1 0.5. The plain loop is the official
``Pix2PixModel``'s: a DataLoader over host tensors, ``set_input`` (``.to(device)``), ``forward``
(fake_B = G(real_A)), ``optimize_parameters``: D unfrozen, ``backward_D`` on (A, fake_B) detached and (A,
B), D's step, D frozen, ``backward_G`` through D plus the L1 term, G's step — no ``.item()`` per step (the
official code reads the losses at its print interval). deepzoo runs ``deepzoo train --model pix2pix``
with the data on the device. Neither jitters the pairs (the official code jitters in its DataLoader
workers, deepzoo on the device: a different cost on each side, left out of both). 64×64 on the CPU,
256×256 (the paper's ``unet_256``) on a GPU, in fp32, and on CUDA also in bf16 autocast (deepzoo's
default there, with channels_last; the plain loop under ``torch.autocast``).

**U-Net segmentation.** deepzoo's ``unet`` (padded, batch norm) on the embedded ``shapes`` (4 classes)
through ``deepzoo train --model unet`` against a plain loop of the same network: a DataLoader, forward,
per-pixel cross-entropy, backward, Adam step.

The rate is training images / wall time over the epochs after the first (deepzoo's from the per-epoch
times in ``metrics.csv``, which hold no evaluation here: there is no validation split). Each round runs
every contender once, the order alternating between rounds; the table gives the median round.

Run: ``python benchmarks/image_to_image.py [--device cpu|cuda] [--rounds 2] [--epochs 3] [--threads N]``;
``--skip-unet`` leaves the segmentation rows out.
"""

from __future__ import annotations

import argparse
import csv
import platform
import statistics
import tempfile
import time
from functools import partial

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from deepzoo import api
from deepzoo.data import load_dataset
from deepzoo.models import create_model

LR, BETAS, L1_WEIGHT = 2e-4, (0.5, 0.999), 100.0
QUIET = ["train.checkpoint=false", "train.plots=false", "train.tensorboard=false", "train.progress=false",
         "train.log_every=1000000", "data.valid_fraction=0", "data.test_fraction=0"]


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _autocast(device: str, precision: str):
    return torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=precision == "bf16")


def _loader(tensors: tuple[torch.Tensor, ...], batch: int, device: str) -> DataLoader:
    """The official code's loader over host tensors (workers and pinned memory on a GPU)."""
    return DataLoader(TensorDataset(*tensors), batch_size=batch, shuffle=True, num_workers=2 if device != "cpu" else 0,
                      pin_memory=device != "cpu", persistent_workers=device != "cpu")


def _timed(epoch, epochs: int, images: int, device: str) -> float:
    """Images per second over ``epochs`` − 1 calls of ``epoch`` after a warm-up call."""
    epoch()
    _sync(device)
    start = time.perf_counter()
    for _ in range(epochs - 1):
        epoch()
    _sync(device)
    return images * (epochs - 1) / (time.perf_counter() - start)


def deepzoo_rate(model: str, spec: str, epochs: int, overrides: list[str]) -> float:
    """``deepzoo train`` and its per-epoch times (``metrics.csv``), the first epoch left out."""
    with tempfile.TemporaryDirectory() as tmp:
        run = api.train(model=model, data=spec, epochs=epochs, runs_dir=tmp, overrides=QUIET + overrides,
                        echo=lambda *a, **k: None)
        rows = list(csv.DictReader((run.dir / "metrics.csv").open()))
        images = len(run.recipe.data.train)
    return images * (epochs - 1) / sum(float(r["seconds"]) for r in rows[1:])


def alternating(rounds: int, measure_zoo, measure_plain) -> tuple[list[float], list[float]]:
    """Each contender's rate once per round, deepzoo first in even rounds and the plain loop first in odd."""
    zoo: list[float] = []
    plain: list[float] = []
    order = [(zoo, measure_zoo), (plain, measure_plain)]
    for r in range(rounds):
        for results, measure in order if r % 2 == 0 else order[::-1]:
            results.append(measure())
    return zoo, plain


def compare(args, what: str, model: str, spec: str, overrides: list[str], plain_rate,
            precisions: list[str]) -> list[tuple[str, str, list[float], list[float]]]:
    """One row per precision: deepzoo training ``model`` on ``spec`` against ``plain_rate(precision)``."""
    rows = []
    for precision in precisions:
        zoo, plain = alternating(args.rounds, partial(deepzoo_rate, model, spec, args.epochs,
                                                      overrides + [f"train.precision={precision}"]),
                                 partial(plain_rate, precision))
        rows.append((what, precision, zoo, plain))
    return rows


# -- pix2pix ----------------------------------------------------------------------------------------------------

def plain_pix2pix_rate(a: torch.Tensor, b: torch.Tensor, args, precision: str) -> float:
    """The official ``Pix2PixModel`` training loop (vanilla GAN loss: BCE on logits)."""
    device = args.device
    torch.manual_seed(0)
    pair = create_model("pix2pix", image_size=args.size, in_channels=a.shape[1], out_channels=b.shape[1],
                        width=args.width, d_width=args.width).to(device)
    if device != "cpu" and precision == "bf16":
        pair.to(memory_format=torch.channels_last)
    net_g, net_d = pair.generator, pair.discriminator
    optimizer_g = torch.optim.Adam(net_g.parameters(), lr=LR, betas=BETAS)
    optimizer_d = torch.optim.Adam(net_d.parameters(), lr=LR, betas=BETAS)
    gan_loss = torch.nn.BCEWithLogitsLoss()
    loader = _loader((a, b), args.batch, device)

    def set_requires_grad(net: torch.nn.Module, flag: bool) -> None:
        for p in net.parameters():
            p.requires_grad = flag

    def epoch() -> None:
        for real_a, real_b in loader:
            real_a, real_b = real_a.to(device, non_blocking=True), real_b.to(device, non_blocking=True)  # set_input
            with _autocast(device, precision):
                fake_b = net_g(real_a)  # forward
            set_requires_grad(net_d, True)
            optimizer_d.zero_grad()
            with _autocast(device, precision):  # backward_D
                pred_fake = net_d(torch.cat((real_a, fake_b), 1).detach()).float()
                pred_real = net_d(torch.cat((real_a, real_b), 1)).float()
                loss_d = (gan_loss(pred_fake, torch.zeros_like(pred_fake))
                          + gan_loss(pred_real, torch.ones_like(pred_real))) * 0.5
            loss_d.backward()
            optimizer_d.step()
            set_requires_grad(net_d, False)
            optimizer_g.zero_grad()
            with _autocast(device, precision):  # backward_G
                pred_fake = net_d(torch.cat((real_a, fake_b), 1)).float()
                loss_g = gan_loss(pred_fake, torch.ones_like(pred_fake)) + F.l1_loss(fake_b.float(), real_b) * L1_WEIGHT
            loss_g.backward()
            optimizer_g.step()

    return _timed(epoch, args.epochs, len(a), device)


def pix2pix_rows(args, precisions: list[str]) -> list[tuple[str, str, list[float], list[float]]]:
    spec = f"shapes-pairs?size={args.size}&count={args.images}"
    data = load_dataset(spec, valid_fraction=0, test_fraction=0)
    overrides = [f"train.device={args.device}", f"model.width={args.width}", f"model.d_width={args.width}",
                 f"train.batch_size={args.batch}", "task_args.jitter=false"]
    return compare(args, f"pix2pix {args.size}×{args.size}, batch {args.batch}", "pix2pix", spec, overrides,
                   partial(plain_pix2pix_rate, data.train.x, data.train.y, args), precisions)


# -- U-Net segmentation ------------------------------------------------------------------------------------------

def plain_unet_rate(x: torch.Tensor, y: torch.Tensor, classes: int, args, precision: str) -> float:
    """A plain loop of the same U-Net: forward, per-pixel cross-entropy, backward, Adam step."""
    device = args.device
    torch.manual_seed(0)
    model = create_model("unet", num_classes=classes, in_chans=x.shape[1], depth=args.unet_depth,
                         base_width=args.unet_width).to(device)
    if device != "cpu" and precision == "bf16":
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = _loader((x, y), args.unet_batch, device)

    def epoch() -> None:
        for images, masks in loader:
            images, masks = images.to(device, non_blocking=True), masks.to(device, non_blocking=True).long()
            with _autocast(device, precision):
                loss = F.cross_entropy(model(images).float(), masks)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    return _timed(epoch, args.epochs, len(x), device)


def unet_rows(args, precisions: list[str]) -> list[tuple[str, str, list[float], list[float]]]:
    spec = f"shapes?size={args.size}&count={args.unet_images}"
    data = load_dataset(spec, valid_fraction=0, test_fraction=0)
    overrides = [f"train.device={args.device}", f"model.depth={args.unet_depth}", f"model.base_width={args.unet_width}",
                 f"train.batch_size={args.unet_batch}", "optim.lr=1e-3", "early_stop.enabled=false",
                 "early_stop.monitor=train/loss"]
    what = f"U-Net depth {args.unet_depth} width {args.unet_width}, {args.size}×{args.size}, batch {args.unet_batch}"
    return compare(args, what, "unet", spec, overrides,
                   partial(plain_unet_rate, data.train.x, data.train.y, data.meta.num_classes, args), precisions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--size", type=int, help="image side (default 256 on a GPU, 64 on the CPU)")
    parser.add_argument("--images", type=int, help="training pairs per epoch (default 400 on a GPU, 48 on the CPU)")
    parser.add_argument("--batch", type=int, default=1, help="pix2pix batch size (the paper's 1)")
    parser.add_argument("--width", type=int, default=64, help="U-Net and PatchGAN base width (the paper's 64)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per measurement, the first a warm-up")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--skip-unet", action="store_true")
    parser.add_argument("--unet-images", type=int, help="segmentation images (default 512 on a GPU, 96 on the CPU)")
    parser.add_argument("--unet-batch", type=int, default=16)
    parser.add_argument("--unet-depth", type=int, default=4)
    parser.add_argument("--unet-width", type=int, default=32)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    gpu = args.device.startswith("cuda")
    args.size = args.size or (256 if gpu else 64)
    args.images = args.images or (400 if gpu else 48)
    args.unet_images = args.unet_images or (512 if gpu else 96)
    name = torch.cuda.get_device_name() if gpu else f"{platform.processor() or platform.machine()} CPU"
    print(f"image_to_image: {name}, torch {torch.__version__}, {torch.get_num_threads()} thread(s)", flush=True)
    precisions = ["fp32", "bf16"] if gpu else ["fp32"]
    rows = pix2pix_rows(args, precisions)
    if not args.skip_unet:
        rows += unet_rows(args, precisions)
    print("| training | precision | deepzoo img/s | plain loop img/s | ratio |")
    print("|---|---|---|---|---|")
    for what, precision, zoo, plain in rows:
        z, p = statistics.median(zoo), statistics.median(plain)
        print(f"| {what} | {precision} | {z:,.1f} | {p:,.1f} | {z / p:.2f}× |  rounds: deepzoo "
              f"{', '.join(f'{v:.1f}' for v in zoo)}; plain {', '.join(f'{v:.1f}' for v in plain)}", flush=True)


if __name__ == "__main__":
    main()
