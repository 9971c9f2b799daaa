"""SimCLR training speed: deepzoo (views made for whole batches on the device) against a plain PyTorch
script written like the common public implementation (a Dataset whose ``__getitem__`` augments one
sample at a time on the CPU, a DataLoader, the InfoNCE loss built from a similarity matrix and masks).

Both train the same encoder (the zoo's ``cnn``, width 32) with the same projection head, the same
views (the spec of :func:`deepzoo.ssl.views.default_view_spec`, per sample through
``torchvision.transforms.v2`` on the baseline's side), Adam at 1e-3, batch 256, τ = 0.5, the same number
of epochs, and are then evaluated by the same frozen-encoder linear probe and kNN
(:mod:`deepzoo.ssl.evaluation`). deepzoo's epoch time runs from one epoch-end callback to the next
and so *includes* its validation pass, logging and metrics file; the baseline does not validate. The
baseline runs with 0 and 2 DataLoader workers.

Each implementation trains ``--repeats`` times, in turn, and the table gives the median epoch time, so a
neighbour's busy spell on a shared machine does not land on one implementation only.

Both run in fp32 on ``--device`` (CUDA when present: deepzoo keeps the data and makes the views on the
GPU, the baseline makes them on the CPU and copies each batch over, as the public scripts do).

Two more parts back the figures quoted beside the table: ``--view-timing`` times one batch's two views
(256 images) through deepzoo's batched transforms and through the per-sample ``torchvision`` pipeline
(median of 20); ``--accuracy-seeds 0 1 2`` trains deepzoo and the 0-worker baseline once per seed and
prints each one's range of linear-probe and kNN accuracy, the spread a single run's accuracy must be
read against.

Run: ``python benchmarks/ssl_throughput.py`` (2 threads; ``--epochs``, ``--datasets``, ``--workers``, ``--repeats``,
``--device``, ``--view-timing``, ``--accuracy-seeds``).
"""

from __future__ import annotations

import os
import sys

# Run as a script, this file's folder comes first on sys.path, and this file (ssl.py) would shadow the
# standard library's ssl module that asyncio, urllib and friends import: drop the folder.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse  # noqa: E402
import functools  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402

from deepzoo import api  # noqa: E402
from deepzoo.data import load_dataset  # noqa: E402
from deepzoo.data.augment import torchvision_transform  # noqa: E402
from deepzoo.ssl.evaluation import extract_features, knn_accuracy, linear_probe  # noqa: E402
from deepzoo.ssl.model import channel_statistics  # noqa: E402
from deepzoo.ssl.views import default_view_spec  # noqa: E402

BATCH, LR, TAU, WIDTH = 256, 1e-3, 0.5, 32


class EpochClock:
    """Wall and CPU (this process) time between successive ``tick`` calls; the first interval, which
    holds one-off start-up costs, is dropped."""

    def __init__(self):
        self.marks = [(time.perf_counter(), time.process_time())]

    def tick(self) -> None:
        self.marks.append((time.perf_counter(), time.process_time()))

    def epochs(self) -> list[tuple[float, float]]:
        return [(w1 - w0, c1 - c0) for (w0, c0), (w1, c1) in zip(self.marks[1:], self.marks[2:])]


# -- the plain PyTorch baseline ------------------------------------------------------------------------
class TwoViewDataset(Dataset):
    """Returns two independently augmented views of item i (augmentation per sample, on the CPU)."""

    def __init__(self, x: torch.Tensor, transform):
        self.x, self.transform = x, transform

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        item = self.x[i]
        return self.transform(item), self.transform(item)


class SimCLRNet(nn.Module):
    def __init__(self, shape, mean, std):
        super().__init__()
        self.encoder = api.create_model("cnn", in_chans=shape[0], input_shape=shape, width=WIDTH, num_classes=1)
        self.encoder.reset_classifier(0)
        d = self.encoder.num_features
        self.projection = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 128))
        view = (1, -1) + (1,) * (len(shape) - 1)
        self.register_buffer("mean", mean.view(view))
        self.register_buffer("std", std.view(view))

    def features(self, x):
        return self.encoder((x - self.mean) / self.std)

    def forward(self, x):
        return self.projection(self.features(x))


