"""Parameter and multiply-add counts of the CNN/ViT zoo against torchvision and the papers' tables.

Everything is built and counted on the meta device (no memory, no arithmetic). Multiply-adds are
``torch.utils.flop_counter.FlopCounterMode`` FLOPs / 2 at batch 1 — the papers' "FLOPs"/"Mult-Adds".
Where a paper rounds (0.27M, 569M, 3.8G) the check is on the rounded figure: equal after the same
rounding for parameters, within 2% for multiply-adds.
"""

from __future__ import annotations

import pytest
import torch
import torchvision

from deepzoo.models import model_entry
from deepzoo.models._counting import build_on_meta, count_flops_by_module, count_macs, model_complexity
from deepzoo.models.googlenet import INCEPTION_TABLE

TORCHVISION_PARAMS = {  # the literal numbers (torchvision, 1000 classes)
    "alexnet": 61_100_840, "vgg16": 138_357_544, "vgg19_bn": 143_678_248,
    "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032, "resnet101": 44_549_160,
    "resnet152": 60_192_808, "vit_b_16": 86_567_656, "vit_l_16": 304_326_632, "vit_h_14": 632_045_800,
}
SHARED_WITH_TORCHVISION = ["alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19",
                           "vgg19_bn", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
                           "vit_b_16", "vit_l_16", "vit_h_14"]


def torchvision_params(name: str, **kwargs) -> int:
    with torch.device("meta"):
        model = getattr(torchvision.models, name)(weights=None, **kwargs)
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", SHARED_WITH_TORCHVISION)
def test_parameters_equal_torchvision(name):
    params, _ = model_complexity(name)
    assert params == torchvision_params(name)
    assert params == model_entry(name).meta["params"]
    if name in TORCHVISION_PARAMS:
        assert params == TORCHVISION_PARAMS[name]


def test_googlenet_torchvision_variant_parameters_with_and_without_aux():
    assert model_complexity("googlenet")[0] == 6_624_904 == torchvision_params("googlenet", aux_logits=False,
                                                                               init_weights=False)
    assert model_complexity("googlenet", aux_logits=True)[0] == 13_004_888 == torchvision_params(
        "googlenet", aux_logits=True, init_weights=False)


