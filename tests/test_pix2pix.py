"""pix2pix (Isola et al. 2017): the U-Net generator and the PatchGAN against the paper and the official
code's counts, the linear-decay schedule, paired data and its joint jitter, the recipe's losses, preset,
frozen players, test-time dropout, baselines and resume."""

from __future__ import annotations

import math
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file

from deepzoo import api
from deepzoo.cli import main
from deepzoo.config import SchedConfig
from deepzoo.data import load_dataset
from deepzoo.data.pairs import FACADES_URL, paired_jitter, sobel_edges
from deepzoo.engine.optim import build_scheduler
from deepzoo.errors import ConfigError
from deepzoo.models import create_model
from deepzoo.models.pix2pix import PatchGAN, patch_grid, patch_receptive_field
from deepzoo.recipes.pix2pix import DISCRIMINATOR_SCALE, Pix2PixRecipe
from tests.conftest import QUIET

pytestmark = pytest.mark.usefixtures("one_thread")
SILENT = {"echo": lambda *a, **k: None}
TINY = ["model.width=8", "model.d_width=8", "train.batch_size=8", "optim.lr=1e-3"]


def one_line_error(capsys, argv):
    """The CLI's one-line error for ``argv`` (exit status 2, no traceback)."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


# -- the networks ---------------------------------------------------------------------------------------------

def test_patchgan_receptive_field_is_70_by_the_closed_form_and_by_the_gradient():
    assert [patch_receptive_field(n) for n in (1, 3, 5)] == [16, 70, 286]  # the paper's Table 3 patches
    d = PatchGAN(1, width=4, n_layers=3, norm="batch").eval()
    with torch.no_grad():
        for m in d.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.weight.abs_()  # positive weights on a positive input: no gradient cancels out
    x = torch.ones(1, 1, 160, 160, requires_grad=True)
    logits = d(x)
    logits[0, 0, 9, 9].backward()  # an interior patch, away from the zero padding
    rows, cols = x.grad[0, 0].abs().sum(1).nonzero(), x.grad[0, 0].abs().sum(0).nonzero()
    assert int(rows.max() - rows.min() + 1) == int(cols.max() - cols.min() + 1) == d.receptive_field == 70


@pytest.mark.parametrize("size, grid", [(256, 30), (64, 6), (32, 2)])
def test_patchgan_grid_of_logits(size, grid):
    d = PatchGAN(6, width=8)
    assert d(torch.zeros(2, 6, size, size)).shape == (2, 1, grid, grid) and patch_grid(size, 3) == grid


def unet_parameters(channels_in: int, channels_out: int, widths: list[int]) -> int:
    """The U-Net's parameters by hand: 4×4 convolutions without bias (batch norm follows), batch norm's
    scale and shift on every layer but the first, the innermost and the output, and the output's bias."""
    n = len(widths)
    down = channels_in * widths[0] * 16 + sum(widths[i - 1] * widths[i] * 16 for i in range(1, n))
    down_norm = sum(2 * widths[i] for i in range(1, n - 1))
    up = widths[-1] * widths[-2] * 16 + sum(2 * widths[i] * widths[i - 1] * 16 for i in range(1, n - 1))
    up_norm = sum(2 * widths[i - 1] for i in range(1, n))
    return down + down_norm + up + up_norm + 2 * widths[0] * channels_out * 16 + channels_out


def test_the_paper_networks_have_the_official_parameter_counts():
    with torch.device("meta"):
        pair = create_model("pix2pix")
    g = sum(p.numel() for p in pair.generator.parameters())
    d = sum(p.numel() for p in pair.discriminator.parameters())
    # the official code prints "54.414 M" and "2.769 M" for unet_256 and the basic 70×70 PatchGAN on 3 + 3 channels
    assert g == unet_parameters(3, 3, [64, 128, 256, 512, 512, 512, 512, 512]) == 54_413_955
    assert d == (6 * 64 * 16 + 64) + (64 * 128 * 16 + 256) + (128 * 256 * 16 + 512) + (256 * 512 * 16 + 1024) \
        + (512 * 16 + 1) == 2_768_705
    assert round(g / 1e6, 3) == 54.414 and round(d / 1e6, 3) == 2.769


