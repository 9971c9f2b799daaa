"""``deepzoo predict RUN --input FILE``: predictions of a trained run for new inputs, as CSV; and
``deepzoo predict --model M --weights imagenet --input FILE``: a pretrained model's top-5 classes, no
training.

An image or a folder of images (searched recursively) streams: files are decoded in batches by the
DataLoader path (the run's ``data.num_workers``) in the run's evaluation view, and each batch's rows are
written before the next is read, so a folder of any size never sits in memory. Their first column, ``id``,
is the file's path. ``--top K`` writes a multiclass run's K most probable classes instead of every
class's probability. A segmentation run writes each image's predicted mask into the ``--output`` folder
(a palette PNG named after the image) and lists the masks on stdout.

``deepzoo predict FILE.onnx --input ...`` runs a supervised run's export (``deepzoo export RUN``) in ONNX
Runtime instead, reading the inputs with the preprocessing its metadata states and writing the same CSV.
"""

from __future__ import annotations

import argparse
import csv
import functools
import sys
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="predictions of a trained run (or a pretrained model) for new inputs")
    p.add_argument("run", nargs="?", help="run folder or name under runs/, or an exported FILE.onnx")
    p.add_argument("--model", help="instead of a run: a zoo model with --weights (imagenet or torchvision:ENUM)")
    p.add_argument("--weights", help="the named weights of --model (default imagenet)")
    p.add_argument("--top", type=int, metavar="K", help="the K most probable classes and their probabilities "
                   "instead of every class's (default 5 with --model)")
    p.add_argument("--input", required=True, help="a .csv, .npz, an image or a folder of images")
    p.add_argument("--output", help="write the predictions as CSV here (default: stdout); for a segmentation "
                   "run, the folder its mask images go to")
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--batch-size", type=int, default=64, help="images decoded and predicted at a time")
    p.add_argument("--skip-bad", action="store_true",
                   help="leave out unreadable images (counted on stderr) instead of stopping at the first")
    p.set_defaults(func=predict)


def _loaded(args: argparse.Namespace):
    """The run to predict with, and how many top classes to write (None: every class's probability)."""
    from .. import api
    from ..errors import ConfigError

    if args.top is not None and args.top < 1:
        raise ConfigError(f"--top {args.top}: must be at least 1")
    if args.model:
        if args.run:
            raise ConfigError(f"give a run ({args.run}) or --model with --weights, not both")
        return api.pretrained_run(args.model, args.weights or "imagenet"), args.top or 5
    if not args.run:
        raise ConfigError("give a run (deepzoo predict RUN --input ...) or a pretrained model (--model resnet50 "
                          "--weights imagenet)")
    if args.weights:
        raise ConfigError("--weights goes with --model; a run predicts with its own trained weights")
    if _is_onnx(args.run):
        from ..export.onnx_run import onnx_run

        return onnx_run(args.run), args.top
    return api.load_run(args.run, args.runs_dir, with_data=False), args.top


def predict(args: argparse.Namespace) -> int:
    from .. import api
    from ..data.inputs import image_inputs, input_ids, read_inputs
    from ..errors import DataError

    loaded, top = _loaded(args)
    meta = loaded.recipe.data.meta
    if top is not None and meta.task != "multiclass":
        raise DataError(f"--top ranks the classes of a multiclass run; this one is {meta.task}")
    path = Path(args.input)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    images = image_inputs(path, meta, args.skip_bad)
    if meta.task == "segmentation":
        return _predict_masks(loaded, images, path, args)
    if images is None and loaded.dir is None and not _is_onnx(args.run):
        raise DataError(f"{args.input}: {args.model} with pretrained weights predicts images (an image file or "
                        "a folder of them)")
    out = _open_output(args.output) if args.output else sys.stdout
    try:
        writer = csv.writer(out)
        if images is not None:
            _predict_images(loaded, images, writer, max(1, args.batch_size), top)
        else:
            result = (loaded.recipe.predict(read_inputs(path, meta)) if _is_onnx(args.run)
                      else api.predict(args.run, args.input, args.runs_dir))
            table = prediction_table if top is None else functools.partial(top_classes_table, k=top)
            columns, rows = table(result, meta, input_ids(path, meta))
            writer.writerow(columns)
            writer.writerows(rows)
    finally:
        if args.output:
            out.close()
    return 0


def _is_onnx(run: str | None) -> bool:
    """Whether the positional argument names an exported ONNX file rather than a run."""
    return run is not None and run.lower().endswith(".onnx")


def _predict_images(loaded, images, writer, batch_size: int, top: int | None = None) -> None:
    """Rows ``id`` (the file), then the prediction columns (the ``top`` classes when given), written batch
    by batch; skipped files (with ``--skip-bad``) are counted on stderr."""
    from ..data.batching import make_loader

    recipe = loaded.recipe
    loader = make_loader(images, batch_size, recipe.device, num_workers=loaded.config.data.num_workers)
    table = prediction_table if top is None else functools.partial(top_classes_table, k=top)
    header = True
    for x, index in loader:
        if not len(index):
            continue
        columns, rows = table(recipe.predict(x), recipe.data.meta, [images.path(i) for i in index.tolist()])
        if header:
            writer.writerow(columns)
            header = False
        writer.writerows(rows)
    if images.skipped:
        print(f"skipped {len(images.skipped)} unreadable image(s): {', '.join(images.skipped)}", file=sys.stderr)


