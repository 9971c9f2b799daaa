"""GPT-2 weights by name (models/gpt_weights.py): a small GPT-2-shaped checkpoint written by ``transformers``
into the Hugging Face hub's cache layout loads into deepzoo's GPT with transformers' logits; its tokenizer
reads back; a missing cache offline and a wrong-shaped checkpoint are one line each."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from deepzoo.data.tokenizers import BPETokenizer
from deepzoo.errors import ConfigError
from deepzoo.models import create_model
from deepzoo.models.gpt_weights import hub_tokenizer

COMMIT = "0123456789abcdef0123456789abcdef01234567"
TEXT = "The quick brown fox jumps over the lazy dog. " * 20 + "GPT-2 reads bytes: é, 日本, 🙂."


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A 2-layer GPT2LMHeadModel with a random init and a byte-level BPE trained here, saved by
    ``save_pretrained`` (transformers' own file layout and names)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    tokenizer = BPETokenizer.train([TEXT], vocab_size=300)
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=tokenizer.vocab_size, n_positions=32, n_embd=24, n_layer=2, n_head=3)
    reference = GPT2LMHeadModel(config).eval()
    folder = tmp_path_factory.mktemp("gpt2-small-random")
    reference.save_pretrained(folder)
    (folder / "tokenizer.json").write_text(tokenizer.to_json(), encoding="utf-8")
    return folder, reference, tokenizer


def place_in_hub_cache(folder: Path, repo: str = "gpt2", files=("config.json", "model.safetensors",
                                                                 "tokenizer.json")) -> Path:
    """Copy ``files`` into ``$HF_HOME/hub/models--<repo>/snapshots/<commit>/`` with ``refs/main``."""
    root = Path(os.environ["HF_HOME"]) / "hub" / f"models--{repo.replace('/', '--')}"
    snapshot = root / "snapshots" / COMMIT
    snapshot.mkdir(parents=True, exist_ok=True)
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / "main").write_text(COMMIT)
    for name in files:
        shutil.copy(folder / name, snapshot / name)
    return snapshot


def test_logits_equal_transformers_gpt2_on_the_same_ids(checkpoint, monkeypatch):
    monkeypatch.setenv("DEEPZOO_OFFLINE", "1")  # everything comes from the cache
    folder, reference, tokenizer = checkpoint
    place_in_hub_cache(folder)
    model = create_model("gpt2", weights="hf:gpt2").eval()
    assert (model.n_layer, model.n_head, model.n_embd, model.block_size) == (2, 3, 24, 32)
    assert model.lm_head.weight is model.wte.weight
    ids = torch.tensor([tokenizer.encode(TEXT)[:32], tokenizer.encode(TEXT[100:])[:32]])
    with torch.no_grad():
        expected = reference(ids).logits
        torch.testing.assert_close(model(ids), expected, rtol=0, atol=1e-5)


def test_openais_original_layout_loads_too(checkpoint, tmp_path, monkeypatch):
    """OpenAI's files on the hub have no ``transformer.`` prefix and keep the attention-mask buffers."""
    monkeypatch.setenv("DEEPZOO_OFFLINE", "1")
    folder, reference, _ = checkpoint
    state = {k.removeprefix("transformer."): v for k, v in load_file(str(folder / "model.safetensors")).items()}
    for i in range(2):
        state[f"h.{i}.attn.bias"] = torch.tril(torch.ones(1, 1, 32, 32))
    state.pop("lm_head.weight", None)
    for name in ("config.json", "tokenizer.json"):
        shutil.copy(folder / name, tmp_path / name)
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "model.safetensors"))
    place_in_hub_cache(tmp_path, repo="openai-community/gpt2")
    model = create_model("gpt2", weights="hf:openai-community/gpt2").eval()
    ids = torch.arange(20).unsqueeze(0)
    with torch.no_grad():
        torch.testing.assert_close(model(ids), reference(ids).logits, rtol=0, atol=1e-5)


def test_the_tokenizer_round_trips_and_matches_the_files(checkpoint, monkeypatch):
    monkeypatch.setenv("DEEPZOO_OFFLINE", "1")
    folder, _, trained = checkpoint
    place_in_hub_cache(folder, files=("tokenizer.json",))
    tokenizer = hub_tokenizer("hf:gpt2")
    assert tokenizer.vocab_size == trained.vocab_size
    assert tokenizer.encode(TEXT) == trained.encode(TEXT)
    assert tokenizer.decode(tokenizer.encode(TEXT)) == TEXT


