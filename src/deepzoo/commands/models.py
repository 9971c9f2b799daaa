"""``deepzoo models``: every registered model with its paper, parameters and multiply-adds;
``deepzoo models show NAME``: one model's layer table next to the paper's figures.

The listing reads the catalogue recorded in ``models/complexity.json`` (family, task, paper, default input
and the counts made on the ``meta`` device there; checked against the live registry by a test), so it
imports neither PyTorch nor a model family; ``show`` counts live. Multiply-adds are FLOPs / 2 as counted by
:class:`torch.utils.flop_counter.FlopCounterMode` (see :mod:`deepzoo.models._counting`).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import yaml

from ..errors import ConfigError


def add_parser(sub) -> None:
    p = sub.add_parser("models", help="list the model zoo (parameters, multiply-adds, papers) or show one",
                       description="List every registered model, or `models show NAME` for its layer table.")
    p.add_argument("--json", action="store_true", help="print the listing as JSON")
    p.set_defaults(func=run_list)
    actions = p.add_subparsers(dest="models_action", metavar="ACTION")
    show = actions.add_parser("show", help="layer table and totals of one model")
    show.add_argument("name", help="a registered model name")
    show.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                      help="constructor argument, value read as YAML (repeatable), e.g. --set width_mult=0.5")
    show.add_argument("--input-size", type=int, default=None, metavar="N",
                      help="spatial size of the sample input (default: the model's paper input)")
    show.set_defaults(func=run_show)


def _human(n: float | None) -> str:
    """1.81 G, 568.74 M, 61.71 K; "-" for unknown."""
    if n is None:
        return "-"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {suffix}"
    return f"{n:g}"


def run_list(args: argparse.Namespace) -> int:
    """The listing, from the recorded catalogue (no model family is imported, no model built); without
    the file (a development tree before it is generated) the registry is read and counted live."""
    from ..models._catalogue import recorded_catalogue

    catalogue = recorded_catalogue()
    if not catalogue:
        from ..models._counting import live_catalogue

        catalogue = live_catalogue()
    rows = [{"name": name, **{k: row[k] for k in ("family", "task", "input_size", "params", "macs", "paper")}}
            for name, row in sorted(catalogue.items())]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = [("model", "family", "input", "parameters", "mult-adds", "paper")]
    for r in rows:
        shape = "×".join(map(str, r["input_size"])) if r["input_size"] else "-"
        params = f"{r['params']:,}" if r["params"] is not None else "-"
        table.append((r["name"], r["family"], shape, params, _human(r["macs"]), r["paper"]))
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    for row in table:
        left = [cell.ljust(w) for cell, w in zip(row[:3], widths[:3], strict=True)]
        right = [cell.rjust(w) for cell, w in zip(row[3:5], widths[3:], strict=True)]
        print("  ".join([*left, *right, row[5]]))
    print("mult-adds: multiply-adds at batch 1 and the listed input (FLOPs / 2).")
    return 0


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["width_mult=0.5", "variant=paper"]`` → ``{"width_mult": 0.5, "variant": "paper"}`` (YAML values)."""
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
        try:
            overrides[key] = yaml.safe_load(value)
        except yaml.YAMLError as err:
            raise ConfigError(f"--set {item!r}: value is not valid YAML ({err.__class__.__name__})") from None
    return overrides


def _input_shape(meta: dict, overrides: dict[str, Any], size: int | None) -> tuple[int, ...]:
    """The sample input: the paper's ``input_size`` with ``in_chans`` and the size applied (``--input-size``,
    else an ``input_size``/``image_size`` constructor override)."""
    size = size or overrides.get("image_size") or overrides.get("input_size")
    shape = list(meta.get("input_size") or ())
    if not shape:
        if size is None:
            raise ConfigError("this model has no default input size; pass --input-size N")
        shape = [3, size, size]
    if "in_chans" in overrides:
        shape[0] = int(overrides["in_chans"])
    if size is not None:
        shape[1:] = [int(size)] * (len(shape) - 1)
    return tuple(shape)


def run_show(args: argparse.Namespace) -> int:
    from ..models import model_entry
    from ..models._counting import build_on_meta, count_macs, count_parameters
    from ..models._summary import format_table, layer_table

    meta = model_entry(args.name).meta
    overrides = parse_overrides(args.overrides)
    shape = _input_shape(meta, overrides, args.input_size)
    model = build_on_meta(args.name, shape, **overrides)
    print(f"{args.name} — {meta.get('paper', '')}")
    print(format_table(layer_table(model, shape)))
    params, macs = count_parameters(model), count_macs(model, shape)
    ref_params, ref_macs = meta.get("params"), meta.get("macs")
    print(f"parameters:  {params:>15,}" + (f"   reference {ref_params:,}" if ref_params else ""))
    print(f"mult-adds:   {macs:>15,}   = {_human(macs)} at {'×'.join(map(str, shape))}, batch 1 (FLOPs / 2)"
          + (f"   reference {_human(ref_macs)}" if ref_macs else ""))
    if meta.get("reference"):
        print(f"references:  {meta['reference']}")
    return 0
