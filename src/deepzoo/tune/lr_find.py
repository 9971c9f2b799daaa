"""The learning-rate range test (Smith 2017, "Cyclical Learning Rates for Training Neural Networks",
§3.3), with fastai's defaults: the learning rate grows exponentially from 1e-7 to 10 over 100
steps of ordinary training, the loss is smoothed by a bias-corrected exponential moving average
(β = 0.98), and the test stops once the smoothed loss exceeds 4× the best one seen. The model is
given back with the weights it started with (and the global RNGs as they were).

**The suggestion** is the learning rate where the smoothed loss is lowest, divided by 10 (fastai
v1's rule: one decade back from where the loss turns up). The learning rate of steepest descent —
where the smoothed loss falls fastest against log10(lr), before its minimum, the point Smith's
reading of the plot looks for — is reported beside it; on small, noisy datasets it often sits next
to the minimum itself, which is why it is not the suggestion.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
from torch import nn

from ..config import RunConfig
from ..errors import ConfigError
from ..recipes.base import Recipe

RULE = "the learning rate at the smoothed loss's minimum / 10"


@dataclass
class LRFindResult:
    """The test's record: per step the learning rate, the loss and the smoothed loss."""

    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    minimum_lr: float  # where the smoothed loss is lowest
    steepest_lr: float | None  # where it falls fastest (None when it never fell)
    stopped: str  # why the test ended
    rule: str = RULE

    @property
    def suggestion(self) -> float:
        """The suggested learning rate: :attr:`minimum_lr` / 10."""
        return self.minimum_lr / 10


def lr_schedule(start: float, end: float, steps: int) -> list[float]:
    """``steps`` learning rates growing geometrically from ``start`` to ``end``: start·(end/start)^(i/(steps-1))."""
    if not 0 < start < end:
        raise ConfigError(f"lr-find: need 0 < start < end, got start={start}, end={end}")
    if steps < 2:
        raise ConfigError(f"lr-find: need at least 2 steps, got {steps}")
    ratio = end / start
    return [start * ratio ** (i / (steps - 1)) for i in range(steps)]


def smooth(losses: list[float], beta: float = 0.98) -> list[float]:
    """Bias-corrected exponential moving average: a_i = β a_{i-1} + (1-β) l_i, reported as a_i / (1-β^{i+1})
    (Kingma & Ba 2015's correction, so the first values are not pulled towards 0)."""
    out, avg = [], 0.0
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        out.append(avg / (1 - beta ** (i + 1)))
    return out


def steepest_lr(lrs: list[float], smoothed: list[float]) -> float | None:
    """Where the smoothed loss falls fastest against log10(lr), looking before its minimum only;
    None when the minimum comes at the first steps (no descent to measure)."""
    lowest = int(np.argmin(smoothed))
    if lowest < 2:
        return None
    slope = np.gradient(np.asarray(smoothed[: lowest + 1]), np.log10(lrs[: lowest + 1]))
    return lrs[int(np.argmin(slope))]


def _cycle(recipe: Recipe, batch_size: int, seed: int):
    """Training batches for as long as the test needs them (a fresh shuffled pass when one ends)."""
    loader = recipe.loader("train", batch_size, shuffle=True, seed=seed)
    if len(loader) == 0:
        raise ConfigError("lr-find: the training split is empty")
    while True:
        yield from loader


def lr_range_test(recipe: Recipe, config: RunConfig, start: float = 1e-7, end: float = 10.0, steps: int = 100,
                  diverge: float = 4.0, beta: float = 0.98) -> LRFindResult:
    """Run the range test on ``recipe`` (a single-optimizer recipe, already built) with the optimizer
    ``config.optim`` describes; the model ends with its initial weights."""
    from ..engine.optim import build_optimizers
    from ..runtime import Dist, autocast, choose_device, resolve_precision, rng_state, set_rng_state

    if tuple(recipe.phases) != ("model",):
        raise ConfigError(f"lr-find works with one optimizer; task {config.task} steps {', '.join(recipe.phases)}")
    lrs = lr_schedule(start, end, steps)
    device = choose_device(config.train.device, Dist())
    precision = resolve_precision(recipe.preferred_precision or config.train.precision, device)
    recipe.setup(device)
    model = recipe.model
    optimizer = build_optimizers(recipe, config)["model"]
    base_lr = recipe.optimizer_overrides("model").get("lr", config.optim.lr)
    # each group keeps its ratio to the base rate (a fine-tuned backbone's lower rate)
    scale = [g["lr"] / base_lr if base_lr else 1.0 for g in optimizer.param_groups]
    params = [p for g in optimizer.param_groups for p in g["params"]]
    initial = copy.deepcopy(model.state_dict())
    rngs = rng_state()
    losses: list[float] = []
    stopped = f"reached lr {end:g}"
    try:
        recipe.train_mode()
        batches = _cycle(recipe, config.train.batch_size, config.seed)
        for i, lr in enumerate(lrs):
            for group, s in zip(optimizer.param_groups, scale):
                group["lr"] = lr * s
            batch = recipe.transfer(next(batches))
            with autocast(precision, device):
                loss = recipe.training_step(batch, "model")["loss"]
            loss.backward()
            if config.train.grad_clip > 0:
                nn.utils.clip_grad_norm_(params, config.train.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            value = float(loss.detach())
            if not math.isfinite(value):
                stopped = f"the loss became {value} at step {i + 1} (lr {lr:.3g})"
                break
            losses.append(value)
            smoothed = smooth(losses, beta)
            if smoothed[-1] > diverge * min(smoothed):
                stopped = f"the smoothed loss exceeded {diverge:g}× its best at step {i + 1} (lr {lr:.3g})"
                break
    finally:
        model.load_state_dict(initial)
        set_rng_state(rngs)
        model.eval()
    if len(losses) < 2:
        raise ConfigError(f"lr-find: {stopped}; start from a smaller learning rate (--start)")
    smoothed = smooth(losses, beta)
    lrs = lrs[: len(losses)]
    return LRFindResult(lrs, losses, smoothed, lrs[int(np.argmin(smoothed))], steepest_lr(lrs, smoothed), stopped)


def save_result(result: LRFindResult, path) -> None:
    """The record as CSV: step, lr, loss, smoothed loss."""
    rows = ["step,lr,loss,smoothed"] + [f"{i + 1},{lr:.6g},{loss:.6g},{s:.6g}" for i, (lr, loss, s)
                                        in enumerate(zip(result.lrs, result.losses, result.smoothed))]
    path.write_text("\n".join(rows) + "\n")


def find_lr(config: RunConfig, **options) -> tuple[LRFindResult, Recipe]:
    """Build ``config``'s recipe (seeded as training would be) and run :func:`lr_range_test` on it."""
    from ..run.training import build_recipe
    from ..runtime import seed_everything

    seed_everything(config.seed, config.train.deterministic)
    recipe, _ = build_recipe(config)
    return lr_range_test(recipe, config, **options), recipe

