"""Tests of the synthetic source: determinism, content, body plausibility, music beats, speech."""

from __future__ import annotations

import numpy as np
import pytest
from vermo_plugins.sources.synthetic import SyntheticSource
from vermo_plugins.sources.synthetic.captions import MACRO_CAPTIONS
from vermo_plugins.sources.synthetic.music import dance_take
from vermo_plugins.sources.synthetic.source import make_clip
from vermo_plugins.sources.synthetic.speech import speech_take

from vermo_cli.data.sources import SourceOptions, load_source
from vermo_cli.motion.canonical import canonicalize_motion
from vermo_cli.motion.clip import SourceClip
from vermo_cli.motion.resample import resample_motion
from vermo_cli.motion.skeleton import HUMAN_BONE_RANGES, JOINT_INDEX, bone_lengths

ACTION_NAMES = (
    "walk",
    "run",
    "jump",
    "wave",
    "bow",
    "kick",
    "punch",
    "clap",
    "turn",
    "sit down",
    "squat",
    "dance",
)
INTERACTION_NAMES = ("handshake", "hug", "push", "high five", "follow")
FEET = [JOINT_INDEX[name] for name in ("left_ankle", "right_ankle", "left_foot", "right_foot")]
STANDING = {"wave", "bow", "punch", "clap", "squat", "sit down", "kick", "walk", "turn", "dance"}


@pytest.fixture(scope="module")
def corpus() -> list[SourceClip]:
    """The first 100 clips (one full mix block) of seed 7."""
    source = SyntheticSource(SourceOptions(clips=100, seed=7))
    return [clip for item in source.discover([]) for clip in source.load(item)]


def _action(clip: SourceClip) -> str:
    return clip.tags[0].removeprefix("action:")


def _canonical(clip: SourceClip) -> np.ndarray:
    return canonicalize_motion(resample_motion(clip.joints, clip.fps))


def test_registered_and_chunked() -> None:
    source = load_source("synthetic", SourceOptions(clips=60, seed=1))
    assert isinstance(source, SyntheticSource)
    assert source.takes_paths is False
    items = source.discover([])
    assert items == ["chunk-0000", "chunk-0001", "chunk-0002"]
    clips = source.load(items[-1])
    assert [clip.take_id[:15] for clip in clips][:1] == ["synthetic/00050"]
    assert len(clips) == 10


def test_same_seed_same_clip_other_seed_differs() -> None:
    for index in (3, 5, 2):  # speech, dance with music, interaction
        first, second = make_clip(11, index), make_clip(11, index)
        np.testing.assert_array_equal(first.joints, second.joints)
        assert first.captions == second.captions
        if first.audio is not None:
            np.testing.assert_array_equal(first.audio.waveform, second.audio.waveform)
        other = make_clip(12, index).joints
        assert other.shape != first.joints.shape or not np.allclose(other, first.joints)


def test_names_captions_and_paraphrases(corpus: list[SourceClip]) -> None:
    names = {_action(clip) for clip in corpus}
    assert set(ACTION_NAMES) <= names
    assert set(INTERACTION_NAMES) <= names
    for name in ACTION_NAMES + INTERACTION_NAMES:
        assert len(set(MACRO_CAPTIONS[name])) >= 3
    for clip in corpus:
        assert clip.dataset == "synthetic" and clip.fps == 30
        assert clip.take_id.startswith("synthetic/") and clip.joint_mask.all()
        assert len(clip.captions) >= 3
        assert all(caption.text.strip() for caption in clip.captions)
        levels = {caption.granularity for caption in clip.captions}
        assert {"macro", "meso"} <= levels
        assert "  " not in " ".join(caption.text for caption in clip.captions)
        assert 2.0 <= clip.frames / clip.fps <= 10.5
        assert np.isfinite(clip.joints).all()


def test_mix_of_kinds(corpus: list[SourceClip]) -> None:
    agents = [clip.agents for clip in corpus]
    assert agents.count(2) == 15
    kinds = [clip.audio.kind for clip in corpus if clip.audio is not None]
    assert kinds.count("music") == 12 and kinds.count("speech") == 13


