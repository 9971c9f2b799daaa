"""Zoo throughput: training images per second of the issue-4 models through deepzoo's engine versus a
plain PyTorch loop, on a GPU (all in one run) and — for resnet20 at 32×32 — on the CPU.

**GPU part** (``--device cuda``). For each model at the issue's input size and batch (resnet50 at
224×224 batch 256, vit_b_16 128, mobilenet_v1 256, vgg16 128, resnet20 at 32×32 batch 512):

- *plain fp32*: torchvision's model (deepzoo's own where torchvision has none: mobilenet_v1,
  resnet20) in a plain loop — fp32, eager, ``torch.optim.SGD`` with its default implementation;
- *plain bf16+CL*: the same loop with bf16 autocast, channels_last (convnets), cudnn.benchmark and the
  fused SGD kernel — what a careful user writes;
- *plain bf16+CL compiled*: that loop around ``torch.compile(model)``;
- *timm compiled* (vit_b_16 only): timm's ``vit_base_patch16_224`` in the compiled bf16 loop (timm is
  a benchmark-only dependency, imported lazily; the row is skipped with a message if it is missing);
- *deepzoo*: ``fit`` of the registered model with the engine's default GPU settings (bf16 autocast,
  channels_last for convnets, fused optimizer, cudnn.benchmark, device-resident batches);
- *deepzoo --compile*: the same with ``train.compile=true`` (CUDA graphs through "reduce-overhead").

Every contender trains on the same synthetic batches (random N(0, 1) images and random labels held
on the device, ``STEPS_PER_EPOCH`` batches per epoch, reshuffled by index every epoch), SGD with
momentum 0.9, lr 0.01, cross-entropy. The first epoch is warm-up (cudnn autotuning, compilation, CUDA
graph capture) and is not counted; the rate is images over the wall time of the following epochs,
timed between ``torch.cuda.synchronize()`` calls for the plain loops and from the engine's per-epoch
``seconds`` for deepzoo (both include one loss read-back per epoch).

Targets (issue 4): deepzoo ≥ 1.0× plain bf16+CL and ≥ 2× plain fp32; deepzoo --compile ≥ 1.0× the
compiled loop; for vit_b_16, deepzoo --compile ≥ 1.05× timm compiled.

**CPU part** (always run): resnet20 on 32×32 images, deepzoo's engine with its CPU defaults (fp32)
versus the same model in the plain fp32 loop, ``torch.set_num_threads(--threads)``; the two alternate
for ``--cpu-repeats`` rounds and the verdict is the median of the per-round ratios. Target ≥ 1.0×.

Run: ``python benchmarks/zoo_throughput.py --device cuda`` (GPU and CPU parts),
``python benchmarks/zoo_throughput.py --device cpu`` (CPU part only). ``--smoke`` runs the whole GPU
table on whatever device is given with tiny batches (2), 96×96 inputs and 2 steps per epoch, to prove
the code paths work (its numbers mean nothing); ``--models`` picks rows, ``--no-compile`` drops the
compiled contenders and ``--compiled-only`` keeps only them; each contender is printed as soon as it
is measured. A full GPU run compiles three or four models per row (about a minute each for the
224×224 ones); where a call has a time limit, run the rows in separate calls with ``--models``.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from deepzoo import api
from deepzoo.data.bundle import DataBundle, DatasetMeta, TensorSplit
from deepzoo.engine import fit
from deepzoo.models import accepted_kwargs, create_model
from deepzoo.runtime import seed_everything

# name: (input size, GPU batch, torchvision constructor or None, timm model or None, classes)
MODELS: dict[str, tuple[int, int, str | None, str | None, int]] = {
    "resnet50": (224, 256, "resnet50", None, 1000),
    "vit_b_16": (224, 128, "vit_b_16", "vit_base_patch16_224", 1000),
    "mobilenet_v1": (224, 256, None, None, 1000),
    "vgg16": (224, 128, "vgg16", None, 1000),
    "resnet20": (32, 512, None, None, 10),
}
STEPS_PER_EPOCH = 10
LR, MOMENTUM = 0.01, 0.9
QUIET = ["train.checkpoint=false", "train.plots=false", "train.tensorboard=false", "train.progress=false"]


# -- data and models -------------------------------------------------------------------------------
def synthetic(n: int, size: int, classes: int, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, size, size, generator=g)
    y = torch.randint(0, classes, (n,), generator=g)
    return x.to(device), y.to(device)


def reference_model(name: str, size: int, classes: int) -> nn.Module:
    """torchvision's model of that name, or deepzoo's own where torchvision has none."""
    torch.manual_seed(0)
    tv_name = MODELS[name][2]
    if tv_name is None:
        return create_model(name, **accepted_kwargs(name, {"num_classes": classes, "input_size": size}))
    import torchvision

    kwargs = {"image_size": size} if tv_name.startswith("vit") else {}
    return getattr(torchvision.models, tv_name)(weights=None, num_classes=classes, **kwargs)


def timm_model(name: str, size: int, classes: int) -> nn.Module | None:
    try:
        import timm
    except ImportError:
        return None
    torch.manual_seed(0)
    return timm.create_model(name, pretrained=False, num_classes=classes, img_size=size)


def is_convnet(model: nn.Module) -> bool:
    """True for convolutional networks: channels_last pays off for them; a ViT (whose one convolution
    is the patch embedding) keeps the default layout in the plain loops."""
    return not any(isinstance(m, nn.MultiheadAttention) or "attention" in type(m).__name__.lower()
                   for m in model.modules())


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


# -- the plain loop --------------------------------------------------------------------------------
def plain_loop(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int, epochs: int, device: str,
               bf16: bool, channels_last: bool, compile: bool) -> float:
    """Images/s of a plain training loop over device-resident data, after one warm-up epoch.

    One loss read-back per epoch (as deepzoo does); ``bf16`` adds autocast, cudnn.benchmark and the
    fused SGD kernel; ``channels_last`` converts the model once and each batch as it is cut."""
    cuda = device.startswith("cuda")
    torch.backends.cudnn.benchmark = bf16 and cuda  # the fp32 loop is the tutorial's: defaults
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, fused=True if bf16 and cuda else None)
    net = torch.compile(model) if compile else model
    model.train()
    g = torch.Generator(device=x.device).manual_seed(0)
    steps = len(x) // batch
    timed_start = None
    for epoch in range(epochs):
        if epoch == 1:
            _sync(device)
            timed_start = time.perf_counter()
        order = torch.randperm(len(x), device=x.device, generator=g)
        running = torch.zeros((), device=x.device)
        for i in range(steps):
            idx = order[i * batch:(i + 1) * batch]
            xb, yb = x[idx], y[idx]
            if channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
                loss = F.cross_entropy(net(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            running += loss.detach()
        float(running)  # one host sync per epoch
    _sync(device)
    return (epochs - 1) * steps * batch / (time.perf_counter() - timed_start)


# -- deepzoo's engine ------------------------------------------------------------------------------
def deepzoo_engine(name: str, x: torch.Tensor, y: torch.Tensor, classes: int, batch: int, epochs: int,
                   device: str, compile: bool) -> float:
    """Images/s of ``fit`` with the engine's defaults on ``device``, from the per-epoch ``seconds`` of
    every epoch after the first; no run folder is written."""
    empty = TensorSplit(x[:0], y[:0])
    meta = DatasetMeta("synthetic", "multiclass", tuple(x.shape[1:]), num_classes=classes,
                       class_names=[str(c) for c in range(classes)])
    bundle = DataBundle(TensorSplit(x, y), empty, empty, meta)
    cfg = api.build_config(model=name, data="synthetic", epochs=epochs, compile=compile or None, overrides=QUIET + [
        "optim.name=sgd", f"optim.lr={LR}", f"optim.momentum={MOMENTUM}", f"train.batch_size={batch}",
        f"train.device={device}", "early_stop.enabled=false"])
    seed_everything(cfg.seed, cfg.train.deterministic)
    recipe, _ = api.build_recipe(cfg, bundle)
    seconds: list[float] = []
    steps: list[int] = []
    fit(recipe, cfg, None, echo=lambda *a, **k: None,
        callbacks=[lambda epoch, row: (seconds.append(row["seconds"]), steps.append(int(row["step"])))])
    images = (steps[-1] - steps[0]) * batch
    return images / sum(seconds[1:])


# -- the table -------------------------------------------------------------------------------------
def measure(fn: Callable[[], float | None], repeats: int) -> float | None:
    runs = [fn() for _ in range(repeats)]
    return None if runs[0] is None else statistics.median(runs)


def model_row(name: str, args) -> dict[str, float | None]:
    """Every GPU contender for one model, on the same synthetic data."""
    size, batch, _, timm_name, classes = MODELS[name]
    if args.smoke:
        size, batch = (size if size <= 64 else 96), 2
    epochs = 1 + args.epochs
    x, y = synthetic(batch * args.steps, size, classes, args.device)
    channels_last = is_convnet(reference_model(name, size, classes))

    def plain(model_fn: Callable[[], nn.Module], bf16: bool, compile: bool, cl: bool = channels_last):
        return measure(lambda: plain_loop(model_fn(), x, y, batch, epochs, args.device, bf16, cl and bf16,
                                          compile), args.repeats)

    def engine(compile: bool):
        return measure(lambda: deepzoo_engine(name, x, y, classes, batch, epochs, args.device, compile),
                       args.repeats)

    row: dict[str, float | None] = {}

    def record(contender: str, fn: Callable[[], float | None]) -> None:
        """Measure one contender and print it at once, so a run cut off by a time limit keeps it."""
        row[contender] = fn()
        value = row[contender]
        print(f"  [{name}] {contender}: {'n/a' if value is None else f'{value:.1f} img/s'}", flush=True)

    reference = lambda: reference_model(name, size, classes)  # noqa: E731
    if not args.compiled_only:
        record("plain fp32", lambda: plain(reference, False, False))
        record("plain bf16+CL", lambda: plain(reference, True, False))
        record("deepzoo", lambda: engine(False))
    if args.compile:
        record("plain bf16+CL compiled", lambda: plain(reference, True, True))
        record("deepzoo --compile", lambda: engine(True))
        if timm_name and timm_model(timm_name, size, classes) is None:
            print(f"{name}: timm is not installed (`pip install timm`); the timm row is skipped")
            row["timm compiled"] = None
        elif timm_name:
            record("timm compiled", lambda: plain(lambda: timm_model(timm_name, size, classes), True, True, cl=False))
    print_row(name, size, batch, row, args.smoke)
    return row


def gpu_table(args) -> dict[str, dict[str, float | None]]:
    results = {}
    for name in args.models:
        results[name] = model_row(name, args)
        if args.device.startswith("cuda"):
            torch.cuda.empty_cache()
    return results


def ratio(a: float | None, b: float | None) -> float:
    return a / b if a and b else math.nan


def print_row(name: str, size: int, batch: int, row: dict[str, float | None], smoke: bool) -> None:
    tag = " [smoke: numbers mean nothing]" if smoke else ""
    print(f"\n{name} ({size}×{size}, batch {batch}){tag}")
    for contender, value in row.items():
        print(f"  {contender:<24} {'n/a' if value is None else f'{value:10.1f}':>10} img/s")
    dz, dzc = row.get("deepzoo"), row.get("deepzoo --compile")
    checks = [("deepzoo / plain bf16+CL", ratio(dz, row.get("plain bf16+CL")), 1.0),
              ("deepzoo / plain fp32", ratio(dz, row.get("plain fp32")), 2.0)]
    if "deepzoo --compile" in row:
        checks.append(("deepzoo --compile / compiled loop", ratio(dzc, row.get("plain bf16+CL compiled")), 1.0))
    if "timm compiled" in row:
        checks.append(("deepzoo --compile / timm compiled", ratio(dzc, row.get("timm compiled")), 1.05))
    for label, value, target in checks:
        verdict = "n/a" if math.isnan(value) else ("met" if value >= target else "NOT met")
        print(f"  {label:<36} {value:6.2f}×  (target ≥ {target}×: {verdict})")


def cpu_part(args) -> None:
    """resnet20 at 32×32 on the CPU: deepzoo's engine versus the same model in the plain fp32 loop.

    The two alternate (plain first on even repeats, deepzoo first on odd ones) so that a change in the
    machine's load hits both; the verdict uses the median of the per-repeat ratios."""
    torch.set_num_threads(args.threads)
    batch, steps, epochs = args.cpu_batch, args.cpu_steps, 1 + args.cpu_epochs
    x, y = synthetic(batch * steps, 32, 10, "cpu")

    def plain() -> float:
        return plain_loop(create_model("resnet20", num_classes=10), x, y, batch, epochs, "cpu", False, False, False)

    def zoo() -> float:
        return deepzoo_engine("resnet20", x, y, 10, batch, epochs, "cpu", False)

    plains, zoos = [], []
    for i in range(args.cpu_repeats):
        if i % 2:
            zoos.append(zoo())
            plains.append(plain())
        else:
            plains.append(plain())
            zoos.append(zoo())
    ratios = [z / p for z, p in zip(zoos, plains)]
    print(f"\nCPU: resnet20 on 32×32, batch {batch}, {steps} steps/epoch, {epochs - 1} timed epochs after 1 "
          f"warm-up, fp32, {torch.get_num_threads()} threads ({platform.processor() or platform.machine()}), "
          f"{args.cpu_repeats} alternating repeats")
    print(f"  {'plain fp32 loop':<24} {statistics.median(plains):10.1f} img/s  (min {min(plains):.1f}, "
          f"max {max(plains):.1f})")
    print(f"  {'deepzoo':<24} {statistics.median(zoos):10.1f} img/s  (min {min(zoos):.1f}, max {max(zoos):.1f})")
    value = statistics.median(ratios)
    print(f"  deepzoo / plain loop {value:.2f}× (median of per-repeat ratios {', '.join(f'{r:.2f}' for r in ratios)}; "
          f"target ≥ 1.0×: {'met' if value >= 1.0 else 'NOT met'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after the warm-up epoch (GPU part)")
    parser.add_argument("--steps", type=int, default=STEPS_PER_EPOCH, help="batches per epoch (GPU part)")
    parser.add_argument("--repeats", type=int, default=1, help="repeats of each GPU contender (median)")
    parser.add_argument("--cpu-repeats", type=int, default=5, help="alternating repeats of the CPU part")
    parser.add_argument("--no-compile", dest="compile", action="store_false")
    parser.add_argument("--compiled-only", action="store_true",
                        help="only the compiled contenders (a GPU run with a time limit measures the eager ones "
                             "in a call of their own)")
    parser.add_argument("--smoke", action="store_true",
                        help="run the GPU table on --device with batch 2, 96×96, 2 steps, 1 timed epoch")
    parser.add_argument("--skip-cpu", action="store_true", help="leave out the CPU resnet20 part")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (CI has 2)")
    parser.add_argument("--cpu-batch", type=int, default=128)
    parser.add_argument("--cpu-steps", type=int, default=4)
    parser.add_argument("--cpu-epochs", type=int, default=2)
    args = parser.parse_args()
    if args.smoke:
        args.steps, args.epochs = 2, 1
    print(f"torch {torch.__version__}; device {args.device}"
          + (f" ({torch.cuda.get_device_name()})" if args.device.startswith("cuda") else ""))
    if args.device.startswith("cuda") or args.smoke:
        gpu_table(args)
    else:
        print("GPU part skipped: --device cpu (run with --device cuda, or --smoke to test the code paths)")
    if not args.skip_cpu:
        cpu_part(args)


if __name__ == "__main__":
    main()
