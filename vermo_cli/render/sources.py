"""What `vermo render` draws: a motion `.npz`, a BVH file or a corpus clip, with its audio."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vermo_cli.errors import VermoError
from vermo_cli.motion.resample import CANONICAL_FPS, resample_motion
from vermo_cli.motion.skeleton import NUM_JOINTS
from vermo_cli.motion.validation import validate_motion


@dataclass(frozen=True)
class AudioClip:
    """Mono audio: `waveform` `[samples]` float32 in [-1, 1] at `rate` Hz."""

    waveform: np.ndarray
    rate: int

    @property
    def seconds(self) -> float:
        """Duration in seconds."""
        return len(self.waveform) / self.rate

    def span(self, offset: float, duration: float | None) -> AudioClip:
        """The part from `offset` seconds lasting `duration` seconds (to the end when None)."""
        start = max(0, round(offset * self.rate))
        end = len(self.waveform) if duration is None else start + round(duration * self.rate)
        return AudioClip(self.waveform[start:end], self.rate)


DEFAULT_RENDER_DIR = Path("outputs")
"""Where a render goes when no `-o` is given (relative to the current directory): a command
never writes beside its input, which may be a read-only dataset."""


@dataclass(frozen=True)
class RenderMotion:
    """A motion to draw: `joints` `[agents, frames, 52, 3]` float32 metres, y up, at `fps`;
    `joint_mask` `[52]` bool (False: not drawn); `audio` that goes with it (or None); `stem` the
    default output path without suffix (under `DEFAULT_RENDER_DIR`, never beside the input)."""

    joints: np.ndarray
    joint_mask: np.ndarray
    fps: float
    audio: AudioClip | None
    stem: Path

    @property
    def seconds(self) -> float:
        """Duration in seconds (frames / fps)."""
        return self.joints.shape[1] / self.fps

    def at_fps(self, fps: float | None) -> RenderMotion:
        """The same motion resampled to `fps` frames per second (linear in time); unchanged when
        `fps` is None or already the motion's rate."""
        if fps is None or abs(fps - self.fps) < 1e-9:
            return self
        joints = resample_motion(self.joints, self.fps, fps)
        return RenderMotion(joints, self.joint_mask, fps, self.audio, self.stem)


def load_audio_clip(path: Path) -> AudioClip:
    """Decode an audio file (wav, flac, ogg, mp3, ...) to mono; one-line `VermoError` if it
    cannot be read."""
    from vermo_cli.data.audio import load_audio

    waveform, rate = load_audio(Path(path))
    return AudioClip(waveform, rate)


def load_render_motion(
    path: Path, clip: str | None = None, joint_map: Path | None = None
) -> RenderMotion:
    """Read what to render from `path`: a vermo motion `.npz` (its audio too, if it holds any), a
    `.bvh` file (retargeted to the 52 joints; `joint_map` for a skeleton vermo does not know) or
    a corpus directory (with `clip`, the clip's id; its audio span comes along)."""
    path = Path(path)
    if not path.exists():
        raise VermoError(f"{path}: no such file or directory")
    if clip is not None and not path.is_dir():
        raise VermoError(f"{path}: --clip needs a corpus directory from `vermo prepare`")
    if path.is_dir():
        if clip is None:
            raise VermoError(f"{path}: a corpus needs --clip ID (the clip to render)")
        motion = _corpus_clip(path, clip)
    elif path.suffix.lower() == ".npz":
        motion = _npz_motion(path)
    elif path.suffix.lower() == ".bvh":
        motion = _bvh_motion(path, joint_map)
    else:
        raise VermoError(
            f"{path}: unknown format '{path.suffix}'; expected a motion .npz, a .bvh file or a "
            "corpus directory"
        )
    validate_motion(motion.joints, path if clip is None else f"{path} clip {clip}")
    return motion


def _npz_motion(path: Path) -> RenderMotion:
    """A vermo `.npz` (`joints`, `fps`, `mask`; optional `audio` `[samples]` and `audio_rate`)."""
    from vermo_cli.motion.npz import load_motion_npz

    content = load_motion_npz(path)
    mask = content.get("mask")
    if mask is None or mask.shape != (NUM_JOINTS,):
        mask = np.ones(NUM_JOINTS, dtype=bool)
    fps = float(content["fps"]) if "fps" in content else CANONICAL_FPS
    if not (np.isfinite(fps) and fps > 0):
        raise VermoError(f"{path}: fps must be positive, got {fps}")
    audio = None
    if "audio" in content:
        if "audio_rate" not in content:
            raise VermoError(f"{path}: has 'audio' but no 'audio_rate'")
        waveform = np.asarray(content["audio"], dtype=np.float32).reshape(-1)
        if waveform.size:
            audio = AudioClip(waveform, int(content["audio_rate"]))
    joints = np.asarray(content["joints"], dtype=np.float32)
    return RenderMotion(joints, mask.astype(bool), fps, audio, DEFAULT_RENDER_DIR / path.stem)


def _bvh_motion(path: Path, joint_map: Path | None) -> RenderMotion:
    """A BVH take retargeted to SMPL-H positions (metres, y up), as one person."""
    from vermo_plugins.sources.bvh import load_bvh_as_smplh

    take = load_bvh_as_smplh(path, joint_map)
    joints = np.asarray(take.joints, dtype=np.float32)[None]
    return RenderMotion(
        joints, take.joint_mask, float(take.fps), None, DEFAULT_RENDER_DIR / path.stem
    )


def _corpus_clip(path: Path, clip: str) -> RenderMotion:
    """One clip of a corpus, with the span of its audio file that it covers."""
    from vermo_cli.data.store import motion_array, open_corpus

    corpus = open_corpus(path)
    ids = list(corpus.clips["id"])
    if clip not in ids:
        close = difflib.get_close_matches(clip, ids, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise VermoError(f"{path}: no clip '{clip}' among its {len(ids):,} clips{hint}")
    row = corpus.clips[ids.index(clip)]
    audio = None
    if row["audio"] is not None:
        track = load_audio_clip(corpus.audio_path(row["audio"]["path"]))
        audio = track.span(row["audio"]["offset"], row["audio"]["duration"])
    return RenderMotion(
        motion_array(row),
        np.asarray(row["joint_mask"], dtype=bool),
        float(row["fps"]),
        audio,
        DEFAULT_RENDER_DIR / clip.replace("/", "_"),
    )
