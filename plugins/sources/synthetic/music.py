"""Synthesized music (drums on the beats, bass, chords) and dances with key poses on its beats."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from vermo_plugins.sources.synthetic.actions import Act, timeline
from vermo_plugins.sources.synthetic.rig import SIDES, Pose, apply_keys, both, side_pose

SAMPLE_RATE: int = 24_000
# Genre -> (lowest, highest tempo in beats per minute, beats per bar).
GENRES: dict[str, tuple[float, float, int]] = {
    "pop": (100.0, 128.0, 4),
    "hiphop": (80.0, 100.0, 4),
    "techno": (120.0, 140.0, 4),
    "waltz": (84.0, 120.0, 3),
    "jazz": (90.0, 132.0, 4),
}
# Chord progressions as semitone roots above the key, major (0) or minor (1) triads.
_PROGRESSIONS: tuple[tuple[tuple[int, int], ...], ...] = (
    ((0, 0), (7, 0), (9, 1), (5, 0)),
    ((9, 1), (5, 0), (0, 0), (7, 0)),
    ((0, 0), (5, 0), (7, 0), (5, 0)),
    ((2, 1), (7, 0), (0, 0), (9, 1)),
)


@dataclass
class DanceTake:
    """A dance with its music: `act` (30 fps channels), mono `waveform` `[samples]` float32 at
    24 kHz (None for a dance without music), `genre`, `tempo` in beats per minute and
    `beat_times` `[beats]` in seconds."""

    act: Act
    waveform: np.ndarray | None
    genre: str
    tempo: float
    beat_times: np.ndarray


def _add(buffer: np.ndarray, start: float, sound: np.ndarray) -> None:
    """Mix `sound` into `buffer` from `start` seconds, cut at the buffer's end."""
    first = round(start * SAMPLE_RATE)
    if first >= len(buffer):
        return
    piece = sound[: len(buffer) - first]
    buffer[first : first + len(piece)] += piece


def _envelope(seconds: float, decay: float, attack: float = 0.004) -> np.ndarray:
    """Attack-then-exponential-decay envelope `[samples]`."""
    time = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return np.minimum(time / attack, 1.0) * np.exp(-time / decay)


def _kick() -> np.ndarray:
    """Bass drum: a sine sweeping from about 150 Hz down to 50 Hz."""
    time = np.arange(round(0.3 * SAMPLE_RATE)) / SAMPLE_RATE
    frequency = 50.0 + 100.0 * np.exp(-time / 0.03)
    return np.sin(2.0 * np.pi * np.cumsum(frequency) / SAMPLE_RATE) * _envelope(0.3, 0.09, 0.001)


def _snare(rng: np.random.Generator) -> np.ndarray:
    """Snare: bright noise plus a short 190 Hz body."""
    noise = np.diff(rng.standard_normal(round(0.2 * SAMPLE_RATE) + 1)) * 0.5
    time = np.arange(len(noise)) / SAMPLE_RATE
    return noise * _envelope(0.2, 0.05, 0.001) + 0.6 * np.sin(2 * np.pi * 190.0 * time) * _envelope(
        0.2, 0.04, 0.001
    )


def _hihat(rng: np.random.Generator) -> np.ndarray:
    """Closed hi-hat: doubly differentiated noise with a very short decay."""
    noise = np.diff(rng.standard_normal(round(0.06 * SAMPLE_RATE) + 2), n=2) * 0.25
    return noise * _envelope(0.06, 0.012, 0.0005)


def _tone(frequency: float, seconds: float, decay: float, harmonics: int) -> np.ndarray:
    """Harmonic tone (amplitudes 1/k) with an attack-decay envelope."""
    time = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    partials = np.arange(1, harmonics + 1)[:, None]
    wave = (np.sin(2.0 * np.pi * frequency * partials * time) / partials).sum(axis=0)
    return wave * _envelope(seconds, decay, 0.008)


def _midi(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69.0) / 12.0)


