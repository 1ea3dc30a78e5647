"""From a task and the user's inputs to a prompt message and the rules its reply must follow."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from vermo_cli.errors import VermoError
from vermo_cli.generate import MAX_SAMPLES
from vermo_cli.generate.constraints import MAX_TEXT_TOKENS, ReplyRule
from vermo_cli.generate.inputs import MAX_SECONDS, load_motion_input
from vermo_cli.messages.builder import (
    MOTION_FPS,
    ClipTokens,
    build_message,
    format_duration,
    motion_steps_for,
    split_steps,
)
from vermo_cli.messages.message import Message, Segment, audio_segment, motion_segment
from vermo_cli.messages.message import text_segment as text
from vermo_cli.messages.tasks import TaskSpec

OPTION_OF_CONDITION = {
    "caption": "a caption (the text argument or --caption)",
    "duration": "--duration",
    "headcount": "--headcount",
    "genre": "--genre",
    "motion": "--motion",
    "past": "--past",
    "future": "--future",
    "music": "--music",
    "speech": "--speech",
}


class PromptError(VermoError):
    """The inputs do not fit the task (a missing or an unexpected condition)."""


@dataclass(frozen=True)
class PromptInputs:
    """What the user gave; paths are read when the prompt is built."""

    caption: str | None = None
    duration: float | None = None
    headcount: int | None = None
    genre: str | None = None
    motion: Path | None = None
    past: Path | None = None
    future: Path | None = None
    music: Path | None = None
    speech: Path | None = None

    def given(self) -> set[str]:
        """Names of the conditions given."""
        return {name for name in OPTION_OF_CONDITION if getattr(self, name) is not None}


@dataclass
class Prompt:
    """A prompt ready to sample from, and how to assemble the reply's motion afterwards."""

    message: Message
    rules: list[ReplyRule]
    headcount: int
    mask: np.ndarray | None = None
    """Valid joints of the given motion (None without one)."""
    before: np.ndarray | None = None
    """Codes `[agents, steps]` given before the reply's motion (pred, btwn)."""
    after: np.ndarray | None = None
    """Codes `[agents, steps]` given after it (btwn)."""
    given_before: np.ndarray | None = None
    """The joints `[agents, frames, 52, 3]` that `before` encodes, kept in the output."""
    given_after: np.ndarray | None = None
    """The joints `[agents, frames, 52, 3]` that `after` encodes, kept in the output."""
    audio: tuple[np.ndarray, int] | None = None
    """The prompt's music or speech `(waveform, rate)`, kept with the output."""
    summary: dict[str, str] = field(default_factory=dict)


