"""Photo folders of any size: image files in memory or streamed through the DataLoader path, the ImageNet
recipe's crops at ``size=``, corrupt files, class imbalance (balanced class weights and sampler), and
``predict`` on a folder, batch by batch."""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import v2

from deepzoo import cli
from deepzoo.data import load_dataset
from deepzoo.data.batching import BalancedSampler, DeviceLoader, HostLoader, balanced_weights, make_loader
from deepzoo.data.image_files import ImageFiles
from deepzoo.data.image_geometry import CROP_RATIO, CROP_SCALE, sample_seed
from deepzoo.errors import DataError
from tests.conftest import QUIET

CPU = torch.device("cpu")
IMAGENET = "mean=0.485,0.456,0.406&std=0.229,0.224,0.225"


def photos(root, per_class=(6, 6, 6), sizes=((30, 40), (44, 26), (36, 36)), seed=0):
    """JPEG photos of several sizes and aspects, one subfolder per class; smooth content, so resizing
    matters numerically."""
    rng = np.random.default_rng(seed)
    for c, count in enumerate(per_class):
        (root / f"class{c}").mkdir(parents=True, exist_ok=True)
        for i in range(count):
            h, w = sizes[(c + i) % len(sizes)]
            yy, xx = np.mgrid[0:h, 0:w]
            base = np.stack([np.sin(xx / (3 + c + k) + yy / (5 + i)) for k in range(3)], -1)
            pixels = ((base + 1) * 110 + rng.integers(0, 30, (h, w, 3))).clip(0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / f"class{c}" / f"{i:02d}.jpg", quality=90)
    return root


def batches(loader) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(x.clone(), y.clone()) for x, y in loader]


