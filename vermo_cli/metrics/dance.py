"""Dance metrics for m2d: kinetic and geometric features (FID_k, FID_g, Div_k, Div_g) and BAS.

Motions are joint positions `[frames, joints, 3]` in metres at `fps` frames per second (30 in
vermo), y up (vermo's canonical frame), one dancer. Pass the joints that should count, usually
the 22 body joints (`vermo_cli.motion.skeleton.BODY_JOINTS`), since most dance data has no hands.

The distribution metrics follow the AIST++ / Bailando protocol: one feature vector per dance,
standardised by the ground-truth dances' per-dimension mean and standard deviation, then the
Fréchet distance between generated and ground-truth features (`fid_k`, `fid_g`) and the mean
pairwise distance among the generated ones (`div_k`, `div_g`). The kinetic features are vermo's
own implementation of the AIST++ definition, and the geometric features are vermo's own simple
set (see `geometric_features`), not the 33 boolean features of AIST++, so `fid_g` / `div_g` are
comparable across vermo runs but not with published FID_g numbers.

The Beat Alignment Score follows Bailando's definition (mean over music beats), see
`beat_alignment_score`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.ndimage
import scipy.signal

from vermo_cli.metrics.distribution import frechet_distance, mean_pairwise_distance
from vermo_cli.motion.skeleton import JOINT_INDEX

UP_AXIS: int = 1
"""vermo's canonical frame is y up; x and z span the floor."""
_HORIZONTAL_AXES: tuple[int, int] = (0, 2)

MOTION_FPS: float = 30.0
BEAT_ALIGNMENT_SIGMA_SECONDS: float = 0.1
"""Bailando's tolerance, sigma = 3 frames, at vermo's 30 fps."""
MOTION_BEAT_SMOOTHING_SECONDS: float = 5.0 / 30.0
"""Bailando's speed smoothing, a Gaussian of sigma = 5 frames, at vermo's 30 fps."""

GEOMETRIC_FEATURE_JOINTS: tuple[int, ...] = tuple(
    JOINT_INDEX[name]
    for name in (
        "pelvis",
        "head",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
    )
)
"""The 10 joints of the 52-joint skeleton whose pairwise distances make the geometric features."""


def _as_motion(joints: np.ndarray, minimum_frames: int) -> np.ndarray:
    """`joints` as float64 `[frames, joints>0, 3]`, with enough frames and finite values."""
    positions = np.asarray(joints, dtype=np.float64)
    if positions.ndim != 3 or positions.shape[2] != 3 or positions.shape[1] == 0:
        raise ValueError(f"expected joint positions [frames, joints, 3], got {positions.shape}")
    if positions.shape[0] < minimum_frames:
        raise ValueError(f"needs at least {minimum_frames} frames, got {positions.shape[0]}")
    if not np.all(np.isfinite(positions)):
        raise ValueError("joint positions contain NaN or infinite values")
    return positions


def _check_fps(fps: float) -> None:
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")


def kinetic_features(joints: np.ndarray, fps: float = MOTION_FPS) -> np.ndarray:
    """Kinetic features of one dance, `[3 * joints]`, after the AIST++ (FairMotion) definition.

    `joints`: `[frames>=3, joints, 3]` metres, y up, at `fps`. With velocity v = d position / dt
    (m/s) and acceleration a = d v / dt (m/s^2), both by `numpy.gradient` (second-order accurate
    central differences, also at the ends, so exact for positions quadratic in time), each joint
    gets three numbers, in this order:
      - mean over frames of 0.5 (v_x^2 + v_z^2): horizontal kinetic energy per unit mass, J/kg;
      - mean over frames of 0.5 v_y^2: vertical kinetic energy per unit mass, J/kg;
      - mean over frames of ||a||_2: energy expenditure, taken as the mean acceleration
        magnitude, m/s^2.
    The result is joint-major: `[joint0 horizontal, joint0 vertical, joint0 expenditure, joint1
    ...]`. A static pose gives zeros; global positions are used, so root travel counts.
    """
    _check_fps(fps)
    positions = _as_motion(joints, minimum_frames=3)
    time_step = 1.0 / fps
    velocity = np.gradient(positions, time_step, axis=0, edge_order=2)
    acceleration = np.gradient(velocity, time_step, axis=0, edge_order=2)
    horizontal = 0.5 * np.square(velocity[..., _HORIZONTAL_AXES]).sum(axis=-1).mean(axis=0)
    vertical = 0.5 * np.square(velocity[..., UP_AXIS]).mean(axis=0)
    expenditure = np.linalg.norm(acceleration, axis=-1).mean(axis=0)
    return np.stack([horizontal, vertical, expenditure], axis=-1).reshape(-1)


