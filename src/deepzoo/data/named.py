"""Datasets by name (``--data cifar10``, ``load_dataset("cora")``): where their files live and how they
are fetched once.

Each named set is one folder of :func:`~deepzoo.downloads.data_home` in the layout its publisher ships
and torchvision or PyTorch Geometric downloads (``cifar-10-batches-py/``, ``MNIST/raw/``,
``Cora/raw/`` …), so either library pointed at ``$DEEPZOO_DATA`` finds the same files. A
:class:`NamedSource` says which files make the set and where each is downloaded from; :func:`locate`
returns the folder, downloading what is missing through the library's own helper (torchvision's with
its MD5 checksums; PyTorch Geometric publishes none) inside :func:`~deepzoo.downloads.fetch`, so that
offline, or with no network, the user reads one line naming the URLs and the path to put them at.
An archive already placed at that path is unpacked without the network. Reading is always done by
deepzoo's own validated loaders, never by the libraries' dataset classes (which unpickle).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..downloads import data_home, fetch
from ..errors import DataError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock: concurrent first downloads are not serialised
    fcntl = None


@dataclass(frozen=True)
class Download:
    """One file as its publisher serves it: saved in ``folder`` (under the data home) and, when
    ``unpack``, unpacked there and deleted. ``md5`` is the library's checksum (None where the library
    has none); ``library`` is ``torchvision`` or ``pyg``, whose download helper fetches it."""

    url: str
    folder: str
    md5: str | None = None
    unpack: bool = False
    library: str = "torchvision"

    @property
    def path(self) -> Path:
        """Where the downloaded file is saved (and where a user may place it by hand)."""
        return data_home() / self.folder / self.url.rpartition("/")[2]


@dataclass(frozen=True)
class NamedSource:
    """A named set on disk: its ``folder`` under the data home, the ``files`` (or sub-folders) in it
    that must all exist, and ``downloads``, a function (so that torchvision and PyG are imported only
    to download) giving the :class:`Download` list that produces them."""

    title: str
    folder: str
    files: tuple[str, ...]
    downloads: Callable[[], list[Download]]

    @property
    def path(self) -> Path:
        """The set's folder in the current data home."""
        return data_home() / self.folder

    def missing(self) -> list[str]:
        """The files of the set that are not in its folder."""
        return [name for name in self.files if not (self.path / name).exists()]

    def cached(self) -> bool:
        """Whether every file of the set is in place."""
        return not self.missing()


def locate(source: NamedSource) -> Path:
    """The set's folder, after fetching its files if any is missing. Files a user placed at the
    download paths (archives included) are checked and unpacked without the network, even offline.
    One process fetches at a time (:func:`fetching`): torchrun's other ranks wait, then find the set."""
    if source.cached():
        return source.path
    with fetching(source):
        if not source.cached():
            fetch_missing(source)
    return source.path


@contextlib.contextmanager
def fetching(source: NamedSource) -> Iterator[None]:
    """An exclusive ``flock`` on ``<data home>/.<folder>.lock`` while the set is fetched (no lock
    where the OS has no flock)."""
    lock = data_home() / f".{source.folder.replace('/', '-')}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the file drops the lock


def fetch_missing(source: NamedSource) -> None:
    """Download (or unpack what a user placed) and check that every file of the set is there."""
    downloads = source.downloads()
    if all(d.path.is_file() for d in downloads):
        for d in downloads:
            check_md5(d)
            download(d)
    else:
        destination = downloads[0].path if len(downloads) == 1 else downloads[0].path.parent  # one folder per set
        fetch(f"dataset {source.title}", lambda: [download(d) for d in downloads], [d.url for d in downloads],
              destination, DataError)
    missing = source.missing()
    if missing:
        raise DataError(f"{source.path}: {missing[0]} is still missing after fetching "
                        f"{', '.join(d.path.name for d in downloads)}")


def check_md5(item: Download) -> None:
    """A :class:`DataError` when a file on disk does not have its published MD5 checksum."""
    if item.md5 is None:
        return
    from torchvision.datasets.utils import check_md5 as matches

    if not matches(item.path, item.md5):
        raise DataError(f"{item.path}: its MD5 checksum is not the published {item.md5} (a damaged or "
                        "partial download?); delete it and load the dataset again")


def download(item: Download) -> None:
    """Fetch (unless already there) and unpack one file with its library's helper."""
    if item.library == "pyg":
        pyg_download(item)
        return
    from torchvision.datasets.utils import download_and_extract_archive, download_url

    folder = item.path.parent
    try:
        if item.unpack:
            download_and_extract_archive(item.url, folder, md5=item.md5, remove_finished=True)
        else:
            download_url(item.url, folder, md5=item.md5)
    except RuntimeError:  # torchvision's "File not found or corrupted." after a download
        if item.path.is_file():
            check_md5(item)
        raise


def pyg_download(item: Download) -> None:
    """PyTorch Geometric's ``download_url`` (no checksum), saved under a ``.part`` name and moved into
    place when complete, so an interrupted download is never mistaken for the file; a zip archive is
    unpacked with ``extract_zip``, its one top folder (TU sets: ``MUTAG/``) merged into ``folder``."""
    from torch_geometric.data import download_url, extract_zip

    target = item.path
    if not target.is_file():
        partial = target.with_name(target.name + ".part")
        partial.unlink(missing_ok=True)
        download_url(item.url, str(target.parent), log=False, filename=partial.name)
        os.replace(partial, target)
    if item.unpack:
        extract_zip(str(target), str(target.parent), log=False)
        inner = target.parent / target.name.removesuffix(".zip")
        if inner.is_dir():
            for file in inner.iterdir():
                os.replace(file, target.parent / file.name)
            shutil.rmtree(inner)
        target.unlink()
