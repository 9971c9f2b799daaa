"""Benchmark deepzoo.text: BM25 queries/s against rank_bm25, autocorrect lookups/s against naive Norvig.

    python benchmarks/text.py                     # 100k documents, as reported in docs/explain.md
    python benchmarks/text.py --docs 10000        # a quicker run

The corpus is synthetic and seeded: a vocabulary of random lower-case words whose frequencies follow a
Zipf law (p(rank r) ∝ 1/r), documents of Poisson-distributed length. Query terms are drawn from the same
Zipf law, so frequent terms with long posting lists are common in queries (the hard case for a sparse
index; rank_bm25 costs the same for every term). Both libraries get the same token lists and k1 = 1.2,
b = 0.75. rank_bm25 scores every document in Python for every query term, so it runs fewer queries.

Top-10 agreement is checked fairly: rank_bm25's BM25Okapi uses idf = ln((N − n + 0.5)/(n + 0.5)) with
negative values replaced by 0.25 × the mean idf, not Lucene's ln(1 + (N − n + 0.5)/(n + 0.5)), so a
second deepzoo index is built with rank_bm25's idf and its top-10 (documents and scores) compared with
rank_bm25's; the overlap of the Lucene-idf top-10 with rank_bm25's is shown for information.
Prints a table; writes nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from deepzoo.text.autocorrect import SpellingCorrector, naive_correct
from deepzoo.text.bm25 import BM25Index

ALPHABET = "abcdefghijklmnopqrstuvwxyz"


def zipf_probabilities(size: int, exponent: float = 1.0) -> np.ndarray:
    """p(rank r) ∝ 1 / r^exponent for ranks 1..size."""
    weights = 1.0 / np.arange(1, size + 1) ** exponent
    return weights / weights.sum()


def random_vocabulary(rng: np.random.Generator, size: int) -> list[str]:
    """``size`` distinct random words of 3 to 10 letters."""
    words: set[str] = set()
    while len(words) < size:
        length = int(rng.integers(3, 11))
        words.add("".join(rng.choice(list(ALPHABET), length)))
    ordered = sorted(words)
    return [ordered[i] for i in rng.permutation(size)]


def synthetic_corpus(rng, vocab: list[str], num_docs: int, mean_length: int) -> list[list[str]]:
    """Documents of Poisson(mean_length) + 1 tokens drawn from the Zipf law over ``vocab``."""
    lengths = rng.poisson(mean_length, num_docs) + 1
    ids = rng.choice(len(vocab), int(lengths.sum()), p=zipf_probabilities(len(vocab)))
    tokens = np.array(vocab, dtype=object)[ids]
    return [doc.tolist() for doc in np.split(tokens, np.cumsum(lengths)[:-1])]


def okapi_idf(num_docs: int, doc_freq: np.ndarray, epsilon: float = 0.25) -> np.ndarray:
    """rank_bm25's BM25Okapi idf: ln((N − n + 0.5)/(n + 0.5)), negatives floored at ε × mean idf."""
    idf = np.log(num_docs - doc_freq + 0.5) - np.log(doc_freq + 0.5)
    return np.where(idf < 0, epsilon * idf.mean(), idf)


def timed(fn, items) -> tuple[list, float]:
    """Results of ``fn`` over ``items`` and the seconds taken."""
    start = time.perf_counter()
    results = [fn(item) for item in items]
    return results, time.perf_counter() - start


def typo(rng: np.random.Generator, word: str) -> str:
    """``word`` with one or two random edits (delete, adjacent swap, replace, insert)."""
    for _ in range(int(rng.integers(1, 3))):
        i = int(rng.integers(0, len(word)))
        kind = rng.integers(0, 4)
        letter = str(rng.choice(list(ALPHABET)))
        if kind == 0 and len(word) > 1:
            word = word[:i] + word[i + 1 :]
        elif kind == 1 and i < len(word) - 1:
            word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        elif kind == 2:
            word = word[:i] + letter + word[i + 1 :]
        else:
            word = word[:i] + letter + word[i:]
    return word


