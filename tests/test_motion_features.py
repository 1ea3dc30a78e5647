"""The tokenizer's feature sets: exact round trips, translation invariance, drift correction."""

from __future__ import annotations

import numpy as np
import pytest

from vermo_cli.motion.skeleton import HAND_JOINTS, body_only_mask
from vermo_cli.tokenizers.flowvq.features import (
    POSITION_CHANNELS,
    ROOT_POSITION,
    ROOT_VELOCITY,
    MotionNormalizer,
    channel_mask,
    joints_from_features,
    motion_features,
)


def walking_person(frames: int = 90, seed: int = 0) -> np.ndarray:
    """`[1, frames, 52, 3]`: a jittering pose whose pelvis walks 2 m along x at 1 m height."""
    rng = np.random.default_rng(seed)
    pose = rng.normal(scale=0.3, size=(52, 3)).astype(np.float32)
    pose[0] = 0.0
    joints = pose + rng.normal(scale=0.02, size=(frames, 52, 3)).astype(np.float32)
    path = np.stack([np.linspace(0, 2, frames), np.ones(frames), np.zeros(frames)], axis=1)
    joints[:, 0] = 0.0
    return (joints + path[:, None].astype(np.float32))[None]


@pytest.mark.parametrize("kind", ["positions", "trajectory"])
def test_features_round_trip_exactly(kind: str) -> None:
    joints = np.concatenate([walking_person(seed=1), walking_person(seed=2) + 0.7])
    features = motion_features(joints, kind)
    assert features.shape == (2, 90, 156 if kind == "positions" else 158)
    np.testing.assert_allclose(joints_from_features(features, kind), joints, atol=1e-5)
    normalizer = MotionNormalizer.fit([(joints, np.ones(52, dtype=bool))], kind)
    restored = normalizer.denormalize(normalizer.normalize(joints, np.ones(52, dtype=bool)))
    np.testing.assert_allclose(restored, joints, atol=1e-4)


def test_trajectory_pose_channels_do_not_depend_on_where_the_person_stands() -> None:
    joints = walking_person()
    moved = joints + np.array([3.0, 0.0, -2.0], dtype=np.float32)
    here, there = motion_features(joints, "trajectory"), motion_features(moved, "trajectory")
    pose = slice(0, POSITION_CHANNELS)
    np.testing.assert_allclose(here[..., pose], there[..., pose], atol=1e-5)
    np.testing.assert_allclose(here[0][1:, ROOT_VELOCITY], [[2 / 89, 0.0]] * 89, atol=1e-6)
    assert np.all(here[0][0, ROOT_VELOCITY] == 0.0)  # no velocity on the first frame
    offset = there[0][:, ROOT_POSITION] - here[0][:, ROOT_POSITION]
    np.testing.assert_allclose(offset, [[3.0, -2.0]] * 90, atol=1e-5)


def test_root_position_channels_remove_the_drift_of_a_biased_velocity() -> None:
    joints = walking_person(frames=150)
    features = motion_features(joints, "trajectory")
    features[..., ROOT_VELOCITY[0]] += 0.005  # 5 mm per frame too fast: 0.75 m off by the end
    decoded = joints_from_features(features, "trajectory")
    integrated_only = np.cumsum(features[0, :, ROOT_VELOCITY[0]])
    assert abs(integrated_only[-1] - joints[0, -1, 0, 0]) > 0.7
    root_error = np.abs(decoded[0, :, 0] - joints[0, :, 0]).max()
    assert root_error < 0.12
    # the pose around the root is untouched
    np.testing.assert_allclose(
        decoded[0, :, 1:] - decoded[0, :, :1], joints[0, :, 1:] - joints[0, :, :1], atol=1e-5
    )


def test_channel_mask_keeps_root_channels_and_drops_missing_hands() -> None:
    positions = channel_mask(body_only_mask(), "positions")
    trajectory = channel_mask(body_only_mask(), "trajectory")
    assert positions.shape == (156,) and trajectory.shape == (158,)
    assert not positions[HAND_JOINTS[0] * 3 :].any() and positions[: HAND_JOINTS[0] * 3].all()
    assert trajectory[ROOT_POSITION].all() and not trajectory[HAND_JOINTS[0] * 3 : 156].any()


def test_fitted_statistics_share_one_std_per_group_and_ignore_missing_joints() -> None:
    joints = walking_person()
    joints[..., HAND_JOINTS, :] = 1e6  # garbage where the source measured nothing
    normalizer = MotionNormalizer.fit([(joints, body_only_mask())], "trajectory")
    assert np.all(normalizer.std[HAND_JOINTS[0] * 3 : 156] == 1.0)
    assert np.all(normalizer.mean[HAND_JOINTS[0] * 3 : 156] == 0.0)
    assert normalizer.std[ROOT_VELOCITY[0]] == normalizer.std[ROOT_VELOCITY[1]]
    assert len(set(normalizer.std[3:66].tolist()) - {normalizer.std[1]}) == 0
    features = normalizer.normalize(joints, body_only_mask())
    assert np.all(features[..., HAND_JOINTS[0] * 3 : 156] == 0.0)
    restored = MotionNormalizer.from_json(normalizer.to_json())
    assert restored.kind == "trajectory"
    assert np.array_equal(restored.std, normalizer.std)
    assert np.array_equal(restored.mean, normalizer.mean)


def test_velocity_features_round_trip_a_take_that_starts_at_the_origin() -> None:
    """`velocity` has no ground position: the path is integrated from (0, 0), where the
    canonical frame starts every single-person take."""
    joints = walking_person(seed=3)
    features = motion_features(joints, "velocity")
    assert features.shape == (1, 90, 156)
    np.testing.assert_allclose(joints_from_features(features, "velocity"), joints, atol=1e-5)
    normalizer = MotionNormalizer.fit([(joints, np.ones(52, dtype=bool))], "velocity")
    assert normalizer.std.shape == (156,)
    restored = normalizer.denormalize(normalizer.normalize(joints, np.ones(52, dtype=bool)))
    np.testing.assert_allclose(restored, joints, atol=1e-4)
