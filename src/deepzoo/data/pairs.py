"""Paired images for image-to-image translation (pix2pix, Isola et al. 2017): each item is an input image A
and its target B, both scaled to [−1, 1] (the generator's tanh range).

Sources:

- ``pairs:DIR`` — ``layout=aligned``: each file is A and B side by side (A|B, as the pix2pix datasets
  ship, made by the official ``combine_A_and_B.py``); ``layout=folders``: ``A/`` and ``B/`` hold files with
  matching names (stems: ``A/x.png`` pairs with ``B/x.jpg``). ``auto`` (the default) picks ``folders``
  where ``A/`` and ``B/`` exist. ``train/``, ``val/`` and ``test/`` subfolders, when present, are the
  splits (the pix2pix datasets' own); a missing one is cut from the training files by ``valid_fraction``
  / ``test_fraction`` (0.2 each). ``direction=BtoA`` swaps the roles, as the official option does
  (facades ship photo|labels and are trained labels → photo). Without ``size`` every image must have
  the first one's size; ``size=N`` resizes both images of every pair to N×N (bicubic, antialiased).
- ``facades`` — the pix2pix paper's CMP Facades (Tyleček & Šára 2013): 400 / 100 / 106 pairs of 256×256,
  labels → photo, fetched once into ``$DEEPZOO_DATA/facades/`` from the official URL (no checksum
  is published).
- ``shapes-pairs`` — generated: the mask of a shape → the photo-like scene holding it
  (:func:`~deepzoo.data.shapes.render_scene`): a label map → image task like facades, offline.
- ``digits-edges`` — scikit-learn's 8×8 digits upscaled (bicubic) to ``size`` (32): the edge map →
  the digit, edges → image like the paper's edges2shoes. The edge map is the Sobel gradient magnitude
  of the upscaled digit, thresholded at a quarter of its largest value (a binary outline; the paper's
  edges come from HED).

The joint jitter the paper trains with — resize to 286, random 256 crop, random flip, the same for A and
B (:func:`paired_jitter`) — is applied by the recipe to each training batch on the device.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import DataError
from . import DATASETS, FORMATS
from .build import _split, option_names, reject_unknown
from .bundle import DataBundle, DatasetMeta, TensorSplit
from .formats_common import choice_option, existing_dir, int_option
from .formats_images import image_files_under
from .graphs import fraction_option
from .image_decode import GRAY_MODES, decode_image, read_header
from .named import Download, NamedSource, locate

LAYOUTS = ("auto", "aligned", "folders")
DIRECTIONS = ("AtoB", "BtoA")
SPLIT_FOLDERS = {"train": "train", "valid": "val", "test": "test"}  # the pix2pix datasets' subfolders
#: the paper's jitter: images loaded at 286 for 256 crops (Isola et al. appendix 6.2), the same ratio at
#: other sizes (72 for 64, 36 for 32)
JITTER_SCALE = 286 / 256
DATA_SEED = 0  # the generated sets never change; the run's seed only picks the split
EDGE_THRESHOLD = 0.25  # digits-edges: a pixel is an edge where the Sobel magnitude exceeds this share of the max


# -- shared by every paired source ----------------------------------------------------------------------------

def symmetric(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 pixels (or floats in [0, 1]) → float32 in [−1, 1]."""
    x = pixels.float() / 255 if pixels.dtype == torch.uint8 else pixels.float()
    return x * 2 - 1


def resized(x: torch.Tensor, size: int | None) -> torch.Tensor:
    """A batch (N, C, H, W) resized to size×size (bicubic with antialiasing, clamped to [−1, 1]), or as is."""
    if size is None or tuple(x.shape[-2:]) == (size, size):
        return x
    return F.interpolate(x, size=(size, size), mode="bicubic", align_corners=False, antialias=True).clamp(-1, 1)


def split_indices(n: int, seed: int, valid_fraction: float, test_fraction: float, source: str,
                  have_test: bool = False) -> dict[str, np.ndarray]:
    """Train / valid / test rows of ``n`` items: ``test_fraction`` held out first (unless the source has
    its own test split), then ``valid_fraction`` of the rest; the same seed gives the same split."""
    rest, test = (np.arange(n), np.arange(0)) if have_test else _split(n, test_fraction, seed, None, source)
    train, valid = _split(len(rest), valid_fraction, seed + 1, None, source)
    return {"train": rest[train], "valid": rest[valid], "test": test}


