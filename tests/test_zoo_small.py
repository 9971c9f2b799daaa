"""Small-input stems, the classifier interface and a few training steps for every CNN/ViT family.

Output shapes of every model are checked on the meta device (shape inference only, nothing computed);
real forward/backward passes use one small configuration per family on 8×8 single-channel inputs.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from deepzoo.errors import ConfigError
from deepzoo.models import accepted_kwargs, create_model, list_models, model_entry
from deepzoo.models._counting import build_on_meta
from deepzoo.models.googlenet import AUX_LOSS_WEIGHT, InceptionOutputs
from deepzoo.models.resnet import ZeroPadShortcut
from deepzoo.models.vit import small_input_patch

FAMILIES = ("alexnet", "vgg", "googlenet", "resnet", "mobilenet", "vit")
ZOO = [n for n in list_models() if model_entry(n).meta.get("family") in FAMILIES]


pytestmark = pytest.mark.usefixtures("one_thread")


def test_zoo_has_every_requested_model():
    expected = {"alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
                "googlenet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnet20", "resnet32",
                "resnet44", "resnet56", "resnet110", "mobilenet_v1", "vit_b_16", "vit_l_16", "vit_h_14",
                "vit_tiny_patch4_32", "vit_tiny_patch2_8", "vit_hybrid_r50"}
    assert expected <= set(ZOO)


@pytest.mark.parametrize("name", ZOO)
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 32, 32)])
def test_small_inputs_give_one_logit_per_class(name, shape):
    model = build_on_meta(name, shape, num_classes=7).eval()
    out = model(torch.zeros(2, *shape, device="meta"))
    assert out.shape == (2, 7)


@pytest.mark.parametrize("name", ZOO)
def test_pre_logits_width_is_num_features_and_reset_classifier(name):
    model = build_on_meta(name).eval()
    shape = model_entry(name).meta["input_size"]
    x = torch.zeros(1, *shape, device="meta")
    assert model.forward_head(model.forward_features(x), pre_logits=True).shape == (1, model.num_features)
    model.reset_classifier(5)
    assert model(x).shape == (1, 5)


@pytest.mark.parametrize("size, final", [(224, 7), (32, 2), (8, 2)])
def test_mobilenet_small_stem_stops_halving_at_2x2(size, final):
    model = build_on_meta("mobilenet_v1", (1, size, size), in_chans=1)
    maps = model.blocks(model.stem(torch.zeros(1, 1, size, size, device="meta")))
    assert maps.shape[-1] == final


@pytest.mark.parametrize("name, size, reduced", [
    ("resnet18", 224, 56), ("resnet18", 64, 64), ("mobilenet_v1", 224, 112), ("mobilenet_v1", 32, 32),
])
def test_paper_stem_at_224_and_small_stem_up_to_64(name, size, reduced):
    model = build_on_meta(name, (3, size, size))
    stem = model.conv1 if name == "resnet18" else model.stem[0]
    x = torch.zeros(1, 3, size, size, device="meta")
    if name == "resnet18":
        assert model.maxpool(stem(x)).shape[-1] == reduced
    else:
        assert stem(x).shape[-1] == reduced


TINY = {  # one small configuration per family: (name, constructor arguments)
    "alexnet": ("alexnet", {"dropout": 0.0}),
    "vgg": ("vgg11_bn", {"dropout": 0.0}),
    "googlenet": ("googlenet", {"dropout": 0.0}),
    "resnet": ("resnet20", {}),
    "mobilenet": ("mobilenet_v1", {"width_mult": 0.25}),
    "vit": ("vit_tiny_patch2_8", {"depth": 2}),
    "vit_hybrid": ("vit_hybrid_r50", {"resnet_layers": (1, 1, 1), "depth": 1, "width": 64, "mlp_dim": 128,
                                      "heads": 2}),
}


@pytest.mark.parametrize("family", TINY)
def test_a_few_training_steps_reduce_the_loss_on_8x8_digits_shape(family):
    name, kwargs = TINY[family]
    torch.manual_seed(0)
    data = accepted_kwargs(name, {"num_classes": 4, "in_chans": 1, "input_size": 8})  # as a recipe passes them
    model = create_model(name, **data, **kwargs).train()
    x, y = torch.randn(16, 1, 8, 8), torch.arange(16) % 4
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(6):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.9 * losses[0], losses


def test_googlenet_aux_outputs_in_training_and_logits_in_eval():
    torch.manual_seed(0)
    model = create_model("googlenet", variant="paper", aux_logits=True, num_classes=3, in_chans=1, input_size=8)
    x, y = torch.randn(2, 1, 8, 8), torch.tensor([0, 2])
    out = model.train()(x)
    assert isinstance(out, InceptionOutputs) and [t.shape for t in out] == [(2, 3)] * 3
    expected = F.cross_entropy(out.logits, y) + 0.3 * (F.cross_entropy(out.aux1, y) + F.cross_entropy(out.aux2, y))
    assert AUX_LOSS_WEIGHT == 0.3
    torch.testing.assert_close(out.loss(F.cross_entropy, y), expected)
    assert model.eval()(x).shape == (2, 3)
    model.reset_classifier(5)  # the auxiliary classifiers follow the new class count
    assert [t.shape for t in model.train()(x)] == [(2, 5)] * 3


def test_googlenet_paper_aux_pool_is_5x5_stride_3_at_224():
    model = build_on_meta("googlenet", variant="paper", aux_logits=True)
    assert isinstance(model.aux1.pool, torch.nn.AvgPool2d) and model.aux1.pool.kernel_size == 5
    assert model.aux1.pool(torch.zeros(1, 512, 14, 14, device="meta")).shape[-1] == 4


def test_option_a_shortcut_subsamples_and_zero_pads_channels():
    x = torch.arange(2 * 4 * 4, dtype=torch.float32).view(1, 2, 4, 4)
    out = ZeroPadShortcut(2, 5, stride=2)(x)
    assert out.shape == (1, 5, 2, 2)
    torch.testing.assert_close(out[:, :2], x[:, :, ::2, ::2])
    assert out[:, 2:].abs().sum() == 0


def test_paper_resnet_moves_the_stride_to_the_first_1x1():
    paper, v15 = build_on_meta("resnet50", variant="paper"), build_on_meta("resnet50")
    assert paper.layer2[0].conv1.stride == (2, 2) and paper.layer2[0].conv2.stride == (1, 1)
    assert v15.layer2[0].conv1.stride == (1, 1) and v15.layer2[0].conv2.stride == (2, 2)


@pytest.mark.parametrize("size, patch", [(32, 4), (28, 4), (8, 1), (64, 8), (30, 3)])
def test_vit_small_input_patch_gives_about_8x8_tokens(size, patch):
    assert small_input_patch(size) == patch


def test_vit_image_size_is_an_alias_of_input_size():
    model = build_on_meta("vit_b_16", image_size=384)
    assert model.encoder.pos_embedding.shape == (1, (384 // 16) ** 2 + 1, 768)
    assert build_on_meta("vit_b_16", (3, 32, 32)).conv_proj.kernel_size == (4, 4)


def test_vit_hybrid_tokens_come_from_the_resnet_stage_map():
    model = build_on_meta("vit_hybrid_r50")
    assert model.conv_proj.backbone.num_features == 1024  # ResNet-50 stage 3 output
    assert model.encoder.pos_embedding.shape == (1, 14 * 14 + 1, 768)  # stride 16 at 224 px


@pytest.mark.parametrize("name, kwargs, message", [
    ("resnet50", {"variant": "v2"}, "variant 'v2'"),
    ("resnet20", {"shortcut": "C"}, "shortcut 'C'"),
    ("alexnet", {"groups": 2}, "groups"),
    ("googlenet", {"variant": "v3"}, "variant 'v3'"),
    ("mobilenet_v1", {"width_mult": 0}, "width_mult"),
    ("vit_b_16", {"image_size": 100}, "not divisible by patch size 16"),
    ("vit_b_16", {"width": 100}, "not divisible by heads"),
])
def test_bad_knobs_raise_config_error(name, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        build_on_meta(name, **kwargs)


@pytest.mark.parametrize(("name", "convnet"), [("resnet20", True), ("mobilenet_v1", True),
                                               ("vit_tiny_patch2_8", False), ("mlp", False)])
def test_channels_last_is_chosen_for_convnets_and_not_for_a_vit(name, convnet):
    # A ViT's one convolution is its patch embedding: channels_last would only add a copy on CUDA.
    from deepzoo import api

    recipe, _ = api.build_recipe(api.build_config(model=name, data="digits"))
    assert recipe.is_convnet is convnet
