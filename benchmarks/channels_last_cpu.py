"""Channels-last memory format on the CPU: one training step (forward, cross-entropy, backward, fused
Adam) of zoo convnets in the default NCHW layout and in channels-last, in one process.

The engine's ``train.channels_last=auto`` puts a convnet (``Recipe.is_convnet``) in channels-last on
the CPU as well as on CUDA because of these figures: oneDNN's channels-last convolution and pooling
kernels avoid the reorders its NCHW path makes on every call.

Part 1, one step: the two layouts start from the same weights and the same batch (random, fixed seed)
and are timed in alternating rounds (``--rounds``) so that a change in the machine's load hits both;
the table gives the median milliseconds per step of each and their ratio.

Part 2, whole runs: the engine's ``fit`` on digits (``--fit-epochs`` epochs, evaluation included, the
first epoch left out) with ``train.channels_last=auto`` and ``false``, alternating for ``--rounds``
rounds; the median seconds of each and their ratio. This is what a user's run sees: per-batch layout
conversion, evaluation and the optimizer step are in it.

Run: ``python benchmarks/channels_last_cpu.py [--rounds 7] [--threads 2] [--models lenet resnet20 ...]
[--fit-models lenet cnn resnet20 conv_ae dcgan] [--fit-epochs 10]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch
import torch.nn.functional as F

from deepzoo import api
from deepzoo.engine import fit
from deepzoo.models import accepted_kwargs, create_model
from deepzoo.runtime import seed_everything

# name -> (batch shape, label); image sizes are the ones these models are trained at in the docs
CASES = {
    "lenet": ((64, 1, 8, 8), "digits 8×8 (resized to 32×32 inside)"),
    "cnn": ((64, 1, 8, 8), "digits 8×8"),
    "resnet20": ((128, 3, 32, 32), "CIFAR 32×32"),
    "googlenet": ((32, 3, 32, 32), "32×32"),
    "mobilenet_v1": ((32, 3, 64, 64), "64×64"),
    "alexnet": ((16, 3, 64, 64), "64×64"),
    "vgg11": ((64, 3, 32, 32), "32×32"),
}


def make_step(name: str, shape: tuple[int, ...], channels_last: bool):
    """One training step of ``name`` on a fixed random batch, in the chosen memory format."""
    torch.manual_seed(0)
    model = create_model(name, **accepted_kwargs(name, {"num_classes": 10, "in_chans": shape[1],
                                                        "input_size": shape[-1], "input_shape": shape[1:]}))
    x, y = torch.rand(*shape), torch.randint(0, 10, (shape[0],))
    if channels_last:
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), 1e-3, fused=True)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        out = model(x)
        F.cross_entropy(out[0] if isinstance(out, tuple) else out, y).backward()
        opt.step()

    return step


def time_pair(name: str, shape: tuple[int, ...], rounds: int) -> tuple[float, float]:
    """Median ms per step in NCHW and in channels-last, timed in alternating rounds of ~0.3 s."""
    steps = {False: make_step(name, shape, False), True: make_step(name, shape, True)}
    for step in steps.values():  # warm-up: oneDNN primitive creation, allocator
        for _ in range(3):
            step()
    start = time.perf_counter()
    steps[False]()
    per_round = max(2, int(0.3 / (time.perf_counter() - start)))
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(rounds):
        for layout, step in steps.items():
            start = time.perf_counter()
            for _ in range(per_round):
                step()
            times[layout].append(1000 * (time.perf_counter() - start) / per_round)
    return statistics.median(times[False]), statistics.median(times[True])


def fit_seconds(name: str, epochs: int, channels_last: str) -> float:
    """Seconds of ``fit`` epochs 2..``epochs`` for ``name`` on digits with ``train.channels_last``."""
    quiet = ["train.checkpoint=false", "train.tensorboard=false", "train.plots=false", "train.progress=false",
             "early_stop.enabled=false", f"train.channels_last={channels_last}"]
    cfg = api.build_config(name, "digits", epochs=epochs, seed=0, overrides=quiet)
    seed_everything(cfg.seed, cfg.train.deterministic)
    recipe, _ = api.build_recipe(cfg)
    seconds: list[float] = []
    fit(recipe, cfg, None, echo=lambda *a, **k: None, callbacks=[lambda epoch, row: seconds.append(row["seconds"])])
    return sum(seconds[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (CI has 2)")
    parser.add_argument("--models", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--fit-models", nargs="*", default=["lenet", "cnn", "resnet20", "conv_ae", "dcgan"])
    parser.add_argument("--fit-epochs", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs "
          f"({platform.processor() or platform.machine()}), load average {os.getloadavg()[0]:.2f}; "
          f"median of {args.rounds} alternating rounds")
    print(f"{'model':<14} {'batch':<16} {'input':<38} {'NCHW ms':>8} {'ch-last ms':>10} {'speed-up':>8}")
    for name in args.models:
        shape, label = CASES[name]
        nchw, last = time_pair(name, shape, args.rounds)
        print(f"{name:<14} {'×'.join(map(str, shape)):<16} {label:<38} {nchw:>8.2f} {last:>10.2f} "
              f"{nchw / last:>7.2f}×", flush=True)
    if args.fit_models:
        print(f"\nwhole runs on digits: fit, epochs 2..{args.fit_epochs}, median of {args.rounds} alternating rounds")
        print(f"{'model':<14} {'false s':>8} {'auto s':>8} {'speed-up':>8}")
    for name in args.fit_models:
        times: dict[str, list[float]] = {"false": [], "auto": []}
        for _ in range(args.rounds):
            for setting in times:
                times[setting].append(fit_seconds(name, args.fit_epochs, setting))
        off, on = statistics.median(times["false"]), statistics.median(times["auto"])
        print(f"{name:<14} {off:>8.3f} {on:>8.3f} {off / on:>7.2f}×", flush=True)


if __name__ == "__main__":
    main()
