"""``deepzoo sample RUN --n 64 [--seed S] [--out DIR]``: draw from a trained generative model.

Works for any run whose recipe has ``sample(n, generator) -> Tensor``: the autoencoder recipe with a
prior (vae, aae) and the GAN recipe. The samples come back in the data's units (``meta.value_range``,
e.g. [0, 1] or [−1, 1]); the command writes them unchanged as ``samples_seed<S>.safetensors`` (key
``samples``) and as a PNG grid mapped to [0, 1] for display. The same seed gives the same samples.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="draw samples from a trained generative model (vae, aae, GAN)")
    p.add_argument("run", help="run folder or name under runs/")
    p.add_argument("--n", type=int, default=64, help="number of samples (default 64)")
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

    if args.n < 1:
        raise ConfigError(f"--n {args.n}: the number of samples must be at least 1")
    loaded = api.load_run(args.run, args.runs_dir, with_data=False)
    recipe = loaded.recipe
    draw = getattr(recipe, "sample", None)
    if draw is None:
        raise ConfigError(f"{args.run}: a {loaded.config.task} run cannot sample; "
                          "train a generative model (vae, aae or a GAN)")
    generator = torch.Generator(device=recipe.device)
    generator.manual_seed(args.seed)
    with torch.no_grad():
        samples = draw(args.n, generator).detach().float().cpu().contiguous()
    out = Path(args.out) if args.out else loaded.dir / "samples"
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"samples_seed{args.seed}"
    save_file({"samples": samples}, f"{stem}.safetensors",
              metadata={"run": str(loaded.dir), "model": loaded.config.model.name, "seed": str(args.seed)})
    image_grid_figure(samples, recipe.data.meta, f"{stem}.png",
                      f"{loaded.config.model.name}: {args.n} samples, seed {args.seed}")
    print(f"{args.n} samples of shape {tuple(samples.shape[1:])}: {stem}.png, {stem}.safetensors")
    return 0
