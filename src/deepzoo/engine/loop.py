"""The one training loop, for every recipe: ``fit(recipe, config, run_dir) -> Run``.

Written to be read top to bottom (after nanoGPT's loop): set-up, optional resume, then for each epoch
the batches, each batch stepping every optimizer of the recipe in turn with the other players frozen,
then evaluation, scheduling, early stopping, logging and an atomic checkpoint. Losses stay on the
device; they are read back (one host sync) only every ``log_every`` steps and at the end of an epoch.

:func:`fit` holds just that loop; the steps it takes — the set-up, resuming, one player's optimizer
step, the epoch's evaluation, tracking the monitored metric, the checkpoint and the final summary — are
the methods of :class:`_Training`, which holds the run's state.

Any moment is a safe moment to be killed: checkpoints are atomic, SIGTERM/SIGINT end the run after the
step in flight with a checkpoint of that very step (:mod:`.signals`), a resumed run ends with the weights
an uninterrupted one would have, and a run whose loss turns NaN or diverges stops naming the last good
checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import math
import platform
import sys
import time
from pathlib import Path

import torch
from torch import nn

from ..config import RunConfig
from ..data.batching import DeviceLoader, HostLoader
from ..errors import ConfigError, Interrupted, TrainingError
from ..files import atomic_path, write_text_atomic
from ..recipes.base import Recipe
from ..runtime import autocast, choose_device, init_distributed, resolve_precision, rng_state, set_rng_state
from .checkpoint import atomic_save, copy_state, load_checkpoint
from .early_stopping import EarlyStopping, infer_mode
from .logger import RunLogger
from .optim import build_optimizers, build_scheduler
from .result import Run
from .signals import GracefulStop

#: devices where "auto" puts convnets in channels_last memory format: tensor-core convolutions on CUDA;
#: oneDNN's channels-last kernels on the CPU, 1.2–1.4× faster per step for ResNet, GoogLeNet, MobileNet and
#: small CNNs, at parity for AlexNet and VGG (benchmarks/RESULTS.md, "Channels-last on the CPU")
CHANNELS_LAST_DEVICES = ("cuda", "cpu")


class StopTraining(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a callback to end training after this epoch, as early stopping does (the best weights
    are still restored and the run is summarised)."""


class LossProblem(Exception):
    """A training loss turned NaN/infinite or diverged; :func:`fit` adds which checkpoint is kept."""


def training_ended(ckpt: dict, config: RunConfig) -> str | None:
    """Why the run a checkpoint belongs to has nothing left to train under ``config`` (all its epochs
    done, early stopping or a callback ended it), or None when it goes on."""
    if ckpt.get("batches"):
        return None
    epoch = ckpt["epoch"]
    if epoch >= config.train.epochs:
        return f"all {config.train.epochs} epochs are trained"
    if ckpt.get("stopped") == "callback":
        return f"a callback stopped it after epoch {epoch}"
    es = config.early_stop
    if es.enabled and ckpt["early_stop"]["bad_epochs"] >= es.patience:
        return f"early stopping ended it at epoch {epoch} (no improvement for {es.patience} epochs)"
    return None


def _channels_last(batch):
    """The batch's 4-d tensors (images) in channels_last memory format, to match a channels_last model
    (convolutions then need no layout conversion)."""
    return tuple(t.contiguous(memory_format=torch.channels_last) if torch.is_tensor(t) and t.ndim == 4 else t
                 for t in batch) if isinstance(batch, tuple) else batch


def _set_trainable(params: dict[str, list[nn.Parameter]], active: str | None) -> None:
    """Let only the ``active`` player's parameters take gradients (all when ``active`` is None).

    A parameter two players share (an adversarial autoencoder's encoder is stepped by the
    reconstruction and the generator phases) stays trainable whenever either of them is active.
    """
    keep = {id(p) for p in params[active]} if active is not None else None
    for ps in params.values():
        for p in ps:
            p.requires_grad_(keep is None or id(p) in keep)


def _library_versions() -> dict[str, str]:
    """The versions ``summary.json`` records, so a run can be replayed with the same libraries."""
    import numpy
    import torchvision

    return {"python": platform.python_version(), "torch": torch.__version__,
            "torchvision": torchvision.__version__, "numpy": numpy.__version__}


