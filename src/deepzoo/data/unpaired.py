"""Unpaired image sets, two domains with no correspondence between their images (what CycleGAN, Zhu et
al. 2017, learns to translate): the ``unpaired:DIR`` format, the embedded ``digits-inverted`` and
``horse2zebra`` by name; and :class:`UnpairedLoader`, which draws each domain in its own order.

**One labelled set, the class is the domain.** An unpaired set is an ordinary labelled image set whose
classes belong to a domain, A or B: ``meta.extra["class_domain"]`` gives each class's domain (0 = A,
1 = B). For a folder the classes are the domains themselves (``A``, ``B``); for ``digits-inverted`` they
are domain and digit (``A-0`` … ``B-9``). The CycleGAN recipe takes each domain's images from a split by
their class; the classifier that judges translations (the Fréchet classifier distance,
:mod:`deepzoo.metrics.gan`) is trained on the same set as on any labelled set, so its features tell the
domains (and digits) apart — what a translation has to change. The splits are the usual seeded,
stratified ones, so every split holds both domains in their proportions.

**Layouts of ``unpaired:DIR``.** ``A/`` and ``B/`` (images anywhere below each; split as any image set),
or the CycleGAN datasets' own ``trainA/``, ``trainB/``, ``testA/``, ``testB/`` (the test folders are the
test split). The images go through :func:`~deepzoo.data.image_files.image_files_bundle`: ``size=`` to
resize and centre-crop photos of other sizes, ``skip_bad``, ``memory_budget`` …; a missing folder, an
empty domain or an unreadable image is one line naming it.

**digits-inverted.** scikit-learn's 1,797 digits, upsampled to ``size``×``size`` (32 by default,
bilinear), cut in two halves of *different* images (a fixed seed): A holds the digits as they are, B
the other half colour-inverted and thickened — :func:`invert_and_thicken`, a max filter of radius
``size // 16`` then 1 − x. So no pair is ever seen in training, but the true translation of any A image
is known (``meta.extra["translation"]``, :func:`true_translation`), and a run can report its error
against it beside the identity baseline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import DataError
from . import DATASETS, FORMATS
from .batching import DeviceLoader
from .build import RawData, build_bundle
from .bundle import DataBundle
from .formats_common import existing_dir, int_option
from .formats_images import image_files_under
from .image_decode import IMAGE_SUFFIXES
from .image_files import image_files_bundle
from .named import Download, NamedSource, locate

DOMAINS = ("A", "B")
#: the CycleGAN datasets' folders: (training, test) images of each domain
RELEASE_FOLDERS = {"A": ("trainA", "testA"), "B": ("trainB", "testB")}
DATA_SEED = 0  # the embedded data never changes; the run's seed only picks the split
DIGIT_SIZES = range(8, 65, 4)  # the generator halves the size twice, so a multiple of 4


# -- the unpaired: format ------------------------------------------------------------------------------


def domain_files(root: Path) -> tuple[list[Path], np.ndarray, np.ndarray | None]:
    """The images of ``root``'s two domains: ``(files, domain of each (0 = A, 1 = B), test positions or
    None)``, from ``A/`` and ``B/`` or from ``trainA/`` … ``testB/`` (whose test folders are the test split)."""
    if all((root / name).is_dir() for name in DOMAINS):
        folders = {name: [(root / name, False)] for name in DOMAINS}
    elif all((root / train).is_dir() for train, _ in RELEASE_FOLDERS.values()):
        tests = [(root / test).is_dir() for _, test in RELEASE_FOLDERS.values()]
        if tests[0] != tests[1]:
            have, lack = ("testA", "testB") if tests[0] else ("testB", "testA")
            raise DataError(f"{root}: has {have}/ but no {lack}/; the test split needs both domains")
        folders = {name: [(root / train, False)] + ([(root / test, True)] if all(tests) else [])
                   for name, (train, test) in RELEASE_FOLDERS.items()}
    else:
        raise DataError(f"{root}: an unpaired set needs the folders A/ and B/ (or trainA/ and trainB/, with "
                        f"testA/ and testB/ optional), one per domain")
    files, domains, test = [], [], []
    for domain, name in enumerate(DOMAINS):
        for folder, is_test in folders[name]:
            found = image_files_under(folder)
            if not found:
                raise DataError(f"{folder}: holds no {'/'.join(IMAGE_SUFFIXES)} images")
            test += [is_test] * len(found)
            files += found
            domains += [domain] * len(found)
    test_index = np.flatnonzero(test) if any(test) else None
    return files, np.array(domains, dtype=np.int64), test_index


def unpaired_bundle(name: str, root: Path, source: str, options: dict[str, Any]) -> DataBundle:
    """The two domains under ``root`` as one image set whose classes are ``A`` and ``B`` (read as two
    classes of a multiclass set, so a judge classifier trained on it has the softmax head the metrics read)."""
    files, domains, test_index = domain_files(root)
    options.setdefault("task", "multiclass")
    bundle = image_files_bundle(name, files, domains, list(DOMAINS), source, test_index=test_index, **options)
    bundle.meta.extra["class_domain"] = [0, 1]
    return bundle


@FORMATS.register("unpaired", image_files=True,
                  summary="two unpaired image domains: A/ and B/ (or trainA/ trainB/ testA/ testB/); ?size=H")
def unpaired_format(path: str, **options: Any) -> DataBundle:
    """An unpaired set on disk (see the module docstring for the layouts and options)."""
    root = existing_dir(path)
    return unpaired_bundle(root.resolve().name, root, str(path), options)


# -- horse2zebra, one of the CycleGAN datasets ----------------------------------------------------------

#: the CycleGAN authors' server (their datasets/download_cyclegan_dataset.sh); no checksum is published
CYCLEGAN_DATASETS_URL = "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/"
HORSE2ZEBRA_SOURCE = NamedSource(
    "horse2zebra", "horse2zebra", ("trainA", "trainB", "testA", "testB"),
    lambda: [Download(CYCLEGAN_DATASETS_URL + "horse2zebra.zip", "", unpack=True)])


@DATASETS.register("horse2zebra", kind="image", image_files=True, source=HORSE2ZEBRA_SOURCE,
                   summary="CycleGAN's horses (A) and zebras (B): 1,067 / 1,334 train, 120 / 140 test, 256×256")
def horse2zebra(**options: Any) -> DataBundle:
    """ImageNet photos of wild horses and zebras (Zhu et al. 2017 §5), the folders ``trainA/`` …
    ``testB/`` of the authors' zip, read as ``unpaired:`` reads them; ``?size=64`` for CPU-sized runs."""
    return unpaired_bundle("horse2zebra", locate(HORSE2ZEBRA_SOURCE), "horse2zebra", options)


