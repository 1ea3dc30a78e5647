"""Constrained decoding: a logits processor that only lets a reply be well formed.

The reply of a task is a fixed sequence of segments (`ReplyRule`s), then `<|eos|>`. While
sampling, each row of the batch walks through that sequence; at every step the processor masks
every token that would break it:

- outside a segment, only the next segment's opening token (or `<|eos|>` after the last);
- inside motion, only motion codes, `[AGENT_SEP]` when the current person is complete and more
  are expected, and the closing token when the last person is complete; every person gets the
  same number of codes, exactly `steps` when the rule fixes it (a requested duration);
- inside audio, only codec tokens, and the closing token at the fixed or maximum length;
- inside text, only text tokens, closing once some visible (not only blank) text was written
  and forced at `max_steps`;
- after `<|eos|>`, only padding.

A rule may take its length from an earlier segment (`steps_from_audio`: a dance as long as
the music generated before it), so composed replies stay in sync.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from vermo_cli.tokenizers.vocabulary import AGENT_SEP, EOS, PAD, Vocabulary, closing, opening

MAX_TEXT_TOKENS = 64
"""Longest caption a reply may hold, in tokens."""


@dataclass(frozen=True)
class ReplyRule:
    """One segment of a reply.

    `kind`: `motion`, `audio` or `text`. `agents`: people in a motion segment. `steps`: exact
    codes per person (motion) or tokens (audio), or None for any length from `min_steps` to
    `max_steps`. `steps_from_audio`: for a motion after an audio segment, the number of motion
    codes per codec token (the motion then covers the audio: codes rounded up).
    """

    kind: str
    agents: int = 1
    steps: int | None = None
    min_steps: int = 1
    max_steps: int = MAX_TEXT_TOKENS
    steps_from_audio: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("motion", "audio", "text"):
            raise ValueError(f"unknown segment kind {self.kind!r}")
        if self.agents < 1 or self.max_steps < 1 or self.min_steps < 1:
            raise ValueError("agents and step bounds must be positive")

    @property
    def longest(self) -> int:
        """Most tokens the segment can take, opening and closing included."""
        per_agent = self.steps if self.steps is not None else self.max_steps
        return 2 + self.agents * per_agent + (self.agents - 1)


@dataclass
class _RowState:
    """Where one row of the batch is in its reply."""

    segment: int = 0
    inside: bool = False
    agent: int = 0
    count: int = 0
    first_agent_steps: int | None = None
    audio_tokens: int | None = None
    visible: bool = False
    finished: bool = False


@dataclass
class ReplyGrammar:
    """The automaton of one reply (see the module); shared by every row of a batch."""

    rules: list[ReplyRule]
    vocabulary: Vocabulary
    _masks: dict[str, torch.Tensor] = field(default_factory=dict)
    _blank: frozenset[int] | None = None

    def max_new_tokens(self) -> int:
        """Most tokens a reply can take, `<|eos|>` included."""
        return sum(rule.longest for rule in self.rules) + 1

    def new_state(self) -> _RowState:
        return _RowState()

    def target_steps(self, state: _RowState, rule: ReplyRule) -> int | None:
        """Exact codes for the current person, if fixed."""
        if rule.steps is not None:
            return rule.steps
        if rule.steps_from_audio is not None and state.audio_tokens is not None:
            return max(1, math.ceil(state.audio_tokens * rule.steps_from_audio - 1e-9))
        if state.agent > 0:
            return state.first_agent_steps
        return None

    def allowed(self, state: _RowState) -> list[str | int]:
        """Token classes (`text`, `motion`, `audio`) and single ids allowed next."""
        ids = self.vocabulary.special_ids
        if state.finished:
            return [ids[PAD]]
        if state.segment >= len(self.rules):
            return [ids[EOS]]
        rule = self.rules[state.segment]
        if not state.inside:
            return [ids[opening(rule.kind)]]
        end = ids[closing(rule.kind)]
        if rule.kind == "text":
            if state.count >= rule.max_steps:
                return [end]
            if not state.visible:
                return ["visible"] if state.count >= rule.max_steps - 1 else ["text"]
            return ["text", end] if state.count >= rule.min_steps else ["text"]
        target = self.target_steps(state, rule)
        limit = target if target is not None else rule.max_steps
        done = state.count >= limit or (target is None and state.count >= rule.min_steps)
        options: list[str | int] = [] if state.count >= limit else [rule.kind]
        if done:
            last_agent = state.agent == rule.agents - 1
            options.append(end if last_agent else ids[AGENT_SEP])
        return options

    def advance(self, state: _RowState, token: int) -> None:
        """Move `state` past `token` (which `allowed` permitted)."""
        ids = self.vocabulary.special_ids
        if state.finished:
            return
        if state.segment >= len(self.rules):
            state.finished = token == ids[EOS] or state.finished
            return
        rule = self.rules[state.segment]
        if not state.inside:
            state.inside, state.agent, state.count = True, 0, 0
            state.first_agent_steps, state.visible = None, False
            return
        if token == ids[closing(rule.kind)]:
            if rule.kind == "audio":
                state.audio_tokens = state.count
            state.inside = False
            state.segment += 1
            return
        if token == ids[AGENT_SEP]:
            if state.agent == 0:
                state.first_agent_steps = state.count
            state.agent += 1
            state.count = 0
            return
        state.count += 1
        if rule.kind == "text" and not state.visible:
            state.visible = token not in self._blank_ids()

    def _blank_ids(self) -> frozenset[int]:
        """Text tokens that decode to whitespace only."""
        if self._blank is None:
            text = self.vocabulary.text
            self._blank = frozenset(
                token
                for token in range(self.vocabulary.text_size)
                if not text.decode([token]).strip()
            )
        return self._blank

    def mask(self, state: _RowState, size: int, device: torch.device) -> torch.Tensor:
        """Boolean `[size]`: True where the next token may go."""
        allowed = torch.zeros(size, dtype=torch.bool, device=device)
        for option in self.allowed(state):
            if isinstance(option, int):
                allowed[option] = True
            else:
                allowed |= self._class_mask(option, size, device)
        return allowed

    def _class_mask(self, name: str, size: int, device: torch.device) -> torch.Tensor:
        key = f"{name}:{size}:{device}"
        if key not in self._masks:
            vocabulary = self.vocabulary
            mask = torch.zeros(size, dtype=torch.bool, device=device)
            if name in ("text", "visible"):
                mask[: vocabulary.text_size] = True
                for special in vocabulary.text.all_special_ids:
                    if special < vocabulary.text_size:
                        mask[special] = False
                if name == "visible":
                    mask[sorted(self._blank_ids())] = False
            elif name == "motion":
                first = vocabulary.motion_offset
                mask[first : first + vocabulary.built_for.motion_size] = True
            else:
                first = vocabulary.audio_offset
                mask[first : first + vocabulary.built_for.audio_size] = True
            self._masks[key] = mask
        return self._masks[key]


class ReplyConstraint:
    """A `transformers` logits processor enforcing one `ReplyGrammar` per row of a batch whose
    (left-padded) prompts all end at column `prompt_length`."""

    def __init__(self, grammars: Sequence[ReplyGrammar], prompt_length: int) -> None:
        self.grammars = list(grammars)
        self.prompt_length = prompt_length
        self.states = [grammar.new_state() for grammar in self.grammars]
        self.seen = prompt_length

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.Tensor:
        """Mask `scores` `[batch, vocab]` given the tokens so far `input_ids` `[batch, length]`."""
        rows = list(zip(self.grammars, self.states, strict=True))
        for position in range(self.seen, input_ids.shape[1]):
            for row, (grammar, state) in enumerate(rows):
                grammar.advance(state, int(input_ids[row, position]))
        self.seen = input_ids.shape[1]
        size = scores.shape[-1]
        masked = scores.clone()
        for row, (grammar, state) in enumerate(rows):
            allowed = grammar.mask(state, size, scores.device)
            masked[row, ~allowed] = -math.inf
        return masked
