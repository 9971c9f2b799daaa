"""The tools ``deepzoo agent`` gives the model: search the docs, list and show models, list datasets, train
a small run and evaluate it — each confined to the agent's folder (:func:`deepzoo.text.agent.inside`).

Training is bounded so that a model cannot start a day-long job: at most :data:`MAX_EPOCHS` epochs, models
of at most :data:`MAX_PARAMETERS` parameters (as ``deepzoo models`` counts them), embedded datasets or files
inside the agent's folder only (a named dataset would be downloaded outside it). Runs are written to
``<agent folder>/runs/``, and only runs there can be evaluated.
"""

from __future__ import annotations

from pathlib import Path

from .. import api
from ..data import DATASETS, FORMATS, list_datasets, parse_spec
from ..errors import ConfigError
from ..models import list_models, model_entry
from ..models._catalogue import recorded_catalogue
from ..run.folders import check_run_name
from ..text.agent import Tool, inside
from ..text.search import builtin_engine

MAX_EPOCHS = 5
MAX_PARAMETERS = 2_000_000
#: the training settings an agent's run always gets: quiet, no TensorBoard, no plots
QUIET = ["train.progress=false", "train.tensorboard=false", "train.plots=false"]


def search_docs(query: str, top: int = 3) -> str:
    """The best model cards and docs pages for ``query`` (BM25, as ``deepzoo explain``), with summaries."""
    result = builtin_engine().search(query, top=max(1, min(int(top), 5)))
    if not result.hits:
        return f'no page matches "{result.corrected}"'
    return "\n".join(f"[{i}] {h.document.title} ({h.document.source}): {' '.join(h.summary)}"
                     for i, h in enumerate(result.hits, 1))


def list_model_rows(family: str = "") -> str:
    """Registered models (name, family, task, parameters), of one family when given."""
    rows = [(name, row) for name, row in sorted(recorded_catalogue().items())
            if not family or row["family"] == family]
    if not rows:
        families = sorted({row["family"] for row in recorded_catalogue().values()})
        return f"no model of family {family!r}; families: {', '.join(families)}"
    return "\n".join(f"{name}: {row['family']}, task {row['task']}, "
                     f"{row['params']:,} parameters" if row["params"] else f"{name}: {row['family']}"
                     for name, row in rows)


def show_model(name: str) -> str:
    """A model's card (paper, settings, the command that trains it); an unknown name lists close matches."""
    list_models()
    entry = model_entry(name)
    card = Path(__file__).parents[1] / "cards" / f"{entry.name}.md"
    return card.read_text(encoding="utf-8") if card.is_file() else f"{entry.name}: {entry.meta.get('paper', '')}"


def list_dataset_rows() -> str:
    """The embedded datasets an agent may train on, and the file formats."""
    list_datasets()
    embedded = [f"{e.name}: {e.meta.get('summary', '')}" for e in DATASETS if "source" not in e.meta]
    formats = [f"{e.name}:PATH: {e.meta.get('summary', '')}" for e in FORMATS]
    return "\n".join(["embedded datasets:", *embedded, "file formats (paths inside the agent's folder):", *formats])


class AgentTools:
    """The tools of one agent, bound to its folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.runs_dir = folder / "runs"

    def data_spec(self, data: str) -> str:
        """``data`` if it names an embedded dataset, or a ``FORMAT:PATH`` spec with its path made absolute
        inside the folder; a named (downloaded) dataset or a path outside the folder is refused."""
        list_datasets()
        fmt, path, _ = parse_spec(data)
        if fmt is None:
            if "source" in DATASETS.get(path).meta:
                raise ConfigError(f"{path}: a named dataset is downloaded outside the agent's folder; use an "
                                  "embedded dataset (list_datasets) or a file inside the folder")
            return data
        FORMATS.get(fmt)
        query = data.partition("?")[2]
        return f"{fmt}:{inside(self.folder, path)}" + (f"?{query}" if query else "")

    def train(self, model: str, data: str, epochs: int = 1, name: str | None = None) -> str:
        """Train ``model`` on ``data`` for ``epochs`` (bounded) into the agent's runs; the final metrics."""
        if not 1 <= int(epochs) <= MAX_EPOCHS:
            raise ConfigError(f"epochs={epochs}: an agent trains 1 to {MAX_EPOCHS} epochs")
        params = recorded_catalogue().get(model_entry(model).name, {}).get("params")
        if params is None or params > MAX_PARAMETERS:
            raise ConfigError(f"{model}: an agent trains models of at most {MAX_PARAMETERS:,} parameters "
                              f"({model} has {'an unknown number' if params is None else f'{params:,}'})")
        if name is not None:
            check_run_name(name, "name")
        lines: list[str] = []
        run = api.train(model, self.data_spec(data), epochs=int(epochs), name=name, overrides=QUIET,
                        runs_dir=str(self.runs_dir), echo=lines.append)
        metrics = {k: v for k, v in run.metrics.items() if k.startswith(("valid/", "test/"))}
        shown = ", ".join(f"{k} {v:.4g}" for k, v in sorted(metrics.items()))
        return f"trained run {run.dir.name} ({model} on {data}, {epochs} epoch(s)): {shown}"

    def evaluate(self, run: str) -> str:
        """The metrics of one of the agent's runs on its splits."""
        folder = self.runs_dir / check_run_name(run, "run")
        if not folder.is_dir():
            made = sorted(p.name for p in self.runs_dir.glob("*")) if self.runs_dir.is_dir() else []
            raise ConfigError(f"no run {run!r} in the agent's folder; its runs: {', '.join(made) or 'none yet'}")
        metrics = api.evaluate(folder, echo=lambda *a: None)
        return ", ".join(f"{k} {v:.4g}" for k, v in sorted(metrics.items()))

    def tools(self) -> list[Tool]:
        """The tool list the model sees."""
        text = {"type": "string"}
        return [
            Tool("search_docs", "Search deepzoo's model cards and documentation (BM25); returns the best pages "
                 "with summaries.", {"query": {**text, "description": "words to search for"},
                                     "top": {"type": "integer", "description": "pages to return (1-5)"}},
                 search_docs, ("query",)),
            Tool("list_models", "List the registered models with family, task and parameter count.",
                 {"family": {**text, "description": "only this family (e.g. resnet, gpt)"}}, list_model_rows),
            Tool("show_model", "Show one model's card: paper, settings, how to train it.",
                 {"name": {**text, "description": "a model name from list_models"}}, show_model, ("name",)),
            Tool("list_datasets", "List the embedded datasets and the file formats.", {}, list_dataset_rows),
            Tool("train", f"Train a small model (at most {MAX_PARAMETERS:,} parameters, {MAX_EPOCHS} epochs) on "
                 "an embedded dataset; returns the validation and test metrics.",
                 {"model": text, "data": {**text, "description": "an embedded dataset name"},
                  "epochs": {"type": "integer"}, "name": {**text, "description": "a plain run name"}},
                 self.train, ("model", "data")),
            Tool("evaluate", "Evaluate a run this agent trained, on its train/valid/test splits.",
                 {"run": {**text, "description": "the run's name"}}, self.evaluate, ("run",)),
        ]