@pytest.mark.parametrize("size, downs", [(32, 5), (64, 6)])
def test_the_generator_keeps_the_size_reaches_1x1_and_drops_out_in_three_decoder_layers(size, downs):
    pair = create_model("pix2pix", image_size=size, in_channels=1, out_channels=3, width=4)
    g = pair.generator
    assert g.num_downs == downs
    codes = []
    g.down[-1].register_forward_hook(lambda m, i, o: codes.append(o.shape))
    out = g(torch.randn(2, 1, size, size))
    assert out.shape == (2, 3, size, size) and out.abs().max() <= 1 and codes[0][-2:] == (1, 1)
    dropped = [any(isinstance(m, torch.nn.Dropout) and m.p == 0.5 for m in block.modules()) for block in g.up]
    assert dropped == [True, True, True] + [False] * (downs - 3)


def test_instance_norm_keeps_biases_and_has_no_running_statistics():
    pair = create_model("pix2pix", image_size=32, norm="instance", width=4, d_width=4)
    assert not list(pair.buffers())
    assert all(m.bias is not None for m in pair.modules() if isinstance(m, torch.nn.Conv2d))
    with pytest.raises(ConfigError, match="norm='group' is not one of batch, instance"):
        create_model("pix2pix", image_size=32, norm="group")


# -- the linear-decay schedule ---------------------------------------------------------------------------------

def rates(epochs: int, constant: int | None) -> list[float]:
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched, interval = build_scheduler(opt, SchedConfig(name="linear_decay", constant_epochs=constant), epochs, 10)
    assert interval == "epoch"
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_linear_decay_is_constant_then_falls_by_one_share_per_epoch():
    assert rates(5, 2) == pytest.approx([1, 1, 0.75, 0.5, 0.25])  # 2 constant, 3 decaying: 1 − j/4
    paper = rates(200, None)  # half constant when unset: the official 100 + 100
    assert paper[:100] == [1.0] * 100 and paper[100] == pytest.approx(1 - 1 / 101)
    assert paper[-1] == pytest.approx(1 / 101)
    with pytest.raises(ConfigError, match="sched.constant_epochs=6 exceeds train.epochs=5"):
        rates(5, 6)


# -- paired data ------------------------------------------------------------------------------------------------

