"""Messages as data, and their conversion to ids and back.

A message reads, as tokens:

    <|bos|> [INSTR] instruction-text [COND] segment* [REPLY] segment* <|eos|>

and each segment is its modality's opening token, a body, and its closing token:

    <|text|> text <|/text|>            caption (condition or reply)
    <|motion|> codes [AGENT_SEP] codes <|/motion|>   one code stream per person
    <|audio|> codes <|/audio|>         music or speech, codec tokens
    <|duration|> 4.0 <|/duration|>     seconds, as text
    <|headcount|> 2 <|/headcount|>     people, as text
    <|genre|> hiphop <|/genre|>        music genre, as text

`to_ids` also returns each token's role (prompt or reply), from which the training stages make
their loss masks; `parse_ids` reads ids back, and refuses malformed ones with `MessageError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vermo_cli.errors import VermoError
from vermo_cli.tokenizers.vocabulary import (
    AGENT_SEP,
    BOS,
    CONDITION,
    EOS,
    INSTRUCTION,
    REPLY,
    SEGMENT_KINDS,
    Vocabulary,
    closing,
    opening,
)

SegmentKind = Literal["text", "motion", "audio", "duration", "headcount", "genre"]


class MessageError(VermoError):
    """Ids that do not form a well-formed message."""


@dataclass(frozen=True)
class Segment:
    """One part of a prompt or reply.

    Text kinds carry `text`; `motion` carries `agents` (one tuple of FlowVQ codes per person);
    `audio` carries `codes` (codec tokens).
    """

    kind: SegmentKind
    text: str = ""
    agents: tuple[tuple[int, ...], ...] = ()
    codes: tuple[int, ...] = ()


@dataclass(frozen=True)
class Message:
    """Instruction, conditions and reply of one task sample."""

    instruction: str
    conditions: tuple[Segment, ...]
    reply: tuple[Segment, ...]


def text_segment(kind: SegmentKind, text: str) -> Segment:
    """A segment of a text kind."""
    return Segment(kind=kind, text=text)


def motion_segment(agents: list[list[int]] | tuple[tuple[int, ...], ...]) -> Segment:
    """A motion segment of codes `[agents][steps]`."""
    return Segment(kind="motion", agents=tuple(tuple(int(c) for c in agent) for agent in agents))


def audio_segment(codes: list[int] | tuple[int, ...]) -> Segment:
    """An audio segment of codec tokens `[tokens]`."""
    return Segment(kind="audio", codes=tuple(int(c) for c in codes))


def segment_ids(segment: Segment, vocabulary: Vocabulary) -> list[int]:
    """Ids of one segment, with its opening and closing tokens."""
    body: list[int]
    if segment.kind == "motion":
        body = []
        for index, agent in enumerate(segment.agents):
            if index:
                body.append(vocabulary.id_of(AGENT_SEP))
            body += vocabulary.motion_ids(agent)
    elif segment.kind == "audio":
        body = vocabulary.audio_ids(segment.codes)
    else:
        body = vocabulary.encode_text(segment.text)
    return [
        vocabulary.id_of(opening(segment.kind)),
        *body,
        vocabulary.id_of(closing(segment.kind)),
    ]


def prompt_ids(message: Message, vocabulary: Vocabulary) -> list[int]:
    """Ids of the prompt: everything up to and including `[REPLY]` (what generation starts
    from)."""
    ids = [vocabulary.id_of(BOS), vocabulary.id_of(INSTRUCTION)]
    ids += vocabulary.encode_text(message.instruction)
    ids.append(vocabulary.id_of(CONDITION))
    for segment in message.conditions:
        ids += segment_ids(segment, vocabulary)
    ids.append(vocabulary.id_of(REPLY))
    return ids


def to_ids(message: Message, vocabulary: Vocabulary) -> tuple[list[int], list[bool]]:
    """Ids of the whole message and, per id, whether it belongs to the reply (the reply's
    segments and the final `<|eos|>`)."""
    ids = prompt_ids(message, vocabulary)
    in_reply = [False] * len(ids)
    for segment in message.reply:
        part = segment_ids(segment, vocabulary)
        ids += part
        in_reply += [True] * len(part)
    ids.append(vocabulary.id_of(EOS))
    in_reply.append(True)
    return ids, in_reply


def parse_ids(ids: list[int], vocabulary: Vocabulary) -> Message:
    """The message of `ids` (as `to_ids` writes them); `MessageError` if malformed."""
    reader = _Reader(list(ids), vocabulary)
    reader.expect(BOS)
    reader.expect(INSTRUCTION)
    instruction = vocabulary.decode_text(reader.text_until(CONDITION))
    reader.expect(CONDITION)
    conditions = reader.segments_until(REPLY)
    reader.expect(REPLY)
    reply = reader.segments_until(EOS)
    reader.expect(EOS)
    if not reader.done():
        raise MessageError(f"{len(reader.ids) - reader.position} tokens after <|eos|>")
    return Message(instruction, conditions, reply)


def parse_reply(ids: list[int], vocabulary: Vocabulary) -> tuple[Segment, ...]:
    """The segments of a generated reply (the ids after `[REPLY]`, ending with `<|eos|>`)."""
    reader = _Reader(list(ids), vocabulary)
    segments = reader.segments_until(EOS)
    reader.expect(EOS)
    return segments


class _Reader:
    """A cursor over ids with the small grammar of messages."""

    def __init__(self, ids: list[int], vocabulary: Vocabulary) -> None:
        self.ids = ids
        self.vocabulary = vocabulary
        self.position = 0
        self.openers = {vocabulary.id_of(opening(kind)): kind for kind in SEGMENT_KINDS}

    def done(self) -> bool:
        return self.position >= len(self.ids)

    def peek(self) -> int:
        if self.done():
            raise MessageError("message ends early")
        return self.ids[self.position]

    def expect(self, special: str) -> None:
        if self.peek() != self.vocabulary.id_of(special):
            raise MessageError(f"expected {special} at token {self.position}, got {self._name()}")
        self.position += 1

    def text_until(self, special: str) -> list[int]:
        stop = self.vocabulary.id_of(special)
        start = self.position
        while self.peek() != stop:
            if not self.vocabulary.is_text(self.peek()):
                raise MessageError(f"non-text token {self._name()} in the instruction")
            self.position += 1
        return self.ids[start : self.position]

    def segments_until(self, special: str) -> tuple[Segment, ...]:
        stop = self.vocabulary.id_of(special)
        segments = []
        while self.peek() != stop:
            kind = self.openers.get(self.peek())
            if kind is None:
                raise MessageError(
                    f"expected a segment at token {self.position}, got {self._name()}"
                )
            self.position += 1
            segments.append(self.segment_body(kind))
        return tuple(segments)

    def segment_body(self, kind: str) -> Segment:
        end = self.vocabulary.id_of(closing(kind))
        separator = self.vocabulary.id_of(AGENT_SEP)
        body: list[int] = []
        while self.peek() != end:
            body.append(self.peek())
            self.position += 1
        self.position += 1
        vocabulary = self.vocabulary
        if kind == "motion":
            agents: list[list[int]] = [[]]
            for token in body:
                if token == separator:
                    agents.append([])
                elif vocabulary.is_motion(token):
                    agents[-1].append(token - vocabulary.motion_offset)
                else:
                    raise MessageError(f"non-motion token {token} inside a motion segment")
            return motion_segment(agents)
        if kind == "audio":
            if not all(vocabulary.is_audio(token) for token in body):
                raise MessageError("non-audio token inside an audio segment")
            return audio_segment([token - vocabulary.audio_offset for token in body])
        if not all(vocabulary.is_text(token) for token in body):
            raise MessageError(f"non-text token inside a {kind} segment")
        return text_segment(kind, vocabulary.decode_text(body))  # type: ignore[arg-type]

    def _name(self) -> str:
        token = self.ids[self.position]
        return repr(self.vocabulary.text.convert_ids_to_tokens(token))
