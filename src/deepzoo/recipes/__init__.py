"""Recipes: one per way of training. ``recipe_for_task(task)`` finds the recipe that trains a task."""

from __future__ import annotations

import importlib
import pkgutil

from .base import TASKS, Recipe

__all__ = ["TASKS", "Recipe", "list_tasks", "recipe_for_task"]
_loaded = False


def _load_recipes() -> None:
    """Import every recipe module so that their tasks register (once)."""
    global _loaded
    if not _loaded:
        _loaded = True
        for info in pkgutil.iter_modules(__path__):
            if info.name != "base" and not info.name.startswith("_"):
                importlib.import_module(f"{__name__}.{info.name}")


def recipe_for_task(task: str) -> type[Recipe]:
    """The recipe class that trains ``task``; unknown tasks list close matches."""
    _load_recipes()
    return TASKS.get(task).factory


def list_tasks() -> list[str]:
    """Every task name a run can take."""
    _load_recipes()
    return TASKS.names()
