"""Text corpora for language models: documents in, blocks of token ids out.

Sources (each yields documents, one per file, CSV row or topic):

* ``text:FILE_OR_DIR`` — a ``.txt``/``.md`` file, or a folder searched recursively for them, one
  document per file;
* ``csv:FILE?text=COLUMN`` — one document per row of a CSV column (the csv format's ``text`` option);
* ``python-docs`` — the documentation topics that ship with CPython (``pydoc_data.topics``: 79 topics,
  about 0.46 MB of English prose written by Python's documenters), one document per topic.

:func:`text_bundle` splits the documents into train/valid/test **by document** (seeded), so no held-out
document shares a sentence with training; fits the tokenizer on the training documents only
(``tokenizer=char|bpe|PATH`` — a ``tokenizer.json`` file such as a run's or GPT-2's —, ``vocab_size`` for
BPE); and packs each split into fixed-length blocks. A split's stream is ``<eot> doc₁ <eot> doc₂ <eot> …``;
block *i* is the ``block_size + 1`` tokens from position ``i·block_size``, its first ``block_size`` the
input and its last ``block_size`` the target, so every token after the first is a target exactly once.
The last block is padded: inputs with ``<eot>``, targets with −100 (ignored by the loss and the metrics).

``meta.extra`` carries what the ``lm`` recipe and its metrics need: the tokenizer (``tokenizer``, its
JSON), ``block_size``, ``eot_id`` and, per split, ``documents``, ``tokens`` (targets) and ``bytes`` — the
UTF-8 bytes of the split's documents plus one per document for its end-of-text boundary, the denominator
of bits per byte.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import DataError
from . import DATASETS, FORMATS
from .build import _float, option_names, reject_unknown
from .bundle import DataBundle, DatasetMeta, TensorSplit
from .formats_common import existing_file, int_option
from .tokenizers import TOKENIZER_KINDS, Tokenizer, tokenizer_from_file, tokenizer_from_json, train_tokenizer

TEXT_SUFFIXES = (".txt", ".md")
#: what the targets of a padded block hold past the end of the split (``F.cross_entropy``'s ignore_index)
IGNORE = -100
DEFAULT_BLOCK_SIZE = 128
DEFAULT_VOCAB_SIZE = 1024


@dataclass(frozen=True)
class Document:
    """One document: where it came from (a file, ``file row N``, a topic) and its text."""

    source: str
    text: str


# -- reading documents -----------------------------------------------------------------------------


def read_text_file(path: Path) -> Document:
    """A UTF-8 text file as one document; an empty (or blank) file or undecodable bytes fail in one line
    naming the file (and the byte offset)."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: is not UTF-8 text (undecodable byte 0x{data[err.start]:02x} at byte offset "
                        f"{err.start})") from None
    if not text.strip():
        raise DataError(f"{path}: the file is empty" if not data else f"{path}: the file holds only white space")
    return Document(str(path), text)


