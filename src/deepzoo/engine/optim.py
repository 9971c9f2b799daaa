"""Optimizers and learning-rate schedulers by name, with weight-decay-free parameter groups."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ..config import OptimConfig, SchedConfig
from ..errors import ConfigError
from ..registry import Registry
from .lars import LARS

OPTIMIZERS = Registry("optimizer")
SCHEDULERS = Registry("scheduler")


#: devices with fused optimizer kernels: one kernel per step for all tensors instead of a dozen small
#: ops per tensor, which on the CPU makes a tiny model's step about 1.3× faster (benchmarks/RESULTS.md)
FUSED_DEVICES = ("cpu", "cuda")


def _fused_ok(params: list[dict]) -> bool:
    """Whether every parameter is a floating-point tensor on one device type with fused kernels."""
    devices = {p.device.type for g in params for p in g["params"]}
    return len(devices) == 1 and devices <= set(FUSED_DEVICES) and \
        all(p.is_floating_point() for g in params for p in g["params"])


@OPTIMIZERS.register("sgd")
def sgd(groups: list[dict], cfg: OptimConfig, **over: Any) -> torch.optim.Optimizer:
    """SGD with momentum (and Nesterov's variant with ``nesterov: true``)."""
    return torch.optim.SGD(groups, lr=over.get("lr", cfg.lr), momentum=over.get("momentum", cfg.momentum),
                           nesterov=over.get("nesterov", cfg.nesterov), weight_decay=cfg.weight_decay,
                           fused=_fused_ok(groups) or None)


@OPTIMIZERS.register("adam")
def adam(groups: list[dict], cfg: OptimConfig, **over: Any) -> torch.optim.Optimizer:
    """Adam (Kingma & Ba 2015); L2 weight decay added to the gradient, fused kernels on the CPU and CUDA."""
    return torch.optim.Adam(groups, lr=over.get("lr", cfg.lr), betas=tuple(over.get("betas", cfg.betas)),
                            weight_decay=cfg.weight_decay, fused=_fused_ok(groups) or None)


@OPTIMIZERS.register("adamw")
def adamw(groups: list[dict], cfg: OptimConfig, **over: Any) -> torch.optim.Optimizer:
    """AdamW (Loshchilov & Hutter 2019): decoupled weight decay, fused kernels on the CPU and CUDA."""
    return torch.optim.AdamW(groups, lr=over.get("lr", cfg.lr), betas=tuple(over.get("betas", cfg.betas)),
                             weight_decay=cfg.weight_decay, fused=_fused_ok(groups) or None)


@OPTIMIZERS.register("lars")
def lars(groups: list[dict], cfg: OptimConfig, **over: Any) -> LARS:
    """LARS (You et al. 2017) with SimCLR's exclusions; ``optim.momentum``, ``weight_decay`` and
    ``nesterov`` as for SGD, trust coefficient η = 0.001."""
    return LARS(groups, lr=over.get("lr", cfg.lr), momentum=over.get("momentum", cfg.momentum),
                weight_decay=cfg.weight_decay, nesterov=over.get("nesterov", cfg.nesterov))


def param_groups(module: nn.Module, lr: float, weight_decay: float, head_prefixes: tuple[str, ...] = (),
                 backbone_lr_mult: float = 1.0) -> list[dict]:
    """Split ``module``'s trainable parameters into decay / no-decay groups, and give parameters
    outside ``head_prefixes`` the learning rate ``lr × backbone_lr_mult`` (fine-tuning).

    Groups whose settings come out the same (no weight decay, no backbone multiplier) are one group:
    each group is one optimizer kernel per step. The group with the full learning rate and weight
    decay comes last (the engine logs its learning rate)."""
    from ..tasks.activations import no_weight_decay_params

    shape_params = set(no_weight_decay_params(module))  # PReLU slopes, soft-exponential α (He et al. 2015)
    groups: dict[tuple[float, float], list] = {}
    for name, p in module.named_parameters():
        if not p.requires_grad:
            continue
        is_head = not head_prefixes or name.startswith(head_prefixes)
        no_decay = p.ndim <= 1 or name in shape_params  # biases and normalisation parameters too
        settings = (0.0 if no_decay else weight_decay, lr if is_head else lr * backbone_lr_mult)
        groups.setdefault(settings, []).append(p)
    ordered = sorted(groups.items(), key=lambda item: (item[0][1] == lr, item[0][0] == weight_decay))
    return [{"params": ps, "weight_decay": wd, "lr": group_lr} for (wd, group_lr), ps in ordered]


def build_optimizer(module: nn.Module, cfg: OptimConfig, head_prefixes: tuple[str, ...] = (),
                    backbone_lr_mult: float = 1.0, **overrides: Any) -> torch.optim.Optimizer:
    """The optimizer ``cfg.name`` over ``module``'s trainable parameters."""
    lr = overrides.get("lr", cfg.lr)
    groups = param_groups(module, lr, cfg.weight_decay, head_prefixes, backbone_lr_mult)
    if not groups:
        raise ConfigError("nothing to train: every parameter is frozen")
    return OPTIMIZERS.get(cfg.name).factory(groups, cfg, **overrides)


def build_optimizers(recipe, config) -> dict[str, torch.optim.Optimizer]:
    """One optimizer per player of ``recipe`` (:meth:`~deepzoo.recipes.base.Recipe.optimizer_modules`),
    from ``config.optim`` with the recipe's per-player overrides, its head prefixes and
    ``model.backbone_lr_mult``: the set-up that :func:`~deepzoo.engine.fit` and the LR finder share."""
    return {name: build_optimizer(module, config.optim, tuple(recipe.head_prefixes), config.model.backbone_lr_mult,
                                  **recipe.optimizer_overrides(name))
            for name, module in recipe.optimizer_modules().items()}


# Schedulers: each returns (scheduler, interval) with interval "step" or "epoch".
@SCHEDULERS.register("none")
def _none(opt, cfg: SchedConfig, epochs: int, steps_per_epoch: int):
    return None, "epoch"


@SCHEDULERS.register("step")
def _step(opt, cfg: SchedConfig, epochs: int, steps_per_epoch: int):
    return torch.optim.lr_scheduler.StepLR(opt, cfg.step_size, cfg.gamma), "epoch"


@SCHEDULERS.register("multistep")
def _multistep(opt, cfg: SchedConfig, epochs: int, steps_per_epoch: int):
    return torch.optim.lr_scheduler.MultiStepLR(opt, cfg.milestones, cfg.gamma), "epoch"


@SCHEDULERS.register("exponential")
def _exponential(opt, cfg: SchedConfig, epochs: int, steps_per_epoch: int):
    return torch.optim.lr_scheduler.ExponentialLR(opt, cfg.gamma), "epoch"


@SCHEDULERS.register("cosine")
def _cosine(opt, cfg: SchedConfig, epochs: int, steps_per_epoch: int):
    """Linear warmup for ``warmup_epochs`` then cosine decay to ``min_lr``, stepped every batch."""
    total = max(1, epochs * steps_per_epoch)
    warmup = int(cfg.warmup_epochs * steps_per_epoch)
    base = [g["lr"] for g in opt.param_groups]

    def factor(step: int, i: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        floor = cfg.min_lr / base[i] if base[i] else 0.0
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    lambdas = [lambda s, i=i: factor(s, i) for i in range(len(base))]
    return torch.optim.lr_scheduler.LambdaLR(opt, lambdas), "step"


@SCHEDULERS.register("onecycle")
def _onecycle(opt, cfg: SchedConfig, epochs: int, steps_per_epoch: int):
    """Smith & Topin's one-cycle policy, peaking at ``max_lr`` (default 10× the base LR)."""
    max_lr = cfg.max_lr or 10 * opt.param_groups[0]["lr"]
    return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr, epochs=epochs, steps_per_epoch=steps_per_epoch), "step"


@SCHEDULERS.register("plateau")
def _plateau(opt, cfg: SchedConfig, epochs: int, steps_per_epoch: int):
    """Reduce the LR by ``factor`` when the monitored metric stops improving for ``patience`` epochs."""
    return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=cfg.factor, patience=cfg.patience), "plateau"


