"""``deepzoo sample RUN --n 64 [--label 7 ...] [--seed S] [--out DIR]``: draw from a trained generative model;
``deepzoo sample RUN --prompt "..." [--max-new-tokens N --temperature T --top-k K --top-p P --seed S]``: text
from a language model (a trained ``lm`` run, or ``--model gpt2 --weights hf:gpt2`` without a run).

Works for any run whose recipe has ``sample(n, generator) -> Tensor``: the autoencoder recipe with a
prior (vae, aae) and the GAN recipes. The samples come back in the data's units (``meta.value_range``,
e.g. [0, 1] or [−1, 1]); the command writes them unchanged as ``samples_seed<S>.safetensors`` (key
``samples``) and as a PNG grid mapped to [0, 1] for display. The same seed gives the same samples.

A conditional GAN (``cgan``, ``acgan``) draws ``--n`` samples of each class named by ``--label`` (class
names or indices, several allowed; every class without it): the grid has one row per class, the file
also holds their ``labels``, and its name ends in ``_label<indices>``. An unknown label is one line
with the closest class names.

A language model continues ``--prompt`` (encoded with the run's tokenizer, or GPT-2's for ``hf:`` weights)
by ``--max-new-tokens`` tokens through :func:`deepzoo.text.sampling.generate` — key/value cache,
temperature (0 = greedy), top-k, top-p — and prints ``--n`` continuations (default 1); the same seed gives
the same text. An empty prompt starts from the end-of-text token, as GPT-2's unconditional samples do; a
prompt longer than the model's block is cropped to its last ``block_size`` tokens, and the command says so.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="draw samples from a trained generative model (vae, aae, GAN; "
                       "a class with --label for cgan, acgan)")
    p.add_argument("run", nargs="?", help="run folder or name under runs/")
    p.add_argument("--n", type=int, help="number of samples (per class for a conditional GAN; default 64, "
                   "1 for text)")
    p.add_argument("--label", nargs="+", metavar="CLASS",
                   help="conditional GANs: the class(es) to draw, by name or index (default: every class)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    p.add_argument("--out", help="output folder (default RUN/samples/)")
    p.add_argument("--runs-dir", default="runs")
    text = p.add_argument_group("language models (an lm run, or --model with --weights)")
    text.add_argument("--prompt", help="the text to continue (empty: start from the end-of-text token)")
    text.add_argument("--max-new-tokens", type=int, default=100, help="tokens to generate (default 100)")
    text.add_argument("--temperature", type=float, default=1.0, help="softmax temperature; 0 = greedy (default 1)")
    text.add_argument("--top-k", type=int, help="keep only the k most likely tokens")
    text.add_argument("--top-p", type=float, help="nucleus sampling: the most likely tokens up to this mass")
    text.add_argument("--no-cache", action="store_true", help="recompute the whole context every step "
                      "(the same tokens, slower)")
    text.add_argument("--model", help="instead of a run: a gpt model with --weights hf:gpt2 (hf:REPO)")
    text.add_argument("--weights", help="the hub weights of --model, e.g. hf:gpt2")
    p.set_defaults(func=sample)


def sample_text(model, tokenizer, args: argparse.Namespace, device) -> int:
    """Print ``--n`` continuations of ``--prompt`` by ``model`` (a GPT on ``device``)."""
    import sys

    import torch

    from ..errors import ConfigError
    from ..text.sampling import generate

    if args.label or args.out:
        raise ConfigError(f"{'--label' if args.label else '--out'} is for image samples; a language model's text "
                          "is printed (redirect it: > FILE)")
    ids = tokenizer.encode(args.prompt or "") or [tokenizer.eot_id]
    if len(ids) > model.block_size:
        print(f"prompt: {len(ids)} tokens, cropped to its last {model.block_size} (the model's block size)",
              file=sys.stderr)
        ids = ids[-model.block_size:]
    generator = torch.Generator(device=device).manual_seed(args.seed)
    prompt = torch.tensor([ids], device=device)
    for i in range(args.n or 1):
        out = generate(model, prompt, args.max_new_tokens, args.temperature, args.top_k, args.top_p, generator,
                       use_cache=not args.no_cache)
        if i:
            print("-" * 40)
        print(tokenizer.decode(out[0].tolist()))
    return 0


def sample_pretrained(args: argparse.Namespace) -> int:
    """``--model M --weights hf:REPO``: sample text from published weights, no run."""
    import torch

    from .. import api
    from ..errors import ConfigError
    from ..models.gpt_weights import hub_tokenizer, is_hub_weights

    if args.run:
        raise ConfigError(f"give a run ({args.run}) or --model with --weights, not both")
    if not is_hub_weights(args.weights):
        raise ConfigError(f"--model {args.model} needs --weights hf:REPO (e.g. hf:gpt2): an untrained model "
                          "samples noise; to sample a trained one, give its run")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = api.create_model(args.model, weights=args.weights).to(device)
    return sample_text(model, hub_tokenizer(args.weights), args, device)


def sample(args: argparse.Namespace) -> int:
    import torch
    from safetensors.torch import save_file

    from .. import api
    from ..errors import ConfigError
    from ..plots.autoencoder import image_grid_figure
    from ..plots.gan import class_rows_figure
    from ..text.sampling import check_sampling

    if args.n is not None and args.n < 1:
        raise ConfigError(f"--n {args.n}: the number of samples must be at least 1")
    check_sampling(args.max_new_tokens, args.temperature, args.top_k, args.top_p)  # before any file is read
    if args.model or args.weights:
        return sample_pretrained(args)
    if not args.run:
        raise ConfigError("give a run (deepzoo sample RUN) or a pretrained language model (--model gpt2 "
                          "--weights hf:gpt2)")
    loaded = api.load_run(args.run, args.runs_dir, with_data=False)
    recipe, model = loaded.recipe, loaded.config.model.name
    tokenizer = getattr(recipe, "tokenizer", None)
    if tokenizer is not None:
        return sample_text(recipe.model, tokenizer, args, recipe.device)
    if args.prompt is not None:
        raise ConfigError(f"--prompt: {args.run} is a {loaded.config.task} run; text comes from a language "
                          "model (an lm run, or --model gpt2 --weights hf:gpt2)")
    args.n = args.n or 64
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