def text_documents(path: str) -> list[Document]:
    """``path``'s documents: the file itself, or every ``.txt``/``.md`` file under the folder (sorted)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.suffix.lower() in TEXT_SUFFIXES and f.is_file())
        if not files:
            raise DataError(f"{path}: the folder holds no {' or '.join(TEXT_SUFFIXES)} files")
        return [read_text_file(f) for f in files]
    return [read_text_file(existing_file(path))]


def csv_documents(path: str, column: str, delimiter: str | None = None) -> list[Document]:
    """One document per row of ``column``; a missing column or an empty or NaN cell names the row."""
    from .formats_common import quote
    from .formats_table import read_csv_table

    table = read_csv_table(path, delimiter)
    if column not in table.header:
        raise DataError(f"{path}: no column {quote(column)} for text= (columns: {', '.join(map(quote, table.header))})")
    documents = []
    for cell, line in zip(table.column(column), table.lines):
        if not cell.strip() or cell.strip().lower() == "nan":
            raise DataError(f"{path}: line {line}: column {quote(column)} is empty ({quote(cell)}); "
                            "every row must hold a document")
        documents.append(Document(f"{path} line {line}", cell))
    if not documents:
        raise DataError(f"{path}: has a header but no rows")
    return documents


def python_docs_documents() -> list[Document]:
    """The documentation topics that ship with CPython, one document per topic, in name order."""
    from pydoc_data.topics import topics

    return [Document(f"python-docs:{name}", topics[name]) for name in sorted(topics)]


# -- splitting, tokenizing, packing ----------------------------------------------------------------


def split_documents(count: int, seed: int, valid_fraction: float, test_fraction: float,
                    source: str) -> dict[str, np.ndarray]:
    """Indices of the train/valid/test documents: a seeded shuffle, then ⌈test_fraction·n⌉ documents for
    test and ⌈valid_fraction·rest⌉ for valid; at least one document must be left to train on."""
    order = np.random.default_rng(seed).permutation(count)
    n_test = math.ceil(test_fraction * count)
    n_valid = math.ceil(valid_fraction * (count - n_test))
    if count - n_test - n_valid < 1:
        raise DataError(f"{source}: {count} document(s) are too few to hold out test_fraction={test_fraction} and "
                        f"valid_fraction={valid_fraction} by document; give more documents (files, rows) or set "
                        "them to 0")
    return {"test": np.sort(order[:n_test]), "valid": np.sort(order[n_test:n_test + n_valid]),
            "train": np.sort(order[n_test + n_valid:])}


def token_stream(documents: list[Document], tokenizer: Tokenizer) -> list[int]:
    """``<eot> doc₁ <eot> doc₂ <eot> …``: every document is predicted from the boundary, and ends in it."""
    stream = [tokenizer.eot_id]
    for document in documents:
        stream += tokenizer.encode(document.text)
        stream.append(tokenizer.eot_id)
    return stream


def pack_blocks(stream: list[int], block_size: int, eot_id: int) -> TensorSplit:
    """Inputs ``x`` and targets ``y`` (both (blocks, block_size), int64): block *i* reads
    ``stream[i·B : i·B + B]`` and predicts ``stream[i·B + 1 : i·B + B + 1]``; the last block is padded
    (inputs with ``eot_id``, targets with :data:`IGNORE`)."""
    targets = len(stream) - 1
    blocks = max(1, math.ceil(targets / block_size))
    tokens = torch.tensor(stream, dtype=torch.int64)
    x = torch.full((blocks * block_size,), eot_id, dtype=torch.int64)
    y = torch.full((blocks * block_size,), IGNORE, dtype=torch.int64)
    x[:targets] = tokens[:-1]
    y[:targets] = tokens[1:]
    return TensorSplit(x.view(blocks, block_size), y.view(blocks, block_size))


def unpack_blocks(split: TensorSplit | None) -> list[int]:
    """The token stream :func:`pack_blocks` packed: the first block's first input, then every target."""
    if split is None or not len(split):
        return []
    y = split.y.flatten()
    return [int(split.x[0, 0]), *y[y != IGNORE].tolist()]


def split_bytes(documents: list[Document]) -> int:
    """The UTF-8 bytes bits per byte divides by: each document's, plus one for its end-of-text boundary."""
    return sum(len(d.text.encode("utf-8")) + 1 for d in documents)


def tokenizer_option(value: str, source: str) -> str:
    """``char``, ``bpe`` or the path of a ``tokenizer.json`` file; checked before any text is read."""
    if value in TOKENIZER_KINDS or Path(value).suffix == ".json" or Path(value).is_file():
        return value
    raise DataError(f"{source}: option tokenizer={value!r} is not one of {', '.join(TOKENIZER_KINDS)} or a "
                    "tokenizer.json file")


def choose_tokenizer(kind: str, texts: list[str], vocab_size: int) -> Tokenizer:
    """``char`` or ``bpe`` fitted on ``texts``, or the tokenizer saved in the file ``kind`` names."""
    return train_tokenizer(kind, texts, vocab_size) if kind in TOKENIZER_KINDS else tokenizer_from_file(kind)


