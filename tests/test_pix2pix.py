"""pix2pix (Isola et al. 2017): the U-Net generator and the PatchGAN against the paper and the official
code's counts, the linear-decay schedule, paired data and its joint jitter, the recipe's losses, preset,
frozen players, test-time dropout, baselines and resume."""

from __future__ import annotations

import pytest
import torch

from deepzoo.cli import main
from deepzoo.config import SchedConfig
from deepzoo.engine.optim import build_scheduler
from deepzoo.errors import ConfigError
from deepzoo.models import create_model
from deepzoo.models.pix2pix import PatchGAN, patch_grid, patch_receptive_field

pytestmark = pytest.mark.usefixtures("one_thread")
SILENT = {"echo": lambda *a, **k: None}
TINY = ["model.width=8", "model.d_width=8", "train.batch_size=32"]


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
