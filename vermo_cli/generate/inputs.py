"""What users give `vermo generate`: motion files (vermo `.npz` or BVH) and audio files."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vermo_cli.errors import VermoError
from vermo_cli.motion.canonical import canonicalize_motion
from vermo_cli.motion.npz import load_motion_npz
from vermo_cli.motion.resample import CANONICAL_FPS, resample_motion
from vermo_cli.motion.skeleton import NUM_JOINTS
from vermo_cli.motion.validation import validate_motion

MAX_SECONDS = 12.0
"""Longest motion or audio a prompt or reply holds (the corpus's clip length)."""


@dataclass(frozen=True)
class MotionInput:
    """A motion given in a prompt: `joints` `[agents, frames, 52, 3]` metres at 30 fps in the
    canonical frame, `mask` `[52]` bool (valid joints), and where it came from."""

    joints: np.ndarray
    mask: np.ndarray
    path: Path

    @property
    def frames(self) -> int:
        return int(self.joints.shape[1])

    @property
    def agents(self) -> int:
        return int(self.joints.shape[0])


def load_motion_input(path: Path) -> MotionInput:
    """Read a vermo `.npz` or a BVH file (any built-in skeleton) as a canonical 30 fps motion,
    at most 12 s (longer ones are cut). One-line `VermoError` naming the file otherwise (a file
    cut short or corrupt, or joints that `validate_motion` refuses)."""
    path = Path(path)
    if not path.is_file():
        raise VermoError(f"{path}: motion file not found")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        content = load_motion_npz(path)
        joints = np.asarray(content["joints"], dtype=np.float32)
        fps = float(content.get("fps", CANONICAL_FPS))
        mask = np.asarray(content.get("mask", np.ones(NUM_JOINTS, bool)), dtype=bool)
        if mask.shape != (NUM_JOINTS,):
            raise VermoError(f"{path}: 'mask' must be [{NUM_JOINTS}] booleans, not {mask.shape}")
    elif suffix == ".bvh":
        from vermo_plugins.sources.bvh import load_bvh_as_smplh

        take = load_bvh_as_smplh(path)
        joints, fps, mask = validate_motion(take.joints[None], path), take.fps, take.joint_mask
    else:
        raise VermoError(f"{path}: unsupported motion file (use a vermo .npz or a .bvh)")
    if not (math.isfinite(fps) and fps > 0):
        raise VermoError(f"{path}: fps must be a positive number, not {fps}")
    if joints.shape[1] < 2:
        raise VermoError(f"{path}: motion has fewer than two frames")
    joints = resample_motion(joints, fps, CANONICAL_FPS)
    joints = joints[:, : int(MAX_SECONDS * CANONICAL_FPS)]
    joints = canonicalize_motion(joints).astype(np.float32)
    return MotionInput(joints=joints, mask=mask, path=path)
