"""Segmentation building blocks: the U-Net of Ronneberger et al. 2015 (Fig. 1) and its encoders, the losses
and metrics against hand-worked values, masks that stay aligned under the joint augmentation, and the
segmentation data (shapes, segfolder:, the pets' trimaps) with their one-line errors."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torchmetrics.classification import MulticlassJaccardIndex

from deepzoo.data import load_dataset
from deepzoo.data.joint_augment import JointAugmentation
from deepzoo.data.segmentation import IGNORE_INDEX, SHAPE_CLASSES
from deepzoo.downloads import data_home
from deepzoo.errors import ConfigError, DataError
from deepzoo.metrics.segmentation import confusion_matrix, scores_from_confusion, soft_dice_loss
from deepzoo.models import create_model
from deepzoo.models.unet import paper_output_size

pytestmark = pytest.mark.usefixtures("one_thread")


# -- the U-Net ------------------------------------------------------------------------------------------------
def unet_parameters_by_hand(in_chans: int, classes: int, depth: int = 5, base: int = 64, batch_norm: bool = False):
    """Fig. 1 counted: each level's two 3×3 convs (C_in·9·C + C biases, or + 2C for batch norm instead of
    biases), each up-level's 2×2 up-conv (C·4·C/2 + C/2) and two 3×3 convs from the concatenation, the 1×1
    head (base·K + K)."""
    def conv(c_in: int, c_out: int, k: int = 3) -> int:
        return c_in * k * k * c_out + (2 * c_out if batch_norm and k == 3 else c_out)

    widths = [base * 2**i for i in range(depth)]
    total = sum(conv(c_in, c) + conv(c, c) for c_in, c in zip([in_chans, *widths[:-1]], widths))
    for deep, shallow in zip(widths[:0:-1], widths[-2::-1]):
        total += deep * 4 * (deep // 2) + deep // 2  # the up-convolution's weights and biases
        total += conv(deep // 2 + shallow, shallow) + conv(shallow, shallow)
    return total + base * classes + classes


def test_the_paper_unet_has_fig1s_layers_sizes_and_parameters():
    with torch.device("meta"):
        model = create_model("unet", variant="paper")  # 1 input channel, 2 classes (the paper's cell images)
        out = model(torch.zeros(1, 1, 572, 572))
    assert out.shape == (1, 2, 388, 388) and paper_output_size(572) == 388
    convs = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert len(convs) == 23  # "In total the network has 23 convolutional layers" (§2)
    assert all(m.padding == (0, 0) for m in convs) and not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert [m.out_channels for m in convs[:10:2]] == [64, 128, 256, 512, 1024]
    ups = [m for m in convs if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels, m.kernel_size, m.stride) for m in ups] == [
        (c, c // 2, (2, 2), (2, 2)) for c in (1024, 512, 256, 128)]
    assert convs[-1].kernel_size == (1, 1)
    params = sum(p.numel() for p in model.parameters())
    assert params == unet_parameters_by_hand(1, 2) == 31_030_658
    # the 31,030,593 often quoted for Pytorch-UNet is this network with one output channel: 65 parameters fewer
    assert unet_parameters_by_hand(1, 1) == 31_030_593 == params - 65


def test_the_paper_init_is_n0_2_over_fan_in():
    torch.manual_seed(0)
    model = create_model("unet", variant="paper", depth=2, base_width=32)
    conv = model.encoder.levels[1][2]  # the second level's second conv: 64·9 inputs per unit
    fan_in = conv.in_channels * 9
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.05)


def test_the_padded_variant_keeps_the_size_and_counts_its_batch_norms():
    model = create_model("unet", depth=3, base_width=8, in_chans=3, num_classes=4)
    assert model(torch.zeros(2, 3, 36, 52)).shape == (2, 4, 36, 52)
    assert model(torch.zeros(1, 3, 37, 51)).shape == (1, 4, 37, 51)  # not a multiple of 4: padded back
    assert sum(p.numel() for p in model.parameters()) == unet_parameters_by_hand(3, 4, 3, 8, batch_norm=True)


def test_a_resnet18_encoder_gives_its_stage_maps_to_the_decoder():
    for size, stem in ((64, 1), (224, 2)):  # the small-input stem keeps full resolution; ImageNet's halves it
        encoder = create_model("resnet18", num_classes=0, input_size=size)
        maps = encoder.feature_maps(torch.zeros(1, 3, 64, 64))
        assert [m.shape[1] for m in maps] == [i["num_chs"] for i in encoder.feature_info] == [64, 64, 128, 256, 512]
        assert [64 // m.shape[-1] for m in maps] == [i["reduction"] for i in encoder.feature_info]
        assert encoder.feature_info[0]["reduction"] == stem
        assert torch.equal(maps[-1], encoder.forward_features(torch.zeros(1, 3, 64, 64)))
        model = create_model("unet", encoder="resnet18", in_chans=3, num_classes=5, input_size=size)
        assert model(torch.zeros(2, 3, 64, 64)).shape == (2, 5, 64, 64)
        assert (model.final_up is not None) == (stem == 2)
    with pytest.raises(ConfigError, match="model.encoder=vgg11: its feature maps per stage are not exposed"):
        create_model("unet", encoder="vgg11", in_chans=3)
    with pytest.raises(ConfigError, match="variant='paper' is the paper's own contracting path"):
        create_model("unet", encoder="resnet18", variant="paper")


# -- losses and metrics ---------------------------------------------------------------------------------------
def test_metrics_from_a_hand_worked_confusion_matrix_leave_the_absent_class_out():
    truth = torch.tensor([[0, 0, 0, 1, 1, 2, 2, IGNORE_INDEX, IGNORE_INDEX]])
    guess = torch.tensor([[0, 0, 1, 1, 1, 2, 0, 2, 3]])  # class 3 only where the truth is ignored
    confusion = confusion_matrix(guess, truth, 4)
    assert confusion.tolist() == [[2, 1, 0, 0], [0, 2, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]
    scores = scores_from_confusion(confusion, ["background", "a", "b", "absent"])
    iou = {"background": 2 / 4, "a": 2 / 3, "b": 1 / 2}  # TP / (TP + FP + FN)
    dice = {"background": 4 / 6, "a": 4 / 5, "b": 2 / 3}  # 2TP / (2TP + FP + FN)
    assert scores["miou"] == pytest.approx(sum(iou.values()) / 3)  # class 3: absent from truth and prediction
    assert scores["dice"] == pytest.approx(sum(dice.values()) / 3)
    assert scores["pixel_accuracy"] == pytest.approx(5 / 7)
    for name in iou:
        assert scores[f"iou_{name}"] == pytest.approx(iou[name]) and scores[f"dice_{name}"] == pytest.approx(dice[name])
    assert "iou_absent" not in scores
    reference = MulticlassJaccardIndex(4, average="macro", ignore_index=IGNORE_INDEX)(guess, truth)
    assert scores["miou"] == pytest.approx(reference.item())
    # predicted on a labelled pixel, the class is present: its IoU is 0 and it counts in the mean
    guess[0, 0] = 3
    scores = scores_from_confusion(confusion_matrix(guess, truth, 4))
    assert scores["iou_3"] == 0 and scores["miou"] == pytest.approx((1 / 4 + 2 / 3 + 1 / 2 + 0) / 4)


def test_split_scores_come_from_summed_matrices_not_a_mean_over_images():
    small = confusion_matrix(torch.tensor([[1, 1]]), torch.tensor([[1, 0]]), 2)  # IoU_1 = 1/2, IoU_0 = 0
    large = confusion_matrix(torch.ones(1, 8, dtype=torch.long), torch.ones(1, 8, dtype=torch.long), 2)
    whole = scores_from_confusion(small + large)
    assert whole["iou_1"] == pytest.approx(9 / 10) and whole["iou_0"] == 0.0
    per_image = (scores_from_confusion(small)["miou"] + scores_from_confusion(large)["miou"]) / 2
    assert whole["miou"] == pytest.approx(0.45) and per_image == pytest.approx((0.25 + 1.0) / 2)


def test_soft_dice_loss_by_hand():
    # two labelled pixels and an ignored one: p(pixel 1) = (1/4, 3/4) truth 1, p(pixel 2) = (1/2, 1/2) truth 0
    logits = torch.tensor([[[[0.0, 0.0, 5.0]], [[math.log(3), 0.0, -5.0]]]])
    target = torch.tensor([[[1, 0, IGNORE_INDEX]]])
    dice0 = (2 * 0.5 + 1) / ((0.25 + 0.5) + 1 + 1)
    dice1 = (2 * 0.75 + 1) / ((0.75 + 0.5) + 1 + 1)
    assert soft_dice_loss(logits, target).item() == pytest.approx(1 - (dice0 + dice1) / 2, rel=1e-6)


# -- joint augmentation ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ["flip:p=1", "scale:factor=0.6..1.6", "crop:padding=5",
                                  "flip,scale:factor=0.5..2,crop:padding=3"])
def test_masks_stay_aligned_under_every_joint_augmentation(spec):
    """An image whose pixels spell out its mask (channel 0 = the class) must still do so after the
    augmentation: read with nearest neighbour, the same map moves both; padding is ignored in the mask."""
    gen = torch.Generator().manual_seed(0)
    masks = torch.randint(0, 4, (16, 20, 24), generator=gen, dtype=torch.uint8)
    masks[:, :, :12] = 3  # a structure, so that a flip or a shift changes the mask
    images = torch.stack([masks.float(), torch.rand(16, 20, 24, generator=gen)], dim=1)
    augment = JointAugmentation.from_spec(spec)
    augment = JointAugmentation(**{**augment.__dict__, "interpolation": "nearest"})
    x, y = augment(images, masks, torch.Generator().manual_seed(1))
    assert y.dtype == torch.uint8 and y.shape == masks.shape and x.shape == images.shape
    labelled = y != IGNORE_INDEX
    assert torch.equal(x[:, 0][labelled], y[labelled].float())
    assert (x[:, 0][~labelled] == 0).all()  # outside the source: 0 in the image, ignored in the mask
    assert not torch.equal(y, masks)  # it did move them
    if spec == "flip:p=1":
        assert torch.equal(y, masks.flip(-1))


def test_joint_augmentation_never_interpolates_a_label_and_replays_from_its_generator():
    masks = torch.zeros(4, 16, 16, dtype=torch.uint8)
    masks[:, 4:12, 4:12] = 3
    images = torch.rand(4, 3, 16, 16)
    augment = JointAugmentation.from_spec("flip,scale,crop")
    assert augment.interpolation == "bilinear" and augment.scale == (0.75, 1.25) and augment.padding == 4
    (x1, y1), (x2, y2) = (augment(images, masks, torch.Generator().manual_seed(7)) for _ in range(2))
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert set(y1.unique().tolist()) <= {0, 3, IGNORE_INDEX}


@pytest.mark.parametrize("spec, message", [
    ("flip,rotate", "'rotate' is not a transform that moves a mask with its image"),
    ("scal", "(did you mean scale?)"),
    ("crop:pad=3", "crop takes padding, not pad"),
    ("scale:factor=2..1", "scale a factor low..high > 0"),
])
def test_bad_joint_augmentation_specs_are_one_line(spec, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        JointAugmentation.from_spec(spec)


# -- data -------------------------------------------------------------------------------------------------------
def test_shapes_masks_mark_the_drawn_shapes_and_the_run_seed_picks_only_the_split():
    a = load_dataset("shapes?count=40&size=24", normalize="none")
    b = load_dataset("shapes?count=40&size=24", normalize="none", seed=1)
    assert a.meta.task == "segmentation" and a.meta.class_names == SHAPE_CLASSES and a.meta.input_shape == (3, 24, 24)
    assert a.train.y.dtype == torch.uint8 and a.train.y.shape[1:] == (24, 24)
    everything = torch.cat([a.train.y, a.valid.y, a.test.y])
    assert set(everything.unique().tolist()) == {0, 1, 2, 3} and len(everything) == 40
    assert sorted(map(bytes, everything.numpy())) == sorted(map(bytes, torch.cat([b.train.y, b.valid.y, b.test.y])
                                                                .numpy()))
    # shapes are flat-coloured: a class's pixels hold at most one colour per shape, the photo many
    for image, mask in zip(a.train.x, a.train.y):
        for label in mask.unique().tolist():
            colours = len(image[:, mask == label].unique(dim=1).T)
            assert colours <= 3 if label else colours > 10


def write_segfolder(root, sizes=((12, 10), (12, 10), (12, 10)), palette=False, classes=None):
    """``images/`` and ``masks/`` of a tiny segfolder: image i is flat grey i·40, its mask holds class i % 3
    in its left half and 0 elsewhere."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i, (w, h) in enumerate(sizes):
        Image.new("RGB", (w, h), (40 * i,) * 3).save(root / "images" / f"img{i}.png")
        values = np.zeros((h, w), np.uint8)
        values[:, : w // 2] = i % 3
        mask = Image.fromarray(values)
        if palette:
            mask = mask.convert("P")
            mask.putpalette([0, 0, 0, 200, 0, 0, 0, 200, 0])
        mask.save(root / "masks" / f"img{i}.png")
    if classes:
        (root / "classes.txt").write_text("\n".join(classes) + "\n")
    return root


def test_segfolder_reads_class_index_and_palette_masks(tmp_path):
    root = write_segfolder(tmp_path / "plain", classes=["sky", "road", "car"])
    b = load_dataset(f"segfolder:{root}", normalize="none", valid_fraction=0, test_fraction=0)
    assert b.meta.class_names == ["sky", "road", "car"] and b.meta.input_shape == (3, 10, 12)
    order = (b.train.x[:, 0, 0, 0] * 255 / 40).round().long()  # which image is which: its grey
    for x_grey, mask in zip(order.tolist(), b.train.y):
        assert (mask[:, :6] == x_grey % 3).all() and (mask[:, 6:] == 0).all()
    pal = load_dataset(f"segfolder:{write_segfolder(tmp_path / 'pal', palette=True)}", valid_fraction=0,
                       test_fraction=0)
    assert pal.meta.class_names == ["0", "1", "2"] and pal.meta.extra["palette"] == [[0, 0, 0], [200, 0, 0],
                                                                                      [0, 200, 0]]
    sized = load_dataset(f"segfolder:{root}?size=6", valid_fraction=0, test_fraction=0)
    assert sized.meta.input_shape == (3, 6, 6) and set(sized.train.y.unique().tolist()) <= {0, 1, 2}


def one_line(spec: str) -> str:
    with pytest.raises(DataError) as err:
        load_dataset(spec, valid_fraction=0, test_fraction=0)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_bad_segfolders_are_one_line_naming_the_file(tmp_path):
    root = write_segfolder(tmp_path / "a", classes=["sky", "road"])
    assert one_line(f"segfolder:{root}") == (f"{root / 'masks' / 'img2.png'}: class 2 at row 0, column 0 is not one "
                                             f"of the 2 classes of {root / 'classes.txt'} (0–1; 255 = ignored)")
    root = write_segfolder(tmp_path / "b")
    (root / "masks" / "img1.png").unlink()
    assert one_line(f"segfolder:{root}") == (f"{root / 'images' / 'img1.png'}: has no mask (expected "
                                             f"{root / 'masks' / 'img1.png'})")
    root = write_segfolder(tmp_path / "c")
    Image.new("L", (12, 11)).save(root / "masks" / "img0.png")
    assert one_line(f"segfolder:{root}") == (f"{root / 'masks' / 'img0.png'}: is 11×12 pixels but its image "
                                             f"{root / 'images' / 'img0.png'} is 10×12")
    root = write_segfolder(tmp_path / "d")
    Image.new("RGB", (12, 10)).save(root / "masks" / "img0.png")
    assert "img0.png: a RGB image is not a mask" in one_line(f"segfolder:{root}")
    root = write_segfolder(tmp_path / "e")
    Image.new("L", (12, 10)).save(root / "masks" / "stray.png")
    assert one_line(f"segfolder:{root}") == (f"{root / 'masks' / 'stray.png'}: has no image of the same name in "
                                             f"{root / 'images'}")
    root = write_segfolder(tmp_path / "f", sizes=((12, 10), (14, 10), (12, 10)))
    assert "give size=H or size=HxW" in one_line(f"segfolder:{root}")
    assert "unknown option(s) stream" in one_line(f"segfolder:{write_segfolder(tmp_path / 'g')}?stream=true")


def test_oxford_pets_trimaps_become_pet_background_and_an_ignored_border():
    folder = data_home() / "oxford-iiit-pet"
    trainval, test = ["Abyssinian_1 1 1 1", "basset_hound_2 2 2 1", "Abyssinian_3 1 1 1"], ["basset_hound_4 2 2 1"]
    for number, line in enumerate(trainval + test, start=1):
        name = line.split()[0]
        (folder / "images").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (10 + number, 8), (20 * number, 0, 0)).save(folder / "images" / f"{name}.jpg")
        trimap = np.full((8, 10 + number), 2, np.uint8)  # background …
        trimap[2:6, 3:7], trimap[1, :] = 1, 3  # … a pet, and a border row
        (folder / "annotations" / "trimaps").mkdir(parents=True, exist_ok=True)
        Image.fromarray(trimap).save(folder / "annotations" / "trimaps" / f"{name}.png")
    (folder / "annotations" / "trainval.txt").write_text("\n".join(trainval) + "\n")
    (folder / "annotations" / "test.txt").write_text("\n".join(test) + "\n")
    b = load_dataset("oxford-pets?labels=trimap&size=8", valid_fraction=0)
    assert b.meta.class_names == ["background", "pet"] and len(b.train) == 3 and len(b.test) == 1
    mask = b.test.y[0]  # 8×14 → 8×8 centre crop: columns 3…10 of the file
    assert mask.shape == (8, 8) and (mask[1] == IGNORE_INDEX).all() and (mask[2:6, :4] == 1).all()
    assert (mask[6:] == 0).all()
    Image.fromarray(np.full((8, 14), 4, np.uint8)).save(folder / "annotations" / "trimaps" / "basset_hound_4.png")
    trimap = folder / "annotations" / "trimaps" / "basset_hound_4.png"
    assert one_line("oxford-pets?labels=trimap&size=8") == f"{trimap}: value 4 at row 0, column 0 is not one of 1, 2, 3"
