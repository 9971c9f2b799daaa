"""Name → factory registries shared by models, datasets, tasks, optimizers and schedulers.

Everything a user can name goes through a :class:`Registry`, so the CLI, the Python API, the docs and
``deepzoo models`` / ``deepzoo datasets`` all list the same things, and an unknown name fails with the
closest matches.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError


@dataclass
class Entry:
    """One registered name: its factory and free-form metadata (paper, family, reference numbers)."""

    name: str
    factory: Callable[..., Any]
    meta: dict[str, Any] = field(default_factory=dict)


class Registry:
    """A named collection of factories with helpful errors for unknown names."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def register(self, name: str | None = None, **meta: Any) -> Callable:
        """Decorator: ``@MODELS.register("resnet18", family="resnet", paper="He et al. 2016")``."""

        def decorate(factory: Callable) -> Callable:
            key = name or factory.__name__
            if key in self._entries:
                raise ValueError(f"{self.kind} {key!r} is registered twice")
            self._entries[key] = Entry(key, factory, dict(meta))
            return factory

        return decorate

    def get(self, name: str) -> Entry:
        """The entry for ``name``; a :class:`ConfigError` listing close matches if unknown."""
        try:
            return self._entries[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._entries, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            if self.kind in ("model", "dataset"):
                known = f"see the full list with `deepzoo {self.kind}s`"
            else:
                known = f"known: {', '.join(self.names())}"
            raise ConfigError(f"unknown {self.kind} {name!r}{hint} ({known})") from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def names(self) -> list[str]:
        """All registered names, sorted."""
        return sorted(self._entries)
