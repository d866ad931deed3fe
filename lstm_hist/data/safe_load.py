"""Load pickles and .mat files without running code from them.

``pickle.load`` on a downloaded file can execute anything (a ``__reduce__`` may name ``os.system``).
:func:`safe_pickle_load` uses an Unpickler whose ``find_class`` admits only what the data needs:

* builtin containers and numbers (dict, list, tuple, set, frozenset, int, float, complex, str, bytes, bool,
  bytearray) and ``_codecs.encode`` with latin-1 (how protocol-2 pickles spell ``bytes``);
* ``numpy.core.multiarray.scalar`` / ``numpy._core.multiarray.scalar`` and ``numpy.dtype``, because the
  Boulanger-Lewandowski pickle format (czhuang ``jsb-chorales-quarter.pkl``) stores each MIDI note as a numpy
  int64 scalar; both are wrapped so only numeric (bool/int/uint/float/complex) dtypes can be built.

Any other global is a :class:`~lstm_hist.errors.DataError`, raised before the global is ever looked up.
"""

from __future__ import annotations

import builtins
import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from lstm_hist.errors import DataError

_BUILTINS = {
    "dict", "list", "tuple", "set", "frozenset", "int", "float", "complex", "str", "bytes", "bool", "bytearray",
}
_NUMERIC_KINDS = "biufc"


def _numeric_dtype(*args: Any) -> np.dtype:
    dtype = np.dtype(*args)
    if dtype.kind not in _NUMERIC_KINDS:
        raise DataError(f"pickle asks for numpy dtype {dtype!r}; only numeric dtypes are allowed")
    return dtype


def _numeric_scalar(dtype: Any, data: Any = None) -> Any:
    if not isinstance(dtype, np.dtype) or dtype.kind not in _NUMERIC_KINDS:
        raise DataError(f"pickle asks for a numpy scalar of dtype {dtype!r}; only numeric dtypes are allowed")
    if not isinstance(data, (bytes, str)):
        raise DataError("pickle asks for a numpy scalar from non-byte data")
    if isinstance(data, str):  # Python-2 pickles read with encoding="latin1"
        data = data.encode("latin1")
    return np.frombuffer(data, dtype=dtype, count=1)[0]


def _latin1_encode(text: Any, encoding: str = "utf-8") -> bytes:
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise DataError("pickle asks for _codecs.encode with an unexpected argument")
    return text.encode("latin1")


_ALLOWED = {
    ("numpy.core.multiarray", "scalar"): _numeric_scalar,
    ("numpy._core.multiarray", "scalar"): _numeric_scalar,
    ("numpy", "dtype"): _numeric_dtype,
    ("_codecs", "encode"): _latin1_encode,
}


class SafeUnpickler(pickle.Unpickler):
    """An Unpickler that resolves only plain-data globals (see the module docstring)."""

    def find_class(self, module: str, name: str) -> Any:
        if module in ("builtins", "__builtin__") and name in _BUILTINS:
            return getattr(builtins, name)
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        raise DataError(f"pickle refers to {module}.{name}, which is not plain data; refusing to load it")


def safe_pickle_load(source: str | os.PathLike | bytes, encoding: str = "latin1") -> Any:
    """Unpickle ``source`` (a path or the bytes) admitting only plain data; DataError on anything else.

    ``encoding="latin1"`` reads Python-2 pickles (the 2012 music pickles) as well as Python-3 ones.
    """
    if isinstance(source, (bytes, bytearray)):
        data, where = bytes(source), "<bytes>"
    else:
        data, where = Path(source).read_bytes(), str(source)
    try:
        return SafeUnpickler(io.BytesIO(data), encoding=encoding).load()
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise DataError(f"{where} is not a readable pickle ({exc})") from None


def load_mat(path: str | os.PathLike) -> dict[str, Any]:
    """``scipy.io.loadmat`` with the MATLAB header keys dropped; DataError if the file is not a .mat."""
    import scipy.io

    try:
        contents = scipy.io.loadmat(str(path))
    except (ValueError, TypeError, OSError, NotImplementedError) as exc:
        raise DataError(f"{path} is not a readable MATLAB v5 file ({exc})") from None
    return {key: value for key, value in contents.items() if not key.startswith("__")}
