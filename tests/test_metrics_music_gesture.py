"""Known-answer tests for the d2m beat scores and the s2g gesture metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vermo_cli.metrics.distribution import frechet_distance
from vermo_cli.metrics.gesture import (
    UPPER_BODY_JOINTS,
    frechet_gesture_distance,
    gesture_beat_alignment,
    gesture_motion_beats,
    l1_divergence,
    speech_beats,
)
from vermo_cli.metrics.music import (
    MUSIC_METRIC_KEYS,
    beat_bin_counts,
    beat_bins,
    beat_f1,
    beats_coverage,
    beats_hit,
    music_beat_scores,
)
from vermo_cli.motion.skeleton import NUM_JOINTS

# Reference bins {0, 1, 3, 5}; generated bins {0, 1, 2, 5}: B_m = 4, B_k = 4, B_a = 3.
REFERENCE = np.array([0.2, 0.7, 1.5, 3.1, 3.9, 5.5])
GENERATED = np.array([0.1, 1.2, 1.8, 2.5, 5.0, 5.9])


def test_beats_in_one_second_merge_into_one_bin() -> None:
    np.testing.assert_array_equal(beat_bins(REFERENCE), [0, 1, 3, 5])
    np.testing.assert_array_equal(beat_bins(REFERENCE, duration_seconds=3.5), [0, 1, 3])
    assert beat_bin_counts(GENERATED, REFERENCE) == (4, 4, 3)
    with pytest.raises(ValueError, match="non-negative"):
        beat_bins(np.array([-0.5]))


def test_coverage_hit_and_f1_by_hand() -> None:
    assert beats_coverage(GENERATED, REFERENCE) == pytest.approx(100.0)  # 4 / 4
    assert beats_hit(GENERATED, REFERENCE) == pytest.approx(75.0)  # 3 / 4
    assert beat_f1(100.0, 75.0) == pytest.approx(2 * 100 * 75 / 175)
    # Generated beats in fewer seconds than the reference: coverage 1/2, every one a hit.
    assert beats_coverage(np.array([0.5]), np.array([0.5, 1.5])) == pytest.approx(50.0)
    assert beats_hit(np.array([0.5]), np.array([0.5, 1.5])) == pytest.approx(100.0)
    # More generated seconds than reference ones: coverage above 100.
    assert beats_coverage(np.array([0.5, 1.5, 2.5]), np.array([0.5])) == pytest.approx(300.0)


def test_empty_beat_lists() -> None:
    assert beats_coverage(np.array([]), REFERENCE) == 0.0
    assert beats_hit(np.array([]), REFERENCE) == 0.0
    assert math.isnan(beats_coverage(GENERATED, np.array([])))
    assert beat_f1(0.0, 0.0) == 0.0


def test_corpus_scores_average_coverage_and_hit_then_take_f1() -> None:
    scores = music_beat_scores(
        [GENERATED, np.array([0.5]), np.array([1.0])],
        [REFERENCE, np.array([0.5, 1.5]), np.array([])],  # the third clip cannot be scored
    )
    assert tuple(scores) == MUSIC_METRIC_KEYS
    assert scores["beats_coverage"] == pytest.approx(75.0)  # (100 + 50) / 2
    assert scores["beats_hit"] == pytest.approx(87.5)  # (75 + 100) / 2
    assert scores["beat_f1"] == pytest.approx(2 * 75 * 87.5 / 162.5)


def test_durations_cut_both_beat_lists() -> None:
    # Within 3 s: reference bins {0, 1}, generated bins {0, 1, 2}.
    scores = music_beat_scores([GENERATED], [REFERENCE], durations_seconds=[3.0])
    assert scores["beats_coverage"] == pytest.approx(150.0)
    assert scores["beats_hit"] == pytest.approx(100 * 2 / 3)
    with pytest.raises(ValueError, match="durations"):
        music_beat_scores([GENERATED], [REFERENCE], durations_seconds=[3.0, 4.0])


def test_frechet_gesture_distance_is_the_frechet_distance_of_latents() -> None:
    latents = np.random.default_rng(0).normal(size=(300, 16))
    shifted = latents + np.array([0.5] * 16)
    assert frechet_gesture_distance(latents, latents) == pytest.approx(0.0, abs=1e-6)
    assert frechet_gesture_distance(shifted, latents) == pytest.approx(16 * 0.25)
    assert frechet_gesture_distance(shifted, latents) == frechet_distance(shifted, latents)


def test_gesture_beat_alignment_averages_over_motion_beats() -> None:
    speech = np.array([1.0, 2.0, 3.0])
    # Motion beats at 1.0 (on an onset) and 2.3 (0.3 s = 1 sigma off): (1 + exp(-1/2)) / 2.
    assert gesture_beat_alignment(speech, np.array([1.0, 2.3])) == pytest.approx(
        (1 + math.exp(-0.5)) / 2
    )
    # Speech onsets without a gesture beat cost nothing; a gesture beat off the speech does.
    assert gesture_beat_alignment(np.array([1.0, 5.0, 9.0]), np.array([1.0])) == pytest.approx(1.0)
    assert gesture_beat_alignment(np.array([1.0]), np.array([1.0, 5.0])) == pytest.approx(0.5)


def test_gesture_motion_beats_use_the_upper_body() -> None:
    frames = 150
    time = np.arange(frames) / 30.0
    motion = np.zeros((frames, NUM_JOINTS, 3))
    # Arms swing with speed minima every 0.5 s; the legs kick at other times and are ignored.
    swing = 0.2 * np.cos(np.pi * time / 0.5)
    motion[:, list(UPPER_BODY_JOINTS), 0] = swing[:, None]
    legs = [index for index in range(22) if index not in UPPER_BODY_JOINTS]
    motion[:, legs, 2] = np.cos(np.pi * (time - 0.2) / 0.37)[:, None]
    expected = np.arange(1, 10) * 0.5
    np.testing.assert_allclose(gesture_motion_beats(motion), expected, atol=1e-9)
    np.testing.assert_allclose(gesture_motion_beats(motion[:, :22]), expected, atol=1e-9)
    with pytest.raises(ValueError, match="22 or 52 joints"):
        gesture_motion_beats(np.zeros((10, 15, 3)))


@pytest.mark.slow  # librosa's numba-compiled peak picking compiles for a while when uncached
def test_speech_beats_find_syllable_onsets() -> None:
    sample_rate = 16000
    onsets = np.array([0.5, 1.1, 1.9, 2.6])
    waveform = np.zeros(3 * sample_rate)
    syllable = np.random.default_rng(1).normal(size=int(0.15 * sample_rate))
    syllable *= np.hanning(syllable.size) ** 0.2
    for onset in onsets:
        start = int(onset * sample_rate)
        waveform[start : start + syllable.size] += syllable
    detected = speech_beats(waveform, sample_rate)
    nearest = np.min(np.abs(onsets[:, None] - detected[None, :]), axis=1)
    assert np.all(nearest < 0.05)


def test_l1_divergence_by_hand() -> None:
    # Clip A, 1 joint, x = 0 then 2: mean 1, deviations 1 + 1. Clip B, y = 0, 0, 3: mean 1,
    # deviations 1 + 1 + 2. (2 + 4) / 5 frames = 1.2. (One mean over both clips would give 1.36.)
    clip_a = np.array([[[0.0, 0.0, 0.0]], [[2.0, 0.0, 0.0]]])
    clip_b = np.array([[[0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]], [[0.0, 3.0, 0.0]]])
    assert l1_divergence([clip_a, clip_b]) == pytest.approx(1.2)
    # Coordinates are summed, not averaged: two joints that deviate alike give twice as much.
    assert l1_divergence([np.repeat(clip_a, 2, axis=1)]) == pytest.approx(2.0)


def test_l1_divergence_of_static_clips_is_zero() -> None:
    clips = [np.full((10, 4, 3), float(offset)) for offset in range(3)]
    assert l1_divergence(clips) == 0.0
    with pytest.raises(ValueError, match="list of clips"):
        l1_divergence(np.zeros((10, 4, 3)))
    with pytest.raises(ValueError, match="joints"):
        l1_divergence([np.zeros((4, 3, 3)), np.zeros((4, 5, 3))])