def test_two_people_face_each_other_at_plausible_distance(corpus: list[SourceClip]) -> None:
    pairs = [clip for clip in corpus if _action(clip) in INTERACTION_NAMES]
    for clip in pairs:
        assert clip.agents == 2
        joints = _canonical(clip)
        distance = np.linalg.norm(joints[0, :, 0, [0, 2]] - joints[1, :, 0, [0, 2]], axis=0)
        assert distance.min() >= 0.3 and distance.max() <= 3.0, clip.take_id
        if _action(clip) in ("handshake", "hug", "high five", "push"):
            # The second person stands in front of the first (+z) and faces back (-z).
            assert joints[1, 0, 0, 2] > 0.3
            across = joints[1, 0, JOINT_INDEX["left_hip"]] - joints[1, 0, JOINT_INDEX["right_hip"]]
            assert across[0] < 0


def test_handshake_hands_meet(corpus: list[SourceClip]) -> None:
    for clip in (c for c in corpus if _action(c) == "handshake"):
        joints = _canonical(clip)
        hand = JOINT_INDEX["right_middle1"]
        gap = np.linalg.norm(joints[0, :, hand] - joints[1, :, hand], axis=-1)
        assert gap.min() < 0.12, clip.take_id


def test_canonical_bodies_are_human(corpus: list[SourceClip]) -> None:
    parents = {name: JOINT_INDEX[name] for pair in HUMAN_BONE_RANGES for name in pair}
    for clip in corpus:
        joints = _canonical(clip)
        assert abs(joints[..., 1].min()) < 1e-5
        first = joints[0, 0]
        assert first[JOINT_INDEX["left_hip"], 0] > first[JOINT_INDEX["right_hip"], 0]
        assert first[JOINT_INDEX["left_shoulder"], 0] > 0 > first[JOINT_INDEX["right_shoulder"], 0]
        for side in ("left", "right"):
            toe, ankle = first[JOINT_INDEX[f"{side}_foot"]], first[JOINT_INDEX[f"{side}_ankle"]]
            assert toe[2] > ankle[2], clip.take_id
        lengths = bone_lengths(joints)
        assert np.ptp(lengths, axis=1).max() < 1e-3, clip.take_id
        for (parent, child), (low, high) in HUMAN_BONE_RANGES.items():
            bone = lengths[..., JOINT_INDEX[child]]
            assert parents[parent] >= 0 and low <= bone.min() and bone.max() <= high
        # Arms hang down at rest: the wrists start below the shoulders.
        for side in ("left", "right"):
            if _action(clip) not in ("dance", "speech"):
                assert (
                    first[JOINT_INDEX[f"{side}_wrist"], 1] < first[JOINT_INDEX[f"{side}_elbow"], 1]
                )


def test_standing_feet_stay_on_the_floor(corpus: list[SourceClip]) -> None:
    for clip in corpus:
        if _action(clip) not in STANDING or clip.agents != 1:
            continue
        joints = _canonical(clip)[0]
        lowest_foot = joints[:, FEET, 1].min(axis=1)
        assert np.mean(lowest_foot < 0.03) > 0.9, clip.take_id


def test_walking_feet_barely_slide(corpus: list[SourceClip]) -> None:
    for clip in (c for c in corpus if _action(c) == "walk"):
        joints = _canonical(clip)[0]
        toes = joints[:, [JOINT_INDEX["left_foot"], JOINT_INDEX["right_foot"]]]
        speed = np.linalg.norm(np.diff(toes[..., [0, 2]], axis=0), axis=-1) * 30.0
        planted = (toes[1:, :, 1] < 0.005) & (toes[:-1, :, 1] < 0.005)
        travel = np.linalg.norm(joints[-1, 0, [0, 2]] - joints[0, 0, [0, 2]])
        assert travel > 1.5, clip.take_id
        assert np.median(speed[planted]) < 0.1, clip.take_id


def test_wave_raises_hand_and_swings_sideways(corpus: list[SourceClip]) -> None:
    waves = [clip for clip in corpus if _action(clip) == "wave"]
    assert waves
    for clip in waves:
        hand = next(tag for tag in clip.tags if tag.startswith("hand:")).removeprefix("hand:")
        joints = _canonical(clip)[0]
        for side in ("left", "right") if hand == "both" else (hand,):
            wrist = joints[:, JOINT_INDEX[f"{side}_wrist"]]
            shoulder = joints[:, JOINT_INDEX[f"{side}_shoulder"]]
            raised = wrist[:, 1] > shoulder[:, 1] + 0.15
            assert raised.sum() > 30, clip.take_id
            sideways = wrist[raised, 0] - shoulder[raised, 0]
            assert np.ptp(sideways) > 0.15, clip.take_id
            turning = np.diff(np.sign(np.diff(sideways)))
            assert np.count_nonzero(turning) >= 5, clip.take_id
        if hand != "both":
            other = "left" if hand == "right" else "right"
            resting = joints[:, JOINT_INDEX[f"{other}_wrist"], 1] < joints[:, 0, 1] + 0.1
            assert resting.all(), clip.take_id


