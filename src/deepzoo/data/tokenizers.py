"""Tokenizers for language models: characters, and byte-level BPE trained on the user's corpus.

Every tokenizer has the same small interface — ``encode(str) -> list[int]``, ``decode(list[int]) -> str``,
``vocab_size``, ``eot_id`` (the end-of-text token that separates documents) and ``to_json()`` — so a
recipe, ``deepzoo sample`` or a retrieval loop never asks which kind it holds. Both are fitted on the
training split only and saved with the run as ``tokenizer.json``; :func:`tokenizer_from_json` reads
either kind back, and :func:`tokenizer_from_file` any Hugging Face ``tokenizer.json`` (GPT-2's own among
them).

* :class:`CharTokenizer`: one id per character seen in training (nanoGPT's ``shakespeare_char``), plus
  ``<|endoftext|>`` (id 0) and ``<unk>`` (id 1). A character that the training text never held — in a
  held-out document or a prompt — becomes ``<unk>`` and decodes as U+FFFD (�), so text outside the
  training alphabet does not round-trip; text inside it does, exactly.
* :class:`BPETokenizer`: byte-level byte-pair encoding (Sennrich et al. 2016; byte-level as GPT-2,
  Radford et al. 2019 §2.2) through the Hugging Face ``tokenizers`` library: the 256 byte symbols are
  always in the vocabulary, so every UTF-8 text encodes without an unknown token and decodes back
  exactly. ``vocab_size`` counts the bytes, ``<|endoftext|>`` and the learned merges.

Decoding drops ``<|endoftext|>`` (as ``tokenizers`` does by default) for both kinds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import DataError

#: the end-of-text token GPT-2 uses between documents; both kinds here use the same text
EOT = "<|endoftext|>"
UNK = "<unk>"
#: what an unknown character decodes to (the Unicode replacement character)
REPLACEMENT = "\ufffd"
#: the smallest BPE vocabulary: the 256 byte symbols and the end-of-text token
BYTE_VOCAB = 257
TOKENIZER_KINDS = ("char", "bpe")


class CharTokenizer:
    """Characters as tokens: ids 0 and 1 are ``<|endoftext|>`` and ``<unk>``, then the training text's
    characters in code-point order."""

    kind = "char"

    def __init__(self, chars: Iterable[str]):
        self.chars = sorted(set(chars))
        self.ids = {c: i + 2 for i, c in enumerate(self.chars)}
        self.eot_id, self.unk_id = 0, 1

    @classmethod
    def train(cls, texts: Iterable[str]) -> CharTokenizer:
        """The tokenizer whose alphabet is every character of ``texts``."""
        seen: set[str] = set()
        for text in texts:
            seen.update(text)
        return cls(seen)

    @property
    def vocab_size(self) -> int:
        return len(self.chars) + 2

    def encode(self, text: str) -> list[int]:
        """One id per character; characters outside the alphabet become ``<unk>``."""
        ids, unk = self.ids, self.unk_id
        return [ids.get(c, unk) for c in text]

    def decode(self, ids: Iterable[int]) -> str:
        """The characters of ``ids``; ``<unk>`` as U+FFFD, ``<|endoftext|>`` left out."""
        chars = [REPLACEMENT, *self.chars]
        return "".join(chars[i - 1] for i in ids if i != self.eot_id)

    def to_json(self) -> str:
        """What :func:`tokenizer_from_json` reads back."""
        return json.dumps({"type": "char", "special": [EOT, UNK], "chars": "".join(self.chars)}, ensure_ascii=False)

    def describe(self) -> str:
        return f"characters ({self.vocab_size} ids: {len(self.chars)} characters, {EOT}, {UNK})"


class BPETokenizer:
    """A Hugging Face ``tokenizers.Tokenizer`` (byte-level BPE) behind the shared interface."""

    kind = "bpe"

    def __init__(self, tokenizer: Any, source: str = "trained"):
        self.tokenizer = tokenizer
        self.source = source
        eot = tokenizer.token_to_id(EOT)
        if eot is None:
            raise DataError(f"{source}: the tokenizer has no {EOT} token to separate documents")
        self.eot_id = eot

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int, min_frequency: int = 2) -> BPETokenizer:
        """Byte-level BPE learned from ``texts``: merges are added, most frequent pair first, until the
        vocabulary holds ``vocab_size`` tokens (fewer when no pair occurs ``min_frequency`` times)."""
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        if vocab_size < BYTE_VOCAB:
            raise DataError(f"vocab_size={vocab_size}: byte-level BPE needs at least {BYTE_VOCAB} "
                            f"(256 bytes and {EOT})")
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=[EOT],
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
        tokenizer.train_from_iterator(texts, trainer=trainer)
        return cls(tokenizer)

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text).ids

    def decode(self, ids: Iterable[int]) -> str:
        return self.tokenizer.decode(list(ids))

    def to_json(self) -> str:
        """The Hugging Face ``tokenizer.json`` text (readable by ``tokenizers`` and ``transformers``)."""
        return self.tokenizer.to_str()

    def describe(self) -> str:
        return f"byte-level BPE ({self.vocab_size} ids, {self.source})"


Tokenizer = CharTokenizer | BPETokenizer


def train_tokenizer(kind: str, texts: list[str], vocab_size: int) -> Tokenizer:
    """A ``char`` or ``bpe`` tokenizer fitted on ``texts`` (the training documents)."""
    if kind == "char":
        return CharTokenizer.train(texts)
    return BPETokenizer.train(texts, vocab_size)


def tokenizer_from_json(text: str, source: str = "tokenizer.json") -> Tokenizer:
    """The tokenizer that ``to_json()`` wrote (either kind), or any Hugging Face ``tokenizer.json``
    that has an ``<|endoftext|>`` token; ``source`` names it in errors."""
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"{source}: is not JSON ({err.msg} at line {err.lineno})") from None
    if isinstance(spec, dict) and spec.get("type") == "char":
        chars = spec.get("chars")
        if not isinstance(chars, str):
            raise DataError(f"{source}: a character tokenizer needs its characters as one string")
        return CharTokenizer(chars)
    from tokenizers import Tokenizer as HFTokenizer

    try:
        return BPETokenizer(HFTokenizer.from_str(text), source)
    except Exception as err:  # noqa: BLE001 - the library's parse errors have no common class
        raise DataError(f"{source}: is not a tokenizer file ({str(err).splitlines()[0]})") from None


def tokenizer_from_file(path: str | Path) -> Tokenizer:
    """The tokenizer saved in ``path`` (a run's ``tokenizer.json``, or GPT-2's)."""
    from .formats_common import existing_file

    p = existing_file(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot be read ({err})") from None
    return tokenizer_from_json(text, str(path))
