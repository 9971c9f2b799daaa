"""A client for OpenAI-compatible chat-completions servers, in the standard library only.

llama.cpp's ``llama-server`` (``http://127.0.0.1:8080/v1``), Ollama (``http://127.0.0.1:11434/v1``) and vLLM
(``http://127.0.0.1:8000/v1``) all answer ``POST {base}/chat/completions`` with a JSON body

    {"model": NAME, "messages": [{"role": "system"|"user"|"assistant"|"tool", "content": ...}, ...],
     "temperature": T, "max_tokens": N, "tools": [{"type": "function", "function": {...}}]}

and reply ``{"choices": [{"message": {"role": "assistant", "content": TEXT, "tool_calls": [...]}}]}``. A tool
call is ``{"id", "type": "function", "function": {"name", "arguments": "<JSON text>"}}``: the arguments come
as a string the model wrote, so they may not parse — the caller decides what to do with that (the agent
loop reports it back to the model).

Why no SDK: ``urllib.request`` is enough for one POST, adds no dependency, and keeps every failure in our
hands. Each failure a user can meet is one :class:`ServerError` line naming the URL: a refused connection
(no server running), no answer within the timeout, an HTTP error with the server's own message, and a body
that is not JSON or has no ``choices[0].message``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, DeepzooError, one_line

#: what the chat-completions path is appended to when a user gives a server's address
DEFAULT_URL = "http://127.0.0.1:8080/v1"


class ServerError(DeepzooError):
    """A chat-completions server that cannot be reached or gave an unusable answer (one line, exit 2)."""


@dataclass(frozen=True)
class ToolCall:
    """One call the model asked for: its id (echoed in the tool's result), the tool's name, and the
    arguments exactly as the model wrote them (JSON text, not yet parsed)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ChatReply:
    """The assistant's turn: its text (``None`` when it only calls tools), its tool calls, and the message
    as the server sent it (appended to the conversation as is, so the server sees its own calls again)."""

    content: str | None
    tool_calls: tuple[ToolCall, ...]
    message: dict[str, Any]


def chat_url(base_url: str) -> str:
    """``{base}/chat/completions`` for a server address such as ``http://127.0.0.1:8080/v1``."""
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"--llm-url {base_url}: give the server's http:// or https:// address, e.g. {DEFAULT_URL}")
    return base_url.rstrip("/") + "/chat/completions"


class ChatClient:
    """Chat completions from one model on one server; ``timeout`` (seconds) bounds each request."""

    def __init__(self, base_url: str, model: str, timeout: float = 120.0, api_key: str | None = None):
        if not timeout > 0:
            raise ConfigError(f"timeout={timeout}: must be a positive number of seconds")
        self.url = chat_url(base_url)
        self.model, self.timeout, self.api_key = model, timeout, api_key

    def complete(self, messages: list[dict[str, Any]], temperature: float = 0.0, max_tokens: int = 512,
                 tools: list[dict[str, Any]] | None = None) -> ChatReply:
        """The model's next turn after ``messages``; ``tools`` (function schemas) lets it call them."""
        body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": temperature,
                                "max_tokens": max_tokens}
        if tools:
            body["tools"] = tools
        return parse_reply(self.post(body), self.url)

    def post(self, body: dict[str, Any]) -> Any:
        """POST ``body`` as JSON and return the decoded JSON answer; every failure one :class:`ServerError`."""
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, json.dumps(body).encode(), headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as err:
            raise ServerError(f"{self.url}: HTTP {err.code} {err.reason}: {server_message(err.read())}") from None
        except TimeoutError:
            raise ServerError(f"{self.url}: no answer within {self.timeout:g} s") from None
        except urllib.error.URLError as err:
            raise ServerError(self._unreachable(err.reason)) from None
        except OSError as err:  # a connection reset while reading
            raise ServerError(f"{self.url}: {one_line(err)}") from None
        try:
            return json.loads(raw)
        except ValueError:
            raise ServerError(f"{self.url}: the answer is not JSON: {preview(raw)}") from None

    def _unreachable(self, reason: Any) -> str:
        """The line for a request that never got an HTTP answer."""
        if isinstance(reason, TimeoutError):
            return f"{self.url}: no answer within {self.timeout:g} s"
        if isinstance(reason, ConnectionRefusedError):
            return (f"{self.url}: connection refused; is the server running? (llama.cpp's llama-server listens "
                    "on :8080, Ollama on :11434, vLLM on :8000)")
        return f"{self.url}: cannot connect ({one_line(reason) if isinstance(reason, BaseException) else reason})"


def preview(raw: bytes, limit: int = 120) -> str:
    """The start of a body on one line, for an error message."""
    text = " ".join(raw.decode("utf-8", "replace").split())
    return repr(text[:limit] + ("…" if len(text) > limit else ""))


def server_message(raw: bytes) -> str:
    """The server's own explanation of an HTTP error: ``error.message`` (or ``error``, ``detail``) of a JSON
    body as OpenAI, llama.cpp and vLLM send it, else the start of the body."""
    try:
        body = json.loads(raw)
    except ValueError:
        return preview(raw) if raw.strip() else "(empty body)"
    if isinstance(body, dict):
        found = body.get("error", body.get("detail", body.get("message")))
        if isinstance(found, dict):
            found = found.get("message", found)
        if found is not None:
            return " ".join(str(found).split())
    return preview(raw)


def parse_reply(body: Any, url: str) -> ChatReply:
    """``choices[0].message`` of a chat-completions answer as a :class:`ChatReply`."""
    try:
        message = body["choices"][0]["message"]
        if not isinstance(message, dict):
            raise TypeError
    except (KeyError, IndexError, TypeError):
        keys = ", ".join(body) if isinstance(body, dict) else type(body).__name__
        raise ServerError(f"{url}: the answer has no choices[0].message (it holds: {keys or 'nothing'})") from None
    calls = []
    for i, call in enumerate(message.get("tool_calls") or []):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ServerError(f"{url}: tool call {i} of the answer has no function name: {preview(json.dumps(call))}")
        arguments = function.get("arguments", "{}")
        if not isinstance(arguments, str):  # some servers send the object itself
            arguments = json.dumps(arguments)
        calls.append(ToolCall(str(call.get("id") or f"call_{i}"), function["name"], arguments))
    content = message.get("content")
    return ChatReply(content if isinstance(content, str) else None, tuple(calls), message)
