"""How good are `deepzoo explain`'s answers? Ranking and summaries, before and after issue 22 §6.

    python benchmarks/explain_quality.py            # both corpora, the tables in docs/explain.md

Two corpora: the torch.nn docstrings (159 classes, built from the installed PyTorch by
:func:`deepzoo.text.torch_docs.torch_nn_corpus`) and deepzoo's own (the model cards and docs pages).

**Ranking.** The questions of benchmarks/explain_questions.yaml, each with the documents that answer
it, are ranked as typed (they are spelled right, and autocorrect's vocabulary, built from the indexed
fields, would differ between the rankings compared) by

- *before*: BM25 with the title as a second field of weight 2 sharing one document length (simple
  BM25F), the ranking of `deepzoo explain` until issue 22;
- then, adding one change at a time: the body indexed without docstring sections, shape lines and
  markup (:func:`deepzoo.text.markup.without_markup`); the parts of CamelCase titles as extra title
  terms; BM25F (title, headings and body, each weighted and length-normalised on its own): the ranking
  now, also shown with other title weights to see how much the chosen one matters.

Reported: mean reciprocal rank of the first right document (0 when none scores), hit@1 and hit@5.

**Summaries.** Every document's reference is its own first paragraph of prose; the summary (3
sentences) is drawn from the whole document, as `deepzoo explain` does: *before* is Luhn on the Markdown
plain text, *after* is Luhn, TextRank or the lead sentences on :func:`deepzoo.text.markup.prose`
(docstring sections, directives, shape/signature and doctest lines dropped). The lead baseline contains
the reference by construction, so it is an upper reference here rather than a competitor. Reported: mean
ROUGE-1/2/L F1 and the share of summaries quoting a markup or shape line (":math:", "Input:", "Args:",
">>>", ".. "). Prints Markdown tables; writes nothing.
"""

from __future__ import annotations

import argparse
import platform
import re
import time
from pathlib import Path

import numpy as np
import yaml

from deepzoo.text.bm25 import BM25Index
from deepzoo.text.corpus import Document, builtin_corpus, plain_text, without_code_blocks
from deepzoo.text.markup import prose, without_markup
from deepzoo.text.rouge import ROUGE_TYPES, rouge
from deepzoo.text.search import FIELD_B, FIELD_WEIGHTS, SearchEngine
from deepzoo.text.summarize import SUMMARIZERS, summarize
from deepzoo.text.tokenize import analyze, analyze_title
from deepzoo.text.torch_docs import torch_nn_corpus

QUESTIONS = Path(__file__).with_name("explain_questions.yaml")
SENTENCES = 3
# A summary sentence that is markup or a shape/signature line rather than prose.
MARKUP = re.compile(r":math:|^(?:Input|Output|Target|Shape|Args|Attributes|Examples?)\b.*:|>>>|^\.\. ", re.M)


def corpora() -> dict[str, tuple[list[Document], list[dict]]]:
    """Corpus name → (documents, questions with ``answers`` as document sources)."""
    questions = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    torch_questions = [dict(q, answers=[f"torch.nn.{a}" for a in q["answers"]]) for q in questions["torch_nn"]]
    return {"torch.nn": (torch_nn_corpus(), torch_questions), "deepzoo": (builtin_corpus(), questions["deepzoo"])}


def single_length_index(documents: list[Document], clean_body: bool, camel_case: bool) -> BM25Index:
    """The ranking before issue 22: the text and a title field of weight 2 with one document length;
    optionally with the body cleaned of markup or with the parts of CamelCase titles."""
    title_terms = analyze_title if camel_case else analyze
    titles = [title_terms(f"{d.title} {' '.join(d.models)}") for d in documents]
    body = without_markup if clean_body else str
    texts = [analyze(f"{d.paper}\n{without_code_blocks(body(d.text))}") for d in documents]
    return BM25Index(texts, titles, title_weight=2.0)


