"""Reading the pickled files of public datasets (CIFAR's "python version", Planetoid's ``ind.<name>.*``)
without trusting them.

Unpickling calls whatever a file names, so :class:`RestrictedUnpickler` admits only the few globals
those files use, and even those never reach numpy or scipy while the pickle runs: each becomes an
inert stand-in that records its arguments —

- ``numpy.dtype`` → :class:`DtypeRecipe`, ``numpy.core.multiarray._reconstruct`` → :class:`ArrayRecipe`;
- (``graph=True``) ``scipy.sparse.{csr,csc,coo,lil}_{matrix,array}`` → :class:`SparseRecipe`,
  ``collections.defaultdict(list)`` → :class:`DefaultdictRecipe`.

Only after loading are the recorded values checked (dtype, shape, byte count, index bounds) and
turned into numpy arrays, scipy matrices and defaultdicts by :func:`realise`. Feeding a malformed dtype
state to numpy's own ``__setstate__`` can crash the interpreter (a segmentation fault, not an
exception), a callable ``ndarray`` could map arbitrary bytes as object pointers, and scipy's
``__setstate__`` would accept index arrays that point outside the matrix; none of them can happen here.
The allow-list approach is the Python docs' "Restricting Globals" recipe, made stricter.
"""

from __future__ import annotations

import collections
import math
import pickle
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, one_line

NUMERIC_DTYPE = re.compile(r"[|<>=]?[biuf][1248]")  # numpy's short names: u1, <i8, f4, b1 ...
OBJECT_DTYPE = re.compile(r"[|]?O[48]?")  # lil matrices keep their rows as object arrays of lists
BYTE_ORDERS = ("|", "<", ">", "=")
NUMPY_CORE = ("numpy.core.multiarray", "numpy._core.multiarray")  # numpy 1.x and 2.x spellings
PYTHON2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}  # what fix_imports would map
SPARSE_KINDS = frozenset(f"{fmt}_{kind}" for fmt in ("csr", "csc", "coo", "lil") for kind in ("matrix", "array"))


