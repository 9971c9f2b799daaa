"""The metadata written with every export: how to prepare an input and what the outputs are.

An ONNX file carries it as ``metadata_props`` (string → string), a ``.pt2`` archive as the extra file
``deepzoo.json`` inside it (one file to ship, read with ``torch.export.load(path, extra_files=...)``).
The keys, all prefixed ``deepzoo.``:

- ``run``, ``model``, ``task``, ``part``, ``version``: where the file came from;
- ``inputs``: each input's name, shape (``batch`` first: the batch is dynamic) and dtype;
- ``outputs``: each output's name and what it holds (probabilities, labels, pixels in [0, 1] ...);
- ``preprocessing``: one readable line (resize, centre crop, interpolation, scaling to [0, 1], then
  ``(x − mean) / std``), with ``mean``, ``std``, ``image_geometry`` and ``class_names`` as JSON;
- ``meta``: the run's whole ``meta.json`` (its table encoding too), from which ``deepzoo predict FILE.onnx``
  reads new inputs exactly as the run does.
"""

from __future__ import annotations

import json
from typing import Any

from ..data.bundle import DatasetMeta
from ..data.image_files import run_geometry
from ..errors import DataError
from .targets import ExportTarget

PREFIX = "deepzoo."


def preprocessing_line(meta: DatasetMeta) -> str:
    """How the run prepares one input, in words: an image's resize, crop and scaling, then the
    normalisation; a table's encoding is named (its details are in ``deepzoo.meta``)."""
    steps = []
    if meta.is_image:
        geometry = run_geometry(meta)
        if geometry.size is not None:
            steps.append(f"resize the shorter side to {geometry.resize} ({geometry.interpolation}, antialiased), "
                         f"centre crop {geometry.size[0]}×{geometry.size[1]}")
        else:
            steps.append(f"resize to {geometry.native[0]}×{geometry.native[1]} ({geometry.interpolation}, "
                         "antialiased) if another size")
        steps.append(f"{geometry.channels} channel(s), pixels scaled to [0, 1]")
    elif "table" in meta.extra:
        steps.append("the training table's columns encoded as deepzoo.meta's table encoding says")
    if meta.mean is not None:
        steps.append(f"(x − mean) / std with mean {_rounded(meta.mean)} and std {_rounded(meta.std)}")
    return "; ".join(steps) or "none (the inputs as they are)"


def _rounded(values: list[float]) -> list[float]:
    return [round(float(v), 6) for v in values]


def export_metadata(loaded, target: ExportTarget) -> dict[str, str]:
    """The ``deepzoo.*`` metadata of an export of the run ``loaded`` (see the module docstring)."""
    from importlib.metadata import version

    meta, config = loaded.recipe.data.meta, loaded.config
    inputs = {name: {"shape": ["batch", *x.shape[1:]], "dtype": str(x.dtype).removeprefix("torch.")}
              for name, x in target.inputs.items()}
    fields: dict[str, Any] = {
        "version": version("deepzoo"), "run": loaded.dir.name, "model": config.model.name, "task": config.task,
        "part": target.part, "inputs": inputs, "outputs": target.outputs,
        "preprocessing": target.preprocessing or preprocessing_line(meta),
        "mean": meta.mean, "std": meta.std, "class_names": meta.class_names,
        "image_geometry": run_geometry(meta).to_dict() if meta.is_image else None,
        "meta": meta.to_dict(),
    }
    return {PREFIX + key: value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            for key, value in fields.items()}


def run_meta(metadata: dict[str, str], source: str) -> DatasetMeta:
    """The run's :class:`DatasetMeta` from an export's metadata (``deepzoo.meta``); a file without it is a
    one-line :class:`DataError` naming ``source``."""
    text = metadata.get(PREFIX + "meta")
    if text is None:
        raise DataError(f"{source}: no deepzoo metadata (deepzoo.meta); predict reads files written by "
                        "`deepzoo export`")
    fields = json.loads(text)
    fields["input_shape"] = tuple(fields["input_shape"])
    return DatasetMeta(**fields)
