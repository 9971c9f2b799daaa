"""``deepzoo sample RUN --n 64 [--label 7 ...] [--seed S] [--out DIR]``: draw from a trained generative model.

Works for any run whose recipe has ``sample(n, generator) -> Tensor``: the autoencoder recipe with a
prior (vae, aae) and the GAN recipes. The samples come back in the data's units (``meta.value_range``,
e.g. [0, 1] or [−1, 1]); the command writes them unchanged as ``samples_seed<S>.safetensors`` (key
``samples``) and as a PNG grid mapped to [0, 1] for display. The same seed gives the same samples.

A conditional GAN (``cgan``, ``acgan``) draws ``--n`` samples of each class named by ``--label`` (class
names or indices, several allowed; every class without it): the grid has one row per class, the file
also holds their ``labels``, and its name ends in ``_label<indices>``. An unknown label is one line
with the closest class names.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="draw samples from a trained generative model (vae, aae, GAN; "
                       "a class with --label for cgan, acgan)")
    p.add_argument("run", help="run folder or name under runs/")
    p.add_argument("--n", type=int, default=64, help="number of samples (per class for a conditional GAN; "
                   "default 64)")
    p.add_argument("--label", nargs="+", metavar="CLASS",
                   help="conditional GANs: the class(es) to draw, by name or index (default: every class)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    p.add_argument("--out", help="output folder (default RUN/samples/)")
    p.add_argument("--runs-dir", default="runs")
    p.set_defaults(func=sample)


def sample(args: argparse.Namespace) -> int:
    import torch
    from safetensors.torch import save_file

    from .. import api
    from ..errors import ConfigError
    from ..plots.autoencoder import image_grid_figure
    from ..plots.gan import class_rows_figure

    if args.n < 1:
        raise ConfigError(f"--n {args.n}: the number of samples must be at least 1")
    loaded = api.load_run(args.run, args.runs_dir, with_data=False)
    recipe, model = loaded.recipe, loaded.config.model.name
    draw = getattr(recipe, "sample", None)
    if draw is None:
        raise ConfigError(f"{args.run}: a {loaded.config.task} run cannot sample; "
                          "train a generative model (vae, aae or a GAN)")
    conditional = getattr(recipe, "conditional", False)
    if args.label and not conditional:
        raise ConfigError(f"--label: {args.run} is a {model} run, which does not generate a chosen class; "
                          "train a conditional GAN (cgan, acgan)")
    generator = torch.Generator(device=recipe.device)
    generator.manual_seed(args.seed)
    extra = {"labels": args.label} if conditional else {}
    with torch.no_grad():
        samples = draw(args.n, generator, **extra).detach().float().cpu().contiguous()
    out = Path(args.out) if args.out else loaded.dir / "samples"
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"samples_seed{args.seed}"
    tensors = {"samples": samples}
    metadata = {"run": str(loaded.dir), "model": model, "seed": str(args.seed)}
    if conditional:
        labels = recipe.sample_labels(args.n, args.label)
        tensors["labels"] = labels
        if args.label:
            stem = stem.with_name(f"{stem.name}_label{'-'.join(map(str, dict.fromkeys(labels.tolist())))}")
    save_file(tensors, f"{stem}.safetensors", metadata=metadata)
    title = f"{model}: {args.n} samples{' per class' if conditional else ''}, seed {args.seed}"
    if conditional:
        class_rows_figure(samples, labels, recipe.class_names, recipe.data.meta, Path(f"{stem}.png"), title)
    else:
        image_grid_figure(samples, recipe.data.meta, f"{stem}.png", title)
    print(f"{len(samples)} samples of shape {tuple(samples.shape[1:])}: {stem}.png, {stem}.safetensors")
    return 0
