"""Downloads: the test suite's network guard holds, and a download that cannot happen is one line
naming the URL and the path to place the file at."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

import pytest

from deepzoo.downloads import data_home, fetch
from deepzoo.errors import DataError


def test_the_guard_refuses_and_records_a_connection_to_another_machine(no_network):
    with pytest.raises(OSError, match="no network in tests"):
        urllib.request.urlopen("http://example.com/file", timeout=1)
    assert no_network, "the attempt must be recorded, so the test fails even if the code caught the refusal"
    no_network.clear()  # this test made the attempt on purpose


def test_the_guard_lets_loopback_through():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    socket.create_connection(server.getsockname(), timeout=1).close()
    server.close()


def test_data_home_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPZOO_DATA", str(tmp_path / "sets"))
    assert data_home() == tmp_path / "sets"
    monkeypatch.delenv("DEEPZOO_DATA")
    assert data_home().parts[-3:] == (".cache", "deepzoo", "data")


def test_offline_never_calls_the_download(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPZOO_OFFLINE", "1")
    called = []
    with pytest.raises(DataError) as err:
        fetch("cora", lambda: called.append(1), ["https://host/ind.cora.x"], tmp_path / "Cora" / "raw", DataError)
    assert not called
    message = str(err.value)
    assert "\n" not in message
    assert "https://host/ind.cora.x" in message and str(tmp_path / "Cora" / "raw") in message


def test_a_network_failure_is_one_line_naming_url_and_path(tmp_path):
    def download():
        raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))

    with pytest.raises(DataError) as err:
        fetch("cifar10", download, ["https://host/cifar-10-python.tar.gz"], tmp_path / "cifar10", DataError)
    message = str(err.value)
    assert "\n" not in message and "URLError" in message
    assert "https://host/cifar-10-python.tar.gz" in message and str(tmp_path / "cifar10") in message


def test_what_the_download_returns_is_passed_on(tmp_path):
    assert fetch("x", lambda: 42, ["https://host/x"], tmp_path, DataError) == 42
