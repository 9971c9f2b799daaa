"""BM25 scoring (deepzoo.text.bm25) and the search tokenizer (deepzoo.text.tokenize)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepzoo.text.bm25 import BM25Index, lucene_idf
from deepzoo.text.tokenize import analyze, stem

K1, B = 1.2, 0.75


def test_scores_match_a_hand_computed_example():
    # N = 3 documents of lengths 2, 3, 1: avgdl = 2. "cat" is in 2 of them.
    index = BM25Index([["cat", "sat"], ["cat", "cat", "dog"], ["dog"]])
    idf = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))  # ln 1.6
    # doc 0: tf 1, |d| = 2 = avgdl → tf (k1 + 1) / (tf + k1) = 2.2 / 2.2 = 1.
    # doc 1: tf 2, |d| = 3 → k1 (1 − b + b·3/2) = 1.2 · 1.375 = 1.65 → 2 · 2.2 / 3.65.
    expected = [idf * 1.0, idf * 4.4 / 3.65, 0.0]
    np.testing.assert_allclose(index.scores(["cat"]), expected, rtol=1e-12)


def test_title_field_is_weighted_into_tf_and_length():
    # Text lengths 1 and 1, titles lengths 1 and 0 with weight 2: |d| = 3 and 1, avgdl = 2.
    index = BM25Index([["deep"], ["deep"]], [["zoo"], []], title_weight=2.0)
    idf_zoo = math.log(1 + (2 - 1 + 0.5) / (1 + 0.5))  # ln 2
    # doc 0: tf = 2 · 1 = 2, norm = 1.2 · (0.25 + 0.75 · 3/2) = 1.65.
    assert index.scores(["zoo"])[0] == pytest.approx(idf_zoo * 2 * 2.2 / (2 + 1.65))
    idf_deep = math.log(1 + 0.5 / 2.5)
    # "deep" in both: doc 1 is shorter than average (|d| = 1) and scores higher.
    norm0, norm1 = 1.2 * (0.25 + 0.75 * 1.5), 1.2 * (0.25 + 0.75 * 0.5)
    np.testing.assert_allclose(
        index.scores(["deep"]), [idf_deep * 2.2 / (1 + norm0), idf_deep * 2.2 / (1 + norm1)]
    )


def test_lucene_idf_is_positive_even_for_a_term_in_every_document():
    assert lucene_idf(10, np.array([10.0]))[0] == pytest.approx(math.log(1 + 0.5 / 10.5))
    assert lucene_idf(2, np.array([1.0]))[0] == pytest.approx(math.log(2))
    index = BM25Index([["a", "b"], ["a"], ["a", "c"]])
    assert (index.scores(["a"]) > 0).all()


def test_repeated_query_terms_count_again_and_unknown_terms_score_zero():
    index = BM25Index([["x", "y"], ["y", "z"]])
    np.testing.assert_allclose(index.scores(["x", "x"]), 2 * index.scores(["x"]))
    assert (index.scores(["nowhere"]) == 0).all()


def test_top_orders_by_score_breaks_ties_by_index_and_drops_non_matches():
    index = BM25Index([["b"], ["a", "x"], ["a", "a"], ["a", "x"], ["c"]])
    hits = index.top(["a"], k=10)
    assert [h.doc for h in hits] == [2, 1, 3]
    assert hits[1].score == hits[2].score
    assert [h.doc for h in index.top(["a"], k=2)] == [2, 1]
    assert index.top(["a"], k=0) == []


corpora = st.lists(st.lists(st.sampled_from("abcde"), min_size=1, max_size=8), min_size=1, max_size=8)


@given(corpora, st.lists(st.sampled_from("abcdef"), min_size=1, max_size=4))
@settings(max_examples=60, deadline=None)
def test_sparse_scores_equal_the_formula_document_by_document(docs, query):
    index = BM25Index(docs)
    n_docs, avgdl = len(docs), sum(map(len, docs)) / len(docs)
    expected = []
    for doc in docs:
        total = 0.0
        for term in query:
            n = sum(term in d for d in docs)
            tf = doc.count(term)
            idf = math.log(1 + (n_docs - n + 0.5) / (n + 0.5))
            total += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * len(doc) / avgdl))
        expected.append(total)
    np.testing.assert_allclose(index.scores(query), expected, rtol=1e-10, atol=1e-12)
    assert (index.scores(query) >= 0).all()


@given(corpora, st.integers(1, 5), st.integers(0, 5))
@settings(max_examples=60, deadline=None)
def test_score_grows_with_term_frequency_at_equal_length(others, count, filler):
    # Two documents of the same length; the second has one more occurrence of "q".
    fewer = ["q"] * count + ["z"] * (filler + 1)
    more = ["q"] * (count + 1) + ["z"] * filler
    scores = BM25Index([fewer, more, *others]).scores(["q"])
    assert scores[1] > scores[0] > 0


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("models", "model"),
        ("training", "train"),
        ("trained", "train"),
        ("trains", "train"),
        ("batches", "batch"),
        ("studies", "study"),
        ("losses", "loss"),
        ("stopped", "stop"),
        ("embedding", "embed"),
        ("resnet50", "resnet50"),
        ("gan", "gan"),
    ],
)
def test_light_stemmer(word, expected):
    assert stem(word) == expected


def test_analyze_lowercases_drops_stop_words_and_splits_on_underscores():
    assert analyze("The ResNets are TRAINING on vit_b_16!") == ["resnet", "train", "vit", "b", "16"]
    assert stem("images") == stem("image") == stem("imaging")