def _predict_masks(loaded, images, path: Path, args: argparse.Namespace) -> int:
    """A segmentation run: each image's predicted mask as a palette PNG (the class is the pixel value, the
    colours are the masks' palette) in the ``--output`` folder under the image's own name, and on stdout
    a CSV row per image: ``id``, the mask file and each class's share of the pixels. Masks are the run's
    view of the image — resized back to the image's size when the run read whole images, the centre crop
    when it read ``size=`` crops."""
    import torch

    from ..data.batching import make_loader
    from ..data.image_decode import read_header
    from ..data.segmentation import mask_image, mask_palette
    from ..errors import ConfigError, DataError

    if images is None:
        raise DataError(f"{path}: a segmentation run predicts images (an image file or a folder of them)")
    if not args.output:
        raise ConfigError("--output DIR: a segmentation run writes a mask image per input into a folder")
    recipe, meta = loaded.recipe, loaded.recipe.data.meta
    palette, folder = mask_palette(meta), Path(args.output)
    root = path if path.is_dir() else path.parent
    whole = images.geometry.size is None
    writer = csv.writer(sys.stdout)
    writer.writerow(["id", "mask", *(f"share({name})" for name in meta.class_names)])
    for x, index in make_loader(images, max(1, args.batch_size), recipe.device,
                                num_workers=loaded.config.data.num_workers):
        for mask, i in zip(recipe.predict(x)["mask"].cpu(), index.tolist()):
            source = Path(images.path(i))
            if whole:
                _, height, width = read_header(source)
                mask = torch.nn.functional.interpolate(mask[None, None].float(), (height, width))[0, 0].long()
            target = folder / source.relative_to(root).with_suffix(".png")
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                mask_image(mask, palette).save(target)
            except OSError as err:
                raise ConfigError(f"--output {folder}: {target} cannot be written ({err.strerror or err})") from None
            shares = torch.bincount(mask.reshape(-1), minlength=meta.num_classes)[:meta.num_classes] / mask.numel()
            writer.writerow([str(source), str(target), *shares.tolist()])
    if images.skipped:
        print(f"skipped {len(images.skipped)} unreadable image(s): {', '.join(images.skipped)}", file=sys.stderr)
    return 0


def _open_output(path: str):
    """The --output file, its folder created (as ``lr-find --out`` and ``stylize --out`` do); a path
    that cannot be written is a one-line error."""
    from ..errors import ConfigError

    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return open(path, "w", newline="")
    except OSError as err:
        raise ConfigError(f"--output {path}: cannot be written ({err.strerror or err})") from None


def prediction_table(result: dict, meta, ids: list | None = None) -> tuple[list[str], list[list]]:
    """Columns and rows for a CSV of predictions. The first column, ``id``, names each row: ``ids`` (an
    image's path, a CSV row's id column or line number), else its 0-based position as numpy counts items.
    Then the outputs: a binary run's probability of its positive class (the second of its sorted class
    names) as ``p(<class>)``, a multiclass or multi-label run's ``p(<class>)`` per class, ``label`` by
    class name, a regression run's values named after its target columns; other outputs as ``<key>`` or
    ``<key>_<i>``."""
    names, targets = meta.class_names, meta.extra.get("target_names") or []
    columns, parts = ["id"], []
    for key, tensor in result.items():
        values = tensor.detach().cpu()
        values = values[:, None] if values.ndim == 1 else values
        width = values.shape[1]
        if key == "probability" and meta.task == "binary" and len(names) == 2:
            labels = [f"p({names[1]})"]
        elif key == "probability" and width == len(names):
            labels = [f"p({n})" for n in names]
        elif key == "value" and width == len(targets):
            labels = list(targets)
        else:
            labels = [key] if width == 1 else [f"{key}_{i}" for i in range(width)]
        columns += labels
        parts.append(values.tolist())
    ids = list(range(len(parts[0]))) if ids is None else list(ids)
    rows = [[ids[i], *sum((part[i] for part in parts), [])] for i in range(len(ids))]
    if "label" in result and result["label"].ndim == 1 and names:
        i = columns.index("label")
        for row in rows:
            row[i] = names[int(row[i])]
    return columns, rows


def top_classes_table(result: dict, meta, ids: list | None, k: int) -> tuple[list[str], list[list]]:
    """Columns and rows of a multiclass run's ``k`` most probable classes: ``id`` (``ids``, else the row's
    0-based position), then ``top1``, ``p1`` … ``topK``, ``pK`` (class names, most probable first, and their
    probabilities)."""
    probabilities = result["probability"].detach().cpu().float()
    ids = range(len(probabilities)) if ids is None else ids
    k = min(k, probabilities.shape[1])
    best, order = probabilities.topk(k, dim=1)
    columns = ["id", *[name for i in range(1, k + 1) for name in (f"top{i}", f"p{i}")]]
    rows = [[ident, *[cell for c, p in zip(classes, values) for cell in (meta.class_names[c], p)]]
            for ident, classes, values in zip(ids, order.tolist(), best.tolist())]
    return columns, rows
