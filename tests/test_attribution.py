"""Attribution maps: each method against an answer computed another way (a hand computation, autograd, the
completeness axiom), the sanity checks of the field (parameter randomisation, pointing) on the ``patches``
set, the one-line errors, and ``deepzoo attribute`` end to end on a trained run."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from deepzoo.attribution import explain
from deepzoo.attribution.maps import black_baseline
from deepzoo.attribution.rollout import attention_weights, rollout
from deepzoo.attribution.sanity import pointing_check, randomisation_check
from deepzoo.cli import main
from deepzoo.data.embedded import PATCH_COLOURS, patch_images
from deepzoo.models import create_model
from deepzoo.models._base import Classifier
from deepzoo.models.vit import SelfAttention, VisionTransformer, patch_embedding
from tests.conftest import QUIET

pytestmark = pytest.mark.usefixtures("one_thread")
SETS = [a for q in QUIET for a in ("--set", q)]


class QuadrantNet(Classifier):
    """1×4×4 input → 2×2 map A = the mean of each quadrant (a 2×2 stride-2 conv of 1/4s) → global average
    pool → two classes with weights +2 and −2: class 0's score is 2·mean(A), class 1's −2·mean(A)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 2, stride=2, bias=False)
        self.head = nn.Linear(1, 2, bias=False)
        self.num_features = 1
        with torch.no_grad():
            self.conv.weight.fill_(0.25)
            self.head.weight.copy_(torch.tensor([[2.0], [-2.0]]))

    def forward_features(self, x):
        return self.conv(x)

    def forward_head(self, x, pre_logits=False):
        pooled = x.mean(dim=(2, 3))
        return pooled if pre_logits else self.head(pooled)


def test_gradcam_on_a_hand_built_network_peaks_where_the_class_evidence_is():
    """Top-left quadrant +1, the rest −1: A = [[1, −1], [−1, −1]]. For class 0, α = ∂(2·mean A)/∂A_ij
    summed over the 4 positions / 4 = 2/4 = 0.5, so the map is ReLU(0.5·A) = [[0.5, 0], [0, 0]]; for
    class 1 (α = −0.5) ReLU(−0.5·A) = [[0, 0.5], [0.5, 0.5]]. Bilinear upsampling 2 → 4 (half-pixel
    centres) weighs the two source cells (1, 0), (0.75, 0.25), (0.25, 0.75), (0, 1) along each axis."""
    x = -torch.ones(1, 1, 4, 4)
    x[..., :2, :2] = 1.0
    a = torch.tensor([1.0, 0.75, 0.25, 0.0])
    expected_0 = 0.5 * torch.outer(a, a)
    b = 1 - a
    expected_1 = 0.5 * (torch.outer(a, b) + torch.outer(b, a) + torch.outer(b, b))
    model = QuadrantNet()
    maps = explain(model, x.repeat(2, 1, 1, 1), "gradcam", torch.tensor([0, 1])).maps
    torch.testing.assert_close(maps[0], expected_0)
    torch.testing.assert_close(maps[1], expected_1)
    assert maps[0].argmax() == 0  # the peak is the top-left pixel
    # a binary run's one logit z = 2·mean(A) is read as the scores (−z/2, z/2): half of the maps above
    with torch.no_grad():
        model.head = nn.Linear(1, 1, bias=False)
        model.head.weight.fill_(2.0)
    binary = explain(model, x.repeat(2, 1, 1, 1), "gradcam", torch.tensor([1, 0]), binary=True).maps
    torch.testing.assert_close(binary, torch.stack([expected_0, expected_1]) / 2)


def small_cnn(seed: int = 0, classes: int = 3) -> nn.Module:
    torch.manual_seed(seed)
    return create_model("cnn", num_classes=classes, in_chans=3, input_shape=(3, 8, 8), width=8, depth=2).eval()


def test_saliency_is_the_largest_absolute_input_gradient_over_channels():
    model, x = small_cnn(), torch.randn(5, 3, 8, 8)
    target = torch.tensor([0, 1, 2, 0, 1])
    leaf = x.clone().requires_grad_()
    model(leaf)[torch.arange(5), target].sum().backward()  # each image's score depends only on itself
    expected = leaf.grad.abs().amax(dim=1)
    torch.testing.assert_close(explain(model, x, "saliency", target).maps, expected)


