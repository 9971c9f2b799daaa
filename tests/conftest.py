"""Shared test fixtures: an isolated runs folder, quiet training defaults, and no network: every test
runs with its own empty ``$DEEPZOO_DATA`` and ``$TORCH_HOME`` and fails if it opens a connection to
anything but this machine."""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest
import torch

os.environ.setdefault("OMP_NUM_THREADS", "2")

QUIET = ["train.progress=false", "train.tensorboard=false", "train.plots=false"]


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """A fresh runs folder; the working directory moves there so nothing lands in the repo."""
    monkeypatch.chdir(tmp_path)
    return tmp_path / "runs"


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op thread for a module's tests: the cores are shared, and OpenMP spin-waiting then
    costs more than it gains (modules opt in with ``pytestmark = pytest.mark.usefixtures("one_thread")``)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _is_local(address) -> bool:
    """Whether a socket address stays on this machine: a Unix socket, loopback, or an unspecified host
    (the DDP tests' gloo rendezvous and the PostgreSQL test use 127.0.0.1)."""
    if not isinstance(address, tuple):
        return True  # AF_UNIX paths
    host = address[0]
    if host in (None, "", "localhost"):
        return True
    try:
        ip = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return False  # a host name: it would be looked up and reached over the network
    return ip.is_loopback or ip.is_unspecified


@pytest.fixture(autouse=True)
def no_network(tmp_path_factory, monkeypatch):
    """Tests never download: named datasets and weights resolve in fresh empty caches, and a connection
    to another machine is refused on the spot and fails the test (even if the code under test caught
    the refusal)."""
    home = tmp_path_factory.mktemp("caches")
    monkeypatch.setenv("DEEPZOO_DATA", str(home / "deepzoo-data"))
    monkeypatch.setenv("TORCH_HOME", str(home / "torch"))
    monkeypatch.setenv("HF_HOME", str(home / "huggingface"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("DEEPZOO_OFFLINE", raising=False)
    attempts: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def refuse(address) -> None:
        attempts.append(repr(address))
        raise ConnectionRefusedError(f"tests/conftest.py: no network in tests (tried {address!r})")

    def connect(self, address):
        if not _is_local(address):
            refuse(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        if not _is_local(address):
            refuse(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if not _is_local((host, 0)):
            refuse((host, args[0] if args else None))
        return real_getaddrinfo(host, *args, **kwargs)

    real_getaddrinfo = socket.getaddrinfo
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    if attempts:
        pytest.fail(f"the test tried to reach the network: {', '.join(attempts)}", pytrace=False)
