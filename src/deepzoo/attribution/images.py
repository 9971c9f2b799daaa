"""Attribution maps of a trained run for an image or a folder of images: what ``deepzoo attribute`` does.

Images are read exactly as ``deepzoo predict`` reads them (:func:`deepzoo.data.inputs.image_inputs`: the
run's geometry and normalisation, streamed in batches), explained a batch at a time, and written per image
as ``<name>_<method>.png`` (the input and its map, the predicted and the explained class in the title)
and ``<name>_<method>.npy`` (the raw map: (H, W) over the input, or (C, h, w) for activations); a folder
also gets ``grid_<method>.png``, and every run of the command a ``<method>.csv`` table of its rows.
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..data.batching import make_loader
from ..data.inputs import image_inputs
from ..errors import ConfigError, DataError
from ..files import write_text_atomic
from ..plots.autoencoder import filters_figure, to_unit_range
from .figures import GRID_LIMIT, channels_figure, grid_figure, map_figure, save_array
from .maps import METHODS, explain, first_conv_filters

#: the tasks whose outputs are class scores a map can explain
CLASS_TASKS = ("binary", "multiclass", "multilabel")


@dataclass
class Settings:
    """How to explain: the method and its knobs (see :func:`~deepzoo.attribution.maps.explain`)."""

    method: str = "gradcam"
    target: str | None = None
    layer: str | None = None
    n_steps: int = 50
    baseline: str = "black"
    batch_size: int = 16


def class_index(name: str, meta) -> int:
    """The class ``name`` (a class name of the run, or its index) as an index; a one-line error with the
    closest names otherwise."""
    import difflib

    names = list(meta.class_names) or [str(i) for i in range(meta.num_classes)]
    if name in names:
        return names.index(name)
    if name.isdigit() and int(name) < len(names):
        return int(name)
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f" (classes: {', '.join(names[:20])})"
    raise ConfigError(f"--target {name!r}: not a class of this run{hint}")


def check_fits(meta, method: str) -> None:
    """A run a map can explain: class scores of image inputs; else one line saying why not."""
    METHODS.get(method)
    if meta.task not in CLASS_TASKS:
        raise ConfigError(f"{method}: attribution maps explain a class score; this run's task is {meta.task}")
    if not meta.is_image:
        raise ConfigError(f"{method}: attribution maps are drawn over images (C, H, W); this run's inputs are "
                          f"{tuple(meta.input_shape)} (a table or a signal has no map)")


def attribute_images(run, source: str | Path, settings: Settings, folder: Path,
                     skip_bad: bool = False) -> list[dict[str, Any]]:
    """Explain every image of ``source`` with the trained ``run`` (:func:`deepzoo.api.load_run`) and write
    the maps into ``folder``; returns one row per image (file, classes, map file, and for Integrated
    Gradients the completeness terms). ``--method filters`` needs no image and writes one picture."""
    recipe = run.recipe
    meta = recipe.data.meta
    check_fits(meta, settings.method)
    if settings.method == "filters":
        kernels = first_conv_filters(recipe.model)
        save_array(kernels, folder / "filters.npy")
        filters_figure(kernels, folder / "filters.png", f"first convolution: {len(kernels)} kernels",
                       limit=len(kernels))
        return [{"id": "filters", "map": str(folder / "filters.png")}]
    path = Path(source)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    images = image_inputs(path, meta, skip_bad)
    if images is None:
        raise DataError(f"{path}: attribution maps need an image or a folder of images")
    root = path if path.is_dir() else path.parent
    names = list(meta.class_names) or [str(i) for i in range(meta.num_classes)]
    wanted = None if settings.target is None else class_index(settings.target, meta)
    rows, shown, maps_shown, titles = [], [], [], []
    loader = make_loader(images, max(1, settings.batch_size), recipe.device,
                         num_workers=run.config.data.num_workers)
    for x, index in loader:
        if not len(index):
            continue
        target = None if wanted is None else torch.full((len(x),), wanted, dtype=torch.long)
        result = explain(recipe.model, x, settings.method, target, binary=meta.task == "binary",
                         layer=settings.layer, n_steps=settings.n_steps, baseline=settings.baseline,
                         mean=meta.mean, std=meta.std)
        pixels = to_unit_range(x, meta)
        for j, i in enumerate(index.tolist()):
            source_file = Path(images.path(i))
            stem = folder / source_file.relative_to(root).with_suffix("")
            png = stem.parent / f"{stem.name}_{settings.method}.png"
            title = (f"{source_file.name}: predicted {names[result.predicted[j]]} · "
                     f"explained {names[result.target[j]]} · {settings.method}")
            row = {"id": str(source_file), "predicted": names[result.predicted[j]],
                   "target": names[result.target[j]], "map": str(png)}
            row.update({key: float(values[j]) for key, values in result.completeness.items()})
            save_array(result.maps[j], png.with_suffix(".npy"))
            if settings.method == "activations":
                channels_figure(result.maps[j], title, png)
                overlay = _upsampled_mean(result.maps[j], pixels.shape[-2:])
            else:
                map_figure(pixels[j], result.maps[j], title, png, signed=bool(result.completeness))
                overlay = result.maps[j]
            rows.append(row)
            if len(shown) < GRID_LIMIT:
                shown.append(pixels[j].cpu())
                maps_shown.append(overlay.cpu())
                titles.append(f"{names[result.predicted[j]]} / {names[result.target[j]]}")
    if images.skipped:
        print(f"skipped {len(images.skipped)} unreadable image(s): {', '.join(images.skipped)}", file=sys.stderr)
    if path.is_dir() and shown:
        grid_figure(torch.stack(shown), torch.stack(maps_shown), titles, folder / f"grid_{settings.method}.png",
                    f"{settings.method} (predicted / explained)", signed=settings.method == "integrated-gradients")
    write_text_atomic(folder / f"{settings.method}.csv", rows_as_csv(rows))
    return rows


def _upsampled_mean(feature_map: torch.Tensor, size) -> torch.Tensor:
    """A layer's channels averaged and upsampled to the image, to draw activations over it in a grid."""
    mean = feature_map.float().mean(dim=0)[None, None]
    return torch.nn.functional.interpolate(mean, size=tuple(size), mode="bilinear", align_corners=False)[0, 0]


def rows_as_csv(rows: list[dict[str, Any]]) -> str:
    """The rows as CSV text, columns in the first row's order."""
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()
