"""Micro batches for the language model: length bucketing, padding, labels, and the stream of
batches across epochs whose position a checkpoint records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from vermo_cli.errors import VermoError
from vermo_cli.messages.training_examples import Example, ExampleSource

IGNORE_INDEX = -100
"""Label of positions that take no part in the loss (PyTorch's and transformers' convention)."""

BATCHES_PER_CHUNK = 64
"""Length bucketing sorts examples within shuffled chunks of this many micro batches: larger
chunks waste less padding, smaller ones keep more randomness in what is batched together."""


class EmptyDataError(VermoError):
    """An epoch or a validation set holds no examples."""


@dataclass(frozen=True)
class TokenBatch:
    """One padded micro batch (right padding).

    `input_ids`, `attention_mask` (1 on real tokens) and `labels` are `[batch, tokens]`;
    `labels[b, i]` is `input_ids[b, i]` where that token counts in the loss, else -100. Causal
    LMs shift internally: logits at position `i - 1` predict the label at `i`.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor

    @property
    def tokens(self) -> int:
        """Real (non-padding) tokens in the batch."""
        return int(self.attention_mask.sum())

    @property
    def target_tokens(self) -> int:
        """Tokens the loss is computed on (the first position of a row is never a target)."""
        return int((self.labels[:, 1:] != IGNORE_INDEX).sum())

    def to(self, device: torch.device | str) -> TokenBatch:
        """The same batch on `device`."""
        return TokenBatch(
            self.input_ids.to(device), self.attention_mask.to(device), self.labels.to(device)
        )


def collate(examples: Sequence[Example], pad_id: int, max_length: int) -> TokenBatch:
    """Pad `examples` (each truncated to `max_length` tokens) to the longest one on the right."""
    lengths = [min(len(example), max_length) for example in examples]
    width = max(lengths)
    input_ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    attention_mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, (example, length) in enumerate(zip(examples, lengths, strict=True)):
        ids = torch.tensor(example.input_ids[:length], dtype=torch.long)
        counted = torch.tensor(example.loss_mask[:length], dtype=torch.bool)
        input_ids[row, :length] = ids
        attention_mask[row, :length] = 1
        labels[row, :length] = torch.where(counted, ids, IGNORE_INDEX)
    return TokenBatch(input_ids, attention_mask, labels)


def bucketed_batches(
    lengths: Sequence[int], micro_batch_size: int, seed: int
) -> list[tuple[int, ...]]:
    """Group example indices into micro batches of similar length, deterministically for a seed.

    Indices are shuffled, cut into chunks of `BATCHES_PER_CHUNK` micro batches, sorted by length
    within each chunk and split into batches; the batch order is shuffled again so that lengths
    vary from step to step. Every index appears exactly once; the last batch may be smaller.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    chunk = micro_batch_size * BATCHES_PER_CHUNK
    batches: list[tuple[int, ...]] = []
    for start in range(0, len(order), chunk):
        members = order[start : start + chunk]
        members = members[np.argsort([lengths[i] for i in members], kind="stable")]
        batches.extend(
            tuple(int(i) for i in members[first : first + micro_batch_size])
            for first in range(0, len(members), micro_batch_size)
        )
    return [batches[i] for i in rng.permutation(len(batches))]


def epoch_seed(seed: int, epoch: int) -> int:
    """The bucketing seed of one epoch (a pure function of the run's seed and the epoch)."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


class MicroBatchStream:
    """Endless micro batches over successive epochs of a source; one data-parallel rank's share.

    All ranks plan the same global sequence of micro batches (epoch by epoch); an optimizer step
    consumes `accumulation * world_size` of them and rank `r` trains on every `world_size`-th
    one starting at `r`, so every rank runs the same number of forward passes (ZeRO-3 needs that)
    and a step never waits for an epoch to end. The position, `(epoch, next batch)`, is all a
    checkpoint needs to continue exactly.
    """

    def __init__(
        self,
        source: ExampleSource,
        seed: int,
        micro_batch_size: int,
        max_length: int,
        pad_id: int,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.source = source
        self.seed = seed
        self.micro_batch_size = micro_batch_size
        self.max_length = max_length
        self.pad_id = pad_id
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self.position = 0
        self._loaded_epoch = -1
        self._examples: Sequence[Example] = ()
        self._plan: list[tuple[int, ...]] = []

    def batches_in_epoch(self, epoch: int) -> int:
        """Global micro batches that epoch `epoch` is cut into."""
        self._load(epoch)
        return len(self._plan)

    def next_step(self, accumulation: int) -> list[TokenBatch]:
        """This rank's `accumulation` micro batches of the next optimizer step."""
        mine: list[TokenBatch] = []
        for index in range(accumulation * self.world_size):
            self._load(self.epoch)
            if index % self.world_size == self.rank:
                members = self._plan[self.position]
                examples = [self._examples[i] for i in members]
                mine.append(collate(examples, self.pad_id, self.max_length))
            self.position += 1
            if self.position == len(self._plan):
                self.epoch, self.position = self.epoch + 1, 0
        return mine

    def state(self) -> dict[str, Any]:
        """Where the stream stands (for a checkpoint)."""
        return {"epoch": self.epoch, "position": self.position}

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from a position returned by `state()`."""
        self.epoch, self.position = int(state["epoch"]), int(state["position"])

    def _load(self, epoch: int) -> None:
        if epoch == self._loaded_epoch:
            return
        examples = self.source.epoch(epoch)
        if len(examples) == 0:
            raise EmptyDataError(f"epoch {epoch} of the training data holds no examples")
        lengths = [min(len(example), self.max_length) for example in examples]
        self._plan = bucketed_batches(lengths, self.micro_batch_size, epoch_seed(self.seed, epoch))
        self._examples = examples
        self._loaded_epoch = epoch


def validation_batches(
    examples: Sequence[Example], micro_batch_size: int, max_length: int, pad_id: int
) -> list[TokenBatch]:
    """Fixed validation micro batches, sorted by length so that little is padding."""
    order = sorted(range(len(examples)), key=lambda i: min(len(examples[i]), max_length))
    return [
        collate([examples[i] for i in order[first : first + micro_batch_size]], pad_id, max_length)
        for first in range(0, len(order), micro_batch_size)
    ]
