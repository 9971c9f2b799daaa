"""Write an export and verify it: ``torch.export`` captures the network once, with a dynamic batch
dimension; ``onnx`` converts that program with ``torch.onnx.export`` (the dynamo-based exporter) and
``pt2`` saves it with ``torch.export.save``.

**Verification.** The file is written to a temporary file beside its destination (:func:`~deepzoo.files.
atomic_path`), loaded back — by ONNX Runtime on the CPU provider, or by ``torch.export.load`` — and run on
the real inputs of :mod:`.targets` at a batch size other than the one the program was captured with (the
exporter's reported bugs on ResNets and attention specialise silently to the example's batch). Its
outputs must match PyTorch's eager outputs: for float outputs max |exported − PyTorch| ≤ 1e-4 ·
max(1, max |PyTorch|) (1e-4 absolute for outputs up to 1 in magnitude — probabilities, pixels — and
relative beyond); integer outputs (labels) must be equal. Only then does the file replace the
destination; a failed check removes the temporary file and leaves whatever the user had there.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import ConfigError, one_line
from ..files import atomic_path
from ..registry import Registry
from .targets import ExportTarget

#: the relative tolerance of the verification (absolute below 1 in magnitude)
TOLERANCE = 1e-4
#: the items of the batch ``torch.export`` captures the program with (verification uses more)
EXAMPLE_ITEMS = 2
#: the file name of the metadata inside a ``.pt2`` archive
PT2_METADATA = "deepzoo.json"

FORMATS = Registry("export format")


@dataclass
class Verification:
    """The check of a written export: the items compared, the largest float difference, its tolerance,
    and how many integer outputs (labels) differ."""

    items: int
    max_abs_diff: float
    tolerance: float
    labels_differing: int = 0

    @property
    def passed(self) -> bool:
        """Whether the exported outputs match PyTorch's within the tolerance."""
        return self.max_abs_diff <= self.tolerance and self.labels_differing == 0

    def describe(self) -> str:
        """One line: the comparison and its outcome."""
        labels = f", {self.labels_differing} label(s) differ" if self.labels_differing else ""
        sign = "≤" if self.passed else ">"
        return (f"max |difference| {self.max_abs_diff:.2e} {sign} tolerance {self.tolerance:.1e} on {self.items} "
                f"real item(s){labels}")


def compare(reference: tuple[torch.Tensor, ...], outputs: tuple[torch.Tensor, ...]) -> Verification:
    """The :class:`Verification` of exported ``outputs`` against PyTorch's ``reference`` (same order)."""
    diff, scale, differing = 0.0, 1.0, 0
    for ref, out in zip(reference, outputs, strict=True):
        if ref.shape != out.shape:
            raise ConfigError(f"the exported output has shape {tuple(out.shape)}, PyTorch's {tuple(ref.shape)}")
        if ref.is_floating_point():
            diff = max(diff, (ref.float() - out.float()).abs().max().item())
            scale = max(scale, ref.float().abs().max().item())
        else:
            differing += int((ref != out).reshape(len(ref), -1).any(1).sum())
    return Verification(len(reference[0]), diff, TOLERANCE * scale, differing)


