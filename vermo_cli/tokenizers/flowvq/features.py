"""Motion as the tokenizer sees it: normalised feature channels `[frames, channels]`.

Three feature sets (the recipe's `vqvae.features`):

- `positions` (the paper's): the 52 joints' positions in the canonical frame, 156 channels.
- `trajectory` (vermo's): where a person is and how they are posed, kept apart, 158 channels.
  Channels 0-2 hold the pelvis's ground velocity (x, z in metres per frame; 0 on the first
  frame) and its height (y); channels 3-155 the other 51 joints relative to the point on the
  ground under the pelvis; channels 156-157 the pelvis's ground position (x, z), which places
  the person (the second person of a pair, too). A pose then looks the same wherever it
  happens, so codes are spent on the pose and the motion, not on the location.
- `velocity` (vermo's, for long real takes): `trajectory` without the ground position, 156
  channels. The root path is the integrated velocity alone; the tokenizer keeps it on the
  motion's path by closed-loop encoding (`root_anchor_iterations`,
  docs/design-notes.md#root-anchoring), not by channels that must place the person anywhere on
  a 10 m stage with a few codes.

Decoding `trajectory` joins the two root descriptions with a complementary filter: the
integrated velocity gives the path's shape and the position channels, smoothed over about a
second, remove the integration's drift.

Normalisation follows the paper's "avg-std": a per-channel mean and one standard deviation per
group of channels (body, hands; for `trajectory` also root velocity and root position).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.ndimage import gaussian_filter1d

from vermo_cli.errors import CorpusError
from vermo_cli.motion.skeleton import HAND_JOINTS, NUM_BODY_JOINTS, NUM_JOINTS

FeatureKind = Literal["positions", "trajectory", "velocity"]

POSITION_CHANNELS = NUM_JOINTS * 3
TRAJECTORY_CHANNELS = POSITION_CHANNELS + 2
ROOT_VELOCITY = np.array([0, 2])
"""Channels of the pelvis's ground velocity (x, z) in `trajectory` features."""
ROOT_POSITION = np.array([POSITION_CHANNELS, POSITION_CHANNELS + 1])
"""Channels of the pelvis's ground position (x, z) in `trajectory` features."""
DRIFT_SMOOTHING_FRAMES = 30.0
"""Standard deviation (frames, 1 s at 30 fps) of the Gaussian that smooths the difference
between decoded root positions and integrated root velocities before it corrects the drift."""
HAND_CHANNELS = (HAND_JOINTS[:, None] * 3 + np.arange(3)).ravel()


def feature_channels(kind: FeatureKind) -> int:
    """Channels per frame of a feature set."""
    return TRAJECTORY_CHANNELS if kind == "trajectory" else POSITION_CHANNELS


def motion_features(joints: np.ndarray, kind: FeatureKind) -> np.ndarray:
    """`[..., frames, 52, 3]` metres -> `[..., frames, channels]` float32, not normalised."""
    flat = joints.reshape(*joints.shape[:-2], POSITION_CHANNELS).astype(np.float32)
    if kind == "positions":
        return flat
    ground = joints[..., 0, :] * np.array([1.0, 0.0, 1.0], dtype=np.float32)  # [..., frames, 3]
    relative = (joints - ground[..., None, :]).reshape(flat.shape).astype(np.float32)
    velocity = np.diff(joints[..., 0, [0, 2]], axis=-2, prepend=joints[..., :1, 0, [0, 2]])
    relative[..., ROOT_VELOCITY] = velocity
    relative[..., 1] = joints[..., 0, 1]
    if kind == "velocity":
        return relative
    return np.concatenate([relative, joints[..., 0, [0, 2]]], axis=-1).astype(np.float32)


def joints_from_features(features: np.ndarray, kind: FeatureKind) -> np.ndarray:
    """Inverse of `motion_features`: `[..., frames, channels]` -> `[..., frames, 52, 3]`.

    For `trajectory` the pelvis's ground path is the integrated velocity plus the smoothed
    difference between the position channels and that integral (a complementary filter); for
    `velocity` it is the integrated velocity."""
    if kind == "positions":
        return features.reshape(*features.shape[:-1], NUM_JOINTS, 3).astype(np.float32)
    joints = features[..., :POSITION_CHANNELS].reshape(*features.shape[:-1], NUM_JOINTS, 3).copy()
    path = np.cumsum(features[..., ROOT_VELOCITY], axis=-2)
    if kind == "trajectory":
        drift = features[..., ROOT_POSITION] - path
        path = path + gaussian_filter1d(drift, DRIFT_SMOOTHING_FRAMES, axis=-2, mode="nearest")
    joints[..., 0, [0, 2]] = 0.0  # the root's velocity channels; its height stays
    joints[..., [0, 2]] += path[..., None, :]
    return joints.astype(np.float32)


def root_path(joints: np.ndarray) -> np.ndarray:
    """The pelvis's ground path: `[..., frames, 52, 3]` metres -> `[..., frames, 2]` (x, z)."""
    return joints[..., 0, :][..., [0, 2]]


def root_correction(offset: np.ndarray, normalizer: MotionNormalizer) -> np.ndarray:
    """Normalised `trajectory` or `velocity` features that move a decoded root path by `offset`.

    `offset` `[..., frames, 2]` metres (x, z) -> `[..., frames, channels]`: its frame-to-frame
    change on the root velocity channels and (`trajectory`) the offset itself on the root
    position channels, divided by their standard deviations; every other channel 0."""
    correction = np.zeros((*offset.shape[:-1], normalizer.channels), dtype=np.float32)
    if normalizer.kind == "trajectory":
        correction[..., ROOT_POSITION] = offset / normalizer.std[ROOT_POSITION]
    step = np.diff(offset, axis=-2, prepend=np.zeros_like(offset[..., :1, :]))
    correction[..., ROOT_VELOCITY] = step / normalizer.std[ROOT_VELOCITY]
    return correction


