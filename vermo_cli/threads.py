"""How many threads torch's operators use in a vermo command: the CPUs this process may use, less
those other processes keep busy, unless OMP_NUM_THREADS says (docs/design-notes.md#threads)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, MutableMapping
from pathlib import Path

THREADS_VARIABLE = "OMP_NUM_THREADS"
"""The variable a user sets to choose the threads; torch and the BLAS libraries read it."""


def usable_cpus(environ: Mapping[str, str]) -> int:
    """CPUs this process may run on, shared out among the processes a distributed launcher
    started on this host (`LOCAL_WORLD_SIZE`)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity masks
        cpus = os.cpu_count() or 1
    local_processes = environ.get("LOCAL_WORLD_SIZE", "1")
    return max(1, cpus // max(1, int(local_processes) if local_processes.isdigit() else 1))


def busy_cpus(loadavg: Path = Path("/proc/loadavg")) -> float:
    """CPUs other processes keep busy: the larger of the 1-minute load average (slow to see a job
    that just started) and the tasks running right now, this one left out (Linux only)."""
    try:
        recent = os.getloadavg()[0]
    except OSError:
        recent = 0.0
    try:
        running_now = int(loadavg.read_text().split()[3].split("/")[0]) - 1
    except (OSError, IndexError, ValueError):
        running_now = 0
    return max(recent, float(running_now))


def default_threads(cpus: int, busy: float) -> int:
    """Intra-op threads for a process that may use `cpus` CPUs while others keep `busy` of them
    busy: the idle ones, at least 1. Threads beyond the idle CPUs wait on each other."""
    return max(1, min(cpus, cpus - round(busy)))


def apply_thread_default(environ: MutableMapping[str, str] | None = None) -> int | None:
    """Choose the intra-op threads of this process's torch unless `OMP_NUM_THREADS` is set;
    the count chosen, or None when the user's variable stands.

    Torch is set directly when it is loaded; otherwise the choice goes into `OMP_NUM_THREADS`,
    which torch reads when it loads (so `vermo tasks` and `--help` need not pay the second that
    importing torch takes). Child processes inherit it as they would the user's.
    """
    environ = os.environ if environ is None else environ
    if environ.get(THREADS_VARIABLE, "").strip():
        return None
    threads = default_threads(usable_cpus(environ), busy_cpus())
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
    else:
        environ[THREADS_VARIABLE] = str(threads)
    return threads