def fit(recipe: Recipe, config: RunConfig, run_dir: Path | None = None, resume: bool = False,
        echo=print, callbacks: list | None = None) -> Run:
    """Train ``recipe`` as ``config`` says, writing the run folder ``run_dir`` (main process only).

    ``callbacks`` are called as ``callback(epoch, row)`` after each epoch's metrics are logged and
    before its checkpoint (a tuner reports to its pruner there). A callback raising
    :class:`StopTraining` ends training after this epoch; any other exception ends the run.
    Returns the :class:`Run` with the best weights restored and ``summary.json`` written. A resumed
    run that had already ended (:func:`training_ended`) trains nothing: it says so and returns the
    run as it stands (writing its model and summary again if they are missing or damaged).
    """
    tc = config.train
    training = _Training(recipe, config, run_dir, echo)
    say, loader = training.say, training.train_loader
    start_epoch, skip, ended = training.resume() if resume else (0, 0, None)
    if ended is not None:
        finished = _finished_run(run_dir, config, recipe)
        if finished is not None:
            say(f"{run_dir}: finished, {ended}; nothing to train (raise --epochs or early_stop.patience "
                "to train on)")
            return finished
        say(f"{ended}; writing the model and summary again")
    logger = RunLogger(run_dir if training.writes else None, tc.tensorboard, tc.plots, resume_epoch=start_epoch)

    started = time.perf_counter()
    epoch = start_epoch
    first_epoch = start_epoch + 1 if ended is None else tc.epochs + 1
    try:
        with GracefulStop(say) as stop:
            for epoch in range(first_epoch, tc.epochs + 1):
                epoch_start = time.perf_counter()
                recipe.train_mode()
                if not skip:
                    training.tally.new_epoch()
                progress = _progress(len(loader), f"epoch {epoch}/{tc.epochs}", tc.progress and training.main)
                progress.update(skip)
                for i, batch in enumerate(loader, start=skip):
                    batch = recipe.transfer(batch)
                    if training.channels_last:
                        batch = _channels_last(batch)
                    boundary = (i + 1) % tc.accumulate == 0 or i + 1 == len(loader)
                    for phase in recipe.phases:
                        out = training.optimizer_step(batch, phase, boundary)
                        training.tally.add("train/" if phase == "model" else f"train/{phase}/", out, training.step + 1)
                    training.step += 1
                    if training.step % tc.log_every == 0:
                        progress.set_postfix(loss=f"{training.tally.check(epoch):.4f}")
                    progress.update()
                    if stop.requested and training.stops_mid_epoch and boundary and i + 1 < len(loader):
                        training.tally.check(epoch)
                        training.unfreeze()
                        training.checkpoint(epoch - 1, batches=i + 1)
                        raise _interrupted(stop, f"step {training.step} (batch {i + 1} of {len(loader)} in epoch "
                                                 f"{epoch})", training.saves_checkpoints)
                skip = 0
                progress.close()
                training.unfreeze()
                training.tally.check(epoch)

                row = training.evaluate(epoch, epoch_start)
                training.track_monitor(row, epoch)
                logger.log_epoch(row)
                say(_epoch_line(row, tc.epochs))
                recipe.on_epoch_end(epoch, run_dir if training.writes else None)
                stop_requested = _run_callbacks(callbacks, epoch, row, say)
                training.checkpoint(epoch, stopped="callback" if stop_requested else None)
                if _any_rank(stop.requested, training.ddp, training.device):
                    raise _interrupted(stop, f"epoch {epoch} (step {training.step})", training.saves_checkpoints)
                if stop_requested:
                    break
                if config.early_stop.enabled and training.stopper.should_stop:
                    say(f"early stopping: {training.monitor} has not improved for {training.stopper.patience} epochs")
                    break
    except LossProblem as problem:
        raise TrainingError(f"{problem}; {training.kept()}") from None
    finally:
        logger.close()
    return training.finish(epoch, started)


