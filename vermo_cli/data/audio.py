"""Reading audio files of any common format and rate into mono float32 waveforms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

from vermo_cli.errors import AudioError, first_line


def load_audio(path: Path, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Decode `path` (wav, flac, ogg, mp3, ...; the container is detected from the content, so an
    MP3 named `.wav` still reads) to a mono `[samples]` float32 waveform in [-1, 1].

    With `sample_rate`, the waveform is resampled to it. Returns `(waveform, rate)`.
    Raises `AudioError` naming the file when it cannot be decoded or holds no samples.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: audio file not found")
    data: np.ndarray | None = None
    rate = 0
    errors: list[str] = []
    for audio_format in (None, "MP3"):
        try:
            data, rate = soundfile.read(
                str(path), dtype="float32", always_2d=True, format=audio_format
            )
            break
        except (soundfile.LibsndfileError, RuntimeError, TypeError) as error:
            errors.append(first_line(error))
    if data is None:
        raise AudioError(f"{path}: cannot decode audio ({errors[0]})")
    if data.shape[0] == 0:
        raise AudioError(f"{path}: audio file holds no samples")
    waveform = data.mean(axis=1)
    if not np.all(np.isfinite(waveform)):
        raise AudioError(f"{path}: audio holds NaN or infinite samples")
    if sample_rate is not None and sample_rate != rate:
        waveform = resample_audio(waveform, rate, sample_rate)
        rate = sample_rate
    return waveform.astype(np.float32), int(rate)


def resample_audio(waveform: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Resample a `[samples]` waveform between rates (Hz) with a band-limited filter (soxr)."""
    import soxr

    return soxr.resample(waveform.astype(np.float32), source_rate, target_rate).astype(np.float32)
