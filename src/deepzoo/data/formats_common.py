"""Helpers shared by the on-disk format loaders: path checks, option parsing and short value quotes.

Every loader reports a user mistake as one :class:`DataError` line that starts with the file (or
folder) the user named, so the message points at the thing to fix.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError


def existing_file(path: str | Path) -> Path:
    """``path`` as a :class:`Path`; a :class:`DataError` if it is missing or not a regular file."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{path}: no such file")
    if not p.is_file():
        raise DataError(f"{path}: is not a file")
    return p


def existing_dir(path: str | Path) -> Path:
    """``path`` as a :class:`Path`; a :class:`DataError` if it is missing or not a folder."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{path}: no such folder")
    if not p.is_dir():
        raise DataError(f"{path}: is not a folder")
    return p


def read_maybe_gzip(path: Path) -> bytes:
    """The bytes of ``path``, decompressed when its name ends in ``.gz``."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"{path}: cannot be read ({err})") from None


def quote(value: str, limit: int = 40) -> str:
    """A value for an error message: quoted, escaped (never a line break) and cut to ``limit`` chars."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def choice_option(value: str, allowed: tuple[str, ...], name: str, source: str) -> str:
    """Check a string option against its allowed values."""
    if value not in allowed:
        raise DataError(f"{source}: option {name}={value!r} is not one of {', '.join(allowed)}")
    return value


def one_line(err: BaseException) -> str:
    """The first line of an exception's message (library errors sometimes span several)."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def first_nonfinite(values: np.ndarray) -> int | None:
    """Index of the first item (along axis 0) holding NaN, ±inf or a number too large for float32.

    Everything is trained in float32, so a finite float64 such as 1e39 would turn into inf later.
    """
    if values.dtype.kind not in "fc" or values.size == 0:
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        as32 = values.astype(np.float32)
    bad = ~np.isfinite(as32.reshape(len(as32), -1)).all(axis=1)
    return int(np.argmax(bad)) if bad.any() else None
