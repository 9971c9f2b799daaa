"""On-device batch augmentation against torchvision v2 per sample: images per second for the specs of
docs/augmentation.md, "Speed".

deepzoo's transforms (:func:`deepzoo.data.augment.build_augmentation`) augment a whole batch of 1024
images of 3×32×32 at once on ``--device`` (float32 and bfloat16), drawing from one seeded generator;
the baseline is what each DataLoader worker runs — the same spec as ``torchvision.transforms.v2``
(:func:`deepzoo.data.augment.torchvision_transform`) applied image by image on one CPU thread.
``mixup`` needs a batch, so it has no per-sample row. Each figure is the median of ``--repeats`` timed
calls after two warm-ups (CUDA synchronised around each call).

Run: ``python benchmarks/augmentation_throughput.py [--device cpu|cuda] [--repeats 20] [--samples 512]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

from deepzoo.data.augment import build_augmentation, torchvision_transform
from deepzoo.errors import ConfigError

SPECS = ["crop:padding=2,flip", "resized_crop,flip,color_jitter,grayscale", "crop,flip,cutout,mixup"]
BATCH, SHAPE = 1024, (3, 32, 32)


def median_seconds(fn, repeats: int, device: torch.device) -> float:
    """Median wall seconds of ``fn()`` over ``repeats`` calls after two warm-ups."""
    for _ in range(2):
        fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def batched_rate(spec: str, dtype: torch.dtype, device: torch.device, repeats: int) -> tuple[float, float]:
    """(ms per batch, images/s) of deepzoo's batched transforms on ``device`` in ``dtype``."""
    transform = build_augmentation(spec, num_classes=10, image_size=SHAPE[1:])
    generator = torch.Generator(device=device).manual_seed(0)
    x = torch.rand(BATCH, *SHAPE, device=device, dtype=dtype)
    y = torch.randint(0, 10, (BATCH,), device=device)
    seconds = median_seconds(lambda: transform(x, y, generator=generator), repeats, device)
    return 1000 * seconds, BATCH / seconds


def per_sample_rate(spec: str, samples: int, repeats: int) -> float | None:
    """Images/s of the torchvision v2 pipeline applied one image at a time on one CPU thread (None
    when the spec needs a batch)."""
    try:
        transform = torchvision_transform(spec, image_size=SHAPE[1:], num_classes=10)
    except ConfigError:
        return None
    images = torch.rand(samples, *SHAPE)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        seconds = median_seconds(lambda: [transform(image) for image in images], max(3, repeats // 5),
                                 torch.device("cpu"))
    finally:
        torch.set_num_threads(threads)
    return samples / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--samples", type=int, default=512, help="images per timed per-sample call")
    args = parser.parse_args()
    device = torch.device(args.device)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else \
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"batch {BATCH} of {'×'.join(map(str, SHAPE))} on {device} ({where}); torch {torch.__version__}; "
          f"load average {load:.2f}; medians of {args.repeats}")
    print("| spec | float32 | bfloat16 | torchvision v2, 1 CPU thread |\n| --- | --- | --- | --- |")
    for spec in SPECS:
        cells = []
        for dtype in (torch.float32, torch.bfloat16):
            ms, rate = batched_rate(spec, dtype, device, args.repeats)
            cells.append(f"{ms:.2f} ms/batch ({rate / 1e3:,.0f} k img/s)")
        baseline = per_sample_rate(spec, args.samples, args.repeats)
        cells.append("n/a (needs a batch)" if baseline is None else f"{baseline / 1e3:.1f} k img/s")
        print(f"| `{spec}` | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
