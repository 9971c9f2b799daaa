"""Engine overhead: training steps per second of one small MLP through deepzoo's engine, a plain
PyTorch loop over a DataLoader, the same loop on device-resident tensors, and a Lightning Trainer;
on CUDA also deepzoo's engine with ``--compile`` and a hand-captured CUDA-graph loop.

The model is the issue's MLP (64 → 128 → 10, ReLU), Adam lr 1e-3, batch 64, on digits (the 1437 images
of 8×8 = 64 features left after the test split; no validation split, so no contender evaluates).
Every contender trains the same number of epochs from the same initialisation, and every contender
is timed between the same markers: the end of each epoch's work (for deepzoo, the epoch callback,
after its bookkeeping; for Lightning, ``on_train_epoch_end``; for the plain loops, after the epoch's
last step). The headline is steady-state optimizer steps per second from the end of epoch 1 to the
end of the last epoch; each contender's set-up (call start → end of epoch 1, less one steady epoch)
and its wind-down (end of the last epoch → return: for deepzoo the final evaluation, summary and
weights export) are reported beside it, separately.

The two CUDA-only contenders (skipped, with the reason printed, on the CPU and with ``--no-compile``):

* ``deepzoo --compile``: the engine with ``train.compile=true``, which wraps the network in
  ``torch.compile(mode="reduce-overhead")`` (Inductor kernels replayed as CUDA graphs; the optimizer
  step stays eager). ``torch._dynamo.reset()`` runs before every round, so every round compiles and
  records its graphs again (Inductor's on-disk caches may still make rounds after the first quicker;
  the set-up of every round is printed). Compilation and graph recording fall in epoch 1, i.e. in its
  set-up column: the engine compiles with static shapes, so the 64-row batches and the last, partial
  one (29 rows) each get their own graph in epoch 1, and nothing is recorded in the steady state.
* ``hand-captured CUDA graph``: the resident loop's whole step — forward, cross-entropy, backward and
  Adam (``fused=True`` as the engine's, ``capturable=True``) — captured with ``torch.cuda.graph`` after
  three warm-up steps per batch shape on a side stream, then replayed once per batch with the batch
  gathered from the device-resident data into the graph's static input/target buffers. The last,
  partial batch of every epoch (29 rows) replays a second graph captured for that size, so it makes
  the same 23 steps per epoch over the same rows as every other contender. The warm-up steps are undone
  before the first epoch (weights copied back, Adam's state zeroed in place), so it starts from the
  same initialisation. Both graphs' capture is in its set-up column. As a check that the replayed graphs
  train as the eager step does, the training loss after the last epoch (computed after the last marker)
  is printed for it and for the resident loop, which starts from the same seed and so should draw the
  same batches (the two differ only by the resident loop's unfused Adam then).

Targets on a GPU (issue 23): deepzoo ≥ 2× the Lightning Trainer and ≥ 1.5× the plain DataLoader loop;
``deepzoo --compile`` ≥ 0.6× the hand-captured CUDA-graph loop of the same run. The ratios are printed
against them (steady state, of the medians and round by round); on the CPU they are printed but not
judged. Each contender's result is also written to stderr as soon as it is measured, so that a run cut
off by a time limit still tells what it had measured; a compiled contender that raises is reported as
failed (its traceback on stderr) and the others still run.

Run: ``python benchmarks/engine_overhead.py [--epochs 30] [--device cpu|cuda] [--no-compile]``
(Lightning is a benchmark-only dependency: ``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import platform
import sys
import tempfile
import time
import traceback

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from deepzoo import api
from deepzoo.data import load_dataset

BATCH = 64


def make_mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


class Marks:
    """Wall-clock marks of one contender's call: its start, the end of every epoch, and its return."""

    def __init__(self, device: str):
        self.device = device
        self.start = time.perf_counter()
        self.epochs: list[float] = []
        self.end = math.nan

    def epoch_end(self) -> None:
        _sync(self.device)
        self.epochs.append(time.perf_counter())

    def finish(self) -> Marks:
        self.end = time.perf_counter()
        return self

    def result(self, steps_per_epoch: int) -> dict[str, float]:
        """Steady steps/s over epochs 2..N, set-up (start → end of epoch 1 less one steady epoch) and
        wind-down (end of the last epoch → return), in seconds."""
        steady = (self.epochs[-1] - self.epochs[0]) / (len(self.epochs) - 1)
        return {"steps/s": steps_per_epoch / steady, "setup": self.epochs[0] - self.start - steady,
                "wind-down": self.end - self.epochs[-1]}


