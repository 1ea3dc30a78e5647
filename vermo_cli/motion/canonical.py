"""The canonical frame: floor at y = 0, first agent's frame-0 root at the origin, facing +z."""

from __future__ import annotations

import numpy as np

from vermo_cli.motion.kinematics import rotation_about_y
from vermo_cli.motion.skeleton import JOINT_INDEX

_UP = np.array([0.0, 1.0, 0.0])


def facing_direction(frame_joints: np.ndarray) -> np.ndarray:
    """Horizontal unit forward vector `[3]` of one person in one frame (`[52, 3]` metres).

    The across-body vector (right to left, from hips and shoulders) crossed with up gives
    forward: a person whose left side is on +x faces +z.
    """
    across = (
        frame_joints[JOINT_INDEX["left_hip"]]
        - frame_joints[JOINT_INDEX["right_hip"]]
        + frame_joints[JOINT_INDEX["left_shoulder"]]
        - frame_joints[JOINT_INDEX["right_shoulder"]]
    )
    forward = np.cross(across, _UP)
    forward[1] = 0.0
    norm = np.linalg.norm(forward)
    if norm < 1e-8:
        return np.array([0.0, 0.0, 1.0])
    return forward / norm


def canonical_transform(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rigid map into the canonical frame of a motion `[agents, frames, 52, 3]` (metres,
    y up): `canonical = (joints - origin) @ rotation.T`. Returns `rotation` `[3, 3]` (about y:
    the first agent faces +z on frame 0) and `origin` `[3]` (that agent's frame-0 root on the
    ground plane x/z, and the lowest joint's height over all agents and frames)."""
    joints = np.asarray(joints, dtype=np.float64)
    forward = facing_direction(joints[0, 0])
    rotation = rotation_about_y(-np.arctan2(forward[0], forward[2]))
    root = joints[0, 0, JOINT_INDEX["pelvis"]]
    return rotation, np.array([root[0], joints[..., 1].min(), root[2]])


def canonicalize_motion(joints: np.ndarray) -> np.ndarray:
    """Put a motion `[agents, frames, 52, 3]` (metres, y up) into the canonical frame.

    The floor (y = 0) goes to the lowest joint over all agents and frames; x/z origin to the first
    agent's root on frame 0; a rotation about y makes the first agent face +z on frame 0. Other
    agents get the same transform, so their placement relative to the first is kept.
    """
    rotation, origin = canonical_transform(joints)
    return ((np.asarray(joints, dtype=np.float64) - origin) @ rotation.T).astype(np.float32)
