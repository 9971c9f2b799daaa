"""Photo datasets by name, JPEG files of any size with their publishers' official splits: Oxford
Flowers-102 (Nilsback & Zisserman 2008) and the Oxford-IIIT Pet breeds (Parkhi et al. 2012), in the
folders torchvision downloads them to (``flowers-102/``, ``oxford-iiit-pet/``). The split and the
labels are read here; the photos go through :func:`~deepzoo.data.image_files.image_files_bundle`, in
memory or streaming, with ``size=`` (the ImageNet crops), ``stream``, ``skip_bad`` and its other options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from . import DATASETS
from .bundle import DataBundle
from .formats_common import choice_option, whitespace_rows
from .image_files import image_files_bundle
from .named import Download, NamedSource, locate
from .named_images import integer_labels, read_mat

# -- Flowers-102 --------------------------------------------------------------------------------------------

FLOWERS_SPLITS = ("trnid", "valid", "tstid")  # setid.mat's train, validation and test image ids


def flowers_downloads() -> list[Download]:
    """torchvision's Flowers102 files: the JPEG archive (unpacked to ``jpg/``) and the two .mat files."""
    from torchvision.datasets import Flowers102

    return [Download(Flowers102._download_url_prefix + file, "flowers-102", md5, unpack=key == "image")
            for key, (file, md5) in Flowers102._file_dict.items()]


FLOWERS_SOURCE = NamedSource("Flowers-102", "flowers-102", ("jpg", "imagelabels.mat", "setid.mat"), flowers_downloads)


@DATASETS.register("flowers102", kind="image", image_files=True, source=FLOWERS_SOURCE,
                   summary="Oxford Flowers-102 photos: 102 classes, official 1,020 / 1,020 / 6,149 split; ?size=224")
def flowers102(**options: Any) -> DataBundle:
    """Flowers-102: ``jpg/image_00001.jpg`` …, labels 1…102 in ``imagelabels.mat`` (made 0…101), and the
    official train / validation / test image ids of ``setid.mat`` (10 images per class for training and
    for validation, the rest for testing). Class names are torchvision's ``Flowers102.classes``."""
    from torchvision.datasets import Flowers102

    folder = locate(FLOWERS_SOURCE)
    labels_file, splits_file = folder / "imagelabels.mat", folder / "setid.mat"
    labels = integer_labels(read_mat(labels_file, ("labels",))["labels"], 1, len(Flowers102.classes), labels_file) - 1
    ids = read_mat(splits_file, FLOWERS_SPLITS)
    parts = [integer_labels(ids[key], 1, len(labels), splits_file, f"{key} image id") for key in FLOWERS_SPLITS]
    order = np.concatenate(parts)  # train ids, then validation, then test
    if len(np.unique(order)) != len(order):
        raise DataError(f"{splits_file}: an image id is listed twice in trnid, valid and tstid")
    files = [folder / "jpg" / f"image_{i:05d}.jpg" for i in order.tolist()]
    start_valid, start_test = len(parts[0]), len(parts[0]) + len(parts[1])
    return image_files_bundle("flowers102", files, labels[order - 1], list(Flowers102.classes), str(folder),
                              test_index=np.arange(start_test, len(order)),
                              valid_index=np.arange(start_valid, start_test), **options)


# -- Oxford-IIIT Pet ----------------------------------------------------------------------------------------

PETS_LISTS = ("trainval", "test")
PETS_SPECIES = ["Cat", "Dog"]


def pets_downloads() -> list[Download]:
    """torchvision's OxfordIIITPet archives (images and annotations), unpacked into ``oxford-iiit-pet/``."""
    from torchvision.datasets import OxfordIIITPet

    return [Download(url, "oxford-iiit-pet", md5, unpack=True) for url, md5 in OxfordIIITPet._RESOURCES]


PETS_SOURCE = NamedSource("Oxford-IIIT Pet", "oxford-iiit-pet",
                          ("images", *(f"annotations/{name}.txt" for name in PETS_LISTS)), pets_downloads)


def read_pet_list(path: Path) -> list[tuple[str, int, int]]:
    """``annotations/{trainval,test}.txt``: ``<image> <class 1…37> <species 1 cat, 2 dog> <breed id>`` per
    line (``#`` lines are comments), as (image name, class, species) with 1-based numbers."""
    rows = []
    for number, fields in whitespace_rows(path):
        if fields[0].startswith("#"):
            continue
        if len(fields) != 4 or not all(f.isdigit() for f in fields[1:]) or not 1 <= int(fields[2]) <= 2:
            raise DataError(f"{path}: line {number} should be '<image> <class> <species 1|2> <breed id>'")
        rows.append((fields[0], int(fields[1]), int(fields[2])))
    if not rows:
        raise DataError(f"{path}: lists no images")
    return rows


