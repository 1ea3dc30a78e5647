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

`ReplyGrammar` states the automaton for one row. `ReplyConstraint`, the processor sampling
uses, runs it for every row of a batch at once in tensors on the model's device;
`ReferenceReplyConstraint` runs it row by row through `ReplyGrammar`, the reference the batched
one is tested against.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields

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
    """The automaton of one reply (see the module), one row at a time; shared by every row of a
    batch. `ReplyConstraint` runs the same automaton for a whole batch in tensors."""

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


class ReferenceReplyConstraint:
    """The per-row logits processor: `ReplyGrammar.advance` and `mask` row by row in Python.

    Slow (a device sync per row and token) but a direct reading of the module's rules: the
    reference that tests and `benchmarks/constraint_speed.py` hold `ReplyConstraint` to.
    """

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


class ReplyConstraint:
    """A `transformers` logits processor enforcing one `ReplyGrammar` per row of a batch whose
    (left-padded) prompts all end at column `prompt_length`.

    Every row walks its automaton at once, in tensors on the scores' device (`_BatchAutomaton`),
    so a step costs a few tensor operations whatever the batch size and never waits on the
    device; it masks exactly what `ReferenceReplyConstraint` masks.
    """

    def __init__(self, grammars: Sequence[ReplyGrammar], prompt_length: int) -> None:
        self.grammars = list(grammars)
        self.prompt_length = prompt_length
        self.seen = prompt_length
        self._automaton: _BatchAutomaton | None = None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.Tensor:
        """Mask `scores` `[batch, vocab]` given the tokens so far `input_ids` `[batch, length]`."""
        if self._automaton is None:
            self._automaton = _BatchAutomaton(self.grammars, scores)
        for position in range(self.seen, input_ids.shape[1]):
            self._automaton.advance(input_ids[:, position])
        self.seen = input_ids.shape[1]
        return self._automaton.mask(scores)


_KINDS = ("motion", "audio", "text")
"""Segment kinds in the order of their codes in `_Rules.kind`."""
_MOTION_KIND, _AUDIO_KIND, _TEXT_KIND = range(3)
_TEXT, _VISIBLE, _MOTION, _AUDIO, _NO_CLASS = range(5)
"""Rows of `_TokenTable.penalty`: the token classes of `ReplyGrammar.allowed`, then none."""


@dataclass(frozen=True)
class _Rules:
    """`ReplyRule` fields as tensors: `[batch, segments]` for the replies of a batch (padded
    past a row's last rule), `[batch]` for the segment each row is in (`at`).

    `steps` is -1 where free, `steps_from_audio` NaN where unset (float64, as Python computes
    the length it gives).
    """

    kind: torch.Tensor
    agents: torch.Tensor
    steps: torch.Tensor
    min_steps: torch.Tensor
    max_steps: torch.Tensor
    steps_from_audio: torch.Tensor

    @classmethod
    def of(cls, grammars: Sequence[ReplyGrammar], device: torch.device) -> _Rules:
        """The rules of `grammars`, one row each, `[batch, segments]`."""
        width = max(1, *(len(grammar.rules) for grammar in grammars))
        # Never read: a row past its last rule only allows `<|eos|>`, then padding.
        padding = ReplyRule("motion")
        rows = [grammar.rules + [padding] * (width - len(grammar.rules)) for grammar in grammars]

        def table(value: Callable[[ReplyRule], float], dtype: torch.dtype) -> torch.Tensor:
            return torch.tensor(
                [[value(rule) for rule in row] for row in rows], dtype=dtype, device=device
            )

        return cls(
            kind=table(lambda rule: _KINDS.index(rule.kind), torch.long),
            agents=table(lambda rule: rule.agents, torch.long),
            steps=table(lambda rule: -1 if rule.steps is None else rule.steps, torch.long),
            min_steps=table(lambda rule: rule.min_steps, torch.long),
            max_steps=table(lambda rule: rule.max_steps, torch.long),
            steps_from_audio=table(
                lambda rule: math.nan if rule.steps_from_audio is None else rule.steps_from_audio,
                torch.float64,
            ),
        )

    def at(self, segment: torch.Tensor) -> _Rules:
        """Each row's rule number `segment` `[batch]` (clamped to the last column)."""
        index = segment.clamp(max=self.kind.shape[1] - 1)[:, None]
        return _Rules(
            *(getattr(self, column.name).gather(1, index).squeeze(1) for column in fields(self))
        )


