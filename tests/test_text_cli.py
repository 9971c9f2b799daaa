"""``deepzoo explain`` through deepzoo.cli.main."""

from __future__ import annotations

import json
from pathlib import Path

import deepzoo
from deepzoo.cli import main

# The packaged cards as a user corpus (a folder of cards): stable, unlike the growing docs pages.
CARDS = str(Path(deepzoo.__file__).parent / "cards")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(["explain", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_json_has_the_documented_shape_and_finds_the_card(capsys):
    status, out, _ = run(capsys, "resnt", "cifar", "--json", "--top", "2", "--corpus", CARDS)
    result = json.loads(out)
    assert status == 0
    assert set(result) == {"query", "corrected", "hits"}
    assert (result["query"], result["corrected"]) == ("resnt cifar", "resnet cifar")
    assert len(result["hits"]) == 2
    assert all(set(hit) == {"title", "source", "score", "summary"} for hit in result["hits"])
    assert result["hits"][0]["source"] == "resnet_cifar.md"
    scores = [hit["score"] for hit in result["hits"]]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0
    assert all(hit["summary"] for hit in result["hits"])


def test_text_output_says_did_you_mean_shows_the_edit_and_the_train_command(capsys):
    status, out, _ = run(capsys, "autoencodr", "masking", "noise", "--top", "1", "--corpus", CARDS)
    lines = out.splitlines()
    assert status == 0
    assert lines[0] == 'did you mean "autoencoder masking noise"?'
    assert lines[1:4] == ["    a u t o e n c o d * r", "                      i", "    a u t o e n c o d e r"]
    assert lines[4].startswith("1. Denoising autoencoder  (score ") and "denoising_ae.md" in lines[4]
    assert "   train: deepzoo train --model denoising_ae --data digits" in lines


def test_no_autocorrect_searches_the_words_as_typed(capsys):
    status, out, _ = run(capsys, "resnt", "--no-autocorrect", "--json", "--corpus", CARDS)
    result = json.loads(out)
    assert status == 0 and result["corrected"] == "resnt" and result["hits"] == []
    status, out, _ = run(capsys, "resnt", "--no-autocorrect", "--corpus", CARDS)
    assert "did you mean" not in out and 'no document matches "resnt"' in out


def test_builtin_corpus_searches_cards_and_docs_pages(capsys):
    status, out, _ = run(capsys, "mobilenet", "width", "multiplier", "--json", "--top", "50")
    sources = [hit["source"] for hit in json.loads(out)["hits"]]
    assert status == 0 and "cards/mobilenet_v1.md" in sources[:3]
    status, out, _ = run(capsys, "bm25", "autocorrect", "--json")
    assert json.loads(out)["hits"][0]["source"] == "docs/explain.md"


def test_the_course_question_on_fine_tuning_finds_the_transfer_learning_page(capsys):
    status, out, _ = run(capsys, "fine-tune", "a", "pretrained", "resnet", "on", "my", "images", "--json")
    assert status == 0 and json.loads(out)["hits"][0]["source"] == "docs/transfer_learning.md"


def test_user_corpus_folder(capsys, tmp_path):
    (tmp_path / "pets.md").write_text("# Pets\n\nCats sleep a lot. Dogs bark at cats.", encoding="utf-8")
    (tmp_path / "cars.txt").write_text("Cars need fuel. Engines burn fuel.", encoding="utf-8")
    status, out, _ = run(capsys, "fule", "--corpus", str(tmp_path), "--json")
    result = json.loads(out)
    assert status == 0 and result["corrected"] == "fuel"
    assert [hit["source"] for hit in result["hits"]] == ["cars.txt"]


def test_bad_corpus_exits_2_with_one_line(capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("source,full_text,title\na,,A\n", encoding="utf-8")
    status, out, err = run(capsys, "anything", "--corpus", str(bad))
    assert status == 2 and out == ""
    assert err == f"deepzoo: error: {bad}: row 1 (line 2): empty full_text\n"
