"""The main ``deepzoo stylize`` options through the CLI (issue 17 §5): ``--optimizer``/``--lr``, ``--init``,
``--pooling``, the layer and weight options and ``--precision``. Each test looks at what the run did
(the first update, the network it built, the loss terms, the dtype its features were computed in), so
it fails if the option were parsed and then ignored. 32-pixel images, one iteration, one scale.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import deepzoo.style
from deepzoo.cli import main
from deepzoo.style import features, transfer

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def stylize_cli(tmp_path, monkeypatch, capsys):
    """Run ``deepzoo stylize`` on two random 32×32 images; returns (StyleResult, stdout, what the
    feature extractor saw: its pooling layers and, per forward pass, autocast and the output dtype)."""
    rng = np.random.default_rng(0)
    for name in ("content", "style"):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(tmp_path / f"{name}.png")
    results, seen = [], {"pooling": [], "forward": []}
    real_stylize, real_build, real_forward = deepzoo.style.stylize, transfer.build_extractor, \
        features.FeatureExtractor.forward

    def keep_result(*args, **kwargs):
        results.append(real_stylize(*args, **kwargs))
        return results[-1]

    def build(*args, **kwargs):
        extractor = real_build(*args, **kwargs)
        seen["pooling"].append({type(m).__name__ for m in extractor.stack if "Pool" in type(m).__name__})
        return extractor

    def forward(self, image, layers):
        out = real_forward(self, image, layers)
        seen["forward"].append((torch.is_autocast_enabled("cpu"), next(iter(out.values())).dtype))
        return out

    monkeypatch.setattr(deepzoo.style, "stylize", keep_result)
    monkeypatch.setattr(transfer, "build_extractor", build)
    monkeypatch.setattr(features.FeatureExtractor, "forward", forward)

    def run(*options):
        seen["pooling"].clear()
        seen["forward"].clear()
        code = main(["stylize", "--content", str(tmp_path / "content.png"), "--style", str(tmp_path / "style.png"),
                     "--out", str(tmp_path / "out.png"), "--size", "32", "--scales", "1", "--iterations", "1",
                     *map(str, options)])
        out, err = capsys.readouterr()
        assert code == 0, err
        return results[-1], out, {"pooling": seen["pooling"][-1], "forward": set(seen["forward"])}

    return run


def test_adam_with_lr_from_noise_moves_every_pixel_by_the_learning_rate(stylize_cli):
    result, out, _ = stylize_cli("--optimizer", "adam", "--lr", "0.01", "--init", "noise")
    assert "1 iterations (adam)" in out
    start = torch.rand((1, 3, 32, 32), generator=torch.Generator().manual_seed(0))[0]  # --seed 0's noise
    assert result.history[0]["content"] > 0  # the start is noise, not the content image
    # Adam's first update is lr · g / (|g| + eps) = ±lr on every pixel with a gradient (then clamped)
    step = (result.image - start).abs()
    inside = (start > 0.01) & (start < 0.99)
    assert step.max() <= 0.01 + 1e-6
    assert (step[inside] - 0.01).abs().le(1e-4).float().mean() > 0.99
    # L-BFGS's first step is the gradient scaled by min(1, 1/‖g‖₁): its pixels do not all move alike
    result, out, _ = stylize_cli("--optimizer", "lbfgs", "--init", "noise")
    assert "1 iterations (lbfgs)" in out
    step = (result.image - start).abs()[inside]
    assert (step - step.mean()).abs().max() > 0.5 * step.mean()


def test_init_content_starts_from_the_content_image(stylize_cli):
    result, _, _ = stylize_cli("--init", "content")
    assert result.history[0]["content"] == 0  # the start's features are the content targets
    assert result.history[0]["style"] > 0


def test_pooling_builds_the_network_with_that_pooling(stylize_cli):
    avg, _, seen_avg = stylize_cli("--init", "noise")  # random weights: average pooling by default
    maxed, _, seen_max = stylize_cli("--init", "noise", "--pooling", "max")
    assert seen_avg["pooling"] == {"AvgPool2d"} and seen_max["pooling"] == {"MaxPool2d"}
    # the same noise start and weights, other features: the style loss of the start differs
    assert maxed.history[0]["style"] != pytest.approx(avg.history[0]["style"], rel=1e-3)


def test_layers_and_weights_set_the_loss_terms(stylize_cli):
    """Each loss is the weight times the mean over its layers (Gatys et al.'s w_l = 1/L), so on the
    same start two one-layer runs predict the two-layer run exactly."""
    common = ("--init", "noise", "--range-weight", "0")
    a, _, _ = stylize_cli(*common, "--content-layers", "conv2_1", "--style-layers", "conv1_1",
                          "--content-weight", "1", "--style-weight", "1", "--tv-weight", "0.1")
    b, _, _ = stylize_cli(*common, "--content-layers", "conv4_1", "--style-layers", "conv2_1",
                          "--content-weight", "1", "--style-weight", "1", "--tv-weight", "0.1")
    both, out, _ = stylize_cli(*common, "--content-layers", "conv2_1,conv4_1", "--style-layers", "conv1_1,conv2_1",
                               "--content-weight", "2", "--style-weight", "3", "--tv-weight", "0.3")
    a0, b0, both0 = a.history[0], b.history[0], both.history[0]
    assert a0["content"] != pytest.approx(b0["content"], rel=1e-3)  # the layers matter
    assert a0["style"] != pytest.approx(b0["style"], rel=1e-3)
    assert both0["content"] == pytest.approx(2 * (a0["content"] + b0["content"]) / 2, rel=1e-5)
    assert both0["style"] == pytest.approx(3 * (a0["style"] + b0["style"]) / 2, rel=1e-5)
    assert a0["tv"] == b0["tv"] > 0 and both0["tv"] == pytest.approx(3 * a0["tv"], rel=1e-5)
    assert a0["range"] == both0["range"] == 0
    assert both0["total"] == pytest.approx(both0["content"] + both0["style"] + both0["tv"], rel=1e-6)
    assert "final losses: total" in out


def test_precision_bf16_computes_the_features_under_autocast(stylize_cli):
    bf16, _, seen_bf16 = stylize_cli("--init", "noise", "--precision", "bf16")
    fp32, _, seen_fp32 = stylize_cli("--init", "noise", "--precision", "fp32")
    _, _, seen_auto = stylize_cli("--init", "noise")
    assert seen_bf16["forward"] == {(True, torch.bfloat16)}
    assert seen_fp32["forward"] == seen_auto["forward"] == {(False, torch.float32)}  # auto: fp32 on the CPU
    # bf16 keeps 8 bits of mantissa: close to the fp32 losses, not equal to them
    assert bf16.history[0]["style"] == pytest.approx(fp32.history[0]["style"], rel=0.1)
    assert bf16.history[0]["style"] != fp32.history[0]["style"]
