"""Runs on real-data paths, end to end (issue 19): named weights bring their preprocessing to a photo
folder and write it to config.yaml, a pretrained model predicts ImageNet classes without training as
torchvision does, and the run layer wires the photo-folder options (balanced sampler, skipped files,
in-memory crops' augmentation, streamed data only for recipes that can stream it)."""

from __future__ import annotations

import csv
import io
import warnings

import numpy as np
import pytest
import torch
import torchvision
import yaml
from PIL import Image

from deepzoo import api
from deepzoo.cli import main
from deepzoo.data.batching import DeviceLoader
from deepzoo.data.shapes import write_shapes_folder
from deepzoo.errors import ConfigError, DataError

from .test_pretrained_weights import save_torchvision

pytestmark = pytest.mark.usefixtures("one_thread")
QUIET = ["train.progress=false", "train.tensorboard=false", "train.plots=false"]


@pytest.fixture
def photos(tmp_path):
    """A small folder of generated photos of several sizes: 3 shapes × 6 JPEGs."""
    return write_shapes_folder(tmp_path / "photos", ["circle", "square", "star"], per_class=6, seed=1,
                               sizes=(48, 96))


def test_named_weights_read_a_photo_folder_as_they_were_trained_and_say_so_in_the_config(runs, photos):
    save_torchvision("resnet18", "ResNet18_Weights.IMAGENET1K_V1")
    lines = []
    run = api.train(model="resnet18", data=f"imagefolder:{photos}", epochs=1, name="tl", echo=lines.append,
                    overrides=[*QUIET, "model.weights=imagenet", "model.freeze=backbone"])
    saved = yaml.safe_load((run.dir / "config.yaml").read_text())
    transforms = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.transforms()
    assert saved["data"]["options"] == {"size": transforms.crop_size[0], "resize": transforms.resize_size[0],
                                        "interpolation": "bilinear", "mean": list(transforms.mean),
                                        "std": list(transforms.std)}
    assert saved["data"]["augment"] == "resized_crop,flip"  # the in-memory crops' training randomness
    assert run.recipe.data.meta.input_shape == (3, 224, 224)
    assert any(line.startswith("data: read as the weights were trained: size=224, resize=256") for line in lines)
    # the run rebuilt from its config reads new photos the same way: the evaluation crops of the bundle
    again = api.load_run(run.dir)
    np.testing.assert_array_equal(again.recipe.data.test.x.numpy(), run.recipe.data.test.x.numpy())


def test_the_users_own_size_keeps_the_geometry_theirs_and_takes_the_weights_statistics(runs, photos):
    save_torchvision("resnet18", "ResNet18_Weights.IMAGENET1K_V1")
    run = api.train(model="resnet18", data=f"imagefolder:{photos}?size=32", epochs=1, name="small",
                    overrides=[*QUIET, "model.weights=imagenet"], echo=lambda *a: None)
    options = yaml.safe_load((run.dir / "config.yaml").read_text())["data"]["options"]
    assert set(options) == {"interpolation", "mean", "std"}
    assert run.recipe.data.meta.input_shape == (3, 32, 32) and run.recipe.data.meta.mean == list(
        torchvision.models.ResNet18_Weights.IMAGENET1K_V1.transforms().mean)


def test_named_weights_on_arrays_keep_their_size_and_the_log_says_so(runs, tmp_path):
    save_torchvision("resnet18", "ResNet18_Weights.IMAGENET1K_V1")
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "arrays.npz", x=rng.random((24, 3, 32, 32)), y=np.arange(24) % 2)
    lines = []
    run = api.train(model="resnet18", data=f"npz:{tmp_path / 'arrays.npz'}", epochs=1, name="arrays",
                    overrides=[*QUIET, "model.weights=imagenet"], echo=lines.append)
    assert yaml.safe_load((run.dir / "config.yaml").read_text())["data"]["options"] == {}
    assert any("keeps its own 32×32 images and normalisation; the weights were trained on 224×224" in line
               for line in lines), lines


