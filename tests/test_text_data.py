"""Text corpora for language models: documents from files, CSV rows and CPython's docs; the split by
document; blocks shifted by one with end-of-text boundaries; the byte counts bits per byte divides by;
and the one-line errors for bad input."""

from __future__ import annotations

import pytest
import torch

from deepzoo.data import load_dataset
from deepzoo.data.text import IGNORE, pack_blocks, unpack_blocks
from deepzoo.data.tokenizers import tokenizer_from_json
from deepzoo.errors import DataError


def doc_text(i: int) -> str:
    """Document i's text: the same few characters, a different length each."""
    return "document " + "word " * (40 + i)


def write_docs(folder, count=10):
    """``count`` documents ``doc<i>.txt`` in nested folders."""
    for i in range(count):
        path = folder / f"part{i % 2}" / f"doc{i}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(doc_text(i), encoding="utf-8")
    return folder


def decoded_documents(bundle, split):
    """The documents of a split, back from its blocks."""
    tok = tokenizer_from_json(bundle.meta.extra["tokenizer"])
    stream = unpack_blocks(bundle.splits()[split])
    eot = tok.eot_id
    docs, current = [], []
    for token in stream[1:]:
        if token == eot:
            docs.append(tok.decode(current))
            current = []
        else:
            current.append(token)
    return docs


def test_pack_blocks_shifts_targets_by_one_and_pads_the_last_block():
    split = pack_blocks([9, 1, 2, 3, 9, 4, 5, 9], block_size=3, eot_id=9)
    assert split.x.tolist() == [[9, 1, 2], [3, 9, 4], [5, 9, 9]]
    assert split.y.tolist() == [[1, 2, 3], [9, 4, 5], [9, IGNORE, IGNORE]]
    assert unpack_blocks(split) == [9, 1, 2, 3, 9, 4, 5, 9]


def test_folder_of_files_splits_by_document_and_keeps_every_document_whole(tmp_path):
    write_docs(tmp_path / "corpus")
    (tmp_path / "corpus" / "notes.csv").write_text("not,a,document\n")  # only .txt and .md are read
    bundle = load_dataset(f"text:{tmp_path / 'corpus'}", seed=3, block_size=16)
    extra = bundle.meta.extra
    # 10 documents: ⌈0.2·10⌉ = 2 for test, ⌈0.2·8⌉ = 2 for valid, 6 to train
    assert extra["documents"] == {"train": 6, "valid": 2, "test": 2}
    seen = {split: decoded_documents(bundle, split) for split in ("train", "valid", "test")}
    all_docs = sorted(d for docs in seen.values() for d in docs)
    assert all_docs == sorted(doc_text(i) for i in range(10))
    # bytes: each document's UTF-8 bytes plus one for its boundary
    for split, docs in seen.items():
        assert extra["bytes"][split] == sum(len(d.encode()) + 1 for d in docs)
        assert extra["tokens"][split] == sum(len(d) + 1 for d in docs)  # characters + one <eot> each
    assert bundle.meta.task == "lm" and bundle.train.x.shape[1] == 16 and bundle.train.x.dtype == torch.int64
    again = load_dataset(f"text:{tmp_path / 'corpus'}", seed=3, block_size=16)
    assert torch.equal(again.test.y, bundle.test.y)
    other = load_dataset(f"text:{tmp_path / 'corpus'}", seed=4, block_size=16)
    assert sorted(decoded_documents(other, "test")) != sorted(seen["test"])