@SCHEDULERS.register("linear_decay")
def _linear_decay(opt, cfg: SchedConfig, epochs: int, steps_per_epoch: int):
    """The learning rate of CycleGAN (Zhu et al. 2017 §7.1: "the same learning rate for the first 100 epochs
    and linearly decay the rate to zero over the next 100") and of the official pix2pix/CycleGAN code's
    default: constant for ``sched.constant_epochs`` (half of ``train.epochs`` when unset), then decaying
    linearly over the rest, stepped every epoch.

    Epoch e (from 0) trains at lr × (1 − max(0, e + 1 − C) / (D + 1)) for C constant and D decaying
    epochs, the authors' ``lambda_rule`` (with its default ``epoch_count`` 1): the first C epochs at lr,
    the last at lr/(D + 1); one epoch more would reach 0."""
    constant = epochs // 2 if cfg.constant_epochs is None else cfg.constant_epochs
    if constant > epochs:
        raise ConfigError(f"sched.constant_epochs={constant} exceeds train.epochs={epochs}")
    decaying = epochs - constant

    def factor(epoch: int) -> float:
        return 1.0 - max(0, epoch + 1 - constant) / (decaying + 1)

    return torch.optim.lr_scheduler.LambdaLR(opt, factor), "epoch"


def build_scheduler(opt: torch.optim.Optimizer, cfg: SchedConfig, epochs: int, steps_per_epoch: int):
    """``(scheduler or None, interval)`` where interval is ``step``, ``epoch`` or ``plateau``."""
    return SCHEDULERS.get(cfg.name).factory(opt, cfg, epochs, max(1, steps_per_epoch))
