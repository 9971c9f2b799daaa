"""Attribution maps per second: deepzoo's batched path against Captum called image by image, as its
tutorials do, in one run, the contenders alternating, the maps checked equal.

Both contenders explain the same images (random 224×224 inputs) with ``resnet18`` (random weights: the
speed does not depend on them) for the predicted class, in eval mode.

- **Grad-CAM.** The tutorial way: ``LayerGradCam(model, model.layer4).attribute(image, target,
  relu_attributions=True)`` then ``LayerAttribution.interpolate`` to 224×224, one image per call, the
  model's parameters requiring gradients as a trained model's do. deepzoo:
  :func:`deepzoo.attribution.explain` on a batch of images (``--batch``), the parameters frozen for the
  call, so the layers below the hooked stage run without recording an autograd graph.
- **Integrated Gradients, 50 steps.** The tutorial way: ``IntegratedGradients(model).attribute(image,
  baselines=black, target, n_steps=50)`` per image (its 50 interpolation points in one pass). deepzoo:
  ``explain(..., "integrated-gradients")`` on a batch, Captum's internal batching cutting the batch's
  ``images × 50`` points into passes of 64 (the default of ``explain``).

Each round runs both contenders once per method, the order alternating between rounds; the table gives
the median round's maps per second and the largest difference between the two contenders' maps
(relative to the largest map value).

Run: ``python benchmarks/attribution.py [--device cpu|cuda] [--gradcam-images 32] [--ig-images 8]
[--rounds 3] [--threads N]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from functools import partial

import torch

from deepzoo.attribution import explain
from deepzoo.models import create_model

STEPS = 50


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def captum_per_image(model, images: torch.Tensor, targets: torch.Tensor, method: str) -> torch.Tensor:
    """Captum's tutorial calls, one image at a time, maps as deepzoo reduces them ((H, W) per image)."""
    from captum.attr import IntegratedGradients, LayerAttribution, LayerGradCam

    maps = []
    for image, target in zip(images, targets.tolist()):
        image = image[None]
        if method == "gradcam":
            cam = LayerGradCam(model, model.layer4).attribute(image, target=target, relu_attributions=True)
            maps.append(LayerAttribution.interpolate(cam, image.shape[-2:], interpolate_mode="bilinear")[0, 0])
        else:
            baseline = torch.zeros_like(image)
            attributions = IntegratedGradients(model).attribute(image, baselines=baseline, target=target,
                                                                n_steps=STEPS)
            maps.append(attributions[0].sum(dim=0))
    return torch.stack(maps).detach()


def deepzoo_batched(model, images: torch.Tensor, targets: torch.Tensor, method: str, batch: int) -> torch.Tensor:
    """deepzoo's path: :func:`explain` on ``batch`` images per call."""
    return torch.cat([explain(model, images[i:i + batch], method, targets[i:i + batch], n_steps=STEPS).maps
                      for i in range(0, len(images), batch)])


def timed(fn, device: str) -> tuple[float, torch.Tensor]:
    _sync(device)
    start = time.perf_counter()
    maps = fn()
    _sync(device)
    return time.perf_counter() - start, maps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--gradcam-images", type=int, default=32)
    parser.add_argument("--ig-images", type=int, default=8)
    parser.add_argument("--batch", type=int, default=16, help="deepzoo's images per call")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = create_model("resnet18", num_classes=1000).to(args.device).eval()
    counts = {"gradcam": args.gradcam_images, "integrated-gradients": args.ig_images}
    rates: dict[tuple[str, str], list[float]] = {}
    gaps: dict[str, float] = {}
    for round_ in range(args.rounds):
        for method, count in counts.items():
            images = torch.randn(count, 3, 224, 224, device=args.device)
            with torch.no_grad():
                targets = model(images).argmax(dim=1)
            contenders = {
                "captum, image by image": partial(captum_per_image, model, images, targets, method),
                "deepzoo, batched": partial(deepzoo_batched, model, images, targets, method, args.batch),
            }
            order = list(contenders) if round_ % 2 == 0 else list(contenders)[::-1]
            maps = {}
            for name in order:
                seconds, maps[name] = timed(contenders[name], args.device)
                rates.setdefault((method, name), []).append(count / seconds)
            reference, ours = maps["captum, image by image"], maps["deepzoo, batched"]
            gap = float((reference - ours).abs().max() / reference.abs().max())
            gaps[method] = max(gaps.get(method, 0.0), gap)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# resnet18 224×224, {args.device} ({platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads, load average {load:.1f}), torch {torch.__version__}, "
          f"median of {args.rounds} rounds")
    print("| method | images | captum, image by image (maps/s) | deepzoo, batched (maps/s) | speed-up | "
          "largest map difference |")
    print("|---|---:|---:|---:|---:|---:|")
    for method, count in counts.items():
        slow = statistics.median(rates[(method, "captum, image by image")])
        fast = statistics.median(rates[(method, "deepzoo, batched")])
        print(f"| {method} | {count} | {slow:.3g} | {fast:.3g} | {fast / slow:.2f}× | {gaps[method]:.1e} |")


if __name__ == "__main__":
    main()
