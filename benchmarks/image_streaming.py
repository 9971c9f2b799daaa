"""Streaming photo folders: images per second through deepzoo's streaming path against torchvision's
``ImageFolder``, the JPEG decoders, and the peak memory of a 1-epoch run from small and large folders.

**Folder.** ``--images`` JPEGs at ImageNet's typical 500×375 (quality 90) written into a temporary
``imagefolder:`` layout: scenes of :mod:`deepzoo.data.shapes` (a crop of a real photo with a shape on
it), so the files compress like photos.

**Throughput.** Each contender decodes, random-resized-crops to 224, flips, normalises and batches one
epoch of the folder through a DataLoader with the same ``--workers`` and ``--batch``:

* deepzoo: ``imagefolder:DIR?size=224&stream=true&mean=…&std=…`` (ImageNet's mean and std, as a
  pretrained weight passes them), its training split through :func:`deepzoo.data.batching.make_loader`
  — ``decode_jpeg``, uint8 crops in the workers, the batch normalised where it lands;
* torchvision: ``datasets.ImageFolder`` with the ImageNet example's transforms (RandomResizedCrop(224),
  RandomHorizontalFlip, ToTensor, Normalize) through a ``DataLoader`` with persistent workers.

Both loaders are built once (workers start in an untimed warm-up epoch); then the contenders alternate
for ``--rounds`` epochs each and the median images/s is reported. The decoders are timed on the same
files (median ms per file, one thread): Pillow's full decode, ``torchvision.io.decode_jpeg``, and
:func:`deepzoo.data.image_decode.read_header` (the up-front check of every file).

**Memory.** ``deepzoo train --model cnn --epochs 1`` at ``size=64`` (evaluation batches of 256, full
ones from every folder) in a subprocess, streaming from a folder of each of ``--memory-images`` (hard
links into one generated folder), and in memory from the smallest, each ``--memory-repeats`` times
(median): the peak over the run of the summed proportional set size (PSS: shared pages divided among
the processes that map them, so forked workers are not counted twice) of the process and its workers,
sampled every 50 ms from /proc by psutil, with the summed RSS beside it.

Run: ``python benchmarks/image_streaming.py [--images 800] [--rounds 5] [--workers 2] [--batch 64]
[--memory-images 2000,8000] [--memory-repeats 3] [--device cuda]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import torch

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CLASSES = ("circle", "square", "star", "triangle")
PHOTO_SIZE = (500, 375)  # width, height: ImageNet's typical photo
#: evaluation batch of the memory runs: the same full batches from every folder (the default 1024 would
#: be one partial batch of a small folder's 400 validation images, whose activations are smaller)
EVAL_BATCH = 256


def write_folder(root: Path, count: int, seed: int = 0) -> Path:
    """``count`` 500×375 JPEG scenes (quality 90), spread over four class subfolders."""
    from deepzoo.data.shapes import render_scene

    rng = np.random.default_rng(seed)
    for i in range(count):
        kind = CLASSES[i % len(CLASSES)]
        (root / kind).mkdir(parents=True, exist_ok=True)
        image, _ = render_scene(kind, rng, PHOTO_SIZE)
        image.save(root / kind / f"{i:05d}.jpg", quality=90)
    return root


def linked_subset(source: Path, target: Path, count: int) -> Path:
    """The first ``count`` files of ``source`` (by name) hard-linked into ``target``, same layout."""
    files = sorted(source.rglob("*.jpg"), key=lambda p: p.name)[:count]
    for file in files:
        (target / file.parent.name).mkdir(parents=True, exist_ok=True)
        os.link(file, target / file.parent.name / file.name)
    return target


# -- decoders -------------------------------------------------------------------------------------------
def decoder_times(files: list[Path]) -> dict[str, float]:
    """Median ms per file of each decoder (and of the header check), one thread, files in the page cache."""
    import warnings

    from PIL import Image
    from torchvision.io import decode_jpeg

    from deepzoo.data.image_decode import read_header

    def pillow(path):
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))

    def torchvision(path):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return decode_jpeg(torch.frombuffer(bytearray(path.read_bytes()), dtype=torch.uint8))

    out = {}
    contenders = (("Pillow decode", pillow), ("torchvision decode_jpeg", torchvision), ("header check", read_header))
    for name, fn in contenders:
        times = []
        for path in files:
            start = time.perf_counter()
            fn(path)
            times.append(time.perf_counter() - start)
        out[name] = 1000 * statistics.median(times)
    return out


# -- throughput -----------------------------------------------------------------------------------------
def deepzoo_loader(root: Path, batch: int, workers: int, device: torch.device):
    """deepzoo's streaming training split of the folder, through its loader (batches land on ``device``,
    normalised there)."""
    from deepzoo.data import load_dataset
    from deepzoo.data.batching import make_loader

    fixed = f"mean={','.join(map(str, IMAGENET_MEAN))}&std={','.join(map(str, IMAGENET_STD))}"
    bundle = load_dataset(f"imagefolder:{root}?size=224&stream=true&{fixed}", valid_fraction=0, test_fraction=0)
    return make_loader(bundle.train, batch, device, shuffle=True, num_workers=workers)


def torchvision_loader(root: Path, batch: int, workers: int, device: torch.device):
    """torchvision's ImageFolder with the ImageNet example's training transforms (pinned memory for a
    GPU, as the example sets it)."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    transform = transforms.Compose([transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip(),
                                    transforms.ToTensor(), transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    return DataLoader(datasets.ImageFolder(str(root), transform), batch_size=batch, shuffle=True,
                      num_workers=workers, persistent_workers=workers > 0, pin_memory=device.type == "cuda")


