"""The chat-completions client against a scripted loopback server: the request it sends, the reply it
parses, and one line for each failure (refused, timeout, HTTP 500, not JSON, no choices)."""

from __future__ import annotations

import socket

import pytest

from deepzoo.errors import ConfigError
from deepzoo.text.llm_client import ChatClient, ServerError

from .scripted_llm import ScriptedServer, assistant, call


def test_request_holds_the_protocol_fields_and_the_reply_is_parsed():
    tools = [{"type": "function", "function": {"name": "search_docs", "parameters": {"type": "object"}}}]
    script = [assistant("hello"), assistant(None, [call("search_docs", {"query": "resnet"}, "c7")])]
    with ScriptedServer(script) as server:
        client = ChatClient(server.url + "/", "tiny-model", timeout=5)
        first = client.complete([{"role": "user", "content": "hi"}], temperature=0.3, max_tokens=17)
        second = client.complete([{"role": "user", "content": "find"}], tools=tools)
    assert server.paths == ["/v1/chat/completions"] * 2
    assert server.requests[0] == {"model": "tiny-model", "messages": [{"role": "user", "content": "hi"}],
                                  "temperature": 0.3, "max_tokens": 17}
    assert server.requests[1]["tools"] == tools
    assert (first.content, first.tool_calls) == ("hello", ())
    assert second.content is None
    assert [(c.id, c.name, c.arguments) for c in second.tool_calls] == [("c7", "search_docs", '{"query": "resnet"}')]
    assert second.message["tool_calls"][0]["id"] == "c7"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_connection_is_one_line():
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(ServerError, match=r"^http://127\.0\.0\.1:\d+/v1/chat/completions: connection refused; "
                                          r"is the server running\?") as err:
        ChatClient(url, "m", timeout=5).complete([{"role": "user", "content": "x"}])
    assert "\n" not in str(err.value)


def test_timeout_is_one_line():
    with ScriptedServer([("sleep", 2.0)]) as server, pytest.raises(ServerError) as err:
        ChatClient(server.url, "m", timeout=0.3).complete([])
    assert str(err.value) == f"{server.url}/chat/completions: no answer within 0.3 s"


def test_http_500_carries_the_servers_message():
    body = b'{"error": {"code": 500, "message": "model failed to load:\\n out of memory"}}'
    with ScriptedServer([(500, body), (503, b"<html>busy</html>")]) as server:
        client = ChatClient(server.url, "m", timeout=5)
        with pytest.raises(ServerError) as first:
            client.complete([])
        with pytest.raises(ServerError) as second:
            client.complete([])
    assert str(first.value) == (f"{server.url}/chat/completions: HTTP 500 Internal Server Error: "
                                "model failed to load: out of memory")
    assert str(second.value).endswith("HTTP 503 Service Unavailable: '<html>busy</html>'")


@pytest.mark.parametrize(("body", "expected"), [
    (b"not json at all", "the answer is not JSON: 'not json at all'"),
    (b'{"object": "chat.completion", "usage": {}}', "the answer has no choices[0].message (it holds: object, usage)"),
    (b'{"choices": []}', "the answer has no choices[0].message (it holds: choices)"),
    (b"[1, 2]", "the answer has no choices[0].message (it holds: list)"),
])
def test_malformed_body_is_one_line(body, expected):
    with ScriptedServer([(200, body)]) as server, pytest.raises(ServerError) as err:
        ChatClient(server.url, "m", timeout=5).complete([])
    assert str(err.value) == f"{server.url}/chat/completions: {expected}"


def test_address_without_scheme_is_a_config_error():
    with pytest.raises(ConfigError, match="give the server's http:// or https:// address"):
        ChatClient("127.0.0.1:8080/v1", "m")
