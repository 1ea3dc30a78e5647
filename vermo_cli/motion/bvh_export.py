"""Canonical joint positions as a BVH file that Blender and other tools open.

vermo's motions are joint positions, not rotations, so the BVH carries them exactly: the SMPL-H
hierarchy with a position channel on every joint (its offset from its parent on each frame)
and identity rotations. Re-reading the file gives back the positions to float precision; bone
lengths may vary slightly from frame to frame, as they do in generated motion.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vermo_cli.motion.bvh import BvhMotion, write_bvh
from vermo_cli.motion.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS

CHANNELS = ["Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation"]


def joints_to_bvh(joints: np.ndarray, fps: float) -> BvhMotion:
    """A `BvhMotion` (metres, y up) of one person's joints `[frames, 52, 3]` metres."""
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"expected joints [frames, {NUM_JOINTS}, 3], got {joints.shape}")
    parents = list(PARENTS)
    translations = joints.copy()
    for joint, parent in enumerate(parents):
        if parent >= 0:
            translations[:, joint] = joints[:, joint] - joints[:, parent]
    frames = joints.shape[0]
    # BVH lists joints depth first; the file's order is the order of its channel values.
    order = _depth_first(parents)
    position_in_file = {joint: index for index, joint in enumerate(order)}
    translations = translations[:, order]
    return BvhMotion(
        joint_names=[JOINT_NAMES[joint] for joint in order],
        parents=[position_in_file[parents[j]] if parents[j] >= 0 else -1 for j in order],
        offsets=translations[0].copy(),
        channels=[list(CHANNELS) for _ in range(NUM_JOINTS)],
        fps=float(fps),
        local_rotations=np.broadcast_to(np.eye(3), (frames, NUM_JOINTS, 3, 3)).copy(),
        root_positions=joints[:, 0].copy(),
        translations=translations,
    )


def _depth_first(parents: list[int]) -> list[int]:
    """Joint indices in depth-first order from the root (children in index order)."""
    order: list[int] = []
    stack = [parents.index(-1)]
    while stack:
        joint = stack.pop()
        order.append(joint)
        children = [child for child, parent in enumerate(parents) if parent == joint]
        stack.extend(reversed(children))
    return order


def write_joints_bvh(path: Path, joints: np.ndarray, fps: float) -> None:
    """Write one person's joints `[frames, 52, 3]` metres as a BVH file (atomically)."""
    write_bvh(Path(path), joints_to_bvh(joints, fps))
