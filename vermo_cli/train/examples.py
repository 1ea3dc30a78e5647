"""What the training loop consumes: token sequences with a per-token loss mask."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


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
