"""Summaries measured (issue 22 §5): TextRank, the lead baseline, ROUGE, and `deepzoo explain --summarize`."""

from __future__ import annotations

import json
import math

import pytest

from deepzoo.cli import main
from deepzoo.errors import ConfigError, DataError
from deepzoo.text.corpus import plain_text
from deepzoo.text.markup import prose
from deepzoo.text.rouge import rouge
from deepzoo.text.summarize import lead_summary, summarize, summarize_with, textrank_summary
from deepzoo.text.textrank import overlap_similarity, textrank_scores

# A star: the second sentence shares one word of the same length with each other sentence, and the others
# share nothing with each other, so every edge has the same weight and the second sentence is the hub.
STAR = (
    "Penguins waddle slowly. "
    "Penguins, gulls and herons nest together. "
    "Gulls circle harbours. "
    "Herons stalk ponds."
)


def test_overlap_similarity_is_shared_words_over_summed_log_lengths():
    # 4 and 2 content words, one shared: 1 / (ln 4 + ln 2) = 1 / ln 8 (Mihalcea & Tarau 2004, eq. 5).
    assert overlap_similarity(["a", "b", "c", "d"], ["d", "e"]) == pytest.approx(1 / math.log(8))
    assert overlap_similarity(["a"], ["a"]) == 0.0  # log 1 + log 1 = 0: no edge rather than a division by 0
    assert overlap_similarity([], ["a"]) == 0.0


def test_textrank_of_a_star_equals_pagerank_in_closed_form():
    # Hub h and three leaves l with equal edge weights, d = 0.85, n = 4:
    #   l = (1 - d)/4 + d·h/3   and   h = (1 - d)/4 + d·3l  ⇒  h = (1 + 3d) / (4 (1 + d)) ≈ 0.4797.
    d = 0.85
    hub = (1 + 3 * d) / (4 * (1 + d))
    leaf = (1 - hub) / 3
    sentences = ["Penguins waddle slowly.", "Penguins, gulls and herons nest together.",
                 "Gulls circle harbours.", "Herons stalk ponds."]
    assert textrank_scores(sentences) == pytest.approx([leaf, hub, leaf, leaf], abs=1e-8)
    assert textrank_summary(STAR, 1) == ["Penguins, gulls and herons nest together."]


def test_lead_baseline_takes_the_first_sentences_and_summaries_keep_text_order():
    assert lead_summary(STAR, 2) == ["Penguins waddle slowly.", "Penguins, gulls and herons nest together."]
    two = textrank_summary(STAR, 2)
    assert two[1] == "Penguins, gulls and herons nest together." and two[0] == "Penguins waddle slowly."
    assert summarize_with("lead", "", 3) == [] and summarize_with("textrank", "", 3) == []


def test_a_repeated_sentence_is_quoted_once():
    text = "Cats purr softly. Dogs bark. Cats purr softly."
    for method in ("luhn", "textrank", "lead"):
        summary = summarize_with(method, text, 3)
        assert len(summary) == len(set(summary)) and set(summary) <= {"Cats purr softly.", "Dogs bark."}
    assert summarize_with("lead", text, 3) == ["Cats purr softly.", "Dogs bark."]


def test_unknown_method_names_the_close_match():
    with pytest.raises(ConfigError, match=r"unknown summary method 'textrnk'; did you mean textrank\?"):
        summarize_with("textrnk", STAR)


def test_rouge_matches_a_hand_count():
    # Reference and summary of 6 words each differ in one word ("sat"/"lay"):
    # unigrams shared 5 (the ×2, cat, on, mat) → 5/6; bigrams shared 3 of 5 (the cat, on the, the mat) → 3/5;
    # longest common subsequence "the cat on the mat" → 5/6.
    scores = rouge("The cat sat on the mat.", "The cat lay on the mat.")
    assert (scores["rouge1"].precision, scores["rouge1"].recall) == pytest.approx((5 / 6, 5 / 6))
    assert (scores["rouge2"].precision, scores["rouge2"].recall, scores["rouge2"].f1) == pytest.approx((0.6,) * 3)
    assert scores["rougeL"].f1 == pytest.approx(5 / 6)
    # A shorter summary: precision 1, recall 3/6, F1 = 2·1·0.5 / 1.5.
    short = rouge("The cat sat on the mat.", "the cat sat")["rouge1"]
    assert (short.precision, short.recall, short.f1) == pytest.approx((1.0, 0.5, 2 / 3))


