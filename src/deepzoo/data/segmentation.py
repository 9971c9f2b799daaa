"""Segmentation data: images with a class number per pixel — ``segfolder:DIR``, the embedded ``shapes``
scenes and (through :mod:`~deepzoo.data.named_photos`) the Oxford-IIIT Pet trimaps.

A segmentation bundle's splits are :class:`TensorSplit` s of normalised float32 images (N, C, H, W) and
uint8 masks (N, H, W) of class indices, with :data:`IGNORE_INDEX` (255, the PASCAL VOC convention) on
pixels that count for nothing — borders, "void", the padding of an augmentation. ``meta.task`` is
``segmentation``; ``meta.extra`` holds the image geometry (for ``predict``), the ignore index and the
masks' palette (the colours of a palette PNG's classes, written back into predicted masks).

**Masks** are PNG files (JPEG's lossy compression would change class numbers at the edges) of one class
number per pixel: mode L or I (the value is the class), 1 (0/1), or P — a palette image, whose pixel
value is an index into its palette: that index is the class, and the palette is read and kept. An RGB
mask (a class per colour) is refused in one line: save it as a palette PNG.

**Geometry**: every image must have its mask's size. Without ``size=`` every image must have the same
size; with ``size=H`` or ``HxW`` the shorter side is resized to cover it and the centre is cropped —
the image with ``interpolation`` (bilinear), the mask with nearest neighbour, so no label is ever
interpolated.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..errors import DataError
from . import DATASETS, FORMATS
from .build import NORMALIZE_MODES, reject_unknown
from .bundle import DataBundle, DatasetMeta, TensorSplit
from .formats_common import choice_option, existing_dir, int_option, whitespace_rows
from .formats_images import image_files_under
from .image_decode import GRAY_MODES, _reading, decode_image, read_header
from .image_files import CHUNK, SPLIT_OPTIONS, ImageOptions, _normalization, _normalized, _split_indices
from .image_geometry import ImageGeometry
from .shapes import render_shapes

#: the mask value of pixels that count for nothing (PASCAL VOC's border/void label)
IGNORE_INDEX = 255
#: the options of a segmentation set: the image geometry and normalisation, and the split's
#: (``memory_budget``, which the run passes to photo sets, is taken but a segmentation set is always in memory)
OPTIONS = ("size", "resize", "interpolation", "mean", "std", "memory_budget", *SPLIT_OPTIONS)
#: PIL modes whose pixel values are class numbers (P: palette indices)
MASK_MODES = ("L", "P", "1", "I", "I;16")
TASK = "segmentation"


# -- the bundle ---------------------------------------------------------------------------------------
def segmentation_bundle(name: str, images: torch.Tensor, masks: torch.Tensor, class_names: list[str], source: str,
                        geometry: ImageGeometry, palette: list[list[int]] | None = None,
                        test_index: np.ndarray | None = None, **options: Any) -> DataBundle:
    """uint8 ``images`` (N, C, H, W) and ``masks`` (N, H, W) as a split, normalised bundle: the publisher's
    ``test_index`` or ``test_fraction`` (0.2), then ``valid_fraction`` (0.2) of the rest, seeded by
    ``seed``; the normalisation from the training split (``normalize=standard``), fixed ``mean``/``std``,
    ``symmetric`` or ``none``, as for image folders."""
    opts = ImageOptions.parse(options, source)
    normalize = choice_option(str(opts.split.get("normalize", "standard")), NORMALIZE_MODES, "normalize", source)
    index = _split_indices(np.zeros(len(images)), TASK, test_index, None, opts.split, source)
    train = index["train"]
    normalization = _normalization(opts, normalize, images.shape[1], source,
                                   lambda: (images[train[i:i + CHUNK]] for i in range(0, len(train), CHUNK)))
    value_range = None
    if normalize == "none" and opts.mean is None:
        value_range = (float(images[train].min()) / 255, float(images[train].max()) / 255)
    elif normalize == "symmetric" and opts.mean is None:
        value_range = (-1.0, 1.0)
    extra: dict[str, Any] = {"image_geometry": geometry.to_dict(), "ignore_index": IGNORE_INDEX}
    if palette is not None:
        extra["palette"] = palette
    meta = DatasetMeta(
        name=name, task=TASK, input_shape=geometry.shape, num_classes=len(class_names), class_names=class_names,
        task_reason=f"a class per pixel ({len(class_names)} classes) → segmentation: per-pixel cross-entropy",
        mean=None if normalization.mean is None else list(normalization.mean),
        std=None if normalization.std is None else list(normalization.std), value_range=value_range, extra=extra)
    splits = {part: TensorSplit(_normalized(images, rows, normalization), masks[torch.from_numpy(rows)])
              for part, rows in index.items()}
    return DataBundle(**splits, meta=meta)


# -- reading masks ----------------------------------------------------------------------------------------
def read_mask(path: str | Path) -> tuple[np.ndarray, list[list[int]] | None]:
    """A mask file's class numbers (H, W) as int64, and its palette's RGB colours when it is a palette
    image (None otherwise); anything but a class-index PNG is one :class:`DataError` line."""
    if Path(path).suffix.lower() != ".png":
        raise DataError(f"{path}: masks must be PNG files (lossy JPEG changes class numbers at the edges)")
    with _reading(path), Image.open(path) as image:
        if image.mode not in MASK_MODES:
            raise DataError(f"{path}: a {image.mode} image is not a mask; save one class number per pixel "
                            "(a mode L, I or P — palette — PNG)")
        values = np.asarray(image, dtype=np.int64)
        colours = image.getpalette() if image.mode == "P" else None
    palette = None if colours is None else [colours[i:i + 3] for i in range(0, len(colours), 3)]
    return values, palette


def check_classes(values: np.ndarray, num_classes: int, path: str | Path, what: str) -> None:
    """Refuse a class number that is neither a class (0 … K−1) nor the ignore index, naming the first
    pixel that holds one."""
    bad = (values >= num_classes) & (values != IGNORE_INDEX)
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        raise DataError(f"{path}: class {values[row, column]} at row {row}, column {column} is not one of "
                        f"{what} (0–{num_classes - 1}; {IGNORE_INDEX} = ignored)")


def _geometry(headers: list[tuple[Path, str, int, int]], opts: ImageOptions) -> ImageGeometry:
    """The set's geometry: grayscale when every image is, the ``size=`` crop (the shorter side resized to
    cover it, or to ``resize``) or the one size every image must have."""
    channels = 1 if all(mode in GRAY_MODES for _, mode, _, _ in headers) else 3
    if opts.size is not None:
        return ImageGeometry(channels, opts.size, opts.resize or max(opts.size), opts.interpolation)
    first, _, height, width = headers[0]
    for path, _, h, w in headers:
        if (h, w) != (height, width):
            raise DataError(f"{path}: is {h}×{w} pixels but {first} is {height}×{width}; give size=H or size=HxW "
                            "to resize and crop every image and mask")
    return ImageGeometry(channels, native=(height, width))


def read_image_masks(images: Sequence[Path], masks: Sequence[Path], source: str, num_classes: int | None = None,
                     classes_from: str = "the classes", mask_values: np.ndarray | None = None, **options: Any):
    """Decode every image and its mask into uint8 tensors of one geometry: ``(images (N, C, H, W), masks
    (N, H, W), geometry, palette, num_classes, remaining options)``.

    ``mask_values`` maps a file's values to classes (a 256-entry table; −1 marks a value that is an
    error: the trimaps' 1/2/3). Each mask must have its image's size, and hold classes 0 … K−1 or the
    ignore index; ``num_classes`` K is given (a ``classes.txt``), else the largest class found + 1. The
    palette is the first palette mask's, cut to K colours."""
    given = {k: options.pop(k) for k in OPTIONS if k in options}
    reject_unknown(options, source, OPTIONS)
    opts = ImageOptions.parse(dict(given), source)
    if not images:
        raise DataError(f"{source}: the dataset is empty")
    headers = [(path, *read_header(path)) for path in images]
    geometry = _geometry(headers, opts)
    labels = ImageGeometry(1, geometry.size, geometry.resize, "nearest", geometry.native)
    pixels = torch.empty((len(images), *geometry.shape), dtype=torch.uint8)
    found, palette = [], None
    for i, ((image_path, _, height, width), mask_path) in enumerate(zip(headers, masks, strict=True)):
        values, colours = read_mask(mask_path)
        if values.shape != (height, width):
            raise DataError(f"{mask_path}: is {values.shape[0]}×{values.shape[1]} pixels but its image {image_path} "
                            f"is {height}×{width}")
        if mask_values is not None:
            values = _mapped(values, mask_values, mask_path)
        if num_classes is not None:
            check_classes(values, num_classes, mask_path, classes_from)
        elif values.max() > IGNORE_INDEX:
            check_classes(values, IGNORE_INDEX, mask_path, "the classes a PNG mask can hold")
        palette = palette or colours
        pixels[i] = geometry.evaluate(decode_image(image_path, geometry.channels))
        found.append(labels.evaluate(torch.from_numpy(values.astype(np.uint8))[None])[0])
    mask_tensor = torch.stack(found)
    if num_classes is None:
        labelled = mask_tensor[mask_tensor != IGNORE_INDEX]
        num_classes = int(labelled.max()) + 1 if len(labelled) else 1
    return pixels, mask_tensor, geometry, None if palette is None else palette[:num_classes], num_classes, given


