"""Training audio for the built-in codec: waveforms from files, folders and corpora, and the
random crops a training batch is made of."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from vermo_cli.data.audio import load_audio
from vermo_cli.data.store import SIDECAR_NAME, open_corpus
from vermo_cli.tokenizers.audio_codec.interface import CodecError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".oga", ".aiff", ".aif")


def collect_training_audio(sources: Sequence[Path], sample_rate: int) -> list[np.ndarray]:
    """Mono `[samples]` float32 waveforms at `sample_rate` Hz from each source in order.

    A source is an audio file, a folder of audio files, or a vermo corpus (the audio of its
    train-split clips, each clip's `offset`/`duration` span). `CodecError` names a source that
    is missing or holds no audio.
    """
    waveforms: list[np.ndarray] = []
    for source in map(Path, sources):
        if source.is_file():
            found = [load_audio(source, sample_rate)[0]]
        elif (source / SIDECAR_NAME).is_file():
            found = _corpus_audio(source, sample_rate)
        elif source.is_dir():
            files = sorted(p for p in source.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
            found = [load_audio(path, sample_rate)[0] for path in files]
        else:
            raise CodecError(f"{source}: training audio not found")
        if not found:
            raise CodecError(f"{source}: holds no audio to train a codec on")
        waveforms += found
    return waveforms


def _corpus_audio(directory: Path, sample_rate: int) -> list[np.ndarray]:
    """Waveforms of the train-split clip spans of a corpus (each distinct span once)."""
    corpus = open_corpus(directory)
    rows = corpus.clips.select_columns(["audio", "split"])
    spans = sorted(
        {
            (row["audio"]["path"], float(row["audio"]["offset"]), float(row["audio"]["duration"]))
            for row in rows
            if row["audio"] is not None and row["split"] == "train"
        }
    )
    files: dict[str, np.ndarray] = {}
    waveforms = []
    for relative, offset, duration in spans:
        if relative not in files:
            files[relative] = load_audio(corpus.audio_path(relative), sample_rate)[0]
        first = round(offset * sample_rate)
        span = files[relative][first : first + round(duration * sample_rate)]
        if len(span):
            waveforms.append(span)
    return waveforms


def random_crops(
    waveforms: list[np.ndarray], count: int, length: int, generator: torch.Generator
) -> torch.Tensor:
    """`[count, length]` crops: a waveform drawn in proportion to its length, then a uniform
    start; waveforms shorter than `length` are padded with silence."""
    lengths = torch.tensor([len(w) for w in waveforms], dtype=torch.float64)
    choices = torch.multinomial(lengths, count, replacement=True, generator=generator)
    batch = torch.zeros(count, length)
    for row, choice in enumerate(choices.tolist()):
        waveform = waveforms[choice]
        room = max(len(waveform) - length, 0)
        start = int(torch.randint(room + 1, (1,), generator=generator))
        piece = waveform[start : start + length]
        batch[row, : len(piece)] = torch.from_numpy(piece)
    return batch
