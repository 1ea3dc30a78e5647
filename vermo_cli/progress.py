"""The one progress display of vermo's commands: on a terminal a bar (description, bar, count,
extra columns, elapsed time and ETA); on a log file or a pipe a plain line per task at a steady
interval, so that a redirected run's log shows how far it got while it runs."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from vermo_cli.errors import VermoError

INTERVAL_VARIABLE = "VERMO_PROGRESS_INTERVAL"
"""Seconds between two progress lines of a task in a log (default `DEFAULT_INTERVAL`)."""
DEFAULT_INTERVAL = 10.0


def progress_bar(*extra: TextColumn, console: Console, disable: bool = False) -> Progress:
    """A `Progress` (not started) with `extra` columns after the count, drawn on `console`: a live
    bar on a terminal, else `ProgressLines`."""
    if not console.is_terminal:
        return ProgressLines(*extra, console=console, disable=disable, interval=progress_interval())
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


def progress_interval() -> float:
    """Seconds between progress lines: `VERMO_PROGRESS_INTERVAL`, else 10."""
    value = os.environ.get(INTERVAL_VARIABLE, "").strip()
    if not value:
        return DEFAULT_INTERVAL
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise VermoError(f"{INTERVAL_VARIABLE} must be a number of seconds above 0, not {value!r}")
    return seconds


def clock(seconds: float) -> str:
    """`62.4` -> `1:02`, `3723` -> `1:02:03` (whole seconds)."""
    minutes, whole = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{whole:02d}" if hours else f"{minutes}:{whole:02d}"


class ProgressLines(Progress):
    """A `Progress` for a log file or a pipe: instead of redrawing a bar it prints one plain line
    per task when the task starts, every `interval` seconds while it runs, when it finishes and,
    if it has not, when the display stops. For example
    `sft: 120/1100 (11 %) loss 2.3100 · val 2.8000 · 412 tok/s, elapsed 1:02, ETA 8:30`.

    The console flushes after every line, so the lines reach a redirected file as they are made.
    """

    def __init__(
        self, *extra: TextColumn, console: Console, disable: bool = False, interval: float
    ) -> None:
        super().__init__(console=console, disable=disable, auto_refresh=False)
        self.extra = extra
        self.interval = interval
        self._finished_shown: set[TaskID] = set()
        self._stopping = threading.Event()
        self._ticker: threading.Thread | None = None

    def start(self) -> None:
        """Print a line for each task so far, then one per running task every interval."""
        if self.disable or self._ticker is not None:
            return
        self._stopping.clear()
        self._ticker = threading.Thread(target=self._tick, name="progress-lines", daemon=True)
        self._ticker.start()
        self._show(self.task_ids)

    def stop(self) -> None:
        """Stop the interval lines; a last line for each task that has not finished."""
        if self._ticker is None:
            return
        self._stopping.set()
        self._ticker.join()
        self._ticker = None
        self._show(self.task_ids)

    def add_task(
        self,
        description: str,
        start: bool = True,
        total: float | None = 100.0,
        completed: int = 0,
        visible: bool = True,
        **fields: Any,
    ) -> TaskID:
        """As `Progress.add_task`; its first line when the display runs."""
        task_id = super().add_task(description, start, total, completed, visible, **fields)
        if self._ticker is not None:
            self._show([task_id])
        return task_id

    def update(
        self,
        task_id: TaskID,
        *,
        total: float | None = None,
        completed: float | None = None,
        advance: float | None = None,
        description: str | None = None,
        visible: bool | None = None,
        refresh: bool = False,
        **fields: Any,
    ) -> None:
        """As `Progress.update`; a line at once when the task has just finished."""
        super().update(
            task_id,
            total=total,
            completed=completed,
            advance=advance,
            description=description,
            visible=visible,
            **fields,
        )
        self._show_if_finished(task_id)

    def advance(self, task_id: TaskID, advance: float = 1) -> None:
        """As `Progress.advance`; a line at once when the task has just finished."""
        super().advance(task_id, advance)
        self._show_if_finished(task_id)

    def line(self, task: Task) -> str:
        """The plain line of one task."""
        if task.total is None:
            count = f"{task.completed:.0f}"
        else:
            count = f"{task.completed:.0f}/{task.total:.0f} ({task.percentage:.0f} %)"
        extras = " ".join(text for column in self.extra if (text := column.render(task).plain))
        line = f"{task.description}: {count}" + (f" {extras}" if extras else "")
        line += f", elapsed {clock(task.elapsed or 0.0)}"
        if _finished(task):
            return line + ", done"
        remaining = task.time_remaining
        return line + (f", ETA {clock(remaining)}" if remaining is not None else "")

    def _tick(self) -> None:
        while not self._stopping.wait(self.interval):
            self._show(self.task_ids)

    def _show_if_finished(self, task_id: TaskID) -> None:
        if self._ticker is not None and task_id not in self._finished_shown:
            with self._lock:
                finished = _finished(self._tasks[task_id])
            if finished:
                self._show([task_id])

    def _show(self, task_ids: Iterable[TaskID]) -> None:
        """Print the line of each of these tasks that is visible and not shown finished (under
        the lock, so that the interval thread's lines never come after a task's last line)."""
        with self._lock:
            for task_id in task_ids:
                task = self._tasks[task_id]
                if task_id in self._finished_shown or not task.visible:
                    continue
                if _finished(task):
                    self._finished_shown.add(task_id)
                self.console.print(self.line(task), markup=False, highlight=False, soft_wrap=True)


def _finished(task: Task) -> bool:
    """Whether all of a task's work is done (rich marks a task finished only through `update`)."""
    return task.total is not None and task.completed >= task.total
