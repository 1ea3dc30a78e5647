"""LAFAN1-skeleton BVH takes for tests: the dataset's joint names and hierarchy, made-up
offsets and synthetic motion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from vermo_cli.motion.bvh import BvhMotion, write_bvh

# A LAFAN1-shaped skeleton (joint names and hierarchy of the dataset; offsets made up, cm).
JOINTS = (
    ("Hips", -1, (0, 0, 0)),
    ("LeftUpLeg", 0, (10, 0, 0)),
    ("LeftLeg", 1, (0, -43, 0)),
    ("LeftFoot", 2, (0, -42, 0)),
    ("LeftToe", 3, (0, -6, 14)),
    ("RightUpLeg", 0, (-10, 0, 0)),
    ("RightLeg", 5, (0, -43, 0)),
    ("RightFoot", 6, (0, -42, 0)),
    ("RightToe", 7, (0, -6, 14)),
    ("Spine", 0, (0, 10, 0)),
    ("Spine1", 9, (0, 12, 0)),
    ("Spine2", 10, (0, 12, 0)),
    ("Neck", 11, (0, 20, 0)),
    ("Head", 12, (0, 10, 0)),
    ("LeftShoulder", 11, (4, 16, 0)),
    ("LeftArm", 14, (13, 0, 0)),
    ("LeftForeArm", 15, (27, 0, 0)),
    ("LeftHand", 16, (25, 0, 0)),
    ("RightShoulder", 11, (-4, 16, 0)),
    ("RightArm", 18, (-13, 0, 0)),
    ("RightForeArm", 19, (-27, 0, 0)),
    ("RightHand", 20, (-25, 0, 0)),
)
NAMES = [name for name, _, _ in JOINTS]
PARENTS = [parent for _, parent, _ in JOINTS]


def write_take(path: Path, frames: int, seed: int, still: bool = False) -> Path:
    """A LAFAN1-skeleton BVH at 30 fps: a walk along a curve with swinging joints (or, with
    `still`, one pose held in place)."""
    rng = np.random.default_rng(seed)
    time = np.arange(frames) / 30.0
    phase = rng.uniform(0, 2 * np.pi, size=(len(JOINTS), 3))
    amplitude = np.zeros((1, len(JOINTS), 3)) if still else rng.uniform(0.05, 0.4, (1, 22, 3))
    angles = amplitude * np.sin(2 * np.pi * 1.1 * time[:, None, None] + phase)
    heading = 0.0 if still else 0.3 * time + seed
    angles[:, 0, 1] += heading
    rotations = Rotation.from_euler("ZYX", angles.reshape(-1, 3)[:, ::-1]).as_matrix()
    speed = 0.0 if still else 120.0
    root = np.stack(
        [speed * np.cumsum(np.sin(heading + 0 * time)) / 30, 90 + 0 * time, speed * time],
        axis=-1,
    )
    motion = BvhMotion(
        joint_names=NAMES,
        parents=PARENTS,
        offsets=np.array([offset for _, _, offset in JOINTS], dtype=np.float64),
        channels=[
            ["Xposition", "Yposition", "Zposition", "Zrotation", "Yrotation", "Xrotation"]
            if parent < 0
            else ["Zrotation", "Yrotation", "Xrotation"]
            for _, parent, _ in JOINTS
        ],
        fps=30.0,
        local_rotations=rotations.reshape(frames, len(JOINTS), 3, 3),
        root_positions=root,
    )
    write_bvh(path, motion)
    return path