class _Training:
    """The state of one :func:`fit` call — modules, loaders, optimizers, schedulers, scalers, early
    stopping, the step count and the loss tally — and the steps of the loop that use it, so that
    :func:`fit` itself is only the loop over epochs and batches.

    Construction is the set-up, in the order that keeps a seeded run reproducible: the recipe's
    modules on the device (channels_last, ``torch.compile``, each player in its own DDP under
    torchrun), the loaders, the optimizers with their schedulers and gradient scalers, and the
    monitored metric.
    """

    def __init__(self, recipe: Recipe, config: RunConfig, run_dir: Path | None, echo) -> None:
        tc = self.tc = config.train
        self.recipe, self.config, self.run_dir = recipe, config, run_dir
        self.ddp = ddp = init_distributed()
        self.main = ddp.is_main
        self.device = device = choose_device(tc.device, ddp)
        self.precision = resolve_precision(recipe.preferred_precision or tc.precision, device)
        self.writes = self.main and run_dir is not None
        self.saves_checkpoints = self.writes and tc.checkpoint
        self.say = echo if self.main else (lambda *a, **k: None)

        # -- modules --------------------------------------------------------------------------------
        recipe.setup(device)
        self.model = recipe.model
        self.channels_last = str(tc.channels_last).lower() == "true" or (
            tc.channels_last == "auto" and device.type in CHANNELS_LAST_DEVICES and recipe.is_convnet)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        players = recipe.optimizer_modules()
        if len(players) == 1 and next(iter(players.values())) is self.model:  # one player: the whole model
            recipe.net = self._prepared(recipe.net)
            recipe.player_nets = dict.fromkeys(players, recipe.net)
        else:  # players of their own (a GAN's two): each compiled and in its own DistributedDataParallel
            recipe.player_nets = {name: self._prepared(module) for name, module in players.items()}
        #: the DDP wrappers, whose all-reduce waits for the accumulation boundary (empty without torchrun)
        self.distributed = [net for net in dict.fromkeys(recipe.player_nets.values())
                            if isinstance(net, nn.parallel.DistributedDataParallel)]
        #: players of their own whose DDP wrapper has run a forward (a step without one would leave the
        #: gradients unsynchronised: the recipe ran the raw module instead of ``Recipe.player(name)``)
        self.players_run: set[str] = set()
        if len(self.distributed) > 1:
            for name, net in recipe.player_nets.items():
                net.register_forward_pre_hook(lambda *_, name=name: self.players_run.add(name))

        # -- loaders --------------------------------------------------------------------------------
        self.train_loader = recipe.loader("train", tc.batch_size, shuffle=True, seed=config.seed,
                                          rank=ddp.rank, world_size=ddp.world_size)
        self.valid_loader = recipe.loader("valid", tc.eval_batch_size)
        if len(self.train_loader) == 0:
            raise ConfigError("the training split is empty")
        steps_per_epoch = math.ceil(len(self.train_loader) / tc.accumulate)
        # a stop request ends the run after the step in flight where the loader can resume mid-epoch
        # (exactly, from its saved order); elsewhere (graph batches) after the epoch in flight
        self.stops_mid_epoch = isinstance(self.train_loader, (DeviceLoader, HostLoader)) and not ddp.enabled

        # -- optimizers, schedulers, scalers ------------------------------------------------------------
        self.optimizers = build_optimizers(recipe, config)
        self.schedulers = {name: build_scheduler(opt, config.sched, tc.epochs, steps_per_epoch)
                           for name, opt in self.optimizers.items()}
        # enabled for fp16 only; a disabled scaler passes scale/unscale_/step/update straight through
        self.scalers = {name: torch.amp.GradScaler(device.type, enabled=self.precision == "fp16")
                        for name in self.optimizers}
        self.player_params = {name: [p for p in mod.parameters() if p.requires_grad] for name, mod in players.items()}
        self.several_players = len(recipe.phases) > 1

        # -- early stopping and the run's progress --------------------------------------------------------
        monitor = config.early_stop.monitor or recipe.default_monitor
        if len(self.valid_loader) == 0 and monitor.startswith("valid/"):
            monitor = "train/" + monitor.partition("/")[2]
            self.say(f"no validation split: early stopping and best weights follow {monitor}")
        self.monitor = monitor
        self.mode = infer_mode(monitor) if config.early_stop.mode == "auto" else config.early_stop.mode
        self.stopper = EarlyStopping(monitor, self.mode, config.early_stop.patience, config.early_stop.min_delta)
        self.ckpt_dir = None if run_dir is None else run_dir / "checkpoints"
        self.step = 0
        self.tally = StepTally(tc.diverge_factor)
        self.best_state: dict | None = None
        self.saved_epoch: int | None = None  # the epoch checkpoints/last.pt holds

    def _prepared(self, module: nn.Module) -> nn.Module:
        """``module`` as the training steps run it: compiled when ``train.compile`` is on, and wrapped in
        its own DistributedDataParallel under torchrun.

        Each player gets its own wrapper (a GAN's discriminator and generator) so that DDP all-reduces
        exactly the gradients of the player that steps: the recipe runs a frozen player without the
        wrapper (:meth:`Recipe.player` with ``frozen=True``), so no reducer waits for gradients that are
        never computed and nothing is communicated for it.
        """
        device = self.device
        if self.tc.compile:
            # On CUDA, "reduce-overhead" records one CUDA graph per batch shape; static shapes (dynamic=False)
            # give the full batch and the last partial one a graph each in the first epoch, where automatic
            # dynamic shapes would recompile after the partial batch and record again inside epoch 2.
            module = (torch.compile(module, mode="max-autotune-no-cudagraphs") if device.type == "cpu"
                      else torch.compile(module, mode="reduce-overhead", dynamic=False))
        if self.ddp.enabled:
            module = nn.parallel.DistributedDataParallel(
                module, device_ids=[device.index] if device.type == "cuda" else None)
        return module

    def resume(self) -> tuple[int, int, str | None]:
        """Load ``checkpoints/last.pt`` (and the best weights of ``best.pt``) into every part of the
        run — model, optimizers, schedulers, scalers, loader order, early stopping, recipe, RNG, step
        and tally — so that training goes on exactly where it stopped, mid-epoch included.

        Returns the epochs completed, the batches of the next epoch already trained, and why the run
        has nothing left to train (:func:`training_ended`) or None.
        """
        ckpt = load_checkpoint(self.ckpt_dir / "last.pt")
        self.model.load_state_dict(ckpt["model"])
        for name, opt in self.optimizers.items():
            opt.load_state_dict(ckpt["optimizers"][name])
            sched = self.schedulers[name][0]
            if sched is not None:
                sched.load_state_dict(ckpt["schedulers"][name])
            self.scalers[name].load_state_dict(ckpt["scalers"][name])
        if hasattr(self.train_loader, "load_state_dict"):
            self.train_loader.load_state_dict(ckpt["loader"])
        self.stopper.load_state_dict(ckpt["early_stop"])
        self.recipe.load_state_dict(ckpt["recipe"])
        set_rng_state(ckpt["rng"])
        start_epoch, self.step, skip = ckpt["epoch"], ckpt["step"], ckpt.get("batches", 0)
        self.tally.load_state_dict(ckpt.get("tally", {}), self.device)
        if (self.ckpt_dir / "best.pt").is_file():
            best = load_checkpoint(self.ckpt_dir / "best.pt")["model"]
            self.best_state = {k: v.to(self.device) for k, v in best.items()}
        self.saved_epoch = start_epoch
        ended = training_ended(ckpt, self.config)
        if ended is None:
            where = f"epoch {start_epoch + 1}, batch {skip + 1}" if skip else f"epoch {start_epoch}"
            self.say(f"resumed from {where} (step {self.step})")
        return start_epoch, skip, ended

    def optimizer_step(self, batch, phase: str, boundary: bool) -> dict[str, torch.Tensor]:
        """One player's step on ``batch``: the other players frozen, the forward pass under autocast,
        the backward pass of its loss (divided over the accumulated batches, scaled for fp16), and —
        on an accumulation ``boundary`` — gradient clipping, the optimizer step, zeroed gradients and
        a per-step scheduler step. Returns the recipe's outputs for the tally.

        Under DDP, gradients are all-reduced only on a boundary (every player's wrapper in ``no_sync`` in
        between: a forward in this phase may be stepped in the next, a GAN's reused fakes). The scaler
        calls need no fp16 branch: a disabled :class:`torch.amp.GradScaler` returns the loss as it is
        from ``scale``, does nothing in ``unscale_`` and ``update``, and calls ``opt.step()`` in ``step``.
        """
        tc, scaler = self.tc, self.scalers[phase]
        if self.several_players:
            _set_trainable(self.player_params, phase)
        with contextlib.ExitStack() as sync:
            if not boundary:
                for net in self.distributed:
                    sync.enter_context(net.no_sync())
            with autocast(self.precision, self.device):
                out = self.recipe.training_step(batch, phase)
            scaler.scale(out["loss"] / tc.accumulate).backward()
        if boundary:
            if len(self.distributed) > 1 and phase not in self.players_run:
                raise RuntimeError(f"{type(self.recipe).__name__} stepped {phase!r} without a forward through "
                                   f"Recipe.player({phase!r}): under torchrun its gradients would not be synchronised")
            opt = self.optimizers[phase]
            if tc.grad_clip > 0:
                scaler.unscale_(opt)  # clip the true gradients, not the fp16-scaled ones
                nn.utils.clip_grad_norm_(self.player_params[phase], tc.grad_clip)
            scaler.step(opt)
            scaler.update()
            opt.zero_grad(set_to_none=True)
            sched, interval = self.schedulers[phase]
            if sched is not None and interval == "step":
                sched.step()
        return out

    def unfreeze(self) -> None:
        """Make every player trainable again after a batch loop froze all but one (the checkpoint and
        the evaluation see the modules as the recipe built them)."""
        if self.several_players:
            _set_trainable(self.player_params, None)

    def evaluate(self, epoch: int, epoch_start: float) -> dict[str, float]:
        """The epoch's metrics row: the step count, the training means of the tally (averaged over
        the DDP processes), the validation metrics (model in eval mode, under autocast), each
        optimizer's learning rate and the epoch's wall time."""
        means = self.tally.means()
        if self.ddp.enabled:
            torch.distributed.all_reduce(means)
            means /= self.ddp.world_size
        row: dict[str, float] = {"epoch": epoch, "step": self.step}
        row.update(zip(self.tally.sums, means.tolist()))
        self.model.eval()
        with autocast(self.precision, self.device):
            row.update({f"valid/{k}": v for k, v in self.recipe.evaluate(self.valid_loader, "valid").items()})
        for name, opt in self.optimizers.items():
            row["lr" if name == "model" else f"lr/{name}"] = opt.param_groups[-1]["lr"]
        row["seconds"] = time.perf_counter() - epoch_start
        return row

    def track_monitor(self, row: dict[str, float], epoch: int) -> None:
        """Feed the monitored metric of the epoch's ``row`` to the per-epoch and plateau schedulers and
        to early stopping; on a new best, keep a copy of the weights (and write ``best.pt``). A monitor
        that is not logged is a config error naming what is."""
        value = row.get(self.monitor, math.nan)
        if self.monitor not in row:
            raise ConfigError(f"early_stop.monitor={self.monitor!r} is not logged; logged: {', '.join(row)}")
        for sched, interval in self.schedulers.values():
            if sched is not None and interval == "epoch":
                sched.step()
            elif sched is not None and interval == "plateau":
                sched.step(value if self.mode == "min" else -value)
        if self.stopper.update(value, epoch):
            self.best_state = copy_state(self.model)
            if self.saves_checkpoints:
                atomic_save({"model": self.best_state, "epoch": epoch}, self.ckpt_dir / "best.pt")

    def checkpoint(self, epoch: int, batches: int = 0, stopped: str | None = None) -> None:
        """Write ``last.pt`` atomically after ``epoch`` complete epochs and ``batches`` batches of the
        next one: everything :meth:`resume` needs to go on bit for bit (the loader's order, the RNG
        states and the tally of a part-trained epoch included). ``stopped`` records a callback's stop."""
        if not self.saves_checkpoints:
            return
        loader_state = {}
        if hasattr(self.train_loader, "state_dict"):
            loader_state = self.train_loader.state_dict(batches) if batches else self.train_loader.state_dict()
        atomic_save({
            "model": self.model.state_dict(),
            "optimizers": {n: o.state_dict() for n, o in self.optimizers.items()},
            "schedulers": {n: s.state_dict() for n, (s, _) in self.schedulers.items() if s is not None},
            "scalers": {n: s.state_dict() for n, s in self.scalers.items()},
            "loader": loader_state,
            "early_stop": self.stopper.state_dict(),
            "recipe": self.recipe.state_dict(),
            "rng": rng_state(),
            "epoch": epoch,
            "step": self.step,
            "batches": batches,
            "tally": self.tally.state_dict(),
            "stopped": stopped,
        }, self.ckpt_dir / "last.pt")
        self.saved_epoch = epoch

    def kept(self) -> str:
        """Which checkpoint survives a failed run, for its error message."""
        if not self.saves_checkpoints:
            return "nothing was saved (train.checkpoint=false)"
        if self.saved_epoch is None:
            return "no checkpoint had been written yet"
        return f"the last good checkpoint, checkpoints/last.pt (epoch {self.saved_epoch}), is kept"

    def finish(self, epoch: int, started: float) -> Run:
        """End the run: restore the best weights (when early stopping is on), evaluate on the held-out
        splits, and write ``model.safetensors`` and ``summary.json`` (:meth:`summary`)."""
        config, model = self.config, self.model
        if self.best_state is not None and config.early_stop.enabled:
            model.load_state_dict(self.best_state)
            self.say(f"restored the weights of epoch {self.stopper.best_epoch} ({self.monitor} = "
                     f"{self.stopper.best:.4g})")
        summary = self.summary(epoch, started, self.final_metrics())
        if self.writes:
            from safetensors.torch import save_model

            with atomic_path(self.run_dir / "model.safetensors") as tmp:
                save_model(model, str(tmp))
            write_text_atomic(self.run_dir / "summary.json", json.dumps(summary, indent=2))
        return Run(self.run_dir, config, summary, self.recipe)

    def final_metrics(self) -> dict[str, float]:
        """The trained model's metrics on the validation and test splits — on the training split when
        there is no held-out data (the 12-point house-prices toy) — plus the recipe's end-of-training
        figures."""
        recipe, tc = self.recipe, self.tc
        self.model.eval()
        metrics: dict[str, float] = {}
        with autocast(self.precision, self.device):
            for split in ("valid", "test"):
                loader = self.valid_loader if split == "valid" else recipe.loader("test", tc.eval_batch_size)
                metrics.update({f"{split}/{k}": v for k, v in recipe.evaluate(loader, split).items()})
            if not metrics:
                loader = recipe.loader("train", tc.eval_batch_size)
                metrics.update({f"train/{k}": v for k, v in recipe.evaluate(loader, "train").items()})
            metrics.update(recipe.on_train_end(self.run_dir if self.writes else None))
        return metrics

    def summary(self, epoch: int, started: float, metrics: dict[str, float]) -> dict:
        """``summary.json``: what ran (task, model, data, seed, command), where (device, precision,
        processes, library versions), how long, the best epoch and the final ``metrics``."""
        config = self.config
        return {
            "task": config.task,
            "model": config.model.name,
            "data": config.data.spec,
            "seed": config.seed,
            "best_epoch": self.stopper.best_epoch,
            "epochs_run": epoch,
            "monitor": self.monitor,
            "seconds": round(time.perf_counter() - started, 3),
            "device": str(self.device),
            "precision": self.precision,
            "world_size": self.ddp.world_size,
            "versions": _library_versions(),
            "command": " ".join(sys.argv),
            "metrics": metrics,
        }


