"""Where the command line prints: the result console (stdout), the message console (stderr),
and `user_errors`, which turns a user's mistake into one line and an exit code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape

from vermo_cli.errors import VermoError

console = Console()
error_console = Console(stderr=True)


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
