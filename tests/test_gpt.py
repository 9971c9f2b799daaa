"""The GPT family (models/gpt.py): sizes against the parameter formula and GPT-2's published count, weight
tying, GPT-2's initialisation, causal masking, and the key/value cache against the full forward."""

from __future__ import annotations

import math

import pytest
import torch

from deepzoo.errors import ConfigError
from deepzoo.models import create_model, model_entry
from deepzoo.models._counting import build_on_meta, count_parameters

SIZES = {  # (n_layer, n_head, n_embd, block_size) as each constructor documents them
    "gpt_nano": (4, 4, 128, 128), "gpt_micro": (6, 6, 384, 256), "gpt_mini": (8, 8, 512, 512),
    "gpt2": (12, 12, 768, 1024),
}


def by_hand(vocab: int, block: int, layers: int, width: int) -> int:
    """Every tensor counted one by one (the tied head once): embeddings, per block two layer norms,
    c_attn, attn.c_proj, c_fc, mlp.c_proj (weights and biases), and the final layer norm."""
    block_params = (2 * width + 2 * width + (width * 3 * width + 3 * width) + (width * width + width)
                    + (width * 4 * width + 4 * width) + (4 * width * width + width))
    return vocab * width + block * width + layers * block_params + 2 * width


@pytest.mark.parametrize("name", sorted(SIZES))
def test_parameter_count_equals_the_formula(name):
    layers, heads, width, block = SIZES[name]
    model = build_on_meta(name)
    assert (model.n_layer, model.n_head, model.n_embd, model.block_size) == (layers, heads, width, block)
    assert count_parameters(model) == by_hand(50257, block, layers, width)
    small_vocab = build_on_meta(name, vocab_size=96)
    assert count_parameters(small_vocab) == by_hand(96, block, layers, width)
    assert model_entry(name).meta["task"] == "lm" and model_entry(name).meta["family"] == "gpt"


def test_gpt2_has_gpt2s_published_124m_parameters():
    assert count_parameters(build_on_meta("gpt2")) == 124_439_808 == model_entry("gpt2").meta["params"]


def test_size_overrides_by_keyword():
    model = build_on_meta("gpt_nano", n_layer=2, n_head=2, n_embd=32, block_size=16, vocab_size=10)
    assert (len(model.h), model.h[0].attn.n_head, model.wte.weight.shape, model.wpe.weight.shape) == (
        2, 2, (10, 32), (16, 32))


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return create_model("gpt_nano", vocab_size=17, block_size=24, n_layer=2, n_head=2, n_embd=16).eval()


def test_the_head_is_the_token_embedding(tiny):
    assert tiny.lm_head.weight is tiny.wte.weight
    assert sum(1 for name, _ in tiny.named_parameters() if name.endswith("wte.weight")
               or name.endswith("lm_head.weight")) == 1
    idx = torch.randint(0, 17, (2, 5))
    tiny(idx).sum().backward()
    with torch.no_grad():  # a step on the shared matrix moves the head's logits and the embedding alike
        tiny.wte.weight.add_(1.0)
    assert torch.equal(tiny.lm_head.weight, tiny.wte.weight)


def test_gpt2_initialisation_std():
    torch.manual_seed(0)
    layers = 8
    model = create_model("gpt_mini", vocab_size=1000, n_layer=layers, block_size=64)
    assert model.wte.weight.std().item() == pytest.approx(0.02, rel=0.02)
    assert model.h[0].mlp.c_fc.weight.std().item() == pytest.approx(0.02, rel=0.02)
    scaled = 0.02 / math.sqrt(2 * layers)
    for block in model.h:
        assert block.attn.c_proj.weight.std().item() == pytest.approx(scaled, rel=0.05)
        assert block.mlp.c_proj.weight.std().item() == pytest.approx(scaled, rel=0.05)
        assert torch.count_nonzero(block.attn.c_attn.bias) == 0
        assert torch.equal(block.ln_1.weight, torch.ones(512))


def test_a_later_token_never_changes_an_earlier_logit(tiny):
    idx = torch.randint(0, 17, (1, 12))
    changed = idx.clone()
    changed[0, 7:] = (changed[0, 7:] + 5) % 17
    with torch.no_grad():
        a, b = tiny(idx), tiny(changed)
    torch.testing.assert_close(a[:, :7], b[:, :7], rtol=0, atol=1e-6)
    assert (a[:, 7:] - b[:, 7:]).abs().max() > 1e-3  # the changed positions do change


def test_logits_shape_and_dtype(tiny):
    out = tiny(torch.randint(0, 17, (3, 9)))
    assert out.shape == (3, 9, 17) and out.dtype == torch.float32


def test_the_cache_gives_the_full_forwards_logits_in_any_chunks(tiny):
    idx = torch.randint(0, 17, (2, 20))
    with torch.no_grad():
        full = tiny(idx)
        cache = tiny.new_cache(2)
        parts = [tiny(idx[:, a:b], cache=cache) for a, b in ((0, 9), (9, 10), (10, 14), (14, 20))]
    assert cache.length == 20
    torch.testing.assert_close(torch.cat(parts, dim=1), full, rtol=0, atol=1e-5)
    with torch.no_grad():
        torch.testing.assert_close(tiny(idx, last_only=True), full[:, -1:], rtol=0, atol=1e-6)


def test_more_tokens_than_the_block_is_one_line(tiny):
    with pytest.raises(ConfigError, match="25 tokens do not fit the block size 24"):
        tiny(torch.zeros(1, 25, dtype=torch.long))
    cache = tiny.new_cache(1)
    tiny(torch.zeros(1, 20, dtype=torch.long), cache=cache)
    with pytest.raises(ConfigError, match="25 tokens"):
        tiny(torch.zeros(1, 5, dtype=torch.long), cache=cache)


def test_bad_sizes_are_one_line():
    with pytest.raises(ConfigError, match="n_embd 30 is not divisible by n_head 4"):
        create_model("gpt_nano", n_embd=30)
    with pytest.raises(ConfigError, match="dropout"):
        create_model("gpt_nano", dropout=1.5)
