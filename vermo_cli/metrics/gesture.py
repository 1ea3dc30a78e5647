"""Gesture metrics for s2g: FGD, BeatAlign (speech onsets vs motion beats) and L1Div.

Motions are joint positions `[frames, joints, 3]` in metres at `fps` (30 in vermo), indexed like
the 52-joint skeleton where a function picks joints by name. The definitions follow BEAT / EMAGE
(Liu et al. 2022, 2024), which the paper's s2g table follows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vermo_cli.metrics.dance import MOTION_FPS, beat_proximity, checked_waveform, motion_beats
from vermo_cli.metrics.distribution import frechet_distance
from vermo_cli.motion.skeleton import UPPER_BODY_JOINTS

GESTURE_BEAT_SIGMA_SECONDS: float = 0.3
"""EMAGE's BeatAlign tolerance."""

"""The joints of the 52-joint skeleton whose speed gives a gesture's beats (no legs, no root)."""


def frechet_gesture_distance(generated_latents: np.ndarray, reference_latents: np.ndarray) -> float:
    """Fréchet Gesture Distance (FGD): `frechet_distance` of gesture-autoencoder latents.

    `generated_latents` `[n>=2, d]`, `reference_latents` `[m>=2, d]`: one latent per gesture clip
    (or window) from vermo's gesture autoencoder, generated and ground truth. FGD =
    ||mu_g - mu_r||^2 + Tr(S_g + S_r - 2 sqrtm(S_g S_r)), squared latent units.
    """
    return frechet_distance(generated_latents, reference_latents)


def speech_beats(waveform: np.ndarray, sample_rate: int, hop_length: int = 512) -> np.ndarray:
    """Speech beats of a mono waveform, seconds `[onsets]`: its onsets by librosa.

    `waveform`: `[samples]` floats at `sample_rate` Hz. `librosa.onset.onset_detect` (peaks of
    the spectral-flux onset strength, `hop_length` samples per frame, librosa's defaults
    otherwise) gives the onset times in seconds; in speech these are mostly syllable and word
    starts, the audio beats of BEAT's BeatAlign.
    """
    import librosa

    signal = checked_waveform(waveform, sample_rate, hop_length)
    onsets = librosa.onset.onset_detect(
        y=signal, sr=sample_rate, hop_length=hop_length, units="time"
    )
    return np.asarray(onsets, dtype=np.float64)


def gesture_motion_beats(joints: np.ndarray, fps: float = MOTION_FPS) -> np.ndarray:
    """Gesture beats, seconds: `motion_beats` of the `UPPER_BODY_JOINTS` of `joints`.

    `joints`: `[frames, joints, 3]` metres at `fps`, indexed like the 52-joint skeleton (the 22
    body joints alone are enough).
    """
    positions = np.asarray(joints, dtype=np.float64)
    if positions.ndim != 3 or positions.shape[1] <= max(UPPER_BODY_JOINTS):
        raise ValueError(
            "expected joint positions [frames, 22 or 52 joints of the vermo skeleton, 3], got "
            f"{positions.shape}"
        )
    return motion_beats(positions[:, list(UPPER_BODY_JOINTS)], fps)


def gesture_beat_alignment(
    speech_beat_times: np.ndarray,
    motion_beat_times: np.ndarray,
    sigma_seconds: float = GESTURE_BEAT_SIGMA_SECONDS,
) -> float:
    """BeatAlign of one gesture clip to its speech, 0-1 (BEAT / EMAGE definition).

    `speech_beat_times` `[B_s]` (`speech_beats`), `motion_beat_times` `[B_g]`
    (`gesture_motion_beats`): seconds. BeatAlign = (1 / B_g) sum over motion beats t_g of
    exp(-min over speech beats t_s of (t_g - t_s)^2 / (2 sigma^2)), sigma = `sigma_seconds`
    (0.3 s as in EMAGE), i.e. `beat_proximity(motion, speech)`. Unlike the dance BAS, the mean
    runs over the MOTION beats: a gesture beat far from every speech onset lowers the score,
    speech onsets without a gesture do not. NaN without motion beats, 0 without speech beats.
    The s2g key `beat_align` is the mean of this over the clips.
    """
    return beat_proximity(motion_beat_times, speech_beat_times, sigma_seconds)


def l1_divergence(motions: Sequence[np.ndarray]) -> float:
    """L1Div of a set of generated gesture clips, metres (EMAGE's definition).

    `motions`: clips `[frames_c, joints, 3]` metres, of any lengths, one joint set. For each clip
    c, its mean pose m_c = mean over its frames of the positions; the clip contributes
    sum over its frames f, joints j and axes a of |x_c[f, j, a] - m_c[j, a]|, and
    L1Div = (sum of the contributions) / (total number of frames of all clips): the mean over
    frames of the summed (not averaged) absolute deviation of all 3 * joints coordinates from
    their clip's mean pose. Higher means more varied motion. As in EMAGE's code, each clip
    deviates from its own mean pose (the paper's "deviation of all results from their mean");
    a set of static clips scores 0 even if the clips differ from each other.
    """
    if isinstance(motions, np.ndarray) and motions.ndim == 3:
        raise ValueError("l1_divergence takes a list of clips [frames, joints, 3], not one clip")
    if len(motions) == 0:
        raise ValueError("no clips to measure")
    total_deviation = 0.0
    total_frames = 0
    joint_count: int | None = None
    for index, clip in enumerate(motions):
        positions = np.asarray(clip, dtype=np.float64)
        if positions.ndim != 3 or positions.shape[2] != 3 or positions.shape[0] == 0:
            raise ValueError(f"clip {index}: expected [frames>0, joints, 3], got {positions.shape}")
        if joint_count is not None and positions.shape[1] != joint_count:
            raise ValueError(f"clip {index} has {positions.shape[1]} joints, not {joint_count}")
        joint_count = positions.shape[1]
        total_deviation += float(np.abs(positions - positions.mean(axis=0)).sum())
        total_frames += positions.shape[0]
    return total_deviation / total_frames
