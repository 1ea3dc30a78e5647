"""Retargeting other skeletons' joint positions onto the SMPL-H joint set by joint-name maps.

A joint map is a dict from an SMPL-H joint name to either a source joint name or a weighted
blend `{source_joint: weight, ...}` (weights sum to 1). SMPL-H joints that a map leaves out are
marked invalid and take the position of their nearest mapped ancestor, so downstream code always
sees finite, body-shaped data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from vermo_cli.errors import SourceError
from vermo_cli.motion.skeleton import JOINT_INDEX, NUM_JOINTS, PARENTS

JointMapEntry = str | Mapping[str, float]
JointMap = Mapping[str, JointMapEntry]


def validate_joint_map(joint_map: JointMap, source_joint_names: Sequence[str], what: str) -> None:
    """Raise `SourceError` if `joint_map` names an unknown SMPL-H joint or a missing source joint.

    `what` names the file or skeleton in the message.
    """
    available = set(source_joint_names)
    for target, entry in joint_map.items():
        if target not in JOINT_INDEX:
            raise SourceError(f"{what}: joint map names '{target}', which is not an SMPL-H joint")
        names = [entry] if isinstance(entry, str) else list(entry)
        missing = [name for name in names if name not in available]
        if missing:
            raise SourceError(
                f"{what}: joint map entry '{target}' needs source joint(s) {missing}, "
                f"not in the skeleton"
            )
    if "pelvis" not in joint_map:
        raise SourceError(f"{what}: joint map must map 'pelvis'")


def retarget_positions(
    source_positions: np.ndarray,
    source_joint_names: Sequence[str],
    joint_map: JointMap,
) -> tuple[np.ndarray, np.ndarray]:
    """Map `[frames, S, 3]` source joint positions onto `[frames, 52, 3]` SMPL-H positions.

    Returns the positions and the `[52]` bool validity mask. Units and axes are unchanged.
    """
    index = {name: i for i, name in enumerate(source_joint_names)}
    frames = source_positions.shape[0]
    target = np.zeros((frames, NUM_JOINTS, 3), dtype=np.float64)
    mask = np.zeros(NUM_JOINTS, dtype=bool)
    for name, entry in joint_map.items():
        weights = {entry: 1.0} if isinstance(entry, str) else dict(entry)
        total = sum(weights.values())
        blended = sum(
            (weight / total) * source_positions[:, index[joint]]
            for joint, weight in weights.items()
        )
        target[:, JOINT_INDEX[name]] = blended
        mask[JOINT_INDEX[name]] = True
    for joint in range(NUM_JOINTS):
        if mask[joint]:
            continue
        ancestor = PARENTS[joint]
        while ancestor >= 0 and not mask[ancestor]:
            ancestor = PARENTS[ancestor]
        if ancestor >= 0:
            target[:, joint] = target[:, ancestor]
    return target.astype(np.float32), mask


def joint_map_weights(joint_map: JointMap, source_joint_names: Sequence[str]) -> np.ndarray:
    """The linear map of `retarget_positions` on the mapped SMPL-H joints, as a matrix
    `[52, S]`: row j holds the (normalised) blend weights of SMPL-H joint j over the source
    joints; rows of unmapped SMPL-H joints are zero."""
    index = {name: i for i, name in enumerate(source_joint_names)}
    weights = np.zeros((NUM_JOINTS, len(source_joint_names)), dtype=np.float64)
    for name, entry in joint_map.items():
        blend = {entry: 1.0} if isinstance(entry, str) else dict(entry)
        total = sum(blend.values())
        for joint, weight in blend.items():
            weights[JOINT_INDEX[name], index[joint]] += weight / total
    return weights


def source_positions_from_smplh(
    smplh_positions: np.ndarray, joint_map: JointMap, source_joint_names: Sequence[str]
) -> np.ndarray:
    """Undo `retarget_positions`: `[..., 52, 3]` SMPL-H positions -> `[..., S, 3]` positions
    of the source skeleton's joints, the least-squares solution of the joint map's linear
    blends (exact when the map determines every source joint, as the built-in maps do for
    their skeletons' body joints). `SourceError` when some source joint is in no blend."""
    weights = joint_map_weights(joint_map, source_joint_names)
    mapped = np.flatnonzero(np.any(weights != 0, axis=1))
    used = np.any(weights != 0, axis=0)
    unused = [name for name, placed in zip(source_joint_names, used, strict=True) if not placed]
    if unused:
        raise SourceError(f"the joint map does not place source joint(s) {unused}")
    inverse = np.linalg.pinv(weights[mapped])  # [S, mapped]
    return np.einsum("sm,...mc->...sc", inverse, np.asarray(smplh_positions)[..., mapped, :])
