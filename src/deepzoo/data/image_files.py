"""Image files → :class:`DataBundle`: the one path for ``imagefolder:`` and the named photo sets
(flowers102, oxford-pets), in memory or streaming.

**In memory or streaming.** Every header is read first (mode, size, decompression bombs; tens of µs a
file, see benchmarks/RESULTS.md; a file that is not an image fails here, before anything is decoded).
The decoded set's size is then known — items × C × H × W × 4 bytes of float32 — and while it fits
``memory_budget`` (GiB; ``data.memory_budget``, 2 by default) every file is decoded into one normalised
float32 tensor per split (:class:`TensorSplit`, batched on the device). Beyond the budget, or with
``stream=true``, each split is an :class:`ImageFiles` dataset that decodes a file when the DataLoader's
workers ask for it (:class:`~deepzoo.data.batching.HostLoader`: persistent workers, pinned memory on
CUDA, a shard per rank under torchrun). File names are held in one numpy byte-string array, not a
Python list, so workers that read them do not touch per-item reference counts and copy the list page by
page (pytorch#13246).

**Geometry** (:mod:`~deepzoo.data.image_geometry`): with ``size=S`` the ImageNet recipe — a
random-resized crop and a flip for training, resize and centre crop for evaluation and prediction. In
memory the stored tensor holds the evaluation crops (the data contract: one shape for every split), and
``meta.extra["train_augment"]`` names the batch augmentation a run applies to them on the device
(``resized_crop`` + ``flip`` of the stored crop — not of the original photo, as streaming does).

**Normalisation**: per channel, from the training split (in memory: every training image; streaming: a
seeded sample of :data:`STATS_SAMPLE` training files, all of them when there are fewer), or fixed with
``mean=a,b,c`` and ``std=a,b,c`` (a pretrained weight's own). Streamed items are normalised in the
workers for a CPU run, and travel as uint8 to be normalised on the GPU for a GPU run.

**Corrupt files**: one :class:`DataError` line naming the file — also when a DataLoader worker finds it
(the worker hands the problem back with the batch instead of raising there). With ``skip_bad=true`` they
are left out, counted and listed in ``meta.extra["skipped_files"]``.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, default_collate

from ..config import DataConfig
from ..errors import DataError
from .build import NORMALIZE_MODES, RawData, _float, _settle_targets, _split_rows, reject_unknown
from .bundle import DataBundle, DatasetMeta, TensorSplit
from .formats_common import bool_option, choice_option, int_option
from .image_decode import GRAY_MODES, decode_image, read_header
from .image_geometry import INTERPOLATIONS, ImageGeometry, default_resize, parse_size, sample_seed

#: training files decoded to estimate the per-channel mean and std of a streamed set; if photos'
#: channel means spread by 0.1, the standard error over 500 is 0.1/√500 ≈ 0.005 of the [0, 1] range
STATS_SAMPLE = 500
#: the training augmentation a run applies on the device to stored ``size=`` crops (in memory)
IN_MEMORY_AUGMENT = "resized_crop,flip"
GIB = 1024**3
CHUNK = 256  # images normalised (or summed for the statistics) at a time
#: the options of image sets; the others are the split's (see :func:`~deepzoo.data.build.build_bundle`)
SPLIT_OPTIONS = ("seed", "valid_fraction", "test_fraction", "normalize", "task")
#: the options that still apply when a trained run's metadata decides how images are read (``fitted``)
FITTED_OPTIONS = ("stream", "skip_bad", "memory_budget")


@dataclass(frozen=True)
class BadFile:
    """A file a worker could not decode, handed back with its batch instead of raised in the worker."""

    path: str
    problem: str


@dataclass(frozen=True)
class Normalization:
    """uint8 pixels → float32 ``(x / 255 − mean) / std`` per channel; no mean/std: ``x / 255`` — computed
    as torchvision's ``ToDtype(float32, scale=True)`` and ``Normalize`` compute it (``x · (1/255)``), so a
    pretrained weight's preprocessing gives the same floats."""

    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    def __call__(self, pixels: torch.Tensor) -> torch.Tensor:
        x = pixels.float().mul_(1 / 255)
        if self.mean is None:
            return x
        mean, std = self._statistics
        return x.sub_(mean.to(x.device)).div_(std.to(x.device))

    @functools.cached_property
    def _statistics(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and std as float32 (C, 1, 1) tensors, made once."""
        return tuple(torch.tensor(v, dtype=torch.float32).view(-1, 1, 1) for v in (self.mean, self.std))


class ImageFiles(Dataset):
    """One split of image files, decoded when an item is read (the streaming path).

    Items are ``(pixels (C, H, W), target)``. A training split (``train=True``) takes ``(epoch, index)``
    keys and draws the random crop of item i in epoch e from ``(seed, e, i)`` alone. The
    :class:`~deepzoo.data.batching.HostLoader` collates items with :meth:`collate` and hands each batch to
    :meth:`finish`, which raises a worker's :class:`BadFile` as one line (or skips it with
    ``skip_bad``) and moves the batch to the device. Normalisation happens where it is cheapest
    (:meth:`for_device`): in the workers, item by item, for a CPU run (in parallel, not in the training
    process); on the accelerator, batch by batch, for a GPU run (uint8 crosses the bus, a quarter of the
    bytes).
    """

    def __init__(self, files: np.ndarray, y: torch.Tensor, geometry: ImageGeometry, normalization: Normalization,
                 *, train: bool = False, seed: int = 0, skip_bad: bool = False, skipped: list[str] | None = None):
        self.files = files
        self.y = y
        self.geometry = geometry
        self.normalization = normalization
        self.takes_epoch = train
        self.seed = seed
        self.skip_bad = skip_bad
        self.skipped = [] if skipped is None else skipped
        self.normalize_in_workers = False

    def __len__(self) -> int:
        return len(self.files)

    def path(self, index: int) -> str:
        """The file of item ``index``."""
        return os.fsdecode(self.files[index])

    def for_device(self, device: torch.device) -> ImageFiles:
        """This split as a loader for ``device`` reads it: normalised in the workers for the CPU, on the
        device otherwise (a shallow copy; the list of skipped files stays shared)."""
        view = copy.copy(self)
        view.normalize_in_workers = device.type == "cpu"
        return view

    def pixels(self, index: int, epoch: int | None = None) -> torch.Tensor:
        """Item ``index`` as uint8 (C, H, W): the evaluation view, or with ``epoch`` the training crop."""
        pixels = decode_image(self.path(index), self.geometry.channels)
        if epoch is None:
            return self.geometry.evaluate(pixels)
        return self.geometry.train(pixels, sample_seed(self.seed, epoch, index))

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor] | BadFile:
        epoch, index = key if self.takes_epoch else (None, key)
        try:
            pixels = self.pixels(index, epoch)
        except DataError as err:
            return BadFile(self.path(index), str(err))
        return self.normalization(pixels) if self.normalize_in_workers else pixels, self.y[index]

    def collate(self, items: list) -> tuple[torch.Tensor, torch.Tensor, list[BadFile]]:
        """Stack the decoded items; the bad ones travel beside the batch."""
        good = [item for item in items if not isinstance(item, BadFile)]
        bad = [item for item in items if isinstance(item, BadFile)]
        if good:  # default_collate stacks into shared memory in a worker: no copy on the way to the trainer
            x, y = default_collate(good)
        else:
            dtype = torch.float32 if self.normalize_in_workers else torch.uint8
            x = torch.empty((0, *self.geometry.shape), dtype=dtype)
            y = self.y[:0]
        return x, y, bad

    def finish(self, batch: tuple[torch.Tensor, torch.Tensor, list[BadFile]], device: torch.device | None):
        """``(inputs, targets)`` on ``device``, normalised; a bad file is a :class:`DataError` line, or
        with ``skip_bad`` left out and listed."""
        x, y, bad = batch
        for item in bad:
            if not self.skip_bad:
                raise DataError(item.problem)
            if item.path not in self.skipped:
                self.skipped.append(item.path)
        if device is not None:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        return (x if self.normalize_in_workers else self.normalization(x)), y


# -- options ------------------------------------------------------------------------------------------
@dataclass
class ImageOptions:
    """The options an image set takes (``?size=224&stream=true`` ...), checked."""

    size: tuple[int, int] | None = None
    resize: int | None = None
    interpolation: str = "bilinear"
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    stream: bool = False
    skip_bad: bool = False
    memory_budget: float = DataConfig.memory_budget
    split: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, options: dict[str, Any], source: str) -> ImageOptions:
        """Read ``options``; the split's own go to ``split``, anything else is a one-line error."""
        options = dict(options)
        out = cls(split={k: options.pop(k) for k in SPLIT_OPTIONS if k in options})
        out.split["seed"] = int_option(out.split.get("seed", 0), "seed", source)
        if (size := options.pop("size", None)) is not None:
            out.size = parse_size(size, source)
        if (resize := options.pop("resize", None)) is not None:
            if out.size is None:
                raise DataError(f"{source}: option resize={resize} is the evaluation resize before the size= crop; "
                                "give size= as well")
            out.resize = int_option(resize, "resize", source, minimum=max(out.size))
        out.interpolation = choice_option(str(options.pop("interpolation", "bilinear")), INTERPOLATIONS,
                                          "interpolation", source)
        out.mean = _floats(options.pop("mean", None), "mean", source)
        out.std = _floats(options.pop("std", None), "std", source)
        if (out.mean is None) != (out.std is None) or (out.std is not None and min(out.std) <= 0):
            raise DataError(f"{source}: give mean=a,b,c and std=a,b,c together, with positive std values")
        out.stream = bool_option(options.pop("stream", False), "stream", source)
        out.skip_bad = bool_option(options.pop("skip_bad", False), "skip_bad", source)
        budget = options.pop("memory_budget", out.memory_budget)
        try:
            out.memory_budget = float(budget)
        except (TypeError, ValueError):
            out.memory_budget = -1.0
        if not out.memory_budget >= 0:
            raise DataError(f"{source}: option memory_budget={budget!r} should be a number of GiB ≥ 0")
        reject_unknown(options, source, [*SPLIT_OPTIONS, *(f for f in cls.__dataclass_fields__ if f != "split")])
        return out


