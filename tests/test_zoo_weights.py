"""torchvision weight files load into the zoo's models: same logits, or the same keys and shapes.

A torchvision model with random weights is saved to a local file (.pt, and one .safetensors); the zoo
model built with ``create_model(name, weights=path)`` must give the same logits on the same input in
eval mode. The largest models (and every VGG beyond the 11-layer ones) are checked on the meta device by
key and shape equality of the converted state dict, which is what loading needs.
"""

from __future__ import annotations

import warnings

import pytest
import torch
import torchvision
from safetensors.torch import save_file

from deepzoo.errors import ConfigError
from deepzoo.models import create_model
from deepzoo.models._counting import build_on_meta

FORWARD_CASES = [  # name, torchvision kwargs, zoo kwargs, input size, file suffix
    ("alexnet", {}, {}, 64, ".pt"),
    ("vgg11_bn", {}, {}, 32, ".pt"),
    # torchvision keeps the auxiliary heads by default; the zoo model without them drops their weights
    ("googlenet", {"aux_logits": True, "init_weights": False}, {}, 64, ".pt"),
    ("resnet18", {}, {}, 64, ".safetensors"),
    ("resnet50", {}, {}, 64, ".pt"),
]


pytestmark = pytest.mark.usefixtures("one_thread")


def torchvision_model(name: str, **kwargs) -> torch.nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # googlenet's note about its init
        return getattr(torchvision.models, name)(weights=None, **kwargs)


@pytest.mark.parametrize("name, tv_kwargs, kwargs, size, suffix", FORWARD_CASES)
def test_torchvision_weight_file_gives_the_same_logits(tmp_path, name, tv_kwargs, kwargs, size, suffix):
    torch.manual_seed(0)
    reference = torchvision_model(name, **tv_kwargs).eval()
    path = tmp_path / f"{name}{suffix}"
    state = reference.state_dict()
    if suffix == ".safetensors":
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        torch.save(state, path)
    del state
    model = create_model(name, weights=str(path), **kwargs).eval()
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        expected, actual = reference(x), model(x)
    assert actual.shape == (2, 1000)
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5)


def test_vit_b_16_loads_torchvision_vision_transformer_weights(tmp_path):
    # torchvision's ViT class with ViT-B/16's patch at 32 px and a 2-layer, 64-wide encoder: the same
    # parameter names and computation as vit_b_16 (whose full key/shape set is checked below), 1/100 the size
    torch.manual_seed(0)
    reference = torchvision.models.VisionTransformer(image_size=32, patch_size=16, num_layers=2, num_heads=4,
                                                     hidden_dim=64, mlp_dim=128, num_classes=10).eval()
    torch.nn.init.normal_(reference.heads.head.weight)  # torchvision zero-initialises the head
    torch.save(reference.state_dict(), tmp_path / "vit.pt")
    model = create_model("vit_b_16", weights=str(tmp_path / "vit.pt"), num_classes=10, image_size=32,
                         patch_size=16, depth=2, width=64, mlp_dim=128, heads=4).eval()
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        expected, actual = reference(x), model(x)
    assert expected.abs().max() > 0.1
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name, tv_kwargs, kwargs", [
    *[(n, {}, {}) for n in ["alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19",
                            "vgg19_bn", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
                            "vit_b_16", "vit_l_16", "vit_h_14"]],
    ("googlenet", {"aux_logits": True}, {"aux_logits": True}),
    ("googlenet", {"aux_logits": False}, {}),
])
def test_converted_torchvision_state_dict_has_our_keys_and_shapes(name, tv_kwargs, kwargs):
    with torch.device("meta"):
        reference = torchvision_model(name, init_weights=False, **tv_kwargs) if name == "googlenet" \
            else torchvision_model(name, **tv_kwargs)
    model = build_on_meta(name, **kwargs)
    converted = model.convert_state_dict(reference.state_dict())
    ours = model.state_dict()
    assert {k: tuple(v.shape) for k, v in converted.items()} == {k: tuple(v.shape) for k, v in ours.items()}


def test_googlenet_without_aux_drops_torchvision_aux_weights():
    with torch.device("meta"):
        reference = torchvision_model("googlenet", aux_logits=True, init_weights=False)
    model = build_on_meta("googlenet")
    converted = model.convert_state_dict(reference.state_dict())
    assert not any(k.startswith(("aux1.", "aux2.")) for k in converted)
    assert "head.weight" in converted and "fc.weight" not in converted


def test_weights_for_another_class_count_fail_unless_num_classes_asks_for_transfer(tmp_path):
    torch.save(torchvision_model("resnet18", num_classes=10).state_dict(), tmp_path / "r18.pt")
    with pytest.raises(ConfigError, match=r"head.weight is \(10, 512\) in the file, \(1000, 512\) here"):
        create_model("resnet18", weights=str(tmp_path / "r18.pt"))
    model = create_model("resnet18", num_classes=5, weights=str(tmp_path / "r18.pt"))  # transfer: a new head
    assert model.head.weight.shape == (5, 512)
