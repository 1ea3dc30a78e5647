"""Known-answer tests for the dance metrics: kinetic/geometric features, FID_k/Div_k and BAS."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from vermo_cli.metrics.dance import (
    GEOMETRIC_FEATURE_JOINTS,
    beat_alignment_score,
    beat_phases,
    beat_proximity,
    geometric_features,
    joint_speed,
    kinetic_features,
    motion_beats,
    music_beats,
    standardize_by_reference,
    standardized_diversity,
    standardized_frechet_distance,
)
from vermo_cli.motion.skeleton import NUM_BODY_JOINTS, NUM_JOINTS

FPS = 30.0
BEAT_SECONDS = 0.6  # 100 BPM: 18 frames a beat, so half a beat is a whole 9 frames
DURATION_SECONDS = 10.0


def base_pose(joints: int = NUM_BODY_JOINTS, seed: int = 0) -> np.ndarray:
    standing = np.array([0.0, 1.0, 0.0])
    return np.random.default_rng(seed).normal(scale=0.3, size=(joints, 3)) + standing


def beat_dance(shift_seconds: float = 0.0) -> np.ndarray:
    """Every joint swings along its own direction as cos(pi (t - shift) / beat): the mean joint
    speed is proportional to |sin(pi (t - shift) / beat)|, zero exactly on t = shift + k beat."""
    frames = int(DURATION_SECONDS * FPS)
    time = np.arange(frames) / FPS
    directions = np.random.default_rng(1).normal(size=(NUM_BODY_JOINTS, 3))
    swing = 0.2 * np.cos(np.pi * (time - shift_seconds) / BEAT_SECONDS)
    return base_pose() + swing[:, None, None] * directions[None]


def click_track(sample_rate: int = 22050) -> tuple[np.ndarray, np.ndarray]:
    """A 10 s waveform with a 30 ms 1 kHz click on every beat from 0.6 s, and those times."""
    clicks = np.arange(1, int(DURATION_SECONDS / BEAT_SECONDS)) * BEAT_SECONDS
    waveform = np.zeros(int(DURATION_SECONDS * sample_rate))
    burst_time = np.arange(int(0.03 * sample_rate)) / sample_rate
    burst = np.sin(2 * np.pi * 1000.0 * burst_time) * np.exp(-burst_time / 0.008)
    for click in clicks:
        start = int(np.rint(click * sample_rate))
        waveform[start : start + burst.size] += burst
    return waveform, clicks


def test_kinetic_features_of_a_static_pose_are_zero_with_three_per_joint() -> None:
    static = np.repeat(base_pose()[None], 40, axis=0)
    features = kinetic_features(static)
    assert features.shape == (3 * NUM_BODY_JOINTS,)
    np.testing.assert_allclose(features, 0.0, atol=1e-12)


def test_kinetic_features_of_constant_velocity() -> None:
    # v = (0.6, 0.8, 0) m/s: horizontal 0.5 * 0.36 = 0.18, vertical 0.5 * 0.64 = 0.32, no
    # acceleration; joint-major order.
    time = np.arange(20) / FPS
    motion = base_pose(2)[None] + (time[:, None] * [0.6, 0.8, 0.0])[:, None, :]
    np.testing.assert_allclose(kinetic_features(motion), [0.18, 0.32, 0.0] * 2, atol=1e-9)


def test_kinetic_features_of_free_fall() -> None:
    # y = -g t^2 / 2: |a| = g at every frame, v_y = -g t so vertical energy = mean(g^2 t^2 / 2).
    gravity = 9.81
    time = np.arange(30) / FPS
    motion = np.zeros((30, 1, 3))
    motion[:, 0, 1] = -0.5 * gravity * time**2
    horizontal, vertical, expenditure = kinetic_features(motion)
    assert horizontal == pytest.approx(0.0, abs=1e-12)
    assert vertical == pytest.approx(np.mean(0.5 * (gravity * time) ** 2))
    assert expenditure == pytest.approx(gravity)


def test_kinetic_features_need_three_frames() -> None:
    with pytest.raises(ValueError, match="at least 3 frames"):
        kinetic_features(np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match=r"\[frames, joints, 3\]"):
        kinetic_features(np.zeros((10, 4)))


def test_geometric_features_of_two_joints() -> None:
    # The distance alternates between 1 m and 3 m: mean 2, population std 1.
    motion = np.zeros((6, 2, 3))
    motion[:, 1, 0] = [1.0, 3.0] * 3
    np.testing.assert_allclose(geometric_features(motion, feature_joints=(0, 1)), [2.0, 1.0])


def test_geometric_features_ignore_where_the_dancer_is_and_faces() -> None:
    motion = np.random.default_rng(2).normal(size=(25, NUM_JOINTS, 3))
    features = geometric_features(motion)
    pairs = len(GEOMETRIC_FEATURE_JOINTS) * (len(GEOMETRIC_FEATURE_JOINTS) - 1) // 2
    assert features.shape == (2 * pairs,) == (90,)
    rotation = Rotation.from_euler("y", 70, degrees=True).as_matrix()
    moved = motion @ rotation.T + [3.0, 0.0, -2.0]
    np.testing.assert_allclose(geometric_features(moved), features, atol=1e-12)
    with pytest.raises(ValueError, match="not all among"):
        geometric_features(np.zeros((5, NUM_BODY_JOINTS - 10, 3)))


def test_standardization_uses_the_reference_statistics() -> None:
    reference = np.array([[0.0, 5.0], [2.0, 5.0], [4.0, 5.0]])
    generated = np.array([[2.0, 6.0]])
    standardized_generated, standardized_reference = standardize_by_reference(generated, reference)
    deviation = np.std([0.0, 2.0, 4.0])
    np.testing.assert_allclose(standardized_reference[:, 0], np.array([-2, 0, 2]) / deviation)
    np.testing.assert_allclose(standardized_reference[:, 1], 0.0)  # constant: only shifted
    np.testing.assert_allclose(standardized_generated, [[0.0, 1.0]])


def test_standardized_fid_and_diversity() -> None:
    reference = np.random.default_rng(3).normal(scale=2.0, size=(400, 5))
    assert standardized_frechet_distance(reference, reference) == pytest.approx(0.0, abs=1e-6)
    # A shift of 2 in every dimension is 2 / std_d in standardised units; covariances agree.
    expected = float(np.sum((2.0 / reference.std(axis=0)) ** 2))
    assert standardized_frechet_distance(reference + 2.0, reference) == pytest.approx(expected)
    two_dances = np.array([[0.0] * 5, [3.0, 4.0, 0.0, 0.0, 0.0]])
    scale = reference.std(axis=0)
    expected_distance = np.hypot(3.0 / scale[0], 4.0 / scale[1])
    assert standardized_diversity(two_dances, reference) == pytest.approx(expected_distance)


def test_joint_speed_of_uniform_motion() -> None:
    time = np.arange(10) / FPS
    motion = (time[:, None] * [3.0, 0.0, 4.0])[:, None, :] + np.zeros((1, 3, 3))
    np.testing.assert_allclose(joint_speed(motion), 5.0)


def test_motion_beats_sit_on_the_speed_minima() -> None:
    beats = motion_beats(beat_dance())
    expected = np.arange(1, int(DURATION_SECONDS / BEAT_SECONDS) + 1) * BEAT_SECONDS
    expected = expected[expected < DURATION_SECONDS - 1 / FPS]
    np.testing.assert_allclose(beats, expected, atol=1e-9)
    assert motion_beats(np.repeat(base_pose()[None], 60, axis=0)).size == 0


def test_beat_alignment_score_by_hand() -> None:
    # Music beats 1 s and 2 s; motion beats 1.0 s and 2.1 s: (1 + exp(-0.1^2 / (2 0.1^2))) / 2.
    value = beat_alignment_score(np.array([1.0, 2.0]), np.array([1.0, 2.1, 7.0]))
    assert value == pytest.approx((1 + math.exp(-0.5)) / 2)
    # Averaged over music beats: extra motion beats do not lower it, missing ones do.
    assert beat_alignment_score(np.array([1.0]), np.array([0.3, 1.0, 1.6])) == pytest.approx(1.0)
    assert beat_proximity(np.array([0.3, 1.0, 1.6]), np.array([1.0]), 0.1) < 0.5
    assert beat_alignment_score(np.array([1.0, 2.0]), np.array([])) == 0.0
    assert math.isnan(beat_alignment_score(np.array([]), np.array([1.0])))
    assert beat_alignment_score(
        np.array([1.0, 2.0, 9.0]), np.array([1.0, 2.0]), duration_seconds=5.0
    ) == pytest.approx(1.0)


def test_beat_phases_by_hand() -> None:
    # Beats at 1, 2 and 4 s: 1.5 s is half way through the first interval, 3 s half way
    # through the second, 2 s starts it; 0.5 s and 4.2 s lie outside every interval.
    phases = beat_phases(np.array([1.0, 2.0, 4.0]), np.array([0.5, 1.5, 2.0, 3.0, 3.5, 4.2]))
    np.testing.assert_allclose(phases, [0.5, 0.0, 0.5, 0.75])
    assert beat_phases(np.array([1.0]), np.array([1.5])).size == 0
    with pytest.raises(ValueError, match="increasing"):
        beat_phases(np.array([2.0, 1.0]), np.array([1.5]))


def test_beat_phases_of_a_dance_on_the_beat_and_half_a_beat_off() -> None:
    music = np.arange(1, int(DURATION_SECONDS / BEAT_SECONDS)) * BEAT_SECONDS
    aligned = beat_phases(music, motion_beats(beat_dance()))
    shifted = beat_phases(music, motion_beats(beat_dance(BEAT_SECONDS / 2)))
    distance_to_beat = np.minimum(aligned, 1 - aligned)
    assert aligned.size > 5 and distance_to_beat.max() < 0.1
    assert np.abs(shifted - 0.5).max() < 0.1


def test_a_dance_on_the_beat_scores_far_above_one_half_a_beat_off() -> None:
    music = np.arange(1, int(DURATION_SECONDS / BEAT_SECONDS)) * BEAT_SECONDS
    aligned = beat_alignment_score(music, motion_beats(beat_dance()))
    shifted = beat_alignment_score(music, motion_beats(beat_dance(BEAT_SECONDS / 2)))
    assert aligned > 0.99
    assert shifted < 0.05  # every music beat is 0.3 s = 3 sigma from the nearest motion beat


@pytest.mark.slow  # librosa's numba-compiled beat tracker compiles for a minute when uncached
def test_music_beats_of_a_click_track() -> None:
    waveform, clicks = click_track()
    beats = music_beats(waveform, 22050)
    nearest = np.min(np.abs(beats[:, None] - clicks[None, :]), axis=1)
    assert np.all(nearest < 0.05)
    assert beats.size >= 0.8 * clicks.size
    with pytest.raises(ValueError, match="mono"):
        music_beats(np.zeros((2, 100)), 22050)


@pytest.mark.slow
def test_click_track_and_dance_end_to_end() -> None:
    waveform, _clicks = click_track()
    music = music_beats(waveform, 22050)
    aligned = beat_alignment_score(music, motion_beats(beat_dance()), duration_seconds=10.0)
    shifted = beat_alignment_score(music, motion_beats(beat_dance(BEAT_SECONDS / 2)))
    assert aligned > 0.9
    assert shifted < 0.5


def test_features_constant_up_to_rounding_are_only_shifted() -> None:
    from vermo_cli.metrics.dance import standardize_by_reference

    rng = np.random.default_rng(0)
    reference = np.stack([rng.normal(size=20), 0.5 + 1e-9 * rng.normal(size=20)], axis=1)
    generated = np.stack([rng.normal(size=10), 0.5 + 0.1 * rng.normal(size=10)], axis=1)
    standardized, _ = standardize_by_reference(generated, reference)
    # the rigid-bone-like column keeps metres (about 0.1), not 0.1 / 1e-9
    assert np.abs(standardized[:, 1]).max() < 1.0
    assert np.abs(standardized[:, 0]).max() > 0.1


def test_a_dance_on_the_beat_scores_above_itself_half_a_beat_late() -> None:
    from types import SimpleNamespace

    from vermo_cli.evaluate.clips import AUDIO_RATE
    from vermo_cli.evaluate.systems import SystemOutputs, half_beat_delays, half_beat_late

    waveform, _ = click_track(AUDIO_RATE)
    dance = np.zeros((1, int(DURATION_SECONDS * FPS), NUM_JOINTS, 3))
    dance[0, :, :NUM_BODY_JOINTS] = beat_dance()
    outputs = SystemOutputs("model", [dance], [None], [None])
    clip = SimpleNamespace(audio=waveform)
    delays = half_beat_delays([clip])  # type: ignore[list-item]
    late = half_beat_late(outputs, delays)
    assert late.name == "model, half a beat late"
    shifted = late.motions[0]
    delay = 9  # half of 18 frames a beat
    assert shifted.shape == dance.shape
    np.testing.assert_array_equal(shifted[0, delay:], dance[0, :-delay])
    np.testing.assert_array_equal(shifted[0, :delay], np.repeat(dance[0, :1], delay, axis=0))
    beats = music_beats(waveform, AUDIO_RATE)

    def score(motion: np.ndarray) -> float:
        kinematic = motion_beats(motion[0, :, :NUM_BODY_JOINTS], FPS)
        return beat_alignment_score(beats, kinematic, duration_seconds=DURATION_SECONDS)

    assert score(dance) > 0.8 > 0.3 > score(shifted)
