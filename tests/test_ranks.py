"""Rank safety under a launcher: rank 0 alone prepares, removes and writes; the others wait.

Each test starts two processes the way DeepSpeed's launcher does (RANK, LOCAL_RANK, WORLD_SIZE,
MASTER_ADDR, MASTER_PORT set; gloo on CPU). A wrapper records in a file every call of the
function that builds the shared files, with the rank that made it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import lm_recipe, tiny_recipe

from vermo_cli.ranks import barrier, is_rank_zero, rank_zero_first, world
from vermo_cli.train.launch import SINGLE_PROCESS_MARK, free_port

COUNTED_RUN = """
import importlib, os, sys
from pathlib import Path

log, target = Path(sys.argv[1]), sys.argv[2]
module_name, name = target.split(":")
module = importlib.import_module(module_name)
original = getattr(module, name)

def counted(*args, **kwargs):
    with log.open("a") as file:
        file.write(os.environ["RANK"] + "\\n")
    return original(*args, **kwargs)

setattr(module, name, counted)
from vermo_cli.cli import app
app(sys.argv[3:], prog_name="vermo")
"""
"""`python -c COUNTED_RUN LOG MODULE:FUNCTION ARGS...`: `vermo ARGS`, recording in LOG the rank
of every call of FUNCTION."""


def two_ranks(log: Path, counted: str, *args: object) -> list[subprocess.CompletedProcess[str]]:
    """Run `vermo ARGS` as ranks 0 and 1 of one gloo group; both finished processes."""
    port = str(free_port())
    processes = []
    for rank in (0, 1):
        # An in-process run earlier in this session leaves the mark, which would make each
        # rank believe it was started alone.
        inherited = {key: value for key, value in os.environ.items() if key != SINGLE_PROCESS_MARK}
        environment = dict(
            inherited,
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE="2",
            LOCAL_WORLD_SIZE="2",
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=port,
            OMP_NUM_THREADS="1",
            COLUMNS="1000",
        )
        command = [sys.executable, "-c", COUNTED_RUN, str(log), counted, *map(str, args)]
        pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
        processes.append(subprocess.Popen(command, env=environment, **pipes))
    finished = []
    for process in processes:
        output, _ = process.communicate(timeout=900)
        finished.append(subprocess.CompletedProcess(process.args, process.returncode, output))
    return finished


def calls(log: Path) -> list[str]:
    """The ranks that called the counted function, in order (empty when none did)."""
    return log.read_text().split() if log.exists() else []


def last_line(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout.strip().splitlines()[-1]


def test_a_single_process_is_rank_zero_and_never_waits() -> None:
    assert world() == (0, 1)
    assert is_rank_zero()
    barrier()
    assert rank_zero_first(lambda: "work", lambda: "follow") == "work"


def test_a_check_failing_on_rank_zero_stops_both_ranks_with_its_message(
    token_workspace: Path, tmp_path: Path
) -> None:
    """Only rank 0 checks; the other rank must not wait for it forever."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "vermo_run.json").write_text("{}")
    log = tmp_path / "builds.txt"
    done = two_ranks(
        log, "vermo_cli.train.stages:build_vocabulary",
        "pretrain", "--data", token_workspace / "tokens",
        "--recipe", token_workspace / "pretrain.yaml", "-o", run,
    )  # fmt: skip
    for process in done:
        assert process.returncode == 1, process.stdout
    lines = {last_line(process) for process in done}
    assert len(lines) == 1 and "already holds a run" in lines.pop()
    assert calls(log) == []


@pytest.mark.slow
def test_pretrain_overwrite_under_two_ranks_replaces_the_run_once(
    token_workspace: Path, tmp_path: Path
) -> None:
    recipe = lm_recipe(tmp_path / "pretrain.yaml", "pretrain", steps=2)
    run, log = tmp_path / "run", tmp_path / "builds.txt"
    arguments = ("pretrain", "--data", token_workspace / "tokens", "--recipe", recipe, "-o", run)
    for overwrite in ((), ("--overwrite",)):
        done = two_ranks(log, "vermo_cli.train.stages:build_vocabulary", *arguments, *overwrite)
        for process in done:
            assert process.returncode == 0, process.stdout
        assert calls(log) == ["0"], "the vocabulary is built once, by rank 0"
        log.unlink()
        record = json.loads((run / "vermo_run.json").read_text())
        assert record["stage"] == "pretrain" and record["model_step"] == 2
        assert (run / "model" / "config.json").is_file()
        assert (run / "model" / "tokenizer.json").is_file()
        assert (run / "vocabulary" / "tokenizer.json").read_text() == (
            run / "model" / "tokenizer.json"
        ).read_text()
        assert [tag.name for tag in (run / "checkpoints").glob("step*")] == ["step2"]


@pytest.mark.slow
def test_tokenize_fit_under_two_ranks_trains_on_rank_zero_only(
    token_workspace: Path, tmp_path: Path
) -> None:
    """FlowVQ does not train data-parallel: rank 0 fits, rank 1 waits and reads the result."""
    recipe = tiny_recipe(tmp_path / "flowvq.yaml", steps=2)
    output, log = tmp_path / "tokenizer", tmp_path / "fits.txt"
    arguments = ("tokenize", "fit", "--data", token_workspace / "corpus", "--recipe", recipe)
    for overwrite in ((), ("--overwrite",)):
        done = two_ranks(
            log, "vermo_cli.tokenizers.flowvq.train:fit_flowvq", *arguments, "-o", output,
            *overwrite,
        )  # fmt: skip
        for process in done:
            assert process.returncode == 0, process.stdout
        assert calls(log) == ["0"]
        log.unlink()
        info = json.loads((output / "tokenizer.json").read_text())
        assert set(info["stages"]) == {"1", "2"}
        for process in done:
            assert f"tokenizer {info['identity']} written to {output}" in process.stdout
