"""What is scored: the outputs of one system for every benchmark clip, from the ground truth
itself ("Real"), from a simple baseline, or from a model's generations."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vermo_cli.evaluate.clips import AUDIO_RATE, BenchmarkClip
from vermo_cli.generate.session import Generation
from vermo_cli.messages.builder import split_steps
from vermo_cli.messages.tasks import TaskSpec
from vermo_cli.metrics.dance import MOTION_FPS, music_beats


@dataclass
class SystemOutputs:
    """One system's outputs, aligned with the benchmark clips.

    `motions[i]` `[agents, frames, 52, 3]` metres at 30 fps: the whole motion (for pred and
    btwn the given parts included); `captions[i]` text; `audio[i]` `(waveform, rate)`;
    `multimodality[i]` further motions sampled for the same prompt (only for the first clips,
    only for a model). Entries are None where the system produced nothing of that kind.
    """

    name: str
    motions: list[np.ndarray | None]
    captions: list[str | None]
    audio: list[tuple[np.ndarray, int] | None]
    multimodality: list[list[np.ndarray]] = field(default_factory=list)
    is_real: bool = False


def real_outputs(clips: Sequence[BenchmarkClip]) -> SystemOutputs:
    """The ground truth as a system: each clip's motion, first caption and audio."""
    return SystemOutputs(
        name="Real",
        motions=[clip.joints for clip in clips],
        captions=[clip.captions[0] if clip.captions else None for clip in clips],
        audio=[(clip.audio, AUDIO_RATE) if clip.audio is not None else None for clip in clips],
        is_real=True,
    )


def reply_frames(task: TaskSpec, clip: BenchmarkClip) -> tuple[int, int]:
    """The frames `[first, last)` of the clip's motion that the reply makes (all of them, but
    for pred and btwn only the part between the given past and future)."""
    frames = clip.joints.shape[1]
    if "past" not in task.needs and "future" not in task.needs:
        return 0, frames
    past, future = split_steps(task, clip.tokens.steps, "eval", random.Random(0))
    compression = clip.tokens.compression
    return min(past * compression, frames), max(frames - future * compression, 0)


def baseline_outputs(
    task: TaskSpec, clips: Sequence[BenchmarkClip], training_captions: Sequence[str]
) -> SystemOutputs | None:
    """A simple reference system where one is standard, else None.

    pred: the last given pose held still ("zero velocity"); btwn: joints linearly interpolated
    from the last given past pose to the first given future pose; captioning: the most frequent
    caption of the training split for every clip ("most frequent caption").
    """
    if "caption" in task.reply and training_captions:
        common = Counter(training_captions).most_common(1)[0][0]
        return SystemOutputs(
            name="most frequent caption",
            motions=[None] * len(clips),
            captions=[common] * len(clips),
            audio=[None] * len(clips),
        )
    if task.reply != ("motion",) or "past" not in task.needs:
        return None
    motions = []
    for clip in clips:
        first, last = reply_frames(task, clip)
        motion = clip.joints.copy()
        start = motion[:, first - 1]
        if "future" in task.needs and last < motion.shape[1]:
            end = motion[:, last]
            weights = (np.arange(first, last) - (first - 1)) / (last - (first - 1))
            motion[:, first:last] = (
                start[:, None] * (1 - weights[None, :, None, None])
                + end[:, None] * weights[None, :, None, None]
            )
            name = "linear interpolation"
        else:
            motion[:, first:] = start[:, None]
            name = "zero velocity"
        motions.append(motion)
    return SystemOutputs(
        name=name, motions=motions, captions=[None] * len(clips), audio=[None] * len(clips)
    )


def model_outputs(
    name: str, generations: Sequence[Generation], multimodality_samples: int
) -> SystemOutputs:
    """A model's generations (one per clip, `1 + multimodality_samples` samples for the first
    clips) as a system: the first sample of each is scored, the rest feed MultiModality."""
    motions, captions, audio, groups = [], [], [], []
    for generation in generations:
        first = generation.samples[0]
        motions.append(first.joints)
        captions.append(first.caption)
        audio.append((first.audio, first.audio_rate) if first.audio is not None else None)
        if len(generation.samples) > 1 and multimodality_samples > 0:
            groups.append([s.joints for s in generation.samples[1:] if s.joints is not None])
    return SystemOutputs(name, motions, captions, audio, multimodality=groups)


def shifts_by_half_a_beat(task: TaskSpec) -> bool:
    """Whether the task gets a "half a beat late" row: motion made for music."""
    return "music" in task.required and task.reply == ("motion",)


def half_beat_delays(clips: Sequence[BenchmarkClip]) -> list[int]:
    """Frames of half a beat of each clip's music: half the median interval of its beats
    (`music_beats`); 0 for a clip without audio or with fewer than two beats. The same in
    every replication, so a benchmark computes it once."""
    delays = []
    for clip in clips:
        beats = music_beats(clip.audio, AUDIO_RATE) if clip.audio is not None else np.zeros(0)
        interval = float(np.median(np.diff(beats))) if len(beats) >= 2 else 0.0
        delays.append(round(0.5 * interval * MOTION_FPS))
    return delays


def half_beat_late(outputs: SystemOutputs, delays: Sequence[int]) -> SystemOutputs:
    """The same motions delayed by `delays[i]` frames, half a beat of each clip's music
    (`half_beat_delays`; the first pose held for the delay, the end cut, so the length stays):
    the reference a dance's Beat Alignment Score must beat to show that its beats follow the
    music's, not merely that it moves rhythmically."""
    motions: list[np.ndarray | None] = []
    for motion, delay in zip(outputs.motions, delays, strict=True):
        if motion is None or delay == 0:
            motions.append(motion)
            continue
        frames = motion.shape[1]
        delay = min(delay, frames)
        held = np.repeat(motion[:, :1], delay, axis=1)
        motions.append(np.concatenate([held, motion[:, : frames - delay]], axis=1))
    return SystemOutputs(
        f"{outputs.name}, half a beat late", motions, outputs.captions, outputs.audio
    )
