"""Batching: device-resident index batching for data that fits, a DataLoader for data that does not.

The resident path keeps every tensor of a split on the training device, draws one permutation per
epoch on the device from a seeded generator, and cuts batches by indexing — no worker processes, no
host-to-device copies per step. Under DDP each process takes its own slice of every global batch,
so ``world_size`` processes with ``batch_size`` each see exactly the batches one process with
``world_size × batch_size`` would see.

``sampler="balanced"`` draws each training item with probability ∝ 1 / the frequency of its class
(with replacement, as many draws per epoch as there are items), so every class is drawn about equally
often; both loaders draw from their saved generator, so a resumed run draws the same items.

A dataset on the DataLoader path may take part in batching (the streaming image files of
:mod:`deepzoo.data.image_files` do): ``collate`` replaces the default collation, ``finish(batch,
device)`` turns each collated batch into the model's input on the device, ``takes_epoch`` asks for
``(epoch, index)`` keys, so per-item randomness can be a function of the epoch and the item alone — the
same in any worker and after a resume — and ``for_device(device)`` gives the view of the dataset a loader
for that device reads (where the streaming images are normalised).
"""

from __future__ import annotations

import gc
import itertools
import random
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, Sampler, SequentialSampler, TensorDataset

from ..errors import ConfigError

# Splits larger than this (bytes) stay on the host and go through the DataLoader path on CUDA.
RESIDENT_LIMIT_BYTES = 4 * 1024**3
SAMPLERS = ("random", "balanced")


def balanced_weights(labels: torch.Tensor | None) -> torch.Tensor:
    """The probability of drawing each item under ``sampler="balanced"``: 1 / the count of its class,
    normalised to sum to 1 (float64), so each class is drawn with probability 1/K."""
    if labels is None or labels.is_floating_point() or labels.dim() != 1:
        raise ConfigError("data.sampler=balanced draws by class: the data needs one class label per item")
    counts = torch.bincount(labels.cpu())
    weights = 1.0 / counts[labels.cpu()].double()
    return weights / weights.sum()


class DeviceLoader:
    """Batches of ``tensors`` (already on the device) by index, shuffled by a seeded device generator
    (or, given ``weights``, drawn with replacement with those probabilities: the balanced sampler).

    ``state_dict``/``load_state_dict`` save the generator so a resumed run draws the same batches;
    ``state_dict(batches_done=k)`` in the middle of an epoch saves the generator as it was when the
    epoch began and ``k``, so the resumed epoch draws the same order and starts at batch ``k``.
    """

    def __init__(
        self,
        tensors: tuple[torch.Tensor, ...],
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
        weights: torch.Tensor | None = None,
    ):
        self.tensors = tensors
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.rank = rank
        self.world_size = world_size
        self.device = tensors[0].device
        self.weights = None if weights is None else weights.to(self.device)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)
        self.epoch_start = self.generator.get_state()
        self.skip = 0

    @property
    def num_items(self) -> int:
        return len(self.tensors[0])

    def __len__(self) -> int:
        step = self.batch_size * self.world_size
        full, rest = divmod(self.num_items, step)
        return full if self.drop_last or rest == 0 else full + 1

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        n = self.num_items
        self.epoch_start = self.generator.get_state()
        if self.weights is not None:
            order = torch.multinomial(self.weights, n, replacement=True, generator=self.generator)
        elif self.shuffle:
            order = torch.randperm(n, device=self.device, generator=self.generator)
        else:
            order = torch.arange(n, device=self.device)
        step = self.batch_size * self.world_size
        skip, self.skip = self.skip, 0
        for start in range(skip * step, len(self) * step, step):
            chunk = order[start:start + step]
            index = chunk[self.rank * self.batch_size:(self.rank + 1) * self.batch_size]
            yield tuple(t[index] for t in self.tensors)

    def state_dict(self, batches_done: int = 0) -> dict:
        generator = self.epoch_start if batches_done else self.generator.get_state()
        return {"generator": generator, "skip": batches_done}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        self.skip = int(state.get("skip", 0))


def _seed_worker(worker_id: int) -> None:
    """Seed numpy and random in each worker from torch's per-worker seed (reproducible workers), and
    freeze the objects the worker inherited: its garbage collections then leave them alone instead of
    writing to (and so copying) every page that holds one (the ``gc.freeze`` recipe of Python's docs for
    forked processes)."""
    gc.freeze()
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


class SkippingBatchSampler(BatchSampler):
    """A batch sampler that starts its next epoch ``skip`` batches in, without loading them (a run
    resumed in the middle of an epoch); with ``epoch`` set, every index goes out as ``(epoch, index)``."""

    skip = 0
    epoch: int | None = None

    def __iter__(self):
        skip, self.skip = self.skip, 0
        batches = itertools.islice(super().__iter__(), skip, None)
        if self.epoch is None:
            return batches
        epoch = self.epoch
        return ([(epoch, i) for i in batch] for batch in batches)


