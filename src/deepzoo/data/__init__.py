"""Datasets: embedded ones, on-disk formats, splits, validation and batching.

``load_dataset(spec, **options)`` takes a registered name (``digits``, ``moons`` ...) or a format and a
path (``csv:data.csv?target=price``, ``imagefolder:photos/``, ``npz:arrays.npz`` ...). Options in the
spec's query string and keyword options are merged (keywords win).
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from ..errors import DataError
from ..registry import Registry
from .build import RawData, UnknownOptions, build_bundle, option_names
from .bundle import DataBundle, DatasetMeta, GraphSplit, TensorSplit

DATASETS = Registry("dataset")
FORMATS = Registry("format")
_FAMILY_MODULES = ("embedded", "formats", "graphs", "graph_formats", "graph_formats_tu", "mixtures", "named_images",
                   "named_graphs", "named_photos", "unpaired", "pairs", "frames", "segmentation", "text")
_loaded = False
_loading = threading.RLock()

__all__ = [
    "DATASETS",
    "FORMATS",
    "DataBundle",
    "DatasetMeta",
    "GraphSplit",
    "RawData",
    "TensorSplit",
    "build_bundle",
    "list_datasets",
    "load_dataset",
    "parse_spec",
    "source_meta",
]


def _load_modules() -> None:
    """Import the modules that register datasets and formats (once; a thread that asks while another is
    importing them waits, so it never sees a half-filled registry)."""
    global _loaded
    with _loading:
        if _loaded:
            return
        for name in _FAMILY_MODULES:
            try:
                importlib.import_module(f"{__name__}.{name}")
            except ModuleNotFoundError as err:
                if err.name != f"{__name__}.{name}":
                    raise
        _loaded = True


def list_datasets() -> list[str]:
    """Every embedded dataset name, sorted."""
    _load_modules()
    return DATASETS.names()


def parse_spec(spec: str) -> tuple[str | None, str, dict[str, str]]:
    """Split ``format:path?k=v&k2=v2`` into ``(format, path, options)``; a bare name has format None."""
    base, _, query = spec.partition("?")
    options: dict[str, str] = {}
    for part in filter(None, query.split("&")):
        key, eq, value = part.partition("=")
        if not eq:
            raise DataError(f"{spec}: option {part!r} should look like key=value")
        options[key] = value
    fmt, colon, path = base.partition(":")
    if colon and len(fmt) > 1:  # one letter would be a Windows drive
        return fmt, path, options
    return None, base, options


def source_meta(spec: str) -> dict[str, Any]:
    """The registry metadata of the dataset name or format ``spec`` names (``image_files=True`` for the
    sources read by :func:`~deepzoo.data.image_files.image_files_bundle`, which take ``size``, ``resize``,
    ``mean``/``std`` and ``memory_budget``); an unknown name fails with its close matches."""
    _load_modules()
    fmt, path, _ = parse_spec(spec)
    return dict((DATASETS.get(path) if fmt is None else FORMATS.get(fmt)).meta)


def load_dataset(spec: str, **options: Any) -> DataBundle:
    """Load a dataset by registered name or ``format:path`` spec and return its three splits.

    Common options: ``seed`` (split seed, default 0), ``valid_fraction`` (0.2 of what is left after
    the test split), ``test_fraction`` (0.2, when the source has no test split of its own),
    ``normalize`` (``standard`` per feature/channel from the training split, ``none`` to keep the
    source's range, ``symmetric`` to map [0, 1] images to [−1, 1]).
    """
    _load_modules()
    fmt, path, query = parse_spec(spec)
    merged: dict[str, Any] = {**query, **options}
    factory = DATASETS.get(path).factory if fmt is None else FORMATS.get(fmt).factory
    try:
        return factory(**merged) if fmt is None else factory(path, **merged)
    except UnknownOptions as err:  # matched against the options of the whole chain, the format's own too
        raise err.widened(option_names(factory)) from None
