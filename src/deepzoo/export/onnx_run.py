"""``deepzoo predict FILE.onnx``: an exported supervised model run by ONNX Runtime, as a run that predicts.

The file's ``deepzoo.meta`` metadata is the run's ``meta.json``, so new inputs are read exactly as the run
reads them (image geometry and normalisation, a table's encoding) and the CSV has the run's columns and
class names: a user checks the file they ship against the run it came from.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..config import RunConfig
from ..data import DataBundle
from ..engine.result import Run
from ..errors import DataError, one_line
from .metadata import PREFIX, run_meta
from .writers import OnnxSession

#: the tasks whose exports ``predict`` runs (their outputs are probabilities and labels, or values)
PREDICTING_TASKS = ("binary", "multiclass", "multilabel", "regression")


class OnnxPredictor:
    """What ``deepzoo predict`` reads of a recipe — ``data.meta``, ``device`` and ``predict(x)`` — for an
    exported ONNX file: ``predict`` runs it in ONNX Runtime (CPU) and names the outputs as the file does
    (``probability`` and ``label``, or ``value``)."""

    def __init__(self, path: Path):
        if not path.is_file():
            raise DataError(f"{path}: file not found")
        try:
            self.session = OnnxSession(path)
        except Exception as err:  # noqa: BLE001 - a foreign or damaged file is the user's to know about
            raise DataError(f"{path}: ONNX Runtime cannot load it ({type(err).__name__}: {one_line(err)})") from None
        metadata = self.session.metadata()
        meta = run_meta(metadata, str(path))
        task = metadata.get(PREFIX + "task")
        if task not in PREDICTING_TASKS:
            raise DataError(f"{path}: the {metadata.get(PREFIX + 'part')} of a {task} run; predict runs exports of "
                            f"{', '.join(PREDICTING_TASKS)} runs")
        self.data = DataBundle(None, None, None, meta)
        self.device = torch.device("cpu")

    def predict(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The file's outputs for a batch of prepared inputs, by output name."""
        return dict(zip(self.session.output_names, self.session.run(x.detach().cpu().float()), strict=True))


def onnx_run(path: str | Path) -> Run:
    """An exported ONNX file as a :class:`Run` without a folder whose recipe predicts through ONNX Runtime."""
    return Run(None, RunConfig(), {}, OnnxPredictor(Path(path)))
