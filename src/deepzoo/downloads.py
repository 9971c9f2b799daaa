"""Named weights and datasets: where their files are cached, and the one line a user reads when they are
not there and cannot be fetched.

deepzoo downloads nothing by itself: weights come through torchvision's weight registry into torch.hub's
cache (``$TORCH_HOME/hub/checkpoints/``), datasets through torchvision's and PyTorch Geometric's download
helpers (with their checksums) into :func:`data_home`, and only when a user names them and the files are
missing. :func:`fetch` wraps such a library call: with ``DEEPZOO_OFFLINE`` set it never calls it, and a
network failure becomes one line naming what to download and the exact path to put it at.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import urllib.error
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from .errors import DeepzooError, one_line

#: the folder of named datasets, one sub-folder per set in its publisher's layout
DATA_ENV = "DEEPZOO_DATA"
#: set (to anything but 0/false/no) to never download: a missing file is then the one-line error at once
OFFLINE_ENV = "DEEPZOO_OFFLINE"
#: what a failed download raises, from urllib and the socket layer underneath every library's helper
NETWORK_ERRORS = (urllib.error.URLError, ConnectionError, TimeoutError, socket.gaierror, socket.timeout,
                  ssl.SSLError, http.client.HTTPException)

T = TypeVar("T")


def data_home() -> Path:
    """``$DEEPZOO_DATA``, else ``~/.cache/deepzoo/data``: where named datasets are stored."""
    configured = os.environ.get(DATA_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "deepzoo" / "data"


def offline() -> bool:
    """Whether ``DEEPZOO_OFFLINE`` forbids downloads (as ``HF_HUB_OFFLINE`` does for the Hugging Face hub)."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def fetch(what: str, download: Callable[[], T], urls: Sequence[str], destination: Path | str,
          error: type[DeepzooError]) -> T:
    """Run ``download`` (the owning library's download call, which fetches ``urls`` into
    ``destination``) and return its result; offline, or when the network fails, raise ``error`` in one
    line: what is missing, the URL(s) and the exact path to place the file(s) at."""
    listed = urls[0] if len(urls) == 1 else f"{', '.join(urls[:-1])} and {urls[-1]}"
    where = f"download {listed} and place {'it' if len(urls) == 1 else 'them'} at {destination}"
    if offline():
        raise error(f"{what} is not cached and {OFFLINE_ENV} is set: {where}")
    try:
        return download()
    except NETWORK_ERRORS as err:
        raise error(f"{what} is not cached and cannot be downloaded ({type(err).__name__}: {one_line(err)}); "
                    f"{where}") from None
