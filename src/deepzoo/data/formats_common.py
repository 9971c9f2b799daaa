"""Helpers shared by the on-disk format loaders: path checks, option parsing and short value quotes.

Every loader reports a user mistake as one :class:`DataError` line that starts with the file (or
folder) the user named, so the message points at the thing to fix.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


#: deflate's largest expansion (a run of one byte): about 1032 output bytes per input byte, so a
#: gzip file of n bytes cannot hold more than this many times n (zlib's technical notes)
GZIP_MAX_RATIO = 1032
CHUNK = 1 << 20


def read_prefix_and_body(path: Path, prefix: int, body_size) -> tuple[bytes, bytes]:
    """The first ``prefix`` bytes of ``path`` (decompressed when its name ends in ``.gz``), then at most
    ``body_size(prefix_bytes) + 1`` more — one byte beyond what the header announces, so a longer file
    is caught without reading it. Memory never exceeds what the header announces, and a gzipped header
    that announces more than deflate can expand the file to (1032× its size) is refused unread: a
    small file cannot inflate memory.
    """
    gzipped = path.suffix == ".gz"
    try:
        with (gzip.open(path, "rb") if gzipped else path.open("rb")) as f:
            head = f.read(prefix)
            if len(head) < prefix:
                return head, b""
            wanted = body_size(head)
            size = path.stat().st_size
            if gzipped and prefix + wanted > GZIP_MAX_RATIO * size:
                raise DataError(f"{path}: the header announces {prefix + wanted:,} bytes, more than a gzip "
                                f"file of {size:,} bytes can hold")
            parts, got = [], 0
            while got <= wanted:
                part = f.read(min(CHUNK, wanted + 1 - got))
                if not part:
                    break
                parts.append(part)
                got += len(part)
            return head, b"".join(parts)
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"{path}: cannot be read ({err})") from None


def whitespace_rows(path: Path, commas: bool = False) -> Iterator[tuple[int, list[str]]]:
    """Non-blank lines of a whitespace-separated text file as (line number, fields); with ``commas``,
    commas separate fields too (the TU files' ``1, 2``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot be read ({err})") from None
    for line, row in enumerate(text.splitlines(), start=1):
        fields = (row.replace(",", " ") if commas else row).split()
        if fields:
            yield line, fields


def quote(value: str, limit: int = 40) -> str:
    """A value for an error message: quoted, escaped (never a line break) and cut to ``limit`` chars."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def choice_option(value: str, allowed: tuple[str, ...], name: str, source: str) -> str:
    """Check a string option against its allowed values."""
    if value not in allowed:
        raise DataError(f"{source}: option {name}={value!r} is not one of {', '.join(allowed)}")
    return value


def int_option(value: Any, name: str, source: str, minimum: int = 0) -> int:
    """An integer option (given as text in a spec's query string) of at least ``minimum``."""
    try:
        out = int(value)
    except (TypeError, ValueError):
        raise DataError(f"{source}: option {name}={value!r} is not an integer") from None
    if out < minimum:
        raise DataError(f"{source}: option {name}={out} must be at least {minimum}")
    return out


def bool_option(value: Any, name: str, source: str) -> bool:
    """``true``/``false`` (also 1/0, yes/no) or a bool."""
    text = str(value).lower()
    if text not in ("true", "false", "1", "0", "yes", "no"):
        raise DataError(f"{source}: option {name}={value!r} is not true or false")
    return text in ("true", "1", "yes")


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
