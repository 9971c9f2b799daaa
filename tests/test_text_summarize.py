"""The frequency summariser (deepzoo.text.summarize)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepzoo.text.summarize import sentence_scores, split_sentences, summarize

GAN_TEXT = (
    "GAN training is hard. GAN training uses a generator. GAN training needs care. "
    "Long sentence with many unique words like alpha beta gamma delta epsilon GAN training."
)


def test_scores_are_mean_relative_frequencies_so_long_sentences_get_no_bonus():
    # Content stems: gan ×4, train ×4, every other word once; the highest count is 4.
    # "GAN training is hard."  → (4 + 4 + 1) / (4 · 3)
    # "... uses a generator."  → (4 + 4 + 1 + 1) / (4 · 4), same for "... needs care."
    # the long one: gan, train and 11 words seen once → (4 + 4 + 11) / (4 · 13)
    expected = [9 / 12, 10 / 16, 10 / 16, 19 / 52]
    assert sentence_scores(split_sentences(GAN_TEXT)) == pytest.approx(expected)
    # Mean 0.591, threshold 1.2 × mean = 0.710: only the first sentence passes. A sum of frequencies
    # would pick the long sentence; an int() of the mean (0) would keep all four.
    assert summarize(GAN_TEXT) == ["GAN training is hard."]


def test_words_are_matched_as_tokens_not_substrings():
    # "net" must not count inside "network": each word occurs once.
    assert sentence_scores(["The net.", "The network."]) == [1.0, 1.0]


def test_never_empty_the_best_sentence_is_kept_when_none_passes():
    # Equal scores: nothing is above 1.2 × the mean, so the first best sentence is returned.
    assert summarize("Alpha beta. Gamma delta.") == ["Alpha beta."]
    assert summarize("Just one sentence here") == ["Just one sentence here"]


@pytest.mark.parametrize(
    ("text", "expected"), [("", []), ("   \n\n  ", []), ("The of and.", ["The of and."])]
)
def test_empty_or_stop_word_input_is_safe(text, expected):
    assert summarize(text) == expected


def test_sentence_splitting_respects_abbreviations_and_list_items():
    text = "He et al. 2016 showed it. See Fig. 3 for e.g. this!\n\n- item one\n- item two. Next one?"
    assert split_sentences(text) == [
        "He et al. 2016 showed it.",
        "See Fig. 3 for e.g. this!",
        "item one",
        "item two.",
        "Next one?",
    ]


def test_max_sentences_keeps_the_best_in_text_order():
    # zebra ×5, others once: scores 15/15, 1/5, 11/15, 1/5; threshold 1.2 × 0.533 = 0.64.
    text = "Zebra zebra zebra. Cat. Zebra zebra lion. Dog."
    assert summarize(text) == ["Zebra zebra zebra.", "Zebra zebra lion."]
    assert summarize(text, max_sentences=1) == ["Zebra zebra zebra."]


sentences = st.lists(
    st.lists(
        st.sampled_from(["gan", "loss", "image", "the", "of", "Model", "train", "x1"]), min_size=1, max_size=8
    ).map(lambda ws: " ".join(ws).capitalize() + "."),
    max_size=12,
)


@given(sentences, st.one_of(st.none(), st.integers(1, 4)))
@settings(max_examples=150, deadline=None)
def test_summary_is_an_ordered_nonempty_deterministic_subset(parts, limit):
    text = " ".join(parts)
    all_sentences = split_sentences(text)
    summary = summarize(text, max_sentences=limit)
    assert summary == summarize(text, max_sentences=limit)
    assert bool(summary) == bool(all_sentences)
    if limit is not None:
        assert len(summary) <= limit
    # An ordered subset: each summary sentence is found after the previous one.
    position = 0
    for sentence in summary:
        position = all_sentences.index(sentence, position) + 1