def text_bundle(name: str, documents: list[Document], seed: int | str = 0, valid_fraction: float | str | None = None,
                test_fraction: float | str | None = None, tokenizer: str = "char",
                vocab_size: int | str = DEFAULT_VOCAB_SIZE, block_size: int | str = DEFAULT_BLOCK_SIZE,
                fitted: DatasetMeta | None = None, **unused: Any) -> DataBundle:
    """Split ``documents`` by document, fit the tokenizer on the training ones and pack every split into
    blocks (see the module's docstring); with a trained run's ``fitted`` metadata, every document becomes
    the test split, read with the run's tokenizer and block size.

    Options: ``seed`` (0), ``valid_fraction`` (0.2 of what test leaves), ``test_fraction`` (0.2),
    ``tokenizer`` (char), ``vocab_size`` (1024, BPE only), ``block_size`` (128, the model's context)."""
    reject_unknown(unused, name, option_names(text_bundle))
    if fitted is not None:
        return _fitted_bundle(name, documents, fitted)
    seed = int_option(seed, "seed", name)
    valid = _float(valid_fraction, 0.2, "valid_fraction", name)
    test = _float(test_fraction, 0.2, "test_fraction", name)
    block = int_option(block_size, "block_size", name, minimum=1)
    vocab = int_option(vocab_size, "vocab_size", name, minimum=1)
    kind = tokenizer_option(str(tokenizer), name)
    index = split_documents(len(documents), seed, valid, test, name)
    parts = {split: [documents[i] for i in rows] for split, rows in index.items()}
    tok = choose_tokenizer(kind, [d.text for d in parts["train"]], vocab)
    streams = {split: token_stream(docs, tok) for split, docs in parts.items()}
    have = len(streams["train"])
    if have < block + 1:
        raise DataError(f"{name}: the training documents hold {have} tokens (with the end-of-text tokens); one block "
                        f"needs block_size + 1 = {block + 1} (lower block_size or give more text)")
    splits = {split: pack_blocks(stream, block, tok.eot_id) if len(parts[split]) else _no_blocks(block)
              for split, stream in streams.items()}
    extra = {
        "tokenizer": tok.to_json(), "tokenizer_name": tok.describe(), "block_size": block, "eot_id": tok.eot_id,
        "documents": {split: len(docs) for split, docs in parts.items()},
        "tokens": {split: len(streams[split]) - 1 if parts[split] else 0 for split in parts},
        "bytes": {split: split_bytes(docs) for split, docs in parts.items()},
    }
    meta = DatasetMeta(name=name, task="lm", input_shape=(block,), num_classes=tok.vocab_size,
                       task_reason="text: next-token prediction", extra=extra)
    return DataBundle(splits["train"], splits["valid"], splits["test"], meta)


def _no_blocks(block_size: int) -> TensorSplit:
    """An empty split (no documents held out)."""
    empty = torch.empty((0, block_size), dtype=torch.int64)
    return TensorSplit(empty, empty.clone())


def _fitted_bundle(name: str, documents: list[Document], meta: DatasetMeta) -> DataBundle:
    """Every document as the test split, tokenized and packed as the trained run's data was."""
    if not isinstance(meta, DatasetMeta) or "tokenizer" not in meta.extra:
        raise DataError(f"{name}: option fitted takes a language-model run's metadata "
                        "(deepzoo evaluate --data sets it)")
    tok = tokenizer_from_json(meta.extra["tokenizer"], f"{name} (the run's tokenizer)")
    block = int(meta.extra["block_size"])
    stream = token_stream(documents, tok)
    empty = _no_blocks(block)
    counts = {"documents": {"test": len(documents)}, "tokens": {"test": len(stream) - 1},
              "bytes": {"test": split_bytes(documents)}}
    test = pack_blocks(stream, block, tok.eot_id)
    return DataBundle(empty, empty, test, replace(meta, extra={**meta.extra, **counts}))


def load_tokenizer(meta: DatasetMeta) -> Tokenizer:
    """The tokenizer a language-model bundle (or a run's ``meta.json``) was made with."""
    return tokenizer_from_json(meta.extra["tokenizer"], f"{meta.name} (tokenizer)")


@DATASETS.register("python-docs", kind="text", summary="CPython's documentation topics (pydoc_data): 79 "
                                                      "documents, 0.46 MB of English prose, for language models")
def python_docs(**options: Any) -> DataBundle:
    """:func:`python_docs_documents` split and packed by :func:`text_bundle`."""
    return text_bundle("python-docs", python_docs_documents(), **options)


@FORMATS.register("text", summary="a .txt/.md file or a folder of them (recursive), one document per file, "
                                  "for language models; ?tokenizer=char|bpe|FILE.json, vocab_size=, block_size=")
def text_format(path: str, **options: Any) -> DataBundle:
    """Text files as documents (:func:`text_documents`), split and packed by :func:`text_bundle`."""
    return text_bundle(path, text_documents(path), **options)
