"""The corpus on disk: an Arrow dataset (Hugging Face `datasets`) plus a sidecar JSON and audio.

Layout of a corpus directory DIR:
  DIR/data-*.arrow, dataset_info.json, state.json   the clips (`datasets.load_from_disk(DIR)`)
  DIR/vermo_corpus.json                              stats, QC report, splits, provenance
  DIR/audio/*.flac                                   audio of takes that have any
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import numpy as np
from datasets import Array3D, Features, List, Value

from vermo_cli.errors import CorpusError
from vermo_cli.motion.skeleton import NUM_JOINTS

SIDECAR_NAME = "vermo_corpus.json"
AUDIO_DIR = "audio"
FORMAT_NAME = "vermo-corpus"
FORMAT_VERSION = 1

CLIP_FEATURES = Features(
    {
        "id": Value("string"),
        "take_id": Value("string"),
        "source": Value("string"),
        "split": Value("string"),
        "fps": Value("float32"),
        "frames": Value("int32"),
        "headcount": Value("int32"),
        # [agents, frames, 52, 3] float32 metres in the canonical frame.
        "motion": List(Array3D(shape=(None, NUM_JOINTS, 3), dtype="float32")),
        "joint_mask": List(Value("bool"), length=NUM_JOINTS),
        "captions": List({"text": Value("string"), "granularity": Value("string")}),
        # Seconds: `offset` into the file where the clip's first frame starts.
        "audio": {
            "path": Value("string"),
            "offset": Value("float32"),
            "duration": Value("float32"),
            "sample_rate": Value("int32"),
            "kind": Value("string"),
            "genre": Value("string"),
        },
        "transcript": Value("string"),
        # Word times in seconds from the clip's first frame.
        "words": List(
            {"text": Value("string"), "start": Value("float32"), "end": Value("float32")}
        ),
        "tags": List(Value("string")),
        "origin": Value("string"),
        # Where the clip starts in its take, seconds (windows of long takes).
        "take_offset": Value("float32"),
    }
)


@dataclass(frozen=True)
class Corpus:
    """An opened corpus: the clips and the sidecar."""

    path: Path
    clips: datasets.Dataset
    info: dict[str, Any]

    def stats(self) -> dict[str, Any]:
        """Normalisation statistics from the sidecar (mean `[52][3]`, std_body, std_hand)."""
        return self.info["stats"]

    def audio_path(self, relative: str) -> Path:
        """Absolute path of an audio file named in a clip row."""
        return self.path / relative


def open_corpus(path: Path) -> Corpus:
    """Open a corpus directory written by `vermo prepare`; `CorpusError` if it is not one."""
    path = Path(path)
    sidecar = path / SIDECAR_NAME
    if not sidecar.is_file():
        raise CorpusError(f"{path}: not a vermo corpus (no {SIDECAR_NAME}); run `vermo prepare`")
    try:
        info = json.loads(sidecar.read_text())
    except json.JSONDecodeError as error:
        raise CorpusError(f"{sidecar}: unreadable sidecar ({error.msg})") from error
    if info.get("format") != FORMAT_NAME or info.get("version") != FORMAT_VERSION:
        raise CorpusError(
            f"{sidecar}: unsupported corpus format {info.get('format')!r} v{info.get('version')}"
        )
    return Corpus(path=path, clips=datasets.load_from_disk(str(path)), info=info)


def motion_array(row: dict[str, Any]) -> np.ndarray:
    """The `[agents, frames, 52, 3]` float32 motion of one clip row (any `datasets` format)."""
    return np.asarray(row["motion"], dtype=np.float32)


def check_output_free(output: Path, overwrite: bool) -> None:
    """Refuse to write over an existing path unless `overwrite`; never touches anything."""
    if output.exists() and not overwrite:
        raise CorpusError(f"{output}: already exists (pass --overwrite to replace it)")


def staging_directory(output: Path) -> Path:
    """A fresh temporary directory beside `output` (same file system, so rename is atomic)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = output.parent / f".{output.name}.partial-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    return staging


def publish(staging: Path, output: Path) -> None:
    """Move a finished staging directory to `output`, replacing an old one only at the end."""
    if output.exists():
        retired = output.parent / f".{output.name}.old-{os.getpid()}"
        output.rename(retired)
        staging.rename(output)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        staging.rename(output)


def write_sidecar(directory: Path, info: dict[str, Any]) -> None:
    """Write the sidecar JSON with the format header."""
    content = {"format": FORMAT_NAME, "version": FORMAT_VERSION, **info}
    (directory / SIDECAR_NAME).write_text(json.dumps(content, indent=1, sort_keys=False) + "\n")