def value_table(mapping: dict[int, int]) -> np.ndarray:
    """A 256-entry table of the classes a mask file's values stand for (−1: a value that may not occur)."""
    table = np.full(256, -1, dtype=np.int64)
    for value, label in mapping.items():
        table[value] = label
    return table


def _mapped(values: np.ndarray, table: np.ndarray, path: Path) -> np.ndarray:
    """``values`` through a 256-entry class table; a value the table marks −1 (or beyond it) is an error."""
    known = np.flatnonzero(table >= 0)
    inside = (values >= 0) & (values < len(table))
    out = np.where(inside, table[np.clip(values, 0, len(table) - 1)], -1)
    if (out < 0).any():
        row, column = (int(i) for i in np.argwhere(out < 0)[0])
        raise DataError(f"{path}: value {values[row, column]} at row {row}, column {column} is not one of "
                        f"{', '.join(map(str, known))}")
    return out


# -- segfolder: --------------------------------------------------------------------------------------------
def read_class_names(path: Path) -> list[str]:
    """``classes.txt``: one class name per non-blank line, class 0 first."""
    names = [" ".join(fields) for _, fields in whitespace_rows(path)]
    if not names:
        raise DataError(f"{path}: names no class (one class name per line, class 0 first)")
    return names


def paired_masks(root: Path) -> tuple[list[Path], list[Path]]:
    """The images under ``root/images`` and their masks, ``root/masks/<the same relative name>.png``; an
    image without a mask, or a mask without an image, is one line naming the file."""
    images_dir, masks_dir = existing_dir(root / "images"), existing_dir(root / "masks")
    images = image_files_under(images_dir)
    if not images:
        raise DataError(f"{images_dir}: holds no .png/.jpg/.jpeg images")
    masks = [masks_dir / image.relative_to(images_dir).with_suffix(".png") for image in images]
    for image, mask in zip(images, masks):
        if not mask.is_file():
            raise DataError(f"{image}: has no mask (expected {mask})")
    stems = {image.relative_to(images_dir).with_suffix("") for image in images}
    for mask in image_files_under(masks_dir):
        if mask.relative_to(masks_dir).with_suffix("") not in stems:
            raise DataError(f"{mask}: has no image of the same name in {images_dir}")
    return images, masks