def epoch_rate(loader, device: torch.device) -> float:
    """Images per second of one epoch: every batch read and on ``device`` as float32 (N, 3, 224, 224)."""
    start, count = time.perf_counter(), 0
    for x, _ in loader:
        x = x.to(device, non_blocking=True)
        assert x.dtype == torch.float32 and x.shape[1:] == (3, 224, 224)
        count += len(x)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return count / (time.perf_counter() - start)


def throughput(root: Path, batch: int, workers: int, rounds: int, device: torch.device) -> dict[str, list[float]]:
    """Images/s per epoch of each contender, alternating, after one untimed warm-up epoch each."""
    loaders = {"deepzoo streaming": deepzoo_loader(root, batch, workers, device),
               "torchvision ImageFolder": torchvision_loader(root, batch, workers, device)}
    for loader in loaders.values():
        epoch_rate(loader, device)
    rates: dict[str, list[float]] = {name: [] for name in loaders}
    for _ in range(rounds):
        for name, loader in loaders.items():
            rates[name].append(epoch_rate(loader, device))
    return rates


# -- memory ---------------------------------------------------------------------------------------------
def peak_memory(command: list[str]) -> tuple[float, float, float]:
    """Run ``command``; return (peak summed PSS MiB, peak summed RSS MiB, seconds) over it and its
    children, sampled every 50 ms."""
    peak_pss = peak_rss = 0.0
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root = psutil.Process(process.pid)
    done = threading.Event()
    threading.Thread(target=lambda: (process.wait(), done.set()), daemon=True).start()
    while not done.is_set():
        pss = rss = 0
        for p in [root, *root.children(recursive=True)]:
            try:
                info = p.memory_full_info()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            pss, rss = pss + info.pss, rss + info.rss
        peak_pss, peak_rss = max(peak_pss, pss / 2**20), max(peak_rss, rss / 2**20)
        done.wait(0.05)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode()[-2000:]}")
    return peak_pss, peak_rss, time.perf_counter() - start


def train_command(root: Path, stream: bool, runs: Path, workers: int) -> list[str]:
    """A quiet 1-epoch ``cnn`` run at size=64 on the folder."""
    spec = f"imagefolder:{root}?size=64" + ("&stream=true" if stream else "")
    sets = ["train.progress=false", "train.plots=false", "train.tensorboard=false", f"data.num_workers={workers}",
            f"train.eval_batch_size={EVAL_BATCH}"]
    return [sys.executable, "-m", "deepzoo", "train", "--model", "cnn", "--data", spec, "--epochs", "1",
            "--runs-dir", str(runs), "--name", f"{root.name}-{'stream' if stream else 'memory'}",
            *[a for s in sets for a in ("--set", s)]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=800, help="JPEGs in the throughput folder")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--memory-images", default="2000,8000", help="folder sizes of the memory runs ('' skips)")
    parser.add_argument("--memory-repeats", type=int, default=3, help="runs of each memory configuration")
    parser.add_argument("--device", default="cpu", help="where the batches go (cuda on a GPU machine)")
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"# {platform.node()} · {os.cpu_count()} CPUs · torch {torch.__version__} · load average "
          f"{os.getloadavg()[0]:.2f} · {time.strftime('%Y-%m-%d %H:%M')}")
    with tempfile.TemporaryDirectory(prefix="deepzoo-streaming-") as tmp:
        tmp = Path(tmp)
        sizes = [int(n) for n in args.memory_images.split(",") if n]
        start = time.perf_counter()
        photos = write_folder(tmp / "photos", max([args.images, *sizes]))
        print(f"wrote {max([args.images, *sizes])} JPEGs of 500×375 in {time.perf_counter() - start:.0f} s")
        folder = linked_subset(photos, tmp / f"photos-{args.images}", args.images)
        files = sorted(folder.rglob("*.jpg"))[:200]
        print("\n| decoder (one thread, 500×375 JPEG) | median ms per file |\n|---|---:|")
        for name, ms in decoder_times(files).items():
            print(f"| {name} | {ms:.3f} |")
        rates = throughput(folder, args.batch, args.workers, args.rounds, device)
        base = statistics.median(rates["torchvision ImageFolder"])
        print(f"\n| contender ({args.images} images, batch {args.batch}, {args.workers} workers, to {device}) "
              f"| images/s (median of {args.rounds}) | per round | vs torchvision |\n|---|---:|---|---:|")
        for name, values in rates.items():
            median = statistics.median(values)
            print(f"| {name} | {median:.0f} | {', '.join(f'{v:.0f}' for v in values)} | {median / base:.2f}× |")
        if sizes:
            from deepzoo.data.image_files import file_array, scan_headers

            listing = file_array(sorted(photos.rglob("*.jpg")))
            start = time.perf_counter()
            scan_headers(listing, skip_bad=False)
            print(f"\nheader check of all {len(listing)} files (the page cache warm): "
                  f"{time.perf_counter() - start:.2f} s")
            print(f"\n| 1-epoch `deepzoo train --model cnn`, size=64, {args.workers} workers | images | peak PSS MiB "
                  f"(median of {args.memory_repeats}) | per run | peak RSS MiB (summed) | seconds |\n"
                  "|---|---:|---:|---|---:|---:|")
            for count, stream in [*((n, True) for n in sizes), (sizes[0], False)]:
                subset = linked_subset(photos, tmp / f"memory-{count}-{stream}", count)
                runs = [peak_memory(train_command(subset, stream, tmp / f"runs{i}", args.workers))
                        for i in range(args.memory_repeats)]
                pss, rss, seconds = (statistics.median(values) for values in zip(*runs))
                print(f"| {'streaming' if stream else 'in memory'} | {count} | {pss:.0f} | "
                      f"{', '.join(f'{r[0]:.0f}' for r in runs)} | {rss:.0f} | {seconds:.0f} |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
