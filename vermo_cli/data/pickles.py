"""Reading dataset pickles (AIST++ motion, SMPL body models) without running code from them.

Unpickling calls whatever functions a file names (`os.system`, `builtins.exec`, ...). The
unpickler here looks each name up in an allow-list instead: by default only what numpy arrays,
numpy scalars and plain containers need (numpy's array and scalar reconstruction under their
numpy 1.x and 2.x module names, `numpy.ndarray`, `numpy.dtype`, builtin containers, and
`_codecs.encode`, which Python 3 pickles of bytes name); anything else is refused before it is
called. Python 2 pickles are read with `encoding="latin1"`, as numpy's own loader reads them.
"""

from __future__ import annotations

import builtins
import codecs
import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from vermo_cli.errors import SourceError, first_line

_NUMPY_FUNCTIONS: dict[tuple[str, str], Any] = {
    ("multiarray", "_reconstruct"): np.zeros(0).__reduce__()[0],
    ("multiarray", "scalar"): np.float64(0.0).__reduce__()[0],
    ("numeric", "_frombuffer"): np.zeros(1).__reduce_ex__(5)[0],  # protocol-5 pickles
}
"""numpy's reconstruction functions, as the installed numpy's own pickling names them."""

ARRAY_GLOBALS: dict[tuple[str, str], Any] = {
    **{
        (f"{package}.{module}", name): function
        for package in ("numpy.core", "numpy._core")  # numpy 1.x and 2.x names
        for (module, name), function in _NUMPY_FUNCTIONS.items()
    },
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,
    **{
        (module, name): getattr(builtins, name)
        for module in ("builtins", "__builtin__")  # Python 3 and Python 2 names
        for name in ("dict", "list", "tuple", "set", "frozenset")
    },
}
"""(module, name) -> object for everything a pickle of numpy arrays in plain containers names."""


class RestrictedUnpickler(pickle.Unpickler):
    """A `pickle.Unpickler` that resolves only the names in `allowed`; any other name raises
    `pickle.UnpicklingError` before anything is called."""

    def __init__(self, file: IO[bytes], allowed: Mapping[tuple[str, str], Any]) -> None:
        super().__init__(file, encoding="latin1")
        self.allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        """The allowed object named `module.name`; `pickle.UnpicklingError` for any other."""
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refused {module}.{name}: a data pickle may hold only arrays, numbers, strings "
                "and containers"
            ) from None


def load_array_pickle(path: Path) -> Any:
    """The content of a pickle of numpy arrays, numbers and strings in plain containers (an
    AIST++ `.pkl`); `SourceError` naming `path` when it names anything else (nothing it names
    is called) or cannot be read."""
    try:
        with Path(path).open("rb") as handle:
            return RestrictedUnpickler(handle, ARRAY_GLOBALS).load()
    except OSError as error:
        raise SourceError(f"{path}: cannot read ({error.strerror})") from None
    except Exception as error:  # a malformed pickle raises anything from pickle and numpy
        reason = first_line(error)
        raise SourceError(f"{path}: cannot read the pickle ({reason})") from None


def check_npz_pickles(path: Path, allowed: Mapping[tuple[str, str], Any]) -> None:
    """Unpickle the object arrays of an `.npz` (the members that `np.load(allow_pickle=True)`
    would unpickle) with `RestrictedUnpickler`, so that a file which names anything outside
    `allowed` raises (`pickle.UnpicklingError`) before a library loads it with pickle enabled."""
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            with archive.open(member) as stream:
                try:
                    major, _ = np.lib.format.read_magic(stream)
                except ValueError:
                    continue  # not an array: numpy hands such members over as raw bytes
                read_header = (
                    np.lib.format.read_array_header_1_0
                    if major == 1
                    else np.lib.format.read_array_header_2_0
                )
                _, _, dtype = read_header(stream)
                if dtype.hasobject:
                    RestrictedUnpickler(stream, allowed).load()
