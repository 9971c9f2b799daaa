"""``deepzoo explain --generate QUESTION``: the passages and an answer from a chat server (scripted, on
loopback) or a tiny trained GPT run; without a generator, the extractive answer of a plain search."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import deepzoo
from deepzoo import api
from deepzoo.cli import main
from deepzoo.data.tokenizers import CharTokenizer
from deepzoo.text.rag import INSTRUCTION, Passage, completion_prompt, fitting_prompt

from .conftest import QUIET
from .scripted_llm import ScriptedServer, assistant

pytestmark = pytest.mark.usefixtures("one_thread")

CARDS = str(Path(deepzoo.__file__).parent / "cards")
QUESTION = "how does a residual network for cifar add its shortcuts"
#: every character of the prompts, so that a character tokenizer trained on it reads them back unchanged
ALPHABET = INSTRUCTION + " abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789[]()?:.,-_×/\n"


def explain(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(["explain", "--corpus", CARDS, "--top", "2", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_server_answer_cites_the_passages_it_was_given(capsys):
    _, hits_json, _ = explain(capsys, QUESTION, "--json")
    hits = json.loads(hits_json)["hits"]
    with ScriptedServer([assistant("Option A shortcuts pad channels with zeros [1].")]) as server:
        status, out, _ = explain(capsys, "--generate", QUESTION, "--llm-url", server.url, "--llm-model", "tiny",
                                 "--show-prompt", "--max-new-tokens", "64")
    assert status == 0
    request = server.requests[0]
    assert (request["model"], request["max_tokens"], request["temperature"]) == ("tiny", 64, 0.0)
    system, user = request["messages"]
    assert system == {"role": "system", "content": INSTRUCTION}
    assert user["content"].startswith(f"[1] {hits[0]['title']} ({hits[0]['source']})\n{hits[0]['summary']}\n\n"
                                      f"[2] {hits[1]['title']} ({hits[1]['source']})")
    assert user["content"].endswith(f"\n\nQuestion: {QUESTION}")
    assert out.startswith(f'passages for "{QUESTION}":\n  [1] {hits[0]["title"]} ({hits[0]["source"]})\n')
    assert "prompt:\n  | system: Answer the question using only the numbered passages" in out
    assert out.endswith(f"answer (tiny at {server.url}):\n  Option A shortcuts pad channels with zeros [1].\n")


def test_without_a_generator_it_is_the_extractive_answer(capsys):
    _, plain, _ = explain(capsys, QUESTION)
    status, generated, _ = explain(capsys, "--generate", QUESTION)
    assert status == 0 and generated == plain


def test_one_line_errors(capsys):
    assert explain(capsys, "--generate", QUESTION, "--generator", "x", "--llm-url", "http://127.0.0.1:1/v1")[0] == 2
    status, _, err = explain(capsys, "resnet", "--generate", QUESTION)
    assert status == 2 and err == "deepzoo: error: --generate takes the question as its value; give no other query " \
                                  "words\n"
    status, _, err = explain(capsys, "--generate", QUESTION, "--llm-url", "localhost:8080")
    assert status == 2 and "give the server's http:// or https:// address" in err


def test_a_tiny_gpt_run_answers_within_its_context(runs, tmp_path, capsys):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for i in range(8):
        (folder / f"{i}.txt").write_text(f"a resnet adds shortcuts around {i} layers. " * 3 + ALPHABET)
    run = api.train("gpt_nano", f"text:{folder}?block_size=64", name="lm", epochs=1, echo=lambda *a: None,
                    overrides=[*QUIET, "model.args.n_layer=1", "model.args.n_head=2", "model.args.n_embd=16",
                               "model.args.block_size=256", "task_args.ngram=0"])
    status, out, err = explain(capsys, "--generate", QUESTION, "--generator", "lm", "--show-prompt",
                               "--max-new-tokens", "20", "--json")
    assert err == ""
    result = json.loads(out)
    assert status == 0 and result["generator"] == "lm" and len(result["passages"]) == 2
    tokenizer = api.load_run(run.dir, with_data=False).recipe.tokenizer
    assert len(tokenizer.encode(result["prompt"])) <= 256 - 20
    assert result["prompt"].endswith(f"Question: {QUESTION}\nAnswer:")
    assert "[1] " in result["prompt"] and "[2] " in result["prompt"]


def test_fitting_prompt_shortens_passages_then_keeps_the_end():
    tokenizer = CharTokenizer.train([ALPHABET])
    passages = [Passage("a", "a.md", 1.0, "one two three four five six seven eight"), Passage("b", "b.md", 0.5, "nine")]
    full = tokenizer.encode(completion_prompt("why?", passages))
    assert fitting_prompt("why?", passages, tokenizer, len(full)) == full
    shorter = tokenizer.decode(fitting_prompt("why?", passages, tokenizer, len(full) - 10))
    assert "[1] a (a.md)\none two three four five six\n\n[2] b (b.md)\nnine" in shorter  # "seven eight" went
    assert tokenizer.decode(fitting_prompt("why?", passages, tokenizer, 23)) == "\nQuestion: why?\nAnswer:"