def test_a_pretrained_model_predicts_imagenet_classes_as_torchvision_does(tmp_path, capsys):
    reference = save_torchvision("resnet18", "ResNet18_Weights.IMAGENET1K_V1")
    weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    rng = np.random.default_rng(0)
    folder = tmp_path / "new"
    folder.mkdir()
    for name in ("b.png", "a.png"):
        Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)).save(folder / name)
    assert main(["predict", "--model", "resnet18", "--weights", "imagenet", "--input", str(folder)]) == 0
    header, *rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert header == ["id", "top1", "p1", "top2", "p2", "top3", "p3", "top4", "p4", "top5", "p5"]
    assert [row[0] for row in rows] == [str(folder / "a.png"), str(folder / "b.png")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batch = torch.stack([weights.transforms()(Image.open(folder / n)) for n in ("a.png", "b.png")])
    with torch.no_grad():
        best, order = reference(batch).softmax(1).topk(5)
    for row, probabilities, classes in zip(rows, best.tolist(), order.tolist()):
        assert row[1::2] == [weights.meta["categories"][c] for c in classes]
        # weights.transforms() resizes with torchvision's v1 kernels, deepzoo with v2's: one uint8 step apart
        np.testing.assert_allclose([float(p) for p in row[2::2]], probabilities, rtol=2e-2)


def test_predicting_without_a_run_needs_named_weights_and_images(tmp_path, capsys):
    save_torchvision("resnet18", "ResNet18_Weights.IMAGENET1K_V1")
    image = tmp_path / "x.png"
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(image)
    table = tmp_path / "x.csv"
    table.write_text("a,b\n1,2\n")
    for argv, expected in (
        (["--model", "resnet18", "--weights", "w.pth", "--input", str(image)], "needs named weights"),
        (["--model", "resnet18", "--input", str(table)], "predicts images"),
        (["--model", "mobilenet_v1", "--input", str(image)], "torchvision publishes no weights for mobilenet_v1"),
        (["--input", str(image)], "give a run"),
        (["--model", "resnet18", "--input", str(image), "--top", "0"], "--top 0: must be at least 1"),
    ):
        assert main(["predict", *argv]) == 2
        err = capsys.readouterr().err
        assert expected in err and err.count("\n") == 1, err


def test_a_streamed_folder_is_refused_by_a_recipe_that_needs_its_data_in_memory(runs, photos):
    with pytest.raises(ConfigError, match="task reconstruct trains from data held in memory.*streams"):
        api.train(model="ae", data=f"imagefolder:{photos}?size=16&stream=true", epochs=1, overrides=QUIET,
                  echo=lambda *a: None)
    assert not runs.exists() or not any(runs.iterdir())  # refused before a folder was made


def test_the_specs_own_options_win_over_the_recipes_defaults_and_the_configs_budget(runs, photos):
    cfg = api.build_config("cnn", f"imagefolder:{photos}?size=16&memory_budget=0")
    assert api.build_recipe(cfg)[1].meta.extra["storage"] == "stream"  # not data.memory_budget's 2 GiB
    cfg = api.build_config("ae", f"imagefolder:{photos}?size=16&normalize=standard")
    assert api.build_recipe(cfg)[1].meta.mean is not None  # not the autoencoder's normalize=none
    cfg = api.build_config("ae", f"imagefolder:{photos}?size=16")
    assert api.build_recipe(cfg)[1].meta.mean is None


def test_the_split_seed_is_the_specs_else_the_runs(runs, photos):
    def test_split(spec: str, seed: int) -> float:
        return api.build_recipe(api.build_config("cnn", spec, seed=seed))[1].test.x.sum().item()

    in_spec = test_split(f"imagefolder:{photos}?size=16&seed=5", seed=0)
    assert in_spec == test_split(f"imagefolder:{photos}?size=16", seed=5)
    assert in_spec != test_split(f"imagefolder:{photos}?size=16", seed=0)


def test_the_balanced_sampler_reaches_the_training_loader(runs, photos):
    cfg = api.build_config("cnn", f"imagefolder:{photos}?size=16", overrides=["data.sampler=balanced"])
    recipe, _ = api.build_recipe(cfg)
    train = recipe.loader("train", 8, shuffle=True)
    assert isinstance(train, DeviceLoader) and train.weights is not None
    assert recipe.loader("valid", 8).weights is None  # evaluation reads every item once, in order


def test_unreadable_photos_are_skipped_and_listed_in_the_run_folder(runs, photos):
    bad = photos / "star" / "broken.jpg"
    bad.write_bytes(b"not a jpeg")
    lines = []
    run = api.train(model="cnn", data=f"imagefolder:{photos}?size=16&skip_bad=true", epochs=1, name="skip",
                    overrides=QUIET, echo=lines.append)
    assert (run.dir / "skipped_files.txt").read_text() == f"{bad}\n"
    assert f"data: skipped 1 unreadable image(s), listed in {run.dir / 'skipped_files.txt'}" in lines


def test_self_supervised_pre_training_on_unlabelled_photos_is_probed_on_a_labelled_set(runs, photos):
    lines = []
    run = api.train(task="simclr", model="cnn", data="sample-images?crop=32&count=64", epochs=1, name="ssl",
                    echo=lines.append, overrides=[*QUIET, f"task_args.probe_data=imagefolder:{photos}?size=32",
                                                  "task_args.finetune=false", "task_args.supervised=false",
                                                  "task_args.probe_steps=20", "train.batch_size=32"])
    assert any(line.endswith(f"on the splits of imagefolder:{photos}?size=32") for line in lines), lines
    for key in ("test/linear_accuracy", "test/knn_accuracy", "test/random_linear_accuracy"):
        assert 0 <= run.metrics[key] <= 1
    with pytest.raises(ConfigError, match="its inputs are \\(3, 16, 16\\), the encoder was trained on \\(3, 32, 32\\)"):
        api.train(task="simclr", model="cnn", data="sample-images?crop=32&count=64", epochs=1, name="ssl2",
                  echo=lambda *a: None, overrides=[*QUIET, f"task_args.probe_data=imagefolder:{photos}?size=16",
                                                   "task_args.finetune=false", "task_args.supervised=false"])
    with pytest.raises(ConfigError, match="unknown dataset 'stl11'; did you mean stl10"):
        api.train(task="simclr", model="cnn", data="sample-images?crop=32&count=64", epochs=1, name="ssl3",
                  echo=lambda *a: None, overrides=[*QUIET, "task_args.probe_data=stl11"])


def test_evaluate_on_a_new_photo_folder_reads_it_as_the_run_does(runs, photos, tmp_path):
    run = api.train(model="cnn", data=f"imagefolder:{photos}?size=16", epochs=2, name="eval", overrides=QUIET,
                    echo=lambda *a: None)
    per_split = api.evaluate("eval")
    sizes = {s: len(getattr(run.recipe.data, s)) for s in ("train", "valid", "test")}
    whole = sum(per_split[f"{s}/accuracy"] * n for s, n in sizes.items()) / sum(sizes.values())
    for spec in (f"imagefolder:{photos}", f"imagefolder:{photos}?stream=true"):  # in memory, then streamed
        metrics = api.evaluate("eval", data=spec)
        assert metrics["data/accuracy"] == pytest.approx(whole, abs=1e-6) and "data/unseen_categories" not in metrics
    for spec in (f"imagefolder:{photos}?size=16", f"imagefolder:{photos}?interpolation=bicubic&seed=3"):
        with pytest.raises(DataError, match="the run sets (size|interpolation, seed) .*only stream, skip_bad"):
            api.evaluate("eval", data=spec)
    other = write_shapes_folder(tmp_path / "other", ["circle", "hexagon"], per_class=2, seed=3, sizes=(48, 64))
    with pytest.raises(DataError, match="label 'hexagon', which is not one of the run's classes"):
        api.evaluate("eval", data=f"imagefolder:{other}")
