"""Pretrained weights by name (``weights="imagenet"`` / ``"torchvision:ENUM"``), without any download.

Each test writes a torchvision model's state dict (random weights from a fixed seed, batch-norm
statistics randomised too) under the file name torchvision's registry gives it, in the temporary
``$TORCH_HOME/hub/checkpoints/`` of tests/conftest.py. The reference is then torchvision itself loading
that cached file through its own ``weights=`` path (which also forces GoogLeNet's ``transform_input``),
so a wrong cache path, key mapping or input transform shows up as different logits.
"""

from __future__ import annotations

import urllib.error
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from torch import nn
from torchvision.transforms.v2 import functional as TF

from deepzoo.cli import main
from deepzoo.errors import ConfigError
from deepzoo.models import create_model
from deepzoo.models.pretrained import load_pretrained_state, resolve_weights
from deepzoo.run.training import build_config, build_recipe
from deepzoo.style.features import build_extractor

pytestmark = pytest.mark.usefixtures("one_thread")


def cached(enum: str) -> Path:
    """Where torch.hub keeps the file of ``torchvision.models.get_weight(enum)``: the test's cache."""
    url = torchvision.models.get_weight(enum).url
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


def save_torchvision(name: str, enum: str, **kwargs) -> nn.Module:
    """A seeded random torchvision ``name`` saved where ``enum``'s weights are cached, in eval mode.

    Batch-norm statistics are those of a random batch (with the initial ones, eval-mode batch norm
    leaves activations badly scaled, and GoogLeNet's logits then hardly depend on the input at all), and
    zero-initialised tensors (ViT's head and class token) are drawn at random, so that the logits
    compared below depend on every tensor and on the input."""
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # googlenet's note about its init
        model = torchvision.models.get_model(name, weights=None, **kwargs)
    with torch.no_grad():
        for tensor in model.parameters():
            if not tensor.any():
                tensor.normal_(0, 0.02)
        norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        for norm in norms:
            norm.momentum = None  # the running statistics become the batch's
        if norms:
            model.train()(torch.randn(8, 3, 64, 64))
    path = cached(enum)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return model.eval()


