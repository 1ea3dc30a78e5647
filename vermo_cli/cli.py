"""The `vermo` command line: parse options, call the library, print results; no work here."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from vermo_cli import __version__
from vermo_cli.errors import VermoError

app = typer.Typer(
    name="vermo",
    help="vermo: one motion language model for motion, text, music and speech.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
console = Console()
error_console = Console(stderr=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a `VermoError` into one line on stderr and exit code 1 (tracebacks are for bugs)."""
    try:
        yield
    except VermoError as error:
        error_console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        error_console.print("[bold red]interrupted[/]: nothing was written")
        raise typer.Exit(130) from None


def _version(value: bool) -> None:
    if value:
        console.print(f"vermo {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """vermo: one motion language model for motion, text, music and speech."""


class _RichPrepareProgress:
    """Draws `prepare`'s progress: work items done, clips kept, ETA."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: int | None = None
        self.clips = 0

    def start(self, total_items: int) -> None:
        self.task = self.progress.add_task("preparing", total=total_items, clips=0)

    def item_done(self, clips_kept: int) -> None:
        self.clips += clips_kept
        if self.task is not None:
            self.progress.update(self.task, advance=1, clips=self.clips)


def _split_source_arguments(tokens: list[str], known: set[str]) -> list[tuple[str, list[Path]]]:
    """`bvh a b humanml3d c synthetic` -> [(bvh, [a, b]), (humanml3d, [c]), (synthetic, [])].

    A token starts a new group when it names an installed source and is not an existing path.
    """
    groups: list[tuple[str, list[Path]]] = []
    for token in tokens:
        if token in known and not Path(token).exists():
            groups.append((token, []))
        elif not groups:
            raise VermoError(
                f"'{token}' is not a source; start with one of: {', '.join(sorted(known))}"
            )
        else:
            groups[-1][1].append(Path(token))
    return groups


def _summary_table(report: object) -> Table:
    from vermo_cli.data.prepare import PrepareReport

    assert isinstance(report, PrepareReport)
    table = Table(title=f"corpus {report.output}", title_justify="left")
    table.add_column("source", no_wrap=True)
    table.add_column("split", no_wrap=True)
    for column in ("clips", "hours", "frames", "captioned", "music", "speech", "2 people"):
        table.add_column(column, justify="right", no_wrap=True)
    rows = sorted(report.summary.items())
    for (source, split), row in [*rows, (("all", ""), report.total)]:
        table.add_row(
            source,
            split,
            f"{row.clips:,}",
            f"{row.hours:.2f}",
            f"{row.frames:,}",
            f"{row.captioned:,}",
            f"{row.music:,}",
            f"{row.speech:,}",
            f"{row.two_people:,}",
            end_section=(source, split) == rows[-1][0],
        )
    return table


@app.command()
def prepare(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="One or more groups `SOURCE [PATH ...]`, e.g. `bvh data/lafan1 data/bandai "
            "humanml3d data/HumanML3D`; `synthetic` takes no path. Installed sources: bvh, "
            "humanml3d, smpl, interx, interhuman, beat2, synthetic (and any plugin package).",
            show_default=False,
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Corpus directory to write.")],
    joint_map: Annotated[
        Path | None,
        typer.Option(
            help="YAML joint map for a BVH skeleton vermo does not know.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    body_model: Annotated[
        Path | None,
        typer.Option(
            help="Your SMPL/SMPL-H/SMPL-X model directory (for smpl and beat2 npz).",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    clips: Annotated[int, typer.Option(min=1, help="Clips the synthetic source generates.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic source.")] = 0,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (default: CPU count, at most 8).")
    ] = min(os.cpu_count() or 1, 8),
    max_seconds: Annotated[
        float, typer.Option(min=1.0, help="Longest clip; longer takes are cut into windows.")
    ] = 12.0,
    min_seconds: Annotated[float, typer.Option(min=0.1, help="Shorter clips are dropped.")] = 1.0,
    skip_bad_files: Annotated[
        bool, typer.Option(help="Record unreadable files in the QC report instead of stopping.")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option(help="Replace an existing corpus at --output.")
    ] = False,
) -> None:
    """Turn raw datasets (or the built-in synthetic corpus) into one vermo corpus.

    The corpus is an Arrow dataset (`datasets.load_from_disk(DIR)` opens it) on the 52-joint
    SMPL-H skeleton at 30 fps in a canonical frame, with deterministic splits, normalisation
    statistics and a QC report in DIR/vermo_corpus.json. Example:
    `vermo prepare synthetic -o corpus/synthetic`.
    """
    from vermo_cli.data.prepare import SourceRequest, prepare_corpus
    from vermo_cli.data.sources import SourceOptions, available_sources
    from vermo_cli.data.takes import TakeSettings

    with user_errors():
        groups = _split_source_arguments(sources, set(available_sources()))
        requests = [SourceRequest(name, tuple(paths)) for name, paths in groups]
        options = SourceOptions(joint_map=joint_map, body_model=body_model, clips=clips, seed=seed)
        settings = TakeSettings(
            max_seconds=max_seconds, min_seconds=min_seconds, skip_bad_files=skip_bad_files
        )
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files · {task.fields[clips]:,} clips"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=error_console, transient=False) as bar:
            report = prepare_corpus(
                requests, output, options, settings, workers, overwrite, _RichPrepareProgress(bar)
            )
        console.print(_summary_table(report))
        kept = report.total.clips
        dropped = ", ".join(f"{count} {reason}" for reason, count in report.drop_reasons.items())
        console.print(
            f"{kept:,} clips from {report.takes:,} takes in {report.seconds:.1f} s"
            + (
                f"; QC dropped: {dropped} (details in {output}/vermo_corpus.json)"
                if dropped
                else "; QC dropped nothing"
            )
        )


def main() -> None:
    """Console-script entry point."""
    app(prog_name="vermo")


if __name__ == "__main__":
    sys.exit(main())