# -- digits-inverted: two domains whose true mapping is known -------------------------------------------------


def invert_and_thicken(images: torch.Tensor, radius: int) -> torch.Tensor:
    """The B version of A images (N, C, H, W) in [0, 1]: strokes thickened by a max filter of ``radius``
    pixels (a grey-scale dilation with a square of side 2·radius + 1), then colour-inverted (1 − x)."""
    thick = F.max_pool2d(images, 2 * radius + 1, stride=1, padding=radius) if radius else images
    return 1.0 - thick


def thickening_radius(size: int) -> int:
    """The max filter's radius at ``size``×``size``: 2 pixels at 32 (half a pixel of the 8×8 digits)."""
    return max(1, size // 16)


def true_translation(meta) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The known A → B mapping of an embedded set (on [0, 1] images), or None for real data."""
    translation = meta.extra.get("translation")
    if not translation:
        return None
    radius = int(translation["radius"])
    return lambda images: invert_and_thicken(images, radius)


@DATASETS.register("digits-inverted", kind="image",
                   summary="unpaired digits (A) ↔ other digits inverted and thickened (B), 32×32; true mapping known")
def digits_inverted(size: int | str = 32, **options: Any) -> DataBundle:
    """Two domains from scikit-learn's digits with a known mapping (see the module docstring); classes
    ``A-0`` … ``B-9`` (domain and digit), ``size`` a multiple of 4 from 8 to 64."""
    from sklearn.datasets import load_digits

    size = int_option(size, "size", "digits-inverted", minimum=DIGIT_SIZES.start)
    if size not in DIGIT_SIZES:
        raise DataError(f"digits-inverted: option size={size} must be a multiple of 4 from 8 to 64")
    d = load_digits()
    images = torch.from_numpy(d.images.astype(np.float32) / 16.0)[:, None]
    images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
    order = np.random.default_rng(DATA_SEED).permutation(len(images))
    half = len(order) // 2
    in_b = np.zeros(len(images), dtype=bool)
    in_b[order[half:]] = True
    radius = thickening_radius(size)
    x = images.clone()
    x[in_b] = invert_and_thicken(images[in_b], radius)
    y = d.target.astype(np.int64) + 10 * in_b
    names = [f"{domain}-{digit}" for domain in DOMAINS for digit in range(10)]
    extra = {"class_domain": [0] * 10 + [1] * 10, "translation": {"kind": "invert-and-thicken", "radius": radius}}
    return build_bundle(RawData("digits-inverted", x.numpy(), y, class_names=names, extra=extra), **options)


# -- batches of both domains ----------------------------------------------------------------------------------


class UnpairedLoader(DeviceLoader):
    """Training batches ``(a, b)`` of two domains on the device, each domain in its own random order:
    an A image never meets the same B image epoch after epoch, as in the official code's unaligned
    dataset. An epoch is one pass over the larger domain; the smaller one is drawn in fresh random
    orders until it is as long. Batching, DDP slices, the saved generator and mid-epoch resume are
    :class:`~deepzoo.data.batching.DeviceLoader`'s."""

    def __init__(self, a: torch.Tensor, b: torch.Tensor, batch_size: int, seed: int = 0, rank: int = 0,
                 world_size: int = 1):
        super().__init__((a,), batch_size, shuffle=True, seed=seed, rank=rank, world_size=world_size)
        self.a, self.b = a, b

    @property
    def num_items(self) -> int:
        return max(len(self.a), len(self.b))

    def cycled_order(self, count: int) -> torch.Tensor:
        """``num_items`` indices into ``count`` items: random permutations of them, one after the other."""
        rounds = -(-self.num_items // count)
        perms = [torch.randperm(count, device=self.device, generator=self.generator) for _ in range(rounds)]
        return torch.cat(perms)[:self.num_items]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        self.epoch_start = self.generator.get_state()
        order_a, order_b = self.cycled_order(len(self.a)), self.cycled_order(len(self.b))
        step = self.batch_size * self.world_size
        skip, self.skip = self.skip, 0
        mine = slice(self.rank * self.batch_size, (self.rank + 1) * self.batch_size)
        for start in range(skip * step, len(self) * step, step):
            yield self.a[order_a[start:start + step][mine]], self.b[order_b[start:start + step][mine]]