def _floats(value: Any, name: str, source: str) -> tuple[float, ...] | None:
    """``a,b,c`` (or a list) as floats; None stays None."""
    if value is None:
        return None
    items = value if isinstance(value, (list, tuple)) else str(value).strip("[]()").split(",")
    try:
        numbers = tuple(float(v) for v in items)
    except (TypeError, ValueError):
        raise DataError(f"{source}: option {name}={value!r} should be numbers separated by commas") from None
    if not numbers or not all(np.isfinite(numbers)):
        raise DataError(f"{source}: option {name}={value!r} should be finite numbers separated by commas")
    return numbers


def file_array(files: Sequence[Path | str]) -> np.ndarray:
    """File names as one numpy array of byte strings (see the module docstring: no per-item objects)."""
    return np.array([os.fsencode(str(f)) for f in files])


# -- reading the headers --------------------------------------------------------------------------------
def scan_headers(files: np.ndarray, skip_bad: bool) -> tuple[np.ndarray, list[tuple[str, int, int]], list[str]]:
    """Every file's header: ``(kept mask, [(mode, height, width)] of the kept files, skipped files)``.
    A bad header is a :class:`DataError`, or with ``skip_bad`` a skipped file."""
    keep = np.ones(len(files), dtype=bool)
    headers, skipped = [], []
    for i, name in enumerate(files):
        try:
            headers.append(read_header(os.fsdecode(name)))
        except DataError:
            if not skip_bad:
                raise
            keep[i] = False
            skipped.append(os.fsdecode(name))
    return keep, headers, skipped


