"""`vermo tokenize encode`: a corpus's motion as FlowVQ codes, in a token corpus on disk.

A token corpus keeps every column of its corpus except `motion`, adds `motion_tokens`
(`[agents][steps]` int32) and, when an audio codec is given, `audio_tokens` (`[tokens]` int32,
the codec's tokens of the clip's audio span; empty for clips without audio), and records in
`vermo_tokens.json` which tokenizer and codec made the codes and from which corpus (their paths
as `files.path_for_record` writes them: given relative, relative to the token corpus), so that a
model trained on it can refuse a different tokenizer or codec later.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Literal, Protocol

import datasets
import numpy as np
from datasets import List, Value

from vermo_cli import __version__
from vermo_cli.data.audio import load_audio
from vermo_cli.data.store import (
    Corpus,
    check_output_free,
    load_clip_table,
    motion_arrays,
    open_corpus,
)
from vermo_cli.errors import CorpusError
from vermo_cli.files import (
    json_text,
    path_for_record,
    path_from_record,
    publish_directory,
    staging_directory,
)
from vermo_cli.tokenizers.audio_codec.interface import AudioCodec, load_codec
from vermo_cli.tokenizers.flowvq.tokenizer import FlowVQTokenizer

TOKENS_SIDECAR = "vermo_tokens.json"
TOKENS_FORMAT = "vermo-token-corpus"


class EncodeProgress(Protocol):
    """Receives encoding progress."""

    def start(self, total_clips: int) -> None:
        """Called once with the number of clips."""

    def advance(self, clips: int) -> None:
        """Called after each batch of clips."""


def encode_corpus(
    tokenizer_path: Path,
    corpus_path: Path,
    output: Path,
    overwrite: bool = False,
    progress: EncodeProgress | None = None,
    codec_path: Path | None = None,
) -> dict[str, Any]:
    """Encode every clip of a corpus (motion, and audio when `codec_path` names a codec);
    write the token corpus atomically; return its sidecar."""
    output = Path(output)
    check_output_free(output, overwrite)
    tokenizer = FlowVQTokenizer.load(tokenizer_path)
    codec = load_codec(codec_path) if codec_path is not None else None
    corpus = open_corpus(corpus_path)
    tokenizer.check_joint_set(
        corpus.info.get("skeleton", {}).get("joint_names", []), str(corpus.path)
    )
    clips = corpus.clips
    if progress:
        progress.start(len(clips))
    tokens: list[list[list[int]]] = []
    for motion, joint_mask in zip(motion_arrays(clips), clips["joint_mask"], strict=True):
        codes = tokenizer.encode(motion, np.asarray(joint_mask, dtype=bool))
        tokens.append(codes.astype(np.int32).tolist())
        if progress:
            progress.advance(1)
    features = clips.features.copy()
    del features["motion"]
    features["motion_tokens"] = List(List(Value("int32")))
    encoded = clips.remove_columns("motion").add_column(
        "motion_tokens", tokens, feature=features["motion_tokens"]
    )
    if codec is not None:
        audio_tokens = encode_clip_audio(corpus, codec)
        encoded = encoded.add_column("audio_tokens", audio_tokens, feature=List(Value("int32")))
    sidecar_file = output / TOKENS_SIDECAR
    sidecar = {
        "format": TOKENS_FORMAT,
        "version": 1,
        "vermo_version": __version__,
        "tokenizer": {
            "identity": tokenizer.identity,
            "path": path_for_record(tokenizer_path, sidecar_file),
            "compression": tokenizer.compression,
            "codebook_size": tokenizer.codebook_size,
        },
        "codec": None
        if codec is None
        else {
            "identity": codec.identity,
            "plugin": codec.name,
            "path": path_for_record(codec_path, sidecar_file),
            "tokens_per_second": codec.tokens_per_second,
            "codebook_size": codec.codebook_size,
            "sample_rate": codec.sample_rate,
        },
        "corpus": {"identity": corpus.identity, "path": path_for_record(corpus.path, sidecar_file)},
        "clips": len(encoded),
        "tokens": int(sum(len(agent) for clip in tokens for agent in clip)),
    }
    staging = staging_directory(output)
    try:
        datasets.disable_progress_bars()
        encoded.save_to_disk(str(staging))
        (staging / TOKENS_SIDECAR).write_text(json_text(sidecar))
        publish_directory(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sidecar


def encode_clip_audio(corpus: Corpus, codec: AudioCodec) -> list[list[int]]:
    """Codec tokens `[clips][tokens]` of each clip's audio span (empty lists without audio).

    Each audio file is read once, at the codec's rate; a clip's span is cut from it by its
    `offset` and `duration` (seconds) and coded on its own, so its tokens start with the clip.
    """
    waveforms: dict[str, np.ndarray] = {}
    result: list[list[int]] = []
    for audio in corpus.clips["audio"]:
        if audio is None or not audio.get("path"):
            result.append([])
            continue
        relative = audio["path"]
        if relative not in waveforms:
            waveforms[relative] = load_audio(corpus.audio_path(relative), codec.sample_rate)[0]
        first = round(float(audio["offset"]) * codec.sample_rate)
        span = waveforms[relative][
            first : first + round(float(audio["duration"]) * codec.sample_rate)
        ]
        result.append(codec.encode(span, codec.sample_rate).astype(np.int32).tolist())
    return result


def open_token_corpus(path: Path) -> tuple[datasets.Dataset, dict[str, Any]]:
    """A token corpus and its sidecar; `CorpusError` if `path` is not one. Transforms of the
    dataset (`filter`, `map`) must pass `keep_in_memory=True`: by default `datasets` writes
    their cache files beside the Arrow data, into the user's input folder."""
    path = Path(path)
    sidecar = path / TOKENS_SIDECAR
    if not sidecar.is_file():
        raise CorpusError(
            f"{path}: not a token corpus (no {TOKENS_SIDECAR}); run `vermo tokenize encode`"
        )
    try:
        info = json.loads(sidecar.read_text())
    except json.JSONDecodeError as error:
        raise CorpusError(f"{sidecar}: unreadable sidecar ({error.msg})") from None
    return load_clip_table(path), info


def encoding_input(
    token_corpus: Path, info: dict[str, Any], part: Literal["tokenizer", "codec", "corpus"]
) -> Path | None:
    """The path of the tokenizer, codec or corpus that the token corpus at `token_corpus` (with
    sidecar `info`) was encoded with, as its sidecar records it, read relative to the token
    corpus when relative; None when it records none (no codec)."""
    recorded = (info.get(part) or {}).get("path")
    if not recorded:
        return None
    return path_from_record(recorded, Path(token_corpus) / TOKENS_SIDECAR)