def test_alexnet_paper_variant_parameters_by_hand():
    # conv1 3·11²·96+96, conv2 96/g·5²·256+256, conv3 256·3²·384+384, conv4 384/g·3²·384+384,
    # conv5 384/g·3²·256+256, fc 9216·4096+4096, 4096·4096+4096, 4096·1000+1000 (g = towers)
    def alexnet_paper(g: int) -> int:
        convs = (3 * 121 * 96 + 96 + 96 // g * 25 * 256 + 256 + 256 * 9 * 384 + 384
                 + 384 // g * 9 * 384 + 384 + 384 // g * 9 * 256 + 256)
        return convs + 9216 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000

    assert model_complexity("alexnet", variant="paper")[0] == alexnet_paper(1) == 62_378_344
    assert model_complexity("alexnet", variant="paper", groups=2)[0] == alexnet_paper(2) == 60_965_224


@pytest.mark.parametrize("name, millions, digits", [
    ("resnet20", 0.27, 2), ("resnet32", 0.46, 2), ("resnet44", 0.66, 2), ("resnet56", 0.85, 2),
    ("resnet110", 1.7, 1),
])
def test_cifar_resnet_parameters_match_he_table6(name, millions, digits):
    params, _ = model_complexity(name)
    assert round(params / 1e6, digits) == millions  # Table 6 prints 2 decimals (1 for ResNet-110)


def test_cifar_resnet_counts_by_hand():
    # ResNet-20: stem 3·9·16 + BN 32; stage widths w with 6 convs each (the first of stages 2-3 takes w/2
    # inputs), each conv + BN(2w); linear 64·10 + 10. Option A shortcuts add nothing.
    stage1 = 6 * (16 * 9 * 16 + 32)
    stage2 = (16 * 9 * 32 + 64) + 5 * (32 * 9 * 32 + 64)
    stage3 = (32 * 9 * 64 + 128) + 5 * (64 * 9 * 64 + 128)
    params, macs = model_complexity("resnet20")
    assert params == 3 * 9 * 16 + 32 + stage1 + stage2 + stage3 + 650 == 269_722
    # multiply-adds: every 3×3 conv at its map size (32², 16², 8²) plus the linear layer
    assert macs == (3 * 9 * 16 + 6 * 16 * 9 * 16) * 32 * 32 + (16 * 9 * 32 + 5 * 32 * 9 * 32) * 16 * 16 \
        + (32 * 9 * 64 + 5 * 64 * 9 * 64) * 8 * 8 + 640 == 40_551_040
    # option B adds two projections (1×1 conv + BN): 16·32 + 64 and 32·64 + 128
    assert model_complexity("resnet20", shortcut="B")[0] == params + 16 * 32 + 64 + 32 * 64 + 128


@pytest.mark.parametrize("name, gmacs", [
    ("resnet18", 1.8), ("resnet34", 3.6), ("resnet50", 3.8), ("resnet101", 7.6), ("resnet152", 11.3),
])
def test_resnet_paper_variant_macs_match_he_table1(name, gmacs):
    _, macs = model_complexity(name, variant="paper")
    assert macs == pytest.approx(gmacs * 1e9, rel=0.02)
    assert model_entry(name).meta["macs"] == gmacs * 1e9


def test_resnet50_torchvision_v15_costs_more_than_the_paper():
    # the stride in the 3×3 conv (v1.5) makes the first bottleneck of stages 2-4 compute its 1×1 at full size
    assert model_complexity("resnet50")[1] == pytest.approx(4.09e9, rel=0.005)


@pytest.mark.parametrize("alpha, millions, mmacs", [(1.0, 4.2, 569), (0.75, 2.6, 325), (0.5, 1.3, 149),
                                                    (0.25, 0.5, 41)])
def test_mobilenet_v1_width_multiplier_matches_howard_table6(alpha, millions, mmacs):
    params, macs = model_complexity("mobilenet_v1", width_mult=alpha)
    assert round(params / 1e6, 1) == millions
    assert macs == pytest.approx(mmacs * 1e6, rel=0.02)


@pytest.mark.parametrize("size, mmacs", [(224, 569), (192, 418), (160, 290), (128, 186)])
def test_mobilenet_v1_resolution_matches_howard_table7(size, mmacs):
    params, macs = model_complexity("mobilenet_v1", (3, size, size))
    assert params == 4_231_976
    assert macs == pytest.approx(mmacs * 1e6, rel=0.02)


def test_mobilenet_v1_channels_are_int_alpha_c_without_rounding_to_8():
    model = build_on_meta("mobilenet_v1", width_mult=0.3)
    assert model.stem[0].out_channels == 9  # int(0.3·32); rounding to 8 would give 8
    assert model.num_features == 307  # int(0.3·1024)


GOOGLENET_TABLE1_OUTPUT = {"3a": 256, "3b": 480, "4a": 512, "4b": 512, "4c": 512, "4d": 528, "4e": 832,
                           "5a": 832, "5b": 1024}
GOOGLENET_TABLE1_MOPS = {"3a": 128, "3b": 304, "4a": 73, "4b": 88, "4c": 100, "4d": 119, "4e": 170, "5b": 71}


def test_googlenet_inception_channels_match_szegedy_table1():
    model = build_on_meta("googlenet", variant="paper")
    for name, widths in INCEPTION_TABLE.items():
        module = getattr(model, f"inception{name}")
        ch1, ch3r, ch3, ch5r, ch5, proj = widths
        assert module.out_channels == GOOGLENET_TABLE1_OUTPUT[name]
        assert (module.branch1.conv.out_channels, module.branch2[0].conv.out_channels,
                module.branch2[1].conv.out_channels, module.branch3[0].conv.out_channels,
                module.branch3[1].conv.out_channels, module.branch4[1].conv.out_channels) == widths
        assert module.branch3[1].conv.kernel_size == (5, 5)  # the paper's true 5×5 branch
    tv = build_on_meta("googlenet")
    assert tv.inception3a.branch3[1].conv.kernel_size == (3, 3)  # torchvision's port


def test_googlenet_per_module_macs_match_szegedy_table1():
    flops = count_flops_by_module(build_on_meta("googlenet", variant="paper"), (3, 224, 224))
    for name, mops in GOOGLENET_TABLE1_MOPS.items():
        assert flops[f"GoogLeNet.inception{name}"] / 2 == pytest.approx(mops * 1e6, rel=0.01), name
    # Table 1's "conv 3×3/1" row (1×1 reduce + 3×3) is 360M, the linear layer 1M
    assert (flops["GoogLeNet.conv2"] + flops["GoogLeNet.conv3"]) / 2 == pytest.approx(360e6, rel=0.01)
    assert flops["GoogLeNet.head"] / 2 == 1_024_000
    # Two rows of the table disagree with its own architecture: 5a lists 54M ops although its 1072K
    # parameters at 7×7 give 52.5M (the widths give 51.1M), and the 7×7/2 conv lists 34M although
    # 3·7²·64 weights at 112² give 118M. The total 1.5G is therefore within 6% rather than 2%.
    assert flops["GoogLeNet.inception5a"] / 2 == 1_042_432 * 49
    assert flops["GoogLeNet.conv1"] / 2 == 3 * 49 * 64 * 112 * 112
    assert flops["Global"] / 2 == pytest.approx(1.5e9, rel=0.06)


def test_vit_counts_match_torchvision_at_other_image_sizes():
    assert model_complexity("vit_b_16", (3, 384, 384))[0] == torchvision_params("vit_b_16", image_size=384)


def test_count_macs_copies_a_cpu_model_to_meta():
    model = build_on_meta("resnet20").to_empty(device="cpu")
    assert count_macs(model, (3, 32, 32)) == 40_551_040
    assert next(model.parameters()).device.type == "cpu"


def test_the_recorded_catalogue_equals_the_live_registry_for_every_model():
    """``deepzoo models`` lists models/complexity.json without importing a family or building a model;
    it must say what the registry and a live count say (regenerate it with ``python -m
    deepzoo.models._counting`` after adding or changing a model)."""
    from deepzoo.models._catalogue import recorded_catalogue, recorded_complexity
    from deepzoo.models._counting import live_catalogue

    live, recorded = live_catalogue(), recorded_catalogue()
    assert set(recorded) == set(live), "models/complexity.json is out of date"
    stale = {name: (recorded[name], live[name]) for name in live if recorded[name] != live[name]}
    assert not stale, f"recorded vs live entries differ: {stale}"
    recorded = recorded_complexity()
    assert recorded["resnet20"] == (269_722, 40_551_040)