def test_characters_the_training_documents_lack_become_unknown(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(5):
        (corpus / f"{i}.md").write_text("abc " * 30 + ("é" if i == 2 else ""), encoding="utf-8")
    # test_fraction 0.2 of 5: one document held out — 2.md with seed 0, 4.md with seed 1
    for seed, accent_held_out in ((0, True), (1, False)):
        bundle = load_dataset(f"text:{corpus}", valid_fraction=0, test_fraction=0.2, seed=seed, block_size=8)
        tok = tokenizer_from_json(bundle.meta.extra["tokenizer"])
        (test_doc,) = decoded_documents(bundle, "test")
        assert test_doc == "abc " * 30 + ("\ufffd" if accent_held_out else "")  # unseen é: <unk>, shown as U+FFFD
        assert tok.vocab_size == (6 if accent_held_out else 7)  # <eot>, <unk>, space, a, b, c (, é)
        assert (tok.unk_id in unpack_blocks(bundle.test)) == accent_held_out


def test_csv_text_column_is_one_document_per_row_with_bpe(tmp_path):
    path = tmp_path / "reviews.csv"
    rows = [f'{i},"review {i}: the film was {"good" if i % 2 else "long"}, very {i}"' for i in range(20)]
    path.write_text("id,text\n" + "\n".join(rows) + "\n", encoding="utf-8")
    bundle = load_dataset(f"csv:{path}?text=text&tokenizer=bpe&vocab_size=280&block_size=8")
    assert bundle.meta.num_classes == 280
    assert sum(bundle.meta.extra["documents"].values()) == 20
    docs = [d for split in ("train", "valid", "test") for d in decoded_documents(bundle, split)]
    rows = [f"review {i}: the film was {'good' if i % 2 else 'long'}, very {i}" for i in range(20)]
    assert sorted(docs) == sorted(rows)


def test_python_docs_is_cpythons_topics_one_document_each():
    from pydoc_data.topics import topics

    bundle = load_dataset("python-docs")
    extra = bundle.meta.extra
    assert sum(extra["documents"].values()) == len(topics)
    assert sum(extra["bytes"].values()) == sum(len(t.encode()) + 1 for t in topics.values())
    assert bundle.meta.input_shape == (128,)


@pytest.mark.parametrize("content, message", [
    (b"", r"doc\.txt: the file is empty"),
    (b"  \n\n", r"doc\.txt: the file holds only white space"),
    (b"caf\xc3\xa9 ok \xff\xfe bad", r"doc\.txt: is not UTF-8 text \(undecodable byte 0xff at byte offset 9\)"),
])
def test_bad_files_are_one_line(tmp_path, content, message):
    path = tmp_path / "doc.txt"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_dataset(f"text:{path}")


def test_corpus_too_small_for_one_block_says_both_counts(tmp_path):
    (tmp_path / "c.txt").write_text("document word word ")
    # 19 characters, the end-of-text token after them and the one the stream starts with
    with pytest.raises(DataError, match=r"hold 21 tokens .* needs block_size \+ 1 = 129"):
        load_dataset(f"text:{tmp_path / 'c.txt'}", block_size=128, valid_fraction=0, test_fraction=0)


def test_too_few_documents_to_split_and_empty_folders(tmp_path):
    (tmp_path / "one.txt").write_text("just one document")
    with pytest.raises(DataError, match="1 document\\(s\\) are too few"):
        load_dataset(f"text:{tmp_path / 'one.txt'}")
    bundle = load_dataset(f"text:{tmp_path / 'one.txt'}", valid_fraction=0, test_fraction=0, block_size=4)
    assert len(bundle.train) == 5 and len(bundle.valid) == 0  # 17 characters + <eot> targets in blocks of 4
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty: the folder holds no .txt or .md files"):
        load_dataset(f"text:{tmp_path / 'empty'}")


@pytest.mark.parametrize("csv, spec, message", [
    ("id,body\n1,hello\n", "?text=text", r"no column 'text' for text= \(columns: 'id', 'body'\)"),
    ("id,text\n1,hello\n2,\n", "?text=text", r"line 3: column 'text' is empty"),
    ("id,text\n1,hello\n2,NaN\n", "?text=text", r"line 3: column 'text' is empty \('NaN'\)"),
    ("id,text\n1,hello\n", "?text=text&tokenizer=words", r"tokenizer='words' is not one of char, bpe"),
    ("id,text\n1,hello\n", "?text=text&block_sise=3", r"unknown option\(s\) block_sise; did you mean block_size"),
])
def test_bad_csv_corpora_are_one_line(tmp_path, csv, spec, message):
    path = tmp_path / "t.csv"
    path.write_text(csv)
    with pytest.raises(DataError, match=message):
        load_dataset(f"csv:{path}{spec}")


def test_new_text_read_as_a_trained_run_read_its_own(tmp_path):
    write_docs(tmp_path / "corpus")
    trained = load_dataset(f"text:{tmp_path / 'corpus'}", tokenizer="bpe", vocab_size=280, block_size=16)
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "a.txt").write_text("document word word")
    (tmp_path / "new" / "b.md").write_text("word document")
    new = load_dataset(f"text:{tmp_path / 'new'}", fitted=trained.meta)
    tok = tokenizer_from_json(trained.meta.extra["tokenizer"])
    expected = [tok.eot_id, *tok.encode("document word word"), tok.eot_id, *tok.encode("word document"), tok.eot_id]
    assert unpack_blocks(new.test) == expected and len(new.train) == len(new.valid) == 0
    assert new.meta.extra["bytes"]["test"] == len("document word word") + len("word document") + 2
    assert new.meta.extra["tokenizer"] == trained.meta.extra["tokenizer"] and new.test.x.shape[1] == 16