def test_streaming_gives_the_in_memory_tensors(tmp_path):
    root = photos(tmp_path / "p")
    memory = load_dataset(f"imagefolder:{root}?size=16")
    stream = load_dataset(f"imagefolder:{root}?size=16&stream=true")
    assert memory.meta.extra["storage"] == "memory" and stream.meta.extra["storage"] == "stream"
    assert isinstance(stream.test, ImageFiles) and memory.meta.input_shape == stream.meta.input_shape == (3, 16, 16)
    # the statistics come from every training image in both (fewer than the 500 a stream samples)
    assert memory.meta.mean == stream.meta.mean and memory.meta.std == stream.meta.std
    for split in ("valid", "test"):
        x, y = (torch.cat(t) for t in zip(*batches(make_loader(stream.splits()[split], 4, CPU))))
        assert torch.equal(x, memory.splits()[split].x) and torch.equal(y, memory.splits()[split].y)
    # per channel, the in-memory training split is standardised with its own statistics
    x = memory.train.x
    assert torch.allclose(x.mean((0, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(x.std((0, 2, 3), unbiased=False), torch.ones(3), atol=1e-4)


def test_the_memory_budget_decides_from_the_decoded_size(tmp_path):
    root = photos(tmp_path / "p")
    decoded = 18 * 3 * 20 * 20 * 4  # items × C × H × W × float32
    fits = load_dataset(f"imagefolder:{root}?size=20&memory_budget={decoded / 1024**3}")
    over = load_dataset(f"imagefolder:{root}?size=20&memory_budget={(decoded - 1) / 1024**3}")
    assert fits.meta.extra["storage"] == "memory" and isinstance(fits.train.x, torch.Tensor)
    assert over.meta.extra["storage"] == "stream" and isinstance(over.train, ImageFiles)
    # file names travel as one numpy array of bytes, not a list of Python objects (pytorch#13246)
    assert isinstance(over.train.files, np.ndarray) and over.train.files.dtype.kind == "S"
    with pytest.raises(DataError, match="memory_budget='lots'"):
        load_dataset(f"imagefolder:{root}?memory_budget=lots")


def test_evaluation_crops_are_torchvisions_resize_and_centre_crop(tmp_path):
    root = photos(tmp_path / "p")
    bundle = load_dataset(f"imagefolder:{root}?size=24&resize=28&interpolation=bicubic&{IMAGENET}&stream=true")
    test = bundle.test
    x, _ = next(iter(make_loader(test, len(test), CPU)))
    normalize = [v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])]
    resize_crop = [v2.Resize(28, v2.InterpolationMode.BICUBIC, antialias=True), v2.CenterCrop(24)]
    files = [Image.open(test.path(i)).convert("RGB") for i in range(len(test))]
    exact = v2.Compose([v2.PILToTensor(), *resize_crop, *normalize])
    assert torch.equal(x, torch.stack([exact(f) for f in files]))
    # a pretrained weight's transforms() (transforms v1, Pillow's resize for a PIL image) differ by a
    # rounding at most: one uint8 level or two, over the std
    from torchvision.transforms._presets import ImageClassification

    weights_transforms = ImageClassification(crop_size=24, resize_size=28,
                                             interpolation=v2.InterpolationMode.BICUBIC)
    assert float((x - torch.stack([weights_transforms(f) for f in files])).abs().max()) < 2.5 / 255 / 0.224
    assert bundle.meta.mean == pytest.approx([0.485, 0.456, 0.406])


def test_training_crops_are_random_resized_per_epoch_and_resume_exactly(tmp_path):
    root = photos(tmp_path / "p")
    train = load_dataset(f"imagefolder:{root}?size=12&stream=true&normalize=none", seed=3).train
    # item i of epoch e is torchvision's RandomResizedCrop + flip drawn from the seed of (3, e, i)
    torch.manual_seed(sample_seed(3, 1, 5))
    pixels = v2.PILToTensor()(Image.open(train.path(5)).convert("RGB"))
    crop = v2.Compose([v2.RandomResizedCrop(12, CROP_SCALE, CROP_RATIO, antialias=True), v2.RandomHorizontalFlip()])
    assert torch.equal(train[(1, 5)][0], crop(pixels))
    assert not torch.equal(train[(0, 5)][0], train[(1, 5)][0])

    def loader(workers=0):
        return HostLoader(train, 4, shuffle=True, seed=7, num_workers=workers, pin_memory=False, device=CPU)

    first = loader()
    epochs = [batches(first) for _ in range(2)]
    assert not torch.equal(epochs[0][0][0], epochs[1][0][0])
    again = loader(workers=2)  # the same crops whichever worker reads an item
    for epoch in epochs:
        for (x, y), (x2, y2) in zip(epoch, batches(again)):
            assert torch.equal(x, x2) and torch.equal(y, y2)
    # a checkpoint after 2 batches of the second epoch resumes with that epoch's third batch
    interrupted = loader()
    batches(interrupted)
    it = iter(interrupted)
    next(it), next(it)
    state = interrupted.state_dict(batches_done=2)
    resumed = loader()
    resumed.load_state_dict(state)
    rest = batches(resumed)
    assert len(rest) == len(epochs[1]) - 2
    assert all(torch.equal(a[0], b[0]) for a, b in zip(rest, epochs[1][2:]))


def test_a_corrupt_file_found_in_a_worker_is_one_line_naming_it(tmp_path):
    root = photos(tmp_path / "p")
    broken = root / "class1" / "03.jpg"
    data = broken.read_bytes()
    broken.write_bytes(data[: len(data) // 2])  # the header reads, the pixels do not
    # fixed mean/std: no training file is decoded for statistics before the loader meets the broken one
    bundle = load_dataset(f"imagefolder:{root}?size=12&stream=true&{IMAGENET}", valid_fraction=0, test_fraction=0)
    with pytest.raises(DataError) as info:
        batches(HostLoader(bundle.train, 4, shuffle=False, seed=0, num_workers=1, pin_memory=False, device=CPU))
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{broken}: cannot be read as an image")
    with pytest.raises(DataError, match=f"{broken}: cannot be read as an image"):
        load_dataset(f"imagefolder:{root}?size=12")  # in memory: at load time


@pytest.mark.parametrize("stream", ["false", "true"])
def test_skip_bad_leaves_out_counts_and_lists_the_bad_files(tmp_path, stream):
    root = photos(tmp_path / "p")
    not_an_image = root / "class0" / "04.jpg"
    not_an_image.write_text("<html>404</html>")
    truncated = root / "class2" / "01.jpg"
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])  # the header reads, the pixels do not
    bundle = load_dataset(f"imagefolder:{root}?size=12&skip_bad=true&stream={stream}&{IMAGENET}",
                          valid_fraction=0, test_fraction=0)
    skipped = bundle.meta.extra["skipped_files"]
    if stream == "true":  # the header check finds one at once; the other is met when a worker decodes it
        assert skipped == [str(not_an_image)] and len(bundle.train) == 17
        x, y = (torch.cat(t) for t in zip(*batches(make_loader(bundle.train, 5, CPU))))
    else:
        x, y = bundle.train.x, bundle.train.y
    assert sorted(skipped) == sorted([str(not_an_image), str(truncated)]) and len(x) == len(y) == 16
    assert torch.bincount(y).tolist() == [5, 6, 5]


def test_a_streamed_file_found_bad_while_estimating_the_statistics_is_listed_at_once(tmp_path):
    root = photos(tmp_path / "p")
    truncated = root / "class1" / "02.jpg"
    truncated.write_bytes(truncated.read_bytes()[:200])  # the header reads, the pixels do not
    bundle = load_dataset(f"imagefolder:{root}?size=12&skip_bad=true&stream=true", valid_fraction=0, test_fraction=0)
    assert bundle.meta.extra["skipped_files"] == [str(truncated)] and bundle.meta.mean is not None


@pytest.mark.parametrize("options", ["", "&size=12", "&size=12&stream=true"])
def test_skip_bad_with_no_readable_file_left_is_one_line(tmp_path, options):
    root = photos(tmp_path / "p", per_class=(1, 1, 1))
    for file in root.rglob("*.jpg"):  # two files whose headers fail, one whose pixels do
        file.write_text("<html>404</html>") if file.parent.name != "class2" else file.write_bytes(
            file.read_bytes()[:200])
    expected = f"{root}: none of the 3 image file(s) could be read"
    with pytest.raises(DataError, match=re.escape(expected)):
        load_dataset(f"imagefolder:{root}?skip_bad=true{options}")


def test_bad_split_and_normalisation_options_are_one_line_naming_the_folder(tmp_path):
    root = photos(tmp_path / "p")
    with pytest.raises(DataError, match=f"{root}: option seed='abc' is not an integer"):
        load_dataset(f"imagefolder:{root}?size=12&seed=abc")
    with pytest.raises(DataError, match=f"{root}: option valid_fraction='x' is not a number"):
        load_dataset(f"imagefolder:{root}?size=12&valid_fraction=x")
    with pytest.raises(DataError, match=f"{root}: mean/std give 2/2 values for 3-channel images"):
        load_dataset(f"imagefolder:{root}?size=12&mean=0.5,0.5&std=0.2,0.2")


def test_balanced_class_weights_are_the_closed_form_and_reach_the_log(tmp_path, runs, capsys):
    from sklearn.utils.class_weight import compute_class_weight

    from deepzoo.data.bundle import DatasetMeta
    from deepzoo.tasks.heads import TaskHead

    labels = torch.tensor([0] * 12 + [1] * 3 + [2] * 1)
    meta = DatasetMeta("d", "multiclass", (4,), num_classes=3, class_names=["a", "b", "c"])
    head = TaskHead("multiclass", meta, train_targets=labels, class_weights="balanced")
    expected = compute_class_weight("balanced", classes=np.arange(3), y=labels.numpy())  # N / (K n_c)
    assert head.class_weights.tolist() == pytest.approx(expected.tolist())
    assert expected.tolist() == pytest.approx([16 / 36, 16 / 9, 16 / 3])
    assert float((head.class_weights[labels]).mean()) == pytest.approx(1.0)  # averages 1 over the items
    with pytest.raises(Exception, match="3 non-negative numbers"):
        TaskHead("multiclass", meta, class_weights=[1, 2])

    root = photos(tmp_path / "p", per_class=(12, 6, 4))
    sets = [a for q in [*QUIET, "task_args.class_weights=balanced", "model.width=4"] for a in ("--set", q)]
    assert cli.main(["train", "--model", "cnn", "--data", f"imagefolder:{root}?size=8", "--epochs", "1",
                     "--name", "w", *sets]) == 0
    counts = torch.bincount(load_dataset(f"imagefolder:{root}?size=8").train.y).tolist()  # the run's split
    weights = sorted((sum(counts) / (3 * n), f"class{c}") for c, n in enumerate(counts))
    assert f"class weights {', '.join(f'{c}={w:.3g}' for w, c in weights)}]" in capsys.readouterr().out


@pytest.mark.parametrize("host", [False, True])
def test_the_balanced_sampler_draws_every_class_about_equally_and_resumes(host):
    labels = torch.tensor([0] * 900 + [1] * 90 + [2] * 10)
    x = torch.arange(len(labels))

    def loader(weights):
        if host:
            return HostLoader(torch.utils.data.TensorDataset(x, labels), 100, True, 0, 0, False, weights=weights)
        return DeviceLoader((x, labels), 100, shuffle=True, seed=0, weights=weights)

    balanced = loader(balanced_weights(labels))
    drawn = torch.cat([torch.cat([y for _, y in balanced]) for _ in range(5)])  # 5,000 draws
    share = torch.bincount(drawn, minlength=3).double() / len(drawn)
    # each share is 1/3 ± 3 binomial standard deviations (0.02); the plain sampler's is 0.9 / 0.09 / 0.01
    assert (share - 1 / 3).abs().max() < 3 * (1 / 3 * 2 / 3 / len(drawn)) ** 0.5
    plain = torch.cat([y for _, y in loader(None)])
    assert torch.bincount(plain).tolist() == [900, 90, 10]
    state = balanced.state_dict()
    following = [b[0].clone() for b in balanced]
    balanced.load_state_dict(state)
    assert all(torch.equal(a, b[0]) for a, b in zip(following, balanced))


def test_two_ranks_read_disjoint_shards_that_cover_the_split(tmp_path):
    root = photos(tmp_path / "p", per_class=(5, 5, 4))
    train = load_dataset(f"imagefolder:{root}?size=8&stream=true", valid_fraction=0, test_fraction=0).train
    for shuffle in (False, True):
        shards = [HostLoader(train, 3, shuffle, 0, 0, False, rank=r, world_size=2).sampler for r in (0, 1)]
        for s in shards:
            s.set_epoch(1)
        order = [list(s) for s in shards]
        assert not set(order[0]) & set(order[1]) and sorted(order[0] + order[1]) == list(range(14))
    draws = [BalancedSampler(balanced_weights(train.y), torch.Generator(), 0, r, 2) for r in (0, 1)]
    whole = BalancedSampler(balanced_weights(train.y), torch.Generator().manual_seed(0), 0, 0, 1)
    both = [list(d) for d in draws]
    assert [i for pair in zip(*both) for i in pair] == list(whole)  # the ranks split one sequence of draws


def test_predict_streams_a_nested_folder_one_row_per_file_in_order(tmp_path, runs, capsys, monkeypatch):
    root = photos(tmp_path / "p")
    sets = [a for q in [*QUIET, "model.width=4"] for a in ("--set", q)]
    assert cli.main(["train", "--model", "cnn", "--data", f"imagefolder:{root}?size=8", "--epochs", "1",
                     "--name", "r", *sets]) == 0
    (root / "class1" / "deeper").mkdir()
    (root / "class0" / "00.jpg").rename(root / "class1" / "deeper" / "moved.jpg")
    (root / "class2" / "01.jpg").write_text("not an image")
    collated = []
    real = ImageFiles.collate
    monkeypatch.setattr(ImageFiles, "collate", lambda self, items: collated.append(len(items)) or real(self, items))
    out = tmp_path / "pred.csv"
    assert cli.main(["predict", "r", "--input", str(root), "--output", str(out), "--batch-size", "5",
                     "--skip-bad"]) == 0
    assert "skipped 1 unreadable image(s)" in capsys.readouterr().err
    rows = list(csv.reader(out.open()))
    expected = sorted(str(p) for p in root.rglob("*.jpg") if p.name != "01.jpg" or p.parent.name != "class2")
    assert rows[0][:2] == ["id", "p(class0)"] and [r[0] for r in rows[1:]] == expected
    assert collated == [5, 5, 5, 3]  # 18 files, read 5 at a time by the streaming reader
    assert cli.main(["predict", "r", "--input", str(root), "--output", str(out)]) == 2
    assert "01.jpg: cannot be read as an image" in capsys.readouterr().err


def test_jpeg_decoding_gives_pillows_pixels(tmp_path):
    from deepzoo.data.image_decode import decode_image

    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:30, 0:41]
    rgb = np.stack([np.sin(xx / 4 + k) * 100 + 120 + rng.integers(0, 20, (30, 41)) for k in range(3)], -1)
    Image.fromarray(rgb.astype(np.uint8)).save(tmp_path / "rgb.jpg", quality=90)
    Image.fromarray(rgb[..., 0].astype(np.uint8)).save(tmp_path / "gray.jpg", quality=90)
    for name in ("rgb", "gray"):
        for channels, mode in ((3, "RGB"), (1, "L")):
            pillow = np.array(Image.open(tmp_path / f"{name}.jpg").convert(mode)).reshape(30, 41, channels)
            expected = torch.from_numpy(pillow).permute(2, 0, 1)
            assert torch.equal(decode_image(tmp_path / f"{name}.jpg", channels), expected)
