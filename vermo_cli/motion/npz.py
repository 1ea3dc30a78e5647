"""vermo's motion `.npz` files: joints, fps, mask and what produced them."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from vermo_cli.errors import VermoError, first_line
from vermo_cli.files import write_atomically
from vermo_cli.motion.resample import CANONICAL_FPS
from vermo_cli.motion.validation import validate_motion


def save_motion_npz(
    path: Path,
    joints: np.ndarray,
    joint_mask: np.ndarray,
    fps: float = CANONICAL_FPS,
    tokens: np.ndarray | None = None,
    task: str = "",
    prompt: str = "",
    **extra: Any,
) -> None:
    """Write `joints` `[agents, frames, 52, 3]` metres with keys joints, fps, mask, task,
    prompt, tokens (and any `extra` arrays), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        "joints": np.asarray(joints, dtype=np.float32),
        "fps": np.float32(fps),
        "mask": np.asarray(joint_mask, dtype=bool),
        "task": np.str_(task),
        "prompt": np.str_(prompt),
        "tokens": np.asarray(tokens if tokens is not None else [], dtype=np.int64),
        **extra,
    }
    write_atomically(path, lambda staging: np.savez(staging, **arrays))


def load_motion_npz(path: Path) -> dict[str, Any]:
    """Read a vermo motion `.npz`, its `joints` checked by `validate_motion` (float32 metres);
    one-line `VermoError` naming the file if it is missing, cut short, corrupt or holds no
    usable motion."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as content:
            if not hasattr(content, "files"):
                raise ValueError("a single array, not an archive of named arrays")
            data = {key: content[key] for key in content.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        detail = first_line(error)
        raise VermoError(f"{path}: not a readable .npz ({detail})") from None
    if "joints" not in data:
        raise VermoError(f"{path}: no 'joints' array of shape [agents, frames, 52, 3]")
    data["joints"] = validate_motion(data["joints"], path)
    return data
