"""Benchmark: does a dance keep its beat through the motion tokenizer?

    .venv/bin/python benchmarks/dance_beats.py --tokens corpus/synthetic-tokens \
        --tokenizer runs/flowvq-tiny --split test

m2d's target asks a generated dance to score a higher Beat Alignment Score (BAS) than the same
dance half a beat late. This measures that margin for the dances the language model is trained
to produce: each m2d clip of a split of a token corpus (music and one dancer), as the ground
truth and as its own FlowVQ codes decoded by each decoder (stage 1 and flow). BAS and the
half-a-beat-late reference are computed by `vermo eval m2d`'s own scoring
(`Scoring.beat_alignment`, `half_beat_late`). If the decoded
ground-truth codes keep a clear margin, the tokenizer is not what limits m2d.

With `--checkpoint RUN`, the model's own m2d dances for the same clips (one reply each, seed 0,
as `vermo eval m2d` samples them) are a row too. Every row also says where the motion beats
fall within the music's beats (`vermo_cli.metrics.dance.beat_phases`, in eighths of a beat): a
dance that follows the music gathers them in a few eighths, one with no relation to it spreads
them evenly (1/8 each), which BAS alone does not tell from a dance that is merely late.
Prints one table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from vermo_cli.evaluate.benchmark import Benchmark, BenchmarkRequest
from vermo_cli.evaluate.clips import AUDIO_RATE, load_benchmark_data
from vermo_cli.evaluate.distributed import gather_generations
from vermo_cli.evaluate.evaluator_set import EvaluatorSet
from vermo_cli.evaluate.scoring import Scoring
from vermo_cli.evaluate.systems import SystemOutputs, half_beat_delays, half_beat_late
from vermo_cli.generate.session import SamplingOptions
from vermo_cli.messages.tasks import get_task
from vermo_cli.metrics import dance
from vermo_cli.motion.skeleton import NUM_BODY_JOINTS
from vermo_cli.tokenizers.flowvq.tokenizer import FlowVQTokenizer

PHASE_BINS = 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=Path, default=Path("corpus/synthetic-tokens"))
    parser.add_argument("--tokenizer", type=Path, default=Path("runs/flowvq-tiny"))
    parser.add_argument("--split", default="test")
    parser.add_argument("--checkpoint", type=Path, help="Also score this model's m2d dances.")
    parser.add_argument("--limit", type=int, help="Only the first N clips of the split.")
    args = parser.parse_args()
    task = get_task("m2d")
    data = load_benchmark_data(args.tokens, task, args.split, limit=args.limit)
    tokenizer = FlowVQTokenizer.load(args.tokenizer)
    delays = half_beat_delays(data.clips)
    systems = {"ground truth": [clip.joints for clip in data.clips]}
    for decoder in ("vqvae", "flow"):
        systems[f"its codes, {decoder} decoder"] = [
            tokenizer.decode(np.array(clip.tokens.motion), clip.joints.shape[1], decoder=decoder)
            for clip in data.clips
        ]
    if args.checkpoint is not None:
        systems["model, seed 0"] = model_dances(
            args.checkpoint, args.tokens, args.split, args.limit
        )
    table = Table(title=f"m2d dances of '{args.split}' ({len(data.clips)} clips)")
    columns = (
        "motion",
        "BAS",
        "half a beat late",
        "margin",
        "motion beats",
        "per eighth of a beat",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in (columns[0], columns[-1]) else "right")
    music = [dance.music_beats(clip.audio, AUDIO_RATE) for clip in data.clips]
    for name, motions in systems.items():
        outputs = SystemOutputs(name, list(motions), [None] * len(motions), [None] * len(motions))
        on_beat, shifted = (
            Scoring(task, data.clips, system, EvaluatorSet(), seed=0).beat_alignment()
            for system in (outputs, half_beat_late(outputs, delays))
        )
        phases = motion_beat_phases(music, motions)
        shares = np.histogram(phases, bins=PHASE_BINS, range=(0.0, 1.0))[0] / max(len(phases), 1)
        table.add_row(
            name,
            f"{on_beat:.3f}",
            f"{shifted:.3f}",
            f"{on_beat - shifted:+.3f}",
            str(len(phases)),
            " ".join(f"{share:.2f}" for share in shares),
        )
    Console(width=160).print(table)


def model_dances(checkpoint: Path, tokens: Path, split: str, limit: int | None) -> list[np.ndarray]:
    """The model's m2d dance `[1, frames, 52, 3]` for each clip: `vermo eval m2d`'s prompts and
    sampling, one reply per clip, seed 0."""
    request = BenchmarkRequest(
        "m2d", split, checkpoint, tokens, replications=1, limit=limit, multimodality_samples=0
    )
    benchmark = Benchmark.prepare(request)
    options = SamplingOptions(seed=0, batch_size=request.batch_size)
    requests = [(benchmark.task, prompt) for prompt in benchmark.prompts]
    generations = gather_generations(benchmark.model, requests, options, lambda done, total: None)
    return [generation.samples[0].joints for generation in generations]


def motion_beat_phases(music: list[np.ndarray], motions: list[np.ndarray]) -> np.ndarray:
    """Phases in [0, 1) of the first dancer's motion beats within each clip's music beats
    (`music[i]`, seconds, tracked once per clip)."""
    phases = []
    for beats, motion in zip(music, motions, strict=True):
        moves = dance.motion_beats(motion[0, :, :NUM_BODY_JOINTS])
        phases.append(dance.beat_phases(beats, moves))
    return np.concatenate(phases)


if __name__ == "__main__":
    main()