def bench_bm25(args, rng, docs, vocab, rows):
    from rank_bm25 import BM25Okapi

    (ours,), build_ours = timed(lambda d: BM25Index(d), [docs])
    (same_idf,), _ = timed(lambda d: BM25Index(d, idf=okapi_idf), [docs])
    (theirs,), build_theirs = timed(lambda d: BM25Okapi(d, k1=1.2, b=0.75), [docs])
    p = zipf_probabilities(len(vocab))
    queries = [
        [vocab[i] for i in rng.choice(len(vocab), int(rng.integers(2, 5)), p=p)] for _ in range(args.queries)
    ]
    slow = queries[: args.rank_bm25_queries]

    our_hits, t_ours = timed(lambda q: ours.top(q, 10), queries)
    their_scores, t_theirs = timed(theirs.get_scores, slow)
    qps_ours, qps_theirs = len(queries) / t_ours, len(slow) / t_theirs

    same_ids = same_scores = 0
    overlap = []
    for query, scores, lucene_hits in zip(slow, their_scores, our_hits, strict=False):
        their_top = np.argsort(-scores, kind="stable")[:10]
        mine = same_idf.top(query, 10)
        same_ids += [h.doc for h in mine] == their_top.tolist()
        same_scores += np.allclose([h.score for h in mine], scores[their_top], rtol=1e-9)
        overlap.append(len({h.doc for h in lucene_hits} & set(their_top.tolist())) / 10)

    n = len(slow)
    rows += [
        ("BM25 index build", f"{build_ours:.1f} s", f"{build_theirs:.1f} s (rank_bm25)", ""),
        (
            "BM25 top-10 queries/s",
            f"{qps_ours:,.0f}",
            f"{qps_theirs:,.1f} (rank_bm25)",
            f"{qps_ours / qps_theirs:,.0f}×",
        ),
        ("top-10 equal, same idf: documents", f"{same_ids}/{n}", "", "rank_bm25's Okapi idf in both"),
        ("top-10 equal, same idf: scores", f"{same_scores}/{n}", "", "rtol 1e-9"),
        ("top-10 overlap, Lucene idf", f"{np.mean(overlap):.0%}", "", "deepzoo default vs rank_bm25"),
    ]


def bench_autocorrect(args, rng, docs, rows):
    counts: dict[str, int] = {}
    for doc in docs:
        for word in doc:
            counts[word] = counts.get(word, 0) + 1
    (corrector,), build = timed(SpellingCorrector, [counts])
    long_words = [w for w in counts if len(w) >= 5]
    originals = [long_words[int(i)] for i in rng.integers(0, len(long_words), args.typos)]
    typos = [typo(rng, w) for w in originals]
    fixed, t_index = timed(corrector.correct, typos)
    few = typos[: args.naive_typos]
    naive, t_naive = timed(lambda w: naive_correct(w, counts, ALPHABET), few)
    rate_index, rate_naive = len(typos) / t_index, len(few) / t_naive
    agree = sum(a == b for a, b in zip(fixed, naive, strict=False))
    restored = sum(a == b for a, b in zip(fixed, originals, strict=True))
    rows += [
        ("autocorrect index build", f"{build:.1f} s", "", f"{len(counts):,} words, delete index"),
        (
            "autocorrect lookups/s",
            f"{rate_index:,.0f}",
            f"{rate_naive:,.1f} (naive edits2)",
            f"{rate_index / rate_naive:,.0f}×",
        ),
        ("same correction as naive", f"{agree}/{len(few)}", "", ""),
        ("typo restored to the original word", f"{restored}/{len(typos)}", "", "1-2 random edits"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--vocab", type=int, default=20_000)
    parser.add_argument("--doc-length", type=int, default=60, help="mean tokens per document")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--rank-bm25-queries", type=int, default=20)
    parser.add_argument("--typos", type=int, default=2000)
    parser.add_argument("--naive-typos", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    vocab = random_vocabulary(rng, args.vocab)
    docs = synthetic_corpus(rng, vocab, args.docs, args.doc_length)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"deepzoo.text benchmark: {args.docs:,} documents, {sum(map(len, docs)):,} tokens, "
        f"Zipf vocabulary of {args.vocab:,} words, seed {args.seed}; "
        f"{platform.processor() or platform.machine()}, {cores} CPU cores, one process"
    )
    rows: list[tuple[str, str, str, str]] = []
    bench_bm25(args, rng, docs, vocab, rows)
    bench_autocorrect(args, rng, docs, rows)
    header = ("measure", "deepzoo", "baseline", "ratio / note")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()
