"""Benchmark: does a dance keep its beat through the motion tokenizer?

    .venv/bin/python benchmarks/dance_beats.py --tokens corpus/synthetic-tokens \
        --tokenizer runs/flowvq-tiny --split test

m2d's target asks a generated dance to score a higher Beat Alignment Score (BAS) than the same
dance half a beat late. This measures that margin for the dances the language model is trained
to produce: each m2d clip of a split of a token corpus (music and one dancer), as the ground
truth and as its own FlowVQ codes decoded by each decoder (stage 1 and flow). BAS and the
half-a-beat-late reference are computed by `vermo eval m2d`'s own scoring
(`Scoring.beat_alignment`, `half_beat_late`). If the decoded
ground-truth codes keep a clear margin, the tokenizer is not what limits m2d. Prints one table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from vermo_cli.evaluate.clips import load_benchmark_data
from vermo_cli.evaluate.evaluator_set import EvaluatorSet
from vermo_cli.evaluate.scoring import Scoring
from vermo_cli.evaluate.systems import SystemOutputs, half_beat_delays, half_beat_late
from vermo_cli.messages.tasks import get_task
from vermo_cli.tokenizers.flowvq import FlowVQTokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=Path, default=Path("corpus/synthetic-tokens"))
    parser.add_argument("--tokenizer", type=Path, default=Path("runs/flowvq-tiny"))
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    task = get_task("m2d")
    data = load_benchmark_data(args.tokens, task, args.split)
    tokenizer = FlowVQTokenizer.load(args.tokenizer)
    delays = half_beat_delays(data.clips)
    systems = {"ground truth": [clip.joints for clip in data.clips]}
    for decoder in ("vqvae", "flow"):
        systems[f"its codes, {decoder} decoder"] = [
            tokenizer.decode(np.array(clip.tokens.motion), clip.joints.shape[1], decoder=decoder)
            for clip in data.clips
        ]
    table = Table(title=f"m2d dances of '{args.split}' ({len(data.clips)} clips)")
    for column in ("motion", "BAS", "half a beat late", "margin"):
        table.add_column(column, justify="left" if column == "motion" else "right")
    for name, motions in systems.items():
        outputs = SystemOutputs(name, list(motions), [None] * len(motions), [None] * len(motions))
        on_beat, shifted = (
            Scoring(task, data.clips, system, EvaluatorSet(), seed=0).beat_alignment()
            for system in (outputs, half_beat_late(outputs, delays))
        )
        table.add_row(name, f"{on_beat:.3f}", f"{shifted:.3f}", f"{on_beat - shifted:+.3f}")
    Console().print(table)


if __name__ == "__main__":
    main()
