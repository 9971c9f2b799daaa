"""Generated photos: a coloured shape on a natural-photo background, for offline walk-throughs and tests.

Each scene is a crop of one of scikit-learn's two sample photos (a Chinese temple, a flower), resized to
a random size and aspect, with one filled shape drawn on it at a random place, size, rotation and
colour. The shape's kind is the label, so a folder of these scenes is a real image-classification
problem — with photos of several sizes and aspects, as a phone folder has — that needs nothing
downloaded. :func:`write_shapes_folder` writes one in the ``imagefolder:`` layout (one subfolder per
class, JPEG files); :func:`render_scene` also returns the shape's mask, the ground truth of a
segmentation.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..errors import DataError

#: the shapes a scene can hold: the corner count of a regular polygon, or 0 for a circle; the star
#: alternates outer and inner corners
SHAPES = {"circle": 0, "triangle": 3, "square": 4, "pentagon": 5, "hexagon": 6, "star": 5}
STAR_INNER_RADIUS = 0.45
#: the most a shape leans from upright, in degrees: photographed objects mostly stand upright, and a CNN
#: trained on a few hundred photos cannot learn full rotation invariance on top of colour, size, place
#: and background (ResNet-20 on 960 photos of three shapes at 32×32, 20 epochs of Adam: 77% valid
#: accuracy upright ±15°, 52% at any angle; 2-core CPU dev machine)
TILT = 15.0


@functools.lru_cache(maxsize=1)
def _backgrounds() -> tuple[np.ndarray, ...]:
    """scikit-learn's two sample photos as uint8 (H, W, 3) arrays (shipped with the package)."""
    from sklearn.datasets import load_sample_images

    return tuple(np.asarray(image, dtype=np.uint8) for image in load_sample_images().images)


def _outline(kind: str, centre: tuple[float, float], radius: float, angle: float) -> list[tuple[float, float]]:
    """The polygon of a shape (a circle as 48 points)."""
    corners = SHAPES[kind]
    if kind == "circle":
        count, radii = 48, [radius]
    elif kind == "star":
        count, radii = 2 * corners, [radius, radius * STAR_INNER_RADIUS]
    else:
        count, radii = corners, [radius]
    return [(centre[0] + radii[i % len(radii)] * math.cos(angle + 2 * math.pi * i / count),
             centre[1] + radii[i % len(radii)] * math.sin(angle + 2 * math.pi * i / count)) for i in range(count)]


def _upright(kind: str) -> float:
    """The angle of a shape's first corner that stands it upright: a corner on top for an odd corner count
    (a triangle on its base), an edge on top for an even one (a square, not a diamond)."""
    corners = SHAPES[kind]
    return -math.pi / 2 + (math.pi / corners if corners and corners % 2 == 0 and kind != "star" else 0.0)


def render_scene(kind: str, rng: np.random.Generator, size: tuple[int, int]) -> tuple[Image.Image, np.ndarray]:
    """One RGB scene of ``size`` (width, height) holding a ``kind`` shape, and its boolean (H, W) mask.

    The background is a random crop (a quarter to all of the shorter side) of a random sample photo; the
    shape's radius is 25–45% of the shorter side, its centre keeps it mostly inside the frame, it leans
    up to :data:`TILT` degrees from upright, and its colour is drawn uniformly, so only the outline tells
    the classes apart.
    """
    image, (mask,) = render_shapes([kind], rng, size, SCENE_RADIUS)
    return image, mask


#: a shape's radius as a fraction of the scene's shorter side: one shape per scene (:func:`render_scene`)
SCENE_RADIUS = (0.25, 0.45)


def render_shapes(kinds: Sequence[str], rng: np.random.Generator, size: tuple[int, int],
                  radius: tuple[float, float] = SCENE_RADIUS) -> tuple[Image.Image, list[np.ndarray]]:
    """One RGB scene of ``size`` (width, height) with a shape of each of ``kinds`` drawn in turn — a later
    one covers an earlier where they overlap — and each shape's boolean (H, W) mask as drawn (before any
    later shape covered it). Background, placement, tilt and colour as :func:`render_scene` draws them;
    each radius is drawn from ``radius`` (fractions of the shorter side)."""
    for kind in kinds:
        if kind not in SHAPES:
            raise DataError(f"shape {kind!r} is not one of {', '.join(SHAPES)}")
    width, height = size
    photo = _backgrounds()[rng.integers(len(_backgrounds()))]
    side = int(rng.uniform(0.25, 1.0) * min(photo.shape[:2]))
    crop_w = min(photo.shape[1], int(side * width / min(width, height)))
    crop_h = min(photo.shape[0], int(side * height / min(width, height)))
    top = rng.integers(photo.shape[0] - crop_h + 1)
    left = rng.integers(photo.shape[1] - crop_w + 1)
    image = Image.fromarray(photo[top:top + crop_h, left:left + crop_w]).resize(size, Image.Resampling.BILINEAR)
    masks = []
    for kind in kinds:
        r = rng.uniform(*radius) * min(width, height)
        centre = (rng.uniform(r * 0.6, width - r * 0.6), rng.uniform(r * 0.6, height - r * 0.6))
        outline = _outline(kind, centre, r, _upright(kind) + math.radians(rng.uniform(-TILT, TILT)))
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        ImageDraw.Draw(image).polygon(outline, fill=colour)
        mask = Image.new("1", size)
        ImageDraw.Draw(mask).polygon(outline, fill=1)
        masks.append(np.array(mask, dtype=bool))
    return image, masks


def write_shapes_folder(root: str | Path, classes: Sequence[str], per_class: int, seed: int = 0,
                        sizes: tuple[int, int] = (96, 160), quality: int = 90) -> Path:
    """Write ``per_class`` JPEG scenes of each shape in ``classes`` to ``root/<class>/<i>.jpg`` (the
    ``imagefolder:`` layout) and return ``root``. Widths and heights are drawn independently from
    ``sizes`` (inclusive), so the photos have several sizes and aspects. One ``seed`` gives one folder."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    for kind in classes:
        folder = root / kind
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            size = (int(rng.integers(sizes[0], sizes[1] + 1)), int(rng.integers(sizes[0], sizes[1] + 1)))
            image, _ = render_scene(kind, rng, size)
            image.save(folder / f"{i:04d}.jpg", quality=quality)
    return root
