"""What a task is (`TaskSpec`), and how installed task plugins are found.

A task plugin is a module that exposes one `TaskSpec` and registers it under the entry-point
group `vermo.tasks` (vermo's own 14 live in `tasks/`, installed as `vermo_tasks`). The spec is
pure data: the message builder, the trainer and the evaluator read it, so a new task needs no
code anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from typing import Literal, get_args

from vermo_cli.errors import VermoError

ENTRY_POINT_GROUP = "vermo.tasks"

Condition = Literal[
    "caption", "duration", "headcount", "genre", "motion", "past", "future", "music", "speech"
]
"""What a prompt can carry. `motion`: the whole motion; `past` / `future`: its first / last
part (prediction and in-betweening); `music` / `speech`: the clip's audio of that kind."""
ReplyPart = Literal["motion", "caption", "audio"]
"""What a reply can carry, in the order given."""
Stage = Literal["pretrain", "sft", "specialize"]

TEXT_TO_MOTION_METRICS = (
    "fid", "r_precision_top1", "r_precision_top2", "r_precision_top3", "mm_dist", "diversity",
    "multimodality",
)  # fmt: skip
"""What text-to-motion tasks report (the HumanML3D / InterHuman protocol)."""
MOTION_TO_TEXT_METRICS = (
    "bleu1", "bleu4", "rouge_l", "cider", "bertscore", "r_precision_top1", "r_precision_top2",
    "r_precision_top3", "mm_dist",
)  # fmt: skip
"""What captioning tasks report."""
CONDITIONS: tuple[str, ...] = get_args(Condition)
REPLY_PARTS: tuple[str, ...] = get_args(ReplyPart)


class TaskError(VermoError):
    """An unknown task name, or a task plugin that does not describe a valid task."""


@dataclass(frozen=True)
class Protocol:
    """How an evaluation clip is split between prompt and reply, as fractions of its motion.

    `past`: the share of frames at the start given in the prompt; `future`: the share at the
    end. pred gives the first 40 % (`past=0.4`); btwn the first and last 20 %
    (`past=0.2, future=0.2`). Training draws the shares from `past_range` / `future_range`
    instead, so the model sees many splits.
    """

    past: float = 0.0
    future: float = 0.0
    past_range: tuple[float, float] = (0.0, 0.0)
    future_range: tuple[float, float] = (0.0, 0.0)
    headcount: int = 1
    """People in every benchmark clip (the evaluator models read one headcount at a time): 2
    for the two-person benchmarks mt2m and mm2t (InterHuman's protocol), else 1."""


@dataclass(frozen=True)
class TaskSpec:
    """One task: its message template, which clips it can use, and how it is evaluated."""

    name: str
    """Short name used on the command line (`t2m`)."""
    title: str
    """One-line description."""
    instructions: tuple[str, ...]
    """Paraphrases of the instruction; training picks one at random, evaluation the first."""
    required: tuple[Condition, ...]
    """Conditions every prompt of the task carries."""
    optional: tuple[Condition, ...]
    """Conditions inserted at random while training (and accepted at generation)."""
    reply: tuple[ReplyPart, ...]
    """What the model answers, in order."""
    benchmark: bool
    """One of the nine benchmark tasks (sft trains on these); else pretraining only."""
    audio_kind: Literal["music", "speech"] | None = None
    """Kind of audio the task uses (as the `music`/`speech` condition or the `audio` reply)."""
    headcounts: tuple[int, ...] = (1,)
    """People per clip the task takes."""
    protocol: Protocol = field(default_factory=Protocol)
    """Prompt/reply split of the motion for pred and btwn."""
    metrics: tuple[str, ...] = ()
    """Names of the metrics `vermo eval` reports for this task."""

    def __post_init__(self) -> None:
        problems = []
        if len(self.instructions) < 3:
            problems.append("needs at least three instruction paraphrases")
        for condition in (*self.required, *self.optional):
            if condition not in CONDITIONS:
                problems.append(f"unknown condition {condition!r}")
        for part in self.reply:
            if part not in REPLY_PARTS:
                problems.append(f"unknown reply part {part!r}")
        if not self.reply:
            problems.append("has no reply")
        if set(self.required) & set(self.optional):
            problems.append("lists a condition as both required and optional")
        uses_audio = {"music", "speech", "audio"} & (self.needs | set(self.optional))
        if bool(uses_audio) != (self.audio_kind is not None):
            problems.append("must set audio_kind exactly when it uses music, speech or audio")
        for kind in ("music", "speech"):
            if kind in (*self.required, *self.optional) and self.audio_kind != kind:
                problems.append(f"takes {kind} but its audio_kind is {self.audio_kind!r}")
        if self.protocol.headcount not in self.headcounts:
            problems.append(
                f"benchmarks {self.protocol.headcount} people but takes {self.headcounts}"
            )
        if problems:
            raise TaskError(f"task {self.name!r}: {'; '.join(problems)}")

    @property
    def needs(self) -> frozenset[str]:
        """Everything a clip must have for this task (conditions and reply parts)."""
        return frozenset(self.required) | frozenset(self.reply)


def stage_tasks(tasks: dict[str, TaskSpec], stage: Stage, only: str | None = None) -> list[str]:
    """Names of the tasks a stage trains on: all for pretrain, the benchmarks for sft, `only`
    for specialize."""
    if stage == "pretrain":
        return list(tasks)
    if stage == "sft":
        return [name for name, task in tasks.items() if task.benchmark]
    if only is None:
        raise TaskError("specialize needs the task to train on (see `vermo tasks`)")
    if only not in tasks:
        raise TaskError(f"unknown task {only!r} (installed: {', '.join(tasks)})")
    return [only]


@cache
def load_tasks() -> dict[str, TaskSpec]:
    """Every installed task plugin, by name (vermo's own first, in their canonical order)."""
    tasks: dict[str, TaskSpec] = {}
    found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda point: _order(point.name))
    for point in found:
        try:
            spec = point.load()
        except Exception as error:  # a broken third-party plugin must not stop vermo
            raise TaskError(f"task plugin {point.name!r} failed to load: {error}") from error
        if not isinstance(spec, TaskSpec):
            raise TaskError(f"task plugin {point.name!r} ({point.value}) is not a TaskSpec")
        if spec.name != point.name:
            raise TaskError(f"task plugin {point.name!r} describes a task named {spec.name!r}")
        tasks[spec.name] = spec
    return tasks


def get_task(name: str) -> TaskSpec:
    """The installed task `name`; `TaskError` listing the installed ones otherwise."""
    tasks = load_tasks()
    if name not in tasks:
        raise TaskError(f"unknown task {name!r} (installed: {', '.join(tasks)})")
    return tasks[name]


_CANONICAL = (
    "t2m", "n2tm", "mt2m", "m2t", "mm2t", "mn2tm", "s2g", "g2s", "n2sg", "m2d", "d2m", "n2dm",
    "pred", "btwn",
)  # fmt: skip


def _order(name: str) -> tuple[int, str]:
    return (_CANONICAL.index(name), "") if name in _CANONICAL else (len(_CANONICAL), name)
