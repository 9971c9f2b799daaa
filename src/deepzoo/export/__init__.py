"""Export a finished run's network to run outside Python: ONNX (``torch.onnx.export``, the dynamo-based
exporter) or ``.pt2`` (``torch.export``), with a dynamic batch dimension, the preprocessing stated in the
file's metadata, and a verification against PyTorch on real inputs before the file is put in place.

>>> from deepzoo.export import export_run
>>> result = export_run("digits-resnet20", "onnx")   # runs/digits-resnet20/model.onnx
>>> result.verification.describe()

:mod:`.targets` says what each family exports, :mod:`.metadata` what the file says about itself,
:mod:`.writers` how it is written and checked, :mod:`.onnx_run` how ``deepzoo predict FILE.onnx`` runs one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..run.training import load_run
from .metadata import export_metadata
from .targets import export_target
from .writers import FORMATS, Verification, write_verified

#: real items each export is verified on (fewer when the run's split has fewer)
VERIFY_ITEMS = 8


@dataclass
class ExportResult:
    """A written export: its file, format, part and the :class:`Verification` it passed."""

    path: Path
    format: str
    part: str
    verification: Verification


def export_run(run: str | Path, fmt: str = "onnx", output: str | Path | None = None, part: str | None = None,
               runs_dir: str = "runs", items: int = VERIFY_ITEMS) -> ExportResult:
    """Export the finished run ``run`` (a folder, or a name under ``runs_dir``) in format ``fmt`` (``onnx``
    or ``pt2``) to ``output`` (default ``<run>/<part>.<fmt>``: ``model.onnx``, ``generator.onnx``,
    ``encoder.pt2`` ...), ``part`` choosing an autoencoder's ``encoder`` or ``decoder``; verified on the
    first ``items`` real inputs. User mistakes and models the exporter refuses are one-line
    :class:`~deepzoo.errors.ConfigError`\\ s."""
    suffix = FORMATS.get(fmt).meta["suffix"]  # an unknown format fails before the run is loaded
    loaded = load_run(run, runs_dir)
    target = export_target(loaded, part, items)
    path = Path(output) if output is not None else loaded.dir / f"{target.part}{suffix}"
    name = f"{loaded.config.model.name} ({loaded.dir.name}, {target.part})"
    check = write_verified(fmt, target, path, export_metadata(loaded, target), name)
    return ExportResult(path, fmt, target.part, check)


__all__ = ["FORMATS", "ExportResult", "Verification", "export_run"]