def plain_dataloader_loop(x, y, epochs: int, device: str) -> dict[str, float]:
    """The tutorial's loop: DataLoader batches moved to the device, loss.item() every step."""
    marks = Marks(device)
    model = make_mlp().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(x, y), batch_size=BATCH, shuffle=True)
    for _ in range(epochs):
        running = 0.0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            running += loss.item()
        marks.epoch_end()
    return marks.finish().result(len(loader))


def plain_resident_loop(x, y, epochs: int, device: str) -> dict[str, float]:
    """The same loop on tensors kept on the device, shuffled by index, no per-step sync."""
    marks = Marks(device)
    model = make_mlp().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = x.to(device), y.to(device)
    for _ in range(epochs):
        order = torch.randperm(len(x), device=device)
        for i in range(0, len(x), BATCH):
            idx = order[i:i + BATCH]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
        marks.epoch_end()
    result = marks.finish().result(math.ceil(len(x) / BATCH))
    result["loss"] = _training_loss(model, x, y)  # after the last marker, out of every timing
    return result


def cuda_graph_loop(x, y, epochs: int, device: str) -> dict[str, float]:
    """The resident loop's step captured once per batch shape with ``torch.cuda.graph`` and replayed
    per batch, the batch gathered into the graph's static buffers (CUDA only)."""
    marks = Marks(device)
    model = make_mlp().to(device)
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=1e-3, fused=True, capturable=True)
    x, y = x.to(device), y.to(device)
    n = len(x)
    sizes = [BATCH] + ([n % BATCH] if n % BATCH else [])  # full batches, and the last partial one
    static = {b: (x[:b].clone(), y[:b].clone()) for b in sizes}  # the graphs' input/target buffers
    initial = [p.detach().clone() for p in params]

    # warm-up on a side stream (lazy initialisation, Adam's state) before any capture
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for xb, yb in static.values():
            for _ in range(3):
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(model(xb), yb).backward()
                opt.step()
    torch.cuda.current_stream().wait_stream(side)

    graphs, grads = {}, []
    for b, (xb, yb) in static.items():
        # no .grad before capture: the graph's backward allocates the gradients in its own pool and
        # writes (not accumulates) them on every replay, so no zeroing is needed inside the graph
        opt.zero_grad(set_to_none=True)
        graphs[b] = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graphs[b]):
            F.cross_entropy(model(xb), yb).backward()
            opt.step()
        grads.append([p.grad for p in params])  # each graph's gradients stay referenced while it lives
    # undo the warm-up steps in place (the graphs hold these very tensors): the same start as the others
    with torch.no_grad():
        for p, p0 in zip(params, initial):
            p.copy_(p0)
        for state in opt.state.values():
            for t in state.values():
                t.zero_()  # step, exp_avg, exp_avg_sq: as before Adam's first step

    for _ in range(epochs):
        order = torch.randperm(n, device=device)
        for i in range(0, n, BATCH):
            idx = order[i:i + BATCH]
            xb, yb = static[len(idx)]
            torch.index_select(x, 0, idx, out=xb)
            torch.index_select(y, 0, idx, out=yb)
            graphs[len(idx)].replay()
        marks.epoch_end()
    result = marks.finish().result(math.ceil(n / BATCH))
    result["loss"] = _training_loss(model, x, y)  # after the last marker: a check that the graphs trained
    return result


def _training_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return F.cross_entropy(model(x), y).item()


