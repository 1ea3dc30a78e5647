"""The canonical 52-joint SMPL-H joint set: names, parents, groups, rest pose and human bone ranges.

Coordinates are right-handed, y up, metres. A person in the rest pose faces +z, so their left
side is on +x. The rest offsets describe an average adult (about 1.75 m tall) and are used by the
synthetic corpus, BVH export and as a sanity reference; they are not fitted to any dataset.
"""

from __future__ import annotations

import numpy as np

BODY_JOINT_NAMES: tuple[str, ...] = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
)

_FINGERS: tuple[str, ...] = ("index", "middle", "pinky", "ring", "thumb")


def _hand_joint_names(side: str) -> tuple[str, ...]:
    return tuple(f"{side}_{finger}{segment}" for finger in _FINGERS for segment in (1, 2, 3))


JOINT_NAMES: tuple[str, ...] = (
    BODY_JOINT_NAMES + _hand_joint_names("left") + _hand_joint_names("right")
)
NUM_JOINTS: int = len(JOINT_NAMES)
NUM_BODY_JOINTS: int = len(BODY_JOINT_NAMES)
JOINT_INDEX: dict[str, int] = {name: index for index, name in enumerate(JOINT_NAMES)}

UPPER_BODY_JOINTS: tuple[int, ...] = tuple(
    JOINT_INDEX[name]
    for name in (
        "spine1",
        "spine2",
        "spine3",
        "neck",
        "head",
        "left_collar",
        "right_collar",
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
    )
)
"""The spine, neck, head, collars and arms: the joints that gesture."""

_BODY_PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19,
)  # fmt: skip


def _hand_parents(wrist: int, first: int) -> tuple[int, ...]:
    parents: list[int] = []
    for finger in range(len(_FINGERS)):
        base = first + 3 * finger
        parents += [wrist, base, base + 1]
    return tuple(parents)


PARENTS: tuple[int, ...] = (
    _BODY_PARENTS
    + _hand_parents(JOINT_INDEX["left_wrist"], NUM_BODY_JOINTS)
    + _hand_parents(JOINT_INDEX["right_wrist"], NUM_BODY_JOINTS + 15)
)

BODY_JOINTS: np.ndarray = np.arange(NUM_BODY_JOINTS)
HAND_JOINTS: np.ndarray = np.arange(NUM_BODY_JOINTS, NUM_JOINTS)
LEFT_JOINTS: tuple[int, ...] = tuple(i for i, n in enumerate(JOINT_NAMES) if n.startswith("left_"))
RIGHT_JOINTS: tuple[int, ...] = tuple(
    i for i, n in enumerate(JOINT_NAMES) if n.startswith("right_")
)
# Index of each joint's mirror partner (left <-> right); centre joints map to themselves.
MIRROR: tuple[int, ...] = tuple(
    JOINT_INDEX[n.replace("left_", "right_")]
    if n.startswith("left_")
    else JOINT_INDEX[n.replace("right_", "left_")]
    if n.startswith("right_")
    else i
    for i, n in enumerate(JOINT_NAMES)
)


def body_only_mask() -> np.ndarray:
    """Joint-validity mask `[52]` bool for sources without hands: body valid, hands invalid."""
    mask = np.zeros(NUM_JOINTS, dtype=bool)
    mask[BODY_JOINTS] = True
    return mask


def full_mask() -> np.ndarray:
    """Joint-validity mask `[52]` bool with every joint valid."""
    return np.ones(NUM_JOINTS, dtype=bool)


