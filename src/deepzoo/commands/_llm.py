"""The options that name a chat-completions server, shared by ``deepzoo agent`` and ``deepzoo explain
--generate``: ``--llm-url``, ``--llm-model``, ``--llm-timeout``."""

from __future__ import annotations

import argparse

from ..text.llm_client import DEFAULT_URL


def add_llm_options(parser, url_default: str | None = DEFAULT_URL) -> None:
    """Add the server options to ``parser`` (an argument parser or group)."""
    parser.add_argument("--llm-url", default=url_default, metavar="URL",
                        help="an OpenAI-compatible server's base address: llama.cpp's llama-server "
                             f"{DEFAULT_URL}, Ollama http://127.0.0.1:11434/v1, vLLM http://127.0.0.1:8000/v1")
    parser.add_argument("--llm-model", default="default", metavar="NAME",
                        help="the model name the server expects (default 'default')")
    parser.add_argument("--llm-timeout", type=float, default=120.0, metavar="S",
                        help="seconds to wait for each answer (default 120)")


def client_from(args: argparse.Namespace):
    """The :class:`~deepzoo.text.llm_client.ChatClient` the options name."""
    from ..text.llm_client import ChatClient

    return ChatClient(args.llm_url, args.llm_model, timeout=args.llm_timeout)