@FORMATS.register("segfolder", summary="images/ and masks/ (class-index or palette PNGs) with matching names; "
                                       "classes.txt optional; ?size=H[xW]")
def segfolder_format(path: str, **options: Any) -> DataBundle:
    """A segmentation folder: ``images/`` (PNG/JPEG, sub-folders allowed), ``masks/`` with a PNG of the same
    relative name for each image, and optionally ``classes.txt`` (one name per line, class 0 first; without
    it the classes are 0 … the largest found, named by their numbers). See the module docstring for the
    masks and the geometry; options ``size``, ``resize``, ``interpolation``, ``mean``/``std`` and the
    split's ``seed``, ``valid_fraction``, ``test_fraction``, ``normalize``."""
    root = existing_dir(path)
    names_file = root / "classes.txt"
    names = read_class_names(names_file) if names_file.is_file() else None
    images, masks = paired_masks(root)
    pixels, labels, geometry, palette, k, options = read_image_masks(
        images, masks, str(path), None if names is None else len(names), f"the {len(names or ())} classes of "
        f"{names_file}", **options)
    return segmentation_bundle(root.resolve().name, pixels, labels, names or [str(c) for c in range(k)], str(path),
                               geometry, palette, **options)


# -- shapes: the embedded set ---------------------------------------------------------------------------------
SHAPE_CLASSES = ["background", "circle", "square", "triangle"]
#: a shape's radius as a fraction of the image side: several fit in one image
SHAPE_RADIUS = (0.15, 0.3)
DATA_SEED = 0  # the embedded data never changes; the run's seed only picks the split