def translation_bundle(name: str, splits: dict[str, tuple[torch.Tensor, torch.Tensor]], task: str,
                       extra: dict[str, Any] | None = None) -> DataBundle:
    """A bundle of (input, target) image splits in [−1, 1]: ``TensorSplit(x=A, y=B)``. ``meta.task`` is
    ``task`` (``pairs`` or ``next-frame``), ``meta.input_shape`` A's shape and ``extra["target_shape"]``
    B's. The mean/std of 0.5 record the [0, 1] → [−1, 1] scaling (as ``normalize=symmetric`` does)."""
    a, b = splits["train"]
    if len(a) == 0:
        raise DataError(f"{name}: no items left for training after the valid/test splits")
    meta = DatasetMeta(name=name, task=task, input_shape=tuple(a.shape[1:]), mean=[0.5], std=[0.5],
                       value_range=(-1.0, 1.0), task_reason="paired images: an input and its target",
                       extra={"target_shape": list(b.shape[1:]), **(extra or {})})
    parts = {k: TensorSplit(x.contiguous(), y.contiguous()) for k, (x, y) in splits.items()}
    return DataBundle(parts["train"], parts["valid"], parts["test"], meta=meta)


def identity_baseline(a_channels: int, b_channels: int) -> dict[str, Any]:
    """``extra["copy_baseline"]`` for pairs whose input could stand for the target (same channels):
    the output = the input, named ``identity``; empty otherwise."""
    return {"copy_baseline": {"name": "identity", "channels": [0, a_channels]}} if a_channels == b_channels else {}


def split_pairs(name: str, a: torch.Tensor, b: torch.Tensor, source: str, seed: Any = 0, valid_fraction: Any = 0.2,
                test_fraction: Any = 0.2, **options: Any) -> DataBundle:
    """Pairs generated or read as one set, split by fractions into a bundle (:func:`translation_bundle`)."""
    reject_unknown(options, source, option_names(split_pairs))
    rows = split_indices(len(a), int_option(seed, "seed", source), fraction_option(valid_fraction, "valid_fraction",
                         source), fraction_option(test_fraction, "test_fraction", source), source)
    splits = {k: (a[i], b[i]) for k, i in rows.items()}
    return translation_bundle(name, splits, "pairs", identity_baseline(a.shape[1], b.shape[1]))


