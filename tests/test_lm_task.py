"""The ``lm`` task: perplexity and bits per byte over whole splits, the Kneser-Ney baseline, a tiny GPT
trained end to end (the tokenizer saved and loaded with the run), and resume."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from deepzoo import api
from deepzoo.config import RunConfig, apply_overrides
from deepzoo.data import load_dataset
from deepzoo.data.text import unpack_blocks
from deepzoo.data.tokenizers import tokenizer_from_file
from deepzoo.errors import ConfigError
from deepzoo.recipes.language_model import LanguageModelRecipe
from deepzoo.text.ngram import KneserNeyLM

from .conftest import QUIET
from .test_gpt2_weights import checkpoint, place_in_hub_cache  # noqa: F401 - a fixture

pytestmark = pytest.mark.usefixtures("one_thread")

TINY_GPT = ["model.args.n_layer=1", "model.args.n_head=2", "model.args.n_embd=16", "train.batch_size=8"]
SILENT = {"echo": lambda *a: None}


@pytest.fixture
def corpus(tmp_path):
    """Twelve short documents with a shared vocabulary of characters."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for i in range(12):
        (folder / f"{i:02d}.txt").write_text(f"the cat {'sat' if i % 2 else 'ran'} on the mat {i}. " * (3 + i % 4))
    return folder


def recipe_for(spec: str, *overrides: str) -> LanguageModelRecipe:
    config = RunConfig()
    config.model.name = "gpt_nano"
    config.data.spec = spec
    apply_overrides(config, [*TINY_GPT, *overrides])
    data = load_dataset(spec, **config.data.options)
    return LanguageModelRecipe(config, data)


class Uniform(nn.Module):
    """Equal logits for every token: probability 1/V each."""

    def __init__(self, vocab: int):
        super().__init__()
        self.vocab = vocab

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return torch.zeros(*idx.shape, self.vocab)


def test_a_uniform_model_has_the_vocabulary_size_as_perplexity(corpus):
    recipe = recipe_for(f"text:{corpus}", "data.options.block_size=16")
    vocab, extra = recipe.data.meta.num_classes, recipe.data.meta.extra
    recipe.net = Uniform(vocab)
    metrics = recipe.evaluate(recipe.loader("test", 3), "test")
    assert metrics["perplexity"] == pytest.approx(vocab, rel=1e-6)  # float32 log-softmax
    # bits per byte: log2(V) bits for each of the split's tokens over its bytes
    assert metrics["bpb"] == pytest.approx(extra["tokens"]["test"] * math.log2(vocab) / extra["bytes"]["test"])


def test_perplexity_is_of_the_whole_split_whatever_the_batches(corpus):
    recipe = recipe_for(f"text:{corpus}", "data.options.block_size=16")
    recipe.setup(torch.device("cpu"))
    recipe.model.eval()
    test = recipe.data.test
    logits = recipe.model(test.x)
    keep = test.y != -100
    expected = math.exp(nn.functional.cross_entropy(logits[keep], test.y[keep]).item())
    by_one, by_all = (recipe.evaluate(recipe.loader("test", size), "test") for size in (1, 1000))
    assert by_one["perplexity"] == pytest.approx(expected, rel=1e-5)
    assert by_all["perplexity"] == pytest.approx(expected, rel=1e-5)
    assert int(keep.sum()) == recipe.data.meta.extra["tokens"]["test"]


def test_kneser_ney_matches_its_formula_on_a_toy_stream():
    stream = [0, 1, 2, 1, 2, 1, 3]
    vocab = 5
    lm = KneserNeyLM(2, vocab, pad_id=0).fit(stream)
    # bigrams (0 padded first): 00 01 12 21 12 21 13 → c(1·) = {2: 2, 3: 1}; counted once: 00 01 13 (3),
    # twice: 12 21 (2) → D₂ = 3 / (3 + 2·2) = 3/7
    d2 = 3 / 7
    # unigram continuation counts: how many different tokens precede each: 0 ← {0}, 1 ← {0, 2}, 2 ← {1},
    # 3 ← {1} → N = 5, once: 0 2 3, twice: 1 → D₁ = 3 / (3 + 2) = 3/5, 4 types
    d1 = 3 / 5
    unigram = {w: (max(c - d1, 0) + d1 * 4 / vocab) / 5 for w, c in {0: 1, 1: 2, 2: 1, 3: 1, 4: 0}.items()}
    assert lm.probability([1], 2) == pytest.approx((2 - d2 + d2 * 2 * unigram[2]) / 3)
    assert lm.probability([1], 4) == pytest.approx(d2 * 2 * unigram[4] / 3)
    assert lm.probability([4], 1) == pytest.approx(unigram[1])  # unseen history: the lower order
    for history in ([1], [2], [4], [0]):
        assert sum(lm.probability(history, w) for w in range(vocab)) == pytest.approx(1.0)
    nll, count = lm.total_nll([0, 1, 2])
    assert count == 2 and nll == pytest.approx(-math.log(lm.probability([0], 1)) - math.log(lm.probability([1], 2)))


