"""Image formats: ``imagefolder:`` (one subfolder of PNG/JPEG files per class) and ``mnist:`` (the
IDX files of MNIST and Fashion-MNIST, LeCun et al. 1998). Pixels become float32 in [0, 1], (N, C, H, W).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..errors import DataError, one_line
from . import FORMATS
from .build import RawData, build_bundle
from .bundle import DataBundle
from .formats_common import existing_dir, read_prefix_and_body

# -- imagefolder ----------------------------------------------------------------------------------

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
GRAY_MODES = ("1", "L", "LA")  # 8-bit (or 1-bit) grayscale, alpha dropped
DEEP_MODES = ("I", "F")  # 16/32-bit integer and float pixels (mode names start with these)


def parse_size(value: str | int, source: str) -> tuple[int, int]:
    """``size=H`` (square) or ``size=HxW`` as ``(height, width)``."""
    try:
        dims = [int(part) for part in str(value).lower().split("x")]
    except ValueError:
        dims = []
    if len(dims) == 1:
        dims *= 2
    if len(dims) != 2 or min(dims) < 1:
        raise DataError(f"{source}: option size={value!r} should be H or HxW with positive integers")
    return dims[0], dims[1]


def read_image(path: Path, size: tuple[int, int] | None, mode: str | None = None) -> np.ndarray:
    """One image as uint8 (H, W) when grayscale or (H, W, 3) otherwise, resized to ``size`` if given;
    ``mode`` (``"L"`` or ``"RGB"``) converts every image to that mode instead.

    Truncated files fail (Pillow's default, ``LOAD_TRUNCATED_IMAGES = False``), and images beyond
    Pillow's ``MAX_IMAGE_PIXELS`` guard are refused as possible decompression bombs: the guard's
    warning (above the limit) is raised as an error here, as Pillow itself does at twice the limit.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.load()
                if image.mode.startswith(DEEP_MODES):
                    raise DataError(f"{path}: pixel mode {image.mode} is not supported; save 8-bit images")
                image = image.convert(mode or ("L" if image.mode in GRAY_MODES else "RGB"))
                if size is not None and image.size != (size[1], size[0]):
                    image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
                return np.asarray(image, dtype=np.uint8)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise DataError(f"{path}: refused as a possible decompression bomb ({one_line(err)})") from None
    except (OSError, ValueError, SyntaxError) as err:  # UnidentifiedImageError is an OSError
        raise DataError(f"{path}: cannot be read as an image ({one_line(err)})") from None


def _visible(path: Path, root: Path) -> bool:
    return not any(part.startswith(".") for part in path.relative_to(root).parts)


def image_folder_files(root: Path) -> list[tuple[str, list[Path]]]:
    """``[(class name, sorted image files)]`` for each subfolder of ``root`` (searched recursively)."""
    classes = sorted(p for p in root.iterdir() if p.is_dir() and _visible(p, root))
    if not classes:
        raise DataError(f"{root}: no class subfolders; put each class's images in a folder named after it")
    found = []
    for folder in classes:
        files = sorted(p for p in folder.rglob("*")
                       if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() and _visible(p, folder))
        if not files:
            raise DataError(f"{folder}: the class folder holds no {'/'.join(IMAGE_SUFFIXES)} images")
        found.append((folder.name, files))
    return found


def imagefolder_raw(path: str, size: str | None = None) -> RawData:
    """Read an image folder into :class:`RawData`: x (N, C, H, W) in [0, 1], y the class index.

    C is 1 when every image is grayscale, else 3 (grayscale images are repeated into three channels,
    as Pillow's L → RGB conversion does). Without ``size`` every image must have the first one's size.
    """
    root = existing_dir(path)
    target = None if size is None else parse_size(size, path)
    images: list[np.ndarray] = []
    labels: list[int] = []
    names = []
    first: Path | None = None
    for label, (name, files) in enumerate(image_folder_files(root)):
        names.append(name)
        for file in files:
            pixels = read_image(file, target)
            if first is None:
                first = file
            elif pixels.shape[:2] != images[0].shape[:2]:
                (h, w), (h0, w0) = pixels.shape[:2], images[0].shape[:2]
                raise DataError(f"{file}: is {h}×{w} pixels but {first} is {h0}×{w0}; "
                                "give size=H or size=HxW to resize every image")
            images.append(pixels)
            labels.append(label)
    if all(a.ndim == 2 for a in images):
        x = np.stack(images)[:, None]
    else:
        x = np.stack([a if a.ndim == 3 else np.repeat(a[..., None], 3, axis=2) for a in images])
        x = x.transpose(0, 3, 1, 2)
    return RawData(root.resolve().name, x.astype(np.float32) / 255.0, np.array(labels, dtype=np.int64),
                   class_names=names, source=str(path))


@FORMATS.register("imagefolder", summary="one subfolder of PNG/JPEG images per class; ?size=H[xW]")
def imagefolder_format(path: str, size: str | None = None, **options: Any) -> DataBundle:
    """An image folder (see :func:`imagefolder_raw`), split and normalised by :func:`build_bundle`."""
    return build_bundle(imagefolder_raw(path, size), **options)


# -- MNIST IDX files ------------------------------------------------------------------------------

IDX_MAGIC = {"images": 0x00000803, "labels": 0x00000801}  # 0, 0, type 0x08 (unsigned byte), ndim
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
MNIST_CLASSES = 10


def find_idx_file(root: Path, name: str) -> Path:
    """``name`` in ``root``, raw or gzipped, with ``-idx`` or the ``.idx`` spelling some mirrors use."""
    for stem in (name, name.replace("-idx", ".idx")):
        for candidate in (root / stem, root / f"{stem}.gz"):
            if candidate.is_file():
                return candidate
    raise DataError(f"{root}: missing {name} (or {name}.gz)")


def read_idx(path: Path, kind: str) -> np.ndarray:
    """Parse an unsigned-byte IDX file: a 4-byte magic number (0, 0, 0x08, ndim), ndim big-endian
    uint32 sizes, then the values in C order. The file must hold exactly what the header describes;
    it is read (and, gzipped, decompressed) no further than that, plus one byte."""
    magic = IDX_MAGIC[kind]
    ndim = magic & 0xFF
    offset = 4 + 4 * ndim

    def body_size(head: bytes) -> int:
        found = int.from_bytes(head[:4], "big")
        if found != magic:
            raise DataError(f"{path}: bad magic number 0x{found:08x}; an IDX {kind} file starts with "
                            f"0x{magic:08x}")
        return math.prod(int(d) for d in np.frombuffer(head, ">u4", count=ndim, offset=4))

    head, body = read_prefix_and_body(path, offset, body_size)
    if len(head) < 4:
        raise DataError(f"{path}: {len(head)} bytes is too short for an IDX file")
    if len(head) < offset:
        body_size(head + bytes(offset - len(head)))  # a bad magic number is the clearer message
        raise DataError(f"{path}: truncated inside the header ({len(head)} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(head, ">u4", count=ndim, offset=4))
    expected = math.prod(shape)
    if len(body) != expected:
        problem = "truncated" if len(body) < expected else "longer than its header says"
        size = f"{offset + len(body)} bytes" if len(body) < expected else "more"
        raise DataError(f"{path}: {problem}: the header describes {'×'.join(map(str, shape))} values "
                        f"({offset + expected} bytes with the header) but the file has {size}")
    return np.frombuffer(body, np.uint8).reshape(shape)


def _mnist_split(root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    images_file, labels_file = (find_idx_file(root, name) for name in MNIST_FILES[split])
    images, labels = read_idx(images_file, "images"), read_idx(labels_file, "labels")
    if len(images) != len(labels):
        raise DataError(f"{images_file}: {len(images)} images but {labels_file.name} has "
                        f"{len(labels)} labels")
    out_of_range = np.flatnonzero(labels >= MNIST_CLASSES)
    if len(out_of_range):
        i = int(out_of_range[0])
        raise DataError(f"{labels_file}: label {labels[i]} of item {i} is outside 0..{MNIST_CLASSES - 1}")
    return images[:, None].astype(np.float32) / 255.0, labels.astype(np.int64)


def mnist_raw(path: str) -> RawData:
    """Read the four MNIST IDX files of a folder; the ``t10k`` pair is the test split."""
    root = existing_dir(path)
    x, y = _mnist_split(root, "train")
    x_test, y_test = _mnist_split(root, "test")
    if x.shape[1:] != x_test.shape[1:]:
        raise DataError(f"{path}: train images are {x.shape[2:]} but t10k images are {x_test.shape[2:]}")
    return RawData("mnist", x, y, x_test=x_test, y_test=y_test,
                   class_names=[str(c) for c in range(MNIST_CLASSES)], source=str(path))


@FORMATS.register("mnist", summary="MNIST/Fashion-MNIST IDX files (raw or .gz); t10k = test split")
def mnist_format(path: str, **options: Any) -> DataBundle:
    """MNIST-layout IDX files (see :func:`mnist_raw`), split and normalised by :func:`build_bundle`."""
    return build_bundle(mnist_raw(path), **options)
