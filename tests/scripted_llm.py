"""A scripted chat-completions server on loopback, for the LLM client, `explain --generate` and agent tests.

It speaks the OpenAI-compatible protocol (``POST /v1/chat/completions``) and answers each request with the
next entry of its script: a dict (sent as a 200 JSON answer), ``(status, body_bytes)`` (sent as is), or
``("sleep", seconds)`` (answers after that long). Every request body it received is kept in ``requests``.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def assistant(content: str | None = None, tool_calls: list[dict] | None = None) -> dict:
    """A chat-completions answer whose message has this content and these tool calls."""
    message: dict = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {"id": "scripted", "object": "chat.completion", "choices": [{"index": 0, "message": message}]}


def call(name: str, arguments: str | dict, call_id: str = "call_1") -> dict:
    """One tool call; ``arguments`` as JSON text (a dict is dumped)."""
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": text}}


class ScriptedServer:
    """``with ScriptedServer([...]) as server:`` — ``server.url`` is the ``/v1`` base to give the client."""

    def __init__(self, script: list):
        self.script, self.requests, self.paths = list(script), [], []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", 0))
                owner.requests.append(json.loads(self.rfile.read(length)))
                owner.paths.append(self.path)
                step = owner.script.pop(0) if owner.script else (500, b'{"error": {"message": "script ended"}}')
                if isinstance(step, tuple) and step[0] == "sleep":
                    time.sleep(step[1])
                    step = assistant("late")
                status, body = step if isinstance(step, tuple) else (200, json.dumps(step).encode())
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (a timeout test)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> ScriptedServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
