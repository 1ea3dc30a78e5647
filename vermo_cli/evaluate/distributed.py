"""Generation for a benchmark spread over the processes of a distributed run.

When `torch.distributed` is initialised with more than one process (e.g. `torchrun
--nproc-per-node 8 -m vermo_cli.cli eval ...` or DeepSpeed's launcher), each process generates
for every `world_size`-th prompt and the replies are gathered to every process in prompt order,
so the metrics are computed on exactly the set one process would have produced. A single
process generates everything itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import torch.distributed as dist

from vermo_cli.generate.prompt import Prompt
from vermo_cli.generate.session import Generation, GenerationModel, SamplingOptions
from vermo_cli.messages.tasks import TaskSpec
from vermo_cli.ranks import world

RANK_SEED_STRIDE = 1_000_003


def gather_generations(
    model: GenerationModel,
    requests: Sequence[tuple[TaskSpec, Prompt]],
    options: SamplingOptions,
    progress: Callable[[int, int], None] | None = None,
) -> list[Generation]:
    """`model.generate_many(requests, options)`, shared among the processes of the run.

    Process `rank` samples prompts `rank, rank + world_size, ...` in batches, seeded with
    `options.seed + rank * RANK_SEED_STRIDE`: the result is deterministic for a given number of
    processes (and with one process equals `generate_many`).
    """
    rank, size = world()
    if size == 1:
        return model.generate_many(requests, options, progress)
    mine = list(range(rank, len(requests), size))
    seeded = replace(options, seed=options.seed + rank * RANK_SEED_STRIDE)

    def local_progress(done: int, total: int) -> None:
        if progress:
            progress(done * size, total * size)

    generations = model.generate_many([requests[i] for i in mine], seeded, local_progress)
    gathered: list[list[tuple[int, Generation]] | None] = [None] * size
    dist.all_gather_object(gathered, list(zip(mine, generations, strict=True)))
    by_index = {index: generation for part in gathered if part for index, generation in part}
    return [by_index[index] for index in range(len(requests))]
