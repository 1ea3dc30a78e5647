"""Known-answer tests for the reconstruction metrics (MPJPE, PA-MPJPE, root ADE/FDE, report)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from vermo_cli.metrics.reconstruction import (
    REPORT_KEYS,
    ReconstructionAccumulator,
    mpjpe,
    pa_mpjpe,
    reconstruction_report,
    root_ade,
    root_fde,
    similarity_align,
)
from vermo_cli.motion.skeleton import (
    BODY_JOINTS,
    HAND_JOINTS,
    NUM_JOINTS,
    REST_OFFSETS,
    body_only_mask,
    full_mask,
)


def random_motion(frames: int, seed: int, leading: tuple[int, ...] = ()) -> np.ndarray:
    """Random joint positions `[*leading, frames, 52, 3]` metres, about a body's size."""
    return np.random.default_rng(seed).normal(scale=0.5, size=(*leading, frames, NUM_JOINTS, 3))


def test_identical_poses_give_zero() -> None:
    motion = random_motion(12, seed=0, leading=(2,))
    report = reconstruction_report(motion, motion, full_mask())
    assert set(report) == set(REPORT_KEYS)
    for key, value in report.items():
        assert value == pytest.approx(0.0, abs=1e-9), key


def test_constant_offset_gives_its_length_and_zero_after_alignment() -> None:
    target = random_motion(8, seed=1)
    offset = np.array([0.03, -0.04, 0.12])  # length 0.13 m
    predicted = target + offset
    assert mpjpe(predicted, target) == pytest.approx(0.13)
    assert pa_mpjpe(predicted, target) == pytest.approx(0.0, abs=1e-9)
    assert root_ade(predicted, target) == pytest.approx(0.13)
    assert root_fde(predicted, target) == pytest.approx(0.13)


def test_similarity_transformed_copy_has_zero_pa_mpjpe() -> None:
    target = random_motion(6, seed=2, leading=(3,))
    rotations = Rotation.random(6, random_state=3).as_matrix()  # one rotation per frame
    scale = 1.7
    translation = np.array([0.4, -1.2, 2.5])
    predicted = scale * np.einsum("fij,afkj->afki", rotations, target) + translation
    assert mpjpe(predicted, target) > 0.1
    assert pa_mpjpe(predicted, target) < 1e-6


def test_mpjpe_by_hand_on_two_frames_and_two_joints() -> None:
    target = np.zeros((2, 2, 3))
    predicted = np.array(
        [
            [[3.0, 4.0, 0.0], [0.0, 0.0, 1.0]],  # distances 5 and 1
            [[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]],  # distances 0 and 2
        ]
    )
    assert mpjpe(predicted, target) == pytest.approx((5 + 1 + 0 + 2) / 4)
    assert mpjpe(predicted, target, joints=[1]) == pytest.approx((1 + 2) / 2)
    assert mpjpe(predicted, target, joint_mask=np.array([True, False])) == pytest.approx(2.5)


def test_root_ade_and_fde_by_hand_on_three_frames() -> None:
    target = np.zeros((3, NUM_JOINTS, 3))
    predicted = target.copy()
    predicted[:, 0] = [[0.0, 0.0, 0.0], [0.3, 0.4, 0.0], [0.0, 0.0, 1.0]]  # 0, 0.5, 1.0 m
    predicted[:, 5] = 100.0  # not the root: ignored
    assert root_ade(predicted, target) == pytest.approx(0.5)
    assert root_fde(predicted, target) == pytest.approx(1.0)


def test_invalid_joint_error_changes_nothing() -> None:
    target = random_motion(5, seed=4)
    predicted = target + random_motion(5, seed=5) * 0.02
    mask = full_mask()
    mask[[3, 30]] = False
    corrupted = predicted.copy()
    corrupted[..., [3, 30], :] += 1000.0
    assert reconstruction_report(corrupted, target, mask) == pytest.approx(
        reconstruction_report(predicted, target, mask)
    )


