"""Clips of frames for next-frame prediction: each item is ``context`` consecutive frames stacked on
channels (k·C, H, W) and the frame that follows (C, H, W), in [−1, 1].

Sources:

- ``frames:DIR`` — one subfolder per clip holding its frames as PNG/JPEG files numbered in their
  names (``0.png``, ``frame_0001.jpg`` …: the last number of the name orders them; numbers must follow
  one another without a gap). Every clip yields its windows of ``context`` + 1 frames. Clips, not
  windows, are split into train / valid / test (``valid_fraction``, ``test_fraction``, 0.2 each), so no
  frame of a test clip is ever trained on. ``size=N`` resizes the frames to N×N.
- ``moving-digits`` — Srivastava et al. 2015's Moving MNIST idea, scaled down to what ships offline:
  ``digits`` (2) of scikit-learn's 8×8 digits, upscaled to ``digit_size`` (12), move in straight lines at
  1–3 pixels per frame on a ``size``² (32) black canvas and bounce off its edges; overlapping digits
  take the brighter pixel. ``clips`` (400) clips of ``frames`` (10) frames, generated from a fixed seed.

The baseline every next-frame score is read against is the last context frame copied
(``meta.extra["copy_baseline"]``): a model must beat "nothing moves".
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import DataError
from . import DATASETS, FORMATS
from .build import option_names, reject_unknown
from .bundle import DataBundle
from .formats_common import existing_dir, int_option
from .formats_images import image_files_under
from .graphs import fraction_option
from .image_decode import decode_image
from .pairs import DATA_SEED, image_channels, resized, split_indices, symmetric, translation_bundle

CONTEXT = 3  # frames the generator sees by default
NUMBER = re.compile(r"(\d+)(?!.*\d)")  # the last number in a file's stem


def windows(clip: torch.Tensor, context: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All (``context`` stacked frames, next frame) of a clip (T, C, H, W): T − context items of
    (context·C, H, W) and (C, H, W)."""
    t, c, h, w = clip.shape
    starts = range(t - context)
    inputs = torch.stack([clip[s:s + context].reshape(context * c, h, w) for s in starts])
    return inputs, clip[context:]


def clips_bundle(name: str, clips: list[torch.Tensor], source: str, context: Any = CONTEXT, seed: Any = 0,
                 valid_fraction: Any = 0.2, test_fraction: Any = 0.2, **options: Any) -> DataBundle:
    """Clips (each (T, C, H, W) in [−1, 1]) split by clip, then cut into windows (:func:`windows`)."""
    reject_unknown(options, source, option_names(clips_bundle))
    k = int_option(context, "context", source, minimum=1)
    short = [i for i, clip in enumerate(clips) if len(clip) < k + 1]
    if short:
        raise DataError(f"{source}: clip {short[0]} has {len(clips[short[0]])} frame(s); context={k} needs {k + 1} "
                        "(the context and the frame to predict)")
    rows = split_indices(len(clips), int_option(seed, "seed", source),
                         fraction_option(valid_fraction, "valid_fraction", source),
                         fraction_option(test_fraction, "test_fraction", source), source)
    channels = clips[0].shape[1]
    splits = {}
    for split, index in rows.items():
        parts = [windows(clips[i], k) for i in index.tolist()]
        empty = (torch.empty(0, k * channels, *clips[0].shape[2:]), torch.empty(0, *clips[0].shape[1:]))
        splits[split] = tuple(torch.cat(p) for p in zip(*parts)) if parts else empty
    extra = {"context": k, "frame_channels": channels,
             "copy_baseline": {"name": "last frame", "channels": [(k - 1) * channels, k * channels]},
             "clips": {split: len(index) for split, index in rows.items()}}
    return translation_bundle(name, splits, "next-frame", extra)


# -- frames:DIR -------------------------------------------------------------------------------------------------

def numbered_frames(folder: Path) -> list[Path]:
    """A clip's frame files in the order of the number in their names; a name without a number, a
    number used twice or a gap is one :class:`DataError` line."""
    files = image_files_under(folder)
    if not files:
        raise DataError(f"{folder}: the clip holds no PNG/JPEG frames")
    numbered = {}
    for file in files:
        match = NUMBER.search(file.stem)
        if match is None:
            raise DataError(f"{file}: has no frame number in its name (name frames 0.png, 1.png … or frame_0001.png …)")
        number = int(match.group(1))
        if number in numbered:
            raise DataError(f"{file}: frame number {number} is also {numbered[number].name}")
        numbered[number] = file
    order = sorted(numbered)
    gaps = [n + 1 for n, m in zip(order, order[1:]) if m != n + 1]
    if gaps:
        raise DataError(f"{folder}: frame {gaps[0]} is missing (frames {order[0]}…{order[-1]} must follow one another)")
    return [numbered[n] for n in order]


