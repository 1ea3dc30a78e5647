"""`vermo tokenize encode`: a corpus's motion as FlowVQ codes, in a token corpus on disk.

A token corpus keeps every column of its corpus except `motion`, adds `motion_tokens`
(`[agents][steps]` int32), and records in `vermo_tokens.json` which tokenizer made the codes and
from which corpus, so that a model trained on it can refuse a different tokenizer later.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Protocol

import datasets
import numpy as np
from datasets import List, Value

from vermo_cli import __version__
from vermo_cli.data.store import check_output_free, open_corpus, publish, staging_directory
from vermo_cli.errors import CorpusError
from vermo_cli.tokenizers.flowvq import FlowVQTokenizer

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
) -> dict[str, Any]:
    """Encode every clip of a corpus; write the token corpus atomically; return its sidecar."""
    output = Path(output)
    check_output_free(output, overwrite)
    tokenizer = FlowVQTokenizer.load(tokenizer_path)
    corpus = open_corpus(corpus_path)
    tokenizer.check_joint_set(
        corpus.info.get("skeleton", {}).get("joint_names", []), str(corpus.path)
    )
    clips = corpus.clips
    if progress:
        progress.start(len(clips))
    tokens: list[list[list[int]]] = []
    numpy_clips = clips.with_format("numpy", columns=["motion", "joint_mask"])
    for index in range(len(clips)):
        row = numpy_clips[index]
        codes = tokenizer.encode(row["motion"], np.asarray(row["joint_mask"], dtype=bool))
        tokens.append(codes.astype(np.int32).tolist())
        if progress:
            progress.advance(1)
    features = clips.features.copy()
    del features["motion"]
    features["motion_tokens"] = List(List(Value("int32")))
    encoded = clips.remove_columns("motion").add_column(
        "motion_tokens", tokens, feature=features["motion_tokens"]
    )
    sidecar = {
        "format": TOKENS_FORMAT,
        "version": 1,
        "vermo_version": __version__,
        "tokenizer": {
            "identity": tokenizer.identity,
            "path": str(Path(tokenizer_path).resolve()),
            "compression": tokenizer.compression,
            "codebook_size": tokenizer.codebook_size,
        },
        "corpus": {"identity": corpus.identity, "path": str(corpus.path.resolve())},
        "clips": len(encoded),
        "tokens": int(sum(len(agent) for clip in tokens for agent in clip)),
    }
    staging = staging_directory(output)
    try:
        datasets.disable_progress_bars()
        encoded.save_to_disk(str(staging))
        (staging / TOKENS_SIDECAR).write_text(json.dumps(sidecar, indent=1) + "\n")
        publish(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sidecar


def open_token_corpus(path: Path) -> tuple[datasets.Dataset, dict[str, Any]]:
    """A token corpus and its sidecar; `CorpusError` if `path` is not one."""
    path = Path(path)
    sidecar = path / TOKENS_SIDECAR
    if not sidecar.is_file():
        raise CorpusError(
            f"{path}: not a token corpus (no {TOKENS_SIDECAR}); run `vermo tokenize encode`"
        )
    info = json.loads(sidecar.read_text())
    return datasets.load_from_disk(str(path)), info
