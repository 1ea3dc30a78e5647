"""Benchmark: seconds per FlowVQ stage-1 step (`flowvq-tiny.yaml`) at each intra-op thread count,
alone and beside a busy process, and the count vermo's default picks in each case.

    .venv/bin/vermo prepare synthetic --clips 200 -o corpus/threads
    .venv/bin/python benchmarks/thread_default.py --corpus corpus/threads

The busy process is a single-threaded busy loop, like another job on the machine. Each row trains
`--steps` steps after `--warmup` untimed ones in this process (`torch.set_num_threads`). Prints
one table; "busy CPUs" is what vermo's default saw when the row began (`busy_cpus`: other
users' jobs count too) and "vermo picks" the thread count it chose from it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml
from rich.console import Console
from rich.table import Table

from vermo_cli.threads import busy_cpus, default_threads, usable_cpus
from vermo_cli.tokenizers.flowvq.train import fit_flowvq

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "flowvq-tiny.yaml"


class StepClock:
    """Records when each training step ends."""

    def __init__(self) -> None:
        self.ends: list[float] = []

    def stage_started(self, stage: int, total_steps: int, first_step: int) -> None:
        self.ends = [time.perf_counter()]

    def step_done(self, stage: int, step: int, loss: float) -> None:
        self.ends.append(time.perf_counter())

    def validated(self, stage: int, step: int, loss: float) -> None:
        """Validation is not timed."""


def seconds_per_step(corpus: Path, threads: int, warmup: int, steps: int, workdir: Path) -> float:
    """Mean seconds of the stage-1 steps after the first `warmup` ones, on `threads` threads."""
    recipe = yaml.safe_load(RECIPE.read_text())
    recipe["stage1"].update(
        steps=warmup + steps, checkpoint_every=10_000, validate_every=10_000, warmup_steps=1
    )
    path = workdir / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    torch.set_num_threads(threads)
    clock = StepClock()
    fit_flowvq(corpus, workdir / "tokenizer", path, (1,), overwrite=True, progress=clock)
    return (clock.ends[-1] - clock.ends[warmup]) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("corpus/threads"))
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=15)
    args = parser.parse_args()
    cpus = usable_cpus(os.environ)
    table = Table(
        title=f"FlowVQ stage-1 seconds per step, {cpus} CPUs ({args.steps} steps)",
        title_justify="left",
    )
    table.add_column("beside")
    table.add_column("busy CPUs", justify="right")
    for threads in range(1, cpus + 1):
        table.add_column(f"{threads} thread{'s' if threads > 1 else ''}", justify="right")
    table.add_column("vermo picks", justify="right")
    with tempfile.TemporaryDirectory() as scratch:
        for label, busy in (("nothing of ours", False), ("a busy loop", True)):
            neighbour = (
                subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
            )
            try:
                time.sleep(1.0)
                busy_now = busy_cpus()
                picked = default_threads(cpus, busy_now)
                times = [
                    seconds_per_step(args.corpus, n, args.warmup, args.steps, Path(scratch))
                    for n in range(1, cpus + 1)
                ]
            finally:
                if neighbour is not None:
                    neighbour.kill()
                    neighbour.wait()
            table.add_row(label, f"{busy_now:.1f}", *(f"{t:.3f}" for t in times), str(picked))
    Console().print(table)


if __name__ == "__main__":
    main()
