"""The one progress-bar layout of vermo's commands: description, bar, count, extra columns,
elapsed time and ETA."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def progress_bar(*extra: TextColumn, console: Console, disable: bool = False) -> Progress:
    """A `Progress` (not started) with `extra` columns after the count, drawn on `console`."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        *extra,
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=disable,
    )
