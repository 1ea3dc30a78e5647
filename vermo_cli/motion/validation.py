"""Whether a motion that a user gives (to `generate` or `render`) can be used: its shape, finite
values and a plausible distance from the origin, checked once on reading so that a bad file is
a one-line error naming it instead of a failure deep in the tokenizer or the renderer."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vermo_cli.errors import VermoError
from vermo_cli.motion.skeleton import NUM_JOINTS

MAX_DISTANCE_METRES = 1000.0
"""Farthest a joint may be from the origin. A human motion in metres stays well inside it even
after a long walk; values beyond it are another unit (millimetres read as metres) or garbage."""


class MotionError(VermoError):
    """A motion file holds no usable motion."""


def validate_motion(joints: np.ndarray, source: Path | str) -> np.ndarray:
    """`joints` `[agents, frames, 52, 3]` metres as float32, when they are a usable motion;
    otherwise a one-line `MotionError` naming `source`: a wrong shape, no people or no frames,
    values that are not real numbers, NaN or infinity, or a joint more than
    `MAX_DISTANCE_METRES` (1,000 m) from the origin."""
    array = np.asarray(joints)
    if array.ndim != 4 or array.shape[2:] != (NUM_JOINTS, 3):
        raise MotionError(
            f"{source}: joints must have shape [agents, frames, {NUM_JOINTS}, 3], "
            f"not {list(array.shape)}"
        )
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
    ):
        raise MotionError(f"{source}: joints must be real numbers, not {array.dtype}")
    if array.shape[0] == 0:
        raise MotionError(f"{source}: the motion has no people")
    if array.shape[1] == 0:
        raise MotionError(f"{source}: the motion has no frames")
    finite = np.isfinite(array).all(axis=(0, 2, 3))
    if not finite.all():
        raise MotionError(
            f"{source}: the joints hold NaN or infinite values "
            f"({int((~finite).sum())} of {len(finite)} frames)"
        )
    distance = float(np.sqrt((array.astype(np.float64) ** 2).sum(axis=-1)).max())
    if distance > MAX_DISTANCE_METRES:
        raise MotionError(
            f"{source}: a joint lies {distance:.3g} m from the origin, more than "
            f"{MAX_DISTANCE_METRES:,.0f} m (joints are in metres)"
        )
    return array.astype(np.float32)
