"""Okapi BM25 and BM25F ranking over a sparse term-document matrix.

Robertson & Zaragoza (2009), "The Probabilistic Relevance Framework: BM25 and Beyond", eq. 3.15: a
document d scores, for a query q,

    score(q, d) = Σ_{t ∈ q} idf(t) · tf(t, d) · (k1 + 1) / (tf(t, d) + k1 · (1 − b + b · |d| / avgdl))

with Lucene's defaults k1 = 1.2, b = 0.75 and Lucene's idf(t) = ln(1 + (N − n_t + 0.5) / (n_t + 0.5)),
which never goes negative (the classic Robertson–Spärck Jones idf does for terms in more than half of
the documents). Dividing tf by the length factor B = 1 − b + b · |d| / avgdl first gives the same score
as idf · t̃f (k1 + 1) / (t̃f + k1) with t̃f = tf / B, the form both indexes below share.

:class:`BM25Index` weights a title as a second field as in simple BM25F (Robertson, Zaragoza & Taylor
2004): tf = tf_text + w · tf_title and |d| = |text| + w · |title|, one length for the whole document.
:class:`BM25FIndex` is BM25F with per-field length normalisation (Zaragoza, Craswell, Taylor, Saria &
Robertson 2004, "Microsoft Cambridge at TREC-13"; Robertson & Zaragoza 2009, section 3.6): each field f
is normalised by its own length against its own average before the weighted sum,

    t̃f(t, d) = Σ_f w_f · tf_f(t, d) / (1 − b_f + b_f · |d_f| / avg |d_f|)

so a long body does not dilute a match in a short title, and the title's weight is not spent on length.

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
    """A BM25 index over tokenised documents, with an optional boosted title field (simple BM25F).

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
        self.b, self.title_weight = b, title_weight
        fields = [texts] + ([titles] if titles is not None else [])
        self._build(fields, [1.0, title_weight][: len(fields)], k1, idf)

    def _build(
        self, fields: Sequence[Sequence[Sequence[str]]], weights: Sequence[float], k1: float, idf: IdfFunction
    ) -> None:
        """Index the fields (each a list of term lists, one per document): vocabulary, idf and weights."""
        self.k1 = k1
        self.num_docs = len(fields[0])
        self.vocabulary: dict[str, int] = {}
        ids = [[self._term_ids(tokens) for tokens in field] for field in fields]
        counts = [self._counts(field_ids) for field_ids in ids]
        lengths = [np.fromiter((len(x) for x in field_ids), np.float64, self.num_docs) for field_ids in ids]
        tf = self._normalised_tf(counts, lengths, weights)
        self.doc_freq = np.diff(tf.indptr)
        self.idf = idf(self.num_docs, self.doc_freq.astype(np.float64))
        term_of_entry = np.repeat(np.arange(tf.shape[1]), self.doc_freq)
        tf.data = self.idf[term_of_entry] * tf.data * (k1 + 1.0) / (tf.data + k1)
        self.weights = tf

    def _term_ids(self, tokens: Sequence[str]) -> list[int]:
        vocab = self.vocabulary
        return [vocab.setdefault(t, len(vocab)) for t in tokens]

    def _counts(self, ids: Sequence[Sequence[int]]) -> sparse.csr_matrix:
        """Term counts of one field, documents × the (final) vocabulary."""
        lengths = [len(x) for x in ids]
        docs = np.repeat(np.arange(self.num_docs), lengths)
        terms = np.fromiter((t for x in ids for t in x), dtype=np.int64, count=sum(lengths))
        shape = (self.num_docs, len(self.vocabulary))
        return sparse.csr_matrix((np.ones(len(terms)), (docs, terms)), shape)

    def _length_factor(self, length: np.ndarray, b: float) -> np.ndarray:
        """1 − b + b · length / average length, per document (1 where the average is 0)."""
        average = length.mean() if self.num_docs else 0.0
        return 1.0 - b + b * length / average if average > 0 else np.ones_like(length)

    def _normalised_tf(
        self, counts: list[sparse.csr_matrix], lengths: list[np.ndarray], weights: Sequence[float]
    ) -> sparse.csc_matrix:
        """t̃f = (Σ_f w_f tf_f) / B with one length |d| = Σ_f w_f |d_f| (sets ``self.doc_length``)."""
        self.doc_length = sum(w * n for w, n in zip(weights, lengths))
        tf = sum(w * c for w, c in zip(weights, counts))
        return sparse.diags(1.0 / self._length_factor(self.doc_length, self.b)).dot(tf).tocsc()


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


class BM25FIndex(BM25Index):
    """BM25F: several weighted fields (title, headings, body ...), each normalised by its own length.

    ``fields`` holds one list of term lists per field (every field has one entry per document);
    ``weights`` and ``b`` give each field's weight w_f and length normalisation b_f (one ``b`` for all
    fields when a number).
    """

    def __init__(
        self,
        fields: Sequence[Sequence[Sequence[str]]],
        weights: Sequence[float],
        b: float | Sequence[float] = 0.75,
        *,
        k1: float = 1.2,
        idf: IdfFunction = lucene_idf,
    ):
        if len(weights) != len(fields) or len({len(f) for f in fields}) > 1:
            raise ValueError(f"{len(weights)} weights for {len(fields)} fields of {[len(f) for f in fields]} documents")
        self.field_b = [float(b)] * len(fields) if isinstance(b, (int, float)) else [float(x) for x in b]
        self.field_weights = [float(w) for w in weights]
        self._build(fields, self.field_weights, k1, idf)

    def _normalised_tf(
        self, counts: list[sparse.csr_matrix], lengths: list[np.ndarray], weights: Sequence[float]
    ) -> sparse.csc_matrix:
        """t̃f = Σ_f w_f · tf_f / B_f, each field with its own length factor."""
        per_field = [
            sparse.diags(w / self._length_factor(n, b)).dot(c)
            for w, n, b, c in zip(weights, lengths, self.field_b, counts)
        ]
        return sum(per_field).tocsc()