def _geometry(headers: list[tuple[str, int, int]], files: np.ndarray, options: ImageOptions, source: str):
    """The set's :class:`ImageGeometry`: grayscale when every file is, the ``size=`` crops or, without
    ``size``, the one size every image must have."""
    channels = 1 if all(mode in GRAY_MODES for mode, _, _ in headers) else 3
    if options.size is not None:
        return ImageGeometry(channels, options.size, options.resize or default_resize(options.size),
                             options.interpolation)
    sizes = np.array([(h, w) for _, h, w in headers])
    odd = np.flatnonzero((sizes != sizes[0]).any(axis=1))
    if len(odd):
        (h, w), (h0, w0) = sizes[odd[0]], sizes[0]
        raise DataError(f"{os.fsdecode(files[odd[0]])}: is {h}×{w} pixels but {os.fsdecode(files[0])} is "
                        f"{h0}×{w0}; give size=H or size=HxW to resize and crop every image")
    return ImageGeometry(channels, native=(int(sizes[0][0]), int(sizes[0][1])))


# -- the bundle ---------------------------------------------------------------------------------------
def _kept_positions(index: np.ndarray | None, keep: np.ndarray) -> np.ndarray | None:
    """A given split's indices after the skipped files are dropped (renumbered)."""
    if index is None:
        return None
    index = np.asarray(index, dtype=np.int64)
    return (np.cumsum(keep) - 1)[index[keep[index]]]