def info_nce_loss(features: torch.Tensor, n: int, temperature: float) -> torch.Tensor:
    """The widespread formulation: labels from arange, a similarity matrix, the diagonal masked out,
    positives and negatives gathered, cross-entropy with the positive in column 0."""
    device = features.device
    labels = torch.cat([torch.arange(n) for _ in range(2)], dim=0).to(device)
    labels = (labels.unsqueeze(0) == labels.unsqueeze(1)).float()
    features = F.normalize(features, dim=1)
    similarity = features @ features.T
    mask = torch.eye(labels.shape[0], dtype=torch.bool, device=device)
    labels = labels[~mask].view(labels.shape[0], -1)
    similarity = similarity[~mask].view(similarity.shape[0], -1)
    positives = similarity[labels.bool()].view(labels.shape[0], -1)
    negatives = similarity[~labels.bool()].view(similarity.shape[0], -1)
    logits = torch.cat([positives, negatives], dim=1) / temperature
    return F.cross_entropy(logits, torch.zeros(logits.shape[0], dtype=torch.long, device=device))


def train_baseline(bundle, epochs: int, workers: int, device: torch.device, seed: int = 0):
    torch.manual_seed(seed)
    x = bundle.train.x
    shape = tuple(bundle.meta.input_shape)
    transform = torchvision_transform(default_view_spec(bundle.meta), image_size=shape[1:] if len(shape) == 3 else None)
    loader = DataLoader(TwoViewDataset(x, transform), batch_size=BATCH, shuffle=True, drop_last=True,
                        num_workers=workers, persistent_workers=workers > 0, pin_memory=device.type == "cuda")
    net = SimCLRNet(shape, *channel_statistics(x)).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=LR)
    clock = EpochClock()
    for _ in range(epochs):
        net.train()
        for v1, v2 in loader:
            views = torch.cat([v1, v2]).to(device, non_blocking=True)
            loss = info_nce_loss(net(views), len(v1), TAU)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        clock.tick()
    return net, clock


# -- deepzoo -----------------------------------------------------------------------------------------------
def train_deepzoo(data: str, epochs: int, runs_dir: str, device: torch.device, seed: int = 0):
    overrides = [f"train.device={device.type}", "train.precision=fp32",  # the baseline's precision
                 "train.progress=false", "train.tensorboard=false", "train.plots=false", "train.checkpoint=false",
                 "early_stop.enabled=false", "task_args.evaluate=false", f"train.batch_size={BATCH}",
                 f"model.width={WIDTH}", f"optim.lr={LR}", f"task_args.temperature={TAU}"]
    clock = EpochClock()
    run = api.train(model="cnn", data=data, task="simclr", epochs=epochs, runs_dir=runs_dir, echo=lambda *a: None,
                    seed=seed, overrides=overrides, callbacks=[lambda epoch, row: clock.tick()])
    return run.recipe.model, clock


def evaluate(model: nn.Module, bundle) -> tuple[float, float]:
    """Test accuracy of the linear probe and of kNN on the frozen features."""
    device = next(model.parameters()).device
    splits = {name: (extract_features(model.features, model, s.x.to(device)), s.y.to(device)) for name, s in
              (("train", bundle.train), ("valid", bundle.valid), ("test", bundle.test))}
    probe = linear_probe(splits["train"], splits["valid"], splits["test"], bundle.meta.num_classes)
    return probe["test"], knn_accuracy(splits["train"], splits["test"], bundle.meta.num_classes)


def view_timing(data: str, device: torch.device, repeats: int = 20) -> tuple[float, float]:
    """Median ms to make both views of a 256-image batch: deepzoo's batched transforms on ``device``,
    and the baseline's ``torchvision`` pipeline applied sample by sample (as its Dataset does)."""
    from deepzoo.ssl.views import build_views

    bundle = load_dataset(data, normalize="none", seed=0)
    x = bundle.train.x[:BATCH]
    shape = tuple(bundle.meta.input_shape)
    views = build_views(bundle.meta)
    generator = torch.Generator(device=device).manual_seed(0)
    x_device = x.to(device)
    transform = torchvision_transform(default_view_spec(bundle.meta), image_size=shape[1:] if len(shape) == 3 else None)

    def batched() -> None:
        views(torch.cat([x_device, x_device]), generator=generator)
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def per_sample() -> None:
        for item in x:
            transform(item), transform(item)

    times = {batched: [], per_sample: []}
    for fn in times:  # warm-up
        fn()
    for _ in range(repeats):
        for fn in times:
            start = time.perf_counter()
            fn()
            times[fn].append(1000 * (time.perf_counter() - start))
    return statistics.median(times[batched]), statistics.median(times[per_sample])


