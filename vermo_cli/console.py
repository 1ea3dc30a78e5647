"""Where the command line prints: the result console (stdout), the message console (stderr),
`user_errors`, which turns a user's mistake into one line and an exit code, and
`configure_redirected_output` for runs whose output goes to a file or a pipe."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
import typer.rich_utils
from rich.console import Console, ConsoleDimensions
from rich.markup import escape

from vermo_cli.errors import VermoError

UNCUT_WIDTH = 10_000
"""Columns of a console that writes to a file or a pipe: no table cell is cut ("…") or wrapped
(tables and text are only as wide as their content)."""
HELP_WIDTH = 120
"""Columns of `--help` written to a file or a pipe: wide enough for every option's name and
default (typer's help panels fill the whole width, so it cannot be `UNCUT_WIDTH`)."""


class VermoConsole(Console):
    """A rich `Console` that is `UNCUT_WIDTH` wide whenever it is not writing to a terminal (its
    stream is looked up at each write, so this follows a redirection made after it was built)."""

    @property
    def size(self) -> ConsoleDimensions:
        """The terminal's size; `UNCUT_WIDTH` columns on a file or a pipe."""
        size = super().size
        if self._width is None and not self.is_terminal:
            return ConsoleDimensions(UNCUT_WIDTH, size.height)
        return size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


console = VermoConsole()
error_console = VermoConsole(stderr=True)


def configure_redirected_output() -> None:
    """When stdout is a file or a pipe: flush it at every line (Python would hold other
    libraries' prints back in a block buffer) and print `--help` `HELP_WIDTH` wide (typer draws
    help on its own console, 80 columns when it finds no terminal; `TERMINAL_WIDTH` overrides)."""
    if sys.stdout.isatty():
        return
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    if typer.rich_utils.MAX_WIDTH is None:
        typer.rich_utils.MAX_WIDTH = HELP_WIDTH


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a `VermoError` into one line on stderr and exit code 1 (tracebacks are for bugs)."""
    try:
        yield
    except VermoError as error:
        # The message is text, not markup: `[agents, frames, 52, 3]` must print as it is.
        message = escape(str(error))
        error_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        error_console.print("[bold red]interrupted[/]: nothing was written")
        raise typer.Exit(130) from None
