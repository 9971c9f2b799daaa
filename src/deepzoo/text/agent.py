"""A ReAct-style agent loop over an OpenAI-compatible chat server with tool calls.

ReAct (Yao et al. 2022, "ReAct: Synergizing Reasoning and Acting in Language Models") interleaves a
*thought* (the model's text), an *action* (a tool call) and an *observation* (the tool's result) until the
model gives a final answer. Here the action is the chat-completions ``tools`` / ``tool_calls`` protocol
(:mod:`deepzoo.text.llm_client`): every turn the model sees the tools' JSON schemas, may write a thought and
call tools, and each result goes back to it as a ``{"role": "tool", "tool_call_id": ...}`` message. A turn
with no tool call is the final answer.

What keeps the loop safe to leave running:

- a **step budget**: at most ``max_steps`` model turns, then it stops and says so;
- a **malformed call** (arguments that are not a JSON object, unknown or missing arguments) and a call to
  an **unknown tool** are answered with an ``error: ...`` result the model can read and correct, never a
  crash; so is a tool's own refusal (any :class:`~deepzoo.errors.DeepzooError` it raises);
- a **sandbox**: :func:`inside` resolves every path a model hands a tool against the agent's folder and
  refuses one that escapes it (``..``, an absolute path, a symbolic link out);
- a **transcript**: every thought, call, result and answer is appended to ``transcript.jsonl`` (one JSON
  object a line, flushed as it happens, so a crash keeps what went before) and ``transcript.txt`` (the same,
  for reading).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DeepzooError
from .llm_client import ChatClient, ToolCall

SYSTEM_PROMPT = (
    "You are an assistant that answers questions about deepzoo, a deep-learning workbench, and can try things "
    "with it. Work step by step: think, then call a tool when you need facts or a result, read what it returns, "
    "and repeat. Use only the tools given. When you know the answer, reply with it and call no tool."
)


@dataclass(frozen=True)
class Tool:
    """A function the model may call: its name, what it does, its arguments as a JSON schema (``properties``
    and ``required``), and ``run(**arguments) -> str`` (the observation the model reads)."""

    name: str
    description: str
    properties: dict[str, dict[str, Any]]
    run: Callable[..., str]
    required: tuple[str, ...] = ()

    def schema(self) -> dict[str, Any]:
        """The chat-completions ``tools`` entry of this tool."""
        parameters = {"type": "object", "properties": self.properties, "required": list(self.required)}
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": parameters}}


def inside(folder: Path, path: str) -> Path:
    """``path`` (relative to ``folder``) resolved, if it stays inside ``folder``; else a :class:`ConfigError`
    (an absolute path, ``..`` or a symbolic link leading out)."""
    root = folder.resolve()
    resolved = (root / path).resolve()
    if not resolved.is_relative_to(root):
        raise ConfigError(f"{path}: outside the agent's folder {root}; tools read and write only inside it")
    return resolved


def call_tool(tools: dict[str, Tool], call: ToolCall) -> str:
    """The observation for one tool call: the tool's result, or an ``error: ...`` line for an unknown tool,
    arguments that do not parse or do not fit the tool, and a refusal the tool raised."""
    tool = tools.get(call.name)
    if tool is None:
        return f"error: there is no tool named {call.name!r}; the tools are {', '.join(tools)}"
    try:
        arguments = json.loads(call.arguments) if call.arguments.strip() else {}
    except ValueError as err:
        return f"error: the arguments of {call.name} are not valid JSON ({err}); send one JSON object"
    if not isinstance(arguments, dict):
        return f"error: the arguments of {call.name} must be a JSON object, got {type(arguments).__name__}"
    unknown = sorted(set(arguments) - set(tool.properties))
    missing = [name for name in tool.required if name not in arguments]
    if unknown or missing:
        problems = ([f"unknown {', '.join(unknown)}"] if unknown else []) + (
            [f"missing {', '.join(missing)}"] if missing else [])
        return (f"error: {call.name} arguments: {'; '.join(problems)} (it takes {', '.join(tool.properties)}; "
                f"required: {', '.join(tool.required) or 'none'})")
    try:
        return tool.run(**arguments)
    except DeepzooError as err:
        return f"error: {err}"


class Transcript:
    """The agent's record in its folder: ``transcript.jsonl`` and ``transcript.txt``, appended and flushed
    event by event."""

    def __init__(self, folder: Path):
        self.jsonl_path, self.text_path = folder / "transcript.jsonl", folder / "transcript.txt"
        self.events: list[dict[str, Any]] = []

    def record(self, step: int, kind: str, **fields: Any) -> None:
        """Append one event (``kind``: task, thought, call, result, answer, stop) of model turn ``step``."""
        event = {"step": step, "kind": kind, **fields}
        self.events.append(event)
        with open(self.jsonl_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(event, ensure_ascii=False) + "\n")
        with open(self.text_path, "a", encoding="utf-8") as f:
            f.write(readable(event) + "\n")


def readable(event: dict[str, Any]) -> str:
    """One transcript event as text: ``[step 2] call train {"model": ...}`` and the like."""
    kind = event["kind"]
    if kind == "call":
        body = f"{event['tool']} {event['arguments']}"
    elif kind in ("result", "thought", "answer", "task", "stop"):
        body = event["text"]
    else:
        body = json.dumps({k: v for k, v in event.items() if k not in ("step", "kind")})
    indented = body.replace("\n", "\n    ")
    return f"[step {event['step']}] {kind}: {indented}"


@dataclass
class AgentResult:
    """How the loop ended: the final answer (None when the step budget ran out) and the turns it took."""

    answer: str | None
    steps: int
    events: list[dict[str, Any]] = field(default_factory=list)


def check_budget(max_steps: int) -> None:
    """A step budget below one is a one-line :class:`ConfigError` (checked before the agent's folder is made)."""
    if max_steps < 1:
        raise ConfigError(f"--max-steps {max_steps}: the agent needs at least one step")


def run_agent(client: ChatClient, task: str, tools: Sequence[Tool], transcript: Transcript, max_steps: int = 10,
              temperature: float = 0.0, max_tokens: int = 512, echo: Callable[[str], None] = print) -> AgentResult:
    """Run the ReAct loop on ``task`` for at most ``max_steps`` model turns (see the module docstring);
    ``echo`` prints each event as it happens."""
    check_budget(max_steps)
    by_name = {tool.name: tool for tool in tools}
    schemas = [tool.schema() for tool in tools]
    messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": task}]

    def note(step: int, kind: str, **fields: Any) -> None:
        transcript.record(step, kind, **fields)
        echo(readable(transcript.events[-1]))

    note(0, "task", text=task)
    for step in range(1, max_steps + 1):
        reply = client.complete(messages, temperature=temperature, max_tokens=max_tokens, tools=schemas)
        messages.append(reply.message)
        if not reply.tool_calls:
            note(step, "answer", text=reply.content or "")
            return AgentResult(reply.content or "", step, transcript.events)
        if reply.content:
            note(step, "thought", text=reply.content)
        for call in reply.tool_calls:
            note(step, "call", tool=call.name, arguments=call.arguments, id=call.id)
            result = call_tool(by_name, call)
            note(step, "result", tool=call.name, id=call.id, text=result)
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    note(max_steps, "stop", text=f"the step budget ({max_steps} model turns) ran out before a final answer")
    return AgentResult(None, max_steps, transcript.events)
