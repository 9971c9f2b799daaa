"""Neural style transfer on the device: a few L-BFGS iterations on a small crop of one of scikit-learn's
photos in the style of the other, through :func:`deepzoo.style.stylize` (what ``deepzoo stylize`` calls)."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from sklearn.datasets import load_sample_images

from deepzoo.style import stylize
from tests.gpu.conftest import DEVICE, DEVICE_TYPE


def photo_crop(index: int, size: int = 96) -> torch.Tensor:
    """A ``size``×``size`` crop of scikit-learn's bundled photo ``index`` (china, flower) as (3, H, W) in
    [0, 1]: real content and style statistics, no download."""
    image = load_sample_images().images[index][100:100 + size, 200:200 + size]
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float() / 255


def test_stylize_lowers_the_total_loss_on_the_device_and_writes_its_files(tmp_path):
    """Twenty L-BFGS iterations at 64 px on the random-weight VGG-19: the total loss falls under 3/4 of its
    start (CPU: 0.33 → 0.21, 0.62 of it), the result records the device, and the image (64×64, RGB) and the
    loss curves are written."""
    out = tmp_path / "out" / "styled.png"
    result = stylize(photo_crop(0), photo_crop(1), out, size=64, iterations=20, scales=1, device=DEVICE,
                     echo=lambda *a: None)
    totals = [row["total"] for row in result.history]
    assert np.isfinite(totals).all() and totals[-1] < 0.75 * totals[0], totals
    assert torch.device(result.device).type == DEVICE_TYPE
    assert result.image.shape == (3, 64, 64) and 0 <= float(result.image.min()) <= float(result.image.max()) <= 1
    with Image.open(out) as image:
        assert image.size == (64, 64) and image.mode == "RGB"
    assert (tmp_path / "out" / "styled_losses.png").stat().st_size > 0
