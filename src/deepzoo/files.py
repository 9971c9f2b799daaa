"""Files that a kill at any moment cannot tear: write beside, fsync, then move into place.

Every file of a run folder that a later command reads (checkpoints, ``model.safetensors``,
``summary.json``, ``config.yaml``, ``metrics.csv``) is written through :func:`atomic_path`: the bytes go
to a temporary file in the destination folder (never ``$TMPDIR``, which can be another disk), which is
flushed, fsynced and moved over the destination with ``os.replace``; the folder is fsynced too. A kill
leaves either the old file or the new one, never half of one — only a stray temporary, which
:func:`remove_temporaries` deletes at the next start.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

#: temporaries are ``.<name>.<random>.tmp`` beside their destination
TEMP_SUFFIX = ".tmp"


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path to write ``path``'s new content to; moved into place when the block ends
    without an exception, deleted when it raises."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:  # mkstemp would make the file private (0600); this one gets the umask's permissions
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Replace ``path``'s content by ``text`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def remove_temporaries(folder: str | Path) -> list[Path]:
    """Delete the temporaries an interrupted :func:`atomic_path` left anywhere under ``folder``; return
    them. Only call it while no other process writes there (the run folder's lock is held)."""
    found = [p for p in Path(folder).rglob(f".*{TEMP_SUFFIX}") if p.is_file()]
    for p in found:
        p.unlink(missing_ok=True)
    return found