def lightning_trainer(x, y, epochs: int, device: str) -> dict[str, float] | None:
    """A LightningModule with the same model, fit by ``lightning.Trainer`` (no logger/checkpoints/bar);
    the marks come from a callback's ``on_train_epoch_end``."""
    try:
        import lightning as L
    except ImportError:
        return None
    marks = Marks(device)

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = make_mlp()

        def training_step(self, batch, batch_idx):
            xb, yb = batch
            return F.cross_entropy(self.net(xb), yb)

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    class EpochMarks(L.Callback):
        def on_train_epoch_end(self, trainer, module):
            marks.epoch_end()

    loader = DataLoader(TensorDataset(x, y), batch_size=BATCH, shuffle=True)
    trainer = L.Trainer(max_epochs=epochs, accelerator="gpu" if device == "cuda" else "cpu", devices=1,
                        logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0, callbacks=[EpochMarks()])
    trainer.fit(Module(), loader)
    return marks.finish().result(len(loader))


def deepzoo_engine(epochs: int, device: str, compile: bool = False) -> dict[str, float]:
    """deepzoo's ``api.train`` with the registered ``mlp`` (hidden 128), no early stopping and no
    artefacts; the marks come from its epoch callback (called after the epoch's bookkeeping)."""
    overrides = ["model.hidden=[128]", "data.valid_fraction=0", f"train.batch_size={BATCH}", "train.device=" + device,
                 "early_stop.enabled=false", "train.checkpoint=false", "train.plots=false",
                 "train.tensorboard=false", "train.progress=false", "train.log_every=1000000"]
    with tempfile.TemporaryDirectory() as tmp:
        marks = Marks(device)
        run = api.train(model="mlp", data="digits", epochs=epochs, runs_dir=tmp, overrides=overrides,
                        compile=compile or None, echo=lambda *a: None,
                        callbacks=[lambda epoch, row: marks.epoch_end()])
        marks.finish()
        with open(os.path.join(run.dir, "metrics.csv")) as f:
            steps_per_epoch = int(next(csv.DictReader(f))["step"])
    return marks.result(steps_per_epoch)