def _rest_offsets() -> np.ndarray:
    """Offsets `[52, 3]` metres of each joint from its parent in the T-pose (root: absolute)."""
    body = {
        "pelvis": (0.0, 0.93, 0.0),
        "left_hip": (0.06, -0.09, 0.0),
        "right_hip": (-0.06, -0.09, 0.0),
        "spine1": (0.0, 0.11, -0.01),
        "left_knee": (0.01, -0.38, 0.0),
        "right_knee": (-0.01, -0.38, 0.0),
        "spine2": (0.0, 0.13, 0.0),
        "left_ankle": (0.0, -0.40, -0.03),
        "right_ankle": (0.0, -0.40, -0.03),
        "spine3": (0.0, 0.06, 0.02),
        "left_foot": (0.01, -0.06, 0.13),
        "right_foot": (-0.01, -0.06, 0.13),
        "neck": (0.0, 0.21, -0.02),
        "left_collar": (0.08, 0.12, -0.01),
        "right_collar": (-0.08, 0.12, -0.01),
        "head": (0.0, 0.09, 0.05),
        "left_shoulder": (0.12, 0.03, -0.01),
        "right_shoulder": (-0.12, 0.03, -0.01),
        "left_elbow": (0.26, 0.0, 0.0),
        "right_elbow": (-0.26, 0.0, 0.0),
        "left_wrist": (0.25, 0.0, 0.0),
        "right_wrist": (-0.25, 0.0, 0.0),
    }
    # Finger bases spread across the palm (z), then two phalanges along +x (left hand).
    finger_base = {
        "index": (0.09, 0.0, 0.025),
        "middle": (0.095, 0.0, 0.0),
        "pinky": (0.075, -0.005, -0.04),
        "ring": (0.085, -0.003, -0.02),
        "thumb": (0.025, -0.015, 0.035),
    }
    phalanges = {
        "index": (0.035, 0.025),
        "middle": (0.04, 0.028),
        "pinky": (0.025, 0.02),
        "ring": (0.035, 0.025),
        "thumb": (0.03, 0.027),
    }
    offsets = np.zeros((NUM_JOINTS, 3), dtype=np.float64)
    for name, offset in body.items():
        offsets[JOINT_INDEX[name]] = offset
    for side, sign in (("left", 1.0), ("right", -1.0)):
        for finger in _FINGERS:
            bx, by, bz = finger_base[finger]
            offsets[JOINT_INDEX[f"{side}_{finger}1"]] = (sign * bx, by, bz)
            first, second = phalanges[finger]
            if finger == "thumb":
                offsets[JOINT_INDEX[f"{side}_{finger}2"]] = (sign * first * 0.7, 0.0, first * 0.7)
                offsets[JOINT_INDEX[f"{side}_{finger}3"]] = (sign * second * 0.7, 0.0, second * 0.7)
            else:
                offsets[JOINT_INDEX[f"{side}_{finger}2"]] = (sign * first, 0.0, 0.0)
                offsets[JOINT_INDEX[f"{side}_{finger}3"]] = (sign * second, 0.0, 0.0)
    return offsets


REST_OFFSETS: np.ndarray = _rest_offsets()

# Plausible adult ranges (metres) for the long bones, by (parent, child) joint names. QC and tests
# use them; they are deliberately wide because retargeting places joints slightly differently
# from one capture skeleton to another.
HUMAN_BONE_RANGES: dict[tuple[str, str], tuple[float, float]] = {
    ("left_hip", "left_knee"): (0.25, 0.60),
    ("right_hip", "right_knee"): (0.25, 0.60),
    ("left_knee", "left_ankle"): (0.25, 0.60),
    ("right_knee", "right_ankle"): (0.25, 0.60),
    ("left_shoulder", "left_elbow"): (0.17, 0.42),
    ("right_shoulder", "right_elbow"): (0.17, 0.42),
    ("left_elbow", "left_wrist"): (0.15, 0.38),
    ("right_elbow", "right_wrist"): (0.15, 0.38),
}


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    """Lengths `[..., 52]` (metres) of the bone from each joint's parent; the root gets 0.

    `joints`: `[..., 52, 3]` positions in metres.
    """
    parents = np.array(PARENTS)
    lengths = np.linalg.norm(joints - joints[..., np.maximum(parents, 0), :], axis=-1)
    lengths[..., 0] = 0.0
    return lengths
