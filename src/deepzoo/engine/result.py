"""What :func:`~deepzoo.engine.fit` returns, and :func:`deepzoo.api.load_run` too: a run's folder, config,
summary and trained recipe."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import RunConfig


@dataclass
class Run:
    """A finished (or loaded) run: its folder, config, summary and the trained recipe."""

    dir: Path
    config: RunConfig
    summary: dict[str, Any] = field(default_factory=dict)
    recipe: Any = None

    @property
    def metrics(self) -> dict[str, float]:
        """The flat ``<split>/<metric>`` map of ``summary.json``."""
        return self.summary.get("metrics", {})

    @property
    def model(self):
        """The trained model (best weights restored)."""
        return None if self.recipe is None else self.recipe.model