def save(path, array) -> None:
    """Write a uint8 array (H, W) or (H, W, 3) as an image file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)


def aligned_folder(root, count=5, size=8, offset=0):
    """``count`` A|B files: A is a gray ramp + i, B the same ramp inverted (255 − A)."""
    for i in range(count):
        a = (np.arange(size * size).reshape(size, size) + i + offset) % 200
        save(root / f"{i:03d}.png", np.concatenate([a, 255 - a], axis=1))
    return root


def test_aligned_pairs_split_in_halves_and_direction_swaps_them(tmp_path):
    folder = aligned_folder(tmp_path / "set", count=10)
    data = load_dataset(f"pairs:{folder}?valid_fraction=0&test_fraction=0.2")
    a, b = data.train.x, data.train.y
    assert a.shape == b.shape == (8, 1, 8, 8) and len(data.test) == 2
    assert torch.allclose((a + 1) / 2 * 255 + (b + 1) / 2 * 255, torch.full_like(a, 255.0), atol=1e-4)
    assert data.meta.task == "pairs" and data.meta.extra["copy_baseline"]["name"] == "identity"
    swapped = load_dataset(f"pairs:{folder}?valid_fraction=0&test_fraction=0.2&direction=BtoA")
    assert torch.equal(swapped.train.x, b) and torch.equal(swapped.train.y, a)


def test_folder_pairs_match_by_name_and_the_split_folders_are_the_splits(tmp_path):
    root = tmp_path / "set"
    for split, count in (("train", 4), ("val", 2), ("test", 3)):
        for i in range(count):
            save(root / split / "A" / f"{i}.png", np.full((8, 8), 10 * i))
            save(root / split / "B" / f"{i}.jpg", np.full((8, 8, 3), 10 * i + 100))
    data = load_dataset(f"pairs:{root}")
    assert (len(data.train), len(data.valid), len(data.test)) == (4, 2, 3)
    assert data.train.x.shape[1:] == (1, 8, 8) and data.train.y.shape[1:] == (3, 8, 8)
    assert "copy_baseline" not in data.meta.extra  # a 1-channel input does not stand for an RGB target
    a, b = (data.test.x + 1) * 127.5, (data.test.y + 1) * 127.5
    assert torch.allclose(b[:, 0], a[:, 0] + 100, atol=2)  # each A with its own B (JPEG rounding)


@pytest.mark.parametrize("build, expected", [
    (lambda r: (save(r / "A" / "x.png", np.zeros((8, 8))), save(r / "A" / "y.png", np.zeros((8, 8))),
                save(r / "B" / "x.png", np.zeros((8, 8)))), "A/y.png: has no partner in"),
    (lambda r: (save(r / "A" / "x.png", np.zeros((8, 8))), save(r / "B" / "x.png", np.zeros((8, 6)))),
     "B/x.png: is 6×8, its partner x.png is 8×8; a pair's images must have one size"),
    (lambda r: save(r / "odd.png", np.zeros((8, 9))), "odd.png: is 9 pixels wide, an odd width"),
    (lambda r: (save(r / "a.png", np.zeros((8, 16))), save(r / "b.png", np.zeros((6, 12)))),
     "b.png: is 6×6, the first pair (a.png) is 8×8; pass size=N"),
    (lambda r: (r / "A").mkdir(parents=True), "holds no PNG/JPEG images"),
    (lambda r: (r / "bad.png").write_bytes(b"not an image"),
     "bad.png: cannot be read as an image"),
])
def test_each_bad_pairs_folder_is_one_line_naming_the_file(tmp_path, capsys, build, expected):
    root = tmp_path / "set"
    root.mkdir()
    build(root)
    err = one_line_error(capsys, ["train", "--model", "pix2pix", "--data", f"pairs:{root}", "--epochs", "1"])
    assert expected in err and str(root) in err


def test_pairs_options_are_checked(tmp_path, capsys):
    folder = aligned_folder(tmp_path / "set")
    assert "option layout='side' is not one of auto, aligned, folders" in one_line_error(
        capsys, ["train", "--model", "pix2pix", "--data", f"pairs:{folder}?layout=side"])
    assert "did you mean direction?" in one_line_error(
        capsys, ["train", "--model", "pix2pix", "--data", f"pairs:{folder}?directon=BtoA"])
    resized = load_dataset(f"pairs:{folder}?size=4")
    assert resized.train.x.shape[-2:] == (4, 4)


def test_facades_read_from_the_official_layout_labels_to_photo_and_never_downloaded(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DEEPZOO_OFFLINE", "1")
    err = one_line_error(capsys, ["train", "--model", "pix2pix", "--data", "facades"])
    assert FACADES_URL in err and str(tmp_path) not in err and "facades.tar.gz" in err
    home = os.environ["DEEPZOO_DATA"]
    for split, count in (("train", 3), ("val", 1), ("test", 2)):
        aligned_folder(Path(home) / "facades" / split, count=count)  # photo|labels, as the archive has them
    data = load_dataset("facades")
    assert (len(data.train), len(data.valid), len(data.test)) == (3, 1, 2)
    photo_left = load_dataset(f"pairs:{Path(home) / 'facades'}?layout=aligned")
    assert torch.equal(data.train.x, photo_left.train.y) and data.meta.extra["direction"] == "BtoA"


def test_digits_edges_are_sobel_outlines():
    step = torch.zeros(1, 1, 6, 6)
    step[..., 3:] = 1.0  # a vertical step between columns 2 and 3
    edges = sobel_edges(step)
    assert edges[0, 0].sum(0).tolist() == [0, 0, 6, 6, 0, 0]  # both columns beside the step, every row
    data = load_dataset("digits-edges")
    assert data.train.x.shape[1:] == data.train.y.shape[1:] == (1, 32, 32)
    assert set(data.train.x.unique().tolist()) == {-1.0, 1.0}
    assert len(data.train) + len(data.valid) + len(data.test) == 1797


def test_the_joint_jitter_moves_input_and_target_together():
    torch.manual_seed(0)
    a = torch.rand(64, 1, 32, 32) * 2 - 1
    b = torch.cat([a, -a, a], 1)  # the target is a function of the input, pixel by pixel
    ja, jb = paired_jitter(a, b)
    assert ja.shape == a.shape and jb.shape == b.shape
    assert torch.allclose(jb, torch.cat([ja, -ja, ja], 1), atol=1e-6)
    assert not torch.allclose(ja, a)
    upscaled = F.interpolate(a, size=(36, 36), mode="bicubic", align_corners=False).clamp(-1, 1)
    crops = {(t, left, flip): upscaled[..., t:t + 32, left:left + 32].flip(-1) if flip else
             upscaled[..., t:t + 32, left:left + 32] for t in range(5) for left in range(5) for flip in (0, 1)}
    found = [next(k for k, c in crops.items() if torch.allclose(c[i], ja[i], atol=1e-6)) for i in range(64)]
    assert len(set(found)) > 10 and {k[2] for k in found} == {0, 1}  # many places, both orientations


# -- the recipe -------------------------------------------------------------------------------------------------

SMALL = "digits-edges?count=300"  # 192 training pairs (24 batches of 8), 48 validation, 60 test


def recipe_for(data=SMALL, overrides=(), **kwargs):
    cfg = api.build_config(model="pix2pix", data=data, overrides=QUIET + list(overrides), **kwargs)
    recipe = api.build_recipe(cfg)[0]
    recipe.setup(torch.device("cpu"))
    return recipe


def test_the_paper_preset_sets_every_setting_and_keeps_the_users():
    recipe = recipe_for()
    cfg = recipe.config
    assert (cfg.optim.name, cfg.optim.lr, tuple(cfg.optim.betas)) == ("adam", 2e-4, (0.5, 0.999))
    assert (cfg.train.batch_size, cfg.train.epochs, cfg.sched.name) == (1, 200, "linear_decay")
    assert rates(cfg.train.epochs, cfg.sched.constant_epochs)[99:101] == pytest.approx([1.0, 1 - 1 / 101])
    assert (recipe.l1_weight, DISCRIMINATOR_SCALE, recipe.jitter, recipe.args["inference"]) == (100, 0.5, True, "paper")
    assert recipe.phases == ("discriminator", "generator") and recipe.reuse_fakes and not recipe.saturating
    assert cfg.early_stop.enabled is False
    g, d = recipe.model.generator, recipe.model.discriminator
    assert d.receptive_field == 70 and d.net[0].in_channels == 2  # (edges, digit) pairs
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in g.modules()) == 2 * (g.num_downs - 2) + 1
    weights = torch.cat([m.weight.detach().flatten() for m in g.modules() if isinstance(m, torch.nn.Conv2d)])
    assert abs(float(weights.mean())) < 1e-3 and float(weights.detach().std()) == pytest.approx(0.02, abs=5e-4)
    mine = recipe_for(overrides=["train.batch_size=16", "optim.lr=1e-3"])
    assert (mine.config.train.batch_size, mine.config.optim.lr) == (16, 1e-3)
    assert "kept your optim.lr=0.001, train.batch_size=16" in " ".join(mine.log_lines)


def test_the_losses_equal_their_hand_computed_values():
    recipe = recipe_for(overrides=TINY + ["task_args.jitter=false"])
    g, d = recipe.model.generator, recipe.model.discriminator
    with torch.no_grad():  # D answers 0.5 on every patch, G draws tanh(0.3) on every pixel
        d.net[-1].weight.zero_(), d.net[-1].bias.fill_(0.5)
        g.up[-1][1].weight.zero_(), g.up[-1][1].bias.fill_(0.3)
    a, b = recipe.data.train.x[:4], recipe.data.train.y[:4]
    out_d = recipe.training_step((a, b), "discriminator")
    softplus = lambda v: math.log1p(math.exp(v))  # noqa: E731 - BCE with logits: −log σ(v) = softplus(−v)
    assert float(out_d["loss"].detach()) == pytest.approx(0.5 * (softplus(-0.5) + softplus(0.5)), rel=1e-6)
    out_g = recipe.training_step((a, b), "generator")
    l1 = float((math.tanh(0.3) - b).abs().mean())
    assert float(out_g["l1"].detach()) == pytest.approx(l1, rel=1e-5)
    assert float(out_g["adversarial"].detach()) == pytest.approx(softplus(-0.5), rel=1e-6)
    assert float(out_g["loss"].detach()) == pytest.approx(softplus(-0.5) + 100 * l1, rel=1e-5)


def test_the_frozen_player_is_bit_identical_after_the_other_players_step(runs, monkeypatch):
    calls = []
    original = Pix2PixRecipe.training_step

    def spy(self, batch, phase):
        players = {"generator": self.model.generator, "discriminator": self.model.discriminator}
        calls.append((phase, {n: [p.detach().clone() for p in m.parameters()] for n, m in players.items()},
                      {n: [p.requires_grad for p in m.parameters()] for n, m in players.items()}))
        return original(self, batch, phase)

    monkeypatch.setattr(Pix2PixRecipe, "training_step", spy)
    api.train(model="pix2pix", data=SMALL, epochs=1, overrides=QUIET + TINY, **SILENT)
    assert [c[0] for c in calls[:4]] == ["discriminator", "generator"] * 2 and len(calls) == 48
    for (active, before, trainable), (_, after, _) in zip(calls, calls[1:]):
        frozen = "generator" if active == "discriminator" else "discriminator"
        assert not any(trainable[frozen]) and all(trainable[active])
        assert all(torch.equal(x, y) for x, y in zip(before[frozen], after[frozen]))
        assert any(not torch.equal(x, y) for x, y in zip(before[active], after[active]))


def test_test_time_dropout_is_seeded_and_leaves_the_rng_and_running_statistics_alone():
    recipe = recipe_for(overrides=TINY)
    recipe.model.train()
    x = recipe.data.valid.x[:8]
    stats = [b.clone() for b in recipe.model.generator.buffers()]
    rng = torch.get_rng_state()
    first, second = recipe.translate(x), recipe.translate(x)
    assert torch.equal(first, second) and torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(a, b) for a, b in zip(stats, recipe.model.generator.buffers()))
    assert recipe.model.training
    recipe.config.seed += 1  # another seed, other dropout masks
    assert not torch.equal(recipe.translate(x), first)
    recipe.args["inference"] = "eval"
    deterministic = recipe.translate(x)
    assert torch.equal(deterministic, recipe.translate(x)) and not torch.equal(deterministic, first)


def test_a_short_run_beats_the_identity_baseline_and_writes_its_outputs(runs):
    run = api.train(model="pix2pix", data=SMALL, epochs=2, overrides=QUIET + TINY + ["train.plots=true"], **SILENT)
    m = run.metrics
    assert m["test/l1"] < m["test/identity_l1"] and m["test/psnr"] > m["test/identity_psnr"]
    # the nearest-neighbour baseline, recomputed by brute force on the test split
    train, test = run.recipe.data.train, run.recipe.data.test
    distances = ((test.x.flatten(1)[:, None] - train.x.flatten(1)[None]) ** 2).sum(-1)
    nearest = train.y[distances.argmin(1)]
    assert m["test/nearest_l1"] == pytest.approx(float((nearest - test.y).abs().mean() / 2), rel=1e-5)
    assert m["test/identity_l1"] == pytest.approx(float((test.x - test.y).abs().mean() / 2), rel=1e-5)
    for file in ("generator.safetensors", "evaluation.json", "plots/translations.png", "plots/samples/epoch_002.png"):
        assert (run.dir / file).is_file(), file


def test_the_l1_only_ablation_trains_the_generator_alone(runs, monkeypatch):
    first = {}
    original = Pix2PixRecipe.training_step

    def spy(self, batch, phase):
        first.setdefault("d", [p.detach().clone() for p in self.model.discriminator.parameters()])
        return original(self, batch, phase)

    monkeypatch.setattr(Pix2PixRecipe, "training_step", spy)
    run = api.train(model="pix2pix", data=SMALL, epochs=1, overrides=QUIET + TINY + ["task_args.adversarial=false"],
                    **SILENT)
    assert run.recipe.phases == ("generator",) and list(run.recipe.optimizer_modules()) == ["generator"]
    assert all(torch.equal(a, b) for a, b in zip(first["d"], run.model.discriminator.parameters()))
    assert run.metrics["test/l1"] < run.metrics["test/identity_l1"]


def signal_at(call: int):
    """A training step that sends SIGTERM to this process at its ``call``-th phase."""
    original = Pix2PixRecipe.training_step
    calls = {"n": 0}

    def step(self, batch, phase):
        calls["n"] += 1
        if calls["n"] == call:
            signal.raise_signal(signal.SIGTERM)
        return original(self, batch, phase)

    return step


def test_a_run_stopped_mid_epoch_and_resumed_equals_an_uninterrupted_one(runs, monkeypatch, capsys):
    argv = ["train", "--model", "pix2pix", "--data", SMALL, "--epochs", "2"]
    argv += [a for o in QUIET + TINY for a in ("--set", o)]
    assert main(argv + ["--name", "full"]) == 0
    with monkeypatch.context() as patch:  # 24 batches an epoch, 2 phases each: call 52 is epoch 2's 2nd batch
        patch.setattr(Pix2PixRecipe, "training_step", signal_at(52))
        assert main(argv + ["--name", "cut"]) == 143
    assert main(["train", "--name", "cut", "--resume"]) == 0
    capsys.readouterr()
    full, cut = (load_file(str(runs / name / "model.safetensors")) for name in ("full", "cut"))
    assert full.keys() == cut.keys() and all(torch.equal(full[k], cut[k]) for k in full)


@pytest.mark.parametrize("argv, expected", [
    (["--data", "digits"], "task pix2pix trains on pairs:DIR, facades, shapes-pairs or digits-edges; digits is not"),
    (["--data", SMALL, "--set", "data.augment=flip"], "does not take data.augment: task_args.jitter moves"),
    (["--data", SMALL, "--set", "task_args.l1_weigth=10"], "did you mean l1_weight?"),
    (["--data", "digits-edges?size=24"], "image_size=24 is not a power of two; give model.num_downs"),
])
def test_recipe_mistakes_are_one_line(runs, capsys, argv, expected):
    assert expected in one_line_error(capsys, ["train", "--model", "pix2pix", *argv])
