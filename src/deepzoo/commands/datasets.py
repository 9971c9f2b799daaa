"""``deepzoo datasets``: the embedded datasets, the named datasets (and which of them are cached in
``$DEEPZOO_DATA``) and the on-disk formats."""

from __future__ import annotations

import argparse
import json


def add_parser(sub) -> None:
    p = sub.add_parser("datasets", help="list embedded and named datasets (which are cached) and file formats")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data import DATASETS, FORMATS, list_datasets
    from ..downloads import data_home

    list_datasets()
    rows, named = [], []
    for e in DATASETS:
        row = {"name": e.name, "kind": e.meta.get("kind", ""), "summary": e.meta.get("summary", "")}
        source = e.meta.get("source")
        if source is None:
            rows.append(row)
        else:
            named.append({**row, "cached": source.cached(), "path": str(source.path), "folder": source.folder})
    formats = [{"format": f"{e.name}:PATH", "summary": e.meta.get("summary", "")} for e in FORMATS]
    if args.json:
        print(json.dumps({"datasets": rows, "named": named, "data_home": str(data_home()), "formats": formats},
                         indent=2))
        return 0
    print("embedded datasets:")
    for r in rows:
        print(f"  {r['name']:<16} {r['kind']:<7} {r['summary']}")
    print(f"named datasets (fetched on first use into {data_home()}; set DEEPZOO_DATA to move it):")
    for r in named:
        print(f"  {r['name']:<16} {r['kind']:<7} {'cached' if r['cached'] else 'missing':<8} "
              f"{r['folder'] + '/':<20} {r['summary']}")
    print("file formats (--data FORMAT:PATH[?option=value&...]):")
    for f in formats:
        print(f"  {f['format']:<18} {f['summary']}")
    return 0
