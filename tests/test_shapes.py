"""Generated photos (data/shapes.py): the mask is exactly where the shape was drawn, the folder has the
imagefolder layout with photos of several sizes, and one seed gives one folder."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from deepzoo.data.shapes import SHAPES, render_scene, write_shapes_folder
from deepzoo.errors import DataError


@pytest.mark.parametrize("kind", sorted(SHAPES))
def test_the_mask_covers_the_drawn_shape_in_one_colour(kind):
    image, mask = render_scene(kind, np.random.default_rng(3), (120, 90))
    pixels = np.asarray(image)
    assert image.size == (120, 90) and mask.shape == (90, 120)
    inside = pixels[mask]
    assert len(inside) > 0.02 * mask.size  # the radius is at least 15% of the shorter side
    assert (inside == inside[0]).all(), "every masked pixel holds the shape's fill colour"


def test_a_star_covers_less_than_its_pentagon_and_a_circle_more():
    areas = {kind: render_scene(kind, np.random.default_rng(0), (100, 100))[1].sum() for kind in
             ("star", "pentagon", "circle")}
    # same rng draws: same radius, centre and angle; only the outline differs
    assert areas["star"] < areas["pentagon"] < areas["circle"]


def test_the_folder_is_an_imagefolder_of_several_sizes_and_reproducible(tmp_path):
    a = write_shapes_folder(tmp_path / "a", ["circle", "star"], per_class=4, seed=7, sizes=(40, 80))
    b = write_shapes_folder(tmp_path / "b", ["circle", "star"], per_class=4, seed=7, sizes=(40, 80))
    files = sorted(p.relative_to(a) for p in a.rglob("*.jpg"))
    assert [str(p) for p in files] == [f"{c}/{i:04d}.jpg" for c in ("circle", "star") for i in range(4)]
    sizes = {Image.open(a / p).size for p in files}
    assert len(sizes) > 1 and all(40 <= w <= 80 and 40 <= h <= 80 for w, h in sizes)
    assert all((a / p).read_bytes() == (b / p).read_bytes() for p in files)


def test_an_unknown_shape_is_one_line():
    with pytest.raises(DataError, match="'oval' is not one of circle"):
        render_scene("oval", np.random.default_rng(0), (10, 10))
