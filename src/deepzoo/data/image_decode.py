"""Reading image files: a cheap header check (mode and size, decompression bombs) and the decoding of one
file to a uint8 tensor, the same for in-memory sets, streaming sets and ``predict``.

JPEG files are decoded by ``torchvision.io.decode_jpeg`` (libjpeg-turbo), everything else by Pillow.
Measured on the 2-core CPU dev machine at 500×375 (``benchmarks/image_streaming.py``, one thread,
median): 0.64 ms per JPEG against Pillow's 1.29 ms, with the same pixels for RGB files and for
grayscale files read as RGB (grayscale from an RGB file goes through Pillow's own conversion).
torchvision 0.29 deprecates its decoders in favour of TorchCodec (not a dependency here), so the
warning is silenced where the call is made. Where ``decode_jpeg`` declines a file (CMYK, arithmetic
coding, a broken stream) Pillow reads it, so a corrupt file is described by Pillow's message either way.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..errors import DataError, one_line

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
GRAY_MODES = ("1", "L", "LA")  # 8-bit (or 1-bit) grayscale, alpha dropped
DEEP_MODES = ("I", "F")  # 16/32-bit integer and float pixels (mode names start with these)
#: torchvision 0.29's deprecation notice of its image decoders (TorchCodec replaces them)
_DECODER_DEPRECATION = "The image decoding and encoding capabilities of TorchVision are deprecated"


@contextlib.contextmanager
def _reading(path: str | Path):
    """Turn what Pillow raises on a bad file into one :class:`DataError` line naming it.

    Truncated files fail (Pillow's default, ``LOAD_TRUNCATED_IMAGES = False``), and images beyond
    Pillow's ``MAX_IMAGE_PIXELS`` guard are refused as possible decompression bombs: the guard's
    warning (above the limit) is raised as an error here, as Pillow itself does at twice the limit.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            warnings.filterwarnings("ignore", message=_DECODER_DEPRECATION)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise DataError(f"{path}: refused as a possible decompression bomb ({one_line(err)})") from None
    except (OSError, ValueError, SyntaxError) as err:  # UnidentifiedImageError is an OSError
        raise DataError(f"{path}: cannot be read as an image ({one_line(err)})") from None


def _check_depth(image: Image.Image, path: str | Path) -> None:
    if image.mode.startswith(DEEP_MODES):
        raise DataError(f"{path}: pixel mode {image.mode} is not supported; save 8-bit images")


def read_header(path: str | Path) -> tuple[str, int, int]:
    """``(mode, height, width)`` from the file's header alone (Pillow opens lazily, nothing is decoded):
    0.04 ms per 500×375 JPEG on the 2-core CPU dev machine, so a whole folder is checked before
    training starts."""
    with _reading(path), Image.open(path) as image:
        _check_depth(image, path)
        return image.mode, image.height, image.width


def decode_image(path: str | Path, channels: int) -> torch.Tensor:
    """The pixels of one file as uint8 (C, H, W), with ``channels`` 1 (grayscale) or 3 (RGB).

    Grayscale becomes RGB by repetition and RGB becomes grayscale by Pillow's ITU-R 601-2 luma; an
    alpha channel is dropped, palettes are expanded. A bad file is one :class:`DataError` line.
    """
    with _reading(path), Image.open(path) as image:
        _check_depth(image, path)
        gray = image.mode in GRAY_MODES
        if image.format == "JPEG" and image.mode in ("L", "RGB") and (channels == 3 or gray):
            pixels = _decode_jpeg(path, channels)
            if pixels is not None:
                return pixels
        pixels = torch.from_numpy(np.array(image.convert("L" if channels == 1 else "RGB"), dtype=np.uint8))
    return pixels[None] if channels == 1 else pixels.permute(2, 0, 1)


def _decode_jpeg(path: str | Path, channels: int) -> torch.Tensor | None:
    """libjpeg-turbo through torchvision; None where it declines the file (Pillow then reads it and
    names the problem)."""
    from torchvision.io import ImageReadMode, decode_jpeg

    with open(path, "rb") as f:
        data = bytearray(f.read())
    mode = ImageReadMode.GRAY if channels == 1 else ImageReadMode.RGB
    try:
        return decode_jpeg(torch.frombuffer(data, dtype=torch.uint8), mode=mode)
    except RuntimeError:
        return None
