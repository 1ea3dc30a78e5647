"""The progress display: a bar on a terminal; on a file or a pipe, plain lines at a steady interval
that reach the file while the job runs."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console
from rich.progress import Progress, TextColumn

from vermo_cli.errors import VermoError
from vermo_cli.progress import (
    INTERVAL_VARIABLE,
    ProgressLines,
    clock,
    progress_bar,
    progress_interval,
)


def log_console() -> tuple[Console, io.StringIO]:
    stream = io.StringIO()
    return Console(file=stream), stream


def test_a_terminal_gets_a_bar_and_a_file_gets_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    terminal = Console(file=io.StringIO(), force_terminal=True)
    assert not isinstance(progress_bar(console=terminal), ProgressLines)
    assert isinstance(progress_bar(console=log_console()[0]), ProgressLines)
    assert isinstance(progress_bar(console=log_console()[0]), Progress)


def test_lines_at_start_at_each_interval_and_at_the_finish() -> None:
    console, stream = log_console()
    extra = TextColumn("loss {task.fields[loss]:.2f}")
    with ProgressLines(extra, console=console, interval=0.05) as bar:
        task = bar.add_task("sft", total=10, loss=2.5)
        bar.update(task, completed=3, loss=2.25)
        time.sleep(0.5)
        lines = stream.getvalue().splitlines()
        assert lines[0] == "sft: 0/10 (0 %) loss 2.50, elapsed 0:00"
        assert len(lines) >= 3 and lines[-1].startswith("sft: 3/10 (30 %) loss 2.25, elapsed 0:00")
        bar.update(task, completed=10)
        assert (
            stream.getvalue().splitlines()[-1] == "sft: 10/10 (100 %) loss 2.25, elapsed 0:00, done"
        )
        finished = len(stream.getvalue().splitlines())
        time.sleep(0.2)
    assert len(stream.getvalue().splitlines()) == finished, "a finished task is reported once"


def test_an_unfinished_task_gets_a_last_line_and_unknown_totals_a_count() -> None:
    console, stream = log_console()
    bar = ProgressLines(console=console, interval=60.0)
    task = bar.add_task("eval", total=None)
    assert stream.getvalue() == "", "nothing before the display starts"
    bar.start()
    bar.advance(task, 7)
    bar.stop()
    assert stream.getvalue().splitlines() == ["eval: 0, elapsed 0:00", "eval: 7, elapsed 0:00"]


def test_a_disabled_display_prints_nothing() -> None:
    console, stream = log_console()
    with ProgressLines(console=console, interval=0.01, disable=True) as bar:
        bar.update(bar.add_task("eval", total=2), completed=2)
    assert stream.getvalue() == ""


def test_the_interval_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(INTERVAL_VARIABLE, raising=False)
    assert progress_interval() == 10.0
    monkeypatch.setenv(INTERVAL_VARIABLE, "0.5")
    assert progress_interval() == 0.5
    for bad in ("0", "-1", "soon"):
        monkeypatch.setenv(INTERVAL_VARIABLE, bad)
        with pytest.raises(VermoError, match=INTERVAL_VARIABLE):
            progress_interval()


def test_clock() -> None:
    assert (clock(0), clock(62.9), clock(3723)) == ("0:00", "1:02", "1:02:03")


LONG_JOB = """
import time
from rich.progress import TextColumn
from vermo_cli.console import error_console
from vermo_cli.progress import progress_bar

with progress_bar(TextColumn("steps"), console=error_console) as bar:
    task = bar.add_task("fit", total=100_000)
    for step in range(100_000):
        time.sleep(0.01)
        bar.update(task, completed=step + 1)
"""


def test_a_redirected_job_logs_its_progress_while_it_runs(tmp_path: Path) -> None:
    """The log of a job that is still running (and is then killed) shows how far it got."""
    log = tmp_path / "job.log"
    environment = {**os.environ, INTERVAL_VARIABLE: "0.2"}
    with log.open("w") as output:
        job = subprocess.Popen(
            [sys.executable, "-c", LONG_JOB], stdout=output, stderr=output, env=environment
        )
    try:
        deadline = time.monotonic() + 60
        while len(log.read_text().splitlines()) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert job.poll() is None, log.read_text()
    finally:
        job.kill()
        job.wait()
    lines = log.read_text().splitlines()
    assert len(lines) >= 3 and all(line.startswith("fit: ") for line in lines), lines
    assert " steps, elapsed " in lines[-1]
