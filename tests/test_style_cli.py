"""``deepzoo stylize`` end to end on tiny images: what it writes and says, and the one-line errors
(exit status 2) for bad images and weight files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from deepzoo.cli import main
from deepzoo.errors import DataError
from deepzoo.style import stylize

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def images(tmp_path):
    """A grayscale 60×40 content image, an RGBA 50×50 style image, a file that is not an image."""
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 60), dtype=np.uint8), "L").save(tmp_path / "gray.png")
    Image.fromarray(rng.integers(0, 256, (50, 50, 4), dtype=np.uint8), "RGBA").save(tmp_path / "rgba.png")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    return tmp_path


def _run(capsys, *args) -> tuple[int, str, str]:
    code = main(["stylize", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_stylize_writes_the_image_curves_and_intermediates_and_says_what_it_converted(images, capsys):
    out_file = images / "out" / "result.png"
    code, out, err = _run(capsys, "--content", images / "gray.png", "--style", images / "rgba.png", "--out", out_file,
                          "--size", 32, "--iterations", 2, "--scales", 1, "--save-every", 1)
    assert code == 0, err
    assert "mode: random-weight VGG-19 (seed 0" in out
    assert "gray.png: grayscale image converted to RGB" in out
    assert "rgba.png: RGBA image converted to RGB (alpha channel dropped)" in out
    assert "style image 50×50 resized and centre-cropped to 32×21 (the content's size)" in out
    assert Image.open(out_file).size == (32, 21) and Image.open(out_file).mode == "RGB"
    assert (images / "out" / "result_losses.png").is_file()
    assert sorted(p.name for p in (images / "out").glob("result_0*.png")) == ["result_00001.png", "result_00002.png"]
    assert "2 iterations (lbfgs)" in out and "2 intermediate images" in out


@pytest.mark.parametrize("content, style, weights, message", [
    ("bad.png", "rgba.png", None, "bad.png: unreadable image (UnidentifiedImageError"),
    ("gray.png", "missing.png", None, "missing.png: image file not found"),
    ("gray.png", "rgba.png", "bad.png", "bad.png: not a readable weights file"),
    ("gray.png", "rgba.png", "vgg11.pth", "vgg11.pth: not a VGG-19 state dict (unexpected features.11"),
])
def test_bad_inputs_are_one_line_and_exit_2(images, capsys, content, style, weights, message):
    torch.save({f"features.{k}": v for k, v in
                torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["A"]).state_dict().items()},
               images / "vgg11.pth")
    extra = ["--weights", images / weights] if weights else []
    code, out, err = _run(capsys, "--content", images / content, "--style", images / style, "--size", 32,
                          "--iterations", 1, *extra)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("deepzoo: error: ") and message in err


def test_unknown_layer_and_too_many_scales_are_one_line_errors(images, capsys):
    common = ["--content", images / "gray.png", "--style", images / "rgba.png", "--size", 32, "--iterations", 1]
    code, _, err = _run(capsys, *common, "--style-layers", "conv1_1,conv6_1")
    assert code == 2 and "unknown style layer 'conv6_1'" in err and err.count("\n") == 1
    code, _, err = _run(capsys, *common, "--scales", 2)
    assert code == 2 and "size=32, scales=2: the image would be 16×10 at the coarsest scale" in err


def test_pretrained_mode_runs_from_a_torchvision_features_file(tmp_path):
    torch.manual_seed(0)
    features = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["E"])
    path = tmp_path / "vgg19_features.pth"
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, path)
    g = torch.Generator().manual_seed(1)
    lines = []
    result = stylize(torch.rand(3, 32, 32, generator=g), torch.rand(3, 32, 32, generator=g), weights=path,
                     size=32, iterations=3, echo=lines.append)
    assert lines == [f"mode: pretrained VGG-19 from {path}"]
    assert result.history[-1]["total"] < result.history[0]["total"]
    assert result.image.shape == (3, 32, 32) and result.output is None


def test_a_tensor_of_the_wrong_shape_is_a_data_error():
    with pytest.raises(DataError, match=r"content tensor has shape \(1, 8, 8\)"):
        stylize(torch.rand(1, 8, 8), torch.rand(3, 8, 8), size=32, iterations=1)