def root_channels(kind: FeatureKind) -> np.ndarray:
    """Channels that place the person: the pelvis's position, its ground velocity (and for
    `trajectory` its ground position)."""
    if kind == "positions":
        return np.arange(3)
    return np.concatenate([ROOT_VELOCITY, ROOT_POSITION]) if kind == "trajectory" else ROOT_VELOCITY


def loss_weights(kind: FeatureKind, root_weight: float) -> np.ndarray:
    """`[channels]` float32: 1 everywhere, `root_weight` on the `root_channels`."""
    weights = np.ones(feature_channels(kind), dtype=np.float32)
    weights[root_channels(kind)] = root_weight
    return weights


def channel_mask(joint_mask: np.ndarray, kind: FeatureKind) -> np.ndarray:
    """`[52]` bool valid joints -> `[channels]` bool valid channels (root channels always)."""
    mask = np.repeat(np.asarray(joint_mask, dtype=bool), 3)
    if kind == "trajectory":
        mask = np.concatenate([mask, [True, True]])
    mask[:3] = True
    return mask


@dataclass(frozen=True)
class MotionNormalizer:
    """Feature set, per-channel mean `[channels]` and std `[channels]` (one value per group)."""

    mean: np.ndarray
    std: np.ndarray
    kind: FeatureKind = "positions"

    @property
    def channels(self) -> int:
        """Feature channels per frame."""
        return feature_channels(self.kind)

    @classmethod
    def from_stats(cls, stats: dict[str, Any] | None, what: str) -> MotionNormalizer:
        """`positions` normalisation from a corpus sidecar's `stats`; `CorpusError` naming
        `what` if absent."""
        if not stats or stats.get("mean") is None or stats.get("std_body") is None:
            raise CorpusError(
                f"{what}: no normalisation statistics (re-run `vermo prepare` to compute them)"
            )
        mean = np.asarray(stats["mean"], dtype=np.float32)
        if mean.shape != (NUM_JOINTS, 3):
            raise CorpusError(
                f"{what}: statistics are for {mean.shape[0]} joints, not {NUM_JOINTS}"
            )
        std = np.full((NUM_JOINTS, 3), float(stats["std_body"]), dtype=np.float32)
        std[HAND_JOINTS] = float(stats.get("std_hand") or stats["std_body"])
        return cls(mean=mean.ravel(), std=std.ravel(), kind="positions")

    @classmethod
    def fit(
        cls, motions: Iterable[tuple[np.ndarray, np.ndarray]], kind: FeatureKind
    ) -> MotionNormalizer:
        """Statistics of `(motion [agents, frames, 52, 3], joint_mask [52])` pairs: the mean
        of each channel and the mean of the per-channel standard deviations of each group,
        over valid joints only."""
        total = np.zeros(feature_channels(kind))
        squares = np.zeros_like(total)
        counts = np.zeros_like(total)
        for motion, joint_mask in motions:
            features = motion_features(motion, kind).reshape(-1, len(total)).astype(np.float64)
            valid = channel_mask(joint_mask, kind)
            total[valid] += features[:, valid].sum(axis=0)
            squares[valid] += (features[:, valid] ** 2).sum(axis=0)
            counts[valid] += len(features)
        if not counts.any():
            raise CorpusError("no motion to compute normalisation statistics from")
        seen = counts > 0
        mean = np.where(seen, total / np.maximum(counts, 1), 0.0)
        std = np.sqrt(np.maximum(squares / np.maximum(counts, 1) - mean**2, 0.0))
        grouped = np.ones_like(std)
        for group in channel_groups(kind):
            in_group = group[seen[group]]
            if len(in_group):
                grouped[group] = max(float(std[in_group].mean()), 1e-4)
        return cls(mean=mean.astype(np.float32), std=grouped.astype(np.float32), kind=kind)

    def to_json(self) -> dict[str, Any]:
        """The form stored with a tokenizer."""
        return {"kind": self.kind, "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_json(cls, content: dict[str, Any]) -> MotionNormalizer:
        """Inverse of `to_json` (tokenizers from before feature sets stored `[52, 3]` arrays)."""
        return cls(
            mean=np.asarray(content["mean"], dtype=np.float32).ravel(),
            std=np.asarray(content["std"], dtype=np.float32).ravel(),
            kind=content.get("kind", "positions"),
        )

    def normalize(self, joints: np.ndarray, joint_mask: np.ndarray) -> np.ndarray:
        """`[..., frames, 52, 3]` metres -> `[..., frames, channels]`, invalid joints set to 0
        so the network never sees what a source did not measure."""
        features = (motion_features(joints, self.kind) - self.mean) / self.std
        return (features * channel_mask(joint_mask, self.kind)).astype(np.float32)

    def denormalize(self, features: np.ndarray) -> np.ndarray:
        """`[..., frames, channels]` -> `[..., frames, 52, 3]` metres."""
        return joints_from_features(features * self.std + self.mean, self.kind)

    def channel_mask(self, joint_mask: np.ndarray) -> np.ndarray:
        """`[52]` valid joints -> `[channels]` valid channels."""
        return channel_mask(joint_mask, self.kind)


def channel_groups(kind: FeatureKind) -> list[np.ndarray]:
    """Channel index groups sharing one standard deviation."""
    body = np.arange(NUM_BODY_JOINTS * 3)
    if kind == "positions":
        return [body, HAND_CHANNELS]
    groups = [np.setdiff1d(body, ROOT_VELOCITY), HAND_CHANNELS, ROOT_VELOCITY]
    return [*groups, ROOT_POSITION] if kind == "trajectory" else groups