def test_integrated_gradients_satisfies_completeness():
    """Σ attributions = f(x) − f(baseline) (Sundararajan et al. 2017, Prop. 1) within 1% on a smooth
    network, f computed here directly; the black baseline is pixel value 0 normalised: −mean/std."""
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Tanh(), nn.Conv2d(4, 4, 3), nn.Softplus(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(4, 3)).eval()
    x = torch.randn(4, 3, 8, 8)
    mean, std = [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]
    result = explain(model, x, "integrated-gradients", n_steps=64, mean=mean, std=std)
    baseline = black_baseline(x, mean, std)
    torch.testing.assert_close(baseline[0, :, 0, 0], torch.tensor([-2.5, -1.6, -1.0]))
    with torch.no_grad():
        rows = torch.arange(4)
        difference = model(x)[rows, result.target] - model(baseline)[rows, result.target]
    torch.testing.assert_close(result.completeness["difference"], difference)
    gap = (result.maps.flatten(1).sum(1) - difference).abs()
    assert (gap < 0.01 * difference.abs()).all(), (gap, difference)
    torch.testing.assert_close(result.completeness["delta"].abs(), gap, atol=1e-6, rtol=1e-4)


def test_rollout_of_two_layers_by_hand():
    """One head, two tokens: A1 = [[1, 0], [1, 0]] → Â1 = [[1, 0], [.5, .5]]; A2 = [[0, 1], [0, 1]] →
    Â2 = [[.5, .5], [0, 1]]; rollout Â2·Â1 = [[.75, .25], [.5, .5]]."""
    first = torch.tensor([[[[1.0, 0.0], [1.0, 0.0]]]])
    second = torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]])
    torch.testing.assert_close(rollout([first, second]), torch.tensor([[[0.75, 0.25], [0.5, 0.5]]]))


def test_rollout_on_a_tiny_vit_uses_the_attention_each_layer_applied():
    """The recomputed weights reproduce each attention layer's own output (weights · V, then out_proj),
    and the map is the class token's rollout row over the 2×2 patch grid, upsampled."""
    torch.manual_seed(0)
    model = VisionTransformer(patch_embedding(3, 8, 4), grid_tokens=4, num_classes=3, depth=2, width=8,
                              mlp_dim=16, heads=2).eval()
    x = torch.randn(2, 3, 8, 8)
    recorded = []
    hooks = [m.register_forward_hook(lambda m, args, out: recorded.append((m, args[0], out)))
             for m in model.modules() if isinstance(m, SelfAttention)]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    attentions = []
    for layer, inputs, output in recorded:
        weights = attention_weights(layer, inputs)
        v = nn.functional.linear(inputs, layer.in_proj_weight, layer.in_proj_bias)[..., 16:]
        v = v.view(2, 5, 2, 4).transpose(1, 2)
        mixed = (weights @ v).transpose(1, 2).reshape(2, 5, 8)
        torch.testing.assert_close(layer.out_proj(mixed), output, atol=1e-5, rtol=1e-5)
        attentions.append(weights)
    cls_row = rollout(attentions)[:, 0, 1:].reshape(2, 1, 2, 2)
    expected = nn.functional.interpolate(cls_row, size=(8, 8), mode="bilinear", align_corners=False)[:, 0]
    torch.testing.assert_close(explain(model, x, "rollout").maps, expected)


@pytest.fixture(scope="module")
def patch_model():
    """The zoo's ``cnn`` trained a few seconds on 16×16 ``patches`` images (4×4 squares), and held-out
    images with their squares' boxes, standardised as in training."""
    x, y, _ = patch_images(1024, size=16, patch=4, seed=1)
    mean, std = x.mean((0, 2, 3), keepdims=True), x.std((0, 2, 3), keepdims=True)
    torch.manual_seed(0)
    model = create_model("cnn", num_classes=len(PATCH_COLOURS), in_chans=3, input_shape=(3, 16, 16), width=16)
    inputs, labels = torch.from_numpy((x - mean) / std), torch.from_numpy(y)
    optimizer = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(150):
        pick = torch.randint(0, len(inputs), (64,))
        loss = nn.functional.cross_entropy(model(inputs[pick]), labels[pick])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    held_x, held_y, boxes = patch_images(128, size=16, patch=4, seed=2)
    return model.eval(), torch.from_numpy((held_x - mean) / std), torch.from_numpy(held_y), boxes


@pytest.mark.parametrize("method, floor", [("gradcam", 0.5), ("saliency", 0.8)])
def test_maps_point_at_the_class_evidence_far_above_chance(patch_model, method, floor):
    """Chance is the square's share of the image, 16/256 = 6.25%."""
    model, x, y, boxes = patch_model
    assert (model(x).argmax(1) == y).float().mean() > 0.95
    assert pointing_check(model, x, y, boxes, method) >= floor


