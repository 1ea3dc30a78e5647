"""Training examples from a token corpus: every (clip, task) pair a stage trains on, as ids
with the stage's loss mask.

The stage is data, not code: pretraining counts every token after `<|bos|>` in the loss,
sft and specialize only the reply's tokens. Each epoch is a pure function of the seed and the
epoch number (a resumed run sees exactly the same examples).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from vermo_cli.errors import CorpusError
from vermo_cli.messages.builder import ClipTokens, build_message, can_use
from vermo_cli.messages.message import to_ids
from vermo_cli.messages.tasks import Stage, TaskSpec
from vermo_cli.tokenizers.token_corpus import open_token_corpus
from vermo_cli.tokenizers.vocabulary import Vocabulary

VALIDATION_SEED_OFFSET = 1_000_003


@dataclass(frozen=True)
class Example:
    """One training message as ids.

    `loss_mask[i]` says whether predicting `input_ids[i]` (from the tokens before it) counts in
    the loss: every token for pretraining, only the reply's tokens for sft and specialize.
    """

    input_ids: tuple[int, ...]
    loss_mask: tuple[bool, ...]
    task: str = ""

    def __post_init__(self) -> None:
        if len(self.input_ids) != len(self.loss_mask):
            raise ValueError("input_ids and loss_mask differ in length")

    def __len__(self) -> int:
        return len(self.input_ids)


class ExampleSource(Protocol):
    """Training and validation examples; `epoch(n)` is a pure function of the source's seed and
    `n` (so a resumed run sees exactly the examples an uninterrupted one would)."""

    def epoch(self, index: int) -> Sequence[Example]: ...

    def validation(self) -> Sequence[Example]: ...


def loss_mask(in_reply: list[bool], stage: Stage) -> tuple[bool, ...]:
    """Which tokens count in the loss: all but the first (`<|bos|>`, which nothing predicts) for
    pretraining; the reply's tokens for sft and specialize."""
    if stage == "pretrain":
        return (False, *([True] * (len(in_reply) - 1)))
    return tuple(in_reply)


def read_clips(token_corpus: Path) -> tuple[list[ClipTokens], dict]:
    """Every clip of a token corpus, and its sidecar."""
    rows, info = open_token_corpus(token_corpus)
    compression = int(info["tokenizer"]["compression"])
    columns = [c for c in rows.column_names if c != "words"]
    return [ClipTokens.from_row(row, compression) for row in rows.select_columns(columns)], info


class TaskExampleSource:
    """Examples of `task_names` over the train clips (validation: the val clips, else test)."""

    def __init__(
        self,
        clips: Sequence[ClipTokens],
        tasks: dict[str, TaskSpec],
        task_names: Sequence[str],
        vocabulary: Vocabulary,
        stage: Stage,
        seed: int = 0,
        repeats: dict[str, int] | None = None,
    ) -> None:
        self.tasks = [tasks[name] for name in task_names]
        self.repeats = dict(repeats or {})
        unknown = sorted(set(self.repeats) - set(task_names))
        if unknown:
            raise CorpusError(f"task_repeats names task(s) not trained here: {', '.join(unknown)}")
        self.vocabulary = vocabulary
        self.stage = stage
        self.seed = seed
        self.train_clips = [clip for clip in clips if clip.split == "train"]
        held_out = [clip for clip in clips if clip.split == "val"]
        self.validation_clips = held_out or [clip for clip in clips if clip.split == "test"]
        if not self.pairs(self.train_clips):
            names = ", ".join(task_names)
            raise CorpusError(f"no training clip can be used by the task(s) {names}")
        self._validation: list[Example] | None = None

    def pairs(self, clips: Sequence[ClipTokens]) -> list[tuple[TaskSpec, ClipTokens]]:
        """Every (task, clip) combination the tasks can use, clip-major."""
        return [(task, clip) for clip in clips for task in self.tasks if can_use(task, clip)]

    def _examples(
        self, clips: Sequence[ClipTokens], rng: random.Random, repeat: bool = False
    ) -> Iterator[Example]:
        for task, clip in self.pairs(clips):
            for _ in range(self.repeats.get(task.name, 1) if repeat else 1):
                ids, in_reply = to_ids(build_message(task, clip, "train", rng), self.vocabulary)
                yield Example(tuple(ids), loss_mask(in_reply, self.stage), task.name)

    def epoch(self, index: int) -> list[Example]:
        """The training examples of epoch `index` (fresh random choices each epoch; tasks in
        `repeats` that many times)."""
        rng = random.Random(self.seed * 1_000_000 + index)
        return list(self._examples(self.train_clips, rng, repeat=True))

    def validation(self) -> list[Example]:
        """The validation examples (the same every call)."""
        if self._validation is None:
            rng = random.Random(self.seed + VALIDATION_SEED_OFFSET)
            self._validation = list(self._examples(self.validation_clips, rng))
        return self._validation

    def task_counts(self) -> dict[str, int]:
        """Training examples per task in one epoch."""
        counts = {task.name: 0 for task in self.tasks}
        for task, _ in self.pairs(self.train_clips):
            counts[task.name] += self.repeats.get(task.name, 1)
        return counts


def vocabulary_texts(clips: Sequence[ClipTokens], tasks: dict[str, TaskSpec]) -> Iterator[str]:
    """All text the model reads or writes: captions, transcripts, genres, instructions, numbers."""
    for clip in clips:
        yield from clip.captions
        if clip.transcript:
            yield clip.transcript
        if clip.genre:
            yield clip.genre
    for task in tasks.values():
        yield from task.instructions
    yield " ".join(f"{n / 10:.1f}" for n in range(0, 400))
    yield " ".join(str(n) for n in range(0, 100))
