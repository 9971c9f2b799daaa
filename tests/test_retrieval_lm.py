"""Retrieval-augmented LM evaluation (Ram et al. 2023): exact scoring of every target once, the sliding
window equal to one full-context pass, and perplexity falling when the answer is only in the datastore."""

from __future__ import annotations

import json
import math
import random

import pytest
import torch
import torch.nn.functional as F

from deepzoo import api
from deepzoo.cli import main
from deepzoo.data.tokenizers import CharTokenizer
from deepzoo.errors import ConfigError
from deepzoo.models.gpt import GPT
from deepzoo.text.retrieval_lm import (
    Datastore,
    RetrievalSettings,
    retrieval_evaluation,
    retrieval_prefix,
    split_documents_at,
    strided_nll,
)

from .conftest import QUIET

pytestmark = pytest.mark.usefixtures("one_thread")


class CopyModel(torch.nn.Module):
    """A causal 'model' that predicts, at each position, the token that followed the latest earlier
    occurrence of the last three tokens (logit 6 for it), else nothing (uniform): an induction head by hand."""

    def __init__(self, vocab_size: int):
        super().__init__()
        self.vocab_size = vocab_size

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(*idx.shape, self.vocab_size)
        for n, row in enumerate(idx.tolist()):
            seen: dict[tuple[int, ...], int] = {}
            for i in range(2, len(row)):
                context = tuple(row[i - 2:i + 1])
                if context in seen:
                    logits[n, i, seen[context]] = 6.0
                if i + 1 < len(row):
                    seen[context] = row[i + 1]
        return logits


def facts(rng: random.Random, count: int) -> list[tuple[str, str]]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return [("".join(rng.choices(letters, k=6)), "".join(rng.choices(letters, k=12))) for _ in range(count)]


def test_a_uniform_model_scores_every_target_once_at_the_vocabulary_size():
    tokenizer = CharTokenizer.train(["the quick brown fox"])
    stream = [tokenizer.eot_id, *tokenizer.encode("the quick brown fox jumps"), tokenizer.eot_id]
    vocab = tokenizer.vocab_size

    class Uniform(torch.nn.Module):
        def forward(self, idx):
            return torch.zeros(*idx.shape, vocab)

    uniform = Uniform()
    result = retrieval_evaluation(uniform, tokenizer, stream, ["the quick brown fox"], block_size=16,
                                  settings=RetrievalSettings(stride=3, query_tokens=8), num_bytes=26)
    assert result["tokens"] == len(stream) - 1
    assert result["perplexity_no_retrieval"] == pytest.approx(tokenizer.vocab_size)
    assert result["perplexity_retrieval"] == pytest.approx(tokenizer.vocab_size)
    assert result["bpb_no_retrieval"] == pytest.approx((len(stream) - 1) * math.log2(tokenizer.vocab_size) / 26)


def test_sliding_window_without_retrieval_equals_one_full_context_pass():
    torch.manual_seed(0)
    model = GPT(vocab_size=11, block_size=64, n_layer=2, n_head=2, n_embd=16).eval()
    stream = torch.randint(0, 11, (40,)).tolist()
    with torch.no_grad():
        expected = F.cross_entropy(model(torch.tensor([stream[:-1]]))[0], torch.tensor(stream[1:]), reduction="sum")
    for stride, batch in ((1, 7), (4, 3), (5, 32)):
        nll, count = strided_nll(model, stream, 64, stride, batch_size=batch)
        assert count == 39
        assert nll == pytest.approx(float(expected), rel=1e-5)


def test_a_short_block_slides_and_keeps_block_size_tokens_of_history():
    """With a block of 8 and stride 2, the chunk at target s sees at most 8 inputs ending at s + 1 − 1."""
    seen = []

    class Recorder(torch.nn.Module):
        def forward(self, idx):
            seen.extend(idx.tolist())
            return torch.zeros(*idx.shape, 50)

    strided_nll(Recorder(), list(range(20)), 8, 2, batch_size=1)
    assert seen[0] == [0, 1] and seen[3] == [0, 1, 2, 3, 4, 5, 6, 7] and seen[-1] == list(range(11, 19))
    assert all(len(window) <= 8 for window in seen)


