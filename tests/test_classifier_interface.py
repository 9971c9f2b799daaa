"""timm's classifier interface on every registered classifier of the zoo.

``forward_features`` returns unpooled features (a 4-D map for 2-D convnets, ViT's token sequence, a 1-D
map for the MNIST-1D CNN, the flat hidden vector for MLPs), ``forward_head`` pools and classifies
(``pre_logits=True``: the pooled vector of width ``num_features``), ``forward == forward_head ∘
forward_features``, and ``reset_classifier`` / ``get_classifier`` swap the final layer as timm's do.

Every model is built for small inputs (16×16 RGB images, MNIST-1D's 40 samples, 8×8 digits for the
MLPs); the three large ViTs keep their width and heads but get two encoder blocks (``depth=2``, a knob of
their registered constructor), which exercises the same code at a fraction of the cost.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepzoo.errors import ConfigError
from deepzoo.models import accepted_kwargs, create_model, list_models, model_entry
from deepzoo.models._base import Classifier
from deepzoo.models._counting import build_on_meta
from deepzoo.models.googlenet import InceptionOutputs

pytestmark = pytest.mark.usefixtures("one_thread")

CLASSIFIERS = [n for n in list_models() if model_entry(n).meta.get("task") == "multiclass"]
IMAGE = (3, 16, 16)
SHAPES = {"mnist1d_cnn": (1, 40), "mlp": (1, 8, 8), "linear": (1, 8, 8)}
SHALLOW = {"vit_b_16": {"depth": 2}, "vit_l_16": {"depth": 2}, "vit_h_14": {"depth": 2}}
#: channels of the unpooled map where an MLP sits between it and the final layer (num_features is the
#: MLP's output): AlexNet's conv5 (256 in both variants), VGG's last conv block (Table 1: 512), LeNet's
#: second conv (16 maps), the MNIST-1D CNN's 25 channels
MAP_CHANNELS = {"alexnet": 256, "lenet": 16, "mnist1d_cnn": 25, **{n: 512 for n in CLASSIFIERS if n.startswith("vgg")}}
GLOBAL_AVERAGE = ("resnet", "mobilenet", "googlenet")  # families whose pre-logits are the map's mean
GLOBAL_AVERAGE_MODELS = ("cnn",)


def build(name: str, num_classes: int = 3) -> tuple[Classifier, torch.Tensor]:
    """The model ``name`` in eval mode for its small input, and a batch of two such inputs."""
    shape = SHAPES.get(name, IMAGE)
    data = {"num_classes": num_classes, "in_chans": shape[0], "input_size": shape[-1], "input_shape": shape}
    torch.manual_seed(0)
    model = create_model(name, **accepted_kwargs(name, data), **SHALLOW.get(name, {})).eval()
    return model, torch.randn(2, *shape, generator=torch.Generator().manual_seed(1))


def test_every_registered_classifier_is_checked_here():
    """Every registered model with the classifier interface is in CLASSIFIERS, except the GNNs (their
    forward takes a graph; tests/test_gnn.py checks their reset_classifier)."""
    with_interface = {n for n in list_models() if isinstance(build_on_meta(n), Classifier)}
    graph = {n for n in list_models() if model_entry(n).meta.get("family") == "gnn"}
    assert with_interface - graph == set(CLASSIFIERS)
    assert {"alexnet", "vgg16", "googlenet", "resnet50", "resnet20", "mobilenet_v1", "vit_b_16", "vit_h_14",
            "vit_hybrid_r50", "cnn", "lenet", "mnist1d_cnn", "mlp", "linear"} <= set(CLASSIFIERS)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_forward_features_is_unpooled_and_forward_head_pools_and_classifies(name):
    model, x = build(name)
    family = model_entry(name).meta.get("family")
    with torch.no_grad():
        features = model.forward_features(x)
        pre = model.forward_head(features, pre_logits=True)
        logits = model(x)
        assert pre.shape == (2, model.num_features)
        torch.testing.assert_close(model.forward_head(features), logits)
        torch.testing.assert_close(model.get_classifier()(pre), logits)  # the final layer reads the pre-logits
    assert logits.shape == (2, 3)
    if family == "vit":  # tokens after the final norm, class token first; the head reads the class token
        assert features.shape == (2, model.encoder.pos_embedding.shape[1], model.num_features)
        torch.testing.assert_close(pre, features[:, 0])
    elif family == "mlp":  # no spatial map: the last hidden layer (the flattened input for `linear`)
        assert features.shape == (2, model.num_features)
    elif name == "mnist1d_cnn":  # a 1-D map, flattened (not pooled) into the pre-logits
        assert features.dim() == 3 and features.shape[1] == MAP_CHANNELS[name]
        torch.testing.assert_close(pre, features.flatten(1))
    else:  # 2-D convnets: the last map before global pooling
        assert features.dim() == 4 and features.shape[1] == MAP_CHANNELS.get(name, model.num_features)
        if family in GLOBAL_AVERAGE or name in GLOBAL_AVERAGE_MODELS:
            torch.testing.assert_close(pre, features.mean((2, 3)))


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_reset_classifier_swaps_the_final_layer_and_zero_gives_the_pre_logits(name):
    model, x = build(name)
    with torch.no_grad():
        features = model.forward_features(x)
        pre = model.forward_head(features, pre_logits=True)
    model.reset_classifier(5)
    head = model.get_classifier()
    assert isinstance(head, nn.Linear) and (head.in_features, head.out_features) == (model.num_features, 5)
    assert any(m is head for m in model.modules())
    with torch.no_grad():
        torch.testing.assert_close(model.forward_features(x), features)  # the backbone is untouched
        assert model(x).shape == (2, 5)
    model.reset_classifier(0)
    assert isinstance(model.get_classifier(), nn.Identity)
    with torch.no_grad():
        torch.testing.assert_close(model(x), pre)
    with pytest.raises(ConfigError, match="global_pool"):
        model.reset_classifier(5, global_pool="max")


def test_googlenet_aux_classifiers_follow_reset_classifier_and_transfer_loading(tmp_path):
    data = {"in_chans": 1, "input_size": 16}
    model = create_model("googlenet", aux_logits=True, num_classes=3, **data)
    path = tmp_path / "googlenet3.pt"
    torch.save(model.state_dict(), path)
    # transfer to 5 classes: the head and both auxiliary last layers (classifier_prefixes) are re-initialised
    moved = create_model("googlenet", weights=str(path), aux_logits=True, num_classes=5, **data)
    assert moved.aux1.fc2.out_features == moved.aux2.fc2.out_features == moved.get_classifier().out_features == 5
    torch.testing.assert_close(moved.aux1.fc1.weight, model.aux1.fc1.weight)
    x = torch.randn(2, 1, 16, 16)
    out = moved.train()(x)
    assert isinstance(out, InceptionOutputs) and [t.shape for t in out] == [(2, 5)] * 3
    moved.reset_classifier(0)  # no classes: the auxiliary classifiers go, forward gives the pre-logits
    assert moved.aux1 is None and moved.aux2 is None
    assert moved.eval()(x).shape == (2, moved.num_features)