def test_kneser_ney_trigram_sums_to_one_and_beats_unigrams_on_text():
    text = "the cat sat on the mat and the cat ran to the hat " * 20
    ids = [ord(c) - 32 for c in text]
    trigram = KneserNeyLM(3, 96).fit(ids[:800])
    unigram = KneserNeyLM(1, 96).fit(ids[:800])
    for history in (ids[10:12], [0, 0], [90, 91]):
        assert sum(trigram.probability(history, w) for w in range(96)) == pytest.approx(1.0)
    held = ids[800:]
    assert trigram.total_nll(held)[0] < 0.5 * unigram.total_nll(held)[0]
    counts = Counter(ids[:800])
    assert unigram.probability([], ord("t") - 32) > unigram.probability([], ord("z") - 32)
    assert counts[ord("z") - 32] == 0


def test_a_tiny_gpt_trains_and_its_run_keeps_the_tokenizer(runs, corpus):
    run = api.train("gpt_nano", f"text:{corpus}?block_size=16&tokenizer=bpe&vocab_size=270", name="lm", epochs=2,
                    overrides=QUIET + TINY_GPT, **SILENT)
    metrics = run.summary["metrics"]
    for key in ("valid/perplexity", "test/perplexity", "test/bpb", "test/ngram_perplexity", "test/ngram_bpb",
                "valid/ngram_bpb"):
        assert math.isfinite(metrics[key]), key
    assert metrics["test/perplexity"] < 270  # better than uniform after two epochs
    assert metrics["test/loss"] == pytest.approx(math.log(metrics["test/perplexity"]))
    config = run.config
    assert (config.optim.name, config.sched.name, config.train.grad_clip) == ("adamw", "cosine", 1.0)
    saved = tokenizer_from_file(run.dir / "tokenizer.json")
    loaded = api.load_run(run.dir, with_data=False)
    text = "the cat sat on the hat"
    assert saved.vocab_size == 270 and loaded.recipe.tokenizer.encode(text) == saved.encode(text)
    assert loaded.recipe.model.wte.weight.shape[0] == 270 if hasattr(loaded.recipe.model, "wte") else True
    evaluated = api.evaluate(run.dir)
    assert evaluated["test/perplexity"] == pytest.approx(metrics["test/perplexity"], rel=1e-5)


def test_the_ngram_baseline_scores_the_same_tokens(corpus):
    recipe = recipe_for(f"text:{corpus}", "data.options.block_size=16", "task_args.ngram=2")
    metrics = recipe.on_train_end(None)
    data = recipe.data
    lm = KneserNeyLM(2, data.meta.num_classes).fit(unpack_blocks(data.train))
    nll, count = lm.total_nll(unpack_blocks(data.test))
    assert count == data.meta.extra["tokens"]["test"]
    assert metrics["test/ngram_perplexity"] == pytest.approx(math.exp(nll / count))
    assert metrics["test/ngram_bpb"] == pytest.approx(nll / math.log(2) / data.meta.extra["bytes"]["test"])


def test_a_resumed_run_matches_an_uninterrupted_one(runs, corpus):
    spec = f"text:{corpus}?block_size=16"
    extra = QUIET + TINY_GPT + ["sched.name=none"]  # a cosine schedule spans train.epochs, which resuming changes
    api.train("gpt_nano", spec, name="cut", epochs=1, overrides=extra, **SILENT)
    resumed = api.train(name="cut", resume=True, epochs=2, **SILENT)
    straight = api.train("gpt_nano", spec, name="straight", epochs=2, overrides=extra, **SILENT)
    a, b = load_file(str(resumed.dir / "model.safetensors")), load_file(str(straight.dir / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)


def test_lm_task_errors_are_one_line(corpus):
    with pytest.raises(ConfigError, match="exceed gpt_nano's context of 8"):
        recipe_for(f"text:{corpus}", "data.options.block_size=16", "model.args.block_size=8")
    with pytest.raises(ConfigError, match="task lm trains on text"):
        config = RunConfig()
        config.model.name = "gpt_nano"
        LanguageModelRecipe(config, load_dataset("moons"))


def test_fine_tuning_gpt2_weights_reads_the_data_with_gpt2s_tokenizer(runs, corpus, checkpoint, monkeypatch):  # noqa: F811
    monkeypatch.setenv("DEEPZOO_OFFLINE", "1")
    snapshot = place_in_hub_cache(checkpoint[0])
    overrides = QUIET + ["model.weights=hf:gpt2", "train.batch_size=8"]
    with pytest.raises(ConfigError, match=f"data.options.tokenizer={snapshot / 'tokenizer.json'}"):
        api.train("gpt2", f"text:{corpus}?block_size=16", name="bad", epochs=1, overrides=overrides, **SILENT)
    spec = f"text:{corpus}?block_size=16&tokenizer={snapshot / 'tokenizer.json'}"
    run = api.train("gpt2", spec, name="tuned", epochs=1, overrides=overrides, **SILENT)
    assert run.config.model.args == {"block_size": 32, "n_layer": 2, "n_head": 3, "n_embd": 24}  # the file's sizes
    loaded = api.load_run(run.dir, with_data=False)  # rebuilt from config.yaml, without the hub
    assert loaded.recipe.tokenizer.to_json() == checkpoint[2].to_json()
    assert api.evaluate(run.dir)["test/perplexity"] == pytest.approx(run.summary["metrics"]["test/perplexity"])
