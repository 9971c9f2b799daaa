"""``deepzoo explain --generate QUESTION``: the BM25 passages and an answer generated from them
(:mod:`deepzoo.text.rag`), by a deepzoo run (``--generator RUN``), GPT-2 (``--generator hf:gpt2``) or a chat
server (``--llm-url``); with no generator, today's extractive answer (the hits and their summaries)."""

from __future__ import annotations

import argparse
import json
import textwrap

from ..errors import ConfigError
from ._llm import add_llm_options, client_from


def add_generate_options(parser) -> None:
    """The ``--generate`` options of ``deepzoo explain``."""
    group = parser.add_argument_group("answers generated from the passages")
    group.add_argument("--generate", metavar="QUESTION",
                       help="answer QUESTION from the best passages, citing them [1], [2] (needs --generator or "
                            "--llm-url; without either, the extractive answer)")
    group.add_argument("--generator", metavar="RUN",
                       help="a trained gpt run (folder or name under --runs-dir), or hf:gpt2 (hf:REPO)")
    add_llm_options(group, url_default=None)
    group.add_argument("--max-new-tokens", type=int, default=200, metavar="N",
                       help="tokens of the answer (default 200)")
    group.add_argument("--show-prompt", action="store_true", help="print the prompt the generator was given")
    group.add_argument("--runs-dir", default="runs")


def language_model(args: argparse.Namespace):
    """``(model, tokenizer, device)`` of ``--generator``: a run's, or GPT-2's from the hub's cache."""
    import torch

    from .. import api

    if args.generator.startswith("hf:"):
        from ..models.gpt_weights import hub_tokenizer

        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return api.create_model("gpt2", weights=args.generator).to(device).eval(), hub_tokenizer(args.generator), device
    recipe = api.load_run(args.generator, args.runs_dir, with_data=False).recipe
    if getattr(recipe, "tokenizer", None) is None:
        raise ConfigError(f"--generator {args.generator}: not a language model run (train one with --model gpt_nano "
                          "--data text:DIR)")
    return recipe.model, recipe.tokenizer, recipe.device


def generate_answer(args: argparse.Namespace, engine, render) -> int:
    """Search ``--generate``'s question with ``engine``, then answer from the hits (or ``render`` them: the
    extractive answer, when no generator is named)."""
    from ..text.rag import answer_with_lm, answer_with_server, format_passages, passages_from

    if args.query:
        raise ConfigError("--generate takes the question as its value; give no other query words")
    if args.generator and args.llm_url:
        raise ConfigError("give one generator: --generator RUN|hf:REPO or --llm-url URL")
    if args.max_new_tokens < 1:
        raise ConfigError(f"--max-new-tokens {args.max_new_tokens}: must be at least 1")
    result = engine.search(args.generate, top=args.top, autocorrect=not args.no_autocorrect,
                           summary_sentences=args.sentences, summary_method=args.method)
    if not (args.generator or args.llm_url):
        print(json.dumps(result.to_json(), indent=2, ensure_ascii=False) if args.json else render(result))
        return 0
    passages = passages_from(result)
    if args.llm_url:
        generator = f"{args.llm_model} at {args.llm_url}"
        prompt, answer = answer_with_server(client_from(args), args.generate, passages, args.max_new_tokens)
    else:
        generator = args.generator
        model, tokenizer, device = language_model(args)
        prompt, answer = answer_with_lm(model, tokenizer, args.generate, passages, args.max_new_tokens, device)
    if args.json:
        shown = {"question": args.generate, "generator": generator, "answer": answer,
                 "passages": [vars(p) for p in passages], **({"prompt": prompt} if args.show_prompt else {})}
        print(json.dumps(shown, indent=2, ensure_ascii=False))
        return 0
    lines = [f"passages for \"{result.corrected}\":", textwrap.indent(format_passages(passages), "  ")]
    if args.show_prompt:
        lines += ["", "prompt:", textwrap.indent(prompt, "  | ", lambda line: True)]
    lines += ["", f"answer ({generator}):", textwrap.fill(answer or "(empty)", width=100, initial_indent="  ",
                                                          subsequent_indent="  ")]
    print("\n".join(lines))
    return 0
