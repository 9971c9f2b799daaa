"""``deepzoo explain QUERY...``: search the model cards and docs (or your own corpus) with BM25.

Prints the best matches with their scores and sources, an extractive summary of each, the command
that trains the model when the match is a model card, and "did you mean ..." when a misspelt query word
was corrected. ``--json`` prints ``{"query", "corrected", "hits": [{"title", "source", "score",
"summary"}, ...]}`` instead. ``--summarize FILE`` summarises one text file instead of searching
(``--method luhn|textrank|lead``), and ``--reference FILE`` scores that summary with ROUGE-1/2/L.
``--generate QUESTION`` answers from the best hits with a language model or a chat server
(:mod:`._generate`).
See docs/explain.md.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path

from ..errors import ConfigError
from ..text.corpus import load_corpus, read_text
from ..text.edit_distance import format_alignment
from ..text.search import SearchEngine, SearchResult, builtin_engine
from ..text.summarize import SUMMARIZERS, summarize_with
from ..tune.tables import format_table
from ._generate import add_generate_options, generate_answer


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
    parser.add_argument("query", nargs="*", help="words to search for")
    parser.add_argument("--top", type=_positive_int, default=5, metavar="K", help="hits to show (default 5)")
    parser.add_argument(
        "--corpus",
        metavar="PATH",
        help="a CSV file with columns source,full_text,title or a folder of .md/.txt",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--no-autocorrect", action="store_true", help="search the query exactly as typed")
    parser.add_argument(
        "--method",
        choices=SUMMARIZERS.names(),
        default="luhn",
        help="how summaries pick sentences: luhn (word frequency), textrank (graph centrality), lead (first ones)",
    )
    parser.add_argument(
        "--sentences", type=_positive_int, default=3, metavar="N", help="sentences per summary (default 3)"
    )
    parser.add_argument("--summarize", metavar="FILE", help="summarise this text file instead of searching")
    parser.add_argument(
        "--reference", metavar="FILE", help="with --summarize: a reference summary to score with ROUGE-1/2/L"
    )
    add_generate_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Search (or summarise a file) and print; exit status 0 (also when nothing matches)."""
    if args.summarize:
        return summarize_file(args)
    if args.reference:
        raise ConfigError("--reference scores a summary: use it with --summarize FILE")
    if not args.query and args.generate is None:
        raise ConfigError("give words to search for, or --summarize FILE")
    engine = SearchEngine(load_corpus(args.corpus)) if args.corpus else builtin_engine()
    if args.generate is not None:
        return generate_answer(args, engine, render)
    result = engine.search(
        " ".join(args.query),
        top=args.top,
        autocorrect=not args.no_autocorrect,
        summary_sentences=args.sentences,
        summary_method=args.method,
    )
    print(json.dumps(result.to_json(), indent=2, ensure_ascii=False) if args.json else render(result))
    return 0


def summarize_file(args: argparse.Namespace) -> int:
    """``--summarize FILE``: the summary's sentences, then the ROUGE table when ``--reference`` is given.

    ``--json`` prints ``{"file", "method", "summary": [sentences], "rouge": {"rouge1": {"precision",
    "recall", "f1"}, ...}}`` (``rouge`` only with a reference).
    """
    from ..text.rouge import ROUGE_TYPES, rouge

    if args.query:
        raise ConfigError("--summarize FILE takes no query words")
    summary = summarize_with(args.method, read_text(Path(args.summarize)), args.sentences)
    scores = None
    if args.reference:
        reference = read_text(Path(args.reference))
        scores = rouge(reference, " ".join(summary), where=args.reference)
    if args.json:
        result = {"file": args.summarize, "method": args.method, "summary": summary}
        if scores is not None:
            result["rouge"] = {name: vars(score) for name, score in scores.items()}
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    lines = [textwrap.fill(s, width=100, initial_indent="- ", subsequent_indent="  ") for s in summary]
    if scores is not None:
        rows = [[name, scores[name].precision, scores[name].recall, scores[name].f1] for name in ROUGE_TYPES]
        lines += ["", format_table(["ROUGE", "precision", "recall", "F1"], rows)]
    print("\n".join(lines))
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
