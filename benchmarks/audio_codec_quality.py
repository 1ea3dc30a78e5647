"""Quality of the built-in audio codec on real music and speech: beat F1 and log-mel distance.

Trains the codec with a recipe on every recording in ../shared/data/librosa_audio (music,
speech and the non-music sounds), or loads one with --codec, then codes each recording and
compares the decoded audio with the original:
  beat F1      librosa beat_track on original and decoded audio, beats matched one-to-one
               within 70 ms (music only; a beat tracker on speech measures nothing)
  onset F1     librosa onset_detect on both, onsets matched within 50 ms
  mel distance mean |difference| of log-mel spectrograms (80 bands, dB, floored 80 dB below
               the original's peak)
Usage:
  .venv/bin/python benchmarks/audio_codec_quality.py --recipe recipes/audio-codec-tiny.yaml
  .venv/bin/python benchmarks/audio_codec_quality.py --codec runs/audio-codec-tiny
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
from rich.console import Console
from rich.table import Table

from vermo_cli.data.audio import load_audio
from vermo_cli.tokenizers.audio_codec.interface import AudioCodec, load_codec
from vermo_cli.tokenizers.audio_codec.recipe import load_audio_codec_recipe
from vermo_cli.tokenizers.audio_codec.train import fit_audio_codec

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "librosa_audio"
# The recordings of librosa_audio by kind (file stem -> kind); anything else counts as "other".
KINDS: dict[str, str] = {
    "147793__setuniman__sweet-waltz-0i-22mi": "music",
    "442789__lena-orsa__happy-music-pistachio-ice-cream-ragtime": "music",
    "Karissa_Hobbs_-_Lets_Go_Fishin": "music",
    "Kevin_MacLeod_-_P_I_Tchaikovsky_Dance_of_the_Sugar_Plum_Fairy": "music",
    "Kevin_MacLeod_-_Vibe_Ace": "music",
    "sorohanro_-_solo-trumpet-06": "music",
    "3436-172162-0000": "speech",
    "5703-47212-0000": "speech",
}
BEAT_TOLERANCE_SECONDS = 0.070
ONSET_TOLERANCE_SECONDS = 0.050


@dataclass
class Score:
    """Scores of one recording: F1s in [0, 1] (None where not measured), distance in dB."""

    name: str
    kind: str
    seconds: float
    beat_f1: float | None
    onset_f1: float
    mel_distance_db: float
    tokens_per_second: float
    real_time_factor: float


def matched_f1(reference: np.ndarray, estimate: np.ndarray, tolerance: float) -> float:
    """F1 of event times (seconds) matched one-to-one, greedily by distance, within
    `tolerance` seconds; 1.0 when both are empty."""
    if len(reference) == 0 and len(estimate) == 0:
        return 1.0
    if len(reference) == 0 or len(estimate) == 0:
        return 0.0
    distance = np.abs(reference[:, None] - estimate[None, :])
    pairs = sorted(zip(*np.nonzero(distance <= tolerance), strict=True), key=lambda p: distance[p])
    used_reference: set[int] = set()
    used_estimate: set[int] = set()
    for row, column in pairs:
        if row not in used_reference and column not in used_estimate:
            used_reference.add(row)
            used_estimate.add(column)
    hits = len(used_reference)
    return 2 * hits / (len(reference) + len(estimate))


def beat_times(waveform: np.ndarray, sample_rate: int) -> np.ndarray:
    """Beat times `[beats]` in seconds from librosa's beat tracker."""
    _, beats = librosa.beat.beat_track(y=waveform, sr=sample_rate, units="time")
    return np.asarray(beats, dtype=np.float64)


def onset_times(waveform: np.ndarray, sample_rate: int) -> np.ndarray:
    """Onset times `[onsets]` in seconds from librosa's onset detector."""
    return np.asarray(
        librosa.onset.onset_detect(y=waveform, sr=sample_rate, units="time"), dtype=np.float64
    )


def log_mel_distance_db(original: np.ndarray, decoded: np.ndarray, sample_rate: int) -> float:
    """Mean absolute difference (dB) of 80-band log-mel spectrograms, both floored 80 dB below
    the original's peak so that silence does not dominate."""
    mels = [
        librosa.power_to_db(
            librosa.feature.melspectrogram(
                y=signal, sr=sample_rate, n_fft=1024, hop_length=256, n_mels=80
            ),
            ref=1.0,
            amin=1e-10,
            top_db=None,
        )
        for signal in (original, decoded)
    ]
    floor = mels[0].max() - 80.0
    return float(np.mean(np.abs(np.maximum(mels[0], floor) - np.maximum(mels[1], floor))))