def geometric_features(
    joints: np.ndarray, *, feature_joints: Sequence[int] = GEOMETRIC_FEATURE_JOINTS
) -> np.ndarray:
    """Geometric features of one dance: statistics of distances between key joints, metres.

    `joints`: `[frames>=1, joints, 3]` metres, indexed like the 52-joint skeleton (the default
    `feature_joints` are pelvis, head, elbows, wrists, knees and ankles). For every pair i < j of
    `feature_joints` (in the given order), d_ij(t) = ||p_i(t) - p_j(t)||_2; the features are the
    mean over frames of every d_ij, then the standard deviation over frames (population, ddof 0)
    of every d_ij: `[2 * P]` with P = K (K - 1) / 2 pairs of the K joints (90 for the default
    10). They describe the body's shape and how much it changes, independent of where the dancer
    is and which way they face, and do not depend on the frame rate. vermo's own feature set
    (the AIST++ FID_g uses 33 boolean relational features instead).
    """
    positions = _as_motion(joints, minimum_frames=1)
    selected = np.asarray(feature_joints, dtype=np.int64)
    if selected.ndim != 1 or selected.size < 2:
        raise ValueError(f"need at least 2 feature joints, got {selected.tolist()}")
    if selected.min() < 0 or selected.max() >= positions.shape[1]:
        raise ValueError(
            f"feature joints {selected.tolist()} are not all among the {positions.shape[1]} joints"
        )
    first, second = np.triu_indices(selected.size, k=1)
    distances = np.linalg.norm(
        positions[:, selected[first]] - positions[:, selected[second]], axis=-1
    )
    return np.concatenate([distances.mean(axis=0), distances.std(axis=0)])


CONSTANT_TOLERANCE: float = 1e-6
"""Relative deviation below which a reference feature counts as constant."""


