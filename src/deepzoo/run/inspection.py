"""What a finished run's folder gets besides its weights and metrics, so it can be read and compared:
``diagnostics.json`` (:mod:`.diagnostics`), ``model_size.json`` (parameters and multiply-adds, for
``deepzoo compare``) and, for supervised runs, the error analysis (:mod:`.error_analysis`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..engine.result import Run
from ..files import write_text_atomic
from .diagnostics import write_diagnostics
from .error_analysis import write_error_analysis


def model_size(model: Any, input_shape: tuple[int, ...]) -> dict[str, Any]:
    """Parameters of ``model`` and its multiply-adds for one item of ``input_shape`` (counted on the meta
    device, :func:`~deepzoo.models._counting.count_macs`); ``macs`` is None for a model whose forward does
    not take one data item (a GAN's generator takes noise, a graph network a graph)."""
    from ..models._counting import count_macs, count_parameters

    try:
        macs = count_macs(model, input_shape) if input_shape else None
    except Exception:  # noqa: BLE001 - any family's forward; an unknown count is recorded as such
        macs = None
    return {"parameters": count_parameters(model), "macs": macs, "input_shape": list(input_shape)}


def inspect_finished_run(run: Run, echo=print) -> None:
    """Write the diagnostics, the model's size and (when the run draws plots) the error analysis of the
    held-out split — the test split, else the valid one — of a run ``fit`` just finished, echoing the
    log lines."""
    run_dir: Path = run.dir
    recipe, config = run.recipe, run.config
    for line in write_diagnostics(run_dir, run.summary):
        echo(line)
    shape = tuple(recipe.data.meta.input_shape) if recipe.data is not None else ()
    write_text_atomic(run_dir / "model_size.json", json.dumps(model_size(recipe.model, shape), indent=2))
    if config.train.plots:
        split = "test" if recipe.data.test is not None and len(recipe.data.test) else "valid"
        for line in write_error_analysis(recipe, run_dir, split, config.train.eval_batch_size):
            echo(line)


def analyse_split(run: Run, split: str, echo=print) -> None:
    """Write the error analysis of ``split`` of a loaded ``run`` (``deepzoo evaluate RUN --split NAME``)
    into ``<run>/errors/<split>/`` while holding the run folder's lock, echoing the log lines; a run of
    another task says in one line that it has none."""
    from .folders import RunLock

    with RunLock(run.dir).acquire():
        lines = write_error_analysis(run.recipe, run.dir, split, run.config.train.eval_batch_size)
    for line in lines or [f"no error analysis for a {run.config.task} run (binary, multiclass and regression "
                          "runs have one)"]:
        echo(line)