def test_perplexity_falls_when_the_answer_is_only_in_the_datastore():
    rng = random.Random(0)
    known = facts(rng, 30)
    datastore_docs = [f"the code of {key} is {value}." for key, value in known]
    held_out = " ".join(f"the code of {key} is {value}." for key, value in known[:8])
    tokenizer = CharTokenizer.train(datastore_docs + [held_out])
    stream = [tokenizer.eot_id, *tokenizer.encode(held_out), tokenizer.eot_id]
    model = CopyModel(tokenizer.vocab_size)
    settings = RetrievalSettings(stride=4, query_tokens=16, k=1)
    result = retrieval_evaluation(model, tokenizer, stream, datastore_docs, 128, settings, len(held_out) + 2)
    assert result["passage_tokens"] == 32 and result["chunks"] == sum(math.ceil(len(d) / 32) for d in datastore_docs)
    assert result["perplexity_retrieval"] < 0.6 * result["perplexity_no_retrieval"]
    # retrieval from a datastore without the facts changes nothing the copy model can use
    unrelated = ["some other text entirely, with no codes in it at all."]
    control = retrieval_evaluation(model, tokenizer, stream, unrelated, 128, settings, len(held_out) + 2)
    assert control["perplexity_retrieval"] > 0.95 * control["perplexity_no_retrieval"]


def test_prefix_puts_the_best_passage_last_and_fits_the_budget():
    tokenizer = CharTokenizer.train(["alpha beta gamma delta"])
    store = Datastore(["alpha alpha beta", "gamma delta", "alpha"], tokenizer, chunk_tokens=100)
    history = tokenizer.encode("alpha beta")
    prefix = retrieval_prefix(store, history, RetrievalSettings(k=2), budget=100, eot_id=tokenizer.eot_id)
    best, second = store.passages("alpha beta", 2)
    assert best == tokenizer.encode("alpha alpha beta")
    assert prefix == [*second, tokenizer.eot_id, *best, tokenizer.eot_id]
    assert retrieval_prefix(store, history, RetrievalSettings(k=2), budget=5, eot_id=0) == prefix[-5:]
    assert retrieval_prefix(store, tokenizer.encode("zeta"), RetrievalSettings(), 100, 0) == []


def test_settings_and_documents():
    with pytest.raises(ConfigError, match="--stride 40: at most 32 for a block of 128"):
        RetrievalSettings(stride=40).check(128)
    with pytest.raises(ConfigError, match="--k 0: must be at least 1"):
        RetrievalSettings(k=0).check(128)
    assert split_documents_at([0, 5, 6, 0, 0, 7, 0, 8], 0) == [[5, 6], [7], [8]]


def test_evaluate_retrieval_command_on_a_tiny_trained_run(runs, tmp_path, capsys):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for i in range(10):
        (folder / f"{i:02d}.txt").write_text(f"the cat {'sat' if i % 2 else 'ran'} on the mat {i}. " * (2 + i % 3))
    run = api.train("gpt_nano", f"text:{folder}?block_size=32", name="lm", epochs=1, echo=lambda *a: None,
                    overrides=[*QUIET, "model.args.n_layer=1", "model.args.n_head=2", "model.args.n_embd=16",
                               "task_args.ngram=0"])
    assert main(["evaluate", "lm", "--retrieval", "train", "--stride", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    meta = json.loads((run.dir / "meta.json").read_text())
    assert result["test/tokens"] == meta["extra"]["tokens"]["test"]
    assert result["test/passage_tokens"] == 8
    for kind in ("no_retrieval", "retrieval"):
        nll = math.log(result[f"test/perplexity_{kind}"]) * result["test/tokens"]
        assert result[f"test/bpb_{kind}"] == pytest.approx(nll / math.log(2) / meta["extra"]["bytes"]["test"])
    assert main(["evaluate", "lm", "--retrieval", f"text:{folder}"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"evaluation of lm on its test documents, BM25 passages from text:{folder} (every 4 tokens, "
                          "query the last 32, k=1)")
    assert "perplexity_retrieval" in out and "perplexity_no_retrieval" in out
    assert main(["evaluate", "lm", "--retrieval", "wiki"]) == 2
    assert capsys.readouterr().err.strip() == ("deepzoo: error: --retrieval wiki: give train (the run's training "
                                               "documents) or text:FILE_OR_DIR")
