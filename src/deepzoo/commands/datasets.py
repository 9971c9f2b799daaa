"""``deepzoo datasets``: the embedded datasets and the on-disk formats."""

from __future__ import annotations

import argparse
import json


def add_parser(sub) -> None:
    p = sub.add_parser("datasets", help="list embedded datasets and file formats")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data import DATASETS, FORMATS, list_datasets

    list_datasets()
    rows = [{"name": e.name, "kind": e.meta.get("kind", ""), "summary": e.meta.get("summary", "")} for e in DATASETS]
    formats = [{"format": f"{e.name}:PATH", "summary": e.meta.get("summary", "")} for e in FORMATS]
    if args.json:
        print(json.dumps({"datasets": rows, "formats": formats}, indent=2))
        return 0
    print("embedded datasets:")
    for r in rows:
        print(f"  {r['name']:<16} {r['kind']:<7} {r['summary']}")
    print("file formats (--data FORMAT:PATH[?option=value&...]):")
    for f in formats:
        print(f"  {f['format']:<18} {f['summary']}")
    return 0