def test_all_invalid_hands_give_nan_and_are_skipped_when_accumulating() -> None:
    target = random_motion(10, seed=6)
    predicted = target + 0.01
    report = reconstruction_report(predicted, target, body_only_mask())
    assert math.isnan(report["mpjpe_hand"])
    assert math.isnan(report["pa_mpjpe_hand"])
    assert report["mpjpe_body"] == pytest.approx(report["mpjpe_all"])

    accumulator = ReconstructionAccumulator()
    accumulator.add(predicted, target, body_only_mask())
    assert math.isnan(accumulator.result()["mpjpe_hand"])

    hand_predicted = target.copy()
    hand_predicted[..., HAND_JOINTS, 0] += 0.02
    accumulator.add(hand_predicted, target, full_mask())
    result = accumulator.result()
    assert result["mpjpe_hand"] == pytest.approx(0.02)  # only the clip with valid hands
    assert result["mpjpe_body"] == pytest.approx(math.sqrt(3) * 0.01 / 2)


def test_mirrored_copy_is_not_aligned_by_a_reflection() -> None:
    target = random_motion(4, seed=7)
    mirrored = target * np.array([-1.0, 1.0, 1.0])
    assert pa_mpjpe(mirrored, target) > 0.05


def test_alignment_recovers_rest_pose_from_rotated_scaled_copy() -> None:
    rest = np.cumsum(REST_OFFSETS[BODY_JOINTS], axis=0)[None]  # a non-degenerate 3D pose
    rotation = Rotation.from_euler("xyz", [30, -70, 110], degrees=True).as_matrix()
    moved = 0.8 * rest @ rotation.T + np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(similarity_align(moved, rest), rest, atol=1e-9)


def test_single_valid_joint_has_zero_pa_mpjpe_and_empty_group_is_nan() -> None:
    target = random_motion(3, seed=8)
    predicted = random_motion(3, seed=9)
    assert pa_mpjpe(predicted, target, joints=[7]) == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(mpjpe(predicted, target, joints=[]))


def test_accumulator_over_clips_of_10_and_30_frames_is_frame_weighted() -> None:
    short_target, long_target = random_motion(10, seed=10), random_motion(30, seed=11)
    short_predicted = short_target + random_motion(10, seed=12) * 0.05
    long_predicted = long_target + random_motion(30, seed=13) * 0.01
    accumulator = ReconstructionAccumulator()
    accumulator.add(short_predicted, short_target, full_mask())
    accumulator.add(long_predicted, long_target, full_mask())
    result = accumulator.result()

    short = reconstruction_report(short_predicted, short_target, full_mask())
    long = reconstruction_report(long_predicted, long_target, full_mask())
    for key in REPORT_KEYS:
        if key == "fde":  # one final frame per clip
            expected = (short[key] + long[key]) / 2
        else:
            expected = (10 * short[key] + 30 * long[key]) / 40
        assert result[key] == pytest.approx(expected), key
    both_predicted = np.concatenate([short_predicted, long_predicted], axis=0)
    both_target = np.concatenate([short_target, long_target], axis=0)
    assert result["mpjpe_all"] == pytest.approx(mpjpe(both_predicted, both_target))
    assert result["ade"] == pytest.approx(root_ade(both_predicted, both_target))


def test_empty_accumulator_gives_nan() -> None:
    assert all(math.isnan(value) for value in ReconstructionAccumulator().result().values())


def test_mismatched_shapes_are_rejected() -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        mpjpe(np.zeros((2, NUM_JOINTS, 3)), np.zeros((3, NUM_JOINTS, 3)))
    with pytest.raises(ValueError, match="joint mask"):
        mpjpe(np.zeros((2, NUM_JOINTS, 3)), np.zeros((2, NUM_JOINTS, 3)), np.ones(22, bool))
