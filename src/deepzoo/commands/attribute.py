"""``deepzoo attribute RUN --input FILE_OR_DIR [--method M] [--target CLASS] [--layer NAME]``: attribution
maps of a trained classifier (Grad-CAM, saliency, Integrated Gradients, ViT attention rollout, a layer's
activations, the first layer's filters), one PNG and one .npy per image, a grid for a folder, and a CSV
of the classes (and Integrated Gradients' completeness check) on stdout; ``--model M --weights imagenet
--output DIR`` explains a zoo model with torchvision's weights instead of a run. See docs/inspect.md.
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
    p.add_argument("run", nargs="?", help="run folder or name under runs/")
    p.add_argument("--model", help="instead of a run: a zoo model with --weights (imagenet or torchvision:ENUM); "
                                   "needs --output")
    p.add_argument("--weights", help="the named weights of --model (default imagenet)")
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
    from ..attribution import METHODS, Settings, attribute_images
    from ..errors import ConfigError
    from ..run import RunLock

    METHODS.get(args.method)
    if args.steps < 1:
        raise ConfigError(f"--steps {args.steps}: must be at least 1")
    if args.input is None and args.method != "filters":
        raise ConfigError(f"--input FILE_OR_DIR: {args.method} explains images (only filters needs none)")
    run = _loaded(args)
    folder = Path(args.output) if args.output else run.dir / "attributions"
    inside = run.dir is not None and folder.resolve().is_relative_to(run.dir.resolve())
    settings = Settings(args.method, args.target, args.layer, args.steps, args.baseline, args.batch_size)
    with RunLock(run.dir).acquire() if inside else contextlib.nullcontext():
        rows = attribute_images(run, args.input, settings, folder, args.skip_bad)
    if rows:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return 0


def _loaded(args: argparse.Namespace):
    """The trained run to explain, or a zoo model with named pretrained weights (no run folder, so the maps
    need ``--output``)."""
    from .. import api
    from ..errors import ConfigError

    if args.model:
        if args.run:
            raise ConfigError(f"give a run ({args.run}) or --model with --weights, not both")
        if not args.output:
            raise ConfigError("--output DIR: a pretrained model has no run folder to write its maps into")
        return api.pretrained_run(args.model, args.weights or "imagenet")
    if not args.run:
        raise ConfigError("give a run (deepzoo attribute RUN --input ...) or a pretrained model (--model resnet50 "
                          "--weights imagenet --output DIR)")
    if args.weights:
        raise ConfigError("--weights goes with --model; a run is explained with its own trained weights")
    return api.load_run(args.run, args.runs_dir, with_data=False)