def breed_names(rows: list[tuple[str, int, int]], path: Path) -> list[str]:
    """The breed of each class number, from its images' names (``american_bulldog_12`` → "American
    Bulldog", as torchvision names them); every class 1…K must appear, under one breed."""
    breed: dict[int, str] = {}
    for image, label, _ in rows:
        name = " ".join(part.title() for part in image.rsplit("_", 1)[0].split("_"))
        if breed.setdefault(label, name) != name:
            raise DataError(f"{path}: image {image} has class {label}, which is {breed[label]}")
    missing = sorted(set(range(1, max(breed) + 1)) - set(breed))
    if missing:
        raise DataError(f"{path}: class {missing[0]} has no image (classes are numbered 1…{max(breed)})")
    return [breed[k] for k in range(1, len(breed) + 1)]


#: what a trimap's pixel values become (Parkhi et al. 2012: 1 pet, 2 background, 3 the undecided border
#: around the pet, left out of loss and metrics as PASCAL VOC leaves its borders out)
TRIMAP_CLASSES = ["background", "pet"]
TRIMAP_VALUES = {1: 1, 2: 0, 3: 255}


@DATASETS.register("oxford-pets", kind="image", image_files=True, source=PETS_SOURCE,
                   summary="Oxford-IIIT Pet photos: 37 breeds (labels=species: cat/dog; labels=trimap: "
                           "segmentation), trainval 3,680 / test 3,669")
def oxford_pets(labels: str = "breed", **options: Any) -> DataBundle:
    """Oxford-IIIT Pet: ``images/<name>.jpg`` with the official ``trainval`` / ``test`` lists of
    ``annotations/``; ``labels=breed`` (37 classes, default) or ``species`` (cat, dog). The validation
    split is ``valid_fraction`` (0.2) of trainval. ``labels=trimap`` is the segmentation set
    (:func:`oxford_pets_trimaps`)."""
    folder = locate(PETS_SOURCE)
    choice_option(labels, ("breed", "species", "trimap"), "labels", str(folder))
    lists = {name: read_pet_list(folder / "annotations" / f"{name}.txt") for name in PETS_LISTS}
    rows = lists["trainval"] + lists["test"]
    test_index = np.arange(len(lists["trainval"]), len(rows))
    if labels == "trimap":
        return oxford_pets_trimaps(folder, [image for image, _, _ in rows], test_index, **options)
    names = breed_names(rows, folder / "annotations") if labels == "breed" else PETS_SPECIES
    targets = np.array([(label if labels == "breed" else species) - 1 for _, label, species in rows])
    files = [folder / "images" / f"{image}.jpg" for image, _, _ in rows]
    name = "oxford-pets" if labels == "breed" else "oxford-pets-species"
    return image_files_bundle(name, files, targets, names, str(folder), test_index=test_index, **options)


def oxford_pets_trimaps(folder: Path, images: list[str], test_index: np.ndarray, **options: Any) -> DataBundle:
    """The pets' segmentation: each photo with its ``annotations/trimaps/<name>.png``, whose values 1 (pet),
    2 (background) and 3 (border) become the classes pet 1 and background 0 and the ignored 255
    (:data:`TRIMAP_VALUES`). Photos have many sizes: read them with ``size=`` (128, say); in memory."""
    from .segmentation import read_image_masks, segmentation_bundle, value_table

    files = [folder / "images" / f"{image}.jpg" for image in images]
    trimaps = [folder / "annotations" / "trimaps" / f"{image}.png" for image in images]
    for photo, trimap in zip(files, trimaps):
        if not trimap.is_file():
            raise DataError(f"{photo}: has no trimap (expected {trimap})")
    pixels, masks, geometry, _, _, options = read_image_masks(files, trimaps, str(folder), len(TRIMAP_CLASSES),
                                                              mask_values=value_table(TRIMAP_VALUES), **options)
    return segmentation_bundle("oxford-pets-trimap", pixels, masks, list(TRIMAP_CLASSES), str(folder), geometry,
                               test_index=test_index, **options)
