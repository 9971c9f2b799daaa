"""CycleGAN: the generator of Zhu et al. Appendix 7.2 and its parameter count, the least-squares, cycle and
identity losses against hand values, the pool of past fakes (its probability, its exact resume), the paper
preset, one optimizer per pair of networks with the other pair bit-identical, the unpaired data and its
one-line errors, a short run against the identity baseline, and a resumed run against an uninterrupted one."""

from __future__ import annotations

import signal

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from deepzoo import api
from deepzoo.cli import main
from deepzoo.data import load_dataset
from deepzoo.data.unpaired import CYCLEGAN_DATASETS_URL, UnpairedLoader, invert_and_thicken
from deepzoo.downloads import data_home
from deepzoo.engine.checkpoint import load_checkpoint
from deepzoo.engine.optim import build_optimizers, build_scheduler
from deepzoo.errors import ConfigError, DataError
from deepzoo.models import create_model
from deepzoo.models._counting import model_complexity
from deepzoo.recipes.cyclegan import (
    CycleGanRecipe,
    ImagePool,
    cycle_loss,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
)
from tests.conftest import QUIET

pytestmark = pytest.mark.usefixtures("one_thread")

SILENT = {"echo": lambda *a, **k: None}
DATA = "digits-inverted?size=16"
# 16×16 digits, one residual block, widths 8 and a 2-layer PatchGAN: a step takes milliseconds
TINY = ["model.width=8", "model.n_blocks=1", "model.d_width=8", "model.d_layers=2",
        "task_args.classifier_run=none", "train.batch_size=64"]


def recipe_for(overrides=(), data=DATA) -> CycleGanRecipe:
    cfg = api.build_config(model="cyclegan", data=data, overrides=QUIET + list(overrides))
    return api.build_recipe(cfg)[0]


def train(epochs=1, overrides=TINY, **kwargs):
    return api.train(model="cyclegan", data=DATA, epochs=epochs, overrides=QUIET + list(overrides), **SILENT,
                     **kwargs)


# -- the networks -----------------------------------------------------------------------------------------


