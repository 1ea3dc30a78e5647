"""Tests of the BEAT2 source on a paired layout built from the real (unpaired) BEAT2 sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
from vermo_plugins.sources.beat2 import Beat2Source, read_words

from vermo_cli.data.sources import SourceOptions
from vermo_cli.errors import AudioError, SourceError

BVH = "meeting_1_wayne_0_1_1_30fps_250f.bvh"
MP3 = "pantomatrix_2_scott_0_103_103_28s.mp3"


def _pair(root: Path, beat2: Path, stem: str, audio: Path | None, textgrid: Path | None) -> Path:
    """Link the real BVH as `<stem>.bvh` with `wave16k/<stem>.wav` and `textgrid/` beside it."""
    for folder in ("wave16k", "textgrid"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    motion = root / f"{stem}.bvh"
    motion.symlink_to(beat2 / BVH)
    if audio is not None:
        (root / "wave16k" / f"{stem}.wav").symlink_to(audio)
    if textgrid is not None:
        (root / "textgrid" / f"{stem}.TextGrid").symlink_to(textgrid)
    return motion


@pytest.mark.shared_data
@pytest.mark.slow
def test_paired_take_has_speech_words_and_motion(shared_data: Path, tmp_path: Path) -> None:
    beat2 = shared_data / "beat2"
    stem = "2_scott_0_1_1"
    motion = _pair(tmp_path, beat2, stem, beat2 / "wave16k" / f"{stem}.wav",
                   beat2 / "textgrid" / f"{stem}.TextGrid")  # fmt: skip
    source = Beat2Source(SourceOptions())
    assert source.discover([tmp_path]) == [str(motion)]
    (clip,) = source.load(str(motion))
    assert clip.take_id == f"beat2/{stem}"
    assert clip.joints.shape == (1, 250, 52, 3) and clip.fps == 30.0
    assert np.all(np.isfinite(clip.joints))
    assert clip.tags == ["speaker:scott"]
    assert clip.audio is not None and clip.audio.kind == "speech"
    assert clip.audio.sample_rate == 16000
    assert len(clip.audio.waveform) == soundfile.info(beat2 / "wave16k" / f"{stem}.wav").frames
    duration = clip.audio.duration
    assert clip.words and all(0.0 <= w.start < w.end <= duration for w in clip.words)
    transcript = " ".join(w.text for w in clip.words)
    assert transcript.startswith("the first thing")
    # The TextGrid runs to 64 s; the trimmed audio is far shorter, so words were clipped.
    assert duration < 20.0 and clip.words[-1].end <= duration


@pytest.mark.shared_data
def test_float_wav_and_mp3_named_wav_decode(shared_data: Path, tmp_path: Path) -> None:
    beat2 = shared_data / "beat2"
    source = Beat2Source(SourceOptions())
    durations = {}
    for index, audio in enumerate([*sorted((beat2 / "wave16k").glob("*.wav")), beat2 / MP3]):
        motion = _pair(tmp_path, beat2, f"{index}_scott_0_{index}_{index}", audio, None)
        (clip,) = source.load(str(motion))
        assert clip.audio is not None and np.all(np.abs(clip.audio.waveform) <= 1.0)
        assert clip.words == []
        durations[audio.name] = clip.audio.duration
    assert durations[MP3] == pytest.approx(28.0, abs=1.0)
    assert all(d > 1.0 for d in durations.values())


@pytest.mark.shared_data
def test_missing_or_garbage_audio_is_a_one_line_error(shared_data: Path, tmp_path: Path) -> None:
    beat2 = shared_data / "beat2"
    source = Beat2Source(SourceOptions())
    missing = _pair(tmp_path / "a", beat2, "2_scott_0_1_1", None, None)
    with pytest.raises(SourceError, match=r"2_scott_0_1_1\.wav not found") as error:
        source.load(str(missing))
    assert "\n" not in str(error.value)
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(bytes(range(256)) * 64)
    broken = _pair(tmp_path / "b", beat2, "2_scott_0_1_1", garbage, None)
    with pytest.raises(AudioError) as error:
        source.load(str(broken))
    assert "\n" not in str(error.value) and "2_scott_0_1_1.wav" in str(error.value)


@pytest.mark.shared_data
def test_words_are_clipped_to_the_audio(shared_data: Path) -> None:
    grid = shared_data / "beat2" / "textgrid" / "2_scott_0_1_1.TextGrid"
    words = read_words(grid, duration=1.6)
    assert [(w.text, w.start, w.end) for w in words] == [
        ("the", 1.42, 1.52), ("first", 1.52, 1.6),
    ]  # fmt: skip


def test_discover_needs_motion_files(tmp_path: Path) -> None:
    source = Beat2Source(SourceOptions())
    with pytest.raises(SourceError, match="no such file"):
        source.discover([tmp_path / "absent"])
    with pytest.raises(SourceError, match="no BEAT2 motion files"):
        source.discover([tmp_path])