@pytest.mark.parametrize("method", ["gradcam", "integrated-gradients"])
def test_maps_of_a_randomised_network_differ_from_the_trained_ones(patch_model, method):
    """Adebayo et al. 2018: a map that explains the model changes when its weights are randomised."""
    model, x, _, _ = patch_model
    correlation = randomisation_check(model, x[:32], method, n_steps=16)
    assert abs(correlation.mean()) < 0.4
    same = randomisation_check(model, x[:8], method, n_steps=16, seed=0)
    assert np.allclose(same, correlation[:8], atol=1e-6)  # seeded: the check is reproducible


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A ``cnn`` and an ``mlp`` trained one epoch on digits, a table run, and three digit PNGs in a folder."""
    from sklearn.datasets import load_digits

    root = tmp_path_factory.mktemp("attribute")
    runs = str(root / "runs")
    for model, data in (("cnn", "digits"), ("mlp", "digits"), ("mlp", "moons")):
        argv = ["train", "--model", model, "--data", data, "--epochs", "1", "--name", f"{model}-{data}",
                "--runs-dir", runs, *SETS]
        assert main(argv) == 0
    images = root / "images"
    images.mkdir()
    digits = load_digits()
    for i in range(3):
        Image.fromarray((digits.images[i] * 255 / 16).astype(np.uint8)).save(images / f"digit{i}.png")
    return runs, images


def test_attribute_writes_maps_arrays_and_a_grid(digits_run, capsys):
    runs, images = digits_run
    assert main(["attribute", "cnn-digits", "--input", str(images), "--runs-dir", runs,
                 "--method", "integrated-gradients", "--target", "3"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    folder = images.parent / "runs" / "cnn-digits" / "attributions"
    assert [r["id"] for r in rows] == [str(images / f"digit{i}.png") for i in range(3)]
    assert {r["target"] for r in rows} == {"3"}
    for i, row in enumerate(rows):
        assert np.load(folder / f"digit{i}_integrated-gradients.npy").shape == (8, 8)
        assert abs(float(row["sum"]) - float(row["difference"])) == pytest.approx(abs(float(row["delta"])),
                                                                                 abs=1e-4)
        assert (folder / f"digit{i}_integrated-gradients.png").stat().st_size > 0
    assert (folder / "grid_integrated-gradients.png").is_file()
    assert (folder / "integrated-gradients.csv").read_text().count("\n") == 4
    assert main(["attribute", "cnn-digits", "--method", "filters", "--runs-dir", runs]) == 0
    assert np.load(folder / "filters.npy").shape == (32, 1, 3, 3)
    assert main(["attribute", "cnn-digits", "--input", str(images / "digit0.png"), "--method", "activations",
                 "--layer", "features.0", "--output", str(images.parent / "out"), "--runs-dir", runs]) == 0
    assert np.load(images.parent / "out" / "digit0_activations.npy").shape == (32, 8, 8)


@pytest.mark.parametrize("argv, needle", [
    (["cnn-digits", "--method", "gradcm"], "unknown attribution method 'gradcm'; did you mean gradcam"),
    (["cnn-digits", "--method", "rollout"], "rollout: SmallCNN has no attention layers"),
    (["cnn-digits", "--layer", "featurs.0"], "--layer 'featurs.0': no such layer in SmallCNN; did you mean"),
    (["cnn-digits", "--target", "eleven"], "--target 'eleven': not a class of this run"),
    (["mlp-digits"], r"gradcam: MLP's last stage \(forward_features\) gives no \(C, H, W\) feature map"),
    (["mlp-digits", "--method", "filters"], "filters: MLP has no 2-D convolution"),
    (["mlp-moons"], r"attribution maps are drawn over images \(C, H, W\); this run's inputs are \(2,\)"),
])
def test_what_does_not_fit_is_one_line(digits_run, capsys, argv, needle):
    import re

    runs, images = digits_run
    status = main(["attribute", *argv, "--input", str(images), "--runs-dir", runs])
    err = capsys.readouterr().err.strip()
    assert status == 2 and "\n" not in err and re.search(needle, err), err


def test_a_pretrained_model_is_explained_into_the_output_folder(tmp_path, capsys):
    """``--model resnet18 --weights imagenet`` (random weights cached where torch.hub keeps them): the map is
    over the weights' 224×224 centre crop and the classes are ImageNet's names; without --output, one line."""
    from tests.test_pretrained_weights import save_torchvision

    save_torchvision("resnet18", "ResNet18_Weights.IMAGENET1K_V1")
    image = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (240, 260, 3), dtype=np.uint8)).save(image)
    out = tmp_path / "maps"
    assert main(["attribute", "--model", "resnet18", "--weights", "imagenet", "--input", str(image),
                 "--output", str(out)]) == 0
    row = next(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert np.load(out / "photo_gradcam.npy").shape == (224, 224)
    assert row["predicted"] == row["target"] and not row["predicted"].isdigit()  # an ImageNet class name
    status = main(["attribute", "--model", "resnet18", "--input", str(image)])
    assert status == 2 and "--output DIR: a pretrained model has no run folder" in capsys.readouterr().err
