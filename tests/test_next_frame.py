"""Next-frame prediction: clips cut into (context, next frame) windows split by clip, the moving digits
and their bouncing, ``frames:DIR`` and its one-line errors, the last-frame baseline, and a short run."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from PIL import Image

from deepzoo import api
from deepzoo.data import load_dataset
from deepzoo.data.frames import moving_digits_clips, windows
from tests.conftest import QUIET
from tests.test_pix2pix import one_line_error

pytestmark = pytest.mark.usefixtures("one_thread")
SMALL = "moving-digits?clips=40&frames=6"  # 25 / 7 / 8 clips, 3 windows each


def test_windows_stack_the_context_and_take_the_next_frame():
    clip = torch.arange(5.0)[:, None, None, None].expand(5, 2, 3, 3)  # frame t holds the value t, 2 channels
    inputs, targets = windows(clip, 3)
    assert inputs.shape == (2, 6, 3, 3) and targets.shape == (2, 2, 3, 3)
    assert inputs[:, :, 0, 0].tolist() == [[0, 0, 1, 1, 2, 2], [1, 1, 2, 2, 3, 3]]
    assert targets[:, 0, 0, 0].tolist() == [3, 4]


def test_moving_digits_stay_on_the_canvas_move_and_split_by_clip():
    clips = moving_digits_clips(clips=30, frames=12, size=32, digits=1, digit_size=12)
    assert clips.shape == (30, 12, 1, 32, 32) and clips.min() >= 0 and clips.max() <= 1
    ink = clips.reshape(30, 12, -1).sum(-1)
    assert np.allclose(ink, ink[:, :1], rtol=1e-5)  # one digit is never cut by an edge: it bounces
    moved = np.abs(np.diff(clips, axis=1)).reshape(30, 11, -1).sum(-1)
    assert (moved > 0).mean() > 0.95  # the digits move (a bounce may land on the same pixel once)
    data = load_dataset(SMALL)
    assert data.meta.extra["clips"] == {"train": 25, "valid": 7, "test": 8}  # 20% of 40, then 20% of 32 rounded up
    assert (len(data.train), len(data.valid), len(data.test)) == (75, 21, 24)
    assert data.train.x.shape[1:] == (3, 32, 32) and data.train.y.shape[1:] == (1, 32, 32)
    train_frames = {f.numpy().tobytes() for f in data.train.y}
    assert not train_frames & {f.numpy().tobytes() for f in data.test.y}  # no test frame is a training frame
    assert data.meta.extra["copy_baseline"] == {"name": "last frame", "channels": [2, 3]}


def write_clip(folder, values, size=(6, 6), names="{}.png"):
    folder.mkdir(parents=True)
    for number, value in values:
        Image.fromarray(np.full(size[::-1], value, dtype=np.uint8)).save(folder / names.format(number))


def test_frames_are_ordered_by_their_number_not_their_name(tmp_path):
    root = tmp_path / "clips"
    for c in range(5):
        write_clip(root / f"clip{c}", [(n, 20 * n + c) for n in (0, 1, 2, 9, 10, 3, 4, 5, 6, 7, 8)],
                   names="frame_{}.png")
    data = load_dataset(f"frames:{root}?context=2&valid_fraction=0&test_fraction=0.2")
    pixels = torch.cat([data.train.x[:, :, 0, 0], data.train.y[:, :, 0, 0]], 1)
    values = ((pixels + 1) * 127.5).round()
    assert ((values[:, 1] - values[:, 0]) == 20).all() and ((values[:, 2] - values[:, 1]) == 20).all()
    assert len(data.train) == 4 * 9 and data.meta.extra["context"] == 2


@pytest.mark.parametrize("build, expected", [
    (lambda r: write_clip(r / "a", [(0, 0), (1, 0), (3, 0)]), "a: frame 2 is missing"),
    (lambda r: write_clip(r / "a", [(0, 0), (1, 0)], names="x{}y.png") or (r / "a" / "cover.png").write_bytes(
        (r / "a" / "x0y.png").read_bytes()), "cover.png: has no frame number in its name"),
    (lambda r: write_clip(r / "a", [(0, 0), (1, 0)]) or write_clip(r / "b", [(0, 0), (1, 0)], size=(6, 5)),
     "b/0.png: is 6×5, the first frame (0.png) 6×6; pass size=N"),
    (lambda r: write_clip(r / "a", [(0, 0), (1, 0)]), "clip 0 has 2 frame(s); context=3 needs 4"),
    (lambda r: (r / "a").mkdir(), "a: the clip holds no PNG/JPEG frames"),
    (lambda r: None, "no clip folders"),
])
def test_each_bad_clip_folder_is_one_line(tmp_path, capsys, build, expected):
    root = tmp_path / "clips"
    root.mkdir()
    build(root)
    argv = ["train", "--model", "pix2pix", "--task", "next-frame", "--data", f"frames:{root}", "--epochs", "1"]
    assert expected in one_line_error(capsys, argv)


def test_the_tasks_refuse_each_others_data(runs, capsys):
    assert "(clips: train them with --task next-frame)" in one_line_error(
        capsys, ["train", "--model", "pix2pix", "--data", SMALL])
    assert "task next-frame trains on clips (moving-digits or frames:DIR); digits-edges is not" in one_line_error(
        capsys, ["train", "--model", "pix2pix", "--task", "next-frame", "--data", "digits-edges"])


def test_a_short_run_learns_and_reports_the_last_frame_baseline(runs):
    overrides = QUIET + ["model.width=8", "model.d_width=8", "train.batch_size=8", "optim.lr=1e-3"]
    run = api.train(model="pix2pix", task="next-frame", data=SMALL, epochs=3, overrides=overrides,
                    echo=lambda *a, **k: None)
    test, m = run.recipe.data.test, run.metrics
    assert run.recipe.jitter is False and run.recipe.model.generator.down[0].in_channels == 3
    assert m["test/last_frame_l1"] == pytest.approx(float((test.x[:, 2:3] - test.y).abs().mean() / 2), rel=1e-5)
    assert {"test/l1", "test/psnr", "test/ssim", "test/nearest_l1", "test/last_frame_ssim"} <= m.keys()
    rows = list(csv.DictReader((run.dir / "metrics.csv").open()))
    assert float(rows[-1]["valid/l1"]) < float(rows[0]["valid/l1"])