def deepzoo_compiled(epochs: int, device: str) -> dict[str, float]:
    """``deepzoo_engine`` with ``compile=True`` (on CUDA ``torch.compile(mode="reduce-overhead")``),
    after ``torch._dynamo.reset()`` so that every round compiles and records its CUDA graphs again."""
    torch._dynamo.reset()
    return deepzoo_engine(epochs, device, compile=True)


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-compile", action="store_true",
                        help="skip the CUDA-only compiled contenders (deepzoo --compile, the CUDA-graph loop)")
    args = parser.parse_args()
    on_gpu = args.device == "cuda"
    bundle = load_dataset("digits", valid_fraction=0)  # the same training split the engine uses
    x, y = bundle.train.x.reshape(len(bundle.train), -1), bundle.train.y
    contenders = {
        "deepzoo engine": lambda: deepzoo_engine(args.epochs, args.device),
        "plain loop, DataLoader": lambda: plain_dataloader_loop(x, y, args.epochs, args.device),
        "plain loop, resident tensors": lambda: plain_resident_loop(x, y, args.epochs, args.device),
        "Lightning Trainer": lambda: lightning_trainer(x, y, args.epochs, args.device),
    }
    compiled = {
        "deepzoo --compile": lambda: deepzoo_compiled(args.epochs, args.device),
        "hand-captured CUDA graph": lambda: cuda_graph_loop(x, y, args.epochs, args.device),
    }
    skipped: dict[str, str] = {}
    if args.no_compile:
        skipped = dict.fromkeys(compiled, "--no-compile")
    elif not on_gpu:
        skipped = {
            "deepzoo --compile": f"CUDA only: its target is the CUDA-graph loop, and on {args.device} the engine "
                                 "compiles without CUDA graphs (max-autotune-no-cudagraphs)",
            "hand-captured CUDA graph": f"CUDA only: torch.cuda.graph cannot capture on {args.device}",
        }
    else:
        contenders.update(compiled)
    failed: dict[str, str] = {}
    runs: dict[str, list] = {name: [] for name in contenders}
    for round_ in range(1, args.repeats + 1):  # rounds of every contender in turn, so a change in load hits them all
        for name, fn in contenders.items():
            if name not in compiled:
                runs[name].append(fn())
            elif name in failed:  # failed in an earlier round: not retried (its compile time is spared)
                runs[name].append(None)
            else:
                try:  # a compiled contender that fails is reported as failed; the others still finish
                    runs[name].append(fn())
                except Exception as error:  # reported in the table, its traceback on stderr
                    traceback.print_exc(file=sys.stderr)
                    message = str(error).strip()
                    failed.setdefault(name, type(error).__name__ + (f": {message.splitlines()[0][:200]}"
                                                                    if message else ""))
                    runs[name].append(None)
            r = runs[name][-1]  # progress on stderr, so that a run cut off by a time limit still tells
            print(f"round {round_}/{args.repeats}, {name}: " + ("no result" if r is None else
                  f"{r['steps/s']:.0f} steps/s, set-up {r['setup']:.3f} s, wind-down {r['wind-down']:.3f} s"),
                  file=sys.stderr, flush=True)

    def median(name: str, key: str) -> float | None:
        values = sorted(r[key] for r in runs.get(name, ()) if r is not None)
        return values[len(values) // 2] if values else None

    machine = torch.cuda.get_device_name() if args.device == "cuda" else f"{platform.processor() or 'cpu'}, " \
        f"{torch.get_num_threads()} threads"
    print(f"MLP 64-128-10, batch {BATCH}, Adam, {args.epochs} epochs on digits; {args.device} ({machine}); "
          f"torch {torch.__version__}; median of {args.repeats} rounds, contenders in turn; steady state = "
          f"end of epoch 1 to end of epoch {args.epochs}")
    base = median("plain loop, DataLoader", "steps/s")
    print(f"{'contender':<30} {'steps/s':>9} {'vs DataLoader loop':>19} {'set-up s':>9} {'wind-down s':>12}")
    for name in contenders:
        rate = median(name, "steps/s")
        if name in failed:
            print(f"{name:<30} {'failed':>9}   ({failed[name]}; traceback on stderr)")
        elif rate is None:
            print(f"{name:<30} {'n/a':>9}   (not installed)")
        else:
            print(f"{name:<30} {rate:>9.0f} {rate / base:>18.2f}x {median(name, 'setup'):>9.3f} "
                  f"{median(name, 'wind-down'):>12.3f}")
    for name, reason in skipped.items():
        print(f"{name:<30} {'skipped':>9}   ({reason})")

    def ratio(label: str, name: str, other: str, target: float) -> None:
        """``name``'s steady steps/s over ``other``'s: of the medians, and round by round."""
        if not median(name, "steps/s") or not median(other, "steps/s"):
            return
        per_round = sorted(a["steps/s"] / b["steps/s"] for a, b in zip(runs[name], runs[other])
                           if a is not None and b is not None)
        overall = median(name, "steps/s") / median(other, "steps/s")
        verdict = ("met" if overall >= target else "missed") if on_gpu else "a GPU target, not judged here"
        print(f"{label}, steady state: {overall:.2f}x (per round {', '.join(f'{r:.2f}' for r in per_round)}); "
              f"target >= {target:g}x: {verdict}")

    ratio("deepzoo / Lightning", "deepzoo engine", "Lightning Trainer", 2.0)
    ratio("deepzoo / plain DataLoader loop", "deepzoo engine", "plain loop, DataLoader", 1.5)
    ratio("deepzoo --compile / hand-captured CUDA graph", "deepzoo --compile", "hand-captured CUDA graph", 0.6)
    if median("deepzoo --compile", "steps/s"):
        setups = ", ".join(f"{r['setup']:.2f}" if r is not None else "failed" for r in runs["deepzoo --compile"])
        print(f"deepzoo --compile set-up per round, s: {setups} (compile and CUDA-graph recording; "
              "Dynamo is reset before every round, Inductor's on-disk caches are not)")
    if median("hand-captured CUDA graph", "loss") is not None:
        print(f"training loss after the last epoch, median of rounds (close values say the replayed graphs "
              f"train as the eager step does): resident loop {median('plain loop, resident tensors', 'loss'):.4f}, "
              f"hand-captured CUDA graph {median('hand-captured CUDA graph', 'loss'):.4f}")


if __name__ == "__main__":
    main()