def test_rouge_refuses_a_reference_it_cannot_read():
    with pytest.raises(DataError, match=r"^ref.txt: no letters a-z or digits"):
        rouge("Кошка сидит.", "cat", where="ref.txt")


def test_cli_summarizes_a_file_and_scores_it_against_a_reference(capsys, tmp_path):
    text, reference = tmp_path / "birds.txt", tmp_path / "ref.txt"
    text.write_text(STAR, encoding="utf-8")
    reference.write_text("Penguins, gulls and herons nest together.", encoding="utf-8")
    status = main(["explain", "--summarize", str(text), "--method", "textrank", "--sentences", "1",
                   "--reference", str(reference)])
    lines = capsys.readouterr().out.splitlines()
    assert status == 0 and lines[0] == "- Penguins, gulls and herons nest together."
    assert lines[2].split() == ["ROUGE", "precision", "recall", "F1"]
    assert [line.split() for line in lines[4:]] == [["rouge1", "1", "1", "1"], ["rouge2", "1", "1", "1"],
                                                    ["rougeL", "1", "1", "1"]]
    status = main(["explain", "--summarize", str(text), "--method", "lead", "--sentences", "1", "--json",
                   "--reference", str(reference)])
    result = json.loads(capsys.readouterr().out)
    assert result["summary"] == ["Penguins waddle slowly."]
    assert result["rouge"]["rouge1"]["recall"] == pytest.approx(1 / 6)  # "penguins" of 6 reference words


def test_cli_summarize_mistakes_exit_2_with_one_line(capsys, tmp_path):
    missing = tmp_path / "missing.txt"
    assert main(["explain", "--summarize", str(missing)]) == 2
    assert capsys.readouterr().err == f"deepzoo: error: {missing}: no such file\n"
    assert main(["explain", "shortcut", "--reference", str(missing)]) == 2
    assert "use it with --summarize FILE" in capsys.readouterr().err
    assert main(["explain"]) == 2
    assert capsys.readouterr().err == "deepzoo: error: give words to search for, or --summarize FILE\n"


DOCSTRING = """Applies a gentle squashing to every element, as :class:`~torch.nn.Tanh` does.

The squashing keeps the sign of :math:`x` and maps it into :math:`(-1, 1)`.

.. math::
    y = \\tanh(x)

Args:
    inplace: squash the input in place. Default: ``False``

Shape:
    - Input: :math:`(*)`, any shape.
    - Output: :math:`(*)`, same shape as the input.

Examples::

    >>> m = Squash()
    >>> output = m(torch.randn(2))
"""


def test_prose_drops_sections_directives_shape_and_doctest_lines_and_keeps_role_text():
    assert prose(DOCSTRING).split() == (
        "Applies a gentle squashing to every element, as Tanh does. "
        "The squashing keeps the sign of x and maps it into (-1, 1)."
    ).split()
    # Input/Output lines outside a Shape: section go too; a formula alone on its line as well.
    assert prose("Sums its input.\n\nInput: (N, C)\nOutput: (N)\n:math:`y = x`").split() == ["Sums", "its", "input."]


def test_prose_leaves_markdown_code_blocks_out():
    page = "Run it like this.\n\n```\n$ deepzoo explain resnt\n   ...\n```\n\nIt uses ``BM25``."
    assert prose(page).split() == ["Run", "it", "like", "this.", "It", "uses", "BM25."]


def test_summaries_skip_shape_lines_that_plain_text_would_quote():
    # "shape" is the most frequent word of the raw docstring: Luhn on the plain text quotes a shape line.
    assert summarize(plain_text(DOCSTRING), max_sentences=1) == ["Input: :math:(), any shape."]
    describing = ["Applies a gentle squashing to every element, as Tanh does.",
                  "The squashing keeps the sign of x and maps it into (-1, 1)."]
    assert summarize_with("textrank", prose(DOCSTRING), 3) == summarize_with("lead", prose(DOCSTRING), 3) == describing
    assert summarize_with("luhn", prose(DOCSTRING), 3) == describing[1:]  # the shorter, denser sentence
