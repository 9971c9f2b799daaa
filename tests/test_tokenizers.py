"""Tokenizers for language models: exact round trips (byte-level BPE on any UTF-8 text, characters on
their alphabet), the unknown character, the vocabulary size knob, and saving and reading back."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from deepzoo.data.tokenizers import (
    BYTE_VOCAB,
    EOT,
    REPLACEMENT,
    BPETokenizer,
    CharTokenizer,
    tokenizer_from_file,
    tokenizer_from_json,
)
from deepzoo.errors import DataError

CORPUS = ["the cat sat on the mat. " * 20, "a dog ate the hat; the cat ran. " * 20, "naïve café — 東京 😀 " * 5]


@pytest.fixture(scope="module")
def bpe() -> BPETokenizer:
    return BPETokenizer.train(CORPUS, vocab_size=300)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_byte_level_bpe_round_trips_any_utf8_text(bpe, text):
    assume(EOT not in text)  # the special token's own text is the one string that becomes one id
    assert bpe.decode(bpe.encode(text)) == text


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(sorted(set("".join(CORPUS)))), max_size=200))
def test_char_tokenizer_round_trips_text_from_its_alphabet(text):
    tok = CharTokenizer.train(CORPUS)
    ids = tok.encode(text)
    assert len(ids) == len(text) and tok.decode(ids) == text


def test_char_tokenizer_ids_and_unknown_characters():
    tok = CharTokenizer.train(["bca", "ab"])
    # <|endoftext|> 0, <unk> 1, then the alphabet in code-point order
    assert tok.vocab_size == 5 and tok.eot_id == 0
    assert tok.encode("abcz") == [2, 3, 4, 1]
    assert tok.decode([2, 1, 0, 4]) == "a" + REPLACEMENT + "c"  # unknown → U+FFFD, end-of-text dropped


def test_bpe_vocabulary_size_is_the_knob_and_merges_shorten_text(bpe):
    assert bpe.vocab_size == 300
    assert bpe.eot_id == bpe.tokenizer.token_to_id(EOT)
    text = CORPUS[0]
    assert len(bpe.encode(text)) < len(text.encode("utf-8")) / 2  # frequent words became single tokens
    smallest = BPETokenizer.train(CORPUS, vocab_size=BYTE_VOCAB)
    assert smallest.vocab_size == BYTE_VOCAB
    assert len(smallest.encode(text)) == len(text.encode("utf-8"))  # no merges: one token per byte
    with pytest.raises(DataError, match="at least 257"):
        BPETokenizer.train(CORPUS, vocab_size=100)


def test_training_is_deterministic(bpe):
    assert BPETokenizer.train(CORPUS, vocab_size=300).to_json() == bpe.to_json()


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_saved_tokenizer_reads_back_the_same(tmp_path, bpe, kind):
    tok = CharTokenizer.train(CORPUS) if kind == "char" else bpe
    path = tmp_path / "tokenizer.json"
    path.write_text(tok.to_json(), encoding="utf-8")
    again = tokenizer_from_file(path)
    text = "the café cat"
    assert type(again) is type(tok) and again.vocab_size == tok.vocab_size and again.eot_id == tok.eot_id
    assert again.encode(text) == tok.encode(text)


def test_a_bpe_file_is_hugging_face_tokenizer_json(bpe):
    spec = json.loads(bpe.to_json())
    assert spec["model"]["type"] == "BPE" and any(t["content"] == EOT for t in spec["added_tokens"])


def test_bad_tokenizer_files_are_one_line(tmp_path):
    with pytest.raises(DataError, match="is not JSON"):
        tokenizer_from_json("{not json", "x.json")
    with pytest.raises(DataError, match="no such file"):
        tokenizer_from_file(tmp_path / "missing.json")
    with pytest.raises(DataError, match="not a tokenizer file"):
        tokenizer_from_json('{"model": 3}', "y.json")
