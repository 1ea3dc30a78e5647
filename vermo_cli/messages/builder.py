"""The one message builder: (task, clip) -> `Message`, for training and for evaluation.

Training (`mode="train"`) picks an instruction paraphrase and a caption at random, inserts each
optional condition the clip can supply with probability `OPTIONAL_PROBABILITY` at a random place
among the conditions, and draws the prompt/reply split of pred and btwn from the task's ranges.
Evaluation (`mode="eval"`) is deterministic: the first paraphrase, the first caption, only the
required conditions and the protocol's split.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Literal

from vermo_cli.messages.message import (
    Message,
    Segment,
    audio_segment,
    motion_segment,
    text_segment,
)
from vermo_cli.messages.tasks import TaskSpec

OPTIONAL_PROBABILITY = 0.5
MOTION_FPS = 30.0
Mode = Literal["train", "eval"]


@dataclass(frozen=True)
class ClipTokens:
    """What the builder needs of one token-corpus clip.

    `motion`: FlowVQ codes `[agents][steps]` (one step = `compression` frames at 30 fps);
    `audio`: codec tokens `[tokens]` of the clip's audio span (empty without audio).
    """

    id: str
    split: str
    headcount: int
    frames: int
    motion: tuple[tuple[int, ...], ...]
    captions: tuple[str, ...]
    audio: tuple[int, ...] = ()
    audio_kind: str | None = None
    genre: str | None = None
    transcript: str = ""
    compression: int = 4

    @classmethod
    def from_row(cls, row: dict[str, Any], compression: int) -> ClipTokens:
        """From a token-corpus row (`vermo tokenize encode` output)."""
        audio = row.get("audio") or None
        return cls(
            id=row["id"],
            split=row["split"],
            headcount=int(row["headcount"]),
            frames=int(row["frames"]),
            motion=tuple(tuple(int(c) for c in agent) for agent in row["motion_tokens"]),
            captions=tuple(caption["text"] for caption in row.get("captions") or ()),
            audio=tuple(int(c) for c in row.get("audio_tokens") or ()),
            audio_kind=audio["kind"] if audio else None,
            genre=(audio.get("genre") or None) if audio else None,
            transcript=row.get("transcript") or "",
            compression=compression,
        )

    @property
    def steps(self) -> int:
        """Motion codes per person."""
        return len(self.motion[0]) if self.motion else 0


def can_use(task: TaskSpec, clip: ClipTokens) -> bool:
    """Whether the clip has everything the task needs (people, captions, audio, length)."""
    needs = task.needs
    if clip.headcount not in task.headcounts or clip.steps == 0:
        return False
    if "caption" in needs and not clip.captions:
        return False
    uses_audio = task.audio_kind is not None and bool({"music", "speech", "audio"} & needs)
    if uses_audio and (clip.audio_kind != task.audio_kind or not clip.audio):
        return False
    if "genre" in task.required and not clip.genre:
        return False
    if "past" in needs or "future" in needs:
        return clip.steps >= 4  # room for given and generated parts
    return True


def split_steps(task: TaskSpec, steps: int, mode: Mode, rng: random.Random) -> tuple[int, int]:
    """Codes given before and after the reply, `(past, future)`, for a motion of `steps` codes:
    the protocol's shares at evaluation, shares drawn from its ranges in training; each part at
    least one code and the reply at least one."""
    protocol = task.protocol
    if mode == "eval":
        past_share, future_share = protocol.past, protocol.future
    else:
        past_share = rng.uniform(*protocol.past_range) if "past" in task.needs else 0.0
        future_share = rng.uniform(*protocol.future_range) if "future" in task.needs else 0.0
    past = max(1, round(steps * past_share)) if "past" in task.needs else 0
    future = max(1, round(steps * future_share)) if "future" in task.needs else 0
    while past + future >= steps:
        if future > 1:
            future -= 1
        else:
            past -= 1
    return past, future


def format_duration(seconds: float) -> str:
    """Duration as the text of a duration segment (`4.0`)."""
    return f"{seconds:.1f}"


def build_message(task: TaskSpec, clip: ClipTokens, mode: Mode, rng: random.Random) -> Message:
    """The message of `task` for `clip` (see the module for what is random in training)."""
    training = mode == "train"
    instruction = rng.choice(task.instructions) if training else task.instructions[0]
    caption = (rng.choice(clip.captions) if training else clip.captions[0]) if clip.captions else ""
    past, future = (0, 0)
    if "past" in task.needs or "future" in task.needs:
        past, future = split_steps(task, clip.steps, mode, rng)
    reply_motion = tuple(agent[past : len(agent) - future] for agent in clip.motion)
    reply_seconds = len(reply_motion[0]) * clip.compression / MOTION_FPS

    def condition(name: str) -> Segment | None:
        if name == "caption":
            return text_segment("text", caption) if caption else None
        if name == "duration":
            return text_segment("duration", format_duration(reply_seconds))
        if name == "headcount":
            return text_segment("headcount", str(clip.headcount))
        if name == "genre":
            return text_segment("genre", clip.genre) if clip.genre else None
        if name == "motion":
            return motion_segment(clip.motion)
        if name == "past":
            return motion_segment([agent[:past] for agent in clip.motion])
        if name == "future":
            return motion_segment([agent[len(agent) - future :] for agent in clip.motion])
        if name in ("music", "speech"):
            return audio_segment(clip.audio) if clip.audio else None
        raise ValueError(f"unknown condition {name!r}")

    conditions = [segment for name in task.required if (segment := condition(name))]
    if training:
        for name in task.optional:
            segment = condition(name)
            if segment is not None and rng.random() < OPTIONAL_PROBABILITY:
                conditions.insert(rng.randint(0, len(conditions)), segment)

    reply = []
    for part in task.reply:
        if part == "motion":
            reply.append(motion_segment(reply_motion))
        elif part == "caption":
            reply.append(text_segment("text", caption))
        else:
            reply.append(audio_segment(clip.audio))
    return Message(instruction, tuple(conditions), tuple(reply))


def motion_steps_for(seconds: float, compression: int = 4) -> int:
    """Motion codes per person for a duration in seconds (30 fps, `compression` frames per
    code): 4 s -> 30 codes."""
    return max(1, math.ceil(seconds * MOTION_FPS / compression - 1e-9))