def paired_jitter(a: torch.Tensor, b: torch.Tensor, generator: torch.Generator | None = None,
                  scale: float = JITTER_SCALE, flip: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Isola et al.'s random jitter, the same for A and B: both resized (bicubic) from H×W to
    round(scale·H)×round(scale·W) — 286 for 256 — cropped back to H×W at one random place per pair, and
    flipped left-right with probability 0.5 per pair. A and B travel as one tensor (concatenated on
    channels), so they cannot come apart. ``generator`` (on the CPU) draws the places; the global RNG
    when None."""
    n, ca, h, w = a.shape
    both = torch.cat([a, b], 1)
    big = (round(scale * h), round(scale * w))
    if big != (h, w):
        both = F.interpolate(both, size=big, mode="bicubic", align_corners=False).clamp(-1, 1)
    tops = torch.randint(0, big[0] - h + 1, (n,), generator=generator).to(a.device)
    lefts = torch.randint(0, big[1] - w + 1, (n,), generator=generator).to(a.device)
    rows = (tops[:, None] + torch.arange(h, device=a.device))[:, None, :, None]
    cols = (lefts[:, None] + torch.arange(w, device=a.device))[:, None, None, :]
    both = both.gather(2, rows.expand(n, both.shape[1], h, big[1])).gather(3, cols.expand(n, both.shape[1], h, w))
    if flip:
        mirrored = (torch.rand(n, generator=generator) < 0.5).to(a.device)
        both = torch.where(mirrored[:, None, None, None], both.flip(-1), both)
    return both[:, :ca], both[:, ca:]


# -- pairs:DIR --------------------------------------------------------------------------------------------------

def image_channels(files: list[Path]) -> int:
    """1 when every file is grayscale, else 3 (read from the headers)."""
    return 1 if all(read_header(f)[0] in GRAY_MODES for f in files) else 3


def folder_pairs(root: Path) -> list[tuple[Path, Path]]:
    """``(A file, B file)`` for each file of ``root/A`` and its partner of the same stem in ``root/B``."""
    sides = {}
    for side in ("A", "B"):
        files = image_files_under(existing_dir(root / side))
        if not files:
            raise DataError(f"{root / side}: holds no PNG/JPEG images")
        by_stem: dict[str, Path] = {}
        for f in files:
            stem = str(f.relative_to(root / side).with_suffix(""))
            if stem in by_stem:
                raise DataError(f"{f}: has the same name as {by_stem[stem].name}; a pair is matched by name")
            by_stem[stem] = f
        sides[side] = by_stem
    for mine, other in (("A", "B"), ("B", "A")):
        for stem, f in sides[mine].items():
            if stem not in sides[other]:
                raise DataError(f"{f}: has no partner in {root / other} (pairs are matched by name)")
    return [(sides["A"][stem], sides["B"][stem]) for stem in sorted(sides["A"])]


def read_folder_pairs(root: Path, size: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The A and B images of ``root/A`` and ``root/B`` in [−1, 1]; each pair must share its size, and,
    without ``size``, every pair the first pair's."""
    pairs = folder_pairs(root)
    channels = [image_channels([p[side] for p in pairs]) for side in (0, 1)]
    a_images, b_images, first = [], [], None
    for a_file, b_file in pairs:
        a, b = decode_image(a_file, channels[0]), decode_image(b_file, channels[1])
        if a.shape[1:] != b.shape[1:]:
            raise DataError(f"{b_file}: is {_size(b)}, its partner {a_file.name} is {_size(a)}; a pair's images "
                            "must have one size")
        first = first or (a_file, a.shape[1:])
        a_images.append(_fitted(a, size, a_file, first))
        b_images.append(_fitted(b, size, b_file, first))
    return torch.stack(a_images), torch.stack(b_images)


def read_aligned_pairs(root: Path, size: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The A|B side-by-side images of ``root`` split into their halves, in [−1, 1]."""
    files = image_files_under(root)
    if not files:
        raise DataError(f"{root}: holds no PNG/JPEG images (nor A/ and B/ folders)")
    channels = image_channels(files)
    a_images, b_images, first = [], [], None
    for file in files:
        both = decode_image(file, channels)
        width = both.shape[-1]
        if width % 2:
            raise DataError(f"{file}: is {width} pixels wide, an odd width; an aligned pair is A and B side by side "
                            "in two equal halves")
        a, b = both[..., : width // 2], both[..., width // 2:]
        first = first or (file, a.shape[1:])
        a_images.append(_fitted(a, size, file, first))
        b_images.append(_fitted(b, size, file, first))
    return torch.stack(a_images), torch.stack(b_images)


def _size(image: torch.Tensor) -> str:
    return f"{image.shape[-1]}×{image.shape[-2]}"


def _fitted(image: torch.Tensor, size: int | None, file: Path, first: tuple[Path, torch.Size]) -> torch.Tensor:
    """One image in [−1, 1], resized to ``size``; without it, it must have the first image's size."""
    if size is None and image.shape[1:] != first[1]:
        raise DataError(f"{file}: is {_size(image)}, the first pair ({first[0].name}) is {first[1][1]}×{first[1][0]}; "
                        "pass size=N to resize every pair to N×N")
    return resized(symmetric(image)[None], size)[0]


def read_pairs(root: Path, layout: str, size: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The pairs of one folder in ``layout`` (``auto``: ``folders`` where A/ and B/ exist)."""
    if layout == "auto":
        layout = "folders" if (root / "A").is_dir() and (root / "B").is_dir() else "aligned"
    return read_folder_pairs(root, size) if layout == "folders" else read_aligned_pairs(root, size)


def pairs_bundle(name: str, path: str, layout: str = "auto", direction: str = "AtoB", size: Any = None,
                 seed: Any = 0, valid_fraction: Any = 0.2, test_fraction: Any = 0.2, **options: Any) -> DataBundle:
    """Read a pairs folder (see the module's docstring) into a bundle; ``name`` names the set."""
    root = existing_dir(path)
    reject_unknown(options, path, option_names(pairs_bundle))
    choice_option(layout, LAYOUTS, "layout", path)
    choice_option(direction, DIRECTIONS, "direction", path)
    side = None if size is None else int_option(size, "size", path, minimum=1)
    seed = int_option(seed, "seed", path)
    fractions = {"valid": fraction_option(valid_fraction, "valid_fraction", path),
                 "test": fraction_option(test_fraction, "test_fraction", path)}
    folders = {k: root / v for k, v in SPLIT_FOLDERS.items() if (root / v).is_dir()}
    if "train" not in folders:
        a, b = read_pairs(root, layout, side)
        given = {}
    else:
        given = {k: read_pairs(folder, layout, side) for k, folder in folders.items()}
        a, b = given.pop("train")
        shapes = {k: (x.shape[1:], y.shape[1:]) for k, (x, y) in given.items()}
        for k, shape in shapes.items():
            if shape != (a.shape[1:], b.shape[1:]):
                raise DataError(f"{folders[k]}: its pairs are {shape[0][2]}×{shape[0][1]}, those of "
                                f"{folders['train']} {a.shape[3]}×{a.shape[2]}; pass size=N to resize all")
    rows = split_indices(len(a), seed, 0.0 if "valid" in given else fractions["valid"],
                         fractions["test"], path, have_test="test" in given)
    splits = {k: given[k] if k in given else (a[i], b[i]) for k, i in rows.items()}
    if direction == "BtoA":
        splits = {k: (y, x) for k, (x, y) in splits.items()}
    a_channels, b_channels = splits["train"][0].shape[1], splits["train"][1].shape[1]
    return translation_bundle(name, splits, "pairs", {"direction": direction, **identity_baseline(a_channels,
                                                                                                  b_channels)})


@FORMATS.register("pairs", summary="paired images for pix2pix: A|B side by side, or A/ and B/ by name; "
                                    "?direction=BtoA&size=N")
def pairs_format(path: str, **options: Any) -> DataBundle:
    """``pairs:DIR``: image pairs (see the module's docstring), in [−1, 1]."""
    return pairs_bundle(Path(path).resolve().name, path, **options)


# -- facades ------------------------------------------------------------------------------------------------------

FACADES_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/facades.tar.gz"  # the official download script's
FACADES_SOURCE = NamedSource("CMP Facades (pix2pix)", "facades", ("train", "val", "test"),
                             lambda: [Download(FACADES_URL, "", unpack=True)])


@DATASETS.register("facades", kind="pairs", source=FACADES_SOURCE,
                   summary="CMP Facades as pix2pix ships them: labels → photo, 400 / 100 / 106 pairs of 256×256")
def facades(direction: str = "BtoA", **options: Any) -> DataBundle:
    """The pix2pix paper's facades (Isola et al. §4; Tyleček & Šára 2013): photo|labels files in
    ``facades/{train,val,test}/``, trained labels → photo (``direction=BtoA``, as the official scripts)."""
    return pairs_bundle("facades", str(locate(FACADES_SOURCE)), layout="aligned", direction=direction, **options)


# -- embedded pairs -------------------------------------------------------------------------------------------

@DATASETS.register("shapes-pairs", kind="pairs",
                   summary="generated: a shape's mask → the photo-like scene holding it (64×64, 480 pairs)")
def shapes_pairs(count: Any = 480, size: Any = 64, **options: Any) -> DataBundle:
    """``count`` scenes of ``size``² (a circle, square or triangle on a crop of scikit-learn's photos,
    :func:`~deepzoo.data.shapes.render_scene`), one kind after another; A is the shape's mask (1 channel,
    −1 outside and 1 inside), B the RGB scene. The shape's colour and the background are random, so the
    mask fixes only the outline: like facades' labels, a map with many plausible photos."""
    from .shapes import render_scene

    count, side = int_option(count, "count", "shapes-pairs", 1), int_option(size, "size", "shapes-pairs", 1)
    rng = np.random.default_rng(DATA_SEED)
    kinds = ("circle", "square", "triangle")
    masks, scenes = [], []
    for i in range(count):
        image, mask = render_scene(kinds[i % len(kinds)], rng, (side, side))
        scenes.append(torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1))
        masks.append(torch.tensor(mask, dtype=torch.float32)[None])
    return split_pairs("shapes-pairs", symmetric(torch.stack(masks)), symmetric(torch.stack(scenes)), "shapes-pairs",
                       **options)


def sobel_edges(images: torch.Tensor, threshold: float = EDGE_THRESHOLD) -> torch.Tensor:
    """Binary edge maps (N, 1, H, W) in {0, 1} of images (N, 1, H, W): the Sobel gradient magnitude
    above ``threshold`` × its largest value in each image."""
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    kernels = torch.stack([kx, kx.T])[:, None]
    gradient = F.conv2d(F.pad(images, (1, 1, 1, 1), mode="replicate"), kernels)
    magnitude = gradient.square().sum(1, keepdim=True).sqrt()
    peak = magnitude.flatten(1).amax(1).clamp_min(1e-8)[:, None, None, None]
    return (magnitude > threshold * peak).float()


@DATASETS.register("digits-edges", kind="pairs",
                   summary="scikit-learn's digits upscaled to 32×32: Sobel edge map → digit, 1797 pairs")
def digits_edges(size: Any = 32, count: Any = None, **options: Any) -> DataBundle:
    """scikit-learn's 1797 digits (8×8, 0..16; the first ``count`` of them) upscaled to ``size``² (bicubic,
    clamped to [0, 1]); A is the edge map (:func:`sobel_edges`), B the digit, both in [−1, 1]."""
    from sklearn.datasets import load_digits

    side = int_option(size, "size", "digits-edges", 8)
    images = load_digits().images[:None if count is None else int_option(count, "count", "digits-edges", 1)]
    digits = torch.from_numpy(images.astype(np.float32) / 16.0)[:, None]
    digits = F.interpolate(digits, size=(side, side), mode="bicubic", align_corners=False).clamp(0, 1)
    return split_pairs("digits-edges", symmetric(sobel_edges(digits)), symmetric(digits), "digits-edges", **options)

