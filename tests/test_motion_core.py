"""Tests of the joint set, kinematics, resampling, canonical frame, windows and retargeting."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from vermo_cli.errors import SourceError
from vermo_cli.motion.canonical import canonicalize_motion, facing_direction
from vermo_cli.motion.kinematics import (
    axis_angle_to_matrix,
    forward_kinematics,
    rotation_about_y,
    rotation_between,
)
from vermo_cli.motion.resample import resample_motion, resampled_frame_count
from vermo_cli.motion.retarget import retarget_positions, validate_joint_map
from vermo_cli.motion.skeleton import (
    HUMAN_BONE_RANGES,
    JOINT_INDEX,
    JOINT_NAMES,
    LEFT_JOINTS,
    MIRROR,
    NUM_JOINTS,
    PARENTS,
    REST_OFFSETS,
    bone_lengths,
)
from vermo_cli.motion.windowing import window_bounds


def rest_pose(frames: int = 1) -> np.ndarray:
    """`[frames, 52, 3]` T-pose of the reference skeleton."""
    rotations = np.broadcast_to(np.eye(3), (frames, NUM_JOINTS, 3, 3))
    return forward_kinematics(
        REST_OFFSETS, PARENTS, rotations, np.tile(REST_OFFSETS[0], (frames, 1))
    )


def test_joint_set_is_smplh() -> None:
    assert NUM_JOINTS == 52 and len(PARENTS) == 52 and len(set(JOINT_NAMES)) == 52
    assert all(parent < joint for joint, parent in enumerate(PARENTS))
    assert JOINT_NAMES[:3] == ("pelvis", "left_hip", "right_hip")
    assert JOINT_NAMES[20:24] == ("left_wrist", "right_wrist", "left_index1", "left_index2")
    assert PARENTS[JOINT_INDEX["left_index1"]] == JOINT_INDEX["left_wrist"]
    assert PARENTS[JOINT_INDEX["right_thumb3"]] == JOINT_INDEX["right_thumb2"]
    assert all(
        JOINT_NAMES[MIRROR[j]] == JOINT_NAMES[j].replace("left_", "right_") for j in LEFT_JOINTS
    )


def test_rest_pose_is_human_and_left_is_plus_x() -> None:
    joints = rest_pose()[0]
    lengths = dict(zip(JOINT_NAMES, bone_lengths(joints), strict=True))
    for (_, child), (low, high) in HUMAN_BONE_RANGES.items():
        assert low <= lengths[child] <= high
    assert joints[JOINT_INDEX["left_wrist"], 0] > 0.5 > -0.5 > joints[JOINT_INDEX["right_wrist"], 0]
    assert joints[:, 1].min() == pytest.approx(0.0, abs=0.01)
    assert 1.4 < joints[JOINT_INDEX["head"], 1] < 1.8
    assert np.allclose(facing_direction(joints), [0, 0, 1], atol=1e-6)


def test_forward_kinematics_rotates_children_about_parent() -> None:
    offsets = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    rotations = np.broadcast_to(np.eye(3), (1, 3, 3, 3)).copy()
    rotations[0, 1] = axis_angle_to_matrix(np.array([0.0, 0.0, np.pi / 2]))
    positions = forward_kinematics(offsets, [-1, 0, 1], rotations, np.zeros((1, 3)))
    assert np.allclose(positions[0], [[0, 0, 0], [1, 0, 0], [1, 1, 0]], atol=1e-9)


def test_rotation_between_maps_directions_including_opposites() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(100, 3)), rng.normal(size=(100, 3))
    a[0], b[0] = [1.0, 0.0, 0.0], [-2.0, 0.0, 0.0]
    rotated = np.einsum("nij,nj->ni", rotation_between(a, b), a)
    unit = lambda v: v / np.linalg.norm(v, axis=-1, keepdims=True)  # noqa: E731
    assert np.allclose(unit(rotated), unit(b), atol=1e-9)
    assert np.allclose(np.linalg.det(rotation_between(a, b)), 1.0)


def test_resample_keeps_duration_and_interpolates() -> None:
    frames = 481  # 4 s at 120 fps
    t = np.arange(frames) / 120.0
    joints = np.zeros((1, frames, 2, 3), np.float32)
    joints[0, :, 0, 0] = t  # x = time in seconds
    out = resample_motion(joints, 120.0, 30.0)
    assert out.shape == (1, resampled_frame_count(frames, 120.0, 30.0), 2, 3) == (1, 121, 2, 3)
    assert np.allclose(out[0, :, 0, 0], np.arange(121) / 30.0, atol=1e-6)
    up = resample_motion(joints[:, :13], 120.0, 200.0)
    assert np.allclose(up[0, :, 0, 0], np.arange(up.shape[1]) / 200.0, atol=1e-6)


def test_canonicalize_floor_origin_facing_and_relative_placement() -> None:
    person = rest_pose(10)
    yaw = rotation_about_y(np.float64(2.1))
    first = person @ yaw.T + np.array([3.0, 0.7, -2.0])
    second = person @ rotation_about_y(np.float64(-1.0)).T + np.array([4.0, 0.7, -1.0])
    motion = np.stack([first, second]).astype(np.float32)
    canonical = canonicalize_motion(motion)
    assert canonical[..., 1].min() == pytest.approx(0.0, abs=1e-6)
    assert np.allclose(canonical[0, 0, 0, [0, 2]], 0.0, atol=1e-5)
    assert np.allclose(facing_direction(canonical[0, 0]), [0, 0, 1], atol=1e-5)
    assert canonical[0, 0, JOINT_INDEX["left_shoulder"], 0] > 0
    before = np.linalg.norm(motion[0, 0, 0] - motion[1, 0, 0])
    after = np.linalg.norm(canonical[0, 0, 0] - canonical[1, 0, 0])
    assert after == pytest.approx(before, abs=1e-5)


@pytest.mark.parametrize("frames", [1, 359, 360, 361, 1000, 4918])
def test_windows_cover_take_without_overlap(frames: int) -> None:
    bounds = window_bounds(frames, 360)
    assert bounds[0][0] == 0 and bounds[-1][1] == frames
    assert all(end - start <= 360 for start, end in bounds)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    assert len(bounds) == -(-frames // 360)


def test_retarget_blends_and_fills_unmapped_joints() -> None:
    source = np.arange(2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3)
    joint_map = {"pelvis": "Hips", "spine1": {"Hips": 0.5, "Chest": 0.5}, "left_wrist": "LHand"}
    validate_joint_map(joint_map, ["Hips", "Chest", "LHand"], "test")
    positions, mask = retarget_positions(source, ["Hips", "Chest", "LHand"], joint_map)
    assert positions.shape == (2, 52, 3) and mask.sum() == 3
    assert np.allclose(positions[:, JOINT_INDEX["spine1"]], (source[:, 0] + source[:, 1]) / 2)
    # left_index1 is unmapped: it takes its nearest mapped ancestor, the left wrist.
    assert np.allclose(positions[:, JOINT_INDEX["left_index1"]], source[:, 2])
    # spine2 is unmapped: its nearest mapped ancestor is spine1.
    assert np.allclose(positions[:, JOINT_INDEX["spine2"]], positions[:, JOINT_INDEX["spine1"]])


def test_joint_map_errors_name_the_problem() -> None:
    with pytest.raises(SourceError, match="not an SMPL-H joint"):
        validate_joint_map({"pelvis": "Hips", "tail": "Hips"}, ["Hips"], "x.yaml")
    with pytest.raises(SourceError, match="Chest"):
        validate_joint_map({"pelvis": "Hips", "spine1": "Chest"}, ["Hips"], "x.yaml")
    with pytest.raises(SourceError, match="pelvis"):
        validate_joint_map({"spine1": "Hips"}, ["Hips"], "x.yaml")
