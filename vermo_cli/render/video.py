"""H.264 mp4 files from rendered frames, with the audio muxed in as AAC, written atomically."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import soundfile

from vermo_cli.errors import VermoError
from vermo_cli.files import atomic_output
from vermo_cli.render.sources import AudioClip

# x264 constant rate factor 20 (imageio-ffmpeg's quality 6 of 10): sharp edges, small files.
VIDEO_QUALITY = 6.0


def parse_size(text: str, even: bool) -> tuple[int, int]:
    """`512` -> (512, 512), `640x480` -> (640, 480) pixels (width, height). With `even`, both
    must be even (H.264 in yuv420p halves the colour resolution)."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+)\s*)?", text)
    if match is None:
        raise VermoError(f"--size '{text}': expected WIDTH or WIDTHxHEIGHT, e.g. 512 or 640x480")
    width = int(match.group(1))
    height = int(match.group(2) or width)
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        raise VermoError(f"--size '{text}': width and height must be 16 to 8192 pixels")
    if even and (width % 2 or height % 2):
        raise VermoError(f"--size '{text}': a video needs an even width and height")
    return width, height


def video_audio(audio: AudioClip | None, frames: int, fps: float) -> AudioClip | None:
    """`audio` cut to the video's `frames / fps` seconds (None when there is none left)."""
    if audio is None:
        return None
    samples = min(len(audio.waveform), round(frames / fps * audio.rate))
    return AudioClip(audio.waveform[:samples], audio.rate) if samples > 0 else None


def write_video(
    frames: Iterable[np.ndarray],
    path: Path,
    size: tuple[int, int],
    fps: float,
    audio: AudioClip | None,
) -> None:
    """Encode `frames` (each `[height, width, 3]` uint8 RGB, `size` = (width, height)) at `fps`
    as H.264 yuv420p into `path`, with `audio` (already cut to length) as an AAC track.

    Writes to a temporary file next to `path` and renames it, so `path` is never half-written.
    """
    path = Path(path)
    try:
        with atomic_output(path) as temporary:
            _encode(frames, temporary, size, fps, audio)
    except OSError as error:
        detail = str(error).strip().splitlines()[-1] if str(error).strip() else repr(error)
        raise VermoError(f"{path}: cannot write the video ({detail})") from None


def _encode(
    frames: Iterable[np.ndarray],
    temporary: Path,
    size: tuple[int, int],
    fps: float,
    audio: AudioClip | None,
) -> None:
    """Run ffmpeg into `temporary`; the audio track waits in a wav beside it meanwhile."""
    import imageio_ffmpeg

    sound = temporary.with_name(f"{temporary.name}.wav")
    try:
        if audio is not None:
            soundfile.write(str(sound), np.clip(audio.waveform, -1.0, 1.0), audio.rate)
        writer = imageio_ffmpeg.write_frames(
            str(temporary),
            size,
            fps=float(fps),
            codec="libx264",
            pix_fmt_out="yuv420p",
            quality=VIDEO_QUALITY,
            macro_block_size=2,
            ffmpeg_log_level="error",
            output_params=["-movflags", "+faststart"],
            audio_path=str(sound) if audio is not None else None,
            audio_codec="aac" if audio is not None else None,
        )
        writer.send(None)
        try:
            for frame in frames:
                writer.send(np.ascontiguousarray(frame))
        finally:
            writer.close()
    finally:
        sound.unlink(missing_ok=True)
