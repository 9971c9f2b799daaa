"""Batching: device-resident index batching for data that fits, a DataLoader for data that does not.

The resident path keeps every tensor of a split on the training device, draws one permutation per
epoch on the device from a seeded generator, and cuts batches by indexing — no worker processes, no
host-to-device copies per step. Under DDP each process takes its own slice of every global batch,
so ``world_size`` processes with ``batch_size`` each see exactly the batches one process with
``world_size × batch_size`` would see.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler, TensorDataset

# Splits larger than this (bytes) stay on the host and go through the DataLoader path on CUDA.
RESIDENT_LIMIT_BYTES = 4 * 1024**3


class DeviceLoader:
    """Batches of ``tensors`` (already on the device) by index, shuffled by a seeded device generator.

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
    ):
        self.tensors = tensors
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.rank = rank
        self.world_size = world_size
        self.device = tensors[0].device
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
        if self.shuffle:
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
    """Seed numpy and random in each worker from torch's per-worker seed (reproducible workers)."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


class SkippingBatchSampler(BatchSampler):
    """A batch sampler that starts its next epoch ``skip`` batches in, without loading them (a run
    resumed in the middle of an epoch)."""

    skip = 0

    def __iter__(self):
        skip, self.skip = self.skip, 0
        return itertools.islice(super().__iter__(), skip, None)


class HostLoader:
    """The DataLoader path (workers, pinned memory) with a saved shuffling generator, for data that
    does not fit on the device. Each epoch's order comes from the generator, so resume is exact, in
    the middle of an epoch too (see :class:`DeviceLoader`)."""

    def __init__(self, dataset: Dataset, batch_size: int, shuffle: bool, seed: int, num_workers: int,
                 pin_memory: bool, rank: int = 0, world_size: int = 1, drop_last: bool = False):
        self.generator = torch.Generator()
        self.generator.manual_seed(seed)
        self.epoch_start = self.generator.get_state()
        if world_size > 1:
            from torch.utils.data.distributed import DistributedSampler

            order = DistributedSampler(dataset, world_size, rank, shuffle=shuffle, seed=seed, drop_last=drop_last)
        else:
            order = RandomSampler(dataset, generator=self.generator) if shuffle else SequentialSampler(dataset)
        self.sampler = order if world_size > 1 else None
        self.batches = SkippingBatchSampler(order, batch_size, drop_last)
        self.epoch = 0
        self.loader = DataLoader(
            dataset, batch_sampler=self.batches, num_workers=num_workers, pin_memory=pin_memory,
            generator=self.generator, worker_init_fn=_seed_worker, persistent_workers=num_workers > 0,
        )

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        if self.sampler is not None:
            self.sampler.set_epoch(self.epoch)
        self.epoch += 1
        self.epoch_start = self.generator.get_state()
        return iter(self.loader)

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
                drop_last: bool = False):
    """A loader for ``split``: a :class:`DeviceLoader` when the split's tensors fit on the device
    (``resident`` auto/true), else a :class:`HostLoader` over a Dataset."""
    tensors = split.tensors() if hasattr(split, "tensors") else None
    if tensors is not None:
        size = sum(t.element_size() * t.numel() for t in tensors)
        fits = device.type == "cpu" or size <= RESIDENT_LIMIT_BYTES
        if str(resident).lower() in ("true", "1") or (str(resident).lower() == "auto" and fits):
            return DeviceLoader(tuple(t.to(device) for t in tensors), batch_size, shuffle, seed, drop_last,
                                rank, world_size)
        split = TensorDataset(*tensors)
    return HostLoader(split, batch_size, shuffle, seed, num_workers, device.type == "cuda", rank, world_size,
                      drop_last)
