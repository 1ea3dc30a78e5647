"""The clips a benchmark is scored on: a split (or source, or tag) of a token corpus, with the
ground truth each metric compares against (joints, every caption, the audio span)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vermo_cli.data.audio import load_audio
from vermo_cli.data.store import Corpus, motion_array, open_corpus
from vermo_cli.errors import CorpusError
from vermo_cli.messages.builder import ClipTokens, can_use
from vermo_cli.messages.tasks import TaskSpec
from vermo_cli.tokenizers.token_corpus import encoding_input, open_token_corpus

AUDIO_RATE = 22_050
"""Sample rate (Hz) the ground-truth audio is read at for beat tracking."""


@dataclass(frozen=True)
class BenchmarkClip:
    """One evaluation clip.

    `joints` `[agents, frames, 52, 3]` metres at 30 fps and `mask` `[52]` (valid joints) are the
    ground-truth motion; `captions` all its captions (the first is the prompt's); `audio` the
    mono waveform `[samples]` of the clip's span at `AUDIO_RATE` (None without audio).
    """

    tokens: ClipTokens
    joints: np.ndarray
    mask: np.ndarray
    captions: tuple[str, ...]
    source: str
    audio: np.ndarray | None = None

    @property
    def id(self) -> str:
        return self.tokens.id


@dataclass(frozen=True)
class BenchmarkData:
    """The clips of one task and split, and where they came from."""

    clips: list[BenchmarkClip]
    token_corpus: Path
    corpus: Path
    corpus_identity: str
    tokenizer_identity: str
    split: str
    available: int
    """Clips of the split the task can use, before `--limit`."""
    training_captions: list[str]
    """Every caption of the training clips the task can use (for the caption baseline)."""


def select_rows(rows: list[dict], split: str) -> list[dict]:
    """Rows of a split (`test`), else of a source (`lafan1`), else carrying a tag (`genre:pop`)."""
    for column in ("split", "source"):
        chosen = [row for row in rows if row[column] == split]
        if chosen:
            return chosen
    return [row for row in rows if split in (row.get("tags") or ())]


def load_benchmark_data(
    token_corpus: Path, task: TaskSpec, split: str, limit: int | None = None
) -> BenchmarkData:
    """The clips of `split` in a token corpus that `task` can use, in corpus order (the first
    `limit` of them), with their ground truth read from the corpus the tokens were made from.
    `CorpusError` when the corpus is gone or was rewritten, or no clip fits."""
    rows, info = open_token_corpus(token_corpus)
    compression = int(info["tokenizer"]["compression"])
    corpus_path = encoding_input(token_corpus, info, "corpus")
    if corpus_path is None or not corpus_path.is_dir():
        raise CorpusError(f"{token_corpus}: its corpus {corpus_path} is gone")
    corpus = open_corpus(corpus_path)
    if corpus.identity != info["corpus"]["identity"]:
        raise CorpusError(
            f"{corpus_path} changed since {token_corpus} was encoded; encode it again"
        )
    columns = [c for c in rows.column_names if c != "words"]
    every_row = list(rows.select_columns(columns))
    chosen = select_rows(every_row, split)
    if not chosen:
        raise CorpusError(f"{token_corpus}: no clip in split, source or tag '{split}'")
    people = task.protocol.headcount
    usable = [
        row
        for row in chosen
        if row["headcount"] == people and can_use(task, ClipTokens.from_row(row, compression))
    ]
    if not usable:
        raise CorpusError(
            f"{token_corpus}: no clip of '{split}' with {people} "
            f"{'person' if people == 1 else 'people'} has what {task.name} needs"
        )
    picked = usable[:limit] if limit is not None else usable
    return BenchmarkData(
        clips=_with_ground_truth(corpus, picked, compression),
        token_corpus=Path(token_corpus),
        corpus=corpus_path,
        corpus_identity=corpus.identity,
        tokenizer_identity=str(info["tokenizer"]["identity"]),
        split=split,
        available=len(usable),
        training_captions=[
            caption["text"]
            for row in every_row
            if row["split"] == "train" and can_use(task, ClipTokens.from_row(row, compression))
            for caption in row.get("captions") or ()
        ],
    )


def _with_ground_truth(corpus: Corpus, rows: list[dict], compression: int) -> list[BenchmarkClip]:
    """Each row joined with its corpus clip's motion and audio span."""
    index = {clip_id: position for position, clip_id in enumerate(corpus.clips["id"])}
    missing = [row["id"] for row in rows if row["id"] not in index]
    if missing:
        raise CorpusError(f"{corpus.path}: has no clip {missing[0]!r} of the token corpus")
    ground_truth = corpus.clips.select([index[row["id"]] for row in rows]).with_format(
        "numpy", columns=["motion", "joint_mask"], output_all_columns=True
    )
    waveforms: dict[str, np.ndarray] = {}
    clips = []
    for row, truth in zip(rows, ground_truth, strict=True):
        audio = None
        track = row.get("audio")
        if track and track.get("path"):
            relative = track["path"]
            if relative not in waveforms:
                waveforms[relative] = load_audio(corpus.audio_path(relative), AUDIO_RATE)[0]
            first = round(float(track["offset"]) * AUDIO_RATE)
            audio = waveforms[relative][
                first : first + round(float(track["duration"]) * AUDIO_RATE)
            ]
        clips.append(
            BenchmarkClip(
                tokens=ClipTokens.from_row(row, compression),
                joints=motion_array(truth),
                mask=np.asarray(truth["joint_mask"], dtype=bool),
                captions=tuple(caption["text"] for caption in row.get("captions") or ()),
                source=str(row["source"]),
                audio=audio,
            )
        )
    return clips
