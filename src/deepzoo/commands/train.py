"""``deepzoo train``: model + data + task → a run folder."""

from __future__ import annotations

import argparse


def add_train_options(parser: argparse.ArgumentParser) -> None:
    """The options shared by ``train`` and the commands that run training (``tune``)."""
    parser.add_argument("--model", help="registered model name (see `deepzoo models`)")
    parser.add_argument("--data", help="dataset name or FORMAT:PATH spec (see `deepzoo datasets`)")
    parser.add_argument("--task", help="what the run does (binary, multiclass, regression, ...); inferred if omitted")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--config", help="YAML config file; --set and the options above override it")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="dotted config override, e.g. optim.lr=3e-4 or model.width_mult=0.5 (repeatable)")
    parser.add_argument("--compile", action="store_true", default=None, help="torch.compile the model")
    parser.add_argument("--weights", help="weights to start from (transfer learning): imagenet (torchvision's "
                        "default weights of --model), torchvision:ENUM, or a local .pth/.safetensors file")
    parser.add_argument("--freeze", choices=["backbone"], help="train only the head")
    parser.add_argument("--backbone-lr-mult", type=float, help="learning-rate factor of the backbone when fine-tuning")
    parser.add_argument("--deterministic", action="store_true", default=None, help="deterministic kernels")
    parser.add_argument("--runs-dir", help="where run folders go (default runs/)")


def transfer_overrides(args: argparse.Namespace) -> list[str]:
    """The --weights / --freeze / --backbone-lr-mult / --deterministic flags as config overrides."""
    out = []
    if args.weights:
        out.append(f"model.weights={args.weights}")
    if args.freeze:
        out.append(f"model.freeze={args.freeze}")
    if args.backbone_lr_mult is not None:
        out.append(f"model.backbone_lr_mult={args.backbone_lr_mult}")
    if args.deterministic:
        out.append("train.deterministic=true")
    return out + list(args.overrides)


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model on a dataset")
    add_train_options(p)
    p.add_argument("--name", help="run name (folder under runs/); default MODEL-DATA, never overwritten")
    p.add_argument("--resume", action="store_true", help="continue the run --name from its last checkpoint")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run of the same --name")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import api
    from ._show import print_metrics

    result = api.train(model=args.model, data=args.data, task=args.task, epochs=args.epochs, seed=args.seed,
                       name=args.name, config=args.config, overrides=transfer_overrides(args),
                       resume=args.resume, overwrite=args.overwrite, compile=args.compile,
                       runs_dir=args.runs_dir)
    if result.dir is not None:
        print_metrics(result.metrics, f"{result.config.model.name} on {result.config.data.spec} "
                                      f"({result.config.task}), best epoch {result.summary['best_epoch']}")
        print(f"run folder: {result.dir}")
    return 0