class _Token:
    """Stands in for a class a pickle may name but never call (``numpy.ndarray``, ``list``, ``object``).
    No ``__dict__``: a pickle's BUILD cannot write attributes onto the shared token."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


NDARRAY, LIST, OBJECT = _Token("numpy.ndarray"), _Token("list"), _Token("object")


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

    @property
    def is_object(self) -> bool:
        return "O" in self.spec

    def dtype(self) -> np.dtype:
        """The numpy dtype with its byte order."""
        dtype = np.dtype(self.spec)
        return dtype.newbyteorder(self.byteorder) if self.byteorder in "<>" else dtype


class ArrayRecipe:
    """``_reconstruct(ndarray, ...)`` plus its pickled state ``(version, shape, dtype, fortran, data)``."""

    def __init__(self) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def _checked_state(self) -> tuple[tuple[int, ...], DtypeRecipe, bool, Any]:
        state = self.state
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise pickle.UnpicklingError("malformed array state")
        shape, dtype, fortran, raw = state[-4:]
        if not (isinstance(shape, tuple) and all(type(d) is int and d >= 0 for d in shape)):
            raise pickle.UnpicklingError(f"bad array shape {shape!r}")
        if not isinstance(dtype, DtypeRecipe) or not isinstance(fortran, (bool, int)):
            raise pickle.UnpicklingError("malformed array state")
        return shape, dtype, bool(fortran), raw

    def array(self) -> np.ndarray:
        """The numeric array, after checking that the bytes are exactly what the shape and dtype need.
        Python 2 files loaded with ``encoding="latin1"`` hold the bytes as a latin-1 str."""
        shape, recipe, fortran, raw = self._checked_state()
        if recipe.is_object:
            raise pickle.UnpicklingError("an array of Python objects is only read as the rows of a lil matrix")
        if isinstance(raw, str):
            raw = raw.encode("latin1")
        if not isinstance(raw, bytes):
            raise pickle.UnpicklingError("an array must hold numbers stored as bytes")
        dtype = recipe.dtype()
        if len(raw) != math.prod(shape) * dtype.itemsize:
            raise pickle.UnpicklingError(f"array of shape {shape} has {len(raw)} bytes of {dtype}")
        return np.frombuffer(raw, dtype).reshape(shape, order="F" if fortran else "C")

    def number_lists(self) -> list[list[Any]]:
        """A 1-D object array whose items are lists of plain numbers (a lil matrix's ``rows``/``data``)."""
        shape, recipe, _, items = self._checked_state()
        if not (recipe.is_object and len(shape) == 1 and isinstance(items, list) and len(items) == shape[0]):
            raise pickle.UnpicklingError("a lil matrix's rows must be a 1-D object array of lists")
        for item in items:
            if not (isinstance(item, list) and all(type(v) in (int, float, bool) for v in item)):
                raise pickle.UnpicklingError("a lil matrix row must be a list of numbers")
        return items


class SparseRecipe:
    """A scipy.sparse matrix as pickled: created empty (NEWOBJ, or ``copy_reg._reconstructor`` in
    protocol 0/1 files), then its ``__dict__`` (``_shape``, ``indptr``/``indices``/``data`` ...) as state.
    Subclassed per kind (``csr_matrix`` ...) so that NEWOBJ, which needs a class, can make one."""

    kind = ""
    state: Any = None  # NEWOBJ creates the object without calling __init__

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def matrix(self) -> Any:
        """The scipy matrix rebuilt from checked arrays (scipy's own checks of index bounds included)."""
        import scipy.sparse

        state = self.state
        if not isinstance(state, dict):
            raise pickle.UnpicklingError(f"malformed {self.kind} state")
        state = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in state.items()}
        shape = state.get("_shape")
        if not (isinstance(shape, tuple) and len(shape) == 2 and all(type(d) is int and d >= 0 for d in shape)):
            raise pickle.UnpicklingError(f"{self.kind} has a bad shape {shape!r}")
        fmt, cls = self.kind[:3], getattr(scipy.sparse, self.kind)
        if fmt == "lil":
            return self._lil(state, shape, cls)
        if fmt == "coo":
            coords = state.get("coords", (state.get("row"), state.get("col")))
            if not (isinstance(coords, tuple) and len(coords) == 2):
                raise pickle.UnpicklingError("coo matrix without row and column indices")
            row, col = (_index_array(a, f"coo {name}") for a, name in zip(coords, ("row", "col"), strict=True))
            out = cls((_numeric_array(state.get("data"), "coo data"), (row, col)), shape=shape)
        else:
            data = _numeric_array(state.get("data"), f"{fmt} data")
            indices = _index_array(state.get("indices"), f"{fmt} indices")
            indptr = _index_array(state.get("indptr"), f"{fmt} indptr")
            out = cls((data, indices, indptr), shape=shape)
            out.check_format(full_check=True)  # index bounds, monotone indptr, lengths
        return out

    @staticmethod
    def _lil(state: dict[str, Any], shape: tuple[int, int], cls: type) -> Any:
        import scipy.sparse

        rows, data = (state.get(key) for key in ("rows", "data"))
        if not isinstance(rows, ArrayRecipe) or not isinstance(data, ArrayRecipe):
            raise pickle.UnpicklingError("lil matrix without rows and data")
        rows, data = rows.number_lists(), data.number_lists()
        if len(rows) != shape[0] or len(data) != shape[0]:
            raise pickle.UnpicklingError(f"lil matrix of shape {shape} has {len(rows)} rows")
        row = [i for i, cols in enumerate(rows) for _ in cols]
        col = [c for cols in rows for c in cols]
        values = [v for vals in data for v in vals]
        if len(values) != len(col) or not all(type(c) is int for c in col):
            raise pickle.UnpicklingError("lil matrix rows and data disagree")
        dtype = state.get("dtype")
        dtype = dtype.dtype() if isinstance(dtype, DtypeRecipe) and not dtype.is_object else np.float64
        coo = scipy.sparse.coo_matrix((np.array(values, dtype), (np.array(row, np.int64), np.array(col, np.int64))),
                                      shape=shape)
        return cls(coo)


SPARSE_RECIPES = {kind: type(kind, (SparseRecipe,), {"kind": kind}) for kind in sorted(SPARSE_KINDS)}


class DefaultdictRecipe(dict):
    """``collections.defaultdict(list)`` (Planetoid's ``ind.<name>.graph``) as a plain dict while loading."""

    __slots__ = ()


def _numeric_array(value: Any, what: str) -> np.ndarray:
    if not isinstance(value, ArrayRecipe):
        raise pickle.UnpicklingError(f"{what} is not an array")
    array = value.array()
    if array.ndim != 1:
        raise pickle.UnpicklingError(f"{what} is not 1-D")
    return array


