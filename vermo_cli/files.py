"""Writing outputs safely: a file appears whole or not at all, JSON is strict (NaN and
infinities as null), the partial files that a killed run left behind are removed by the next
run that writes the same output, and an output that cannot or may not be written is refused
before any work starts (`check_output_file`, `check_output_directory`).

Every output is first written to a hidden sibling `.STEM.partial-PID.SUFFIX` (the writer's
process id, and the output's own suffix so that tools which infer the format from it, such as
ffmpeg or numpy, still do), then renamed onto the output. A partial whose process no longer
exists is stale: `remove_stale_partials` deletes it.

Paths inside vermo's records (`vermo_tokens.json`, `vermo_run.json`, a tokenizer's or an
evaluator's info file, ...) are written by `path_for_record` and read by `path_from_record`,
so that folders moved or copied together keep finding each other. The rule: a path the user
gave relative (to the working directory), or absolute but inside the working directory, is
recorded relative to the record's own folder; any other absolute path (outside the project:
`/data/mocap`) is recorded absolute, as given. A recorded absolute path, also any that a
record written before this rule holds, is read back as it is.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vermo_cli.errors import OutputError

PARTIAL_MARK = ".partial-"
RETIRED_MARK = ".old-"


def staging_path(path: Path, pid: int | None = None) -> Path:
    """The hidden sibling that `path` is written to before it is renamed into place."""
    path = Path(path)
    return path.with_name(f".{path.stem}{PARTIAL_MARK}{pid or os.getpid()}{path.suffix}")


def _process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (one we may not signal counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: Path) -> None:
    """Delete a file, link or directory tree; nothing if it is gone."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def stale_partials(path: Path) -> list[Path]:
    """Partial siblings of `path` written by processes that no longer exist (with any extra
    suffix, such as the audio track a video writer keeps beside its partial video), and the
    replaced copy that `publish_directory` moves aside when it was killed before deleting it."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    patterns = (
        re.compile(
            re.escape(f".{path.stem}{PARTIAL_MARK}")
            + r"(\d+)"
            + re.escape(path.suffix)
            + r"(\..+)?$"
        ),
        re.compile(re.escape(f".{path.name}{RETIRED_MARK}") + r"(\d+)$"),
    )
    stale = []
    for sibling in path.parent.iterdir():
        for pattern in patterns:
            match = pattern.match(sibling.name)
            if match and int(match[1]) != os.getpid() and not _process_alive(int(match[1])):
                stale.append(sibling)
    return sorted(stale)


def remove_stale_partials(path: Path) -> list[Path]:
    """Delete the partial siblings of `path` left by killed runs; returns what was removed."""
    removed = stale_partials(path)
    for partial in removed:
        _remove(partial)
    return removed


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield the staging path to write `path` through (a file or a directory); when the block
    ends normally it is renamed onto `path` (replacing a file there), otherwise removed.

    Stale partials of `path` from killed runs are removed first; the parent directory is
    created if needed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(path)
    staging = staging_path(path)
    try:
        yield staging
        os.replace(staging, path)
    finally:
        if staging.exists() or staging.is_symlink():
            _remove(staging)


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Call `write(staging_path)`, then rename the result onto `path`."""
    with atomic_output(path) as staging:
        write(staging)


def write_text_atomically(path: Path, text: str) -> None:
    """Write UTF-8 `text` to `path` so that no reader ever sees half of it."""
    write_atomically(path, lambda staging: staging.write_text(text, encoding="utf-8"))


def json_text(value: Any) -> str:
    """`value` as strict JSON (indent 1, a final newline) with every NaN or infinite float
    written as null: Python's `json` would write bare `NaN`, which is not JSON and which strict
    readers (`jq`, browsers, most languages) refuse."""
    return json.dumps(_finite(value), indent=1, allow_nan=False) + "\n"