def test_the_generator_is_appendix_7_2_with_its_parameter_count():
    model = create_model("cyclegan")  # 256×256 RGB: 9 residual blocks
    g = model.generator_ab
    assert len(g.blocks) == 9
    convs = [m for m in g.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    # c7s1-64, d128, d256, R256 × 9 (two convolutions each), u128, u64, c7s1-3
    assert [(c.out_channels, c.kernel_size[0], c.stride[0], isinstance(c, nn.ConvTranspose2d)) for c in convs] == (
        [(64, 7, 1, False), (128, 3, 2, False), (256, 3, 2, False)] + [(256, 3, 1, False)] * 18
        + [(128, 3, 2, True), (64, 3, 2, True), (3, 7, 1, False)])
    assert sum(isinstance(m, nn.ReflectionPad2d) for m in g.modules()) == 2 + 18
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert isinstance(list(g.decoder)[-1], nn.Tanh)
    conv = lambda cin, cout, k: cin * cout * k * k + cout  # noqa: E731 - a weight and a bias each
    by_hand = (conv(3, 64, 7) + conv(64, 128, 3) + conv(128, 256, 3) + 18 * conv(256, 256, 3)
               + conv(256, 128, 3) + conv(128, 64, 3) + conv(64, 3, 7))
    assert sum(p.numel() for p in g.parameters()) == by_hand == 11_378_179  # the official code's "11.378 M"
    d = model.discriminator_a  # the 70×70 PatchGAN with instance norm (no affine parameters), on 3 channels
    d_by_hand = conv(3, 64, 4) + conv(64, 128, 4) + conv(128, 256, 4) + conv(256, 512, 4) + conv(512, 1, 4)
    assert sum(p.numel() for p in d.parameters()) == d_by_hand == 2_764_737  # "2.765 M"
    assert sum(p.numel() for p in model.parameters()) == 2 * (by_hand + d_by_hand)
    # multiply-adds of G at 256×256: each convolution's weights once per output pixel (the transposed ones'
    # once per input pixel); 2.4 G in each of the 18 residual convolutions at 64×64
    macs = (256**2 * (3 * 64 + 64 * 3) * 49 + 128**2 * 64 * 128 * 9 * 2 + 64**2 * 128 * 256 * 9 * 2
            + 18 * 64**2 * 256 * 256 * 9)
    assert model_complexity("cyclegan") == (2 * (by_hand + d_by_hand), macs) and macs == 49_551_507_456


@pytest.mark.parametrize("upsample", ["transpose", "resize"])
def test_a_small_generator_keeps_the_image_shape_with_six_blocks(upsample):
    model = create_model("cyclegan", image_size=32, channels=1, width=8, upsample=upsample)
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    out = model.generator_ab(x)
    assert out.shape == x.shape and out.abs().max() <= 1
    assert len(model.generator_ab.blocks) == 6  # 128×128 and smaller (§7.2)
    assert model.discriminator_b(x).shape == (2, 1, 2, 2)  # 32 → 16 → 8 → 4, then two 4×4 stride-1 layers
    # resizing and a 3×3 convolution have the transposed convolution's parameters
    assert sum(p.numel() for p in model.parameters()) == sum(
        p.numel() for p in create_model("cyclegan", image_size=32, channels=1, width=8).parameters())


def test_image_sizes_the_networks_cannot_take_are_one_line_errors():
    with pytest.raises(ConfigError, match="multiple of 4"):
        create_model("cyclegan", image_size=30)
    with pytest.raises(ConfigError, match="d_layers"):
        create_model("cyclegan", image_size=16)  # a 3-layer PatchGAN has no logit left at 16×16
    with pytest.raises(ConfigError, match="upsample"):
        create_model("cyclegan", image_size=32, upsample="pixelshuffle")


# -- losses --------------------------------------------------------------------------------------------------


def test_least_squares_cycle_and_identity_losses_by_hand():
    real, fake = torch.tensor([0.5, 2.0]), torch.tensor([-1.0, 0.5])
    # ½ (((0.5 − 1)² + (2 − 1)²)/2 + ((−1)² + 0.5²)/2) = ½ (0.625 + 0.625)
    assert lsgan_discriminator_loss(real, fake).item() == pytest.approx(0.625)
    assert lsgan_generator_loss(torch.tensor([0.0, 3.0])).item() == pytest.approx((1 + 4) / 2)
    assert cycle_loss(torch.tensor([0.0, 1.0]), torch.tensor([0.5, 0.0])).item() == pytest.approx(0.75)


def test_the_generators_objective_is_adversarial_plus_10_cycle_plus_5_identity():
    recipe = recipe_for(TINY)
    m = recipe.model
    gen = torch.Generator().manual_seed(0)
    a, b = (torch.rand(3, 1, 16, 16, generator=gen) * 2 - 1 for _ in range(2))
    out = recipe.generators_step(a, b)
    g, f, d_a, d_b = m.generator_ab, m.generator_ba, m.discriminator_a, m.discriminator_b
    adversarial = F.mse_loss(d_b(g(a)), torch.ones(3, 1, 2, 2)) + F.mse_loss(d_a(f(b)), torch.ones(3, 1, 2, 2))
    cycle = (f(g(a)) - a).abs().mean() + (g(f(b)) - b).abs().mean()
    identity = (g(b) - b).abs().mean() + (f(a) - a).abs().mean()
    assert out["loss"].item() == pytest.approx((adversarial + 10 * cycle + 5 * identity).item(), rel=1e-5)
    assert out["identity"].item() == pytest.approx(identity.item(), rel=1e-5)
    # the discriminators then learn on these fakes (the pools are filling, so they pass them through)
    fake_a, fake_b = f(b).detach(), g(a).detach()
    d_loss = recipe.discriminators_step(a, b)["loss"]
    by_hand = lsgan_discriminator_loss(d_a(a), d_a(fake_a)) + lsgan_discriminator_loss(d_b(b), d_b(fake_b))
    assert d_loss.item() == pytest.approx(by_hand.item(), rel=1e-5)
    recipe.identity_weight = 0  # task_args.identity_weight=0: the identity term is left out
    assert recipe.generators_step(a, b).keys() == {"loss", "adversarial", "cycle"}


# -- the pool of past fakes -----------------------------------------------------------------------------------


def numbered(first: int, count: int) -> torch.Tensor:
    """``count`` one-pixel images holding the numbers first, first + 1, ..."""
    return torch.arange(first, first + count, dtype=torch.float32).view(count, 1, 1, 1)


def test_the_pool_returns_a_past_fake_half_of_the_time_once_full():
    pool = ImagePool(50, seed=0)
    assert torch.equal(pool.query(numbered(0, 50)), numbered(0, 50))  # filling: the new fakes themselves
    draws = 4000
    returned = torch.cat([pool.query(numbered(50 + i, 1)) for i in range(draws)]).flatten()
    asked = torch.arange(50, 50 + draws, dtype=torch.float32)
    old = returned != asked
    # Binomial(4000, ½): mean 2000, standard deviation √1000 ≈ 31.6; 4 of them is a 6e-5 two-sided bound
    assert abs(int(old.sum()) - draws // 2) < 4 * 31.6
    assert (returned[old] < asked[old]).all()  # a past fake: one asked for before
    assert len(set(returned.tolist())) == draws  # each stored fake is handed out at most once
    assert sorted(pool.images.flatten().tolist()) == sorted(set(range(50 + draws)) - set(returned.tolist()))


def test_the_pool_resumes_exactly_from_its_saved_state(tmp_path):
    pool = ImagePool(5, seed=3)
    for i in range(12):
        pool.query(numbered(10 * i, 2))
    torch.save(pool.state_dict(), tmp_path / "pool.pt")
    copy = ImagePool(5, seed=99)
    copy.load_state_dict(torch.load(tmp_path / "pool.pt", weights_only=True))
    for i in range(20):
        assert torch.equal(pool.query(numbered(1000 + i, 3)), copy.query(numbered(1000 + i, 3)))
    assert ImagePool(0, seed=0).query(numbered(0, 4)).flatten().tolist() == [0, 1, 2, 3]  # size 0: no pool


def test_the_unpaired_loader_draws_each_domain_in_its_own_order():
    a, b = numbered(0, 6), numbered(100, 4)
    loader = UnpairedLoader(a, b, batch_size=2, seed=0)
    batches = list(loader)
    assert len(loader) == len(batches) == 3  # one pass over the larger domain
    seen_a = torch.cat([x for x, _ in batches]).flatten().tolist()
    seen_b = torch.cat([y for _, y in batches]).flatten().tolist()
    assert sorted(seen_a) == list(range(6))
    assert sorted(seen_b[:4]) == [100, 101, 102, 103] and set(seen_b[4:]) <= {100, 101, 102, 103}
    def pairs(epoch):
        return {(int(x), int(y)) for xs, ys in epoch for x, y in zip(xs.flatten(), ys.flatten())}

    assert pairs(loader) != pairs(batches)  # the next epoch pairs A images with other B images


# -- the paper preset, the players -------------------------------------------------------------------------------


def test_the_paper_preset_sets_every_setting_of_section_7_1():
    recipe = recipe_for(["model.d_layers=2"])
    cfg = recipe.config
    assert (cfg.optim.name, cfg.optim.lr, tuple(cfg.optim.betas)) == ("adam", 2e-4, (0.5, 0.999))
    assert (cfg.train.batch_size, cfg.train.epochs, cfg.sched.name) == (1, 200, "linear_decay")
    assert cfg.early_stop.enabled is False
    assert (recipe.cycle_weight, recipe.identity_weight) == (10.0, 5.0)
    assert {pool.size for pool in recipe.pools.values()} == {50}
    # 100 epochs at 2e-4, then linearly down to 2e-4/101 in epoch 200
    opt = torch.optim.Adam([nn.Parameter(torch.zeros(1))], lr=2e-4)
    scheduler, interval = build_scheduler(opt, cfg.sched, cfg.train.epochs, 10)
    rates = []
    for _ in range(cfg.train.epochs):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    assert interval == "epoch" and rates[99] == pytest.approx(2e-4) and rates[100] == pytest.approx(2e-4 * 100 / 101)
    assert rates[199] == pytest.approx(2e-4 / 101)
    kept = recipe_for(["model.d_layers=2", "optim.lr=1e-3", "train.batch_size=4"]).config
    assert (kept.optim.lr, kept.train.batch_size, kept.train.epochs) == (1e-3, 4, 200)
    assert recipe_for(["model.d_layers=2", "task_args.preset=none"]).config.train.batch_size != 1


def test_one_optimizer_steps_both_generators_and_another_both_discriminators():
    recipe = recipe_for(TINY)
    optimizers = build_optimizers(recipe, recipe.config)
    m = recipe.model

    def ids(*modules):
        return {id(p) for module in modules for p in module.parameters()}

    def stepped(name):
        return {id(p) for group in optimizers[name].param_groups for p in group["params"]}

    assert recipe.phases == ("generators", "discriminators")
    assert stepped("generators") == ids(m.generator_ab, m.generator_ba)
    assert stepped("discriminators") == ids(m.discriminator_a, m.discriminator_b)


def test_the_frozen_pair_stays_bit_identical_while_the_other_steps(runs, monkeypatch):
    calls = []
    original = CycleGanRecipe.training_step

    def spy(self, batch, phase):
        pairs = {"generators": self.generators, "discriminators": self.discriminators}
        calls.append((phase, {n: [p.detach().clone() for p in m.parameters()] for n, m in pairs.items()}))
        return original(self, batch, phase)

    monkeypatch.setattr(CycleGanRecipe, "training_step", spy)
    train(overrides=TINY + ["train.batch_size=256"])
    assert [phase for phase, _ in calls[:4]] == ["generators", "discriminators"] * 2
    for (active, before), (_, after) in zip(calls, calls[1:]):
        frozen = "generators" if active == "discriminators" else "discriminators"
        assert all(torch.equal(x, y) for x, y in zip(before[frozen], after[frozen]))
        assert any(not torch.equal(x, y) for x, y in zip(before[active], after[active]))


# -- data -------------------------------------------------------------------------------------------------------------


def test_digits_inverted_holds_different_images_in_its_domains_and_knows_the_mapping():
    bundle = load_dataset("digits-inverted", normalize="none")
    meta = bundle.meta
    assert meta.input_shape == (1, 32, 32) and meta.num_classes == 20 and meta.class_names[10] == "B-0"
    assert meta.extra["class_domain"] == [0] * 10 + [1] * 10
    x = torch.cat([bundle.train.x, bundle.valid.x, bundle.test.x])
    y = torch.cat([bundle.train.y, bundle.valid.y, bundle.test.y])
    a, b = x[y < 10], x[y >= 10]
    assert len(a) + len(b) == 1797 and abs(len(a) - len(b)) <= 1
    # B is thickened and inverted: a white background, and the radius-2 max filter of A's images
    assert b[:, :, 0, 0].min() > 0.9 and a[:, :, 0, 0].max() < 0.1
    true_b = invert_and_thicken(a, 2)
    assert torch.equal(true_b, 1 - F.max_pool2d(a, 5, stride=1, padding=2))
    # no B image is the true translation of an A image: the halves hold different digits
    distances = torch.cdist(true_b.flatten(1), b.flatten(1))
    assert distances.min() > 0.5


def write_images(folder, count, size=(8, 8), mode="L"):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(str(folder)))
    for i in range(count):
        shape = size[::-1] + ((3,) if mode == "RGB" else ())
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(folder / f"{i:03d}.png")


def test_unpaired_folders_load_as_two_domains_with_the_releases_test_split(tmp_path):
    write_images(tmp_path / "simple" / "A", 10)
    write_images(tmp_path / "simple" / "B" / "deeper", 6)
    bundle = load_dataset(f"unpaired:{tmp_path / 'simple'}", test_fraction=0.2, valid_fraction=0)
    assert bundle.meta.class_names == ["A", "B"] and bundle.meta.task == "multiclass"
    assert bundle.meta.extra["class_domain"] == [0, 1]
    assert torch.bincount(torch.cat([bundle.train.y, bundle.test.y])).tolist() == [10, 6]
    release = tmp_path / "release"
    for folder, count in (("trainA", 7), ("trainB", 5), ("testA", 3), ("testB", 2)):
        write_images(release / folder, count, mode="RGB")
    bundle = load_dataset(f"unpaired:{release}", valid_fraction=0)
    assert torch.bincount(bundle.test.y).tolist() == [3, 2] and torch.bincount(bundle.train.y).tolist() == [7, 5]
    assert bundle.meta.input_shape == (3, 8, 8)


def one_line(spec: str) -> str:
    with pytest.raises(DataError) as err:
        load_dataset(spec)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_unpaired_mistakes_are_one_line_errors(tmp_path):
    (tmp_path / "none").mkdir()
    assert "needs the folders A/ and B/" in one_line(f"unpaired:{tmp_path / 'none'}")
    write_images(tmp_path / "empty" / "A", 3)
    (tmp_path / "empty" / "B").mkdir()
    assert one_line(f"unpaired:{tmp_path / 'empty'}").startswith(f"{tmp_path / 'empty' / 'B'}: holds no ")
    for folder in ("trainA", "trainB", "testA"):
        write_images(tmp_path / "half" / folder, 3)
    assert "has testA/ but no testB/" in one_line(f"unpaired:{tmp_path / 'half'}")
    write_images(tmp_path / "bad" / "A", 3)
    write_images(tmp_path / "bad" / "B", 3)
    (tmp_path / "bad" / "B" / "001.png").write_bytes(b"not a png")
    assert one_line(f"unpaired:{tmp_path / 'bad'}").startswith(str(tmp_path / "bad" / "B" / "001.png"))
    write_images(tmp_path / "sizes" / "A", 3)
    write_images(tmp_path / "sizes" / "B", 3, size=(12, 8))
    assert "give size=" in one_line(f"unpaired:{tmp_path / 'sizes'}")
    assert "no such folder" in one_line(f"unpaired:{tmp_path / 'missing'}")
    assert "size=10 must be a multiple of 4" in one_line("digits-inverted?size=10")


def test_horse2zebra_reads_the_releases_layout_and_offline_names_the_url(monkeypatch):
    monkeypatch.setenv("DEEPZOO_OFFLINE", "1")
    message = one_line("horse2zebra")
    assert CYCLEGAN_DATASETS_URL + "horse2zebra.zip" in message and str(data_home() / "horse2zebra.zip") in message
    for folder, count in (("trainA", 4), ("trainB", 5), ("testA", 2), ("testB", 3)):
        write_images(data_home() / "horse2zebra" / folder, count, size=(16, 16), mode="RGB")
    bundle = load_dataset("horse2zebra", size=8, valid_fraction=0)
    assert bundle.meta.input_shape == (3, 8, 8) and torch.bincount(bundle.test.y).tolist() == [2, 3]


def test_the_task_refuses_data_without_two_domains_in_one_line(runs, capsys):
    assert main(["train", "--model", "cyclegan", "--data", "digits", "--set", "task_args.classifier_run=none"]) == 2
    err = capsys.readouterr().err.strip()
    assert "needs two unpaired image domains" in err and "\n" not in err


# -- training ----------------------------------------------------------------------------------------------------------


def test_a_short_run_beats_the_identity_baseline_on_the_true_translation(runs):
    run = train(overrides=TINY + ["train.batch_size=16", "optim.lr=1e-3", "train.plots=true"])
    assert (run.dir / "plots" / "cyclegan.png").is_file() and (run.dir / "plots" / "cyclegan_b.png").is_file()
    m = run.metrics
    assert m["test/translation_l1_identity"] == pytest.approx(0.63, abs=0.02)  # |a − T(a)|: mostly inversion
    assert m["test/translation_l1"] < 0.5 * m["test/translation_l1_identity"]
    assert m["test/cycle_l1_a"] < 0.25 and m["test/cycle_l1_b"] < 0.25


def test_a_run_stopped_mid_epoch_resumes_to_the_uninterrupted_weights(runs, monkeypatch, capsys):
    # about 575 training images a domain: 9 batches of 64 an epoch; a pool of 4 fills and then swaps
    overrides = TINY + ["task_args.pool_size=4"]
    straight = train(epochs=2, overrides=overrides, name="straight")
    original, calls = CycleGanRecipe.training_step, {"n": 0}

    def step(self, batch, phase):
        calls["n"] += 1
        if calls["n"] == 2 * 12:  # the discriminators' step of batch 12: epoch 2, batch 3
            signal.raise_signal(signal.SIGTERM)
        return original(self, batch, phase)

    argv = ["train", "--model", "cyclegan", "--data", DATA, "--epochs", "2", "--name", "cut"]
    argv += [a for o in QUIET + overrides for a in ("--set", o)]
    with monkeypatch.context() as patch:
        patch.setattr(CycleGanRecipe, "training_step", step)
        assert main(argv) == 143
    ckpt = load_checkpoint(runs / "cut" / "checkpoints" / "last.pt")
    assert (ckpt["epoch"], ckpt["batches"]) == (1, 3) and len(ckpt["recipe"]["pools"]["a"]["images"]) == 4
    capsys.readouterr()
    assert main(["train", "--name", "cut", "--resume"]) == 0
    resumed = api.load_run(runs / "cut").model.state_dict()
    assert all(torch.equal(v, resumed[k]) for k, v in straight.model.state_dict().items())