def _speed_minima(joints: np.ndarray) -> np.ndarray:
    """Frames where the mean joint speed `[frames-1]` has a local minimum (BAS motion beats)."""
    speed = np.linalg.norm(np.diff(joints, axis=0), axis=-1).mean(axis=-1)
    inner = (speed[1:-1] <= speed[:-2]) & (speed[1:-1] <= speed[2:])
    return np.flatnonzero(inner) + 1


@pytest.mark.slow
def test_music_beats_and_dance_beats() -> None:
    librosa = pytest.importorskip("librosa")
    from vermo_plugins.sources.synthetic.rig import animate, random_body

    for seed in range(4):
        rng = np.random.default_rng(seed)
        take = dance_take(rng)
        audio = take.waveform
        assert audio.dtype == np.float32 and np.isfinite(audio).all()
        assert np.abs(audio).max() <= 1.0
        onsets = librosa.onset.onset_detect(y=audio, sr=24_000, units="time")
        near = [np.min(np.abs(onsets - beat)) < 0.07 for beat in take.beat_times]
        assert np.mean(near) > 0.9, take.genre
        tempo, _ = librosa.beat.beat_track(y=audio, sr=24_000)
        ratio = float(np.atleast_1d(tempo)[0]) / take.tempo
        assert min(abs(ratio - r) for r in (0.5, 1.0, 2.0, 1.5, 2 / 3)) < 0.08, (tempo, take.tempo)
        joints = animate(random_body(rng), take.act.channels, 30.0)
        minima = _speed_minima(joints)
        hits = [np.min(np.abs(minima - beat * 30.0)) <= 2 for beat in take.beat_times]
        assert np.mean(hits) > 0.8


def _loudness(audio: np.ndarray, time: float) -> float:
    """RMS of 24 kHz `audio` over the 20 ms around `time` seconds."""
    middle = round(time * 24_000)
    return float(np.sqrt(np.mean(audio[middle - 240 : middle + 240] ** 2)))


def test_speech_words_audio_and_gesture_strokes() -> None:
    from vermo_plugins.sources.synthetic.rig import animate, random_body

    for seed in range(3):
        rng = np.random.default_rng(100 + seed)
        take = speech_take(rng)
        audio = take.waveform
        duration = len(audio) / 24_000
        assert np.isfinite(audio).all() and np.abs(audio).max() <= 1.0
        assert take.words and all(0 <= w.start < w.end <= duration for w in take.words)
        stressed = [s for s in take.syllables if s.stressed]
        plain = [s for s in take.syllables if not s.stressed]
        assert stressed and plain

        assert np.mean([_loudness(audio, s.peak) for s in stressed]) > 1.5 * np.mean(
            [_loudness(audio, s.peak) for s in plain]
        )
        joints = animate(random_body(rng), take.act.channels, 30.0)
        hand = "right" if "hand:left" not in take.act.tags else "left"
        height = joints[:, JOINT_INDEX[f"{hand}_wrist"], 1]
        lows = np.flatnonzero((height[1:-1] <= height[:-2]) & (height[1:-1] <= height[2:])) + 1
        for syllable in stressed:
            assert np.min(np.abs(lows - syllable.peak * 30.0)) <= 3


def test_chunks_cover_every_clip_once() -> None:
    """1,000 clips split into work items that cover each index exactly once (the generation
    time of 1,000 clips is measured by benchmarks/prepare_throughput.py, not here)."""
    source = SyntheticSource(SourceOptions(clips=1010, seed=0))
    items = source.discover([])
    assert len(items) == 41
    last = source.load(items[-1])
    assert len(last) == 10 and last[-1].take_id.startswith("synthetic/01009-")


def test_generated_clips_pass_quality_control() -> None:
    """Every kind of generated clip survives prepare's QC (no joint faster than 20 m/s, stable
    bones, no sinking), so the corpus keeps all the clips it was asked for."""
    from vermo_cli.data.qc import quality_problem
    from vermo_cli.motion.canonical import canonicalize_motion
    from vermo_cli.motion.resample import resample_motion

    source = SyntheticSource(SourceOptions(clips=200, seed=3))
    for item in source.discover([]):
        for clip in source.load(item):
            motion = canonicalize_motion(resample_motion(clip.joints, clip.fps))
            assert quality_problem(motion, clip.joint_mask, 30.0) is None, clip.take_id