def _finite(value: Any) -> Any:
    """`value` with non-finite floats, in any nesting of dicts, lists and tuples, made None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def write_json_atomically(path: Path, value: Any) -> None:
    """Write `value` as strict JSON (`json_text`) to `path` so that no reader sees half of it."""
    write_text_atomically(path, json_text(value))


def staging_directory(output: Path) -> Path:
    """A fresh, empty staging directory for `output` (a sibling, so the final rename stays on
    one file system); stale partials of `output` from killed runs are removed first."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(output)
    staging = staging_path(output)
    _remove(staging)
    staging.mkdir()
    return staging


def publish_directory(staging: Path, output: Path) -> None:
    """Move a finished staging directory onto `output`; an existing `output` is replaced only
    at this last step (it is moved aside, the new one renamed in, then the old one deleted)."""
    output = Path(output)
    if output.exists():
        retired = output.with_name(f".{output.name}{RETIRED_MARK}{os.getpid()}")
        _remove(retired)
        output.rename(retired)
        staging.rename(output)
        _remove(retired)
    else:
        staging.rename(output)


def _nearest_existing(path: Path) -> Path:
    """`path` itself when it exists, else its closest existing ancestor."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_writable_from(place: Path, output: Path) -> None:
    """`OutputError` unless `output` (at or below `place`) can be created: the closest existing
    folder on its way must be a directory this process may write into."""
    existing = _nearest_existing(place)
    if not existing.is_dir():
        raise OutputError(f"{output}: cannot be written, {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{output}: cannot be written, {existing} is not writable")


def check_output_file(path: Path, overwrite: bool, option: str = "-o") -> None:
    """Refuse, before any work and without touching anything, an output file that cannot or may
    not be written: a directory in its place, an existing file without `overwrite`, or a parent
    that is a file or not writable. `option` names the option that chose it (for the message)."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a directory; {option} needs a file path")
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise OutputError(f"{path}: already exists (pass --overwrite to replace it)")
    _check_writable_from(path.parent, path)


def check_output_directory(path: Path, option: str = "-o", beside: bool = True) -> None:
    """Refuse, before any work and without touching anything, an output directory that cannot
    be written: a file in its place, or a closest existing folder that is a file or not
    writable. With `beside` (outputs staged in a sibling and renamed into place) that folder is
    the parent's; otherwise (runs written into) the directory itself when it exists. Whether
    an existing directory may be replaced or continued is the caller's rule."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path}: is a file; {option} needs a directory path")
    _check_writable_from(path.parent if beside else path, path)


def check_replaceable(path: Path, markers: tuple[str, ...], what: str) -> None:
    """`OutputError` unless `path` is absent, an empty directory, or holds one of `markers` (the
    files that make it `what`, e.g. "a vermo training run"), so that a mistyped `-o` with
    `--overwrite` can never delete unrelated files."""
    path = Path(path)
    if not path.is_dir() or not any(path.iterdir()):
        return
    if not any((path / marker).exists() for marker in markers):
        raise OutputError(f"{path}: not {what}; refusing to overwrite it")


def path_for_record(target: Path, record: Path) -> str:
    """How the record file `record` stores the path `target` (see the module): relative to the
    record's folder when `target` is relative (to the working directory) or absolute inside
    the working directory, else absolute as given. The relative form is lexical, like
    `os.path.relpath`: `..` climbs the path as written, links are not followed."""
    target = Path(target)
    if target.is_absolute() and not _inside_working_directory(target):
        return str(target)
    return os.path.relpath(os.path.abspath(target), os.path.abspath(Path(record).parent))


def _inside_working_directory(path: Path) -> bool:
    """Whether the absolute `path` lies (lexically) in the working directory or below it."""
    return Path(os.path.normpath(path)).is_relative_to(Path.cwd())


def path_from_record(recorded: str, record: Path) -> Path:
    """The path that `record` stores as `recorded` (written by `path_for_record`), usable from
    the working directory: a relative one joined to the record's folder (lexically, as it was
    written), an absolute one as it is."""
    path = Path(recorded)
    if path.is_absolute():
        return path
    return Path(os.path.normpath(Path(record).parent / path))
