"""Tests of QC checks, normalisation statistics and deterministic splits on constructed cases."""

from __future__ import annotations

import numpy as np
import pytest

from vermo_cli.data.qc import (
    broken_bones,
    finite_frame_runs,
    quality_problem,
    sinks_below_floor,
    velocity_spike,
)
from vermo_cli.data.splits import split_for_take
from vermo_cli.data.stats import NormalisationStats
from vermo_cli.motion.canonical import canonicalize_motion
from vermo_cli.motion.kinematics import forward_kinematics
from vermo_cli.motion.skeleton import (
    BODY_JOINTS,
    HAND_JOINTS,
    JOINT_INDEX,
    NUM_JOINTS,
    PARENTS,
    REST_OFFSETS,
    body_only_mask,
    full_mask,
)


def standing(frames: int = 60) -> np.ndarray:
    """`[1, frames, 52, 3]` canonical rest pose."""
    rotations = np.broadcast_to(np.eye(3), (frames, NUM_JOINTS, 3, 3))
    joints = forward_kinematics(
        REST_OFFSETS, PARENTS, rotations, np.tile(REST_OFFSETS[0], (frames, 1))
    )
    return canonicalize_motion(joints[None])


def test_clean_motion_passes() -> None:
    assert quality_problem(standing(), full_mask(), 30.0) is None


def test_finite_runs_split_at_nan_frames() -> None:
    joints = np.zeros((2, 10, 52, 3))
    joints[1, 3, 5, 0] = np.nan
    joints[0, 7:9] = np.inf
    assert finite_frame_runs(joints) == [(0, 3), (4, 7), (9, 10)]


def test_velocity_spike_names_joint_and_speed() -> None:
    joints = standing()
    joints[0, 30, JOINT_INDEX["head"], 0] += 1.0  # 1 m in one frame = 30 m/s
    reason = velocity_spike(joints, full_mask(), 30.0)
    assert reason is not None and "head" in reason and "30.0 m/s" in reason


def test_invalid_joints_are_not_checked() -> None:
    joints = standing()
    joints[0, 30, JOINT_INDEX["left_index3"]] += 5.0
    assert velocity_spike(joints, body_only_mask(), 30.0) is None
    assert velocity_spike(joints, full_mask(), 30.0) is not None


def test_broken_bone_and_wrong_units() -> None:
    joints = standing()
    joints[0, 20:, JOINT_INDEX["left_ankle"], 1] -= 0.2  # shin stretches by 20 cm
    assert "left_knee-left_ankle" in broken_bones(joints, full_mask())
    assert "wrong units" in broken_bones(standing() * 100.0, full_mask())


def test_sinking_body_is_dropped_but_jumps_are_not() -> None:
    joints = standing(90)
    jump = joints.copy()
    jump[0, 30:45, :, 1] += 0.4
    assert sinks_below_floor(canonicalize_motion(jump), full_mask()) is None
    sunk = joints.copy()
    sunk[0, 50:52, :, 1] -= 0.5
    reason = sinks_below_floor(canonicalize_motion(sunk), full_mask())
    assert reason is not None and "on 2 frames" in reason


def test_stats_mean_and_average_group_std() -> None:
    rng = np.random.default_rng(0)
    clip = rng.normal(size=(1, 500, 52, 3))
    clip[..., HAND_JOINTS, :] *= 3.0
    clip += np.arange(156).reshape(52, 3)
    stats = NormalisationStats()
    stats.add(clip[:, :200], full_mask())
    other = NormalisationStats()
    other.add(clip[:, 200:], full_mask())
    stats.merge(other)
    assert np.allclose(stats.mean(), clip.reshape(-1, 52, 3).mean(axis=0))
    channel_std = clip.reshape(-1, 52, 3).std(axis=0)
    assert stats.group_std(BODY_JOINTS) == pytest.approx(channel_std[BODY_JOINTS].mean(), rel=1e-9)
    assert stats.group_std(HAND_JOINTS) == pytest.approx(channel_std[HAND_JOINTS].mean(), rel=1e-9)
    assert stats.group_std(HAND_JOINTS) == pytest.approx(3.0, rel=0.05)
    body_only = NormalisationStats()
    body_only.add(clip, body_only_mask())
    assert body_only.group_std(HAND_JOINTS) is None and body_only.to_json()["std_hand"] is None


def test_splits_are_deterministic_and_proportioned() -> None:
    ids = [f"take/{i}" for i in range(20000)]
    splits = [split_for_take(i) for i in ids]
    assert splits == [split_for_take(i) for i in ids]
    fractions = {s: splits.count(s) / len(ids) for s in ("train", "val", "test")}
    assert fractions["train"] == pytest.approx(0.90, abs=0.01)
    assert fractions["val"] == pytest.approx(0.05, abs=0.01)
    assert split_for_take("lafan1/walk1_subject1") == "train"  # pinned: must never change
