"""Style transfer: the losses against hand-computed values and invariants, the VGG-19 feature extractors
(layer names, one forward pass, random weights from a seed, torchvision weight files) and the pixel
optimisation."""

from __future__ import annotations

import pytest
import torch
import torchvision

from deepzoo.errors import ConfigError
from deepzoo.models.vgg import CONFIGS, conv_stack
from deepzoo.style import (
    build_extractor,
    content_loss,
    gram_matrix,
    load_vgg19_features,
    optimise_image,
    random_vgg19_features,
    range_loss,
    style_loss,
    total_variation_loss,
)
from deepzoo.style.features import IMAGENET_MEAN, IMAGENET_STD, RANDOM_DEFAULTS, FeatureExtractor, vgg_layer_names
from deepzoo.style.transfer import StyleObjective, pyramid_shapes

pytestmark = pytest.mark.usefixtures("one_thread")


# ---- losses ----
def test_gram_matrix_matches_an_explicit_loop():
    features = torch.randn(2, 3, 4, 5, generator=torch.Generator().manual_seed(0))
    b, c, h, w = features.shape
    expected = torch.zeros(b, c, c)
    for n in range(b):
        for i in range(c):
            for j in range(c):
                expected[n, i, j] = sum(features[n, i, y, x] * features[n, j, y, x]
                                        for y in range(h) for x in range(w)) / (c * h * w)
    torch.testing.assert_close(gram_matrix(features), expected)


def test_style_loss_is_zero_against_itself_and_blind_to_where_things_are():
    g = torch.Generator().manual_seed(1)
    features, other = torch.randn(1, 8, 6, 7, generator=g), torch.randn(1, 8, 6, 7, generator=g)
    assert style_loss(features, gram_matrix(features)).item() == 0.0
    shuffled = features.flatten(2)[..., torch.randperm(42, generator=g)].view_as(features)
    assert not torch.equal(shuffled, features)
    assert style_loss(shuffled, gram_matrix(features)).item() == pytest.approx(0.0, abs=1e-12)
    target = gram_matrix(other)
    assert style_loss(shuffled, target).item() == pytest.approx(style_loss(features, target).item(), rel=1e-5)
    assert style_loss(features, target).item() > 0


def test_style_and_content_loss_values_and_weights():
    features = torch.ones(1, 2, 1, 2)  # F = [[1, 1], [1, 1]] → G = F Fᵀ / 4 = all 0.5
    assert style_loss(features, torch.zeros(1, 2, 2), weight=3.0).item() == pytest.approx(3 * 0.25)
    target = torch.tensor([[[[1.0, 3.0]], [[0.0, 1.0]]]])  # squared errors 0, 4, 1, 0 → mean 1.25
    assert content_loss(features, target, weight=2.0).item() == pytest.approx(2.5)


def test_total_variation_of_a_constant_image_is_zero():
    assert total_variation_loss(torch.full((2, 3, 5, 4), 0.7)).item() == 0.0


def test_range_loss_is_zero_inside_the_unit_range_and_squares_the_excess_outside():
    inside = torch.rand(1, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    assert range_loss(inside, 10.0).item() == 0.0
    image = torch.tensor([-0.5, 0.0, 0.3, 1.0, 1.25, 2.0]).view(1, 1, 2, 3)
    expected = (0.5 ** 2 + 0.25 ** 2 + 1.0 ** 2) / 6  # only -0.5, 1.25 and 2.0 lie outside
    torch.testing.assert_close(range_loss(image, 2.0), torch.tensor(2.0 * expected))


def test_total_variation_matches_a_hand_computed_3x3_example():
    image = torch.tensor([[1.0, 2.0, 4.0], [0.0, 0.0, 0.0], [3.0, 3.0, 3.0]])[None, None]
    # vertical: (0-1)² + (0-2)² + (0-4)² + 3·(3-0)² = 21 + 27 = 48; horizontal: (2-1)² + (4-2)² = 5
    assert total_variation_loss(image, weight=2.0).item() == pytest.approx(2 * 53 / 9)
    # per channel: a second channel with the same pattern doubles the sum and the count alike
    assert total_variation_loss(image.repeat(1, 2, 1, 1)).item() == pytest.approx(53 / 9)


# ---- feature extractors ----
def test_layer_names_follow_gatys_and_torchvision_indices():
    names = vgg_layer_names(random_vgg19_features())
    # torchvision's vgg19().features: ReLU after conv1_1 at 1, conv4_2 at 22, conv5_1 at 29, last pool 36
    assert (names["conv1_1"], names["conv4_2"], names["conv5_1"], names["pool5"]) == (1, 22, 29, 36)
    assert len([n for n in names if n.startswith("conv")]) == 16
    # the tutorial counts convolutions across blocks: its conv_4 is the 4th conv, i.e. conv2_2
    stack = random_vgg19_features()
    convs = [i for i, m in enumerate(stack) if isinstance(m, torch.nn.Conv2d)]
    assert names["conv2_2"] == convs[3] + 1


def test_all_layers_come_from_one_forward_pass_that_stops_at_the_deepest():
    extractor = build_extractor(seed=0)
    calls = []
    for index, module in enumerate(extractor.stack):
        module.register_forward_hook(lambda *_, index=index: calls.append(index))
    maps = extractor(torch.rand(1, 3, 32, 32), ["conv1_1", "conv3_1", "conv2_1"])
    assert calls == list(range(extractor.names["conv3_1"] + 1))
    assert {k: v.shape[1:] for k, v in maps.items()} == {
        "conv1_1": (64, 32, 32), "conv2_1": (128, 16, 16), "conv3_1": (256, 8, 8)}


def test_random_weights_are_fixed_by_the_seed_and_leave_the_global_rng_alone():
    state = torch.random.get_rng_state()
    a, b, c = random_vgg19_features(0), random_vgg19_features(0), random_vgg19_features(1)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(a[0].weight, b[0].weight) and not torch.equal(a[0].weight, c[0].weight)
    # He-normal fan-in: std sqrt(2 / (3·3·64)) for conv1_2
    assert a[2].weight.std().item() == pytest.approx((2 / 576) ** 0.5, rel=0.02)
    assert build_extractor(seed=0).per_layer_normalisation and "random-weight" in build_extractor().description


def _torchvision_features() -> torch.nn.Sequential:
    torch.manual_seed(0)
    return torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["E"]).eval()