def _split_indices(y: np.ndarray, task: str, test_index: np.ndarray | None, valid_index: np.ndarray | None,
                   split: dict[str, Any], source: str) -> dict[str, np.ndarray]:
    """Item indices of train, valid and test: the given ones, the rest split by data/build.py's seeded,
    stratified split (``test_fraction``, then ``valid_fraction`` of what is left; see :func:`build_bundle`)."""
    valid_fraction = _float(split.get("valid_fraction"), 0.2, "valid_fraction", source)
    rest = np.arange(len(y)) if test_index is None else np.setdiff1d(np.arange(len(y)), test_index)
    if valid_index is not None:
        rest, valid_fraction = np.setdiff1d(rest, valid_index), 0.0
    parts = _split_rows(rest, y[rest], test_index, None if test_index is None else y[test_index], task,
                        split["seed"], valid_fraction, _float(split.get("test_fraction"), 0.2,
                                                                          "test_fraction", source), source)
    out = {name: rows for name, (rows, _) in parts.items()}
    if valid_index is not None:
        out["valid"] = valid_index
    return out


def channel_statistics(batches: Iterable[torch.Tensor]) -> tuple[list[float], list[float]]:
    """Per-channel mean and (population) std, in [0, 1] units, of uint8 (N, C, H, W) batches, summed in
    float64."""
    total = square = count = 0
    for pixels in batches:
        values = pixels.double().div_(255).transpose(0, 1).reshape(pixels.shape[1], -1)
        total, square, count = total + values.sum(1), square + (values * values).sum(1), count + values.shape[1]
    mean = total / count
    std = (square / count - mean * mean).clamp_min(0).sqrt()
    std[std < 1e-8] = 1.0
    return mean.tolist(), std.tolist()


def run_geometry(meta: DatasetMeta) -> ImageGeometry:
    """How a trained run reads an image (``meta.extra["image_geometry"]``: resize and centre crop when it
    trained with ``size=``); for a run without one, a resize to its input size."""
    if "image_geometry" in meta.extra:
        return ImageGeometry.from_dict(meta.extra["image_geometry"])
    return ImageGeometry(meta.input_shape[0], native=tuple(meta.input_shape[1:]))


def run_normalization(meta: DatasetMeta) -> Normalization:
    """A trained run's input normalisation (its ``meta.mean``/``std``; none when it kept [0, 1])."""
    return Normalization(None if meta.mean is None else tuple(meta.mean),
                         None if meta.std is None else tuple(meta.std))


def _fitted_bundle(files: Sequence[Path | str], labels: np.ndarray, class_names: list[str], source: str,
                   meta: DatasetMeta, options: dict[str, Any]) -> DataBundle:
    """Every file as the ``test`` split, read as the trained run ``meta`` reads images (its geometry and
    normalisation, none recomputed) with its labels matched to the run's classes by name; in memory or
    streaming as the budget says. For ``deepzoo evaluate RUN --data imagefolder:DIR``."""
    from .build import _fitted_targets

    given = sorted(set(options) - set(FITTED_OPTIONS))
    if given:
        raise DataError(f"{source}: the run sets {', '.join(given)} (it reads images as it was trained, and every "
                        f"file is scored); of the options only {', '.join(FITTED_OPTIONS)} apply")
    opts = ImageOptions.parse(options, source)
    geometry, normalization = run_geometry(meta), run_normalization(meta)
    targets = torch.from_numpy(_fitted_targets(np.asarray(labels), class_names, meta, source))
    paths, skipped = file_array(files), []
    split = ImageFiles(paths, targets, geometry, normalization, skip_bad=opts.skip_bad, skipped=skipped)
    if not opts.stream and len(paths) * int(np.prod(geometry.shape)) * 4 <= opts.memory_budget * GIB:
        pixels, good = _decode_all(split)
        split = TensorSplit(_normalized(pixels, np.arange(len(good)), normalization), targets[good])
    empty = TensorSplit(torch.empty((0, *geometry.shape)), targets[:0])
    extra = {**meta.extra, "skipped_files": skipped}
    return DataBundle(empty, empty, split, meta=dataclasses.replace(meta, extra=extra))


