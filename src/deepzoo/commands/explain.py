"""``deepzoo explain QUERY...``: search the model cards and docs (or your own corpus) with BM25.

Prints the best matches with their scores and sources, an extractive summary of each, the command
that trains the model when the match is a model card, and "did you mean ..." when a misspelt query word
was corrected. ``--json`` prints ``{"query", "corrected", "hits": [{"title", "source", "score",
"summary"}, ...]}`` instead. See docs/explain.md.
"""

from __future__ import annotations

import argparse
import json
import textwrap

from ..text.corpus import load_corpus
from ..text.edit_distance import format_alignment
from ..text.search import SearchEngine, SearchResult, builtin_engine


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def add_parser(subparsers) -> None:
    """Register ``explain`` with the CLI."""
    parser = subparsers.add_parser(
        "explain",
        help="search the model cards and docs (BM25, autocorrect, summaries)",
        description="Search the model cards and docs pages, or a corpus of your own, and summarise the hits.",
    )
    parser.add_argument("query", nargs="+", help="words to search for")
    parser.add_argument("--top", type=_positive_int, default=5, metavar="K", help="hits to show (default 5)")
    parser.add_argument(
        "--corpus",
        metavar="PATH",
        help="a CSV file with columns source,full_text,title or a folder of .md/.txt",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--no-autocorrect", action="store_true", help="search the query exactly as typed")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Search and print; exit status 0 (also when nothing matches)."""
    engine = SearchEngine(load_corpus(args.corpus)) if args.corpus else builtin_engine()
    result = engine.search(" ".join(args.query), top=args.top, autocorrect=not args.no_autocorrect)
    print(json.dumps(result.to_json(), indent=2, ensure_ascii=False) if args.json else render(result))
    return 0


def render(result: SearchResult) -> str:
    """The human-readable report of a search."""
    lines = []
    if result.corrections:
        lines.append(f'did you mean "{result.corrected}"?')
        for correction in result.corrections:
            lines.append(textwrap.indent(format_alignment(correction.alignment()), "    "))
    if not result.hits:
        lines.append(f'no document matches "{result.corrected}"')
    for rank, hit in enumerate(result.hits, 1):
        doc = hit.document
        lines.append(f"{rank}. {doc.title}  (score {hit.score:.3f}, {doc.source})")
        lines.append(
            textwrap.fill(" ".join(hit.summary), width=100, initial_indent="   ", subsequent_indent="   ")
        )
        if doc.command:
            lines.append(f"   train: {doc.command}")
    return "\n".join(lines)