def test_offline_without_the_cache_is_one_line_naming_files_urls_and_cache(monkeypatch):
    monkeypatch.setenv("DEEPZOO_OFFLINE", "1")
    with pytest.raises(ConfigError) as err:
        create_model("gpt2", weights="hf:gpt2")
    message = str(err.value)
    cache = Path(os.environ["HF_HOME"]) / "hub" / "models--gpt2"
    assert "\n" not in message
    assert "hf:gpt2 (config.json, model.safetensors, tokenizer.json) is not cached" in message
    assert "https://huggingface.co/gpt2/resolve/main/model.safetensors" in message
    assert f"{cache}/snapshots/COMMIT/" in message


def test_only_the_missing_file_is_named(checkpoint, monkeypatch):
    monkeypatch.setenv("DEEPZOO_OFFLINE", "1")
    place_in_hub_cache(checkpoint[0], files=("config.json", "tokenizer.json"))
    with pytest.raises(ConfigError, match=r"hf:gpt2 \(model.safetensors\) is not cached"):
        create_model("gpt2", weights="hf:gpt2")


def test_a_checkpoint_that_does_not_fit_its_config_is_refused_in_one_line(checkpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPZOO_OFFLINE", "1")
    folder = checkpoint[0]
    config = json.loads((folder / "config.json").read_text())
    config["n_embd"] = 48  # the tensors are 24 wide
    (tmp_path / "config.json").write_text(json.dumps(config))
    for name in ("model.safetensors", "tokenizer.json"):
        shutil.copy(folder / name, tmp_path / name)
    place_in_hub_cache(tmp_path)
    with pytest.raises(ConfigError) as err:
        create_model("gpt2", weights="hf:gpt2")
    assert "\n" not in str(err.value)
    assert "does not fit GPT" in str(err.value) and "is (24) in the file, (48) here" in str(err.value)


def test_sizes_come_from_the_file_and_may_not_clash(checkpoint, monkeypatch):
    monkeypatch.setenv("DEEPZOO_OFFLINE", "1")
    place_in_hub_cache(checkpoint[0])
    with pytest.raises(ConfigError, match=r"n_layer=12 \(the file's is 2\)"):
        create_model("gpt2", weights="hf:gpt2", n_layer=12)
    assert create_model("gpt_nano", weights="hf:gpt2", dropout=0.1).h[0].mlp.dropout.p == 0.1
    with pytest.raises(ConfigError, match="use them with --model gpt2"):
        create_model("mlp", weights="hf:gpt2")
    with pytest.raises(ConfigError, match="name a hub repository"):
        create_model("gpt2", weights="hf:")


def test_deepzoo_sample_with_hub_weights_prints_transformers_greedy_text(checkpoint, monkeypatch, capsys):
    from deepzoo.cli import main

    monkeypatch.setenv("DEEPZOO_OFFLINE", "1")
    folder, reference, tokenizer = checkpoint
    place_in_hub_cache(folder)
    ids = tokenizer.encode("The quick brown")
    with torch.no_grad():  # greedy decoding by transformers' model, step by step
        for _ in range(8):
            ids.append(int(reference(torch.tensor([ids])).logits[0, -1].argmax()))
    argv = ["sample", "--model", "gpt2", "--weights", "hf:gpt2", "--prompt", "The quick brown",
            "--max-new-tokens", "8", "--temperature", "0"]
    assert main(argv) == 0
    assert capsys.readouterr().out == tokenizer.decode(ids) + "\n"
    seeded = [*argv[:-2], "--top-k", "20", "--top-p", "0.9", "--seed", "3", "--n", "2"]
    assert main(seeded) == 0
    first = capsys.readouterr().out
    assert main(seeded) == 0 and capsys.readouterr().out == first and first.count("\n" + "-" * 40 + "\n") == 1
    assert main([*argv[:6], TEXT, "--max-new-tokens", "1"]) == 0
    assert "cropped to its last 32 (the model's block size)" in capsys.readouterr().err
    assert main([*argv, "--out", "folder"]) == 2
    assert "--out is for image samples; a language model's text is printed" in capsys.readouterr().err


def test_deepzoo_sample_mistakes_are_one_line(capsys, monkeypatch):
    from deepzoo.cli import main

    monkeypatch.setenv("DEEPZOO_OFFLINE", "1")

    assert main(["sample", "--model", "gpt2", "--prompt", "x"]) == 2
    assert "needs --weights hf:REPO" in capsys.readouterr().err
    assert main(["sample"]) == 2
    assert "give a run (deepzoo sample RUN) or a pretrained language model" in capsys.readouterr().err
    assert main(["sample", "--model", "gpt2", "--weights", "hf:gpt2", "--temperature", "-1"]) == 2
    assert "temperature=-1.0: must be at least 0" in capsys.readouterr().err
