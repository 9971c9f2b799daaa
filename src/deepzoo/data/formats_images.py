"""Image formats: ``imagefolder:`` (one subfolder of PNG/JPEG files per class, read by
:mod:`~deepzoo.data.image_files`) and ``mnist:`` (the IDX files of MNIST and Fashion-MNIST, LeCun et al.
1998). Pixels become float32 in [0, 1], (N, C, H, W), before normalisation.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from . import FORMATS
from .build import RawData, build_bundle
from .bundle import DataBundle
from .formats_common import existing_dir, read_prefix_and_body
from .image_decode import IMAGE_SUFFIXES
from .image_files import image_files_bundle

# -- imagefolder ----------------------------------------------------------------------------------

def _visible(path: Path, root: Path) -> bool:
    return not any(part.startswith(".") for part in path.relative_to(root).parts)


def image_files_under(root: Path) -> list[Path]:
    """Every PNG/JPEG file below ``root`` (searched recursively, hidden files and folders left out),
    sorted by path."""
    return sorted(p for p in root.rglob("*")
                  if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() and _visible(p, root))


def image_folder_files(root: Path) -> list[tuple[str, list[Path]]]:
    """``[(class name, sorted image files)]`` for each subfolder of ``root`` (searched recursively)."""
    classes = sorted(p for p in root.iterdir() if p.is_dir() and _visible(p, root))
    if not classes:
        raise DataError(f"{root}: no class subfolders; put each class's images in a folder named after it")
    found = []
    for folder in classes:
        files = image_files_under(folder)
        if not files:
            raise DataError(f"{folder}: the class folder holds no {'/'.join(IMAGE_SUFFIXES)} images")
        found.append((folder.name, files))
    return found


@FORMATS.register("imagefolder", image_files=True,
                  summary="one subfolder of PNG/JPEG images per class; ?size=H[xW]&stream=true")
def imagefolder_format(path: str, **options: Any) -> DataBundle:
    """An image folder: one subfolder of images per class, read by
    :func:`~deepzoo.data.image_files.image_files_bundle` (in memory or streaming, ``size=`` crops,
    ``skip_bad``; see docs/data.md). Without ``size`` every image must have the first one's size.
    C is 1 when every image is grayscale, else 3."""
    root = existing_dir(path)
    found = image_folder_files(root)
    files = [file for _, class_files in found for file in class_files]
    labels = np.repeat(np.arange(len(found)), [len(class_files) for _, class_files in found])
    return image_files_bundle(root.resolve().name, files, labels, [name for name, _ in found], str(path), **options)


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
