"""Turning one source take into corpus rows: NaN split, resample, window, canonicalise, QC.

This module runs inside `prepare`'s worker processes, so it imports nothing heavy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from vermo_cli.data.qc import QcThresholds, finite_frame_runs, quality_problem
from vermo_cli.data.sources import MotionSource, SourceOptions, load_source
from vermo_cli.data.splits import split_for_take
from vermo_cli.data.stats import NormalisationStats
from vermo_cli.errors import SourceError, VermoError
from vermo_cli.motion.canonical import canonicalize_motion
from vermo_cli.motion.clip import AudioTrack, SourceClip, Word
from vermo_cli.motion.resample import CANONICAL_FPS, resample_motion
from vermo_cli.motion.windowing import MAX_CLIP_SECONDS, window_bounds

AUDIO_DIR = "audio"


@dataclass(frozen=True)
class TakeSettings:
    """How takes become clips: longest and shortest clip (seconds), QC limits, whether an
    unreadable file aborts `prepare` (default) or is recorded in the QC report and skipped, and
    split overrides by tag (`(("subject:5", "test"),)` puts every take tagged subject:5 in test,
    as in a dataset's published protocol)."""

    max_seconds: float = MAX_CLIP_SECONDS
    min_seconds: float = 1.0
    skip_bad_files: bool = False
    thresholds: QcThresholds = field(default_factory=QcThresholds)
    split_by_tag: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.min_seconds > self.max_seconds:
            raise VermoError(
                f"--min-seconds {self.min_seconds:g} is more than --max-seconds "
                f"{self.max_seconds:g}: every clip would be dropped"
            )

    def split_of(self, clip: SourceClip) -> str:
        """A tag override first, then the source's official split, then the hash of the take."""
        for tag, split in self.split_by_tag:
            if tag in clip.tags:
                return split
        return clip.split or split_for_take(clip.take_id)


@dataclass
class ItemResult:
    """What one work item produced: rows, drops (with reasons), and statistics of the training
    split and of all clips (the fallback for corpora without training clips)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    stats: NormalisationStats = field(default_factory=NormalisationStats)
    stats_all: NormalisationStats = field(default_factory=NormalisationStats)
    takes: int = 0
    source_frames: int = 0


@cache
def _cached_source(name: str, options: SourceOptions) -> MotionSource:
    return load_source(name, options)


def process_item(
    source_name: str, options: SourceOptions, item: str, settings: TakeSettings, staging: Path
) -> ItemResult:
    """Load one work item of a source and turn all its takes into rows (audio goes to
    `staging/audio`). A `SourceError` propagates unless `settings.skip_bad_files`."""
    result = ItemResult()
    try:
        clips = _cached_source(source_name, options).load(item)
    except SourceError as error:
        if not settings.skip_bad_files:
            raise
        result.dropped.append({"take_id": item, "frames": 0, "reason": f"unreadable: {error}"})
        return result
    for clip in clips:
        result.takes += 1
        result.source_frames += clip.frames
        process_take(clip, settings, staging, result)
    return result


def _safe_name(take_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", take_id)


def _write_audio(track: AudioTrack, take_id: str, staging: Path) -> str:
    relative = f"{AUDIO_DIR}/{_safe_name(take_id)}.flac"
    target = staging / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    waveform = np.clip(np.asarray(track.waveform, dtype=np.float32), -1.0, 1.0)
    soundfile.write(str(target), waveform, track.sample_rate, format="FLAC", subtype="PCM_16")
    return relative


def _audio_field(
    track: AudioTrack | None, relative: str | None, start: float, duration: float
) -> dict[str, Any] | None:
    if track is None or relative is None:
        return None
    offset = track.offset + start
    available = track.duration - offset
    if offset < 0 or available <= 0:
        return None
    return {
        "path": relative,
        "offset": float(offset),
        "duration": float(min(duration, available)),
        "sample_rate": int(track.sample_rate),
        "kind": track.kind,
        "genre": track.genre,
    }


def _window_words(words: list[Word], start: float, end: float) -> list[dict[str, Any]]:
    return [
        {"text": w.text, "start": max(w.start - start, 0.0), "end": min(w.end, end) - start}
        for w in words
        if w.end > start
        and w.start < end
        and (w.start + w.end) / 2 >= start
        and (w.start + w.end) / 2 < end
    ]


def process_take(
    clip: SourceClip, settings: TakeSettings, staging: Path, result: ItemResult
) -> None:
    """Append the rows of one take to `result` and record every frame or window it drops."""
    split = settings.split_of(clip)
    audio_relative = _write_audio(clip.audio, clip.take_id, staging) if clip.audio else None
    runs = finite_frame_runs(clip.joints)
    lost = clip.frames - sum(end - start for start, end in runs)
    if lost:
        result.dropped.append(
            {"take_id": clip.take_id, "frames": lost, "reason": "NaN or infinite values"}
        )
    max_frames = round(settings.max_seconds * CANONICAL_FPS)
    min_frames = round(settings.min_seconds * CANONICAL_FPS)
    for run_start, run_end in runs:
        resampled = resample_motion(clip.joints[:, run_start:run_end], clip.fps)
        run_seconds = run_start / clip.fps
        for window_start, window_end in window_bounds(resampled.shape[1], max_frames):
            start = run_seconds + window_start / CANONICAL_FPS
            frames = window_end - window_start
            window_id = f"{clip.take_id}/{round(start * CANONICAL_FPS):06d}"
            if frames < min_frames:
                result.dropped.append(
                    {
                        "take_id": window_id,
                        "frames": frames,
                        "reason": f"shorter than {settings.min_seconds:g} s",
                    }
                )
                continue
            motion = canonicalize_motion(resampled[:, window_start:window_end])
            problem = quality_problem(motion, clip.joint_mask, CANONICAL_FPS, settings.thresholds)
            if problem:
                result.dropped.append({"take_id": window_id, "frames": frames, "reason": problem})
                continue
            duration = frames / CANONICAL_FPS
            words = _window_words(clip.words, start, start + duration)
            result.rows.append(
                {
                    "id": window_id,
                    "take_id": clip.take_id,
                    "source": clip.dataset,
                    "split": split,
                    "fps": CANONICAL_FPS,
                    "frames": frames,
                    "headcount": clip.agents,
                    "motion": motion,
                    "joint_mask": clip.joint_mask.tolist(),
                    "captions": [
                        {"text": c.text, "granularity": c.granularity} for c in clip.captions
                    ],
                    "audio": _audio_field(clip.audio, audio_relative, start, duration),
                    "transcript": " ".join(w["text"] for w in words) if words else None,
                    "words": words,
                    "tags": list(clip.tags),
                    "origin": clip.origin,
                    "take_offset": float(start),
                }
            )
            result.stats_all.add(motion, clip.joint_mask)
            if split == "train":
                result.stats.add(motion, clip.joint_mask)
