"""Keeps the README honest: the CI script runs its test command, and every command shown parses."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from vermo_cli.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def setup_commands() -> list[str]:
    section = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section, flags=re.S)


def test_setup_section_has_exactly_two_commands() -> None:
    commands = setup_commands()
    assert len(commands) == 2 and all("\n" not in c for c in commands)
    assert commands[0].endswith("vermo quickstart")
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command() -> None:
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert setup_commands()[1] in ci_lines


def shown_vermo_commands() -> list[list[str]]:
    documents = [README, *(p.read_text() for p in (ROOT / "docs").glob("*.md"))]
    commands = []
    for document in documents:
        for block in re.findall(r"```bash\n(.+?)\n```", document, flags=re.S):
            for line in block.splitlines():
                for part in line.split("&&"):
                    words = shlex.split(part)
                    if words and words[0].endswith("vermo"):
                        commands.append(words[1:])
    return commands


def command_path(arguments: list[str]) -> tuple[list[str], set[str]]:
    """The (sub)command names at the start of `arguments` (`tokenize fit` of `tokenize fit
    ...`) and the option names of that (sub)command."""
    command = typer.main.get_command(app)
    path: list[str] = []
    for word in arguments:
        if word not in getattr(command, "commands", {}):
            break
        path.append(word)
        command = command.commands[word]
    options = {name for param in command.params for name in (*param.opts, *param.secondary_opts)}
    options.add("--help")
    return path, options


@pytest.mark.parametrize("arguments", shown_vermo_commands(), ids=" ".join)
def test_documented_command_has_help(arguments: list[str]) -> None:
    """Each documented (sub)command exists and its options are options of it (run with --help)."""
    path, options = command_path(arguments)
    assert path, f"vermo {arguments[0]} is not a vermo command"
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for option in (word.split("=")[0] for word in arguments if word.startswith("--")):
        assert option in options, f"{option} is not an option of vermo {' '.join(path)}"