@dataclass(frozen=True)
class _BatchState:
    """`_RowState` of every row as `[batch]` tensors; -1 stands for None."""

    segment: torch.Tensor
    inside: torch.Tensor
    agent: torch.Tensor
    count: torch.Tensor
    first_agent_steps: torch.Tensor
    audio_tokens: torch.Tensor
    visible: torch.Tensor
    finished: torch.Tensor

    @classmethod
    def start(cls, batch: int, device: torch.device) -> _BatchState:
        """Every row before its first segment."""
        zeros = torch.zeros(batch, dtype=torch.long, device=device)
        false = torch.zeros(batch, dtype=torch.bool, device=device)
        none = torch.full((batch,), -1, dtype=torch.long, device=device)
        return cls(zeros, false, zeros, zeros, none, none, false, false)


@dataclass(frozen=True)
class _TokenTable:
    """The vocabulary as the batched automaton reads it, for scores of one size, type and
    device.

    `penalty` `[5, vocab]`: 0 where the text, visible text, motion and audio masks of
    `ReplyGrammar.mask` allow a token and -inf elsewhere, then a row of -inf (no class): added
    to scores, it masks them, and a float addition is much faster than a boolean select on a
    CPU. `blank` `[vocab]`: text tokens that decode to whitespace; `opening`, `closing` `[3]`:
    segment markers by kind code.
    """

    penalty: torch.Tensor
    blank: torch.Tensor
    opening: torch.Tensor
    closing: torch.Tensor
    pad: int
    eos: int
    agent_sep: int

    @classmethod
    def of(cls, grammar: ReplyGrammar, scores: torch.Tensor, with_text: bool) -> _TokenTable:
        """The table of `grammar`'s vocabulary for `scores` `[batch, vocab]`. Without text
        segments (`with_text` False) the blank tokens, slow to find, are not looked up: `blank`
        is empty and the visible-text row, never read, copies the text row."""
        size, device = scores.shape[-1], scores.device
        blank = torch.zeros(size, dtype=torch.bool, device=device)
        if with_text:
            blank_ids = sorted(grammar._blank_ids())
            blank[torch.tensor(blank_ids, dtype=torch.long, device=device)] = True
        names = ("text", "visible" if with_text else "text", "motion", "audio")
        masks = [grammar._class_mask(name, size, device) for name in names]
        allowed = torch.stack([*masks, torch.zeros_like(masks[0])])
        ids = grammar.vocabulary.special_ids
        return cls(
            penalty=torch.zeros(allowed.shape, dtype=scores.dtype, device=device).masked_fill(
                ~allowed, -math.inf
            ),
            blank=blank,
            opening=torch.tensor([ids[opening(kind)] for kind in _KINDS], device=device),
            closing=torch.tensor([ids[closing(kind)] for kind in _KINDS], device=device),
            pad=ids[PAD],
            eos=ids[EOS],
            agent_sep=ids[AGENT_SEP],
        )