@contextlib.contextmanager
def quiet_exporter() -> Iterator[None]:
    """The exporters' warnings and progress lines kept off the terminal (their errors still raise)."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        level = logging.getLogger("torch").level
        logging.getLogger("torch").setLevel(logging.ERROR)
        try:
            yield
        finally:
            logging.getLogger("torch").setLevel(level)


def capture(target: ExportTarget, name: str) -> torch.export.ExportedProgram:
    """``torch.export`` of the target with every input's first dimension dynamic (``batch``), from its
    first :data:`EXAMPLE_ITEMS` items; a network the exporter refuses is one line naming ``name``."""
    example = tuple(x[:EXAMPLE_ITEMS] for x in target.inputs.values())
    batch = torch.export.Dim("batch", min=1)
    shapes = tuple({0: batch} for _ in example)
    try:
        with quiet_exporter():
            return torch.export.export(target.module, example, dynamic_shapes=shapes)
    except Exception as err:  # noqa: BLE001 - whatever the exporter refuses is the user's to know, in one line
        raise ConfigError(f"{name}: torch.export cannot capture it ({type(err).__name__}: {one_line(err)})") from None


def write_onnx(program: torch.export.ExportedProgram, target: ExportTarget, path: Path,
               metadata: dict[str, str], name: str) -> Callable[..., tuple[torch.Tensor, ...]]:
    """Convert ``program`` with ``torch.onnx.export`` (dynamo), store ``metadata`` as the model's
    ``metadata_props`` and write it to ``path``; return a function running the written file in ONNX Runtime."""
    import onnx

    example = tuple(x[:EXAMPLE_ITEMS] for x in target.inputs.values())
    try:
        with quiet_exporter():
            onnx_program = torch.onnx.export(program, example, dynamo=True, verbose=False,
                                             input_names=list(target.inputs), output_names=list(target.outputs))
    except Exception as err:  # noqa: BLE001 - as in capture()
        raise ConfigError(f"{name}: the ONNX exporter cannot convert it ({type(err).__name__}: "
                          f"{one_line(err)})") from None
    proto = onnx_program.model_proto
    for value in (*proto.graph.input, *proto.graph.output):  # the exporter names the batch s0, s77 ...
        dims = value.type.tensor_type.shape.dim
        if dims and dims[0].dim_param:
            dims[0].dim_param = "batch"
    onnx.helper.set_model_props(proto, metadata)
    proto.doc_string = f"deepzoo export of {name}: {json.loads(metadata['deepzoo.outputs'])}"
    path.write_bytes(proto.SerializeToString())
    return OnnxSession(path).run


class OnnxSession:
    """An ONNX file in ONNX Runtime (CPU provider): its named inputs in, its outputs as tensors out."""

    def __init__(self, path: Path):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def run(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The outputs for ``inputs`` (in the file's input order)."""
        feeds = {name: x.numpy() for name, x in zip(self.input_names, inputs, strict=True)}
        return tuple(torch.from_numpy(y) for y in self.session.run(None, feeds))

    def metadata(self) -> dict[str, str]:
        """The model's ``metadata_props``."""
        return dict(self.session.get_modelmeta().custom_metadata_map)


def write_pt2(program: torch.export.ExportedProgram, target: ExportTarget, path: Path,
              metadata: dict[str, str], name: str) -> Callable[..., tuple[torch.Tensor, ...]]:
    """Save ``program`` with ``torch.export.save``, ``metadata`` as the archive's extra file
    :data:`PT2_METADATA`; return a function running the program loaded back from ``path``."""
    with quiet_exporter():
        torch.export.save(program, path, extra_files={PT2_METADATA: json.dumps(metadata)})
        module = torch.export.load(path).module()

    def run(*inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = module(*inputs)
        return tuple(out) if isinstance(out, (tuple, list)) else (out,)

    return run


FORMATS.register("onnx", suffix=".onnx", runtime="ONNX Runtime (CPU)")(write_onnx)
FORMATS.register("pt2", suffix=".pt2", runtime="torch.export.load")(write_pt2)


def write_verified(fmt: str, target: ExportTarget, path: Path, metadata: dict[str, str], name: str) -> Verification:
    """Capture, write and verify ``target`` in format ``fmt`` at ``path`` atomically: the file replaces
    ``path`` only when the exported outputs match PyTorch's (else a one-line :class:`ConfigError`)."""
    entry = FORMATS.get(fmt)
    program = capture(target, name)
    inputs = tuple(target.inputs.values())
    with torch.no_grad():
        reference = target.module(*inputs)
    reference = tuple(reference) if isinstance(reference, (tuple, list)) else (reference,)
    with atomic_path(path) as tmp:
        run = entry.factory(program, target, tmp, metadata, name)
        with torch.no_grad():
            check = compare(reference, run(*inputs))
        if not check.passed:
            raise ConfigError(f"{path}: not written: {entry.meta['runtime']} disagrees with PyTorch for {name} "
                              f"({check.describe()})")
    return check
