"""Devices, precision, seeding, determinism, RNG state and DDP set-up and collectives: what the engine, the
recipes and the LR finder share (a low layer, so that a recipe can seed or autocast without importing the engine)."""

from __future__ import annotations

import contextlib
import os
import random
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

from .errors import ConfigError


@dataclass
class Dist:
    """This process's place in a DDP job (rank 0 of 1 without ``torchrun``)."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed() -> Dist:
    """Join the process group when launched by ``torchrun`` (``WORLD_SIZE`` > 1): NCCL on CUDA,
    gloo on CPU. PyTorch's own DDP does the rest; there is no home-made distribution code."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return Dist(dist.get_rank(), int(os.environ.get("LOCAL_RANK", "0")), world)


def process_place() -> tuple[int, int]:
    """(rank, world size) of this process in the DDP job it has joined; (0, 1) outside one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def rank_share(n: int) -> tuple[int, slice]:
    """How many random rows to draw, and which of them to keep, so that this process's ``n`` rows are
    its slice of one draw for the global batch: ``(world_size × n, rows [rank·n, (rank+1)·n))``.

    Every process seeds the global RNG alike, so a plain draw of ``n`` would give every process the same
    noise (a GAN's global batch of fakes would hold only ``n`` different items). Drawn this way the
    processes' noise differs, and together it is exactly what one process draws for the combined batch,
    whose ``rank``-th slice is the batch this process reads (:mod:`deepzoo.data.batching`). Exact while
    every process's batch holds ``n`` items; ``(n, slice(None))`` outside DDP.
    """
    rank, world = process_place()
    return (n, slice(None)) if world == 1 else (n * world, slice(rank * n, (rank + 1) * n))


class _GatherWithGradient(torch.autograd.Function):
    """All-gather along the first dimension whose backward hands each process the gradient of its own
    rows summed over every process (an all-reduce, then this process's slice), so a loss computed
    from the gathered tensor trains every process's inputs."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        rank, world = process_place()
        ctx.rows = slice(rank * len(x), (rank + 1) * len(x))
        parts = [torch.empty_like(x) for _ in range(world)]
        dist.all_gather(parts, x.contiguous())
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        return grad[ctx.rows]


def gather_with_gradient(x: torch.Tensor) -> torch.Tensor:
    """Every process's ``x`` (the same shape on each) concatenated in rank order, differentiable with
    respect to this process's ``x``; ``x`` itself outside DDP."""
    return x if process_place()[1] == 1 else _GatherWithGradient.apply(x)


def choose_device(name: str, ddp: Dist) -> torch.device:
    """``auto`` picks CUDA when present (this process's GPU under DDP), else the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"train.device={name} but no CUDA device is available")
        if name == "cuda":
            name = f"cuda:{ddp.local_rank}"
        torch.cuda.set_device(torch.device(name))
    elif name != "cpu" and name != "mps":
        raise ConfigError(f"train.device={name!r}: use auto, cpu, cuda or cuda:N")
    return torch.device(name)


PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_precision(name: str, device: torch.device) -> str:
    """``auto`` means bf16 autocast on CUDA and fp32 on CPU; recipes may prefer fp32 by measurement."""
    if name == "auto":
        return "bf16" if device.type == "cuda" else "fp32"
    if name not in PRECISIONS:
        raise ConfigError(f"train.precision={name!r}: use auto, fp32, bf16 or fp16")
    if name == "fp16" and device.type != "cuda":
        raise ConfigError("train.precision=fp16 needs a CUDA device")
    return name


def autocast(precision: str, device: torch.device):
    """The autocast context for ``precision`` (a no-op for fp32)."""
    dtype = PRECISIONS[precision]
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed python, numpy and torch; with ``deterministic`` also force deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    elif torch.cuda.is_available():
        torch.backends.cudnn.benchmark = True


def rng_state() -> dict:
    """Every global RNG state in types that ``torch.load(weights_only=True)`` accepts."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` returned."""
    random.setstate(_as_tuple(state["python"]))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuple(value):
    return tuple(_as_tuple(v) for v in value) if isinstance(value, (list, tuple)) else value


@contextlib.contextmanager
def rng_preserved():
    """Restore every global RNG state (python, numpy, torch, CUDA) after the block: work done beside a
    run (training or loading a GAN's judge classifier) then leaves the run's random stream as it was."""
    state = rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
