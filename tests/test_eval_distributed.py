"""Benchmark generation shared by two gloo processes: every prompt is answered once, by the
process it belongs to, and every process ends with all replies in prompt order."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import pytest
import torch.distributed as dist
import torch.multiprocessing as multiprocessing

from vermo_cli.evaluate.distributed import gather_generations
from vermo_cli.generate.session import SamplingOptions


@dataclass
class _Answer:
    prompt: str
    rank: int
    seed: int


class _EchoModel:
    """Stands in for `GenerationModel`: answers each prompt with who answered it and how."""

    def generate_many(self, requests, options, progress=None):
        return [_Answer(prompt, dist.get_rank(), options.seed) for _, prompt in requests]


pytestmark = pytest.mark.slow


def _worker(rank: int, port: int, results: dict) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        requests = [(None, f"prompt {i}") for i in range(5)]
        answers = gather_generations(_EchoModel(), requests, SamplingOptions(seed=7))
        results[rank] = [(a.prompt, a.rank, a.seed) for a in answers]
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_processes_gather_every_reply_in_order() -> None:
    with multiprocessing.Manager() as manager:
        results = manager.dict()
        multiprocessing.spawn(_worker, args=(_free_port(), results), nprocs=2, join=True)
        gathered = dict(results)
    assert gathered[0] == gathered[1]
    assert [prompt for prompt, _, _ in gathered[0]] == [f"prompt {i}" for i in range(5)]
    assert [rank for _, rank, _ in gathered[0]] == [0, 1, 0, 1, 0]
    seeds = {rank: seed for _, rank, seed in gathered[0]}
    assert seeds[0] == 7 and seeds[1] != 7
