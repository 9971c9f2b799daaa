"""``deepzoo agent "task" --llm-url URL --llm-model NAME [--max-steps N] [--name NAME] [--runs-dir DIR]``: a
ReAct-style agent (:mod:`deepzoo.text.agent`) over an OpenAI-compatible chat server, with deepzoo's tools
(:mod:`._agent_tools`: search the docs, list/show models, list datasets, train a small run, evaluate it).

The agent gets its own folder under the runs root (``agent``, ``agent-2``, ... or ``--name``), locked while it
works; its transcript (``transcript.jsonl``, ``transcript.txt``) and the runs it trains (``runs/``) stay inside
it. See docs/language_models.md, "The agent loop".
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ._llm import add_llm_options, client_from


def add_parser(sub) -> None:
    """Register ``agent`` with the CLI."""
    p = sub.add_parser("agent", help="a ReAct agent with deepzoo's tools over an OpenAI-compatible chat server",
                       description="Let a language model served by llama.cpp, Ollama or vLLM answer a task with "
                                   "deepzoo's tools (search the docs, models, datasets, train, evaluate).")
    p.add_argument("task", help="what to do, in words")
    add_llm_options(p)
    p.add_argument("--max-steps", type=int, default=10, help="model turns before it must stop (default 10)")
    p.add_argument("--max-tokens", type=int, default=512, help="tokens per answer (default 512)")
    p.add_argument("--name", help="the agent's folder name under the runs root (default agent, agent-2, ...)")
    p.add_argument("--runs-dir", default="runs")
    p.set_defaults(func=run)


def agent_folder(runs_dir: str, name: str | None) -> Path:
    """A new folder for the agent under ``runs_dir``: ``name`` (which must not exist) or the first free
    ``agent``, ``agent-2``, ..."""
    from ..errors import ConfigError
    from ..run.folders import check_run_name

    root = Path(runs_dir)
    root.mkdir(parents=True, exist_ok=True)
    candidates = [check_run_name(name)] if name else ["agent", *(f"agent-{i}" for i in range(2, 10_000))]
    for candidate in candidates:
        try:
            (root / candidate).mkdir()
            return root / candidate
        except FileExistsError:
            continue
    raise ConfigError(f"{root / candidates[0]} exists; pick another --name")


def run(args: argparse.Namespace) -> int:
    """Run the agent; exit status 0 with a final answer, 1 when the step budget ran out."""
    from ..run.folders import RunLock
    from ..text.agent import Transcript, check_budget, run_agent
    from ._agent_tools import AgentTools

    check_budget(args.max_steps)
    client = client_from(args)
    folder = agent_folder(args.runs_dir, args.name)
    print(f"agent: {folder}")
    with RunLock(folder).acquire():
        result = run_agent(client, args.task, AgentTools(folder).tools(), Transcript(folder), args.max_steps,
                           max_tokens=args.max_tokens)
    print(f"transcript: {folder / 'transcript.txt'}")
    return 0 if result.answer is not None else 1
