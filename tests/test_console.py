"""Output to a file or a pipe: tables and `--help` whole (no cell cut to "…"), progress lines in the
log, and every result line flushed as it is printed."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.rich_utils
from rich.table import Table
from typer.testing import CliRunner

from vermo_cli.cli import app
from vermo_cli.console import HELP_WIDTH, UNCUT_WIDTH, VermoConsole
from vermo_cli.generate import DEFAULT_TEMPERATURE

VERMO = Path(sys.executable).parent / "vermo"


def redirected_environment() -> dict[str, str]:
    """This environment without what would make rich see a terminal or a set width."""
    forced = ("COLUMNS", "TERMINAL_WIDTH", "FORCE_COLOR", "TTY_COMPATIBLE", "PY_COLORS")
    return {key: value for key, value in os.environ.items() if key not in forced}


def test_a_console_on_a_file_does_not_cut_a_wide_table() -> None:
    stream = io.StringIO()
    console = VermoConsole(file=stream)
    assert console.width == UNCUT_WIDTH
    table = Table()
    for column in range(20):
        table.add_column(f"column {column}", no_wrap=True)
    table.add_row(*(f"{1234567.891 * column:,.3f}" for column in range(20)))
    console.print(table)
    assert "…" not in stream.getvalue() and f"{1234567.891 * 19:,.3f}" in stream.getvalue()
    assert VermoConsole(file=io.StringIO(), width=50).width == 50, "a chosen width stands"


def test_a_redirected_prepare_logs_progress_and_whole_tables(tmp_path: Path) -> None:
    log = tmp_path / "prepare.log"
    environment = {**redirected_environment(), "VERMO_PROGRESS_INTERVAL": "0.2"}
    with log.open("w") as output:
        subprocess.run(
            [VERMO, "prepare", "synthetic", "--clips", "40", "--workers", "1", "-o",
             tmp_path / "corpus"],
            stdout=output, stderr=output, env=environment, check=True,
        )  # fmt: skip
    text = log.read_text()
    assert "…" not in text, text
    assert text.startswith("preparing: 0/"), text
    assert "files · 40 clips, elapsed " in text and ", done\n" in text
    summary = json.loads((tmp_path / "corpus" / "vermo_corpus.json").read_text())["summary"]
    frames = sum(row["frames"] for row in summary)
    assert re.search(rf"│ +{frames:,} │", text), "the total row's frames, whole"


def test_redirected_help_is_whole(tmp_path: Path) -> None:
    help_text = subprocess.run(
        [VERMO, "eval", "t2m", "--help"],
        capture_output=True,
        text=True,
        env=redirected_environment(),
        check=True,
    ).stdout
    assert "…" not in help_text
    assert (
        "--multimodality-prompts" in help_text and f"[default: {DEFAULT_TEMPERATURE}]" in help_text
    )
    assert max(len(line) for line in help_text.splitlines()) == HELP_WIDTH


def commands(group: typer.Typer, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command line that ends in a command or group of `group`, e.g. ("eval", "t2m")."""
    found = [prefix]
    for command in group.registered_commands:
        name = command.name or command.callback.__name__.replace("_", "-")  # type: ignore[union-attr]
        found.append((*prefix, name))
    for sub_group in group.registered_groups:
        found += commands(sub_group.typer_instance, (*prefix, sub_group.name))  # type: ignore[arg-type]
    return found


def test_every_help_fits_the_redirected_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(typer.rich_utils, "MAX_WIDTH", HELP_WIDTH)
    runner = CliRunner()
    every = commands(app)
    assert ("eval", "t2m") in every and ("tokenize", "fit") in every
    for command in every:
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, result.output
        assert "…" not in result.output, f"vermo {' '.join(command)} --help cuts:\n{result.output}"
