"""Tests of the prepare pipeline with a small in-test source: rows, QC, splits, stats, atomicity."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import datasets
import numpy as np
import pytest
import soundfile
from conftest import cli_error, codec_recipe

import vermo_cli.data.prepare as prepare_module
import vermo_cli.data.takes as takes_module
from vermo_cli.data.prepare import SourceRequest, prepare_corpus
from vermo_cli.data.sources import MotionSource, SourceOptions
from vermo_cli.data.store import SIDECAR_NAME, open_corpus
from vermo_cli.data.takes import TakeSettings
from vermo_cli.errors import CorpusError, SourceError
from vermo_cli.motion.clip import AudioTrack, Caption, SourceClip, Word
from vermo_cli.motion.kinematics import forward_kinematics, rotation_about_y
from vermo_cli.motion.skeleton import NUM_JOINTS, PARENTS, REST_OFFSETS, body_only_mask


def walking_person(frames: int, fps: float, yaw: float = 0.7) -> np.ndarray:
    """`[1, frames, 52, 3]` rest-pose body gliding forward at 1 m/s, turned by `yaw`."""
    rotations = np.broadcast_to(np.eye(3), (frames, NUM_JOINTS, 3, 3))
    root = np.tile(REST_OFFSETS[0], (frames, 1))
    root[:, 2] += np.arange(frames) / fps
    joints = forward_kinematics(REST_OFFSETS, PARENTS, rotations, root)
    return (joints @ rotation_about_y(np.float64(yaw)).T)[None].astype(np.float32)


class FakeSource(MotionSource):
    """Items name their behaviour: `long`, `nan`, `spike`, `short`, `audio`, `bad`, `pair`."""

    name = "fake"
    summary = "test source"

    def discover(self, paths: list[Path]) -> list[str]:
        return [p.name for p in paths]

    def load(self, item: str) -> list[SourceClip]:
        kind = item.split("-")[0]
        if kind == "bad":
            raise SourceError(f"{item}: malformed test file")
        fps = 60.0 if kind == "long" else 30.0
        frames = {"long": 60 * 30, "short": 15}.get(kind, 150)
        joints = walking_person(frames, fps)
        audio, words = None, []
        if kind == "nan":
            joints[:, 40:45] = np.nan
        if kind == "spike":
            joints[:, 70, 20] += 3.0
        if kind == "pair":
            joints = np.concatenate([joints, joints + np.array([1.5, 0.0, 0.0], np.float32)])
        if kind == "audio":
            audio = AudioTrack(
                np.sin(np.linspace(0, 900, 24000 * 5)).astype(np.float32) * 0.5,
                24000,
                "speech",
                offset=0.0,
            )
            words = [Word("hello", 0.2, 0.6), Word("there", 4.1, 4.6)]
        return [
            SourceClip(
                take_id=f"fake/{item}",
                dataset="fake",
                joints=joints,
                fps=fps,
                joint_mask=body_only_mask(),
                captions=[Caption("a person walks")],
                audio=audio,
                words=words,
                tags=[f"kind:{kind}"],
                origin=item,
            )
        ]


@pytest.fixture()
def fake_source(monkeypatch: pytest.MonkeyPatch) -> None:
    def load(name: str, options: SourceOptions) -> MotionSource:
        assert name == "fake"
        return FakeSource(options)

    monkeypatch.setattr(prepare_module, "load_source", load)
    monkeypatch.setattr(takes_module, "load_source", load)
    takes_module._cached_source.cache_clear()


def run(tmp_path: Path, *items: str, **kwargs: object) -> Path:
    output = tmp_path / "corpus"
    prepare_corpus([SourceRequest("fake", tuple(Path(i) for i in items))], output, **kwargs)
    return output


def test_corpus_rows_shapes_and_sidecar(tmp_path: Path, fake_source: None) -> None:
    output = run(tmp_path, "long-1", "audio-1", "pair-1")
    clips = datasets.load_from_disk(str(output)).with_format("numpy")
    assert len(clips) == 3 + 1 + 1  # 30 s at 60 fps -> 900 frames at 30 fps -> 3 windows
    for row in clips:
        motion = row["motion"]
        assert motion.dtype == np.float32 and motion.shape[2:] == (52, 3)
        assert motion.shape[1] == row["frames"] <= 360 and row["fps"] == 30.0
        assert motion[..., 1].min() == pytest.approx(0.0, abs=1e-5)
        assert np.allclose(motion[0, 0, 0, [0, 2]], 0.0, atol=1e-5)
        assert row["joint_mask"].sum() == 22
    long_rows = [r for r in clips if r["take_id"] == "fake/long-1"]
    assert sum(r["frames"] for r in long_rows) == 900
    assert [r["take_offset"] for r in long_rows] == pytest.approx([0.0, 10.0, 20.0])
    assert len({r["split"] for r in long_rows}) == 1
    pair = next(r for r in clips if r["take_id"] == "fake/pair-1")
    assert pair["headcount"] == 2 and pair["motion"].shape[0] == 2
    info = json.loads((output / SIDECAR_NAME).read_text())
    assert len(info["stats"]["mean"]) == 52 and info["stats"]["std_body"] > 0
    assert info["stats"]["std_hand"] is None  # no source here has hands
    assert info["qc"]["clips_kept"] == 5 and info["provenance"]["sources"][0]["name"] == "fake"


def test_audio_windows_and_words(tmp_path: Path, fake_source: None) -> None:
    corpus = open_corpus(run(tmp_path, "audio-1"))
    row = corpus.clips[0]
    audio = row["audio"]
    assert audio["kind"] == "speech" and audio["offset"] == pytest.approx(0.0)
    assert audio["duration"] == pytest.approx(5.0, abs=1 / 30)
    data, rate = soundfile.read(corpus.audio_path(audio["path"]))
    assert rate == 24000 and len(data) == 24000 * 5
    assert row["transcript"] == "hello there"
    assert row["words"][1]["start"] == pytest.approx(4.1, abs=1e-5)


@pytest.mark.parametrize("recorded", ["../../etc/passwd", "/etc/passwd", "audio/../../x.flac"])
def test_recorded_audio_paths_stay_inside_the_corpus(
    tmp_path: Path, fake_source: None, recorded: str
) -> None:
    """A corpus whose rows were edited to name audio outside it is refused in one line by every
    reader (they all go through `Corpus.audio_path`), here training the audio codec on it."""
    corpus = run(tmp_path, "audio-1")
    edited = tmp_path / "edited"
    rows = datasets.load_from_disk(str(corpus))
    rows = rows.map(lambda row: {"audio": {**row["audio"], "path": recorded}, "split": "train"})
    rows.save_to_disk(str(edited))
    shutil.copyfile(corpus / SIDECAR_NAME, edited / SIDECAR_NAME)
    message = cli_error(
        "tokenize", "fit", "--modality", "audio", "--data", edited,
        "--recipe", codec_recipe(tmp_path / "codec.yaml"), "-o", tmp_path / "codec",
    )  # fmt: skip
    assert message == (f"error: {edited}: a clip's audio path {recorded!r} is outside the corpus")
    assert open_corpus(corpus).audio_path("audio/./take.flac") == corpus / "audio" / "take.flac"


def test_qc_drops_with_reasons(tmp_path: Path, fake_source: None) -> None:
    output = run(tmp_path, "nan-1", "spike-1", "short-1", "long-1")
    info = json.loads((output / SIDECAR_NAME).read_text())
    reasons = {d["take_id"].split("/")[1]: d["reason"] for d in info["qc"]["dropped"]}
    assert reasons["nan-1"] == "NaN or infinite values"
    assert reasons["spike-1"].startswith("velocity spike: left_wrist")
    assert reasons["short-1"] == "shorter than 1 s"
    kept = datasets.load_from_disk(str(output))
    # The NaN take keeps both finite runs around the gap (40 and 105 frames).
    assert sorted(r["frames"] for r in kept if r["take_id"] == "fake/nan-1") == [40, 105]
    assert not any(r["take_id"] == "fake/spike-1" for r in kept)


def test_existing_output_is_kept_without_overwrite(tmp_path: Path, fake_source: None) -> None:
    output = run(tmp_path, "long-1")
    before = sorted(p.name for p in output.iterdir())
    with pytest.raises(CorpusError, match="--overwrite"):
        run(tmp_path, "audio-1")
    assert sorted(p.name for p in output.iterdir()) == before
    run(tmp_path, "audio-1", overwrite=True)
    assert len(datasets.load_from_disk(str(output))) == 1


def test_bad_file_leaves_no_partial_output(tmp_path: Path, fake_source: None) -> None:
    with pytest.raises(SourceError, match="malformed"):
        run(tmp_path, "long-1", "bad-1")
    assert not (tmp_path / "corpus").exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no staging directory left behind


def test_skip_bad_files_records_them(tmp_path: Path, fake_source: None) -> None:
    output = run(tmp_path, "long-1", "bad-1", settings=TakeSettings(skip_bad_files=True))
    info = json.loads((output / SIDECAR_NAME).read_text())
    assert any("malformed test file" in d["reason"] for d in info["qc"]["dropped"])


def test_nothing_kept_is_an_error(tmp_path: Path, fake_source: None) -> None:
    with pytest.raises(CorpusError, match="no clip passed QC"):
        run(tmp_path, "short-1")
    assert not (tmp_path / "corpus").exists()


def test_open_corpus_rejects_other_folders(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="not a vermo corpus"):
        open_corpus(tmp_path)


def test_split_by_tag_overrides_the_hash(tmp_path: Path, fake_source: None) -> None:
    settings = TakeSettings(split_by_tag=(("kind:long", "test"), ("kind:pair", "val")))
    output = run(tmp_path, "long-1", "pair-1", "audio-1", settings=settings)
    clips = datasets.load_from_disk(str(output))
    splits = {row["take_id"]: row["split"] for row in clips}
    assert splits["fake/long-1"] == "test" and splits["fake/pair-1"] == "val"
    info = json.loads((output / SIDECAR_NAME).read_text())
    assert info["splits"]["by_tag"][0] == {"tag": "kind:long", "split": "test"}