def image_files_bundle(name: str, files: Sequence[Path | str], labels: np.ndarray, class_names: list[str],
                       source: str, test_index: np.ndarray | None = None, valid_index: np.ndarray | None = None,
                       **options: Any) -> DataBundle:
    """A bundle of image files with class ``labels`` (indices into ``class_names``), in memory or
    streaming (see the module docstring).

    ``test_index`` / ``valid_index`` are a publisher's own splits (positions in ``files``); without
    them the seeded stratified split of :func:`~deepzoo.data.build.build_bundle` holds out
    ``test_fraction`` then ``valid_fraction``. Options: ``size`` (H or HxW), ``resize``,
    ``interpolation``, ``mean``/``std``, ``stream``, ``skip_bad``, ``memory_budget`` (GiB), and the
    split's ``seed``, ``valid_fraction``, ``test_fraction``, ``normalize``, ``task``. With ``fitted``, a
    trained run's metadata, every file is read as that run reads images (:func:`_fitted_bundle`).
    """
    fitted = options.pop("fitted", None)
    if fitted is not None:
        return _fitted_bundle(files, labels, class_names, source, fitted, options)
    opts = ImageOptions.parse(options, source)
    normalize = choice_option(str(opts.split.get("normalize", "standard")), NORMALIZE_MODES, "normalize", source)
    seed = opts.split["seed"]
    paths = file_array(files)
    if len(paths) == 0:
        raise DataError(f"{source}: the dataset is empty")
    keep, headers, skipped = scan_headers(paths, opts.skip_bad)
    _check_readable(keep, source)
    geometry = _geometry(headers, paths[keep], opts, source)
    decoded_bytes = int(keep.sum()) * int(np.prod(geometry.shape)) * 4
    streaming = opts.stream or decoded_bytes > opts.memory_budget * GIB
    pixels = None
    if not streaming:  # decode first, so the split holds only readable files
        kept = np.flatnonzero(keep)
        everything = ImageFiles(paths[kept], torch.zeros(len(kept)), geometry, Normalization(),
                                skip_bad=opts.skip_bad, skipped=skipped)
        pixels, good = _decode_all(everything)
        keep[kept[np.setdiff1d(np.arange(len(kept)), good)]] = False
        _check_readable(keep, source)
    paths, labels = paths[keep], np.asarray(labels)[keep]
    test_index, valid_index = _kept_positions(test_index, keep), _kept_positions(valid_index, keep)
    raw = RawData(name, paths, labels, class_names=class_names, source=source)
    task, reason, y, _, class_names = _settle_targets(raw, opts.split.get("task"), source)
    index = _split_indices(y, task, test_index, valid_index, opts.split, source)
    targets = torch.from_numpy(np.ascontiguousarray(y))
    train = index["train"]
    if streaming:
        sample = ImageFiles(paths[train], targets[train], geometry, Normalization(), skip_bad=opts.skip_bad,
                            skipped=skipped)
        normalization = _normalization(opts, normalize, geometry.channels, source,
                                       lambda: _sample_batches(sample, seed))
        splits = {part: ImageFiles(paths[rows], targets[rows], geometry, normalization, train=part == "train",
                                   seed=seed, skip_bad=opts.skip_bad, skipped=skipped) for part, rows in index.items()}
        value_range = (0.0, 1.0) if normalize == "none" and opts.mean is None else None
    else:
        normalization = _normalization(opts, normalize, geometry.channels, source,
                                       lambda: (pixels[train[i:i + CHUNK]] for i in range(0, len(train), CHUNK)))
        splits = {part: TensorSplit(_normalized(pixels, rows, normalization), targets[rows])
                  for part, rows in index.items()}
        value_range = None
        if normalize == "none" and opts.mean is None:
            value_range = (float(pixels[train].min().float() / 255), float(pixels[train].max().float() / 255))
    if normalize == "symmetric" and opts.mean is None:
        value_range = (-1.0, 1.0)
    extra: dict[str, Any] = {"image_geometry": geometry.to_dict(), "storage": "stream" if streaming else "memory",
                             "decoded_gib": round(decoded_bytes / GIB, 3), "skipped_files": skipped}
    if not streaming and geometry.size is not None:
        extra["train_augment"] = IN_MEMORY_AUGMENT
    meta = DatasetMeta(
        name=name, task=task, task_reason=reason, input_shape=geometry.shape,
        num_classes=len(class_names) if task in ("binary", "multiclass") else 0,
        num_targets=1 if task == "regression" else 0, class_names=class_names,
        mean=None if normalization.mean is None else list(normalization.mean),
        std=None if normalization.std is None else list(normalization.std),
        value_range=value_range, extra=extra,
    )
    return DataBundle(**splits, meta=meta)


