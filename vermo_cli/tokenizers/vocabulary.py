"""The model's vocabulary: text tokens, one token per motion code and per audio code, and the
special tokens that mark message segments.

Layout of the ids (each block contiguous, so codes map to ids by an offset):

    [0, text_size)                                  the text tokenizer's own tokens
    [special_offset, special_offset + len(SPECIALS))  segment markers (`SPECIALS`)
    [motion_offset, motion_offset + motion_size)      `<|MOTION_i|>`, one per FlowVQ code
    [audio_offset, audio_offset + audio_size)         `<|AUDIO_i|>`, one per codec code

The text tokenizer is a byte-level BPE that vermo trains on the corpus's captions, transcripts
and the tasks' instructions, or the tokenizer of a local Hugging Face model (`--init DIR`).
A saved vocabulary is a Hugging Face tokenizer directory plus `vermo_vocabulary.json`, which
records the identities of the FlowVQ tokenizer and the audio codec whose codes it holds:
pairing it with another tokenizer or codec is refused (`VocabularyError`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from vermo_cli.errors import VermoError, first_line
from vermo_cli.files import path_for_record, path_from_record, write_json_atomically

VOCABULARY_FILE = "vermo_vocabulary.json"
FORMAT = "vermo-vocabulary"
VERSION = 1

# Segment markers. A message reads
#   <|bos|> [INSTR] <|text|> ... <|/text|> [COND] <segments> [REPLY] <segments> <|eos|>
# where each segment is wrapped in the pair of its modality.
PAD = "<|pad|>"
BOS = "<|bos|>"
EOS = "<|eos|>"
INSTRUCTION = "[INSTR]"
CONDITION = "[COND]"
REPLY = "[REPLY]"
AGENT_SEP = "[AGENT_SEP]"
SEGMENT_KINDS = ("text", "motion", "audio", "duration", "headcount", "genre")
"""Modalities of segments; each has an opening `<|kind|>` and a closing `<|/kind|>` token."""
SPECIALS: tuple[str, ...] = (
    PAD,
    BOS,
    EOS,
    INSTRUCTION,
    CONDITION,
    REPLY,
    AGENT_SEP,
    *(token for kind in SEGMENT_KINDS for token in (f"<|{kind}|>", f"<|/{kind}|>")),
)


def opening(kind: str) -> str:
    """The token that opens a segment of `kind` (one of `SEGMENT_KINDS`)."""
    return f"<|{kind}|>"


def closing(kind: str) -> str:
    """The token that closes a segment of `kind`."""
    return f"<|/{kind}|>"


class VocabularyError(VermoError):
    """A vocabulary is missing, unreadable, or does not fit the tokenizer or codec given."""


@dataclass(frozen=True)
class TokenizerIdentities:
    """What the motion and audio blocks of a vocabulary were built for."""

    motion: str
    """Identity of the FlowVQ tokenizer (its `tokenizer.json` identity)."""
    motion_size: int
    """Number of motion codes (4,375 for FSQ [7,5,5,5,5])."""
    audio: str
    """Identity of the audio codec (`AudioCodec.identity`)."""
    audio_size: int
    """Number of audio codes."""


class Vocabulary:
    """A text tokenizer extended with segment, motion and audio tokens (see the module)."""

    def __init__(
        self,
        text: PreTrainedTokenizerFast,
        built_for: TokenizerIdentities,
        origin: str,
        init: Path | None = None,
    ) -> None:
        self.text = text
        self.built_for = built_for
        self.origin = origin
        self.init = init
        """The local Hugging Face model whose tokenizer `text` is (`--init`); None for a BPE."""
        self.text_size = _text_size(text)
        self.special_offset = self._block_offset(SPECIALS)
        self.motion_offset = self._block_offset(
            [f"<|MOTION_{code}|>" for code in range(built_for.motion_size)]
        )
        self.audio_offset = self._block_offset(
            [f"<|AUDIO_{code}|>" for code in range(built_for.audio_size)]
        )
        self.text.pad_token = PAD
        self.special_ids = {token: self.special_offset + i for i, token in enumerate(SPECIALS)}

    def _block_offset(self, tokens: list[str] | tuple[str, ...]) -> int:
        """Id of the first of `tokens`, adding them (contiguously) if the tokenizer lacks them."""
        if not tokens:  # e.g. no audio codec: an empty block at the end
            return len(self.text)
        existing = self.text.convert_tokens_to_ids(tokens[0])
        if existing is None or existing == self.text.unk_token_id:
            first = len(self.text)
            self.text.add_tokens(list(tokens), special_tokens=True)
        else:
            first = existing
        last = self.text.convert_tokens_to_ids(tokens[-1])
        if last != first + len(tokens) - 1:
            where = self.init or self.origin
            raise VocabularyError(f"{where}: the tokens {tokens[0]}... are not contiguous")
        return first

    def __len__(self) -> int:
        """Total number of ids (the model's embedding rows)."""
        return self.audio_offset + self.built_for.audio_size

    @property
    def pad_id(self) -> int:
        return self.special_ids[PAD]

    def id_of(self, special: str) -> int:
        """Id of a special token (one of `SPECIALS`)."""
        return self.special_ids[special]

    def encode_text(self, text: str) -> list[int]:
        """Text ids of `text` (no special tokens added)."""
        return self.text(text, add_special_tokens=False)["input_ids"]

    def decode_text(self, ids: Iterable[int]) -> str:
        """Text of text ids (other ids are dropped)."""
        kept = [i for i in ids if i < self.text_size]
        return self.text.decode(kept, skip_special_tokens=True).strip()

    def motion_ids(self, codes: Iterable[int]) -> list[int]:
        """Ids of FlowVQ codes."""
        return [self.motion_offset + int(code) for code in codes]

    def audio_ids(self, codes: Iterable[int]) -> list[int]:
        """Ids of audio codec codes."""
        return [self.audio_offset + int(code) for code in codes]

    def is_text(self, token_id: int) -> bool:
        return 0 <= token_id < self.text_size

    def is_motion(self, token_id: int) -> bool:
        return self.motion_offset <= token_id < self.motion_offset + self.built_for.motion_size

    def is_audio(self, token_id: int) -> bool:
        return self.audio_offset <= token_id < self.audio_offset + self.built_for.audio_size

    def check_built_for(self, motion_identity: str, audio_identity: str, where: str) -> None:
        """`VocabularyError` unless this vocabulary was built for this tokenizer and codec."""
        for what, mine, theirs in (
            ("FlowVQ tokenizer", self.built_for.motion, motion_identity),
            ("audio codec", self.built_for.audio, audio_identity),
        ):
            if mine != theirs:
                raise VocabularyError(
                    f"{where}: built for {what} {_short(mine)}, but given {_short(theirs)}; "
                    "use the matching tokenizer, or build a new vocabulary and retrain"
                )

    def save(self, directory: Path) -> None:
        """Write the Hugging Face tokenizer files and `vermo_vocabulary.json` into `directory`
        (the `--init` model's path as `files.path_for_record` writes it)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.text.save_pretrained(str(directory))
        path = directory / VOCABULARY_FILE
        record = {
            "format": FORMAT,
            "version": VERSION,
            "origin": self.origin,
            "init": path_for_record(self.init, path) if self.init is not None else None,
            "text_size": self.text_size,
            "size": len(self),
            "offsets": {
                "special": self.special_offset,
                "motion": self.motion_offset,
                "audio": self.audio_offset,
            },
            "built_for": self.built_for.__dict__,
        }
        write_json_atomically(path, record)

    @classmethod
    def load(cls, directory: Path) -> Vocabulary:
        """Read a vocabulary written by `save` (also inside any checkpoint directory)."""
        directory = Path(directory)
        record = read_vocabulary_record(directory)
        text = AutoTokenizer.from_pretrained(str(directory))
        init = record.get("init")
        vocabulary = cls(
            text,
            TokenizerIdentities(**record["built_for"]),
            record["origin"],
            path_from_record(init, directory / VOCABULARY_FILE) if init else None,
        )
        if len(vocabulary) != record["size"]:
            raise VocabularyError(f"{directory}: tokenizer files do not match {VOCABULARY_FILE}")
        return vocabulary


def read_vocabulary_record(directory: Path) -> dict[str, Any]:
    """The parsed `vermo_vocabulary.json` of `directory`; `VocabularyError` if absent or bad."""
    path = Path(directory) / VOCABULARY_FILE
    if not path.is_file():
        raise VocabularyError(f"{directory}: no vocabulary ({VOCABULARY_FILE} missing)")
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise VocabularyError(f"{path}: unreadable ({error.msg})") from error
    if record.get("format") != FORMAT or record.get("version") != VERSION:
        raise VocabularyError(f"{path}: not a {FORMAT} v{VERSION} file")
    return record


def train_text_tokenizer(texts: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """A byte-level BPE of at most `vocab_size` tokens trained on `texts`.

    Byte-level, so any text (any language, any typo) still encodes; the 256 byte tokens are
    always in the vocabulary, the rest are merges learned from the corpus.
    """
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=bpe)


def load_text_tokenizer(directory: Path) -> PreTrainedTokenizerFast:
    """The tokenizer of a local Hugging Face model directory (never downloaded)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise VocabularyError(f"{directory}: model directory not found")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
    except (OSError, ValueError) as error:
        message = first_line(error)
        raise VocabularyError(f"{directory}: no usable tokenizer ({message})") from error
    if not isinstance(tokenizer, PreTrainedTokenizerFast):
        raise VocabularyError(f"{directory}: needs a fast (Rust) tokenizer")
    return tokenizer


def build_vocabulary(
    texts: Iterable[str],
    built_for: TokenizerIdentities,
    text_vocab_size: int = 4000,
    init: Path | None = None,
) -> Vocabulary:
    """A new vocabulary: a BPE trained on `texts` (or the tokenizer of `init`), extended with
    the segment tokens and one token per motion and audio code."""
    if init is not None:
        return Vocabulary(
            load_text_tokenizer(init), built_for, "tokenizer of the --init model", Path(init)
        )
    text = train_text_tokenizer(texts, text_vocab_size)
    return Vocabulary(text, built_for, f"byte-level BPE, {text_vocab_size} tokens")


def _text_size(tokenizer: PreTrainedTokenizerFast) -> int:
    """Number of ids before any vermo token (the tokenizer's own, with its own specials)."""
    first = tokenizer.convert_tokens_to_ids(SPECIALS[0])
    if first is not None and first != tokenizer.unk_token_id and first >= 0:
        return first
    return len(tokenizer)


def _short(identity: str) -> str:
    return identity if len(identity) <= 24 else f"{identity[:24]}..."