def torchvision_pretrained(name: str) -> nn.Module:
    """torchvision's own model with its DEFAULT weights, which it reads from the (test's) cache."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torchvision.models.get_model(name, weights="DEFAULT").eval()


@pytest.mark.parametrize("name, enum, size, tv_kwargs", [
    ("resnet18", "ResNet18_Weights.IMAGENET1K_V1", 64, {}),
    # torchvision's file keeps the (untrained) auxiliary heads, and its loader sets transform_input
    ("googlenet", "GoogLeNet_Weights.IMAGENET1K_V1", 64,
     {"aux_logits": True, "init_weights": False, "transform_input": True}),
    ("alexnet", "AlexNet_Weights.IMAGENET1K_V1", 64, {}),
    ("vit_b_16", "ViT_B_16_Weights.IMAGENET1K_V1", 224, {}),  # the position embeddings fix 224 px
])
def test_imagenet_weights_give_torchvision_logits(name, enum, size, tv_kwargs):
    reference = save_torchvision(name, enum, **tv_kwargs)
    model = create_model(name, weights="imagenet").eval()
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, actual = reference(x), model(x)
    assert actual.shape == (2, 1000) and (expected[0] - expected[1]).abs().max() > 100 * 1e-5  # input matters
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5)
    assert model.pretrained.enum == enum and model.pretrained.path == cached(enum)
    assert len(model.pretrained.categories) == 1000 and model.pretrained.categories[:2] == ["tench", "goldfish"]


def test_googlenet_transform_input_is_what_makes_the_logits_match():
    save_torchvision("googlenet", "GoogLeNet_Weights.IMAGENET1K_V1", aux_logits=True, init_weights=False)
    reference = torchvision_pretrained("googlenet")  # torchvision's own loader, reading the cached file
    model = create_model("googlenet", weights="imagenet").eval()
    assert model.transform_input and reference.transform_input
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        # ImageNet-normalised input, mapped back to Caffe's [−1, 1]: (x·std + mean − 0.5) / 0.5 per channel
        # (rounded in another order than torchvision's, which the network amplifies to ~1e-5: hence 1e-4)
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        model.transform_input = False
        torch.testing.assert_close(model((x * std + mean - 0.5) / 0.5), reference(x), atol=1e-4, rtol=1e-4)
        assert (model(x) - reference(x)).abs().max() > 0.01
    explicit = create_model("googlenet", weights="imagenet", transform_input=False)
    assert explicit.transform_input is False  # a constructor argument given wins, as in torchvision


@pytest.mark.parametrize("model, spec, enum, resize, crop, interpolation", [
    ("resnet50", "torchvision:IMAGENET1K_V1", "ResNet50_Weights.IMAGENET1K_V1", 256, 224, "bilinear"),
    ("resnet50", "imagenet", "ResNet50_Weights.IMAGENET1K_V2", 232, 224, "bilinear"),
    ("vit_b_16", "imagenet", "ViT_B_16_Weights.IMAGENET1K_V1", 256, 224, "bilinear"),
    ("vit_b_16", "torchvision:ViT_B_16_Weights.IMAGENET1K_SWAG_E2E_V1", "ViT_B_16_Weights.IMAGENET1K_SWAG_E2E_V1",
     384, 384, "bicubic"),
    ("vit_l_16", "imagenet", "ViT_L_16_Weights.IMAGENET1K_V1", 242, 224, "bilinear"),
    ("vit_h_14", "imagenet", "ViT_H_14_Weights.IMAGENET1K_SWAG_E2E_V1", 518, 518, "bicubic"),
])
def test_preprocessing_is_the_weights_transforms(model, spec, enum, resize, crop, interpolation):
    weights = resolve_weights(model, spec)
    assert weights.enum == enum and not weights.path.exists()  # resolving reads metadata, downloads nothing
    assert weights.preprocessing == {"resize": resize, "crop": crop, "interpolation": interpolation,
                                     "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    # the dict applied with torchvision's functional ops gives exactly what transforms() gives
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8))
    p = weights.preprocessing
    resized = TF.resize(image, [p["resize"]], TF.InterpolationMode(p["interpolation"]), antialias=True)
    pixels = TF.to_dtype(TF.pil_to_tensor(TF.center_crop(resized, [p["crop"]])), torch.float32, scale=True)
    ours = TF.normalize(pixels, p["mean"], p["std"])
    expected = torchvision.models.get_weight(enum).transforms()(image)
    torch.testing.assert_close(ours, expected)


def test_resnet50_default_weights_metadata():
    weights = resolve_weights("resnet50", "imagenet")
    assert weights.url == "https://download.pytorch.org/models/resnet50-11ad3fa6.pth"
    assert weights.meta["acc@1"] == 80.858 and weights.meta["dataset"] == "ImageNet-1K"
    assert weights.describe() == ("torchvision ResNet50_Weights.IMAGENET1K_V2 (ImageNet-1K acc@1 80.858) at "
                                  f"{weights.path}")
    assert len(resolve_weights("resnet18", "imagenet").categories) == 1000


def test_a_missing_file_offline_is_one_line_naming_the_url_and_the_path(monkeypatch):
    monkeypatch.setenv("DEEPZOO_OFFLINE", "1")
    path = cached("ResNet18_Weights.IMAGENET1K_V1")
    with pytest.raises(ConfigError) as err:
        create_model("resnet18", weights="imagenet")
    assert str(err.value) == ("ResNet18_Weights.IMAGENET1K_V1 for resnet18 is not cached and DEEPZOO_OFFLINE is set: "
                              "download https://download.pytorch.org/models/resnet18-f37072fd.pth and place it at "
                              f"{path}")


def test_a_failed_download_is_one_line_and_writes_nothing(monkeypatch):
    def unreachable(url, dst, hash_prefix=None, progress=True):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", unreachable)
    path = cached("ResNet18_Weights.IMAGENET1K_V1")
    with pytest.raises(ConfigError) as err:
        create_model("resnet18", weights="imagenet")
    message = str(err.value)
    assert "\n" not in message and "cannot be downloaded (URLError" in message
    assert message.endswith(f"download https://download.pytorch.org/models/resnet18-f37072fd.pth and place it at "
                            f"{path}")
    assert not path.exists()


def test_a_missing_file_is_fetched_by_torch_hub_with_its_hash_prefix(monkeypatch, tmp_path):
    state = {"w": torch.arange(3.0)}
    calls = []

    def download(url, dst, hash_prefix=None, progress=True):
        calls.append((url, dst, hash_prefix))
        torch.save(state, dst)

    monkeypatch.setattr(torch.hub, "download_url_to_file", download)
    weights = resolve_weights("alexnet", "imagenet")
    assert torch.equal(load_pretrained_state(weights)["w"], state["w"])
    assert calls == [("https://download.pytorch.org/models/alexnet-owt-7be5be79.pth", str(weights.path), "7be5be79")]
    load_pretrained_state(weights)  # cached now: no second download
    assert len(calls) == 1


@pytest.mark.parametrize("model, spec, kwargs, message", [
    ("resnet50", "torchvision:IMAGENET1K_V3", {},
     r"unknown torchvision weights of resnet50 \(ResNet50_Weights\) 'IMAGENET1K_V3'; did you mean IMAGENET1K_V2, "
     r"IMAGENET1K_V1\? \(known: DEFAULT, IMAGENET1K_V1, IMAGENET1K_V2\)"),
    ("resnet50", "torchvision:ResNet18_Weights.IMAGENET1K_V1", {},
     r"ResNet18_Weights.IMAGENET1K_V1 are not weights of resnet50 \(its weights are ResNet50_Weights"),
    ("mobilenet_v1", "imagenet", {}, "torchvision publishes no weights for mobilenet_v1 .*MobileNet v2 and v3 only"),
    ("resnet20", "imagenet", {}, "torchvision publishes no weights for resnet20 .*resnet18 … resnet152"),
    ("vit_tiny_patch4_32", "imagenet", {}, "torchvision publishes no weights for vit_tiny_patch4_32"),
    ("lenet", "imagenet", {}, "torchvision publishes no weights for lenet; train it from scratch or pass a local"),
    ("googlenet", "imagenet", {"variant": "paper"},
     "torchvision publishes no weights for googlenet variant='paper': GoogLeNet_Weights.IMAGENET1K_V1 are for "
     "variant='torchvision'"),
    ("resnet50", "imagenet", {"variant": "paper"}, "torchvision publishes no weights for resnet50 variant='paper'"),
    ("vit_b_16", "torchvision:IMAGENET1K_SWAG_E2E_V1", {"input_size": 224},
     "IMAGENET1K_SWAG_E2E_V1 are for 384×384 images and this vit_b_16 is built for 224×224"),
    ("vgg16", "torchvision:IMAGENET1K_FEATURES", {}, "hold trained convolutional features only"),
])
def test_what_has_no_weights_or_does_not_fit_them_is_one_line(monkeypatch, model, spec, kwargs, message):
    monkeypatch.setenv("DEEPZOO_OFFLINE", "1")  # each is refused before any file would be needed
    with pytest.raises(ConfigError, match=message) as err:
        create_model(model, weights=spec, **kwargs)
    assert "\n" not in str(err.value) and "not cached" not in str(err.value)


def test_the_full_enum_name_and_lowercase_members_resolve():
    for spec in ("torchvision:ResNet50_Weights.IMAGENET1K_V1", "torchvision:imagenet1k_v1",
                 "torchvision:IMAGENET1K_V1"):
        assert resolve_weights("resnet50", spec).enum == "ResNet50_Weights.IMAGENET1K_V1"
    assert resolve_weights("resnet50", "torchvision:DEFAULT").enum == "ResNet50_Weights.IMAGENET1K_V2"


def test_a_file_that_fits_but_the_classifier_transfers_to_five_classes():
    reference = save_torchvision("resnet18", "ResNet18_Weights.IMAGENET1K_V1")
    model = create_model("resnet18", weights="imagenet", num_classes=5).eval()
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    backbone = nn.Sequential(*list(reference.children())[:-2])  # up to layer4, before pooling and fc
    with torch.no_grad():
        torch.testing.assert_close(model.forward_features(x), backbone(x), atol=1e-5, rtol=1e-5)
        assert model(x).shape == (2, 5)
    assert model.head.weight.shape == (5, 512) and not torch.equal(model.head.weight, reference.fc.weight[:5])
    assert model.pretrained.categories is None  # the 1000 names no longer describe the outputs


def test_a_file_of_another_architecture_is_refused_naming_tensors():
    save_torchvision("resnet34", "ResNet18_Weights.IMAGENET1K_V1")  # ResNet-34 under ResNet-18's file name
    with pytest.raises(ConfigError) as err:
        create_model("resnet18", weights="imagenet")
    message = str(err.value)
    assert message.startswith(f"torchvision ResNet18_Weights.IMAGENET1K_V1 (ImageNet-1K acc@1 69.758) at "
                              f"{cached('ResNet18_Weights.IMAGENET1K_V1')}: does not fit ResNet")
    assert "not in the model: layer1.2.conv1.weight" in message and "\n" not in message


def _save_vgg19_features() -> nn.Sequential:
    """VGG-19's convolutional stack (random, seeded), saved as its features.* tensors where
    ``VGG19_Weights.IMAGENET1K_V1`` is cached (the classifier is not read by these two users)."""
    torch.manual_seed(0)
    stack = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["E"]).eval()
    path = cached("VGG19_Weights.IMAGENET1K_V1")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({f"features.{k}": v for k, v in stack.state_dict().items()}, path)
    return stack


def test_stylize_weights_imagenet_reads_the_cached_vgg19(tmp_path, capsys, monkeypatch):
    stack = _save_vgg19_features()
    extractor = build_extractor("imagenet")
    assert torch.equal(extractor.stack[28].weight, stack[28].weight)
    rng = np.random.default_rng(0)
    for name in ("content.png", "style.png"):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(tmp_path / name)
    args = ["stylize", "--content", str(tmp_path / "content.png"), "--style", str(tmp_path / "style.png"),
            "--out", str(tmp_path / "out.png"), "--size", "16", "--iterations", "1", "--weights", "imagenet"]
    assert main(args) == 0
    assert (f"mode: pretrained VGG-19 from torchvision VGG19_Weights.IMAGENET1K_V1 (ImageNet-1K acc@1 72.376) at "
            f"{cached('VGG19_Weights.IMAGENET1K_V1')}") in capsys.readouterr().out
    cached("VGG19_Weights.IMAGENET1K_V1").unlink()
    monkeypatch.setenv("DEEPZOO_OFFLINE", "1")
    assert main(args) == 2
    assert "download https://download.pytorch.org/models/vgg19-dcbb9e9d.pth and place it at" in capsys.readouterr().err


def test_srgan_vgg_weights_imagenet_reads_the_cached_vgg19(runs):
    stack = _save_vgg19_features()
    config = build_config(model="srgan", data="sample-images?crop=16&count=8", task="sr",
                          overrides=["task_args.vgg_weights=imagenet", "model.num_blocks=1"])
    recipe, _ = build_recipe(config)
    assert torch.equal(recipe.vgg.features[34].weight, stack[34].weight)  # conv5_4, φ5,4's convolution
    assert any(line.startswith("content loss: VGG54 feature MSE (φ5,4 of VGG-19 from torchvision "
                               "VGG19_Weights.IMAGENET1K_V1") for line in recipe.log_lines), recipe.log_lines
