"""How training processes start: re-run the command under DeepSpeed's launcher for several GPUs
or nodes, or set up a one-process group (gloo on CPU) when started directly."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch

from vermo_cli.errors import VermoError

LAUNCHER_FLAGS = ("--gpus", "--nodes", "--hostfile")
"""vermo's own options that choose the launch; they are not passed on to the launched command."""


SINGLE_PROCESS_MARK = "VERMO_SINGLE_PROCESS_GROUP"
"""Set when vermo itself filled in the rank variables (so this process was not launched)."""


class LaunchError(VermoError):
    """The multi-GPU or multi-node launch options are inconsistent."""


def launched() -> bool:
    """Whether this process was started by a distributed launcher (which sets LOCAL_RANK)."""
    return "LOCAL_RANK" in os.environ and SINGLE_PROCESS_MARK not in os.environ


def strip_launcher_flags(argv: Sequence[str]) -> list[str]:
    """`argv` without `--gpus N`, `--nodes N`, `--hostfile F` (or their `--flag=value` form)."""
    kept: list[str] = []
    skip_value = False
    for argument in argv:
        if skip_value:
            skip_value = False
        elif argument in LAUNCHER_FLAGS:
            skip_value = True
        elif not argument.startswith(tuple(f"{flag}=" for flag in LAUNCHER_FLAGS)):
            kept.append(argument)
    return kept


def relaunch_command(
    argv: Sequence[str], gpus: int | None, nodes: int | None, hostfile: Path | None
) -> list[str]:
    """The `deepspeed` command line that runs `vermo <argv>` on `gpus` GPUs per node on `nodes`
    nodes listed in `hostfile` (each may be None: DeepSpeed's default, all GPUs / all hosts).

    `argv` is vermo's arguments after the program name; the launcher flags are removed from it.
    `--no_local_rank` keeps DeepSpeed from appending `--local_rank` (the rank arrives through
    the LOCAL_RANK environment variable instead).
    """
    if gpus is not None and gpus < 1:
        raise LaunchError(f"--gpus {gpus}: must be at least 1")
    if nodes is not None and nodes < 1:
        raise LaunchError(f"--nodes {nodes}: must be at least 1")
    if nodes is not None and nodes > 1 and hostfile is None:
        raise LaunchError(f"--nodes {nodes}: several nodes need a --hostfile listing them")
    if hostfile is not None and not Path(hostfile).is_file():
        raise LaunchError(f"--hostfile {hostfile}: no such file")
    command = [shutil.which("deepspeed") or "deepspeed"]
    if gpus is not None:
        command += ["--num_gpus", str(gpus)]
    if nodes is not None:
        command += ["--num_nodes", str(nodes)]
    if hostfile is not None:
        command += ["--hostfile", str(hostfile)]
    return [*command, "--no_local_rank", "--module", "vermo_cli.cli", *strip_launcher_flags(argv)]


def relaunch_if_requested(
    argv: Sequence[str], gpus: int | None, nodes: int | None, hostfile: Path | None
) -> int | None:
    """Run the command under DeepSpeed's launcher and return its exit code, when any launcher
    option is given and this process is not itself a launched one; None to run in-process."""
    if launched() or (gpus is None and nodes is None and hostfile is None):
        return None
    command = relaunch_command(argv, gpus, nodes, hostfile)
    if shutil.which(command[0]) is None:
        raise LaunchError("--gpus/--nodes/--hostfile need DeepSpeed's `deepspeed` launcher on PATH")
    return subprocess.run(command, check=False).returncode


def free_port() -> int:
    """A TCP port on this host that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def init_distributed() -> None:
    """Join the process group once per process: the launcher's when launched, otherwise a
    one-process group on 127.0.0.1. NCCL with CUDA, gloo on CPU."""
    import deepspeed

    # DeepSpeed still calls these collectives under their old names on every step; the
    # deprecation is for DeepSpeed to act on, so keep it out of the user's terminal.
    warnings.filterwarnings(
        "ignore",
        message=r"`torch\.distributed\.(all_gather_into_tensor|reduce_scatter_tensor)`",
        category=FutureWarning,
    )
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return
    if not launched():
        os.environ.update(RANK="0", LOCAL_RANK="0", WORLD_SIZE="1", LOCAL_WORLD_SIZE="1")
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()))
        os.environ[SINGLE_PROCESS_MARK] = "1"
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    elif int(os.environ["WORLD_SIZE"]) == 1:
        _skip_shared_memory_collectives()
    deepspeed.init_distributed(
        dist_backend="nccl" if torch.cuda.is_available() else "gloo", verbose=False
    )


def _skip_shared_memory_collectives() -> None:
    """Keep DeepSpeed from compiling its shared-memory collectives for a one-process CPU group.

    On CPU, `deepspeed.init_distributed` JIT-compiles a C++ extension (about 45 s on 2 cores,
    again in every new virtual environment) that speeds up all-reduce between processes on one
    host; a group of one process never calls it. DeepSpeed builds an op only while its entry in
    `deepspeed.ops.__compatible_ops__` is true, and keeps edits to that dict for the process.
    """
    import deepspeed.ops
    from deepspeed.ops.op_builder.cpu import ShareMemCommBuilder

    deepspeed.ops.__compatible_ops__[ShareMemCommBuilder.NAME] = False
