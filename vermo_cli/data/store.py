"""The corpus on disk: an Arrow dataset (Hugging Face `datasets`) plus a sidecar JSON and audio.

Layout of a corpus directory DIR:
  DIR/data-*.arrow, dataset_info.json, state.json   the clips (`datasets.load_from_disk(DIR)`)
  DIR/vermo_corpus.json                              stats, QC report, splits, provenance
  DIR/audio/*.flac                                   audio of takes that have any
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pyarrow as pa
from datasets import Array3D, Features, List, Value

from vermo_cli.errors import CorpusError, first_line
from vermo_cli.files import check_output_directory, write_json_atomically
from vermo_cli.motion.skeleton import NUM_JOINTS

# vermo draws its own progress bars; the library's per-call bars would interleave with them.
datasets.disable_progress_bars()

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


class ClipTableWriter:
    """Streams corpus rows into one Arrow IPC file, a batch at a time, then opens it as a
    `datasets.Dataset`.

    Motion goes into Arrow as flat float32 buffers with offsets (no per-value Python objects):
    about ten times faster than letting `datasets` encode nested arrays row by row.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.schema = CLIP_FEATURES.arrow_schema
        self._sink = pa.OSFile(str(path), "wb")
        self._writer = pa.ipc.new_stream(self._sink, self.schema)
        self.rows = 0

    def write(self, rows: list[dict[str, Any]]) -> None:
        """Append rows (dicts with the `CLIP_FEATURES` columns; motion as numpy arrays)."""
        if not rows:
            return
        columns = {
            column.name: _motion_column([row["motion"] for row in rows], column.type)
            if column.name == "motion"
            else pa.array([row[column.name] for row in rows], type=column.type)
            for column in self.schema
        }
        self._writer.write_table(pa.Table.from_pydict(columns, schema=self.schema))
        self.rows += len(rows)

    def finish(self) -> datasets.Dataset:
        """Close the file and open it (memory-mapped) as a dataset with the corpus features."""
        self.close()
        return datasets.Dataset.from_file(
            str(self.path), info=datasets.DatasetInfo(features=CLIP_FEATURES)
        )

    def close(self) -> None:
        """Close the file; safe to call twice."""
        if not self._sink.closed:
            self._writer.close()
            self._sink.close()


def _offsets(lengths: np.ndarray) -> pa.Array:
    return pa.array(np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32))


def _motion_column(motions: list[np.ndarray], column_type: pa.DataType) -> pa.Array:
    """Arrow `list<Array3D(None, 52, 3)>` column from `[agents, frames, 52, 3]` arrays."""
    flat = np.concatenate([np.ascontiguousarray(m, dtype=np.float32).reshape(-1) for m in motions])
    joints = flat.size // 3
    per_joint = pa.ListArray.from_arrays(_offsets(np.full(joints, 3)), pa.array(flat))
    per_frame = pa.ListArray.from_arrays(
        _offsets(np.full(joints // NUM_JOINTS, NUM_JOINTS)), per_joint
    )
    agent_frames = np.concatenate([np.full(m.shape[0], m.shape[1]) for m in motions])
    per_agent = pa.ListArray.from_arrays(_offsets(agent_frames), per_frame)
    agents = pa.ExtensionArray.from_storage(column_type.value_type, per_agent)
    return pa.ListArray.from_arrays(_offsets(np.array([m.shape[0] for m in motions])), agents)


@dataclass(frozen=True)
class Corpus:
    """An opened corpus: the clips and the sidecar."""

    path: Path
    clips: datasets.Dataset
    info: dict[str, Any]

    def stats(self) -> dict[str, Any]:
        """Normalisation statistics from the sidecar (mean `[52][3]`, std_body, std_hand)."""
        return self.info["stats"]

    @property
    def identity(self) -> str:
        """16 hex digits of the sidecar's hash: a rewritten corpus gets a new identity."""
        return hashlib.sha256((self.path / SIDECAR_NAME).read_bytes()).hexdigest()[:16]

    def audio_path(self, relative: str) -> Path:
        """Path of an audio file named in a clip row (relative to the corpus, like
        `audio/TAKE.flac`); `CorpusError` naming the corpus and the path when the recorded path
        is absolute or climbs out of the corpus. The check is lexical (`..` is resolved, links
        are not), so a link the user placed inside the corpus is still followed."""
        normal = Path(os.path.normpath(relative))
        if normal.is_absolute() or normal.parts[:1] in ((), ("..",)):
            raise CorpusError(
                f"{self.path}: a clip's audio path {relative!r} is outside the corpus"
            )
        return self.path / normal


def motion_arrays(clips: datasets.Dataset) -> list[np.ndarray]:
    """The `motion` column of corpus rows (a whole corpus or a selection) as
    `[agents, frames, 52, 3]` float32 arrays, read from Arrow's flat buffers: row-wise
    conversion through `datasets` takes minutes for a thousand clips, this a fraction of a
    second."""
    column: pa.ChunkedArray = clips.with_format("arrow")["motion"]
    motions = []
    for chunk in column.chunks:
        agents = chunk.values.storage
        frames = agents.values
        joints = frames.values
        values = joints.values.to_numpy(zero_copy_only=False)
        clip_offsets = chunk.offsets.to_numpy()
        agent_offsets = agents.offsets.to_numpy()
        frame_offsets = frames.offsets.to_numpy()
        joint_offsets = joints.offsets.to_numpy()
        for index in range(len(chunk)):
            first, last = clip_offsets[index], clip_offsets[index + 1]
            start = joint_offsets[frame_offsets[agent_offsets[first]]]
            stop = joint_offsets[frame_offsets[agent_offsets[last]]]
            shape = (last - first, -1, NUM_JOINTS, 3)
            motions.append(values[start:stop].reshape(shape).astype(np.float32, copy=False))
    return motions


def open_corpus(path: Path) -> Corpus:
    """Open a corpus directory written by `vermo prepare`; `CorpusError` if it is not one.
    Transforms of `clips` (`filter`, `map`) must pass `keep_in_memory=True`: by default
    `datasets` writes their cache files beside the Arrow data, into the user's input folder."""
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
    return Corpus(path=path, clips=load_clip_table(path), info=info)


def load_clip_table(path: Path) -> datasets.Dataset:
    """The Arrow dataset saved in `path` (a corpus or a token corpus), memory-mapped, read
    only; `CorpusError` naming the folder when its files are cut short, corrupt or missing."""
    try:
        return datasets.load_from_disk(str(path))
    except (OSError, ValueError, pa.ArrowException) as error:
        detail = first_line(error)
        raise CorpusError(
            f"{path}: unreadable Arrow data, a file cut short or corrupt ({detail})"
        ) from None


def motion_array(row: dict[str, Any]) -> np.ndarray:
    """The `[agents, frames, 52, 3]` float32 motion of one clip row (any `datasets` format)."""
    return np.asarray(row["motion"], dtype=np.float32)


def check_output_free(output: Path, overwrite: bool) -> None:
    """Refuse an output directory that cannot be written (`check_output_directory`), or an
    existing one unless `overwrite`; never touches anything."""
    check_output_directory(output)
    if output.exists() and not overwrite:
        raise CorpusError(f"{output}: already exists (pass --overwrite to replace it)")


def write_sidecar(directory: Path, info: dict[str, Any]) -> None:
    """Write the sidecar JSON with the format header."""
    content = {"format": FORMAT_NAME, "version": FORMAT_VERSION, **info}
    write_json_atomically(directory / SIDECAR_NAME, content)