def _check_readable(keep: np.ndarray, source: str) -> None:
    """A :class:`DataError` when ``skip_bad`` left no file to read."""
    if not keep.any():
        raise DataError(f"{source}: none of the {len(keep)} image file(s) could be read (skip_bad=true left out "
                        "every one)")


def _decode_all(files: ImageFiles) -> tuple[torch.Tensor, np.ndarray]:
    """Every file's evaluation view as one uint8 (N, C, H, W) tensor, and the rows that were readable
    (a bad file is an error or, with ``skip_bad``, left out and listed)."""
    pixels = torch.empty((len(files), *files.geometry.shape), dtype=torch.uint8)
    good = []
    for row in range(len(files)):
        try:
            pixels[len(good)] = files.pixels(row)
        except DataError:
            if not files.skip_bad:
                raise
            files.skipped.append(files.path(row))
            continue
        good.append(row)
    return pixels[:len(good)], np.array(good, dtype=np.int64)


def _sample_batches(train: ImageFiles, seed: int) -> Iterator[torch.Tensor]:
    """The evaluation view of a seeded sample of :data:`STATS_SAMPLE` training files (all of them when
    there are fewer), :data:`CHUNK` at a time as the in-memory statistics are summed (so both give the
    same numbers from the same files); unreadable ones are skipped and listed (``skip_bad``) or an error."""
    rows = np.sort(np.random.default_rng(seed).choice(len(train), min(len(train), STATS_SAMPLE), replace=False))
    for start in range(0, len(rows), CHUNK):
        images = []
        for row in rows[start:start + CHUNK]:
            try:
                images.append(train.pixels(int(row)))
            except DataError:
                if not train.skip_bad:
                    raise
                if train.path(int(row)) not in train.skipped:
                    train.skipped.append(train.path(int(row)))
        if images:
            yield torch.stack(images)


def _normalized(pixels: torch.Tensor, rows: np.ndarray, normalization: Normalization) -> torch.Tensor:
    """The float32 inputs of one split, normalised :data:`CHUNK` images at a time."""
    out = torch.empty((len(rows), *pixels.shape[1:]), dtype=torch.float32)
    for i in range(0, len(rows), CHUNK):
        out[i:i + CHUNK] = normalization(pixels[rows[i:i + CHUNK]])
    return out


def _normalization(opts: ImageOptions, normalize: str, channels: int, source: str,
                   train_batches: Callable[[], Iterable[torch.Tensor]]) -> Normalization:
    """The fixed mean/std, ``symmetric`` ([0, 1] → [−1, 1]), none, or the per-channel statistics of the
    training split's uint8 batches (``standard``; see :func:`channel_statistics`)."""
    if opts.mean is not None:
        if len(opts.mean) not in (1, channels) or len(opts.std) not in (1, channels):
            raise DataError(f"{source}: mean/std give {len(opts.mean)}/{len(opts.std)} values for {channels}-channel "
                            "images")
        return Normalization(opts.mean * (channels // len(opts.mean)), opts.std * (channels // len(opts.std)))
    if normalize == "none":
        return Normalization()
    if normalize == "symmetric":
        return Normalization((0.5,) * channels, (0.5,) * channels)
    mean, std = channel_statistics(train_batches())
    return Normalization(tuple(mean), tuple(std))