def test_a_torchvision_features_file_round_trips_through_the_loader(tmp_path):
    reference = _torchvision_features()
    path = tmp_path / "vgg19_features.pth"
    torch.save({f"features.{k}": v for k, v in reference.state_dict().items()}, path)
    extractor = build_extractor(weights=path)
    assert "pretrained" in extractor.description and not extractor.per_layer_normalisation
    assert isinstance(extractor.stack[4], torch.nn.MaxPool2d)  # the tutorial's pooling in this mode
    image = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    normalised = (image - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(extractor(image, ["conv5_1"])["conv5_1"], reference[:30](normalised))


@pytest.mark.slow
def test_a_full_torchvision_vgg19_state_dict_loads_here_and_through_create_model(tmp_path):
    """The 143M-parameter (≈ 575 MB) file a user would download from torchvision, with random weights."""
    from deepzoo.models import create_model

    torch.manual_seed(0)
    reference = torchvision.models.vgg19(weights=None).eval()
    path = tmp_path / "vgg19.pth"
    torch.save(reference.state_dict(), path)
    stack = load_vgg19_features(path)
    torch.testing.assert_close(stack[28].weight, reference.features[28].weight, rtol=0, atol=0)
    zoo = create_model("vgg19", num_classes=1000, weights=str(path))
    torch.testing.assert_close(zoo.features[0].weight, reference.features[0].weight, rtol=0, atol=0)


@pytest.mark.parametrize("make, message", [
    (lambda: torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["A"]), "unexpected features.11"),
    (lambda: torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["E"], batch_norm=True), "batch norm"),
    (lambda: conv_stack(CONFIGS[19], 1, False, None), r"features.0.weight has shape \(64, 1, 3, 3\)"),
    (lambda: torch.nn.Sequential(*list(torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["E"]))[:-3]),
     "features.34.weight is missing"),
    (lambda: torch.nn.Sequential(torch.nn.Linear(2, 2)), "no 'features.*' tensors"),
])
def test_a_weights_file_that_is_not_vgg19_is_one_clear_error(tmp_path, make, message):
    path = tmp_path / "other.pth"
    prefix = "features." if "no 'features" not in message else "fc."
    torch.save({prefix + k: v for k, v in make().state_dict().items()}, path)
    with pytest.raises(ConfigError, match=message) as err:
        load_vgg19_features(path)
    assert "not a VGG-19 state dict" in str(err.value) and "\n" not in str(err.value)


def test_unknown_layers_and_pooling_name_the_closest_choices():
    with pytest.raises(ConfigError, match="unknown style layer 'conv4_5'; did you mean conv4_"):
        build_extractor().check_layers(["conv4_5"], "style")
    with pytest.raises(ConfigError, match="pooling='mean'"):
        build_extractor(pooling="mean")


# ---- optimisation ----
def _objective(extractor=None, tv_weight=0.1) -> tuple[StyleObjective, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    content = torch.rand(1, 3, 32, 32, generator=g)
    style = torch.rand(1, 3, 32, 32, generator=g) ** 2
    extractor = extractor or build_extractor(seed=0)
    objective = StyleObjective(extractor, content, style, ["conv2_1"], ["conv1_1", "conv2_1"],
                               content_weight=1.0, style_weight=1.0, tv_weight=tv_weight)
    return objective, content


def test_a_few_lbfgs_steps_lower_the_total_loss():
    objective, content = _objective()
    image, history = optimise_image(objective, content, iterations=5, optimizer="lbfgs")
    assert len(history) == 6 and history[0]["content"] == 0.0
    assert history[-1]["total"] < 0.5 * history[0]["total"]
    assert image.min() >= 0 and image.max() <= 1


def test_adam_from_noise_lowers_the_total_loss_and_keeps_pixels_in_range():
    objective, content = _objective()
    noise = torch.rand(content.shape, generator=torch.Generator().manual_seed(4))
    image, history = optimise_image(objective, noise, iterations=5, optimizer="adam", clamp=True)
    assert history[-1]["total"] < history[0]["total"]
    assert history[0]["total"] == pytest.approx(sum(history[0][k] for k in ("content", "style", "tv")), rel=1e-6)


def test_per_layer_normalisation_divides_each_layer_by_its_target_and_the_layer_count():
    objective, _ = _objective()
    for name, target in objective.style_targets.items():
        assert objective.style_scales[name] == pytest.approx(1 / (2 * target.square().mean().item()), rel=1e-6)
    plain = FeatureExtractor(random_vgg19_features(0), description="", defaults=RANDOM_DEFAULTS,
                             per_layer_normalisation=False)
    objective, _ = _objective(plain)
    assert objective.style_scales == {"conv1_1": 0.5, "conv2_1": 0.5}  # Gatys et al.'s w_l = 1 / number of layers


def test_coarse_to_fine_shapes_halve_from_the_full_size():
    assert pyramid_shapes((85, 128), 3) == [(21, 32), (42, 64), (85, 128)]
    assert pyramid_shapes((85, 128), 1) == [(85, 128)]