def score_recording(codec: AudioCodec, path: Path) -> Score:
    """Code one recording at the codec's rate and compare the decoded audio with it."""
    original, rate = load_audio(path, codec.sample_rate)
    started = time.perf_counter()
    tokens = codec.encode(original, rate)
    decoded = codec.decode(tokens)[: len(original)]
    elapsed = time.perf_counter() - started
    seconds = len(original) / rate
    kind = KINDS.get(path.stem, "other")
    beat_f1 = (
        matched_f1(beat_times(original, rate), beat_times(decoded, rate), BEAT_TOLERANCE_SECONDS)
        if kind == "music"
        else None
    )
    return Score(
        name=path.stem[:40],
        kind=kind,
        seconds=seconds,
        beat_f1=beat_f1,
        onset_f1=matched_f1(
            onset_times(original, rate), onset_times(decoded, rate), ONSET_TOLERANCE_SECONDS
        ),
        mel_distance_db=log_mel_distance_db(original, decoded, rate),
        tokens_per_second=len(tokens) / seconds,
        real_time_factor=seconds / elapsed,
    )


def _mean(values: list[float | None]) -> str:
    present = [value for value in values if value is not None]
    return f"{np.mean(present):.3f}" if present else "-"


def render_table(scores: list[Score], title: str) -> Table:
    """A rich table: one row per recording (music first), then the mean of each kind."""
    table = Table(title=title)
    for column in ("recording", "kind", "s", "beat F1", "onset F1", "mel dist dB", "tok/s", "xRT"):
        table.add_column(column, justify="left" if column == "recording" else "right")
    order = {"music": 0, "speech": 1, "other": 2}
    for score in sorted(scores, key=lambda s: (order[s.kind], s.name)):
        table.add_row(
            score.name,
            score.kind,
            f"{score.seconds:.1f}",
            "-" if score.beat_f1 is None else f"{score.beat_f1:.3f}",
            f"{score.onset_f1:.3f}",
            f"{score.mel_distance_db:.2f}",
            f"{score.tokens_per_second:.1f}",
            f"{score.real_time_factor:.0f}",
        )
    for kind in ("music", "speech", "other"):
        group = [score for score in scores if score.kind == kind]
        if group:
            table.add_row(
                f"mean ({len(group)} files)",
                kind,
                f"{sum(s.seconds for s in group):.1f}",
                _mean([s.beat_f1 for s in group]),
                _mean([s.onset_f1 for s in group]),
                _mean([s.mel_distance_db for s in group]),
                _mean([s.tokens_per_second for s in group]),
                "",
                style="bold",
            )
    return table


def main() -> None:
    """Parse arguments, train or load the codec, score every recording and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, default=ROOT / "recipes" / "audio-codec-tiny.yaml")
    parser.add_argument("--codec", type=Path, help="score this trained codec instead of training")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--output", type=Path, help="keep the trained codec here")
    arguments = parser.parse_args()
    console = Console()
    files = sorted(path for path in arguments.data.glob("*.ogg"))
    if not files:
        parser.error(f"{arguments.data}: no .ogg recordings")
    with tempfile.TemporaryDirectory() as scratch:
        directory = arguments.codec
        training_seconds = 0.0
        if directory is None:
            recipe = load_audio_codec_recipe(arguments.recipe)
            directory = arguments.output or Path(scratch) / "codec"
            started = time.perf_counter()
            with console.status("training") as status:
                fit_audio_codec(
                    [arguments.data],
                    recipe,
                    directory,
                    progress=lambda step, steps, losses: status.update(
                        f"training step {step}/{steps} loss {losses['loss']:.3f}"
                    ),
                )
            training_seconds = time.perf_counter() - started
        codec = load_codec(directory)
        scores = [score_recording(codec, path) for path in files]
    source = f"recipe {arguments.recipe.name}" if arguments.codec is None else str(arguments.codec)
    title = (
        f"{codec.name} codec ({source}): {codec.sample_rate} Hz, "
        f"{codec.tokens_per_second:g} tokens/s, {codec.codebook_size} codes"
    )
    if training_seconds:
        title += f", trained in {training_seconds:.0f} s"
    console.print(render_table(scores, title))


if __name__ == "__main__":
    main()
