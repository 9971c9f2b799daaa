"""``deepzoo attribute RUN --input FILE_OR_DIR [--method M] [--target CLASS] [--layer NAME]``: attribution
maps of a trained classifier (Grad-CAM, saliency, Integrated Gradients, ViT attention rollout, a layer's
activations, the first layer's filters), one PNG and one .npy per image, a grid for a folder, and a CSV
of the classes (and Integrated Gradients' completeness check) on stdout. See docs/inspect.md.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import sys
from pathlib import Path

METHOD_NAMES = ("gradcam", "saliency", "integrated-gradients", "rollout", "filters", "activations")


def add_parser(sub) -> None:
    p = sub.add_parser("attribute", help="attribution maps of a trained classifier for images (Grad-CAM, ...)")
    p.add_argument("run", help="run folder or name under runs/")
    p.add_argument("--input", help="an image or a folder of images (not needed by --method filters)")
    p.add_argument("--method", default="gradcam", help=f"{' | '.join(METHOD_NAMES)} (default gradcam)")
    p.add_argument("--target", help="the class to explain, by name or index (default: the predicted class)")
    p.add_argument("--layer", help="a module name (as in model_summary.txt) for gradcam and activations "
                                   "(default: the last convolutional stage)")
    p.add_argument("--steps", type=int, default=50, help="integrated-gradients: points of the path integral")
    p.add_argument("--baseline", default="black", help="integrated-gradients: black (the black image, "
                                                      "normalised as the run's inputs) or zero (zeros in the "
                                                      "normalised space: the mean image)")
    p.add_argument("--output", help="folder for the maps (default: RUN/attributions)")
    p.add_argument("--batch-size", type=int, default=16, help="images explained at a time")
    p.add_argument("--skip-bad", action="store_true", help="leave out unreadable images instead of stopping")
    p.add_argument("--runs-dir", default="runs")
    p.set_defaults(func=attribute)


def attribute(args: argparse.Namespace) -> int:
    from .. import api
    from ..attribution import METHODS, Settings, attribute_images
    from ..errors import ConfigError
    from ..run import RunLock

    METHODS.get(args.method)
    if args.steps < 1:
        raise ConfigError(f"--steps {args.steps}: must be at least 1")
    if args.input is None and args.method != "filters":
        raise ConfigError(f"--input FILE_OR_DIR: {args.method} explains images (only filters needs none)")
    run = api.load_run(args.run, args.runs_dir, with_data=False)
    folder = Path(args.output) if args.output else run.dir / "attributions"
    inside = folder.resolve().is_relative_to(run.dir.resolve())
    settings = Settings(args.method, args.target, args.layer, args.steps, args.baseline, args.batch_size)
    with RunLock(run.dir).acquire() if inside else contextlib.nullcontext():
        rows = attribute_images(run, args.input, settings, folder, args.skip_bad)
    if rows:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return 0
