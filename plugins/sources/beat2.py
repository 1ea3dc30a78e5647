"""Source for BEAT2 speech-gesture takes: motion, 16 kHz speech and word timings, paired by stem.

A take is a motion file, either a BEAT BVH or a BEAT2 SMPL-X `.npz` (`poses` `[T, 165]`, `trans`,
`betas`, y up, read through smplx with `--body-model DIR`), plus `wave16k/<stem>.wav` and
optionally `textgrid/<stem>.TextGrid` (Praat; word tier) found beside the motion file or beside
its folder (BEAT2 keeps motion in `smplxflame_30/` next to `wave16k/` and `textgrid/`). Motion
and audio start together. TextGrids may run past the end of the audio; words are clipped to it.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
from vermo_plugins.sources.body_model import (
    BodyParameters,
    body_joint_positions,
    load_body_model,
)
from vermo_plugins.sources.bvh import load_bvh_as_smplh

from vermo_cli.data.audio import load_audio
from vermo_cli.data.sources import MotionSource
from vermo_cli.errors import SourceError
from vermo_cli.motion.clip import AudioTrack, Caption, SourceClip, Word

_MOTION_SUFFIXES = (".bvh", ".npz")
_AUDIO_FOLDER = "wave16k"
_TEXTGRID_FOLDER = "textgrid"
_WORD_TIERS = ("words", "word")
CAPTION = "a person talks and gestures"
# BEAT names takes `{speaker id}_{speaker}_{type}_{start}_{end}`, e.g. `2_scott_0_1_1`.
_SPEAKER = re.compile(r"^\d+_([a-z]+)_\d+_\d+_\d+")
# BEAT2's split file: rows of `id,type` with type train / val / test / additional.
_SPLIT_FILE = "train_test_split.csv"
_SPLIT_NAMES = {"train": "train", "val": "val", "test": "test"}


class Beat2Source(MotionSource):
    """BEAT2 takes: BVH or SMPL-X motion with `wave16k/` speech and `textgrid/` words."""

    name = "beat2"
    summary = "BEAT2 speech + gesture takes (BVH or SMPL-X .npz, wave16k/ audio, TextGrid words)"

    def discover(self, paths: list[Path]) -> list[str]:
        """Every motion file (`.bvh`, `.npz`) in `paths`, sorted; each is one take."""
        items: list[str] = []
        for path in paths:
            path = Path(path)
            if not path.exists():
                raise SourceError(f"{path}: no such file or folder")
            files = [path] if path.is_file() else sorted(path.rglob("*"))
            found = [str(f) for f in files if f.is_file() and f.suffix in _MOTION_SUFFIXES]
            if not found:
                raise SourceError(f"{path}: no BEAT2 motion files (.bvh or .npz) found")
            items += found
        return sorted(set(items))

    def load(self, item: str) -> list[SourceClip]:
        """One take with its speech and word timings."""
        motion_path = Path(item)
        audio_path = _companion(motion_path, _AUDIO_FOLDER, ".wav")
        if not audio_path.is_file():
            raise SourceError(f"{motion_path}: speech audio {audio_path} not found")
        if motion_path.suffix == ".npz":
            joints, fps, mask = self._smplx_motion(motion_path)
        else:
            bvh = load_bvh_as_smplh(motion_path, self.options.joint_map)
            joints, fps, mask = bvh.joints, bvh.fps, bvh.joint_mask
        waveform, rate = load_audio(audio_path)
        audio = AudioTrack(waveform=waveform, sample_rate=rate, kind="speech")
        textgrid_path = _companion(motion_path, _TEXTGRID_FOLDER, ".TextGrid")
        words = read_words(textgrid_path, audio.duration) if textgrid_path.is_file() else []
        speaker = _SPEAKER.match(motion_path.stem)
        return [
            SourceClip(
                take_id=f"beat2/{motion_path.stem}",
                dataset="beat2",
                joints=joints[None],
                fps=fps,
                joint_mask=mask,
                captions=[Caption(CAPTION)],
                audio=audio,
                words=words,
                tags=[f"speaker:{speaker.group(1)}"] if speaker else [],
                origin=str(motion_path),
                split=_official_splits(str(_take_root(motion_path))).get(motion_path.stem),
            )
        ]

    def _smplx_motion(self, path: Path) -> tuple[np.ndarray, float, np.ndarray]:
        """Joints `[T, 52, 3]` metres (y up), fps and mask of a BEAT2 SMPL-X `.npz`."""
        try:
            with np.load(path, allow_pickle=False) as archive:
                data = {key: archive[key] for key in archive.files}
        except (OSError, ValueError) as error:
            raise SourceError(f"{path}: cannot read .npz ({error})") from error
        missing = [key for key in ("poses", "trans") if key not in data]
        if missing:
            raise SourceError(f"{path}: missing {missing} (BEAT2 SMPL-X motion)")
        poses = np.asarray(data["poses"], dtype=np.float32)
        if poses.ndim != 2 or poses.shape[1] != 165:
            raise SourceError(f"{path}: 'poses' must be [frames, 165] (SMPL-X), got {poses.shape}")
        fps = float(np.asarray(data.get("mocap_frame_rate", 30.0)).ravel()[0])
        gender = str(np.asarray(data.get("gender", "neutral")).ravel()[0])
        # BEAT2's hand poses are relative to SMPL-X's mean hand pose.
        model = load_body_model(
            self.options.body_model, "smplx", gender, path, flat_hand_mean=False
        )
        # SMPL-X order: root, 21 body joints, jaw, eyes (9 numbers), then 15 + 15 hand joints.
        parameters = BodyParameters(
            global_orient=poses[:, :3],
            body_pose=poses[:, 3:66],
            hand_pose=poses[:, 75:165],
            translation=np.asarray(data["trans"], dtype=np.float32),
            betas=np.asarray(data.get("betas", np.zeros(0)), dtype=np.float32).ravel(),
        )
        joints, mask = body_joint_positions(model, parameters)
        return joints, fps, mask


def read_words(path: Path, duration: float) -> list[Word]:
    """Spoken words of a Praat TextGrid's word tier, clipped to the first `duration` seconds.

    Words starting at or after `duration` are dropped and ends are cut at `duration`; empty
    intervals (silences) are skipped.
    """
    from praatio import textgrid
    from praatio.utilities.errors import PraatioException

    try:
        grid = textgrid.openTextgrid(str(path), includeEmptyIntervals=False)
    except (PraatioException, OSError, ValueError, IndexError) as error:
        raise SourceError(f"{path}: cannot read TextGrid ({error})") from error
    tier_name = next((name for name in _WORD_TIERS if name in grid.tierNames), None)
    if tier_name is None:
        raise SourceError(f"{path}: no word tier (expected one of {list(_WORD_TIERS)})")
    words: list[Word] = []
    for start, end, label in grid.getTier(tier_name).entries:
        if label.strip() and start < duration:
            words.append(Word(label.strip(), float(start), float(min(end, duration))))
    return words


def _take_root(motion_path: Path) -> Path:
    """The folder holding `wave16k/`: the motion's folder or, in BEAT2's layout, its parent."""
    for folder in (motion_path.parent, motion_path.parent.parent):
        if (folder / _AUDIO_FOLDER).is_dir():
            return folder
    return motion_path.parent


def _companion(motion_path: Path, folder: str, suffix: str) -> Path:
    """The take's file in `folder` (e.g. `wave16k/<stem>.wav`) under the take root."""
    return _take_root(motion_path) / folder / f"{motion_path.stem}{suffix}"


@lru_cache(maxsize=8)
def _official_splits(root: str) -> dict[str, str]:
    """Take stem -> train / val / test from BEAT2's `train_test_split.csv` (empty when absent).

    Cached because every take of a root asks for the same file.
    """
    path = Path(root) / _SPLIT_FILE
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(handle)
        return {
            row["id"]: _SPLIT_NAMES[row["type"]]
            for row in rows
            if row.get("id") and row.get("type") in _SPLIT_NAMES
        }