def _index_array(value: Any, what: str) -> np.ndarray:
    array = _numeric_array(value, what)
    if array.dtype.kind not in "iu":
        raise pickle.UnpicklingError(f"{what} are {array.dtype}, not integers")
    return array.astype(np.int64)


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler whose ``find_class`` admits only what dataset pickles need, as safe stand-ins.

    Python 2 wrote CIFAR's and Planetoid's files. CIFAR's strings load as bytes (``encoding="bytes"``);
    Planetoid's are read with ``encoding="latin1"`` (as PyG and Kipf's reader do), which turns Python 2
    strings — array bytes included — into latin-1 str. A numpy array is pickled as
    ``_reconstruct(ndarray, (0,), b"b")`` plus a state holding the raw bytes and
    ``numpy.dtype("u1", False, True)``; Python 3 stores bytes at protocol 2 as
    ``_codecs.encode(text, "latin1")``. ``graph=True`` also admits scipy.sparse matrices and
    ``collections.defaultdict(list)``. Any other global (``os.system``, ``builtins.eval`` ...) raises
    :class:`DataError` before it is called.
    """

    def __init__(self, file, source: str, encoding: str = "bytes", graph: bool = False):
        super().__init__(file, encoding=encoding)
        self.source, self.graph = source, graph

    def refuse(self, what: str) -> DataError:
        """The error for anything outside the allow-list."""
        extra = ", scipy.sparse matrices, defaultdicts" if self.graph else ""
        return DataError(f"{self.source}: refused to unpickle {what}; only dicts, lists, bytes, numbers"
                         f"{extra} and numeric arrays are read")

    def find_class(self, module: str, name: str) -> Any:
        canonical = PYTHON2_MODULES.get(module, module)
        if (module, name) == ("numpy", "ndarray"):
            return NDARRAY
        if (module, name) == ("numpy", "dtype"):
            return self.dtype_recipe
        if module in NUMPY_CORE and name == "_reconstruct":
            return self.array_recipe
        if (module, name) == ("_codecs", "encode"):
            return self.latin1_bytes
        if self.graph:
            if (module == "scipy.sparse" or module.startswith("scipy.sparse.")) and name in SPARSE_KINDS:
                return SPARSE_RECIPES[name]
            if (canonical, name) == ("collections", "defaultdict"):
                return self.defaultdict_recipe
            if (canonical, name) == ("builtins", "list"):
                return LIST
            if (canonical, name) == ("builtins", "object"):
                return OBJECT
            if (canonical, name) == ("copyreg", "_reconstructor"):
                return self.reconstructor
        raise self.refuse(f"{module}.{name}")

    def dtype_recipe(self, spec: Any, *flags: Any) -> DtypeRecipe:
        """``numpy.dtype(spec, align, copy)`` for booleans, integers and floats only (and, in graph
        files, the object dtype of a lil matrix's rows, whose items are checked after loading)."""
        text = spec.decode("latin1") if isinstance(spec, bytes) else spec
        if isinstance(text, str) and (NUMERIC_DTYPE.fullmatch(text) or (self.graph and OBJECT_DTYPE.fullmatch(text))):
            return DtypeRecipe(text)
        raise self.refuse(f"numpy.dtype({spec!r})")

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

    def defaultdict_recipe(self, factory: Any = None) -> DefaultdictRecipe:
        """``collections.defaultdict(list)``; no other default factory."""
        if factory is not LIST:
            raise self.refuse(f"collections.defaultdict({factory!r})")
        return DefaultdictRecipe()

    def reconstructor(self, cls: Any, base: Any, state: Any) -> SparseRecipe:
        """``copy_reg._reconstructor(cls, object, None)``, protocol 0/1's way to create an empty sparse
        matrix before its state is set; for nothing else."""
        if not (isinstance(cls, type) and issubclass(cls, SparseRecipe) and base is OBJECT and state is None):
            raise self.refuse(f"copy_reg._reconstructor({cls!r}, {base!r})")
        return cls()


def realise(obj: Any) -> Any:
    """Replace the recipes inside dicts, lists and tuples by checked numpy arrays, scipy matrices and
    defaultdicts (after loading, so that nothing of numpy or scipy ran on unchecked input)."""
    if isinstance(obj, ArrayRecipe):
        return obj.array()
    if isinstance(obj, DtypeRecipe):
        return obj.dtype()
    if isinstance(obj, SparseRecipe):
        return obj.matrix()
    if isinstance(obj, _Token):
        raise pickle.UnpicklingError(f"a bare {obj} is not data")
    if isinstance(obj, DefaultdictRecipe):
        return collections.defaultdict(list, {k: realise(v) for k, v in obj.items()})
    if isinstance(obj, dict):
        return {k: realise(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(realise(v) for v in obj)
    return obj


def load_pickle(path: Path, encoding: str = "bytes", graph: bool = False) -> Any:
    """Unpickle ``path`` with :class:`RestrictedUnpickler` and :func:`realise` the result. Any failure
    — a refused global, a malformed state, a truncated or foreign file — is one :class:`DataError`
    line naming the file."""
    try:
        with Path(path).open("rb") as f:
            return realise(RestrictedUnpickler(f, str(path), encoding, graph).load())
    except DataError:
        raise
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror or err})") from None
    except Exception as err:  # any failure to decode a user's file is a bad file, whatever it raised
        raise DataError(f"{path}: is not a readable pickle ({type(err).__name__}: {one_line(err)})") from None


def load_graph_pickle(path: Path) -> Any:
    """A Planetoid ``ind.<name>.*`` file: numeric arrays, scipy.sparse matrices (csr, csc, coo, lil)
    or a ``defaultdict(list)`` adjacency, read with ``encoding="latin1"`` as PyG does."""
    return load_pickle(path, encoding="latin1", graph=True)


def load_pickled_dict(path: Path) -> dict[str, Any]:
    """Unpickle ``path`` into a dict with str keys (bytes keys are decoded, as CIFAR's Python 2 files
    have them); only numeric arrays and plain containers are admitted."""
    obj = load_pickle(path)
    if not isinstance(obj, dict):
        raise DataError(f"{path}: holds a {type(obj).__name__}; a dict was expected")
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in obj.items()}
