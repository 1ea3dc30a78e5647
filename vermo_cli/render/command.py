"""The `vermo render` command: parse options, call `run_render`, print what was written."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, TextColumn

from vermo_cli.console import console, error_console, user_errors
from vermo_cli.progress import progress_bar
from vermo_cli.render.bodies import BodyKind


class _RichFrameProgress:
    """A progress bar over rendered frames."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: int | None = None

    def start(self, total_frames: int) -> None:
        self.task = self.progress.add_task("rendering", total=total_frames)

    def advance(self) -> None:
        if self.task is not None:
            self.progress.update(self.task, advance=1)


def render(
    source: Annotated[
        Path,
        typer.Argument(
            help="A motion .npz (from `vermo generate` or `vermo tokenize decode`), a .bvh file, "
            "or a corpus directory from `vermo prepare` (with --clip).",
            show_default=False,
        ),
    ],
    clip: Annotated[
        str | None, typer.Option(help="Clip id inside a corpus; its audio span comes along.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Output path (or an existing directory); .mp4 (video) and .png (sheet) are "
            "added or swapped in. Default: outputs/NAME, NAME the input file's name without "
            "its suffix (a corpus clip: its id with / as _).",
        ),
    ] = None,
    video: Annotated[
        bool, typer.Option("--video", help="Write an H.264 mp4 (the default output).")
    ] = False,
    sheet: Annotated[
        bool, typer.Option("--sheet", help="Write a PNG contact sheet of evenly spaced frames.")
    ] = False,
    size: Annotated[
        str, typer.Option(help="Frame size in pixels: 512 (square) or WIDTHxHEIGHT, e.g. 640x480.")
    ] = "512",
    fps: Annotated[
        float | None,
        typer.Option(help="Video frame rate; the motion is resampled (default: its own rate)."),
    ] = None,
    audio: Annotated[
        Path | None,
        typer.Option(
            help="Audio to mux in (wav, flac, ogg, mp3), cut to the video's length. Default: the "
            "audio the .npz or corpus clip carries, if any."
        ),
    ] = None,
    joint_map: Annotated[
        Path | None, typer.Option(help="YAML joint map for a BVH skeleton vermo does not know.")
    ] = None,
    sheet_frames: Annotated[
        int, typer.Option(min=1, help="Frames on the contact sheet (rows of four).")
    ] = 8,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            help="Camera follows the people slowly (for long takes that cross the floor) "
            "instead of framing the whole motion at once.",
        ),
    ] = False,
    body: Annotated[
        BodyKind,
        typer.Option(
            help="How people are drawn: skeleton (spheres and capsules on the joints), mannequin "
            "(a wooden-mannequin mesh vermo builds) or smplh (an SMPL-H mesh fitted to the "
            "joints; needs --body-model)."
        ),
    ] = BodyKind.skeleton,
    body_model: Annotated[
        Path | None,
        typer.Option(
            help="Folder with your licensed SMPL-H model files (smplh/SMPLH_NEUTRAL.pkl or "
            ".npz, or _MALE / _FEMALE), for --body smplh."
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option(help="Replace existing output files (refused without it).")
    ] = False,
) -> None:
    """Render a motion offscreen (no display needed): an mp4 with the audio muxed in, and/or a
    PNG contact sheet. People are drawn as spheres and capsules on the 52-joint skeleton (or as
    mannequins, or SMPL-H meshes fitted to the joints, with --body), one colour per person, on a
    checker floor, seen by a camera that frames the whole motion (or follows the people with
    --follow).
    Example: `vermo render out.npz --video`.
    """
    from vermo_cli.render.job import RenderRequest, run_render

    with user_errors():
        request = RenderRequest(
            source=source,
            clip=clip,
            output=output,
            video=video or not sheet,
            sheet=sheet,
            size=size,
            fps=fps,
            audio=audio,
            joint_map=joint_map,
            sheet_frames=sheet_frames,
            follow=follow,
            body=body.value,
            body_model=body_model,
            overwrite=overwrite,
        )
        with progress_bar(TextColumn("frames"), console=error_console) as bar:
            report = run_render(request, _RichFrameProgress(bar))
        people = f"{report.agents} {'person' if report.agents == 1 else 'people'}"
        if report.fit_error_mm is not None:
            console.print(
                f"fitted SMPL-H to {people} in {report.fit_seconds:.1f} s: mean joint error "
                f"{report.fit_error_mm:.1f} mm"
            )
        if report.video is not None:
            sound = "with audio" if report.audio else "no audio"
            console.print(
                f"wrote {report.video}: {people}, {report.frames} frames at {report.fps:g} fps "
                f"({report.seconds:.2f} s, {sound}), rendered at {report.render_fps:.1f} frames/s"
            )
        if report.sheet is not None:
            width, height = report.sheet_size or (0, 0)
            console.print(
                f"wrote {report.sheet}: contact sheet of {min(sheet_frames, report.frames)} "
                f"frames ({width}x{height})"
            )


def register(app: typer.Typer) -> None:
    """Add the `render` command to `app` (the `vermo` command line)."""
    app.command("render")(render)
