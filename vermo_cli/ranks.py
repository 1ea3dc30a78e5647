"""Rank zero alone prepares, removes and writes a distributed run's shared files; the others wait.

A launcher (DeepSpeed's, torchrun) starts one process per device, and each runs the same command.
Files every process would write (the run folder, its vocabulary, `vermo_run.json`, a tokenizer)
are written by rank 0 inside `rank_zero_first`; the other ranks wait there and then read them.
An error on any rank reaches every rank, so none is left waiting at a collective: each exits with
the same one-line message. Outside a process group of several processes every function here is
the plain single-process behaviour (rank 0 of 1, no waiting).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

import torch
import torch.distributed as dist

from vermo_cli.errors import VermoError, first_line

Result = TypeVar("Result")


class OtherRankError(VermoError):
    """Another rank of this run failed; this one stops with its message."""


def join_process_group(timeout: timedelta | None = None) -> None:
    """Join the launcher's process group when it started several processes (`WORLD_SIZE` > 1,
    with `RANK`, `MASTER_ADDR`, `MASTER_PORT`): NCCL on GPUs, gloo on CPUs. `timeout` bounds
    each collective, so it must outlast rank 0's work in `rank_zero_first` (torch's default is
    30 minutes). Nothing when not launched or already joined."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend, timeout=timeout)


def world() -> tuple[int, int]:
    """(rank, world size) of this process; (0, 1) outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_rank_zero() -> bool:
    """Whether this process writes the shared files (always, outside a process group)."""
    return world()[0] == 0


def barrier() -> None:
    """Wait until every rank gets here; nothing for a single process."""
    if world()[1] > 1:
        dist.barrier()


def rank_zero_first(work: Callable[[], Result], follow: Callable[[], Result]) -> Result:
    """`work()` on rank 0 (it checks, prepares and writes); on every other rank, once rank 0 has
    finished, `follow()` (it reads what rank 0 wrote). A single process just runs `work()`.

    Both phases end with every rank learning whether any rank failed: the failing rank raises
    its own error, the others `OtherRankError` with its one-line message.
    """
    rank, size = world()
    if size == 1:
        return work()
    if rank == 0:
        result = _run_together(work)
        _share_failure(None)  # while the others follow
        return result
    _share_failure(None)  # while rank 0 works
    return _run_together(follow)


def _run_together(job: Callable[[], Result]) -> Result:
    """Run `job` on this rank, then share with every rank whether it failed."""
    try:
        result = job()
    except Exception as error:
        _share_failure(_one_line(error))
        raise
    _share_failure(None)
    return result


def _share_failure(message: str | None) -> None:
    """Gather every rank's failure message (None: it succeeded); raise `OtherRankError` with
    the first message from another rank. A rank that failed itself goes on to raise its own."""
    messages: list[str | None] = [None] * world()[1]
    dist.all_gather_object(messages, message)
    if message is not None:
        return
    failed = next((text for text in messages if text is not None), None)
    if failed is not None:
        raise OtherRankError(failed)


def _one_line(error: Exception) -> str:
    """What the other ranks print for `error`: a user error's message as it stands, a bug's
    type and first line (the failing rank prints its traceback)."""
    if isinstance(error, VermoError):
        return str(error)
    return f"rank {world()[0]} failed: {type(error).__name__}: {first_line(error)}"