@DATASETS.register("shapes", kind="masks",
                   summary="generated photos with 1–3 circles, squares and triangles and their masks (64×64, 512)")
def shapes(count: int | str = 512, size: int | str = 64, max_shapes: int | str = 3, **options: Any) -> DataBundle:
    """``count`` generated RGB scenes of ``size``×``size`` (:func:`~deepzoo.data.shapes.render_shapes`: a
    crop of a sample photo — a textured background — with 1 to ``max_shapes`` filled shapes of random
    kind, size, place, tilt and colour, later ones covering earlier ones) and their masks: background 0,
    circle 1, square 2, triangle 3. Fixed data (seed 0); the run's seed picks the split."""
    source = "shapes"
    count = int_option(count, "count", source, minimum=2)
    side = int_option(size, "size", source, minimum=8)
    most = int_option(max_shapes, "max_shapes", source, minimum=1)
    rng = np.random.default_rng(DATA_SEED)
    images = torch.empty((count, 3, side, side), dtype=torch.uint8)
    masks = torch.zeros((count, side, side), dtype=torch.uint8)
    for i in range(count):
        kinds = [SHAPE_CLASSES[1 + k] for k in rng.integers(0, 3, size=rng.integers(1, most + 1))]
        image, drawn = render_shapes(kinds, rng, (side, side), SHAPE_RADIUS)
        images[i] = torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1)
        for kind, mask in zip(kinds, drawn):
            masks[i][torch.from_numpy(mask)] = SHAPE_CLASSES.index(kind)
    geometry = ImageGeometry(3, native=(side, side))
    return segmentation_bundle(source, images, masks, list(SHAPE_CLASSES), source, geometry, **options)


# -- writing masks --------------------------------------------------------------------------------------------
def voc_palette(count: int) -> list[list[int]]:
    """The PASCAL VOC colour map's first ``count`` colours (class 0 black, 1 dark red, 2 dark green …): the
    bits of the class number spread over the high bits of R, G and B (Everingham et al.'s devkit)."""
    colours = []
    for label in range(count):
        r = g = b = 0
        c = label
        for shift in range(7, -1, -1):
            r |= (c & 1) << shift
            g |= ((c >> 1) & 1) << shift
            b |= ((c >> 2) & 1) << shift
            c >>= 3
        colours.append([r, g, b])
    return colours


#: the colour of ignored pixels (PASCAL VOC's void colour)
IGNORE_COLOUR = [224, 224, 192]


def mask_palette(meta: DatasetMeta) -> list[list[int]]:
    """The colour of each class: the masks' own palette, else the PASCAL VOC colour map."""
    return meta.extra.get("palette") or voc_palette(meta.num_classes)


def mask_image(mask: torch.Tensor | np.ndarray, palette: list[list[int]]) -> Image.Image:
    """A class map (H, W) as a palette PNG image: the pixel value is the class (255: ignored), the palette
    gives its colour."""
    values = np.asarray(mask.cpu() if torch.is_tensor(mask) else mask, dtype=np.uint8)
    image = Image.frombytes("P", (values.shape[1], values.shape[0]), values.tobytes())
    colours = [c for colour in palette for c in colour]
    colours += [0] * (3 * IGNORE_INDEX - len(colours)) + IGNORE_COLOUR
    image.putpalette(colours)
    return image