def read_clip(files: list[Path], channels: int, size: int | None, first: list) -> torch.Tensor:
    """One clip's frames (T, C, H, W) in [−1, 1]; without ``size`` every frame must have the first frame's
    size (``first`` holds the first file and its size once read)."""
    frames = []
    for file in files:
        frame = decode_image(file, channels)
        if not first:
            first += [file, frame.shape[1:]]
        elif size is None and frame.shape[1:] != first[1]:
            raise DataError(f"{file}: is {frame.shape[2]}×{frame.shape[1]}, the first frame ({first[0].name}) "
                            f"{first[1][1]}×{first[1][0]}; pass size=N to resize every frame to N×N")
        frames.append(symmetric(frame))
    return resized(torch.stack(frames), size)


@FORMATS.register("frames", summary="next-frame clips: one subfolder of numbered frames per clip; ?context=3&size=N")
def frames_format(path: str, size: Any = None, **options: Any) -> DataBundle:
    """``frames:DIR``: one subfolder of numbered frames per clip (see the module's docstring)."""
    root = existing_dir(path)
    side = None if size is None else int_option(size, "size", path, minimum=1)
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise DataError(f"{path}: no clip folders; put each clip's numbered frames in a folder of its own")
    clip_files = [numbered_frames(folder) for folder in folders]
    channels = image_channels([f for files in clip_files for f in files])
    first: list = []
    clips = [read_clip(files, channels, side, first) for files in clip_files]
    return clips_bundle(root.resolve().name, clips, path, **options)


# -- moving-digits ---------------------------------------------------------------------------------------------

def moving_digits_clips(clips: int, frames: int, size: int, digits: int, digit_size: int,
                        seed: int = DATA_SEED) -> np.ndarray:
    """(clips, frames, 1, size, size) float32 in [0, 1]: ``digits`` scikit-learn digits per clip, each
    upscaled to ``digit_size``², starting at a random place and moving at a random angle and 1–3 pixels
    per frame, reflected at the canvas edges (Srivastava et al. 2015's bouncing)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    sprites = np.stack([np.asarray(Image.fromarray((d * 255 / 16).astype(np.uint8)).resize(
        (digit_size, digit_size), Image.Resampling.BILINEAR), dtype=np.float32) / 255 for d in load_digits().images])
    rng = np.random.default_rng(seed)
    room = size - digit_size
    out = np.zeros((clips, frames, 1, size, size), dtype=np.float32)
    for c in range(clips):
        chosen = rng.integers(len(sprites), size=digits)
        position = rng.uniform(0, room, size=(digits, 2))
        angle = rng.uniform(0, 2 * np.pi, size=digits)
        velocity = rng.uniform(1, 3, size=digits)[:, None] * np.stack([np.cos(angle), np.sin(angle)], 1)
        for t in range(frames):
            for sprite, (y, x) in zip(sprites[chosen], np.rint(position).astype(int)):
                window = out[c, t, 0, y:y + digit_size, x:x + digit_size]
                np.maximum(window, sprite, out=window)
            position += velocity
            for axis in range(2):  # bounce: reflect the position and the velocity at each edge
                low, high = position[:, axis] < 0, position[:, axis] > room
                position[low, axis] *= -1
                position[high, axis] = 2 * room - position[high, axis]
                velocity[low | high, axis] *= -1
    return out


@DATASETS.register("moving-digits", kind="clips",
                   summary="generated: 2 digits bouncing on a 32×32 canvas, 400 clips of 10 frames (next-frame)")
def moving_digits(clips: Any = 400, frames: Any = 10, size: Any = 32, digits: Any = 2, digit_size: Any = 12,
                  **options: Any) -> DataBundle:
    """Moving digits (see :func:`moving_digits_clips`) as next-frame windows of ``context`` (3) frames."""
    source = "moving-digits"
    n, t = int_option(clips, "clips", source, 1), int_option(frames, "frames", source, 2)
    side, sprite = int_option(size, "size", source, 4), int_option(digit_size, "digit_size", source, 1)
    if sprite > side:
        raise DataError(f"{source}: digit_size={sprite} exceeds size={side}")
    data = moving_digits_clips(n, t, side, int_option(digits, "digits", source, 1), sprite)
    return clips_bundle(source, list(symmetric(torch.from_numpy(data))), source, **options)
