"""Reading the pickled files of public datasets (CIFAR's "python version") without trusting them.

Unpickling calls whatever a file names, so :class:`RestrictedUnpickler` admits only the few globals
those files use, and even those never reach numpy while the pickle runs: numpy arrays and dtypes
become inert :class:`ArrayRecipe` / :class:`DtypeRecipe` objects that record their arguments, and
only after loading are the recorded bytes checked (dtype, shape, length) and turned into arrays.
Feeding a malformed dtype state to numpy's own ``__setstate__`` can crash the interpreter, and a
callable ``ndarray`` could map arbitrary bytes as object pointers; neither can happen here.
"""

from __future__ import annotations

import math
import pickle
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from .formats_common import one_line

NUMERIC_DTYPE = re.compile(r"[|<>=]?[biuf][1248]")  # numpy's short names: u1, <i8, f4, b1 ...
BYTE_ORDERS = ("|", "<", ">", "=")


class _NdarrayToken:
    """Stands in for ``numpy.ndarray`` as ``_reconstruct``'s first argument; it cannot be called."""


NDARRAY = _NdarrayToken()


class DtypeRecipe:
    """``numpy.dtype(spec)`` and the byte order its pickled state gives, as plain values."""

    def __init__(self, spec: str):
        self.spec = spec
        self.byteorder = "|"

    def __setstate__(self, state: Any) -> None:
        # numpy's state: (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
        if not (isinstance(state, tuple) and len(state) in (8, 9) and state[1] in BYTE_ORDERS
                and state[2:5] == (None, None, None)):
            raise pickle.UnpicklingError("malformed dtype state")
        self.byteorder = state[1]

    def dtype(self) -> np.dtype:
        """The numpy dtype with its byte order."""
        dtype = np.dtype(self.spec)
        return dtype.newbyteorder(self.byteorder) if self.byteorder in "<>" else dtype


class ArrayRecipe:
    """``_reconstruct(ndarray, ...)`` plus its pickled state ``(version, shape, dtype, fortran, bytes)``."""

    def __init__(self) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def array(self) -> np.ndarray:
        """The array, after checking that the bytes are exactly what the shape and dtype need."""
        state = self.state
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise pickle.UnpicklingError("malformed array state")
        shape, dtype, fortran, raw = state[-4:]
        if not (isinstance(shape, tuple) and all(type(d) is int and d >= 0 for d in shape)):
            raise pickle.UnpicklingError(f"bad array shape {shape!r}")
        if not isinstance(dtype, DtypeRecipe) or not isinstance(raw, bytes):
            raise pickle.UnpicklingError("an array must hold numbers stored as bytes")
        dtype = dtype.dtype()
        if len(raw) != math.prod(shape) * dtype.itemsize:
            raise pickle.UnpicklingError(f"array of shape {shape} has {len(raw)} bytes of {dtype}")
        return np.frombuffer(raw, dtype).reshape(shape, order="F" if fortran else "C")


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler whose ``find_class`` admits only what dataset pickles need, as safe stand-ins.

    Python 2 wrote CIFAR's files: their strings load as bytes (``encoding="bytes"``) and their pixels
    are a numpy array pickled as ``_reconstruct(ndarray, (0,), b"b")`` plus a state holding the raw
    bytes and ``numpy.dtype("u1", False, True)``. Python 3 stores bytes at protocol 2 as
    ``_codecs.encode(text, "latin1")``. Any other global (``os.system``, ``builtins.eval`` ...)
    raises :class:`DataError` before it is called.
    """

    def __init__(self, file, source: str):
        super().__init__(file, encoding="bytes")
        self.source = source

    def refuse(self, what: str) -> DataError:
        """The error for anything outside the allow-list."""
        return DataError(f"{self.source}: refused to unpickle {what}; only dicts, lists, bytes, numbers "
                         "and numeric arrays are read")

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("numpy", "ndarray"):
            return NDARRAY
        if (module, name) == ("numpy", "dtype"):
            return self.dtype_recipe
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name == "_reconstruct":
            return self.array_recipe
        if (module, name) == ("_codecs", "encode"):
            return self.latin1_bytes
        raise self.refuse(f"{module}.{name}")

    def dtype_recipe(self, spec: Any, *flags: Any) -> DtypeRecipe:
        """``numpy.dtype(spec, align, copy)`` for booleans, integers and floats only."""
        text = spec.decode("latin1") if isinstance(spec, bytes) else spec
        if not isinstance(text, str) or not NUMERIC_DTYPE.fullmatch(text):
            raise self.refuse(f"numpy.dtype({spec!r})")
        return DtypeRecipe(text)

    def array_recipe(self, subtype: Any, shape: Any, dtype: Any) -> ArrayRecipe:
        """numpy's ``_reconstruct``: a plain ndarray (never a subclass) filled by the state that follows."""
        if subtype is not NDARRAY:
            raise self.refuse(f"an array of type {type(subtype).__name__}")
        return ArrayRecipe()

    def latin1_bytes(self, text: Any, encoding: Any = "utf-8") -> bytes:
        """``_codecs.encode(text, "latin1")``, the way protocol 2 stores bytes; no other codec."""
        if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
            raise self.refuse(f"_codecs.encode with encoding {encoding!r}")
        return text.encode("latin1")


def _realise(obj: Any) -> Any:
    """Replace the recipes inside dicts, lists and tuples by checked numpy arrays."""
    if isinstance(obj, ArrayRecipe):
        return obj.array()
    if isinstance(obj, DtypeRecipe):
        return obj.dtype()
    if isinstance(obj, dict):
        return {k: _realise(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_realise(v) for v in obj)
    return obj


def load_pickled_dict(path: Path) -> dict[str, Any]:
    """Unpickle ``path`` with :class:`RestrictedUnpickler` into a dict with str keys (bytes keys are
    decoded, as CIFAR's Python 2 files have them)."""
    try:
        with path.open("rb") as f:
            obj = _realise(RestrictedUnpickler(f, str(path)).load())
    except DataError:
        raise
    except Exception as err:  # any failure to decode a user's file is a bad file, whatever it raised
        raise DataError(f"{path}: is not a readable pickle ({type(err).__name__}: {one_line(err)})") from None
    if not isinstance(obj, dict):
        raise DataError(f"{path}: holds a {type(obj).__name__}; a dict was expected")
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in obj.items()}
