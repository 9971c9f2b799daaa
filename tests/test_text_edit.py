"""Minimum edit distance, Damerau–Levenshtein and the spelling corrector (deepzoo.text)."""

from __future__ import annotations

import itertools
from collections import deque
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepzoo.text.autocorrect import SpellingCorrector, edits1, naive_correct
from deepzoo.text.corpus import model_cards
from deepzoo.text.edit_distance import (
    EditCosts,
    align,
    damerau_levenshtein,
    edit_distance,
    edit_table,
    format_alignment,
)
from deepzoo.text.search import SearchEngine

short_words = st.text(alphabet="abcd", max_size=7)


def lcs_length(s: str, t: str) -> int:
    """Longest common subsequence, by the textbook recursion."""

    @cache
    def lcs(i: int, j: int) -> int:
        if i == len(s) or j == len(t):
            return 0
        if s[i] == t[j]:
            return 1 + lcs(i + 1, j + 1)
        return max(lcs(i + 1, j), lcs(i, j + 1))

    return lcs(0, 0)


def test_intention_execution_costs_8_with_replace_2_and_5_with_replace_1():
    assert edit_distance("intention", "execution") == 8
    assert edit_distance("intention", "execution", EditCosts(replace=1)) == 5


def test_table_matches_a_hand_computed_one():
    # Rows "", a, t; columns "", c, a, t; insert 1, delete 1, replace 2.
    assert edit_table("at", "cat") == [[0, 1, 2, 3], [1, 2, 1, 2], [2, 3, 2, 1]]
    assert edit_table("", "ab") == [[0, 1, 2]]
    assert edit_distance("abc", "", EditCosts(delete=3)) == 9


@given(short_words, short_words)
@settings(max_examples=200, deadline=None)
def test_default_distance_is_lengths_minus_twice_the_lcs(s, t):
    assert edit_distance(s, t) == len(s) + len(t) - 2 * lcs_length(s, t)


@given(short_words, short_words, st.integers(1, 3), st.integers(1, 3), st.integers(1, 4))
@settings(max_examples=150, deadline=None)
def test_alignment_spells_both_words_and_costs_the_distance(s, t, ins, dele, rep):
    costs = EditCosts(insert=ins, delete=dele, replace=rep)
    steps = align(s, t, costs)
    assert "".join(step.source for step in steps) == s
    assert "".join(step.target for step in steps) == t
    price = {"keep": 0, "insert": ins, "delete": dele, "replace": rep}
    assert sum(price[step.op] for step in steps) == edit_distance(s, t, costs)


def test_alignment_display():
    assert format_alignment(align("resnt", "resnet")) == "r e s n * t\n        i\nr e s n e t"
    ops = [step.op for step in align("intention", "execution")]
    assert sum(op != "keep" for op in ops) == 5 and ops.count("replace") <= 3


def all_edit_distances(alphabet: str, max_len: int) -> dict[str, dict[str, int]]:
    """Shortest paths (BFS) in the graph of strings joined by one insert, delete, replace or adjacent swap."""
    strings = ["".join(p) for n in range(max_len + 1) for p in itertools.product(alphabet, repeat=n)]

    def neighbours(w: str):
        yield from (w[:i] + w[i + 1 :] for i in range(len(w)))
        yield from (w[:i] + w[i + 1] + w[i] + w[i + 2 :] for i in range(len(w) - 1))
        yield from (w[:i] + c + w[i + 1 :] for i in range(len(w)) for c in alphabet)
        if len(w) < max_len:
            yield from (w[:i] + c + w[i:] for i in range(len(w) + 1) for c in alphabet)

    result = {}
    for source in (s for s in strings if len(s) <= max_len - 2):
        dist, queue = {source: 0}, deque([source])
        while queue:
            w = queue.popleft()
            for v in neighbours(w):
                if v not in dist:
                    dist[v] = dist[w] + 1
                    queue.append(v)
        result[source] = dist
    return result


def test_damerau_levenshtein_is_the_fewest_norvig_edits():
    # Intermediate strings may be up to two letters longer than the compared ones.
    graph = all_edit_distances("abc", 5)
    for source, dist in graph.items():
        for target, d in dist.items():
            if len(target) <= 3:
                assert damerau_levenshtein(source, target) == d, (source, target)
    # Unrestricted: swap "ca" → "ac" then insert "b" (the restricted variant would say 3).
    assert damerau_levenshtein("ca", "abc") == 2
    assert damerau_levenshtein("ab", "ba") == 1


@pytest.fixture(scope="module")
def engine():
    # The packaged cards only: the docs pages change as the project grows.
    return SearchEngine(model_cards())


@pytest.mark.parametrize(
    ("typo", "expected"),
    [
        ("resnt", "resnet"),  # a deleted letter
        ("autoencodr", "autoencoder"),
        ("resdiual", "residual"),  # two letters swapped
        ("genrator", "generator"),
        ("discrminator", "discriminator"),
        ("convolutoin", "convolution"),
    ],
)
def test_typical_typos_of_corpus_words_are_fixed(engine, typo, expected):
    corrected, corrections = engine.autocorrect(typo)
    assert corrected == expected
    assert [(c.original, c.corrected) for c in corrections] == [(typo, expected)]


@pytest.mark.parametrize("query", ["resnet", "autoencoders", "the training of GANs", "vit_b_16 patches 2016"])
def test_known_words_stop_words_and_numbers_are_left_alone(engine, query):
    assert engine.autocorrect(query) == (query, ())


def test_closest_wins_before_most_frequent_and_ties_go_to_the_frequent_word():
    corrector = SpellingCorrector({"cat": 1, "cart": 100, "car": 10})
    assert corrector.correct("cta") == "cat"  # one swap; "cart" is two edits away
    assert corrector.correct("caz") == "car"  # cat and car are both one replace away: car is more frequent
    assert corrector.correct("zzzzzz") == "zzzzzz"
    assert corrector.correct("cart") == "cart"


def test_edits1_has_norvigs_count():
    # For n letters and an alphabet of a: n deletes, n − 1 swaps, a·n replaces, a·(n + 1) inserts, before
    # removing duplicates. With distinct letters in "abc" and alphabet "xy", no two edits coincide.
    assert len(edits1("abc", "xy")) == 3 + 2 + 2 * 3 + 2 * 4


vocabularies = st.dictionaries(
    st.text(alphabet="abcd", min_size=1, max_size=6), st.integers(1, 5), max_size=30
)


@given(vocabularies, short_words)
@settings(max_examples=150, deadline=None)
def test_delete_index_finds_exactly_the_words_within_two_edits(vocab, word):
    corrector = SpellingCorrector(vocab)
    brute = {v: damerau_levenshtein(word, v) for v in vocab}
    assert corrector.candidates(word) == {v: d for v, d in brute.items() if d <= 2}
    assert corrector.correct(word) == naive_correct(word, vocab, "abcd")
