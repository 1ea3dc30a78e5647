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


DESIGN_NOTE_REFERENCE = re.compile(r"design-notes\.md#([A-Za-z0-9_-]+)")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
SCANNED_FILES = (
    "README.md",
    "docs/*.md",
    "recipes/**/*.yaml",
    "recipes/**/*.json",
    "vermo_cli/**/*.py",
    "plugins/**/*.py",
    "tasks/**/*.py",
    "benchmarks/*.py",
    "tests/*.py",
)
"""Where links to the design notes may be written: documents, recipes and Python."""


def prose(markdown: str) -> str:
    """Markdown without its fenced code blocks, where links and headings are not links."""
    return re.sub(r"```.*?```", "", markdown, flags=re.S)


def anchors(markdown: str) -> set[str]:
    """The anchors a Markdown text defines: explicit `<a id="...">` tags and GitHub's heading
    anchors (lower case, punctuation dropped, spaces to hyphens, `-1`, `-2` for repeats)."""
    text = prose(markdown)
    found = set(re.findall(r'<a (?:id|name)="([^"]+)"', text))
    repeats: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6} +(.+?) *$", text, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        found.add(f"{slug}-{repeats[slug]}" if slug in repeats else slug)
        repeats[slug] = repeats.get(slug, 0) + 1
    return found


def design_note_references(root: Path) -> list[tuple[str, str]]:
    """(file, anchor) of every link to an anchor of docs/design-notes.md under `root`."""
    references = []
    for pattern in SCANNED_FILES:
        for path in sorted(root.glob(pattern)):
            for anchor in DESIGN_NOTE_REFERENCE.findall(path.read_text()):
                references.append((str(path.relative_to(root)), anchor))
    return references


def broken_design_note_references(root: Path) -> list[str]:
    known = anchors((root / "docs" / "design-notes.md").read_text())
    return [f"{f}: #{a}" for f, a in design_note_references(root) if a not in known]


def broken_links(document: Path) -> list[str]:
    """Relative links of a Markdown document whose file or anchor does not exist."""
    broken = []
    for target in MARKDOWN_LINK.findall(prose(document.read_text())):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path_text, _, anchor = target.partition("#")
        path = document.parent / path_text if path_text else document
        if not path.exists():
            broken.append(f"{document.name}: {target} (no such file)")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path.read_text()):
            broken.append(f"{document.name}: {target} (no such anchor)")
    return broken


def test_design_note_references_exist() -> None:
    """Every `design-notes.md#...` named in a recipe, document or module is an anchor there."""
    assert len(design_note_references(ROOT)) >= 8, "the recipes link their choices to the notes"
    assert broken_design_note_references(ROOT) == []


def test_design_notes_list_every_anchor_at_the_top() -> None:
    text = (ROOT / "docs" / "design-notes.md").read_text()
    explicit = set(re.findall(r'<a id="([^"]+)"', text))
    contents = text.split("<a id=", 1)[0]
    assert explicit and explicit == set(re.findall(r"\]\(#([\w-]+)\)", contents))


@pytest.mark.parametrize(
    "document", [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))], ids=lambda p: p.name
)
def test_relative_links_resolve(document: Path) -> None:
    assert broken_links(document) == []


def test_link_checks_find_missing_anchors(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "recipes").mkdir()
    notes = tmp_path / "docs" / "design-notes.md"
    notes.write_text('# Notes\n\n<a id="kept"></a>\n## A kept choice\n\n## `vermo x` speed\n')
    gone = "design-notes.md" + "#gone"
    (tmp_path / "recipes" / "tiny.yaml").write_text(f"# see docs/{gone}\nsteps: 1\n")
    assert broken_design_note_references(tmp_path) == ["recipes/tiny.yaml: #gone"]
    guide = tmp_path / "docs" / "guide.md"
    links = ["kept", "a-kept-choice", "vermo-x-speed", "gone"]
    guide.write_text(" ".join(f"[x]({'design-notes.md#' + a})" for a in links) + " [y](nope.md)")
    assert broken_links(guide) == [
        f"guide.md: {gone} (no such anchor)",
        "guide.md: nope.md (no such file)",
    ]
