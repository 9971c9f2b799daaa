"""``deepzoo export``: ONNX and ``torch.export`` round trips for every family that exports, checked against
the trained PyTorch modules at another batch size than the export's, the metadata, ``deepzoo predict
FILE.onnx`` against the run's own predict, and the one-line errors.

One tiny run per family is trained once per module (a minute of exporter time is the budget)."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
import torch

from deepzoo import api
from deepzoo.cli import main
from deepzoo.errors import ConfigError
from deepzoo.export import export_run
from deepzoo.export import writers as export_writers
from deepzoo.export.writers import OnnxSession
from tests.conftest import QUIET

FAST = [*QUIET, "train.checkpoint=false"]
SILENT = {"echo": lambda *a, **k: None}
TINY_GAN = ["model.g_width=8", "model.d_width=8", "model.latent_dim=8", "task_args.classifier_run=none"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """An .npz of 60 one-channel 8×8 images in 3 classes (the class sets a bright row)."""
    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    x = rng.random((60, 1, 8, 8), dtype=np.float32) * 0.3
    x[np.arange(60), 0, 2 * y + 1] += 0.7
    path = tmp_path_factory.mktemp("data") / "images.npz"
    np.savez(path, x=x, y=y)
    return path


def train(runs, name, model, data, overrides=(), task=None):
    return api.train(model=model, data=data, task=task, epochs=1, name=name, runs_dir=str(runs),
                     overrides=FAST + list(overrides), **SILENT)


def exported_session(runs, name, **kwargs) -> OnnxSession:
    result = export_run(runs / name, "onnx", **kwargs)
    assert result.verification.passed and result.verification.items == 8
    return OnnxSession(result.path)


@pytest.fixture(scope="module")
def cnn_run(runs, images):
    """A resnet20 run on the images, exported to its model.onnx."""
    train(runs, "cnn", "resnet20", f"npz:{images}")
    exported_session(runs, "cnn")
    return runs / "cnn"


def test_zoo_cnn_onnx_runs_another_batch_size_and_states_its_preprocessing(cnn_run):
    session = OnnxSession(cnn_run / "model.onnx")
    loaded = api.load_run(cnn_run)
    x = loaded.recipe.data.test.x[:5].cpu()  # the program was captured at batch 2 and verified at 8
    expected = loaded.recipe.predict(x)
    probability, label = session.run(x)
    assert session.output_names == ["probability", "label"]
    assert (probability - expected["probability"].cpu()).abs().max() <= 1e-4
    assert torch.equal(label, expected["label"].cpu())
    metadata = session.metadata()
    meta = loaded.recipe.data.meta
    assert json.loads(metadata["deepzoo.class_names"]) == ["0", "1", "2"]
    assert json.loads(metadata["deepzoo.mean"]) == pytest.approx(meta.mean)
    assert json.loads(metadata["deepzoo.std"]) == pytest.approx(meta.std)
    assert json.loads(metadata["deepzoo.inputs"]) == {"input": {"shape": ["batch", 1, 8, 8], "dtype": "float32"}}
    assert "(x − mean) / std" in metadata["deepzoo.preprocessing"]
    assert (metadata["deepzoo.run"], metadata["deepzoo.model"], metadata["deepzoo.task"]) == ("cnn", "resnet20",
                                                                                               "multiclass")


def read_csv_output(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_predict_through_the_onnx_file_equals_predict_through_the_run(cnn_run, images, capsys):
    assert main(["predict", str(cnn_run), "--input", str(images)]) == 0
    from_run = read_csv_output(capsys.readouterr().out)
    assert main(["predict", str(cnn_run / "model.onnx"), "--input", str(images), "--top", "2"]) == 0
    top = read_csv_output(capsys.readouterr().out)
    assert main(["predict", str(cnn_run / "model.onnx"), "--input", str(images)]) == 0
    from_onnx = read_csv_output(capsys.readouterr().out)
    assert from_onnx[0] == from_run[0] == ["id", "p(0)", "p(1)", "p(2)", "label"]
    assert len(from_onnx) == len(from_run) == 61
    run_values = np.array([row[1:4] for row in from_run[1:]], dtype=float)
    onnx_values = np.array([row[1:4] for row in from_onnx[1:]], dtype=float)
    assert np.abs(run_values - onnx_values).max() <= 1e-5
    assert [row[4] for row in from_onnx] == [row[4] for row in from_run]
    assert top[0] == ["id", "top1", "p1", "top2", "p2"] and [row[1] for row in top[1:]] == [r[4] for r in from_run[1:]]


def test_vit_exports_with_a_dynamic_batch(runs, images):
    train(runs, "vit", "vit_tiny_patch2_8", f"npz:{images}",
          ["model.depth=1", "model.width=16", "model.heads=2", "model.mlp_dim=32"])
    session = exported_session(runs, "vit")
    recipe = api.load_run(runs / "vit").recipe
    x = recipe.data.test.x[:7].cpu()
    expected = recipe.predict(x)["probability"].cpu()
    assert (session.run(x)[0] - expected).abs().max() <= 1e-4


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """A CSV of 80 houses: price = 2·size + 1 if red, plus noise (a number and a category column)."""
    rng = np.random.default_rng(1)
    rows = ["size,colour,price"] + [f"{s:.3f},{c},{2 * s + (c == 'red') + rng.normal(0, 0.1):.3f}"
                                    for s, c in zip(rng.random(80), rng.choice(["red", "blue"], 80))]
    path = tmp_path_factory.mktemp("table") / "houses.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def table_run(runs, table):
    """An MLP regression run on the table."""
    train(runs, "table", "mlp", f"csv:{table}?target=price")
    return runs / "table"


def test_mlp_on_a_table_predicts_the_same_through_onnx(table_run, table, capsys):
    session = exported_session(table_run.parent, "table")
    assert session.output_names == ["value"]
    assert main(["predict", str(table_run), "--input", str(table)]) == 0
    from_run = read_csv_output(capsys.readouterr().out)
    assert main(["predict", str(table_run / "model.onnx"), "--input", str(table)]) == 0
    from_onnx = read_csv_output(capsys.readouterr().out)
    assert from_onnx[0] == from_run[0] == ["id", "price"] and len(from_onnx) == 81
    assert np.abs(np.array(from_run[1:], dtype=float) - np.array(from_onnx[1:], dtype=float)).max() <= 1e-4


def test_pt2_round_trip_keeps_its_metadata_inside_the_archive(table_run):
    result = export_run(table_run, "pt2")
    assert result.path == table_run / "model.pt2" and result.verification.passed
    extra = {"deepzoo.json": ""}
    program = torch.export.load(result.path, extra_files=extra)
    metadata = json.loads(extra["deepzoo.json"])
    assert metadata["deepzoo.part"] == "model" and json.loads(metadata["deepzoo.outputs"]).keys() == {"value"}
    loaded = api.load_run(table_run)
    x = loaded.recipe.data.test.x[:3].cpu()
    (value,) = program.module()(x)
    assert (value - loaded.recipe.predict(x)["value"].cpu()).abs().max() <= 1e-5


def test_a_failed_verification_writes_nothing_and_keeps_the_users_file(table_run, monkeypatch, capsys):
    target = table_run / "kept.pt2"
    target.write_text("the user's own file")
    monkeypatch.setattr(export_writers, "TOLERANCE", -1.0)  # no difference can pass
    assert main(["export", str(table_run), "--format", "pt2", "--output", str(target)]) == 2
    err = capsys.readouterr().err
    assert "kept.pt2: not written: torch.export.load disagrees with PyTorch" in err
    assert len(err.strip().splitlines()) == 1
    assert target.read_text() == "the user's own file"
    assert not [p for p in table_run.iterdir() if p.name.endswith(".tmp")]


def test_dcgan_generator_maps_seeded_noise_to_pixels(runs):
    run = train(runs, "dcgan", "dcgan", "digits", TINY_GAN)
    session = exported_session(runs, "dcgan")
    assert session.input_names == ["noise"] and session.output_names == ["sample"]
    recipe = run.recipe
    noise = torch.randn(5, 8, generator=torch.Generator().manual_seed(3))
    expected = recipe.to_raw(recipe.generate_all(noise)).cpu()
    (sample,) = session.run(noise)
    assert sample.shape == (5, 1, 8, 8) and (sample - expected).abs().max() <= 1e-4


def test_mlp_gan_generator_keeps_its_batch_dynamic(runs):
    run = train(runs, "gan", "gan", "digits",
                ["model.hidden=[16]", "model.latent_dim=4", "task_args.classifier_run=none"])
    session = exported_session(runs, "gan")
    noise = torch.randn(11, 4, generator=torch.Generator().manual_seed(5))
    (sample,) = session.run(noise)
    expected = run.recipe.to_raw(run.recipe.generate_all(noise)).cpu()
    assert sample.shape == (11, 1, 8, 8) and (sample - expected).abs().max() <= 1e-4


def test_cgan_generator_takes_the_labels_as_a_second_input(runs):
    run = train(runs, "cgan", "cgan", "digits", TINY_GAN)
    session = exported_session(runs, "cgan")
    assert session.input_names == ["noise", "labels"]
    noise = torch.randn(3, 8, generator=torch.Generator().manual_seed(4)).repeat(2, 1)
    labels = torch.tensor([1, 1, 1, 7, 7, 7])
    expected = run.recipe.to_raw(run.recipe.generate_all(noise, labels)).cpu()
    (sample,) = session.run(noise, labels)
    assert (sample - expected).abs().max() <= 1e-4
    assert (sample[:3] - sample[3:]).abs().max() > 1e-3  # the label changes the image


def test_autoencoder_exports_its_encoder_and_decoder(runs, capsys):
    run = train(runs, "ae", "ae", "digits", ["model.hidden=[16]", "model.code_size=4"],
                task="reconstruct")
    assert main(["export", str(runs / "ae")]) == 2
    assert "--part encoder or --part decoder" in capsys.readouterr().err
    encoder = exported_session(runs, "ae", part="encoder")
    decoder = exported_session(runs, "ae", part="decoder")
    model = run.recipe.model.eval()
    x = run.recipe.data.test.x[:6].cpu()
    (code,) = encoder.run(x)
    assert code.shape == (6, 4) and (code - model.encode(x).detach()).abs().max() <= 1e-4
    (reconstruction,) = decoder.run(code)
    expected = model.output_values(model.decode(code)).detach()
    assert reconstruction.shape == (6, 1, 8, 8) and (reconstruction - expected).abs().max() <= 1e-4
    assert json.loads(decoder.metadata()["deepzoo.inputs"]) == {"code": {"shape": ["batch", 4], "dtype": "float32"}}


def test_pix2pix_generator_translates_in_eval_mode(runs):
    run = train(runs, "p2p", "pix2pix", "digits-edges?count=60&size=16",
                ["model.width=4", "model.d_width=4", "model.n_layers=1", "train.batch_size=16",
                 "task_args.preset=none"])
    session = exported_session(runs, "p2p")
    source = run.recipe.data.test.x[:4].cpu()
    generator = run.recipe.model.generator.eval()
    expected = ((generator(source).detach() + 1) / 2).clamp(0, 1)
    (image,) = session.run(source)
    assert (image - expected).abs().max() <= 1e-4


def test_one_line_errors(runs, cnn_run, tmp_path, capsys):
    assert main(["export", str(cnn_run), "--format", "onxx"]) == 2
    assert "unknown export format 'onxx'; did you mean onnx?" in capsys.readouterr().err
    assert main(["export", "nowhere", "--runs-dir", str(tmp_path)]) == 2
    assert "nowhere: not a run folder" in capsys.readouterr().err
    assert main(["export", str(cnn_run), "--part", "encoder"]) == 2
    assert "--part encoder: a multiclass run exports model" in capsys.readouterr().err
    api.train("gcn", "karate", epochs=1, name="graph", runs_dir=str(runs), overrides=FAST, **SILENT)
    with pytest.raises(ConfigError, match=r"gcn \(node run\) cannot be exported: its inputs are graphs"):
        export_run(runs / "graph", "onnx")
    not_onnx = tmp_path / "fake.onnx"
    not_onnx.write_text("not a model")
    assert main(["predict", str(not_onnx), "--input", str(not_onnx)]) == 2
    assert "fake.onnx: ONNX Runtime cannot load it" in capsys.readouterr().err