def standardize_by_reference(
    generated_features: np.ndarray, reference_features: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Both feature sets `[n, d]`, `[m, d]` standardised by the reference set's statistics.

    Each dimension is shifted by the reference (ground-truth) mean and divided by the reference
    standard deviation (population, ddof 0), as Bailando does before FID_k and Div_k. A dimension
    that is constant in the reference, up to float rounding (a deviation below
    `CONSTANT_TOLERANCE` times its mean's magnitude, at least 1; e.g. the distance between two
    joints of one rigid bone), is only shifted: dividing by its rounding noise would blow any
    generated variation up by a million. Returns (generated, reference).
    """
    generated = np.asarray(generated_features, dtype=np.float64)
    reference = np.asarray(reference_features, dtype=np.float64)
    if generated.ndim != 2 or reference.ndim != 2 or generated.shape[1] != reference.shape[1]:
        raise ValueError(
            f"expected features [samples, d] of one d, got {generated.shape} and {reference.shape}"
        )
    if reference.shape[0] == 0:
        raise ValueError("no reference features to standardise by")
    mean = reference.mean(axis=0)
    deviation = reference.std(axis=0)
    constant = deviation <= CONSTANT_TOLERANCE * np.maximum(np.abs(mean), 1.0)
    scale = np.where(constant, 1.0, deviation)
    return (generated - mean) / scale, (reference - mean) / scale


def standardized_frechet_distance(
    generated_features: np.ndarray, reference_features: np.ndarray
) -> float:
    """FID_k or FID_g: Fréchet distance of generated vs ground-truth dance features.

    `generated_features` `[n>=2, d]`, `reference_features` `[m>=2, d]`: one `kinetic_features`
    (FID_k) or `geometric_features` (FID_g) vector per dance. Both sets are standardised by
    `standardize_by_reference`, then `frechet_distance` of the two (dimensionless).
    """
    generated, reference = standardize_by_reference(generated_features, reference_features)
    return frechet_distance(generated, reference)


def standardized_diversity(generated_features: np.ndarray, reference_features: np.ndarray) -> float:
    """Div_k or Div_g: mean pairwise distance among generated dance features, standardised.

    `generated_features` `[n>=2, d]` are standardised by the ground-truth
    `reference_features` `[m, d]` (`standardize_by_reference`), then
    `mean_pairwise_distance` over all pairs of generated dances (dimensionless). The paper's
    "Real" row is this with the ground truth as `generated_features`.
    """
    generated, _reference = standardize_by_reference(generated_features, reference_features)
    return mean_pairwise_distance(generated)


def joint_speed(joints: np.ndarray, fps: float = MOTION_FPS) -> np.ndarray:
    """Mean joint speed per frame, `[frames]` m/s, of `joints` `[frames>=2, joints, 3]` metres.

    speed(t) = mean over joints of ||d position / dt||_2 at frame t, the derivative by
    `numpy.gradient` (central differences inside, one-sided at the two ends).
    """
    _check_fps(fps)
    positions = _as_motion(joints, minimum_frames=2)
    velocity = np.gradient(positions, 1.0 / fps, axis=0)
    return np.linalg.norm(velocity, axis=-1).mean(axis=1)


def motion_beats(
    joints: np.ndarray,
    fps: float = MOTION_FPS,
    smoothing_seconds: float = MOTION_BEAT_SMOOTHING_SECONDS,
) -> np.ndarray:
    """Kinematic beats of a motion, seconds `[beats]`: local minima of its smoothed joint speed.

    `joints`: `[frames>=2, joints, 3]` metres at `fps`. The `joint_speed` curve is smoothed by a
    Gaussian of standard deviation `smoothing_seconds` (`scipy.ndimage.gaussian_filter1d`,
    reflecting at the ends; 0 turns smoothing off), and every strict local minimum is a beat at
    its frame index / fps (a flat minimum counts once, at its middle frame; the first and last
    frames are never beats). This is the AIST++ / Bailando definition: a dancer's beats are where
    the movement momentarily slows down. A static pose has no beats.
    """
    if smoothing_seconds < 0:
        raise ValueError(f"smoothing_seconds must not be negative, got {smoothing_seconds}")
    speed = joint_speed(joints, fps)
    if smoothing_seconds > 0:
        speed = scipy.ndimage.gaussian_filter1d(speed, sigma=smoothing_seconds * fps)
    minima, _properties = scipy.signal.find_peaks(-speed)
    return minima.astype(np.float64) / fps


def checked_waveform(waveform: np.ndarray, sample_rate: int, hop_length: int) -> np.ndarray:
    """`waveform` as float32 `[samples]`; `ValueError` unless it is a finite, non-empty mono
    signal with a positive sample rate and hop length."""
    signal = np.asarray(waveform, dtype=np.float32)
    if signal.ndim != 1 or signal.size == 0:
        raise ValueError(f"expected a mono waveform [samples>0], got shape {signal.shape}")
    if sample_rate <= 0 or hop_length <= 0:
        raise ValueError(
            f"sample_rate and hop_length must be positive: {sample_rate}, {hop_length}"
        )
    if not np.all(np.isfinite(signal)):
        raise ValueError("waveform contains NaN or infinite values")
    return signal


def music_beats(waveform: np.ndarray, sample_rate: int, hop_length: int = 512) -> np.ndarray:
    """Musical beats of a mono waveform, seconds `[beats]`, by `librosa.beat.beat_track`.

    `waveform`: `[samples]` floats at `sample_rate` Hz. librosa's dynamic-programming beat
    tracker (onset-strength envelope with `hop_length` samples per frame, tempo estimate, beat
    path), with its defaults otherwise, returns the beat times in seconds.
    """
    import librosa

    signal = checked_waveform(waveform, sample_rate, hop_length)
    _tempo, beats = librosa.beat.beat_track(
        y=signal, sr=sample_rate, hop_length=hop_length, units="time"
    )
    return np.asarray(beats, dtype=np.float64)


def _as_beat_times(beats: np.ndarray, name: str) -> np.ndarray:
    """Beat times as a float64 vector `[beats]` of finite seconds (possibly empty)."""
    times = np.asarray(beats, dtype=np.float64)
    if times.ndim > 1:
        raise ValueError(f"{name} must be a vector of beat times in seconds, got {times.shape}")
    times = times.reshape(-1)
    if not np.all(np.isfinite(times)):
        raise ValueError(f"{name} contains NaN or infinite beat times")
    return times


def beat_proximity(
    query_beat_times: np.ndarray, target_beat_times: np.ndarray, sigma_seconds: float
) -> float:
    """Mean Gaussian closeness of each query beat to its nearest target beat, 0-1.

    `query_beat_times` `[Q]`, `target_beat_times` `[T]`: seconds. Returns
    (1 / Q) sum over q of exp(-min over t of (q - t)^2 / (2 sigma^2)), sigma = `sigma_seconds`:
    1 when every query beat has a target beat on it, about 0 when none is within a few sigma.
    Not symmetric: target beats far from every query beat cost nothing. NaN without query beats,
    0 without target beats. The core of `beat_alignment_score` and of the gesture BeatAlign.
    """
    if not sigma_seconds > 0:
        raise ValueError(f"sigma_seconds must be positive, got {sigma_seconds}")
    query = _as_beat_times(query_beat_times, "query beat times")
    target = _as_beat_times(target_beat_times, "target beat times")
    if query.size == 0:
        return float("nan")
    if target.size == 0:
        return 0.0
    nearest_squared = np.min(np.square(query[:, None] - target[None, :]), axis=1)
    return float(np.exp(-nearest_squared / (2.0 * sigma_seconds**2)).mean())


def beat_phases(music_beat_times: np.ndarray, motion_beat_times: np.ndarray) -> np.ndarray:
    """Where each motion beat falls within the music's beat, `[n]` in [0, 1).

    `music_beat_times` `[B_m]`, `motion_beat_times` `[B_d]`: seconds, the music beats sorted.
    A motion beat between music beats `t_i <= t < t_(i+1)` has phase
    `(t - t_i) / (t_(i+1) - t_i)`: 0 on a music beat, 0.5 half way to the next. Motion beats
    before the first music beat or from the last one on have no phase and are left out.

    BAS says how close motion beats come to music beats; the phases say where they land, so a
    dance that moves in time with the music but late, or not in time at all, can be told apart:
    a dance locked to the music gathers its phases in a few places, a dance with no relation to
    it spreads them evenly.
    """
    music = _as_beat_times(music_beat_times, "music_beat_times")
    motion = _as_beat_times(motion_beat_times, "motion_beat_times")
    if np.any(np.diff(music) <= 0):
        raise ValueError("music_beat_times must be strictly increasing")
    after = np.searchsorted(music, motion, side="right")
    inside = (after >= 1) & (after < music.size)
    start, end = music[after[inside] - 1], music[after[inside]]
    return (motion[inside] - start) / (end - start)


def beat_alignment_score(
    music_beat_times: np.ndarray,
    motion_beat_times: np.ndarray,
    sigma_seconds: float = BEAT_ALIGNMENT_SIGMA_SECONDS,
    duration_seconds: float | None = None,
) -> float:
    """Beat Alignment Score (BAS) of one dance to its music, 0-1 (Bailando's definition).

    `music_beat_times` `[B_m]`, `motion_beat_times` `[B_d]`: seconds (`music_beats`,
    `motion_beats`). BAS = (1 / B_m) sum over music beats t_m of
    exp(-min over motion beats t_d of (t_m - t_d)^2 / (2 sigma^2)), with sigma = `sigma_seconds`
    (0.1 s: Bailando's 3 frames at 30 fps), i.e. `beat_proximity(music, motion)`. The mean runs
    over the MUSIC beats, as in Bailando's code, which the paper follows: a music beat scores 1
    when a motion beat falls on it and about 0 when none is near, so extra motion beats are not
    penalised (the limitation the paper notes). With `duration_seconds`, music beats after the
    dance ends are left out, as Bailando cuts the music to the motion. No motion beat gives 0;
    no music beat gives NaN. The m2d key `beat_align` is the mean of this over the dances.
    """
    music = _as_beat_times(music_beat_times, "music_beat_times")
    if duration_seconds is not None:
        music = music[music <= duration_seconds]
    return beat_proximity(music, motion_beat_times, sigma_seconds)
