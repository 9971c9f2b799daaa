"""The ``deepzoo`` command.

Each sub-command lives in its own module of :mod:`deepzoo.commands` and defines
``add_parser(subparsers)``, which adds its parser and sets ``func(args) -> int``. User errors
(:class:`~deepzoo.errors.DeepzooError`) print one line on stderr and exit with status 2; anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from . import commands
from .errors import DeepzooError, Interrupted


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command of :mod:`deepzoo.commands`."""
    parser = argparse.ArgumentParser(
        prog="deepzoo", description="Train, evaluate and visualise the model families of a deep-learning course."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{commands.__name__}.{info.name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except DeepzooError as err:
        print(f"deepzoo: error: {err}", file=sys.stderr)
        return 2
    except Interrupted as stop:
        print(f"deepzoo: {stop}", file=sys.stderr)
        return stop.status
    except KeyboardInterrupt:
        print("deepzoo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`deepzoo predict ... | head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush stays quiet
        return 141


if __name__ == "__main__":
    sys.exit(main())
