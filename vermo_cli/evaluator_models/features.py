"""Pose features that the evaluators read: per-frame channels from motion `[agents, frames, 52, 3]`.

Only body joints are used (the hand joints of sources without fingers hold wrist copies), so
every corpus and every generated motion gives valid features. Motion is in metres in vermo's
canonical frame (y up, the first person facing +z on frame 0) at 30 fps.
"""

from __future__ import annotations

import numpy as np

from vermo_cli.motion.skeleton import JOINT_INDEX, NUM_BODY_JOINTS, UPPER_BODY_JOINTS

FPS = 30.0
PELVIS = JOINT_INDEX["pelvis"]
GROUND_AXES = np.array([1.0, 0.0, 1.0], dtype=np.float32)
"""x and z: subtracting the pelvis on these keeps heights but removes where a person stands."""

AGENT_CHANNELS = NUM_BODY_JOINTS * 3 + 3
GESTURE_CHANNELS = len(UPPER_BODY_JOINTS) * 3


def pelvis_velocity(joints: np.ndarray) -> np.ndarray:
    """`[frames, 52, 3]` -> `[frames, 3]` pelvis velocity in m/s (central differences; zero for a
    single frame)."""
    pelvis = joints[:, PELVIS]
    if len(pelvis) < 2:
        return np.zeros_like(pelvis)
    return np.gradient(pelvis, axis=0) * FPS


def agent_pose_features(joints: np.ndarray) -> np.ndarray:
    """`[frames, 52, 3]` -> `[frames, 69]` float32: the 22 body joints relative to the point on
    the ground under the pelvis (metres, 66 channels), then the pelvis velocity (m/s, 3)."""
    body = joints[:, :NUM_BODY_JOINTS] - joints[:, PELVIS : PELVIS + 1] * GROUND_AXES
    frames = len(joints)
    return np.concatenate([body.reshape(frames, -1), pelvis_velocity(joints)], axis=1).astype(
        np.float32
    )


def text_motion_channels(headcount: int) -> int:
    """Feature channels of the text-motion evaluator for 1 or 2 people."""
    return AGENT_CHANNELS if headcount == 1 else 2 * AGENT_CHANNELS + 2


def text_motion_features(motion: np.ndarray) -> np.ndarray:
    """`[agents, frames, 52, 3]` -> `[frames, channels]` float32 for the text-motion evaluator.

    One person: `agent_pose_features` (69 channels). Two people: the first agent's 69, the
    second's 69, then the second pelvis's ground offset from the first's (x, z metres), 140 in
    all; the first agent is the corpus's first (the one the canonical frame is built on).
    """
    features = [agent_pose_features(agent) for agent in motion]
    if len(motion) == 2:
        offset = (motion[1, :, PELVIS] - motion[0, :, PELVIS])[:, [0, 2]]
        features.append(offset.astype(np.float32))
    return np.concatenate(features, axis=1)


def gesture_features(motion: np.ndarray) -> np.ndarray:
    """`[1, frames, 52, 3]` -> `[frames, 39]` float32: the 13 upper-body joints (spine, neck,
    head, collars, arms, wrists) relative to the pelvis, metres."""
    joints = motion[0]
    upper = joints[:, list(UPPER_BODY_JOINTS)] - joints[:, PELVIS : PELVIS + 1]
    return upper.reshape(len(joints), -1).astype(np.float32)


def feature_statistics(features: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation `[channels]` over all frames of `[frames, channels]` arrays;
    the deviation is at least 0.01 (metres or m/s) so still channels do not blow up."""
    stacked = np.concatenate(features, axis=0).astype(np.float64)
    return (
        stacked.mean(axis=0).astype(np.float32),
        np.maximum(stacked.std(axis=0), 0.01).astype(np.float32),
    )
