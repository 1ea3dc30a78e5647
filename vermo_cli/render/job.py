"""One `vermo render` request end to end: load the motion, render each frame once, write the mp4
and/or the contact sheet."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from vermo_cli.errors import VermoError
from vermo_cli.files import check_output_file
from vermo_cli.render.bodies import BodyKind, body_kind, check_body_options, person_bodies
from vermo_cli.render.platform import choose_gl_platform
from vermo_cli.render.sheet import sheet_frames, write_sheet
from vermo_cli.render.sources import RenderMotion, load_audio_clip, load_render_motion
from vermo_cli.render.video import parse_size, video_audio, write_video

if TYPE_CHECKING:
    from vermo_cli.render.scene import MotionScene

OUTPUT_SUFFIXES = (".mp4", ".png")
# How slowly a following camera moves: the standard deviation (seconds) of its smoothing.
FOLLOW_SECONDS = 1.0


class FrameProgress(Protocol):
    """Receives rendering progress (a progress bar in the CLI)."""

    def start(self, total_frames: int) -> None:
        """Rendering begins; `total_frames` will be rendered."""

    def advance(self) -> None:
        """One more frame is rendered."""


@dataclass(frozen=True)
class RenderRequest:
    """What to render and where. `source`: `.npz`, `.bvh` or corpus directory (`clip`: the clip
    id). `output`: path for the files (`.mp4` / `.png` added or swapped in), or None for
    `outputs/NAME` (NAME the source's file name without its suffix). `size`: `512` or
    `640x480` pixels. `fps`: frames per second of the output (None: the motion's). `audio`: an
    audio file to use instead of the motion's own. `sheet_frames`: tiles on the contact sheet.
    `follow`: the camera follows the people slowly instead of framing the whole motion at once.
    `body`: how people are drawn (a `BodyKind` value: skeleton, mannequin or smplh);
    `body_model`: the folder with the SMPL-H model files (for smplh only). `overwrite`: replace
    existing output files (refused otherwise)."""

    source: Path
    clip: str | None = None
    output: Path | None = None
    video: bool = True
    sheet: bool = False
    size: str = "512"
    fps: float | None = None
    audio: Path | None = None
    joint_map: Path | None = None
    sheet_frames: int = 8
    follow: bool = False
    body: str = BodyKind.skeleton.value
    body_model: Path | None = None
    overwrite: bool = False


@dataclass(frozen=True)
class RenderReport:
    """What was written: `video` / `sheet` paths (None if not asked for), the sheet's (width,
    height) `sheet_size` in pixels, `agents` people,
    `frames` of the motion at `fps` (all in the video), `seconds` it lasts, `audio` whether a
    track was muxed,
    `render_fps` frames rendered per second of rendering (encoding excluded), and for SMPL-H
    `fit_error_mm`, the mean distance (millimetres) of the fitted bodies' joints from the
    motion's, with `fit_seconds` the time the fit took."""

    video: Path | None
    sheet: Path | None
    sheet_size: tuple[int, int] | None
    agents: int
    frames: int
    fps: float
    seconds: float
    audio: bool
    render_fps: float
    fit_error_mm: float | None = None
    fit_seconds: float | None = None


def output_stem(output: Path | None, default: Path) -> Path:
    """`out` for `out`, `out.mp4` or `out.png`; `default` when no output is given, and
    `default`'s name inside `output` when that is an existing directory."""
    if output is None:
        return default
    output = Path(output)
    if output.is_dir():
        return output / default.name
    return output.with_suffix("") if output.suffix.lower() in OUTPUT_SUFFIXES else output


def _with_suffix(stem: Path, suffix: str) -> Path:
    """`stem` plus `suffix`, keeping any dots already in its name (`run.v2` -> `run.v2.mp4`)."""
    return stem.with_name(stem.name + suffix)


def requested_motion(request: RenderRequest) -> RenderMotion:
    """The motion `request` asks for, at its frame rate, with the audio that goes with it;
    one-line `VermoError`s for bad options or input."""
    if not (request.video or request.sheet):
        raise VermoError("nothing to write: ask for --video, --sheet or both")
    if request.sheet_frames < 1:
        raise VermoError("--sheet-frames must be at least 1")
    if request.fps is not None and request.fps <= 0:
        raise VermoError(f"--fps must be positive, got {request.fps}")
    check_body_options(body_kind(request.body), request.body_model)
    motion = load_render_motion(request.source, request.clip, request.joint_map)
    motion = motion.at_fps(request.fps)
    if request.audio is not None:
        audio = load_audio_clip(request.audio)
        motion = RenderMotion(motion.joints, motion.joint_mask, motion.fps, audio, motion.stem)
    return motion


def run_render(request: RenderRequest, progress: FrameProgress | None = None) -> RenderReport:
    """Render `request` (see `RenderRequest`), drawing each frame once for both outputs.
    Raises `VermoError` with a one-line message for bad input or a machine without offscreen
    OpenGL."""
    size = parse_size(request.size, even=request.video)
    motion = requested_motion(request)
    stem = output_stem(request.output, motion.stem)
    for wanted_output, suffix in ((request.video, ".mp4"), (request.sheet, ".png")):
        if wanted_output:
            check_output_file(_with_suffix(stem, suffix), request.overwrite)
    frames = motion.joints.shape[1]
    tiles = sheet_frames(frames, request.sheet_frames) if request.sheet else np.zeros(0, int)
    wanted = np.arange(frames) if request.video else tiles
    choose_gl_platform()
    from vermo_cli.render.scene import MotionScene

    video = sheet = None
    sheet_size = None
    audio_track = None
    follow = FOLLOW_SECONDS * motion.fps if request.follow else None
    kind = body_kind(request.body)
    bodies = person_bodies(kind, request.body_model, motion.joints, motion.joint_mask)
    with MotionScene(motion.joints, motion.joint_mask, size, follow, bodies.surfaces) as scene:
        if progress is not None:
            progress.start(len(wanted))
        loop = _FrameLoop(scene, set(tiles.tolist()), progress)
        if request.video:
            video = _with_suffix(stem, ".mp4")
            audio_track = video_audio(motion.audio, frames, motion.fps)
            write_video(loop.frames(wanted), video, size, motion.fps, audio_track)
        else:
            for _ in loop.frames(wanted):
                pass
    if request.sheet:
        sheet = _with_suffix(stem, ".png")
        tile_images = [loop.kept[int(index)] for index in tiles]
        sheet_size = write_sheet(tile_images, [index / motion.fps for index in tiles], sheet)
    return RenderReport(
        video=video,
        sheet=sheet,
        sheet_size=sheet_size,
        agents=motion.joints.shape[0],
        frames=frames,
        fps=motion.fps,
        seconds=frames / motion.fps,
        audio=audio_track is not None,
        render_fps=len(wanted) / max(loop.seconds, 1e-9),
        fit_error_mm=bodies.fit_error_mm,
        fit_seconds=bodies.fit_seconds,
    )


class _FrameLoop:
    """Renders frames in order, keeps those the contact sheet needs, and times the rendering
    alone (not the encoding that consumes the frames)."""

    def __init__(self, scene: MotionScene, keep: set[int], progress: FrameProgress | None) -> None:
        self.scene = scene
        self.keep = keep
        self.progress = progress
        self.kept: dict[int, np.ndarray] = {}
        self.seconds = 0.0

    def frames(self, indices: np.ndarray) -> Iterator[np.ndarray]:
        """Images `[height, width, 3]` uint8 of the frames at `indices`, in order."""
        for index in indices.tolist():
            started = time.perf_counter()
            image = self.scene.render(index)
            self.seconds += time.perf_counter() - started
            if index in self.keep:
                self.kept[index] = image
            if self.progress is not None:
                self.progress.advance()
            yield image