class _BatchAutomaton:
    """`ReplyGrammar`'s automaton for every row of a batch at once: `advance` and `mask` do
    what `ReplyGrammar.advance` and `mask` do, as tensor operations over the rows."""

    def __init__(self, grammars: Sequence[ReplyGrammar], scores: torch.Tensor) -> None:
        vocabulary = grammars[0].vocabulary
        if any(grammar.vocabulary is not vocabulary for grammar in grammars):
            raise ValueError("every row of a batch must use one vocabulary")
        device = scores.device
        self.rules = _Rules.of(grammars, device)
        self.segments = torch.tensor([len(g.rules) for g in grammars], device=device)
        with_text = any(rule.kind == "text" for grammar in grammars for rule in grammar.rules)
        self.table = _TokenTable.of(grammars[0], scores, with_text)
        self.state = _BatchState.start(len(grammars), device)
        self.rule = self.rules.at(self.state.segment)  # kept in step with `state.segment`

    def advance(self, token: torch.Tensor) -> None:
        """Move every row past its `token` `[batch]` (which `mask` allowed)."""
        state, table, rule = self.state, self.table, self.rule
        past_end = state.segment >= self.segments
        live = ~state.finished & ~past_end
        opens = live & ~state.inside
        inside = live & state.inside
        closes = inside & (token == table.closing[rule.kind])
        separates = inside & ~closes & (token == table.agent_sep)
        codes = inside & ~closes & ~separates
        first_done = separates & (state.agent == 0)
        self.state = _BatchState(
            segment=state.segment + closes,
            inside=(state.inside | opens) & ~closes,
            agent=torch.where(opens, 0, state.agent + separates),
            count=torch.where(opens | separates, 0, state.count + codes),
            first_agent_steps=torch.where(
                opens, -1, torch.where(first_done, state.count, state.first_agent_steps)
            ),
            audio_tokens=torch.where(
                closes & (rule.kind == _AUDIO_KIND), state.count, state.audio_tokens
            ),
            visible=(state.visible & ~opens)
            | (codes & (rule.kind == _TEXT_KIND) & ~table.blank[token]),
            finished=state.finished | (past_end & (token == table.eos)),
        )
        self.rule = self.rules.at(self.state.segment)

    def mask(self, scores: torch.Tensor) -> torch.Tensor:
        """`scores` `[batch, vocab]`, -inf wherever a row's next token may not go."""
        token_class, single = self._options()
        masked = scores + self.table.penalty.index_select(0, token_class)
        # Give each row its single allowed id back (rows without one rewrite column 0 as is).
        index = single.clamp(min=0)[:, None]
        kept = torch.where(
            index == single[:, None], scores.gather(1, index), masked.gather(1, index)
        )
        return masked.scatter_(1, index, kept)

    def _options(self) -> tuple[torch.Tensor, torch.Tensor]:
        """What each row allows next (`ReplyGrammar.allowed`): a token class `[batch]` (a row of
        `_TokenTable.penalty`) and a single id `[batch]` (-1 for none)."""
        state, table, rule = self.state, self.table, self.rule
        is_text = rule.kind == _TEXT_KIND
        text_class, text_single = self._text_options()
        code_class, code_single = self._code_options()
        token_class = torch.where(is_text, text_class, code_class)
        single = torch.where(is_text, text_single, code_single)
        token_class = torch.where(state.inside, token_class, _NO_CLASS)
        single = torch.where(state.inside, single, table.opening[rule.kind])
        past_end = state.segment >= self.segments
        token_class = torch.where(past_end, _NO_CLASS, token_class)
        single = torch.where(state.finished, table.pad, torch.where(past_end, table.eos, single))
        return token_class, single

    def _text_options(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Inside text: each row's token class and single id (-1 for none) allowed."""
        state, rule = self.state, self.rule
        forced = state.count >= rule.max_steps
        blank_allowed = state.visible | (state.count < rule.max_steps - 1)
        token_class = torch.where(blank_allowed, _TEXT, _VISIBLE)
        closes = forced | (state.visible & (state.count >= rule.min_steps))
        return (
            torch.where(forced, _NO_CLASS, token_class),
            torch.where(closes, self.table.closing[rule.kind], -1),
        )

    def _code_options(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Inside motion or audio: each row's token class and single id (-1 for none) allowed."""
        state, table, rule = self.state, self.table, self.rule
        target = self._target_steps()
        fixed = target >= 0
        limit = torch.where(fixed, target, rule.max_steps)
        done = (state.count >= limit) | (~fixed & (state.count >= rule.min_steps))
        kind_class = torch.where(rule.kind == _MOTION_KIND, _MOTION, _AUDIO)
        last_agent = state.agent == rule.agents - 1
        end = torch.where(last_agent, table.closing[rule.kind], table.agent_sep)
        return (
            torch.where(state.count < limit, kind_class, _NO_CLASS),
            torch.where(done, end, -1),
        )

    def _target_steps(self) -> torch.Tensor:
        """`ReplyGrammar.target_steps` of every row `[batch]`, -1 where not fixed."""
        state, rule = self.state, self.rule
        from_audio = ~rule.steps_from_audio.isnan() & (state.audio_tokens >= 0)
        scaled = state.audio_tokens.double() * rule.steps_from_audio.nan_to_num(0.0) - 1e-9
        audio_steps = scaled.ceil().clamp(min=1).long()
        later_agent = torch.where(state.agent > 0, state.first_agent_steps, -1)
        return torch.where(
            rule.steps >= 0, rule.steps, torch.where(from_audio, audio_steps, later_agent)
        )