def accuracy_spread(data: str, epochs: int, seeds: list[int], runs_dir: str, device: torch.device) -> None:
    """Linear-probe and kNN test accuracy of deepzoo and of the 0-worker baseline for each seed."""
    bundle = load_dataset(data, normalize="none", seed=0)
    print(f"\n{data}: accuracy over seeds {seeds} ({epochs} epochs; the split is seed 0's for both)")
    for name, train in (("deepzoo", lambda s: train_deepzoo(data, epochs, runs_dir, device, s)[0]),
                        ("plain PyTorch, 0 workers", lambda s: train_baseline(bundle, epochs, 0, device, s)[0])):
        scores = [evaluate(train(seed), bundle) for seed in seeds]
        linear, knn = [100 * a for a, _ in scores], [100 * b for _, b in scores]
        shown = [f"{label} {', '.join(f'{v:.1f}' for v in values)} (range {min(values):.1f}–{max(values):.1f})"
                 for label, values in (("linear", linear), ("kNN", knn))]
        print(f"  {name:24} " + "; ".join(shown), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--datasets", nargs="+", default=["mnist1d", "digits"])
    parser.add_argument("--workers", nargs="+", type=int, default=[0, 2])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="rounds of all implementations, in turn")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--view-timing", action="store_true", help="only time the two views of one batch")
    parser.add_argument("--accuracy-seeds", type=int, nargs="+", help="only the accuracy spread over these seeds")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.view_timing:
        for data in args.datasets:
            batched, per_sample = view_timing(data, device)
            print(f"{data}: both views of {BATCH} images: deepzoo batched {batched:.2f} ms, per-sample torchvision "
                  f"{per_sample:.1f} ms ({per_sample / batched:.0f}×)")
        return
    if args.accuracy_seeds:
        with tempfile.TemporaryDirectory() as runs_dir:
            for data in args.datasets:
                accuracy_spread(data, args.epochs, args.accuracy_seeds, runs_dir, device)
        return
    rows = []
    with tempfile.TemporaryDirectory() as runs_dir:
        for data in args.datasets:
            bundle = load_dataset(data, normalize="none", seed=0)
            names = ["deepzoo (batched views on the device)"]
            names += [f"plain PyTorch, per-sample views, {w} workers" for w in args.workers]
            runs = [functools.partial(train_deepzoo, data, args.epochs, runs_dir, device)]
            runs += [functools.partial(train_baseline, bundle, args.epochs, w, device) for w in args.workers]
            epochs: dict[str, list] = {name: [] for name in names}
            accuracy = {}
            for repeat in range(args.repeats):  # the same order each round: a busy spell hits all alike
                for name, train in zip(names, runs):
                    model, clock = train()
                    epochs[name] += clock.epochs()
                    if repeat == 0:
                        accuracy[name] = evaluate(model, bundle)
            times = {name: [statistics.median(column) for column in zip(*epochs[name])] for name in names}
            for name in names:
                rows.append((data, name, *times[name], *accuracy[name], times[name][0] / times[names[0]][0]))
    print(f"\nSimCLR, cnn (width {WIDTH}), batch {BATCH}, {args.epochs} epochs × {args.repeats} rounds, fp32 on "
          f"{device}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"{'data':8} {'implementation':46} {'s/epoch':>8} {'cpu s':>6} {'epochs/s':>9} {'linear':>7} {'kNN':>6} "
          f"{'deepzoo speed-up':>17}")
    for data, name, wall, cpu, lin, knn, ratio in rows:
        print(f"{data:8} {name:46} {wall:8.3f} {cpu:6.3f} {1 / wall:9.2f} {lin:7.3f} {knn:6.3f} {ratio:16.2f}×")
    print("s/epoch, cpu s: median wall and CPU time (this process; DataLoader workers not counted) per epoch, "
          "first epoch of each run left out; linear, kNN: test accuracy of the first round; speed-up: wall")


if __name__ == "__main__":
    main()
