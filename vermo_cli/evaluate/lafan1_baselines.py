"""The LAFAN1 in-betweening protocol's two baselines: zero velocity and interpolation.

Each fills frames 10 .. 9+n of every window from frame 9 and the keyframe 10+n, and returns
global joint positions `[W, n, J, 3]` in the windows' frame (file units).
"""

from __future__ import annotations

import numpy as np

from vermo_cli.evaluate.lafan1_windows import CONTEXT_FRAMES, Windows
from vermo_cli.evaluate.lafan1_windows import global_positions as window_positions
from vermo_cli.motion.kinematics import slerp_quaternions


def transition_weights(frames: int) -> np.ndarray:
    """Blend weights `[n]` of the made frames between frame 9 (0) and the keyframe (1):
    (k + 1) / (n + 1) for made frame 10 + k."""
    return np.arange(1, frames + 1, dtype=np.float64) / (frames + 1)


def zero_velocity(windows: Windows, frames: int) -> np.ndarray:
    """The last context frame held: `[W, n, J, 3]`."""
    last = windows.positions[:, CONTEXT_FRAMES - 1 : CONTEXT_FRAMES]
    return np.repeat(last, frames, axis=1)


def interpolation(windows: Windows, frames: int) -> np.ndarray:
    """The root moved linearly and every local rotation slerped from frame 9 to the keyframe,
    then forward kinematics: `[W, n, J, 3]`."""
    key = CONTEXT_FRAMES + frames
    weights = transition_weights(frames)
    start_root = windows.root[:, CONTEXT_FRAMES - 1]
    end_root = windows.root[:, key]
    root = start_root[:, None] + weights[None, :, None] * (end_root - start_root)[:, None]
    rotations = slerp_quaternions(
        windows.rotations[:, CONTEXT_FRAMES - 1], windows.rotations[:, key], weights
    )  # [n, W, J, 4]
    return window_positions(np.swapaxes(rotations, 0, 1), root, windows.offsets, windows.parents)