def _run_callbacks(callbacks: list | None, epoch: int, row: dict[str, float], say) -> bool:
    """Call every callback with the epoch's row; True when one asked to stop (:class:`StopTraining`,
    said with its reason). The others are still called, so a tuner sees every epoch it was promised."""
    stop_requested = False
    for callback in callbacks or ():
        try:
            callback(epoch, row)
        except StopTraining as request:
            stop_requested = True
            say(f"stopped by a callback: {request}")
    return stop_requested


def _interrupted(stop: GracefulStop, where: str, saved: bool) -> Interrupted:
    """The exception that ends a run stopped by a signal (the caller adds how to resume)."""
    what = "the checkpoint holds it" if saved else "nothing was saved (train.checkpoint=false)"
    return Interrupted(f"stopped by {stop.name} after {where}; {what}", stop.exit_status)


def _any_rank(flag: bool, ddp, device: torch.device) -> bool:
    """``flag`` on any process of a DDP job (one collective per epoch), so every rank stops together."""
    if not ddp.enabled:
        return flag
    value = torch.tensor(float(flag), device=device)
    torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.MAX)
    return bool(value.item())


def _finished_run(run_dir: Path | None, config: RunConfig, recipe: Recipe) -> Run | None:
    """The run as its folder holds it — best weights from ``model.safetensors`` loaded into the
    recipe, ``summary.json`` read — or None when either file is missing or damaged."""
    if run_dir is None:
        return None
    try:
        from safetensors.torch import load_model

        summary = json.loads((run_dir / "summary.json").read_text())
        load_model(recipe.model, str(run_dir / "model.safetensors"))
    except Exception:  # noqa: BLE001 - any missing or damaged output is written again
        return None
    return Run(run_dir, config, summary, recipe)


