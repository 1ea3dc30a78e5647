"""The default intra-op thread count: the idle CPUs, at least one; the user's OMP_NUM_THREADS
stands; set once when a command starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vermo_cli.threads import (
    THREADS_VARIABLE,
    apply_thread_default,
    busy_cpus,
    default_threads,
    usable_cpus,
)


def test_the_default_is_the_idle_cpus_and_at_least_one() -> None:
    assert default_threads(2, 0.0) == 2
    assert default_threads(2, 0.4) == 2
    assert default_threads(2, 1.2) == 1
    assert default_threads(2, 7.0) == 1
    assert default_threads(16, 3.6) == 12


def test_cpus_are_shared_among_a_launchers_processes_on_one_host() -> None:
    alone = usable_cpus({})
    assert alone >= 1
    assert usable_cpus({"LOCAL_WORLD_SIZE": "2"}) == max(1, alone // 2)
    assert usable_cpus({"LOCAL_WORLD_SIZE": "x"}) == alone


def test_busy_cpus_count_what_runs_now_besides_this_process(tmp_path: Path) -> None:
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("0.00 0.01 0.05 4/321 9999\n")
    assert busy_cpus(loadavg) >= 3.0
    assert busy_cpus(tmp_path / "missing") >= 0.0


def test_the_users_variable_stands() -> None:
    environ = {THREADS_VARIABLE: "3"}
    threads = torch.get_num_threads()
    assert apply_thread_default(environ) is None
    assert environ == {THREADS_VARIABLE: "3"} and torch.get_num_threads() == threads


def test_a_loaded_torch_is_set_directly() -> None:
    environ: dict[str, str] = {}
    threads = torch.get_num_threads()
    try:
        chosen = apply_thread_default(environ)
        assert chosen is not None and chosen >= 1 and torch.get_num_threads() == chosen
        assert environ == {}
    finally:
        torch.set_num_threads(threads)


def test_before_torch_loads_the_choice_goes_into_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "torch")
    environ: dict[str, str] = {}
    chosen = apply_thread_default(environ)
    assert environ == {THREADS_VARIABLE: str(chosen)}


def test_a_command_starts_with_the_default_that_torch_then_uses() -> None:
    script = (
        "import os\n"
        "from typer.testing import CliRunner\n"
        "from vermo_cli.cli import app\n"
        "CliRunner().invoke(app, ['tasks'])\n"
        "import torch\n"
        "print(os.environ['OMP_NUM_THREADS'], torch.get_num_threads())\n"
    )
    environment = {key: value for key, value in os.environ.items() if key != THREADS_VARIABLE}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environment, check=True
    )
    chosen, used = done.stdout.split()
    assert chosen == used and 1 <= int(chosen) <= usable_cpus({})
