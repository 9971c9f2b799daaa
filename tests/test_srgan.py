"""SRGAN: the networks of Ledig et al. Figure 4, PSNR and SSIM on Y against hand values and torchmetrics,
the LR/HR pairs, the VGG54 content network, and SRResNet pre-training then SRGAN fine-tuning."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn
from torchmetrics.functional.image import structural_similarity_index_measure

from deepzoo import api
from deepzoo.metrics.image import luma, psnr_y, ssim, ssim_y
from deepzoo.models import create_model
from deepzoo.recipes.super_resolution import IMAGENET_MEAN, IMAGENET_STD, VGG54Features, bicubic_downscale
from tests.conftest import QUIET

TINY = ["model.scale=2", "model.num_blocks=1", "model.width=16"]
DATA = "sample-images?crop=16&count=48"


@pytest.mark.parametrize("scale", [2, 4])
def test_shapes(scale):
    pair = create_model("srgan", scale=scale, hr_size=32, num_blocks=2)
    lr = torch.rand(2, 3, 32 // scale, 32 // scale)
    sr = pair(lr)
    assert sr.shape == (2, 3, 32, 32)
    assert pair(sr, player="discriminator").shape == (2,)
    assert len(pair.generator.upsample) == int(math.log2(scale))


def test_srresnet_parameter_count_follows_figure4():
    g = create_model("srgan").generator  # ×4, 16 blocks of width 64
    head = 3 * 64 * 81 + 64 + 1  # 9×9 conv + one PReLU slope
    block = 2 * (64 * 64 * 9 + 64) + 2 * 2 * 64 + 1  # two 3×3 convs, two batch norms, one PReLU
    fuse = 64 * 64 * 9 + 64 + 2 * 64
    upsample = 64 * 256 * 9 + 256 + 1  # conv to 256 channels → pixel shuffle → PReLU
    tail = 64 * 3 * 81 + 3
    assert sum(p.numel() for p in g.parameters()) == head + 16 * block + fuse + 2 * upsample + tail == 1_549_462


def test_discriminator_follows_figure4():
    d = create_model("srgan").discriminator  # 96×96 HR crops
    convs = [m for m in d.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 512, 512]
    assert [c.stride[0] for c in convs] == [1, 2] * 4
    layers = list(d.features)
    assert [isinstance(layers[layers.index(c) + 1], nn.BatchNorm2d) for c in convs] == [False] + [True] * 7
    assert all(m.negative_slope == 0.2 for m in d.modules() if isinstance(m, nn.LeakyReLU))
    dense = [m for m in d.classifier if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in dense] == [(512 * 6 * 6, 1024), (1024, 1)]


def test_luma_is_bt601():
    white, black = torch.ones(1, 3, 4, 4), torch.zeros(1, 3, 4, 4)
    assert torch.allclose(luma(white), torch.full((1, 1, 4, 4), 235.0))
    assert torch.allclose(luma(black), torch.full((1, 1, 4, 4), 16.0))


def test_psnr_of_a_known_error_and_the_cropped_border():
    target = torch.full((1, 3, 12, 12), 100 / 255)
    output = torch.full((1, 3, 12, 12), 110 / 255)  # grey: Y differs by 219 · 10/255 everywhere
    expected = 20 * math.log10(255 / (219 * 10 / 255))
    assert psnr_y(output, target).item() == pytest.approx(expected, rel=1e-5)
    border_only = target.clone()
    border_only[..., :2, :] = 0  # errors only in the first two rows
    assert psnr_y(border_only, target, border=2).item() > 100  # cropped away: no error left
    assert psnr_y(border_only, target, border=0).item() < 40


def test_ssim_matches_torchmetrics_and_is_one_for_identical_images():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(2, 1, 32, 32, generator=gen) * 255
    y = (x + 40 * torch.randn(2, 1, 32, 32, generator=gen)).clamp(0, 255)
    # torchmetrics pads with reflection and averages over the whole image; the same padding before our
    # valid filtering must give the same numbers (same window, constants and moments)
    padded = [F.pad(t, (5, 5, 5, 5), mode="reflect") for t in (x, y)]
    theirs = structural_similarity_index_measure(y.double(), x.double(), data_range=255.0, reduction="none")
    assert torch.allclose(ssim(*padded), theirs, atol=1e-6)
    assert ssim(x, y).shape == (2,)
    image = torch.rand(1, 3, 16, 16, generator=gen)
    assert ssim_y(image, image).item() == pytest.approx(1.0)


def test_bicubic_downscale_keeps_flat_images_and_shrinks_by_the_scale():
    flat = torch.full((2, 3, 16, 16), 0.3)
    lr = bicubic_downscale(flat, 4)
    assert lr.shape == (2, 3, 4, 4) and torch.allclose(lr, flat[..., :4, :4], atol=1e-6)


def test_vgg54_is_the_last_conv_of_block_5_after_relu_and_scaled():
    with torch.device("meta"):
        vgg = create_model("vgg19")
    net = VGG54Features(vgg.features)
    assert len(net.features) == 36  # torchvision's features[:36]: up to relu5_4, before the 5th pool
    assert isinstance(net.features[-1], nn.ReLU) and isinstance(net.features[-2], nn.Conv2d)
    # with identity 1×1 convolutions the features are relu(ImageNet-normalised image) / 12.75
    identity = []
    for _ in range(16):
        conv = nn.Conv2d(3, 3, 1)
        nn.init.eye_(conv.weight.view(3, 3))
        nn.init.zeros_(conv.bias)
        identity += [conv, nn.ReLU()]
    net = VGG54Features(nn.Sequential(*identity, nn.MaxPool2d(2)))
    x = torch.rand(1, 3, 4, 4) * 2 - 1
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    assert torch.allclose(net(x), (((x + 1) / 2 - mean) / std).relu() / 12.75, atol=1e-6)


@pytest.mark.slow
def test_srresnet_pretraining_then_srgan_fine_tuning(runs):
    echo = {"echo": lambda *a, **k: None}
    pre = api.train(model="srgan", data=DATA, task="sr", epochs=2, name="srresnet", overrides=QUIET + TINY, **echo)
    recipe = pre.recipe
    assert recipe.phases == ("generator",)
    assert recipe.config.optim.lr == 1e-4 and recipe.config.train.batch_size == 16  # Ledig et al. §3.2
    lr, hr = recipe.data.train.x, recipe.data.train.y
    assert lr.shape[-1] * 2 == hr.shape[-1] == 16
    assert lr.min() >= 0 and lr.max() <= 1 and hr.min() >= -1 and hr.min() < 0  # LR in [0, 1], HR in [−1, 1]
    assert pre.summary["monitor"] == "valid/psnr"
    for key in ("psnr", "ssim", "bicubic_psnr", "bicubic_ssim"):
        assert f"test/{key}" in pre.metrics
    assert any("content loss: pixel MSE" in line for line in recipe.log_lines)

    gan = api.train(model="srgan", data=DATA, epochs=1, name="srgan", **echo,
                    overrides=QUIET + TINY + ["model.weights=runs/srresnet/model.safetensors"])
    assert gan.recipe.phases == ("discriminator", "generator")
    assert any("both players" in line for line in gan.recipe.log_lines)
    assert gan.config.early_stop.enabled is False
    start = load_file(str(runs / "srresnet" / "generator.safetensors"))
    assert any(not torch.equal(start[k], v) for k, v in gan.model.generator.state_dict().items())
    assert {"train/generator/content", "train/generator/adversarial"} <= set(
        (gan.dir / "metrics.csv").read_text().splitlines()[0].split(","))


def test_a_last_training_batch_of_one_is_dropped_for_batch_norm(runs):
    """81 training crops at batch 16 leave a last batch of one, whose 1×1 map in the discriminator's
    batch norm made PyTorch raise; the shuffled loader drops that one item instead (eval keeps all)."""
    run = api.train(model="srgan", data="sample-images?crop=16&count=128", epochs=1, echo=lambda *a, **k: None,
                    overrides=QUIET + TINY)
    train = run.recipe.data.train
    assert len(train) % 16 == 1, len(train)  # the case this test is about
    batches = list(run.recipe.loader("train", 16, shuffle=True))
    assert len(batches) == len(train) // 16
    assert sum(len(b[0]) for b in run.recipe.loader("valid", 16)) == len(run.recipe.data.valid)
