"""Conditional GANs (cgan, acgan): the label enters both players, AC-GAN's losses by hand, conditional
accuracy and per-class FCD on a judge with known outputs, frozen players, the preset, resume, sampling a
class through the CLI, and the one-line errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch
from safetensors.torch import load_file
from torch import nn

from deepzoo import api
from deepzoo.cli import main
from deepzoo.data import DatasetMeta
from deepzoo.errors import ConfigError
from deepzoo.metrics.gan import JudgeClassifier, conditional_accuracy
from deepzoo.models import create_model
from deepzoo.recipes.conditional_gan import (
    AuxiliaryClassifierGanRecipe,
    ConditionalGanRecipe,
    acgan_discriminator_loss,
    acgan_generator_loss,
)
from tests.conftest import QUIET
from tests.test_gan_training import SILENT

NO_JUDGE = ["task_args.classifier_run=none"]
TINY = ["model.g_width=8", "model.d_width=8", "model.latent_dim=8"]


def recipe_for(model, overrides=(), data="digits"):
    cfg = api.build_config(model=model, data=data, overrides=QUIET + list(overrides))
    return api.build_recipe(cfg)[0]


def train(model, epochs=1, overrides=(), **kwargs):
    return api.train(model=model, data="digits", epochs=epochs, overrides=QUIET + TINY + list(overrides),
                     **SILENT, **kwargs)


# -- the models -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["cgan", "acgan"])
def test_the_label_enters_the_generator(model):
    torch.manual_seed(0)
    pair = create_model(model, image_size=8, channels=1, num_classes=10, latent_dim=8, g_width=8, d_width=8).eval()
    z = torch.randn(4, 8)
    three, seven = torch.full((4,), 3), torch.full((4,), 7)
    assert pair.generator(z, three).shape == (4, 1, 8, 8)
    assert not torch.allclose(pair.generator(z, three), pair.generator(z, seven))
    # the one-hot label is joined to z: the first transposed convolution reads latent_dim + K inputs
    assert pair.generator.net[1].in_channels == 8 + 10


def test_cgan_discriminator_reads_the_label_as_planes_joined_to_the_image():
    torch.manual_seed(0)
    pair = create_model("cgan", image_size=8, channels=1, num_classes=10, latent_dim=8, g_width=8, d_width=8).eval()
    x = torch.rand(4, 1, 8, 8) * 2 - 1
    three, seven = torch.full((4,), 3), torch.full((4,), 7)
    logits = pair.discriminator(x, three)
    assert logits.shape == (4,) and not torch.allclose(logits, pair.discriminator(x, seven))
    planes = torch.zeros(4, 10, 8, 8)
    planes[:, 3] = 1.0  # class 3: plane 3 all ones, the others zero
    assert torch.equal(logits, pair.discriminator.net(torch.cat([x, planes], 1)))
    assert torch.equal(pair(x, three, player="discriminator"), logits)


def test_acgan_discriminator_predicts_source_and_class_as_logits():
    torch.manual_seed(0)
    pair = create_model("acgan", image_size=8, channels=1, num_classes=10, latent_dim=8, g_width=8, d_width=8).eval()
    x = torch.rand(4, 1, 8, 8) * 2 - 1
    source, classes = pair.discriminator(x)
    assert source.shape == (4,) and classes.shape == (4, 10)
    # raw logits (no Softmax layer before the cross-entropy): the class outputs do not sum to one
    assert not torch.allclose(classes.sum(1), torch.ones(4))
    assert not any(isinstance(m, (nn.Softmax, nn.LogSoftmax, nn.Sigmoid)) for m in pair.modules())
    assert torch.equal(pair.source_logits(x, torch.zeros(4, dtype=torch.long)), source)


# -- AC-GAN's losses by hand ---------------------------------------------------------------------------

def softplus(v: float) -> float:
    return math.log(1 + math.exp(v))


def cross_entropy(logits: list[float], label: int) -> float:
    return -logits[label] + math.log(sum(math.exp(v) for v in logits))


def test_acgan_losses_against_hand_computed_values():
    real_source, fake_source = torch.tensor([0.0, 2.0]), torch.tensor([-1.0, 0.5])
    real_classes = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]])
    fake_classes = torch.tensor([[0.0, 1.0, 0.0], [-2.0, 0.0, 3.0]])
    labels = torch.tensor([0, 2])
    # −log σ(l) = softplus(−l) on reals, −log(1 − σ(l)) = softplus(l) on fakes; CE = −l_y + log Σ e^l
    source = (softplus(0.0) + softplus(-2.0)) / 2 + (softplus(-1.0) + softplus(0.5)) / 2
    ce_real = (cross_entropy([2.0, 0.0, -1.0], 0) + cross_entropy([0.5, 0.5, 0.0], 2)) / 2
    ce_fake = (cross_entropy([0.0, 1.0, 0.0], 0) + cross_entropy([-2.0, 0.0, 3.0], 2)) / 2
    d = acgan_discriminator_loss(real_source, real_classes, fake_source, fake_classes, labels)
    assert d["source_loss"].item() == pytest.approx(source, abs=1e-6)
    assert d["class_loss"].item() == pytest.approx(ce_real + ce_fake, abs=1e-6)  # real AND fake items
    assert d["loss"].item() == pytest.approx(source + ce_real + ce_fake, abs=1e-6)
    g = acgan_generator_loss(fake_source, fake_classes, labels)
    adversarial = (softplus(1.0) + softplus(-0.5)) / 2  # non-saturating −log σ(l)
    assert g["adversarial"].item() == pytest.approx(adversarial, abs=1e-6)
    assert g["loss"].item() == pytest.approx(adversarial + ce_fake, abs=1e-6)
    saturating = acgan_generator_loss(fake_source, fake_classes, labels, saturating=True)["adversarial"]
    assert saturating.item() == pytest.approx(-(softplus(-1.0) + softplus(0.5)) / 2, abs=1e-6)  # log(1 − σ(l))


# -- conditional accuracy and per-class FCD on a judge with known outputs -------------------------------

class IdentityJudge(nn.Module):
    """A classifier whose features are its input and whose logits are its features."""

    def __init__(self, k: int):
        super().__init__()
        self.head = nn.Linear(k, k, bias=False)
        nn.init.eye_(self.head.weight)

    def forward_features(self, x):
        return x

    def forward_head(self, x, pre_logits=False):
        return x if pre_logits else self.head(x)

    def get_classifier(self):
        return self.head


def by_hand_frechet(a: np.ndarray, b: np.ndarray) -> float:
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real))


def test_conditional_accuracy_and_per_class_fcd_with_a_judge_of_known_outputs(tmp_path):
    k = 3
    (tmp_path / "model.safetensors").write_bytes(b"stand-in weights")
    meta = DatasetMeta(name="points", task="multiclass", input_shape=(k,), num_classes=k)
    judge = JudgeClassifier(tmp_path, IdentityJudge(k), meta, torch.device("cpu"))
    gen = torch.Generator().manual_seed(0)
    labels = torch.tensor([0] * 6 + [1] * 6 + [2] * 6)
    real = torch.randn(18, k, generator=gen) + 4 * nn.functional.one_hot(labels, k)  # argmax = label
    reference = torch.randn(18, k, generator=gen) + 4 * nn.functional.one_hot(labels, k)
    fake = torch.randn(18, k, generator=gen)
    fake[:, 0] += 10  # every fake is judged class 0: right for the six fakes of class 0 only
    scores = judge.conditional_scores(fake, real, reference, labels)
    assert scores["conditional_accuracy"] == pytest.approx(6 / 18)
    assert scores["conditional_accuracy_real"] == 1.0
    for c in range(k):
        rows = (labels == c).numpy()
        assert scores[f"fcd_class_{c}"] == pytest.approx(by_hand_frechet(fake.numpy()[rows], real.numpy()[rows]),
                                                         rel=1e-6)
        assert scores[f"fcd_class_{c}_real_floor"] == pytest.approx(
            by_hand_frechet(reference.numpy()[rows], real.numpy()[rows]), rel=1e-6)
    assert scores["fcd_class_mean"] == pytest.approx(np.mean([scores[f"fcd_class_{c}"] for c in range(k)]))
    assert conditional_accuracy(torch.eye(3), torch.tensor([0, 2, 2])) == pytest.approx(2 / 3)


# -- training: frozen players, preset, resume -----------------------------------------------------------

@pytest.mark.parametrize("model, recipe_class",
                         [("cgan", ConditionalGanRecipe), ("acgan", AuxiliaryClassifierGanRecipe)])
def test_the_frozen_player_stays_bit_identical(runs, monkeypatch, model, recipe_class):
    calls = []
    original = recipe_class.training_step

    def spy(self, batch, phase):
        players = {"generator": self.model.generator, "discriminator": self.model.discriminator}
        calls.append((phase, {n: [p.detach().clone() for p in m.parameters()] for n, m in players.items()}))
        return original(self, batch, phase)

    monkeypatch.setattr(recipe_class, "training_step", spy)
    train(model, overrides=NO_JUDGE + ["train.batch_size=256"])
    assert [phase for phase, _ in calls[:4]] == ["discriminator", "generator"] * 2
    for (active, before), (_, after) in zip(calls, calls[1:]):
        frozen = "generator" if active == "discriminator" else "discriminator"
        assert all(torch.equal(a, b) for a, b in zip(before[frozen], after[frozen]))
        assert any(not torch.equal(a, b) for a, b in zip(before[active], after[active]))


@pytest.mark.parametrize("model", ["cgan", "acgan"])
def test_the_paper_preset_is_the_dcgan_backbones(runs, model):
    recipe = recipe_for(model, TINY)
    assert recipe.config.optim.name == "adam" and recipe.config.optim.lr == 2e-4
    assert tuple(recipe.config.optim.betas) == (0.5, 0.999) and recipe.config.train.batch_size == 128
    assert recipe.config.early_stop.enabled is False
    kept = recipe_for(model, TINY + ["optim.lr=1e-3"])
    assert kept.config.optim.lr == 1e-3 and "kept your optim.lr=0.001" in "\n".join(kept.log_lines)
    # the epoch grid: one row per class, each column one noise vector down the rows
    assert torch.equal(recipe.fixed_labels, torch.arange(10).repeat_interleave(8))
    assert torch.equal(recipe.fixed_noise[:8], recipe.fixed_noise[72:])


@pytest.mark.parametrize("model", ["cgan", "acgan"])
def test_a_resumed_run_matches_an_uninterrupted_one(runs, model):
    extra = NO_JUDGE + ["train.batch_size=256"]
    train(model, epochs=1, name="cut", overrides=extra)
    resumed = api.train(name="cut", resume=True, epochs=2, **SILENT)
    straight = train(model, epochs=2, name="straight", overrides=extra)
    a, b = load_file(str(resumed.dir / "model.safetensors")), load_file(str(straight.dir / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)


# -- sampling a class ----------------------------------------------------------------------------------

def test_sample_label_through_the_cli(runs, capsys):
    run = train("acgan", overrides=NO_JUDGE + ["train.batch_size=256"], name="ac")
    assert main(["sample", str(run.dir), "--n", "4", "--label", "7", "3", "--seed", "5"]) == 0
    capsys.readouterr()
    saved = load_file(str(run.dir / "samples" / "samples_seed5_label7-3.safetensors"))
    assert saved["labels"].tolist() == [7] * 4 + [3] * 4
    assert (run.dir / "samples" / "samples_seed5_label7-3.png").is_file()
    # the samples are the generator's for those labels and that seed's noise (drawn for the 8 items)
    recipe = api.load_run(run.dir, with_data=False).recipe
    noise = torch.randn(8, 8, generator=torch.Generator().manual_seed(5))
    assert torch.allclose(saved["samples"], recipe.generate_all(noise, saved["labels"]))
    assert torch.allclose(saved["samples"], recipe.sample(4, torch.Generator().manual_seed(5), labels=["7", 3]))
    # every class without --label: n per class, grouped
    assert main(["sample", str(run.dir), "--n", "2"]) == 0
    assert load_file(str(run.dir / "samples" / "samples_seed0.safetensors"))["labels"].tolist() == \
        [c for c in range(10) for _ in range(2)]


# -- one-line errors -----------------------------------------------------------------------------------

def one_line_error(capsys, argv):
    status = main(argv)
    err = capsys.readouterr().err.strip()
    assert status == 2, err
    assert err.startswith("deepzoo: error: ") and "\n" not in err
    return err


def test_user_mistakes_are_one_line(runs, capsys):
    run = train("cgan", overrides=NO_JUDGE + ["train.batch_size=256"], name="c")
    assert "label '12' is not a class of digits" in one_line_error(capsys, ["sample", str(run.dir), "--label", "12"])
    plain = api.train(model="dcgan", data="digits", epochs=1, name="plain", **SILENT,
                      overrides=QUIET + NO_JUDGE + ["model.g_width=8", "model.d_width=8", "train.batch_size=256"])
    assert "does not generate a chosen class" in one_line_error(capsys, ["sample", str(plain.dir), "--label", "7"])
    recipe = recipe_for("cgan", TINY)
    recipe.class_names = ["cat", "dog", "bird"]
    assert recipe.class_indices(["dog", 2, "0"]) == [1, 2, 0]
    with pytest.raises(ConfigError, match="label 'dgo' is not a class of digits; did you mean dog"):
        recipe.class_indices("dgo")


@pytest.mark.parametrize("model, data, overrides, message", [
    ("cgan", "sample-images?crop=16&count=32", [], "needs items labelled with classes"),
    ("cgan", "digits", ["model.num_classes=5"], "model.num_classes=5: digits has 10 classes"),
    ("acgan", "digits", ["data.normalize=standard"], "needs data in \\[-1, 1\\]"),
])
def test_bad_settings_are_one_line_errors(runs, model, data, overrides, message):
    with pytest.raises(ConfigError, match=message):
        recipe_for(model, TINY + overrides, data=data)


def test_a_task_trains_only_its_own_model(runs):
    cfg = api.build_config(model="dcgan", data="digits", task="cgan", overrides=QUIET)
    with pytest.raises(ConfigError, match="task cgan trains the cgan model; dcgan is not one of them"):
        api.build_recipe(cfg)


def test_parameter_counts_are_dcgans_plus_the_label_inputs_and_class_outputs():
    from deepzoo.models._counting import model_complexity

    dcgan = model_complexity("dcgan")[0]  # 15,424,068: 64×64 RGB, g_width 128, d_width 64, z of 100
    label_into_g = 10 * 1024 * 4 * 4  # the first 4×4 transposed convolution reads 10 more inputs (1024 maps)
    assert model_complexity("cgan")[0] == dcgan + label_into_g + 10 * 64 * 4 * 4  # 10 label planes into D's conv 64
    assert model_complexity("acgan")[0] == dcgan + label_into_g + 10 * (512 * 4 * 4 + 1)  # 10 class outputs