def synthesize_music(
    genre: str, tempo: float, beat_times: np.ndarray, duration: float, rng: np.random.Generator
) -> np.ndarray:
    """Music `[samples]` float32 at 24 kHz, peak 0.9: drums on every beat, bass and chords.

    Every beat carries a drum hit (kick, or snare on the back beats of hip-hop and jazz) so that
    beat trackers find the beats; the rest of the arrangement depends on `genre`.
    """
    buffer = np.zeros(round(duration * SAMPLE_RATE), dtype=np.float64)
    beat = 60.0 / tempo
    per_bar = GENRES[genre][2]
    key = 45 + int(rng.integers(0, 8))
    progression = _PROGRESSIONS[int(rng.integers(len(_PROGRESSIONS)))]
    kick, snare, hihat = _kick(), _snare(rng), _hihat(rng)
    swing = 0.62 if genre == "jazz" else 0.5
    for index, time in enumerate(beat_times):
        position = index % per_bar
        root, minor = progression[(index // per_bar) % len(progression)]
        back_beat = position % 2 == 1 and per_bar == 4
        if genre in ("hiphop", "jazz") and back_beat:
            _add(buffer, time, 0.8 * snare)
            _add(buffer, time, 0.4 * kick)
        else:
            _add(buffer, time, (1.0 if position == 0 else 0.8) * kick)
        if genre in ("pop", "techno", "hiphop"):
            _add(buffer, time + swing * beat, 0.35 * hihat)
        _add(buffer, time, 0.2 * hihat)
        if genre == "jazz":
            walk = (0, 4 - 1 * minor, 7, 9)[position]
            bass = _tone(_midi(key - 12 + root + walk), beat * 0.9, beat * 0.5, 4)
        elif position == 0 or genre in ("techno", "pop"):
            bass = _tone(_midi(key - 12 + root), beat * 0.8, beat * 0.35, 5)
        else:
            bass = np.zeros(1)
        _add(buffer, time, 0.5 * bass)
        chord = [key + 12 + root, key + 16 - minor + root, key + 19 + root]
        if genre == "waltz":
            stab_times = [time] if position > 0 else []
        elif genre == "techno":
            stab_times = [time + 0.5 * beat]
        elif genre == "jazz":
            stab_times = [time + swing * beat] if rng.random() < 0.5 else []
        else:
            stab_times = [time] if position == 0 else [time + 0.5 * beat]
        length = beat * (per_bar if genre == "hiphop" else 0.6)
        for stab in stab_times:
            for note in chord:
                _add(buffer, stab, 0.12 * _tone(_midi(note), length, length * 0.5, 3))
    peak = np.max(np.abs(buffer))
    return (0.9 * buffer / max(peak, 1e-9)).astype(np.float32)


def _arm_move(side: str, lift: float, spread: float, bend: float) -> dict[str, float]:
    return side_pose(
        side,
        shoulder_abd=spread,
        shoulder_fwd=lift,
        elbow_flex=bend,
        shoulder_swing=0.0,
        shoulder_twist=10.0,
    )


def _dance_pose(move: str, count: int, energy: float, rng: np.random.Generator) -> dict[str, float]:
    """Key pose for beat `count` of a dance move; `energy` 0.6-1.2 scales the amplitudes."""
    even = count % 2 == 0
    sign = 1.0 if even else -1.0
    bounce = both(knee_flex=22.0 * energy if even else 4.0, hip_flex=14.0 * energy if even else 2.0)
    fingers = both(finger_curl=10.0 if even else 35.0, thumb_curl=5.0 if even else 20.0)
    if move == "bounce":
        arms = _arm_move("left", 40.0 if even else 10.0, 25.0, 90.0 if even else 40.0)
        arms |= _arm_move("right", 10.0 if even else 40.0, 25.0, 40.0 if even else 90.0)
        return bounce | arms | fingers | {"spine_flex": 8.0 if even else 2.0, "spine_twist": 0.0}
    if move == "sway":
        arms = _arm_move("left", 20.0, 30.0 + 25.0 * sign * energy, 50.0)
        arms |= _arm_move("right", 20.0, 30.0 - 25.0 * sign * energy, 50.0)
        return (
            both(knee_flex=12.0, hip_flex=6.0)
            | arms
            | fingers
            | {
                "pelvis_roll": 6.0 * sign,
                "spine_side": -10.0 * sign * energy,
                "head_tilt": 6.0 * sign,
            }
        )
    if move == "arms up":
        up = side_pose(
            "left" if even else "right",
            shoulder_abd=160.0,
            shoulder_fwd=0.0,
            shoulder_swing=20.0,
            elbow_flex=20.0,
            shoulder_twist=0.0,
        )
        down = _arm_move("right" if even else "left", 15.0, 20.0, 60.0)
        return bounce | up | down | fingers | {"spine_side": 6.0 * sign}
    if move == "step":
        lifted = side_pose(
            "left" if even else "right", hip_flex=35.0 * energy, knee_flex=55.0 * energy
        )
        planted = side_pose("right" if even else "left", hip_flex=5.0, knee_flex=8.0)
        arms = _arm_move("left", 50.0 if even else 5.0, 20.0, 80.0)
        arms |= _arm_move("right", 5.0 if even else 50.0, 20.0, 80.0)
        return lifted | planted | arms | fingers | {"spine_twist": 12.0 * sign}
    if move == "twist":
        arms = _arm_move("left", 45.0, 45.0, 95.0) | _arm_move("right", 45.0, 45.0, 95.0)
        return (
            bounce
            | arms
            | fingers
            | {"spine_twist": 22.0 * sign * energy, "pelvis_twist": -10.0 * sign * energy}
        )
    # "clap": hands meet in front of the chest on even beats, open on odd ones.
    closed = both(shoulder_abd=10.0, shoulder_fwd=55.0, shoulder_twist=50.0, elbow_flex=65.0)
    opened = both(shoulder_abd=35.0, shoulder_fwd=40.0, shoulder_twist=20.0, elbow_flex=75.0)
    return bounce | (closed if even else opened) | both(finger_curl=5.0, thumb_curl=0.0)


_MOVES: tuple[str, ...] = ("bounce", "sway", "arms up", "step", "twist", "clap")


def dance_act(
    beat_times: np.ndarray, duration: float, per_bar: int, rng: np.random.Generator
) -> tuple[Act, list[str]]:
    """A dance with one key pose on every beat and still poses before and after.

    Channels are eased between key poses, so every joint's velocity is zero on each beat and
    the mean joint speed has a local minimum there (the motion beats of the Beat Alignment
    Score). Returns the act and the names of the moves used.
    """
    energy = rng.uniform(0.7, 1.2)
    times, channels = timeline(duration)
    keys: list[tuple[float, Pose]] = [(0.0, both(knee_flex=2.0, hip_flex=0.0))]
    moves: list[str] = []
    turn = 0.0
    for index, time in enumerate(beat_times):
        if index % (2 * per_bar) == 0:
            moves.append(str(rng.choice(_MOVES)))
            if rng.random() < 0.3:
                turn += float(rng.choice([-45.0, 45.0, 90.0]))
        pose = _dance_pose(moves[-1], index, energy, rng) | {"yaw": turn}
        keys.append((float(time), pose))
    apply_keys(channels, times, keys)
    # Ankles keep the standing sole flat (the stepping foot lifts with its knee).
    for side, _ in SIDES:
        channels[f"{side}_ankle_flex"] = (
            channels["pelvis_pitch"] - channels[f"{side}_hip_flex"] + channels[f"{side}_knee_flex"]
        )
    return Act(channels), list(dict.fromkeys(moves))


def dance_take(rng: np.random.Generator, with_music: bool = True) -> DanceTake:
    """A dance of 4-10 s to synthesized music of a random genre and tempo (80-140 BPM)."""
    genre = str(rng.choice(list(GENRES)))
    low, high, per_bar = GENRES[genre]
    tempo = float(rng.uniform(low, high))
    beat = 60.0 / tempo
    first = rng.uniform(0.3, 0.7)
    duration = rng.uniform(4.0, 10.0)
    beat_times = np.arange(first, duration - 0.3, beat)
    act, moves = dance_act(beat_times, duration, per_bar, rng)
    waveform = synthesize_music(genre, tempo, beat_times, duration, rng) if with_music else None
    mood = "an upbeat" if tempo >= 115 else "a slow" if tempo < 95 else "a lively"
    act.tags = [f"genre:{genre}", f"tempo:{round(tempo)}", *[f"move:{m}" for m in moves]]
    act.manner = {
        "genre": genre,
        "mood": mood,
        "moves": " and ".join(moves) + " moves",
        "speed": "quickly" if tempo >= 115 else "slowly" if tempo < 95 else "",
        "style": "energetically" if tempo >= 115 else "",
    }
    return DanceTake(act, waveform, genre, tempo, beat_times)