class PromptCoder(Protocol):
    """What turns inputs into tokens (the loaded FlowVQ tokenizer and audio codec)."""

    tokens_per_second: float
    """Audio codec tokens per second."""
    compression: int
    """Motion frames per FlowVQ code."""

    def encode_motion(self, joints: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Codes `[agents, steps]` of joints `[agents, frames, 52, 3]`."""
        ...

    def encode_audio(self, path: Path) -> tuple[np.ndarray, np.ndarray, int]:
        """Codec tokens `[tokens]` of an audio file (at most 12 s), with its waveform and rate."""
        ...


def check_inputs(task: TaskSpec, inputs: PromptInputs) -> None:
    """`PromptError` for a missing required condition, one the task does not take, or a
    duration outside (0, 12] seconds; reads no file."""
    given = inputs.given()
    for condition in task.required:
        if condition == "headcount":
            continue  # defaults to the given motion's people, or 1
        if condition not in given:
            raise PromptError(f"{task.name} needs {OPTION_OF_CONDITION[condition]}")
    accepted = set(task.required) | set(task.optional) | {"headcount"}
    for condition in sorted(given - accepted):
        raise PromptError(f"{task.name} does not take {OPTION_OF_CONDITION[condition]}")
    if inputs.duration is not None and not 0 < inputs.duration <= MAX_SECONDS:
        raise PromptError(
            f"--duration must be more than 0 and at most {MAX_SECONDS:g} seconds, "
            f"not {inputs.duration:g}"
        )


def check_num_samples(num_samples: int) -> None:
    """`PromptError` unless `num_samples` is 1 to `MAX_SAMPLES` (10,000)."""
    if not 1 <= num_samples <= MAX_SAMPLES:
        raise PromptError(f"--num-samples must be 1 to {MAX_SAMPLES:,}, not {num_samples:,}")


def check_candidates(task: TaskSpec, candidates: int) -> None:
    """`PromptError` unless `candidates` is 1 or the task is given motion to meet (pred, btwn)."""
    if candidates < 1:
        raise PromptError(f"--candidates must be at least 1, not {candidates}")
    if candidates > 1 and not {"past", "future"} & task.needs:
        raise PromptError(
            f"--candidates applies to tasks given motion to meet (pred, btwn), not {task.name}"
        )


def build_prompt(task: TaskSpec, inputs: PromptInputs, coder: PromptCoder) -> Prompt:
    """The prompt message of `task` for `inputs`, and the rules of its reply."""
    check_inputs(task, inputs)
    motions = {
        name: load_motion_input(path)
        for name in ("motion", "past", "future")
        if (path := getattr(inputs, name)) is not None
    }
    people = {motion.agents for motion in motions.values()}
    if len(people) > 1:
        raise PromptError("the given motions have different numbers of people")
    headcount = inputs.headcount or (people.pop() if people else 1)
    if people and headcount not in people:
        raise PromptError(f"--headcount {headcount} differs from the given motion's people")
    if headcount not in task.headcounts:
        counts = " or ".join(map(str, task.headcounts))
        raise PromptError(f"{task.name} takes {counts} person(s), not {headcount}")
    codes = {name: coder.encode_motion(m.joints, m.mask) for name, m in motions.items()}
    audio = None
    audio_tokens: np.ndarray | None = None
    for name in ("music", "speech"):
        path = getattr(inputs, name)
        if path is not None:
            audio_tokens, waveform, rate = coder.encode_audio(path)
            audio = (waveform, rate)
    segments: dict[str, Segment] = {}
    if inputs.caption is not None:
        segments["caption"] = text("text", inputs.caption)
    if inputs.genre is not None:
        segments["genre"] = text("genre", inputs.genre)
    if inputs.duration is not None:
        segments["duration"] = text("duration", format_duration(inputs.duration))
    if "headcount" in task.required or inputs.headcount is not None:
        segments["headcount"] = text("headcount", str(headcount))
    for name, value in codes.items():
        segments[name] = motion_segment(value.tolist())
    if audio_tokens is not None:
        segments["music" if inputs.music is not None else "speech"] = audio_segment(
            audio_tokens.tolist()
        )
    order = [*task.required, *task.optional]
    conditions = tuple(segments[name] for name in order if name in segments)
    seconds = motions["motion"].frames / MOTION_FPS if "motion" in motions else None
    rules = reply_rules(task, inputs, codes, audio_tokens, headcount, coder, seconds)
    mask = next(iter(motions.values())).mask if motions else None
    return Prompt(
        message=Message(task.instructions[0], conditions, ()),
        rules=rules,
        headcount=headcount,
        mask=mask,
        before=codes.get("past"),
        after=codes.get("future"),
        given_before=motions["past"].joints if "past" in motions else None,
        given_after=motions["future"].joints if "future" in motions else None,
        audio=audio,
    )


def reply_rules(
    task: TaskSpec,
    inputs: PromptInputs,
    codes: dict[str, np.ndarray],
    audio_tokens: np.ndarray | None,
    headcount: int,
    coder: PromptCoder,
    motion_seconds: float | None = None,
    reply_steps: int | None = None,
) -> list[ReplyRule]:
    """The segments of the reply, with lengths fixed wherever the inputs determine them:
    `reply_steps` motion codes per person when given (evaluation: the ground truth's length),
    a requested duration, the protocol of pred/btwn, music or speech to move to (the motion
    covers it), or a motion to add audio to (the audio lasts `motion_seconds`)."""
    per_second = MOTION_FPS / coder.compression  # motion codes per second
    max_motion = int(MAX_SECONDS * per_second)
    max_audio = int(MAX_SECONDS * coder.tokens_per_second)
    motion_steps = motion_audio = None
    if reply_steps is not None:
        motion_steps = reply_steps
    elif inputs.duration is not None:
        motion_steps = motion_steps_for(inputs.duration, coder.compression)
    elif task.name == "pred" and "past" in codes:
        motion_steps = max(1, round(codes["past"].shape[1] * 1.5))  # 40 % given, 60 % made
    elif task.name == "btwn" and "past" in codes and "future" in codes:
        given = codes["past"].shape[1] + codes["future"].shape[1]
        motion_steps = max(1, round(given * 1.5))  # 20 % + 20 % given, 60 % made
    elif audio_tokens is not None:
        seconds = len(audio_tokens) / coder.tokens_per_second
        motion_steps = max(1, math.ceil(seconds * per_second - 1e-9))
    if inputs.duration is not None:
        motion_audio = max(1, round(inputs.duration * coder.tokens_per_second))
    if motion_seconds is not None:
        motion_audio = max(1, round(motion_seconds * coder.tokens_per_second))
    rules = []
    for part in task.reply:
        if part == "motion":
            follows_audio = "audio" in task.reply[: task.reply.index("motion")]
            rules.append(
                ReplyRule(
                    "motion",
                    agents=headcount,
                    steps=min(motion_steps, max_motion) if motion_steps else None,
                    min_steps=2,
                    max_steps=max_motion,
                    steps_from_audio=per_second / coder.tokens_per_second
                    if follows_audio and motion_steps is None
                    else None,
                )
            )
        elif part == "audio":
            steps = min(motion_audio, max_audio) if motion_audio else None
            rules.append(ReplyRule("audio", steps=steps, min_steps=8, max_steps=max_audio))
        else:
            rules.append(ReplyRule("text", max_steps=MAX_TEXT_TOKENS))
    return rules


def benchmark_prompt(
    task: TaskSpec, clip: ClipTokens, coder: PromptCoder, joints: np.ndarray | None = None
) -> Prompt:
    """The benchmark prompt of a token-corpus clip and the rules of its reply; with the clip's
    ground truth `joints` `[agents, frames, 52, 3]`, the given past and future frames are kept
    in the output, as a user's given motion is.

    The message is the builder's evaluation message (first instruction paraphrase, first
    caption, required conditions only, the protocol's past/future split), so evaluation asks
    exactly what training taught. When the task is given motion around its reply (pred, btwn),
    the reply has the ground truth's length, so the result can be compared frame by frame.
    """
    message = build_message(task, clip, "eval", random.Random(0))
    motion = np.array(clip.motion, dtype=np.int64)  # [agents, steps]
    past = future = 0
    if "past" in task.needs or "future" in task.needs:
        past, future = split_steps(task, clip.steps, "eval", random.Random(0))
    codes = {}
    if "motion" in task.required:
        codes["motion"] = motion
    if past:
        codes["past"] = motion[:, :past]
    if future:
        codes["future"] = motion[:, clip.steps - future :]
    uses_audio = bool({"music", "speech"} & set(task.required))
    audio_tokens = np.array(clip.audio, dtype=np.int64) if uses_audio else None
    seconds = clip.frames / MOTION_FPS if "motion" in codes else None
    rules = reply_rules(
        task,
        PromptInputs(),
        codes,
        audio_tokens,
        clip.headcount,
        coder,
        seconds,
        reply_steps=clip.steps - past - future if (past or future) else None,
    )
    return Prompt(
        message=Message(message.instruction, message.conditions, ()),
        rules=rules,
        headcount=clip.headcount,
        before=codes.get("past"),
        after=codes.get("future"),
        given_before=joints[:, : past * coder.compression] if joints is not None and past else None,
        given_after=(
            joints[:, (clip.steps - future) * coder.compression :]
            if joints is not None and future
            else None
        ),
    )


def motion_gap_prompt(
    task: TaskSpec,
    past: np.ndarray,
    future: np.ndarray,
    reply_steps: int,
    coder: PromptCoder,
    mask: np.ndarray,
) -> Prompt:
    """The prompt of a task given motion on both sides of its reply (btwn), from joints in
    memory: `past` and `future` `[agents, frames, 52, 3]` metres in the canonical frame, `mask`
    `[52]` their valid joints. The reply has `reply_steps` codes per person; the given joints
    are kept in the output. The message holds the task's required conditions in order, as
    evaluation messages do."""
    codes = {"past": coder.encode_motion(past, mask), "future": coder.encode_motion(future, mask)}
    conditions = tuple(motion_segment(codes[name].tolist()) for name in task.required)
    headcount = int(past.shape[0])
    rules = reply_rules(
        task, PromptInputs(), codes, None, headcount, coder, reply_steps=reply_steps
    )
    return Prompt(
        message=Message(task.instructions[0], conditions, ()),
        rules=rules,
        headcount=headcount,
        mask=mask,
        before=codes["past"],
        after=codes["future"],
        given_before=past,
        given_after=future,
    )
