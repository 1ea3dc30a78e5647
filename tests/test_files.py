"""`vermo_cli.files`: outputs refused before any work, and partials of killed runs removed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vermo_cli.errors import OutputError
from vermo_cli.files import (
    check_output_directory,
    check_output_file,
    remove_stale_partials,
    staging_path,
    write_text_atomically,
)


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_an_output_file_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    (tmp_path / "folder.npz").mkdir()
    with pytest.raises(OutputError, match=r"folder\.npz: is a directory; --json needs a file"):
        check_output_file(tmp_path / "folder.npz", overwrite=True, option="--json")
    (tmp_path / "taken.npz").write_text("x")
    with pytest.raises(OutputError, match="already exists \\(pass --overwrite"):
        check_output_file(tmp_path / "taken.npz", overwrite=False)
    check_output_file(tmp_path / "taken.npz", overwrite=True)
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(OutputError, match="a-file is a file, not a directory"):
        check_output_file(tmp_path / "a-file" / "deeper" / "out.npz", overwrite=False)
    check_output_file(tmp_path / "new" / "deeper" / "out.npz", overwrite=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "folder.npz", "taken.npz"]


def test_an_output_directory_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(OutputError, match="a-file: is a file; -o needs a directory path"):
        check_output_directory(tmp_path / "a-file")
    with pytest.raises(OutputError, match="is a file, not a directory"):
        check_output_directory(tmp_path / "a-file" / "corpus")
    check_output_directory(tmp_path / "new" / "corpus")
    check_output_directory(tmp_path, beside=False)


def test_an_unwritable_place_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # os.access answers for the user running the test (root may write anywhere), so the
    # permission check itself is what is tested here, for every user.
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode: Path(path) != locked and real_access(path, mode)
    )
    with pytest.raises(OutputError, match="locked is not writable"):
        check_output_file(locked / "out.npz", overwrite=False)
    with pytest.raises(OutputError, match="locked is not writable"):
        check_output_directory(locked / "deeper" / "corpus")
    with pytest.raises(OutputError, match="locked is not writable"):
        check_output_directory(locked, beside=False)
    check_output_directory(locked)  # staged beside it: its parent is what must be writable


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="is not writable"):
            check_output_file(locked / "out.npz", overwrite=False)
    finally:
        locked.chmod(0o755)


def test_partials_of_dead_processes_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    output = tmp_path / "report.json"
    dead, alive = _dead_pid(), os.getppid()
    stale = [
        staging_path(output, dead),
        staging_path(output, dead).with_name(staging_path(output, dead).name + ".wav"),
        tmp_path / f".report.json.old-{dead}",
    ]
    for path in stale:
        path.write_text("half")
    live = staging_path(output, alive)
    live.write_text("still being written")
    other = staging_path(tmp_path / "other.json", dead)
    other.write_text("another output's")
    assert remove_stale_partials(output) == sorted(stale)
    write_text_atomically(output, "{}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [output.name, live.name, other.name]
    )