def first_relevant_rank(scores: np.ndarray, relevant: set[int]) -> float:
    """1-based rank of the best-ranked relevant document (ties: lower index first); inf if none scores."""
    order = np.lexsort((np.arange(len(scores)), -scores))
    for rank, doc in enumerate(order, 1):
        if scores[doc] <= 0:
            break
        if doc in relevant:
            return float(rank)
    return float("inf")


def ranking_rows(documents: list[Document], questions: list[dict]) -> tuple[list[list], dict[str, list[float]]]:
    """Table rows (ranking, MRR, hit@1, hit@5) and each ranking's ranks per question."""
    engine = SearchEngine(documents)
    position = {d.source: i for i, d in enumerate(documents)}
    queries = [analyze(q["question"]) for q in questions]
    relevant = [{position[a] for a in q["answers"]} for q in questions]
    rankings = {
        "before: BM25, title w=2, one length": single_length_index(documents, False, False),
        "+ body without docstring sections and markup": single_length_index(documents, True, False),
        "+ CamelCase parts in titles": single_length_index(documents, True, True),
        f"+ BM25F title/headings/body w={FIELD_WEIGHTS} (now)": engine.index,
    }
    for title_weight in (1.0, 2.0, 5.0):
        weights = (title_weight, *FIELD_WEIGHTS[1:])
        rankings[f"BM25F w={weights}"] = SearchEngine(documents, field_weights=weights, field_b=FIELD_B).index
    rows, ranks = [], {}
    for name, index in rankings.items():
        ranks[name] = [first_relevant_rank(index.scores(q), r) for q, r in zip(queries, relevant)]
        r = np.array(ranks[name])
        rows.append([name, f"{np.mean(1 / r):.3f}", f"{np.mean(r == 1):.2f}", f"{np.mean(r <= 5):.2f}"])
    return rows, ranks


def first_paragraph(text: str) -> str:
    """The first non-empty paragraph of a text, on one line."""
    return next((" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()), "")


def summary_rows(documents: list[Document]) -> list[list]:
    """Table rows (summariser, ROUGE-1/2/L F1, share of summaries quoting markup) over the documents."""
    pairs = [(d, first_paragraph(prose(d.text))) for d in documents]
    pairs = [(d, ref) for d, ref in pairs if re.search(r"[a-z0-9]", ref.lower())]
    methods = {"before: luhn on plain text": lambda d: summarize(plain_text(d.text), max_sentences=SENTENCES)}
    for name in ("luhn", "textrank", "lead"):
        methods[f"{name} on prose"] = lambda d, n=name: SUMMARIZERS.get(n).factory(prose(d.text), SENTENCES)
    rows = []
    for name, method in methods.items():
        summaries = [method(d) for d, _ in pairs]
        scores = [rouge(ref, " ".join(s)) for (_, ref), s in zip(pairs, summaries)]
        means = [np.mean([s[t].f1 for s in scores]) for t in ROUGE_TYPES]
        markup = np.mean([any(MARKUP.search(sentence) for sentence in s) for s in summaries])
        rows.append([name, *(f"{m:.3f}" for m in means), f"{markup:.2f}"])
    return rows


def markdown_table(headers: list[str], rows: list[list]) -> str:
    """A GitHub Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def main() -> None:
    """Print the ranking and summary tables of both corpora."""
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    start = time.perf_counter()
    print(f"machine: {platform.machine()}, {platform.processor() or platform.system()}")
    for corpus, (documents, questions) in corpora().items():
        rows, ranks = ranking_rows(documents, questions)
        print(f"\n### {corpus}: ranking ({len(questions)} questions, {len(documents)} documents)\n")
        print(markdown_table(["ranking", "MRR", "hit@1", "hit@5"], rows))
        before, now = list(ranks)[0], list(ranks)[3]
        print("\nrank of the first right answer, before → now:")
        for q, b, a in zip(questions, ranks[before], ranks[now]):
            print(f"- {q['question']}: {b:g} → {a:g}")
        print(f"\n### {corpus}: summaries ({SENTENCES} sentences) against each document's first paragraph\n")
        print(markdown_table(["summary", "ROUGE-1 F1", "ROUGE-2 F1", "ROUGE-L F1", "quotes markup"],
                             summary_rows(documents)))
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
