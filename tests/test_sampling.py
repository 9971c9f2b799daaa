"""Sampling (text/sampling.py): top-k/top-p keep exactly the right tokens, the key/value cache gives the
uncached loop's tokens, a seed gives the same text."""

from __future__ import annotations

import math

import pytest
import torch

from deepzoo.errors import ConfigError
from deepzoo.models import create_model
from deepzoo.text.sampling import filter_logits, generate, next_token

pytestmark = pytest.mark.usefixtures("one_thread")

#: probabilities 1/2, 1/4, 1/8, 1/16, 1/16 (exact in binary), shuffled so order is not position
PROBS = torch.tensor([[0.0625, 0.25, 0.5, 0.0625, 0.125]])
LOGITS = PROBS.log()


def kept(logits: torch.Tensor) -> set[int]:
    return set(torch.nonzero(torch.isfinite(logits[0])).flatten().tolist())


@pytest.mark.parametrize("top_k, expected", [(1, {2}), (2, {1, 2}), (3, {1, 2, 4}), (5, {0, 1, 2, 3, 4}),
                                             (9, {0, 1, 2, 3, 4})])
def test_top_k_keeps_the_k_most_likely(top_k, expected):
    assert kept(filter_logits(LOGITS, top_k=top_k)) == expected


@pytest.mark.parametrize("top_p, expected", [
    (0.3, {2}), (0.5, {2}),  # 1/2 already reaches p
    (0.6, {1, 2}), (0.75, {1, 2}),  # 1/2 + 1/4 = 0.75 reaches it
    (0.8, {1, 2, 4}), (0.875, {1, 2, 4}),
    (1.0, {0, 1, 2, 3, 4}),
])
def test_top_p_keeps_the_smallest_nucleus_reaching_p(top_p, expected):
    assert kept(filter_logits(LOGITS, top_p=top_p)) == expected


def test_top_p_between_tied_tokens_keeps_one_of_them():
    # 7/8 < 0.9, so one 1/16 token is needed; with it the mass is 15/16 ≥ 0.9 and the other is dropped
    out = kept(filter_logits(LOGITS, top_p=0.9))
    assert {1, 2, 4} < out and len(out & {0, 3}) == 1


def test_top_k_and_top_p_together_and_the_kept_probabilities():
    out = filter_logits(LOGITS, top_k=3, top_p=0.6)
    assert kept(out) == {1, 2}
    probs = out.softmax(-1)[0]
    assert probs[2].item() == pytest.approx(2 / 3) and probs[1].item() == pytest.approx(1 / 3)


def test_sampled_tokens_stay_in_the_nucleus_with_the_renormalised_frequencies():
    generator = torch.Generator().manual_seed(0)
    draws = next_token(LOGITS.expand(20000, -1), 1.0, None, 0.75, generator).flatten()
    assert set(draws.tolist()) == {1, 2}
    assert (draws == 2).float().mean().item() == pytest.approx(2 / 3, abs=0.015)


def test_temperature_zero_is_the_argmax_and_temperature_sharpens():
    assert next_token(LOGITS, temperature=0).item() == 2
    generator = torch.Generator().manual_seed(1)
    cold = next_token(LOGITS.expand(20000, -1), 0.5, generator=generator).flatten()
    # at T = 1/2 the probabilities become p²/Σp²: 1/4 / (1/4 + 1/16 + 1/64 + 2/256) = 64/87 for the likeliest
    assert (cold == 2).float().mean().item() == pytest.approx(64 / 87, abs=0.015)


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return create_model("gpt_nano", vocab_size=23, block_size=16, n_layer=2, n_head=2, n_embd=16)


def uncached_by_hand(model, idx, steps):
    """Greedy decoding written out: the whole (cropped) context every step, the argmax appended."""
    model.eval()
    with torch.no_grad():
        for _ in range(steps):
            logits = model(idx[:, -model.block_size:])[:, -1]
            idx = torch.cat([idx, logits.argmax(-1, keepdim=True)], dim=1)
    return idx


def test_cached_greedy_equals_the_uncached_loop_token_for_token(tiny):
    prompt = torch.randint(0, 23, (2, 5), generator=torch.Generator().manual_seed(3))
    cached = generate(tiny, prompt, 30, temperature=0)  # 35 tokens: the window slides past the 16-token block
    assert cached.shape == (2, 35) and torch.equal(cached[:, :5], prompt)
    assert torch.equal(cached, generate(tiny, prompt, 30, temperature=0, use_cache=False))
    assert torch.equal(cached, uncached_by_hand(tiny, prompt, 30))


def test_cached_sampling_equals_uncached_for_a_seed_and_a_seed_repeats(tiny):
    prompt = torch.randint(0, 23, (3, 4), generator=torch.Generator().manual_seed(4))

    def draw(seed, **kw):
        return generate(tiny, prompt, 24, temperature=1.0, top_k=10, top_p=0.95,
                        generator=torch.Generator().manual_seed(seed), **kw)

    assert torch.equal(draw(7), draw(7, use_cache=False))
    assert torch.equal(draw(7), draw(7))
    assert not torch.equal(draw(7), draw(8))


def test_a_long_prompt_is_cropped_to_the_block_and_the_mode_is_restored(tiny):
    prompt = torch.randint(0, 23, (1, 40), generator=torch.Generator().manual_seed(5))
    tiny.train()
    out = generate(tiny, prompt, 3, temperature=0)
    assert tiny.training and torch.equal(out[:, :40], prompt)
    assert torch.equal(out[:, 40:], generate(tiny, prompt[:, -16:], 3, temperature=0)[:, 16:])


@pytest.mark.parametrize("kwargs, message", [
    ({"temperature": -1.0}, "temperature=-1.0"), ({"temperature": math.nan}, "temperature=nan"),
    ({"top_k": 0}, "top_k=0"), ({"top_p": 0.0}, "top_p=0.0"), ({"top_p": 1.5}, "top_p=1.5"),
])
def test_bad_knobs_are_one_line(tiny, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        generate(tiny, torch.zeros(1, 2, dtype=torch.long), 3, **kwargs)


def test_deepzoo_sample_continues_a_prompt_with_an_lm_runs_model_and_tokenizer(runs, tmp_path, capsys):
    from deepzoo import api
    from deepzoo.cli import main

    from .conftest import QUIET

    folder = tmp_path / "corpus"
    folder.mkdir()
    for i in range(6):
        (folder / f"{i}.txt").write_text(f"the cat {'sat' if i % 2 else 'ran'} on the mat. " * (4 + i))
    api.train("gpt_nano", f"text:{folder}?block_size=16", name="lm", epochs=1, echo=lambda *a: None,
              overrides=QUIET + ["model.args.n_layer=1", "model.args.n_head=2", "model.args.n_embd=16",
                                 "task_args.ngram=0"])
    loaded = api.load_run("lm", with_data=False)
    tokenizer, model = loaded.recipe.tokenizer, loaded.recipe.model
    expected = generate(model, torch.tensor([tokenizer.encode("the c")]), 12, temperature=0)[0].tolist()
    assert main(["sample", "lm", "--prompt", "the c", "--max-new-tokens", "12", "--temperature", "0"]) == 0
    assert capsys.readouterr().out == tokenizer.decode(expected) + "\n"
    assert main(["sample", "lm", "--prompt", "", "--max-new-tokens", "3", "--seed", "1"]) == 0  # from <eot>
    assert len(capsys.readouterr().out) > 1
