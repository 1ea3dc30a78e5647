"""What a source hands to the corpus pipeline: one take with motion, captions, audio, words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from vermo_cli.motion.skeleton import NUM_JOINTS

Granularity = Literal["macro", "meso", "micro"]
AudioKind = Literal["music", "speech"]


@dataclass(frozen=True)
class Caption:
    """One description of a clip. `macro`: the action in a few words; `meso`: action plus manner
    (style, speed, direction); `micro`: body-part detail."""

    text: str
    granularity: Granularity = "macro"


@dataclass(frozen=True)
class Word:
    """A spoken word with its start and end time in seconds from the take's first motion frame."""

    text: str
    start: float
    end: float


@dataclass
class AudioTrack:
    """Audio that belongs to a take.

    `waveform`: `[samples]` float32 mono in [-1, 1]; `sample_rate` in Hz; `offset` is the time in
    seconds of the take's first motion frame within the waveform (0 when they start together).
    """

    waveform: np.ndarray
    sample_rate: int
    kind: AudioKind
    genre: str | None = None
    offset: float = 0.0

    @property
    def duration(self) -> float:
        """Length of the waveform in seconds."""
        return len(self.waveform) / float(self.sample_rate)


@dataclass
class SourceClip:
    """One take from a source, already on the canonical joint set but not yet canonicalised.

    `joints`: `[agents, frames, 52, 3]` float32, metres, y up, right-handed, at `fps` frames per
    second (any rate; the pipeline resamples to 30). `joint_mask`: `[52]` bool, True where the
    source really measured the joint (invalid joints hold a copy of their nearest valid ancestor).
    `take_id` is stable across runs and unique within the source; windows cut from one take share
    its split. `split` overrides the hash-based split (for datasets with official splits).
    """

    take_id: str
    dataset: str
    joints: np.ndarray
    fps: float
    joint_mask: np.ndarray
    captions: list[Caption] = field(default_factory=list)
    audio: AudioTrack | None = None
    words: list[Word] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    origin: str = ""
    split: str | None = None

    def __post_init__(self) -> None:
        self.joints = np.asarray(self.joints, dtype=np.float32)
        if self.joints.ndim != 4 or self.joints.shape[2:] != (NUM_JOINTS, 3):
            raise ValueError(
                f"{self.take_id}: joints must be [agents, frames, {NUM_JOINTS}, 3], "
                f"got {self.joints.shape}"
            )
        self.joint_mask = np.asarray(self.joint_mask, dtype=bool)
        if self.joint_mask.shape != (NUM_JOINTS,):
            raise ValueError(f"{self.take_id}: joint_mask must be [{NUM_JOINTS}]")

    @property
    def agents(self) -> int:
        """Number of people in the take."""
        return int(self.joints.shape[0])

    @property
    def frames(self) -> int:
        """Number of frames at `fps`."""
        return int(self.joints.shape[1])
