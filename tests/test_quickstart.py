"""`vermo quickstart` with tiny recipes: every stage runs once, a second run skips them all,
and the outputs (a 4 s wave as npz, BVH and mp4, a dance, a caption) open."""

from __future__ import annotations

import json
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from conftest import codec_recipe, lm_recipe, tiny_recipe

from vermo_cli.motion.npz import load_motion_npz
from vermo_cli.quickstart import STAGES, BackgroundCodecFit, QuickstartPaths, run_quickstart

pytestmark = pytest.mark.slow


class _Recorder:
    """A display that records which stages ran and what they reported."""

    def __init__(self) -> None:
        self.stages: list[tuple[str, bool]] = []
        self.updates = 0

    def stage(self, index: int, total: int, name: str, skipped: bool) -> _Recorder:
        assert total == len(STAGES)
        self.stages.append((name, skipped))
        return self

    def start(self, total: int | None, unit: str) -> None:
        assert unit

    def update(self, done: int, detail: str = "") -> None:
        self.updates += 1


def test_quickstart_runs_once_and_then_skips(tmp_path: Path) -> None:
    paths = QuickstartPaths(
        root=tmp_path / "work",
        clips=60,
        flowvq_recipe=tiny_recipe(tmp_path / "flowvq.yaml"),
        codec_recipe=codec_recipe(tmp_path / "codec.yaml"),
        pretrain_recipe=lm_recipe(tmp_path / "pretrain.yaml", "pretrain", 4),
        sft_recipe=lm_recipe(tmp_path / "sft.yaml", "sft", 2),
    )
    first = _Recorder()
    report = run_quickstart(first, paths)
    assert [skipped for _, skipped in first.stages] == [False] * len(STAGES)
    assert first.updates > len(STAGES)
    assert all(seconds is not None for seconds in report.stage_seconds.values())

    wave = load_motion_npz(paths.outputs / "wave.npz")
    assert wave["joints"].shape == (1, 120, 52, 3) and str(wave["prompt"]) == "a person waves"
    assert (paths.outputs / "wave.bvh").is_file()
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(paths.outputs / "wave.mp4"))
    assert frames == 120 and abs(seconds - 4.0) < 0.05
    assert (paths.outputs / "wave.png").is_file()
    dance = load_motion_npz(paths.outputs / "dance.npz")
    assert "audio" in dance and np.isfinite(dance["joints"]).all()
    assert dance["joints"].shape[1] == 240  # as long as the 8 s song
    caption = json.loads((paths.outputs / "caption.json").read_text())["caption"]
    assert isinstance(caption, str) and report.caption == caption
    assert report.caption_truth and report.caption_clip

    again = _Recorder()
    report = run_quickstart(again, paths)
    assert [skipped for _, skipped in again.stages] == [True] * len(STAGES)
    assert set(report.stage_seconds.values()) == {None}
    assert report.caption == caption

    (paths.outputs / "wave.mp4").unlink()
    redo = _Recorder()
    run_quickstart(redo, paths)
    assert [name for name, skipped in redo.stages if not skipped] == ["render"]


def test_a_failing_background_codec_fit_is_reported_with_its_cause(tmp_path: Path) -> None:
    bad = tmp_path / "codec.yaml"
    bad.write_text("kind: audio-codec\nchannels: wide\n")
    paths = QuickstartPaths(root=tmp_path, codec_recipe=bad)
    job = BackgroundCodecFit(paths)
    with pytest.raises(RuntimeError, match=r"audio codec fit failed(.|\n)*channels"):
        job.follow(_Recorder())
    assert not job.process.is_alive()
