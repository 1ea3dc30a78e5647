"""Reading training checkpoints (files written by `torch.save`) without running code from them.

A checkpoint is a pickle, and unpickling an arbitrary pickle calls whatever functions it names
(`os.system`, `builtins.exec`, ...). Every checkpoint vermo resumes from is therefore read with
`torch.load(..., weights_only=True)`: tensors, storages and plain data (dicts, lists, tuples,
numbers, strings, torch sizes and dtypes) are built, plus instances of the few classes a caller
allows by name, whose state is set attribute by attribute; anything else is refused before it is
called.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from vermo_cli.errors import VermoError, first_line

_REFUSED_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")
"""How torch's restricted unpickler names the function or class it refused."""


class CheckpointError(VermoError):
    """A checkpoint file is unreadable, or holds more than tensors and plain data."""


def load_checkpoint(
    path: Path | str,
    map_location: str | torch.device | Callable[..., Any] | None = None,
    allowed_classes: Sequence[type] = (),
) -> Any:
    """The content of a `torch.save` file, built from tensors, plain data and instances of
    `allowed_classes` only (see the module). `CheckpointError` naming `path` when the file
    names any other function or class, or cannot be read; nothing it names is ever called."""
    try:
        with torch.serialization.safe_globals(list(allowed_classes)):
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        refused = _REFUSED_GLOBAL.search(str(error))
        named = f"it names {refused.group(1)}, but " if refused else ""
        raise CheckpointError(
            f"{path}: not loaded: {named}a checkpoint may hold only tensors and plain data"
        ) from None
    except Exception as error:  # a damaged file raises anything from zipfile, pickle or torch
        reason = first_line(error, "empty or cut short")
        raise CheckpointError(f"{path}: not a readable checkpoint ({reason})") from None