class BalancedSampler(Sampler[int]):
    """As many draws per epoch as there are items, with replacement, item i with probability
    ``weights[i]`` (see :func:`balanced_weights`).

    One process draws from ``generator`` (the loader's, saved in checkpoints). Under DDP every rank
    draws the same sequence from a generator seeded by ``seed + epoch`` (as DistributedSampler does)
    and takes every ``world_size``-th draw from its rank on, so the ranks split one epoch's draws.
    """

    def __init__(self, weights: torch.Tensor, generator: torch.Generator, seed: int = 0, rank: int = 0,
                 world_size: int = 1):
        self.weights, self.generator, self.seed = weights, generator, seed
        self.rank, self.world_size, self.epoch = rank, world_size, 0
        self.num_samples = -(-len(weights) // world_size)

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose draws a DDP rank makes next."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self):
        generator = self.generator
        if self.world_size > 1:
            generator = torch.Generator()
            generator.manual_seed(self.seed + self.epoch)
        draws = torch.multinomial(self.weights, self.num_samples * self.world_size, True, generator=generator)
        return iter(draws[self.rank::self.world_size].tolist())


class HostLoader:
    """The DataLoader path (workers, persistent between epochs; pinned memory on CUDA) with a saved
    shuffling generator, for data that does not fit on the device. Each epoch's order comes from the
    generator, so resume is exact, in the middle of an epoch too (see :class:`DeviceLoader`). Under
    DDP each rank reads its own shard (DistributedSampler, or :class:`BalancedSampler`'s share).

    A dataset's ``collate``, ``finish`` and ``takes_epoch`` are honoured (see the module docstring);
    ``device`` is where ``finish`` puts the batch."""

    def __init__(self, dataset: Dataset, batch_size: int, shuffle: bool, seed: int, num_workers: int,
                 pin_memory: bool, rank: int = 0, world_size: int = 1, drop_last: bool = False,
                 weights: torch.Tensor | None = None, device: torch.device | None = None):
        self.generator = torch.Generator()
        self.generator.manual_seed(seed)
        self.epoch_start = self.generator.get_state()
        if weights is not None:
            order = BalancedSampler(weights, self.generator, seed, rank, world_size)
        elif world_size > 1:
            from torch.utils.data.distributed import DistributedSampler

            order = DistributedSampler(dataset, world_size, rank, shuffle=shuffle, seed=seed, drop_last=drop_last)
        else:
            order = RandomSampler(dataset, generator=self.generator) if shuffle else SequentialSampler(dataset)
        self.sampler = order
        self.batches = SkippingBatchSampler(order, batch_size, drop_last)
        self.takes_epoch = bool(getattr(dataset, "takes_epoch", False))
        self.finish = getattr(dataset, "finish", None)
        self.device = device
        self.epoch = 0
        self.dataset, self.seed, self.num_workers, self.pin_memory = dataset, seed, num_workers, pin_memory
        self.loader = self._data_loader()

    def _data_loader(self) -> DataLoader:
        # The workers' seeds come from a generator of their own: the DataLoader draws one from it for every
        # new iterator, so with the shuffling generator the order would depend on the worker count and on
        # whether workers persist (a resumed run starts new ones).
        workers_generator = torch.Generator()
        workers_generator.manual_seed(self.seed)
        return DataLoader(
            self.dataset, batch_sampler=self.batches, num_workers=self.num_workers, pin_memory=self.pin_memory,
            generator=workers_generator, worker_init_fn=_seed_worker, persistent_workers=self.num_workers > 0,
            collate_fn=getattr(self.dataset, "collate", None),
        )

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(self.epoch)
        if self.takes_epoch:
            self.batches.epoch = self.epoch
        self.epoch += 1
        self.epoch_start = self.generator.get_state()
        batches = iter(self.loader)
        return batches if self.finish is None else self._finished(batches)

    def _finished(self, batches):
        """Each batch through the dataset's ``finish``. When that raises (a corrupt file), every reference
        to the failed iterator goes at once — a new DataLoader replaces the one holding it — so its
        persistent workers stop now; left to the garbage collector (a saved traceback is a reference
        cycle) their shutdown waits 5 s for workers that no longer hear it."""
        try:
            for batch in batches:
                yield self.finish(batch, self.device)
        except BaseException:
            self.loader = self._data_loader()
            del batches
            raise

    def state_dict(self, batches_done: int = 0) -> dict:
        if batches_done:
            return {"generator": self.epoch_start, "epoch": self.epoch - 1, "skip": batches_done}
        return {"generator": self.generator.get_state(), "epoch": self.epoch, "skip": 0}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        self.epoch = state["epoch"]
        self.batches.skip = int(state.get("skip", 0))


def make_loader(split, batch_size: int, device: torch.device, *, shuffle: bool = False, seed: int = 0,
                resident: str = "auto", num_workers: int = 0, rank: int = 0, world_size: int = 1,
                drop_last: bool = False, sampler: str = "random"):
    """A loader for ``split``: a :class:`DeviceLoader` when the split's tensors fit on the device
    (``resident`` auto/true), else a :class:`HostLoader` over a Dataset. ``sampler`` (``random`` or
    ``balanced``) decides how a shuffled (training) split is drawn; evaluation splits are read in order."""
    if sampler not in SAMPLERS:
        raise ConfigError(f"data.sampler={sampler!r}: use one of {', '.join(SAMPLERS)}")
    weights = balanced_weights(getattr(split, "y", None)) if shuffle and sampler == "balanced" else None
    if hasattr(split, "for_device"):
        split = split.for_device(device)
    tensors = split.tensors() if hasattr(split, "tensors") else None
    if tensors is not None:
        size = sum(t.element_size() * t.numel() for t in tensors)
        fits = device.type == "cpu" or size <= RESIDENT_LIMIT_BYTES
        if str(resident).lower() in ("true", "1") or (str(resident).lower() == "auto" and fits):
            return DeviceLoader(tuple(t.to(device) for t in tensors), batch_size, shuffle, seed, drop_last,
                                rank, world_size, weights)
        split = TensorDataset(*tensors)
    return HostLoader(split, batch_size, shuffle, seed, num_workers, device.type == "cuda", rank, world_size,
                      drop_last, weights, device)
