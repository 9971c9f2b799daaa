"""``deepzoo export RUN --format onnx|pt2 [--output FILE] [--part generator|encoder|decoder]``: a finished
run's network as an ONNX file or a ``torch.export`` program, verified against PyTorch on real inputs."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="a trained run's network as ONNX or torch.export (.pt2), verified on real data")
    p.add_argument("run", help="run folder or name under runs/")
    p.add_argument("--format", default="onnx", help="onnx (ONNX Runtime and other runtimes) or pt2 (torch.export); "
                                                    "default onnx")
    p.add_argument("--output", help="the file to write (default: RUN/<part>.onnx or .pt2)")
    p.add_argument("--part", help="what to export: an autoencoder's encoder or decoder; a GAN's generator "
                                  "(its default)")
    p.add_argument("--items", type=int, default=8, help="real inputs the verification compares (default 8)")
    p.add_argument("--runs-dir", default="runs")
    p.set_defaults(func=export)


def export(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..export import export_run

    if args.items < 3:
        raise ConfigError(f"--items {args.items}: the verification needs at least 3 (more than the 2 the program "
                          "is captured with, to check the dynamic batch)")
    result = export_run(args.run, args.format, args.output, args.part, args.runs_dir, args.items)
    size = result.path.stat().st_size / 1e6
    print(f"wrote {result.path} ({result.format}, {result.part}, {size:.2f} MB); verified: "
          f"{result.verification.describe()}")
    return 0
