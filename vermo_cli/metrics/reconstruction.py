"""Reconstruction metrics for joint positions: MPJPE, PA-MPJPE, root ADE/FDE and their clip report.

All inputs are joint positions in metres, `[..., frames, joints, 3]` (vermo motions have 52
joints; the leading dimensions are anything, e.g. agents or clips), and every error is in metres.
A joint mask `[joints]` bool marks the valid joints; invalid joints never enter a metric, and a
metric over a group without any valid joint is NaN rather than an error, so a body-only clip still
gets its body numbers.

`vermo tokenize eval` uses `reconstruction_report` per clip and `ReconstructionAccumulator` over a
split; the completion benchmarks use `root_ade` / `root_fde`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vermo_cli.motion.kinematics import best_rotation
from vermo_cli.motion.skeleton import BODY_JOINTS, HAND_JOINTS, NUM_JOINTS

ROOT_JOINT: int = 0

REPORT_KEYS: tuple[str, ...] = (
    "mpjpe_all",
    "mpjpe_body",
    "mpjpe_hand",
    "pa_mpjpe_all",
    "pa_mpjpe_body",
    "pa_mpjpe_hand",
    "ade",
    "fde",
)
# FDE is one number per trajectory, so accumulating it weights trajectories, not frames.
_PER_TRAJECTORY_KEYS: frozenset[str] = frozenset({"fde"})

JointSelection = Sequence[int] | np.ndarray


def _as_positions(predicted: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as float64 `[..., frames, joints, 3]`, checked to have the same shape."""
    predicted = np.asarray(predicted, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if predicted.shape != target.shape:
        raise ValueError(f"predicted {predicted.shape} and target {target.shape} differ in shape")
    if predicted.ndim < 3 or predicted.shape[-1] != 3 or predicted.shape[-3] == 0:
        raise ValueError(f"expected positions [..., frames>0, joints, 3], got {predicted.shape}")
    return predicted, target


def _selected_joints(
    num_joints: int, joint_mask: np.ndarray | None, joints: JointSelection | None
) -> np.ndarray:
    """Indices of the joints that are both selected (`joints`, default all) and valid."""
    selected = np.arange(num_joints) if joints is None else np.asarray(joints, dtype=np.int64)
    if joint_mask is None:
        return selected
    joint_mask = np.asarray(joint_mask, dtype=bool)
    if joint_mask.shape != (num_joints,):
        raise ValueError(f"joint mask {joint_mask.shape} does not match {num_joints} joints")
    return selected[joint_mask[selected]]


def _mean_joint_distance(predicted: np.ndarray, target: np.ndarray) -> float:
    """Mean Euclidean distance (metres) over every position of `[..., joints, 3]` arrays."""
    return float(np.linalg.norm(predicted - target, axis=-1).mean())


def mpjpe(
    predicted: np.ndarray,
    target: np.ndarray,
    joint_mask: np.ndarray | None = None,
    joints: JointSelection | None = None,
) -> float:
    """Mean per-joint position error, metres.

    `predicted`, `target`: `[..., frames, joints, 3]` metres. With S the joints that are selected
    by `joints` (default: all) and valid in `joint_mask` `[joints]` bool (default: all valid),
    MPJPE = mean over leading dims, frames and j in S of the Euclidean distance
    ||predicted[..., j, :] - target[..., j, :]||_2. NaN when S is empty.
    """
    predicted, target = _as_positions(predicted, target)
    selected = _selected_joints(predicted.shape[-2], joint_mask, joints)
    if selected.size == 0:
        return float("nan")
    return _mean_joint_distance(predicted[..., selected, :], target[..., selected, :])


def similarity_align(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """`predicted` `[poses, joints, 3]` moved onto `target` by each pose's best similarity map.

    For every pose independently, finds the rotation R (det R = +1; reflections are excluded),
    uniform scale s >= 0 and translation t minimising sum_j ||s R p_j + t - q_j||^2 (Umeyama 1991:
    SVD of the cross-covariance of the centred point sets, with the last singular direction
    flipped when the best orthogonal map would be a reflection), and returns s R p_j + t,
    `[poses, joints, 3]` metres. A pose whose predicted joints all coincide gets s = 0, i.e. every
    joint is placed at the target centroid.

    Hand-written because no maintained library does this batched in numpy:
    `scipy.spatial.procrustes` normalises both sets to unit norm (its disparity is not in
    metres), allows reflections and takes one pose at a time. The rotation is
    `motion.kinematics.best_rotation`; the scale is the explained covariance over the variance.
    """
    predicted_centroid = predicted.mean(axis=-2, keepdims=True)
    target_centroid = target.mean(axis=-2, keepdims=True)
    predicted_centred = predicted - predicted_centroid
    target_centred = target - target_centroid
    rotation = best_rotation(predicted_centred, target_centred)
    rotated = predicted_centred @ np.swapaxes(rotation, -1, -2)
    predicted_variance = np.square(predicted_centred).sum(axis=(-2, -1))
    explained = (rotated * target_centred).sum(axis=(-2, -1))
    scale = np.divide(
        explained,
        predicted_variance,
        out=np.zeros_like(explained),
        where=predicted_variance > 0,
    )
    return scale[..., None, None] * rotated + target_centroid


def pa_mpjpe(
    predicted: np.ndarray,
    target: np.ndarray,
    joint_mask: np.ndarray | None = None,
    joints: JointSelection | None = None,
) -> float:
    """Procrustes-aligned mean per-joint position error, metres.

    `predicted`, `target`: `[..., frames, joints, 3]` metres; S as in `mpjpe` (selected and valid
    joints). For each pose (every leading index and frame), the predicted joints in S are aligned
    to the target joints in S with `similarity_align` (rotation without reflection, uniform scale,
    translation, fitted on S only), then PA-MPJPE = mean over leading dims, frames and j in S of
    ||aligned_j - target_j||_2. NaN when S is empty; 0 when S has a single joint.
    """
    predicted, target = _as_positions(predicted, target)
    selected = _selected_joints(predicted.shape[-2], joint_mask, joints)
    if selected.size == 0:
        return float("nan")
    poses_shape = (-1, selected.size, 3)
    predicted_poses = predicted[..., selected, :].reshape(poses_shape)
    target_poses = target[..., selected, :].reshape(poses_shape)
    aligned = similarity_align(predicted_poses, target_poses)
    return _mean_joint_distance(aligned, target_poses)


def _root_distances(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Root (pelvis, joint 0) distances `[..., frames]` metres between two position arrays."""
    predicted, target = _as_positions(predicted, target)
    return np.linalg.norm(predicted[..., ROOT_JOINT, :] - target[..., ROOT_JOINT, :], axis=-1)


def root_ade(predicted: np.ndarray, target: np.ndarray) -> float:
    """Average displacement error of the root trajectory, metres.

    `predicted`, `target`: `[..., frames, joints, 3]` metres. ADE = mean over leading dims and
    frames of ||predicted[..., f, 0, :] - target[..., f, 0, :]||_2 (joint 0 is the pelvis).
    """
    return float(_root_distances(predicted, target).mean())


def root_fde(predicted: np.ndarray, target: np.ndarray) -> float:
    """Final displacement error of the root trajectory, metres.

    `predicted`, `target`: `[..., frames, joints, 3]` metres. FDE = mean over leading dims of
    ||predicted[..., -1, 0, :] - target[..., -1, 0, :]||_2 (last frame, pelvis).
    """
    return float(_root_distances(predicted, target)[..., -1].mean())


def reconstruction_report(
    predicted: np.ndarray, target: np.ndarray, joint_mask: np.ndarray
) -> dict[str, float]:
    """Tokenizer reconstruction metrics of one clip, metres, keyed by `REPORT_KEYS`.

    `predicted`, `target`: `[..., frames, 52, 3]` metres; `joint_mask`: `[52]` bool. Gives
    `mpjpe_{all,body,hand}` and `pa_mpjpe_{all,body,hand}` over the valid joints of all 52, the 22
    body joints and the 30 hand joints (PA alignment fitted per group), plus root `ade` and `fde`.
    A group without a valid joint (the hands of a body-only source) is NaN.
    """
    predicted, target = _as_positions(predicted, target)
    if predicted.shape[-2] != NUM_JOINTS:
        raise ValueError(f"expected {NUM_JOINTS} joints, got {predicted.shape[-2]}")
    groups: dict[str, JointSelection | None] = {
        "all": None,
        "body": BODY_JOINTS,
        "hand": HAND_JOINTS,
    }
    report: dict[str, float] = {}
    for group, joints in groups.items():
        report[f"mpjpe_{group}"] = mpjpe(predicted, target, joint_mask, joints)
    for group, joints in groups.items():
        report[f"pa_mpjpe_{group}"] = pa_mpjpe(predicted, target, joint_mask, joints)
    report["ade"] = root_ade(predicted, target)
    report["fde"] = root_fde(predicted, target)
    return report


@dataclass
class ReconstructionAccumulator:
    """Weighted means of `reconstruction_report` over many clips of any lengths and masks.

    Each clip's value of a key is weighted by its number of poses (product of the leading dims and
    frames), so every key except `fde` is a frame-weighted mean over the clips; `fde` is weighted
    by the number of trajectories (product of the leading dims), i.e. a mean over final frames.
    A clip whose value is NaN (hands of a body-only clip) is left out of that key only; a key
    that no clip provided is NaN in `result()`.
    """

    weighted_sums: dict[str, float] = field(default_factory=lambda: dict.fromkeys(REPORT_KEYS, 0.0))
    weights: dict[str, float] = field(default_factory=lambda: dict.fromkeys(REPORT_KEYS, 0.0))

    def add(self, predicted: np.ndarray, target: np.ndarray, joint_mask: np.ndarray) -> None:
        """Add one clip: `predicted`, `target` `[..., frames, 52, 3]` metres; `joint_mask` `[52]`.

        The clip is weighted by its pose count, or by its trajectory count for `fde`.
        """
        report = reconstruction_report(predicted, target, joint_mask)
        trajectories = float(np.prod(np.shape(target)[:-3]))
        poses = trajectories * np.shape(target)[-3]
        for key, value in report.items():
            if np.isnan(value):
                continue
            weight = trajectories if key in _PER_TRAJECTORY_KEYS else poses
            self.weighted_sums[key] += weight * value
            self.weights[key] += weight

    def result(self) -> dict[str, float]:
        """The weighted mean of every key in `REPORT_KEYS`, metres (NaN for a key never added)."""
        return {
            key: self.weighted_sums[key] / self.weights[key] if self.weights[key] else float("nan")
            for key in REPORT_KEYS
        }
