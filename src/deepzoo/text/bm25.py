"""Okapi BM25 ranking over a sparse term-document matrix.

Robertson & Zaragoza (2009), "The Probabilistic Relevance Framework: BM25 and Beyond", eq. 3.15: a
document d scores, for a query q,

    score(q, d) = Σ_{t ∈ q} idf(t) · tf(t, d) · (k1 + 1) / (tf(t, d) + k1 · (1 − b + b · |d| / avgdl))

with Lucene's defaults k1 = 1.2, b = 0.75 and Lucene's idf(t) = ln(1 + (N − n_t + 0.5) / (n_t + 0.5)),
which never goes negative (the classic Robertson–Spärck Jones idf does for terms in more than half of
the documents). The title is a second field weighted as in simple BM25F (Robertson, Zaragoza & Taylor
2004): tf = tf_text + w · tf_title and |d| = |text| + w · |title| before saturation.

Every per-(document, term) weight is precomputed into a CSC matrix at build time, so a query is a sum
of the query terms' columns: work proportional to the length of their posting lists, not to the number
of documents.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

IdfFunction = Callable[[int, np.ndarray], np.ndarray]


def lucene_idf(num_docs: int, doc_freq: np.ndarray) -> np.ndarray:
    """Lucene's BM25 idf, ln(1 + (N − n + 0.5) / (n + 0.5)): positive for every n ≤ N."""
    return np.log1p((num_docs - doc_freq + 0.5) / (doc_freq + 0.5))


@dataclass(frozen=True)
class Hit:
    """One ranked document: its position in the indexed collection and its BM25 score."""

    doc: int
    score: float


class BM25Index:
    """A BM25 index over tokenised documents, with an optional boosted title field.

    ``texts`` and ``titles`` are sequences of index terms (already analysed, e.g. by
    :func:`deepzoo.text.tokenize.analyze`), one per document. ``idf`` maps (N, document frequencies)
    to idf values; it defaults to :func:`lucene_idf` and exists so that a benchmark can reproduce
    another library's variant.
    """

    def __init__(
        self,
        texts: Sequence[Sequence[str]],
        titles: Sequence[Sequence[str]] | None = None,
        *,
        k1: float = 1.2,
        b: float = 0.75,
        title_weight: float = 2.0,
        idf: IdfFunction = lucene_idf,
    ):
        if titles is not None and len(titles) != len(texts):
            raise ValueError(f"{len(titles)} titles for {len(texts)} documents")
        self.k1, self.b, self.title_weight = k1, b, title_weight
        self.num_docs = len(texts)
        self.vocabulary: dict[str, int] = {}
        tf = self._term_frequencies(texts, titles)
        self.doc_freq = np.diff(tf.indptr)
        self.idf = idf(self.num_docs, self.doc_freq.astype(np.float64))
        self.weights = self._bm25_weights(tf)

    def _term_ids(self, tokens: Sequence[str]) -> list[int]:
        vocab = self.vocabulary
        return [vocab.setdefault(t, len(vocab)) for t in tokens]

    def _term_frequencies(
        self, texts: Sequence[Sequence[str]], titles: Sequence[Sequence[str]] | None
    ) -> sparse.csc_matrix:
        """The (weighted) term-frequency matrix, documents × terms; also sets ``self.doc_length``."""
        fields = [(texts, 1.0)] + ([(titles, self.title_weight)] if titles is not None else [])
        docs, terms, counts = [], [], []
        self.doc_length = np.zeros(self.num_docs)
        for field_docs, weight in fields:
            ids = [self._term_ids(tokens) for tokens in field_docs]
            lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=self.num_docs)
            self.doc_length += weight * lengths
            docs.append(np.repeat(np.arange(self.num_docs), lengths))
            terms.append(np.fromiter((t for x in ids for t in x), dtype=np.int64, count=int(lengths.sum())))
            counts.append(np.full(int(lengths.sum()), weight))
        shape = (self.num_docs, len(self.vocabulary))
        coo = sparse.coo_matrix(
            (np.concatenate(counts), (np.concatenate(docs), np.concatenate(terms))), shape
        )
        tf = coo.tocsc()
        tf.sum_duplicates()
        return tf

    def _bm25_weights(self, tf: sparse.csc_matrix) -> sparse.csc_matrix:
        """Replace each tf entry by idf(t) · tf (k1 + 1) / (tf + k1 (1 − b + b |d| / avgdl))."""
        avgdl = self.doc_length.mean() if self.num_docs and self.doc_length.mean() > 0 else 1.0
        norm = self.k1 * (1.0 - self.b + self.b * self.doc_length / avgdl)
        term_of_entry = np.repeat(np.arange(tf.shape[1]), self.doc_freq)
        freq = tf.data
        tf.data = self.idf[term_of_entry] * freq * (self.k1 + 1.0) / (freq + norm[tf.indices])
        return tf

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """The BM25 score of every document for ``query`` (terms; a repeated term counts again)."""
        out = np.zeros(self.num_docs)
        w = self.weights
        for term, count in Counter(query).items():
            col = self.vocabulary.get(term)
            if col is not None:
                lo, hi = w.indptr[col], w.indptr[col + 1]
                out[w.indices[lo:hi]] += count * w.data[lo:hi]
        return out

    def top(self, query: Sequence[str], k: int = 10) -> list[Hit]:
        """The ``k`` best documents with a positive score, best first (ties: lower index first)."""
        if k <= 0:
            return []
        scores = self.scores(query)
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > k:
            kth_best = np.partition(scores[candidates], len(candidates) - k)[len(candidates) - k]
            candidates = candidates[scores[candidates] >= kth_best]
        order = np.lexsort((candidates, -scores[candidates]))[:k]
        return [Hit(int(d), float(scores[d])) for d in candidates[order]]
