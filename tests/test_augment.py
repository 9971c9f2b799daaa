"""Batch augmentation: identity at p = 0, shapes/dtypes/ranges, seeding, each transform's behaviour
against an independent construction, the spec syntax and the torchvision mapping."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from deepzoo.data.augment import (
    AUGMENTATIONS,
    ColorJitter,
    Compose,
    CutMix,
    Mixup,
    PerSample,
    RandomCrop,
    RandomErasing,
    RandomHorizontalFlip,
    RandomResizedCrop,
    RandomRotation,
    RandomScale,
    RandomShift,
    build_augmentation,
    parse_augmentation,
    torchvision_transform,
)
from deepzoo.errors import ConfigError

NAMES = AUGMENTATIONS.names()
SIGNAL_NAMES = [e.name for e in AUGMENTATIONS if 3 in e.meta["ndims"]]
VALUE_CHANGING = {"scale", "gaussian_noise"}  # change the value range by design
NUM_CLASSES = 5


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def make(name: str, **options):
    """The registered transform ``name`` with num_classes for the mixing ones."""
    return build_augmentation([{"name": name, **options}], num_classes=NUM_CLASSES).transforms[0]


def images(n: int = 16, channels: int = 3, size: int = 12, dtype=torch.float32) -> torch.Tensor:
    return torch.rand(n, channels, size, size, generator=seeded(123), dtype=dtype)


def labels(n: int = 16) -> torch.Tensor:
    return torch.arange(n) % NUM_CLASSES


def test_registry_lists_every_transform():
    assert NAMES == [
        "color_jitter", "crop", "cutmix", "cutout", "flip", "gaussian_noise", "grayscale",
        "mixup", "resized_crop", "rotate", "scale", "shift",
    ]
    assert SIGNAL_NAMES == ["crop", "cutmix", "cutout", "gaussian_noise", "mixup", "scale", "shift"]


@pytest.mark.parametrize("name", NAMES)
def test_probability_zero_is_exact_identity(name):
    x, y = images(), labels()
    out, out_y = make(name, p=0.0)(x, y, seeded())
    assert torch.equal(out, x)
    if name in ("mixup", "cutmix"):  # targets always come back soft
        assert torch.equal(out_y, F.one_hot(y, NUM_CLASSES).float())
    else:
        assert out_y is y
    if name in SIGNAL_NAMES:
        signal = torch.randn(4, 1, 40)
        assert torch.equal(make(name, p=0.0)(signal, generator=seeded())[0], signal)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", NAMES)
def test_shape_dtype_and_value_range_kept(name, dtype):
    x = images(dtype=dtype)
    out, _ = make(name, p=1.0)(x, labels(), seeded())
    assert out.shape == x.shape and out.dtype == dtype
    assert not torch.equal(out, x)
    if name not in VALUE_CHANGING:
        assert out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_batch_other_seed_other_batch(name):
    x, y = images(), labels()
    transform = make(name)
    first, first_y = transform(x, y, seeded(1))
    again, again_y = transform(x, y, seeded(1))
    other, _ = transform(x, y, seeded(2))
    assert torch.equal(first, again)
    assert (first_y is None and again_y is None) or torch.equal(first_y, again_y)
    assert not torch.equal(first, other)


def test_probability_is_per_sample():
    x = images(n=400)
    out, _ = RandomHorizontalFlip(p=0.5)(x, generator=seeded())
    flipped = (out == x.flip(-1)).flatten(1).all(1)
    kept = (out == x).flatten(1).all(1)
    assert torch.equal(flipped | kept, torch.ones(400, dtype=torch.bool))
    assert 160 < int(flipped.sum()) < 240  # Binomial(400, 0.5): mean 200, sd 10


def test_flip_with_p_one_mirrors_the_last_axis():
    x = images()
    assert torch.equal(RandomHorizontalFlip(p=1.0)(x)[0], x.flip(-1))


def test_crop_with_zero_padding_is_identity():
    x = images()
    assert torch.equal(RandomCrop(padding=0, p=1.0)(x, generator=seeded())[0], x)


@pytest.mark.parametrize(("mode", "pad_mode"), [("zero", "constant"), ("reflect", "reflect")])
def test_crop_is_a_window_of_the_padded_image(mode, pad_mode):
    x, padding, size = images(n=32), 2, 12
    out, _ = RandomCrop(padding=padding, mode=mode)(x, generator=seeded())
    padded = F.pad(x, (padding,) * 4, mode=pad_mode)
    offsets = set()
    for i in range(len(x)):
        matches = [
            (dy, dx)
            for dy in range(2 * padding + 1)
            for dx in range(2 * padding + 1)
            if torch.equal(out[i], padded[i, :, dy : dy + size, dx : dx + size])
        ]
        assert matches, f"sample {i} is not a crop of the padded image"
        offsets.update(matches)
    assert len(offsets) > 5  # the offsets vary across the batch


def test_circular_shift_of_signals_is_a_roll():
    x = torch.randn(32, 1, 40, generator=seeded(5))
    out, _ = RandomShift(max_shift=3, mode="circular")(x, generator=seeded())
    shifts = []
    for i in range(len(x)):
        matches = [k for k in range(-3, 4) if torch.equal(out[i], x[i].roll(k, -1))]
        assert len(matches) == 1
        shifts += matches
    assert len(set(shifts)) > 3


def test_rotation_by_quarter_turns_matches_rot90():
    x = images(size=9)
    for degrees, turns in ((90, 1), (-90, -1), (180, 2)):
        out, _ = RandomRotation(degrees=(degrees, degrees), interpolation="nearest")(x)
        assert torch.equal(out, torch.rot90(x, turns, dims=(-2, -1)))


def test_half_turn_of_a_non_square_image_flips_both_axes():
    x = torch.rand(4, 3, 6, 10, generator=seeded())
    out, _ = RandomRotation(degrees=(180, 180))(x)
    torch.testing.assert_close(out, x.flip(-1, -2), atol=1e-5, rtol=0)


def test_resized_crop_of_the_whole_image_is_identity():
    x = images()
    out, _ = RandomResizedCrop(scale=(1.0, 1.0), ratio=(1.0, 1.0))(x, generator=seeded())
    torch.testing.assert_close(out, x, atol=1e-6, rtol=0)


def test_resized_crop_upsamples_a_window():
    # A quarter of the area at ratio 1 is a 4×4 window of an 8×8 image, enlarged ×2 (nearest).
    x = torch.rand(16, 1, 8, 8, generator=seeded())
    crop = RandomResizedCrop(scale=(0.25, 0.25), ratio=(1, 1), interpolation="nearest")
    out, _ = crop(x, generator=seeded())
    enlarged = x.unfold(2, 4, 1).unfold(3, 4, 1).repeat_interleave(2, -1).repeat_interleave(2, -2)
    corners = set()
    for i in range(len(x)):  # enlarged[i, 0, top, left] is the window at (top, left), doubled
        windows = [(top, left) for top in range(5) for left in range(5)]
        matches = [(top, left) for top, left in windows if torch.equal(out[i, 0], enlarged[i, 0, top, left])]
        assert len(matches) == 1
        corners.update(matches)
    assert len(corners) > 4


def test_brightness_scales_each_image_by_one_factor():
    x = images() + 0.1
    jitter = ColorJitter(brightness=0.4, contrast=0, saturation=0, hue=0, value_range=None, p=1.0)
    ratio = jitter(x, generator=seeded())[0] / x
    per_image = ratio.flatten(1)
    torch.testing.assert_close(per_image, per_image[:, :1].expand_as(per_image))
    assert per_image.min() >= 0.6 and per_image.max() <= 1.4 and per_image[:, 0].std() > 0.05


def test_contrast_keeps_mean_luma_and_zero_saturation_gives_gray():
    x = images()
    luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    contrast = ColorJitter(brightness=0, contrast=0.5, saturation=0, hue=0, value_range=None, p=1.0)
    out = contrast(x, generator=seeded())[0]
    torch.testing.assert_close((out * luma).sum(1).mean((1, 2)), (x * luma).sum(1).mean((1, 2)))
    gray = ColorJitter(brightness=0, contrast=0, saturation=(0, 0), hue=0, p=1.0)(x)[0]
    torch.testing.assert_close(gray, (x * luma).sum(1, keepdim=True).expand_as(x))
    torch.testing.assert_close(gray, make("grayscale", p=1.0)(x)[0])


def test_hue_rotation_keeps_gray_and_luma_and_turns_like_hsv():
    jitter = ColorJitter(brightness=0, contrast=0, saturation=0, hue=(1 / 3, 1 / 3), value_range=None, p=1.0)
    gray = torch.full((2, 3, 4, 4), 0.4)
    torch.testing.assert_close(jitter(gray)[0], gray)
    x = images()
    luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    torch.testing.assert_close((jitter(x)[0] * luma).sum(1), (x * luma).sum(1))
    primaries = torch.eye(3).view(3, 3, 1, 1).expand(3, 3, 2, 2).contiguous()
    ours = jitter(primaries)[0].clamp(0, 1)
    theirs = TF.adjust_hue(primaries, 1 / 3)  # red → green → blue → red
    assert torch.equal(ours.argmax(1), theirs.argmax(1))
    assert ours.argmax(1)[:, 0, 0].tolist() == [1, 2, 0]


def test_cutout_erases_one_box_of_the_given_area():
    x = images(n=64, size=20) + 1.0  # no zeros before erasing
    out, _ = RandomErasing(scale=(0.05, 0.2), ratio=(0.5, 2.0), p=1.0)(x, generator=seeded())
    erased = out == 0
    assert torch.equal(erased, erased[:, :1].expand_as(erased))  # all channels together
    for mask in erased[:, 0]:
        rows, cols = mask.any(1).nonzero(), mask.any(0).nonzero()
        box = torch.zeros_like(mask)
        box[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1] = True
        assert torch.equal(mask, box)
        height, width = int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)
        assert 0.05 * 400 * 0.8 <= height * width <= 0.2 * 400 * 1.2  # rounding of the sides
        assert 0.5 / 1.5 <= width / height <= 2.0 * 1.5
    signal = torch.rand(16, 1, 40) + 1.0
    erased = RandomErasing(scale=(0.25, 0.25), p=1.0)(signal, generator=seeded())[0] == 0
    assert erased.sum(-1).flatten().tolist() == [10] * 16


def test_beta_draws_have_the_right_moments():
    alpha = 0.4
    mixup = Mixup(alpha=alpha)
    x = torch.zeros(20000, 1)
    _, lam = mixup.sample(x, torch.ones(20000, dtype=torch.bool), seeded())
    assert abs(lam.mean().item() - 0.5) < 0.01
    assert abs(lam.var().item() - 1 / (4 * (2 * alpha + 1))) < 0.01  # Var Beta(a, a) = 1/(4(2a+1))


@pytest.mark.parametrize("shape", [(16, 3, 8, 8), (16, 1, 40), (16, 7)])
def test_mixup_mixes_inputs_and_targets_with_the_same_lambda(shape):
    x, y = torch.rand(shape, generator=seeded(9)), labels()
    mixup = Mixup(alpha=0.5, num_classes=NUM_CLASSES, p=0.75)
    out, soft = mixup(x, y, seeded(3))
    replay = seeded(3)
    selected = torch.rand(16, generator=replay) < 0.75
    partner, lam = mixup.sample(x, selected, replay)
    assert (lam[~selected] == 1).all() and (lam[selected] < 1).all()
    weight = lam.view(-1, *[1] * (x.dim() - 1))
    torch.testing.assert_close(out, weight * x + (1 - weight) * x[partner])
    one_hot = F.one_hot(y, NUM_CLASSES).float()
    torch.testing.assert_close(soft, lam[:, None] * one_hot + (1 - lam[:, None]) * one_hot[partner])
    torch.testing.assert_close(soft.sum(1), torch.ones(16))
    logits = torch.randn(16, NUM_CLASSES)  # cross_entropy reads soft targets as class probabilities
    torch.testing.assert_close(F.cross_entropy(logits, one_hot), F.cross_entropy(logits, y))


@pytest.mark.parametrize("shape", [(32, 3, 10, 10), (32, 1, 40)])
def test_cutmix_target_weights_equal_the_pasted_area(shape):
    n = shape[0]
    x = torch.arange(n, dtype=torch.float32).view(-1, *[1] * (len(shape) - 1)).expand(shape).contiguous()
    out, soft = CutMix(alpha=1.0, num_classes=n)(x, torch.arange(n), seeded())
    area_per_source = F.one_hot(out[:, 0].flatten(1).long(), n).float().mean(1)  # fraction of each image
    torch.testing.assert_close(soft, area_per_source)
    assert (soft.max(1).values < 1).sum() > n // 2  # most samples really mixed


def test_mixing_needs_num_classes_for_labels_but_not_for_soft_targets():
    x = images()
    with pytest.raises(ConfigError, match="num_classes"):
        Mixup()(x, labels(), seeded())
    soft = torch.full((16, 4), 0.25)
    torch.testing.assert_close(Mixup()(x, soft, seeded())[1], soft)
    assert Mixup()(x, None, seeded())[1] is None


def test_signal_amplitude_scaling_and_noise():
    x = torch.randn(64, 1, 40, generator=seeded(4))
    ratio = (RandomScale(factor=(0.5, 2.0))(x, generator=seeded())[0] / x).squeeze(1)
    torch.testing.assert_close(ratio, ratio[:, :1].expand_as(ratio))
    assert ratio.min() >= 0.5 and ratio.max() <= 2.0
    noise = make("gaussian_noise", std=0.3)(x, generator=seeded())[0] - x
    assert abs(noise.std().item() - 0.3) < 0.015 and abs(noise.mean().item()) < 0.02


def test_image_only_transforms_reject_signals_and_integer_batches():
    with pytest.raises(ConfigError, match=r"augmentation 'rotate': expects batches shaped \(N, C, H, W\)"):
        RandomRotation()(torch.rand(4, 1, 40))
    with pytest.raises(ConfigError, match="floating-point"):
        RandomHorizontalFlip()(torch.zeros(2, 3, 4, 4, dtype=torch.uint8))
    with pytest.raises(ConfigError, match="RGB"):
        ColorJitter()(torch.rand(2, 1, 4, 4))
    with pytest.raises(ConfigError, match="spatial size"):
        RandomShift(max_shift=8)(torch.rand(2, 1, 8))


def test_parse_short_spec():
    spec = "crop:padding=4,mode=zero, flip:p=0.5,rotate:degrees=-15..15,color_jitter:value_range=none,mixup"
    assert parse_augmentation(spec) == [
        {"name": "crop", "padding": 4, "mode": "zero"},
        {"name": "flip", "p": 0.5},
        {"name": "rotate", "degrees": (-15, 15)},
        {"name": "color_jitter", "value_range": None},
        {"name": "mixup"},
    ]
    assert parse_augmentation("") == []


def test_build_from_string_and_list_agree():
    from_text = build_augmentation("crop:padding=2,flip,mixup:alpha=0.4", num_classes=NUM_CLASSES)
    from_list = build_augmentation(
        [{"name": "crop", "padding": 2}, "flip", Mixup(alpha=0.4, num_classes=NUM_CLASSES)]
    )
    assert repr(from_text) == repr(from_list)
    assert [t.name for t in from_text] == ["crop", "flip", "mixup"]
    x, y = images(), labels()
    out_text, y_text = from_text(x, y, seeded())
    out_list, y_list = from_list(x, y, seeded())
    assert torch.equal(out_text, out_list) and torch.equal(y_text, y_list)
    assert len(build_augmentation(None)) == 0 and build_augmentation(None)(x, y)[0] is x


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("flp", "unknown augmentation 'flp'; did you mean flip"),
        ("crop:pading=4", "unknown option 'pading' .did you mean padding"),
        ("flip:p=2", r"p must be a number in \[0.0, 1.0\], got 2"),
        ("mixup:alpha=big", "alpha must be a number"),
        ("cutout:value=abc", "value must be a number"),
        ("padding=4,crop", "comes before any transform"),
        ("crop:padding", "should look like key=value"),
        ("crop:mode=wrap", "mode must be one of reflect, zero, circular"),
        ("rotate:degrees=15..-15", "degrees must satisfy"),
        ("resized_crop:scale=abc", "scale must be a pair"),
        ([{"padding": 4}], "has no 'name'"),
    ],
)
def test_spec_errors_are_config_errors(spec, message):
    with pytest.raises(ConfigError, match=message):
        build_augmentation(spec)


def test_torchvision_mapping():
    transform = torchvision_transform(
        "crop:padding=2,flip,resized_crop:p=0.5,color_jitter,rotate,cutout,grayscale,shift", image_size=12
    )
    kinds = [type(t) for t in transform.transforms]
    assert kinds == [
        v2.RandomCrop, v2.RandomHorizontalFlip, v2.RandomApply, v2.RandomApply, v2.RandomRotation,
        v2.RandomErasing, v2.RandomGrayscale, PerSample,
    ]
    assert transform.transforms[0].padding_mode == "reflect"
    torch.manual_seed(0)
    image = torch.rand(3, 12, 12)
    out = transform(image)
    assert out.shape == image.shape
    signal_transform = torchvision_transform("shift:max_shift=2,scale,gaussian_noise:std=0.1")
    assert signal_transform(torch.randn(1, 40)).shape == (1, 40)
    with pytest.raises(ConfigError, match="image_size"):
        torchvision_transform("crop")
    with pytest.raises(ConfigError, match="mixes pairs"):
        torchvision_transform("mixup")


def test_compose_chains_with_one_generator():
    compose = Compose([RandomCrop(padding=2), RandomHorizontalFlip(), Mixup(num_classes=NUM_CLASSES)])
    x, y = images(), labels()
    first = compose(x, y, seeded(7))
    second = compose(x, y, seeded(7))
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    assert first[1].shape == (16, NUM_CLASSES) and math.isclose(first[1].sum().item(), 16, rel_tol=1e-6)
