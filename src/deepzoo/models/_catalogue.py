"""The recorded model catalogue (``models/complexity.json``): what ``deepzoo models`` lists.

Reading it needs neither PyTorch nor any model family, so the listing is instant; it is written, and
checked against the live registry by a test, in :mod:`deepzoo.models._counting`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: the catalogue ``deepzoo models`` lists without importing a model family: for every registered model
#: its family, task, paper, default input and the parameters and multiply-adds :func:`model_complexity`
#: counts there. A test rebuilds it live, so it cannot drift; regenerate it with
#: ``python -m deepzoo.models._counting`` after adding or changing a model.
RECORDED = Path(__file__).with_name("complexity.json")
#: the registry metadata the catalogue keeps beside the counts
LISTED_META = ("family", "task", "paper", "input_size")


def recorded_catalogue() -> dict[str, dict[str, Any]]:
    """``{name: {"params", "macs", "family", "task", "paper", "input_size"}}`` from :data:`RECORDED`
    (empty when the file is absent); reading it imports no model family."""
    if not RECORDED.is_file():
        return {}
    return json.loads(RECORDED.read_text())


def recorded_complexity() -> dict[str, tuple[int | None, int | None]]:
    """``{name: (parameters, multiply-adds)}`` from :data:`RECORDED`."""
    return {name: (row["params"], row["macs"]) for name, row in recorded_catalogue().items()}