class StepTally:
    """Per-step values of one epoch, kept on the device in lists (no kernel, no host sync per step).

    ``check`` — called every ``log_every`` steps and at the end of the epoch — stacks what came since
    the last check, stops the run if any loss is NaN or infinite (naming the step and the loss) or if
    the training loss diverged, and folds the values into running sums; ``means`` gives the epoch
    means (per key, so a player that steps k times per batch is averaged over its own steps).

    Divergence: the mean ``train/loss`` of a check window exceeds ``diverge_factor`` × max(|loss of
    the run's first step|, 1). The first step's loss is taken at the initial weights, so it is the
    scale of an untrained model (ln 10 ≈ 2.3 for ten classes); a loss a hundred times that has left
    anything training can recover from (Adam at lr 1e6 reaches 1e20 within one epoch). Only the
    single-optimizer loss is watched: adversarial players' losses rise and fall by design.
    """

    WATCHED = "train/loss"

    def __init__(self, diverge_factor: float | None = None):
        self.diverge_factor = diverge_factor
        self.first_loss: float | None = None
        self.new_epoch()

    def new_epoch(self) -> None:
        self.pending: dict[str, list[tuple[int, torch.Tensor]]] = {}
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}

    def add(self, prefix: str, out: dict[str, torch.Tensor], step: int) -> None:
        for key, value in out.items():
            self.pending.setdefault(prefix + key, []).append((step, value.detach()))

    def check(self, epoch: int) -> float:
        """Raise :class:`LossProblem` on a non-finite or diverged loss; return the running mean of the
        first logged value."""
        for key, items in self.pending.items():
            if not items:
                continue
            stacked = torch.stack([v for _, v in items]).float()
            if key.endswith("loss"):
                finite = torch.isfinite(stacked)
                if not bool(finite.all()):
                    bad = items[int((~finite).nonzero()[0, 0])][0]
                    what = key.removeprefix("train/").replace("/", " ")
                    raise LossProblem(f"the {what} became NaN or infinite at step {bad} (epoch {epoch})")
            if key == self.WATCHED:
                self._check_divergence(stacked, items, epoch)
            self.sums[key] = self.sums[key] + stacked.sum() if key in self.sums else stacked.sum()
            self.counts[key] = self.counts.get(key, 0) + len(items)
        self.pending = {k: [] for k in self.pending}
        key = next(iter(self.sums), None)
        return math.nan if key is None else float(self.sums[key]) / self.counts[key]

    def _check_divergence(self, stacked: torch.Tensor, items: list, epoch: int) -> None:
        if self.first_loss is None:
            self.first_loss = float(stacked[0])
        if self.diverge_factor is None:
            return
        mean, limit = float(stacked.mean()), self.diverge_factor * max(abs(self.first_loss), 1.0)
        if mean > limit:
            raise LossProblem(
                f"training diverged: the mean loss of steps {items[0][0]}–{items[-1][0]} (epoch {epoch}) is "
                f"{mean:.3g}, over {self.diverge_factor:g}× the first step's {self.first_loss:.3g}; lower "
                f"optim.lr or set train.grad_clip in a new run (train.diverge_factor=null turns this off)")

    def means(self) -> torch.Tensor:
        return torch.stack([self.sums[k] / self.counts[k] for k in self.sums])

    def state_dict(self) -> dict:
        """What a checkpoint in the middle of an epoch needs (call after :meth:`check`)."""
        return {"first_loss": self.first_loss, "sums": {k: v.cpu() for k, v in self.sums.items()},
                "counts": dict(self.counts)}

    def load_state_dict(self, state: dict, device: torch.device) -> None:
        self.first_loss = state.get("first_loss")
        self.sums = {k: v.to(device) for k, v in state.get("sums", {}).items()}
        self.counts = dict(state.get("counts", {}))


def _progress(total: int, desc: str, enabled: bool):
    """A tqdm bar on a terminal; a silent stand-in otherwise."""
    if enabled and sys.stderr.isatty():
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, leave=False, dynamic_ncols=True)
    return _NoProgress()


class _NoProgress:
    def set_postfix(self, **kwargs) -> None: ...
    def update(self, n: int = 1) -> None: ...
    def close(self) -> None: ...


def _epoch_line(row: dict[str, float], epochs: int, most: int = 8) -> str:
    """One line per epoch: the first ``most`` metrics (per-label columns stay in metrics.csv)."""
    keys = [k for k in row if k not in ("epoch", "step", "seconds") and not k.startswith("lr")]
    shown = " ".join(f"{k} {row[k]:.4g}" for k in keys[:most])
    return f"epoch {int(row['epoch'])}/{epochs}  {shown}  ({row['seconds']:.1f} s)"
