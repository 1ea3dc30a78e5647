"""Tests of the `vermo` command line: help, errors as one line, prepare end to end."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from rich.progress import TextColumn
from typer.testing import CliRunner

from vermo_cli.cli import _RichQuickstartDisplay, _split_source_arguments, app
from vermo_cli.errors import VermoError
from vermo_cli.progress import ProgressLines

runner = CliRunner()


def test_help_lists_prepare() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "prepare" in result.output


def test_console_script_is_installed() -> None:
    result = subprocess.run(
        [Path(sys.executable).parent / "vermo", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.startswith("vermo ")


def test_source_groups_are_split_on_source_names(tmp_path: Path) -> None:
    known = {"bvh", "humanml3d", "synthetic"}
    groups = _split_source_arguments(["bvh", "a", "b", "humanml3d", "c", "synthetic"], known)
    assert groups == [
        ("bvh", [Path("a"), Path("b")]),
        ("humanml3d", [Path("c")]),
        ("synthetic", []),
    ]
    with pytest.raises(VermoError, match="not a source"):
        _split_source_arguments(["data/x"], known)


def one_line_error(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    return lines[0]


def test_unknown_source_is_one_line(tmp_path: Path) -> None:
    assert "'mocap' is not a source" in one_line_error(
        ["prepare", "mocap", "-o", str(tmp_path / "c")]
    )


def test_missing_and_empty_folders_are_one_line(tmp_path: Path) -> None:
    assert "missing" in one_line_error(
        ["prepare", "bvh", str(tmp_path / "missing"), "-o", str(tmp_path / "c")]
    )
    (tmp_path / "empty").mkdir()
    message = one_line_error(["prepare", "bvh", str(tmp_path / "empty"), "-o", str(tmp_path / "c")])
    assert "empty" in message
    assert not (tmp_path / "c").exists()


def test_synthetic_takes_no_paths(tmp_path: Path) -> None:
    message = one_line_error(["prepare", "synthetic", str(tmp_path), "-o", str(tmp_path / "c")])
    assert "takes no input paths" in message


@pytest.mark.slow
def test_prepare_synthetic_end_to_end(tmp_path: Path) -> None:
    output = tmp_path / "corpus"
    args = ["prepare", "synthetic", "--clips", "40", "--workers", "2", "-o", str(output)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "all" in result.output and "clips from" in result.output
    assert "already exists" in one_line_error(args)


def test_bad_split_tag_is_one_line(tmp_path: Path) -> None:
    message = one_line_error(
        ["prepare", "synthetic", "--split-tag", "subject:5=holdout", "-o", str(tmp_path / "c")]
    )
    assert "TAG=SPLIT" in message


def test_the_quickstart_display_finishes_a_stage_when_the_next_begins() -> None:
    stream = io.StringIO()
    detail = TextColumn("{task.fields[detail]}")
    with ProgressLines(detail, console=Console(file=stream), interval=60.0) as bar:
        display = _RichQuickstartDisplay(bar)
        fit = display.stage(1, 2, "fit", skipped=False)
        fit.start(10, "steps")
        fit.update(4, "loss 0.5")
        display.stage(2, 2, "render", skipped=False)
    assert stream.getvalue().splitlines() == [
        "1/2 fit: 0/10 (0 %), elapsed 0:00",
        "1/2 fit: 10/10 (100 %) loss 0.5, elapsed 0:00, done",
    ]
