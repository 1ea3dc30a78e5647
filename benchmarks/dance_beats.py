"""Benchmark: does a dance keep its beat through the motion tokenizer?

    .venv/bin/python benchmarks/dance_beats.py --tokens corpus/synthetic-tokens \
        --tokenizer runs/flowvq-tiny --split test

m2d's target asks a generated dance to score a higher Beat Alignment Score (BAS) than the same
dance half a beat late. This measures that margin for the dances the language model is trained
to produce: each m2d clip of a split of a token corpus (music and one dancer), as the ground
truth and as its own FlowVQ codes decoded by each decoder (stage 1 and flow). BAS and the
half-a-beat-late reference are computed exactly as `vermo eval m2d` computes them (music beats
by librosa's tracker on the clip's audio, motion beats from the 22 body joints). If the decoded
ground-truth codes keep a clear margin, the tokenizer is not what limits m2d. Prints one table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from vermo_cli.evaluate.clips import AUDIO_RATE, BenchmarkClip, load_benchmark_data
from vermo_cli.evaluate.systems import SystemOutputs, half_beat_delays, half_beat_late
from vermo_cli.messages.tasks import get_task
from vermo_cli.metrics.dance import MOTION_FPS, beat_alignment_score, motion_beats, music_beats
from vermo_cli.motion.skeleton import NUM_BODY_JOINTS
from vermo_cli.tokenizers.flowvq import FlowVQTokenizer


def mean_bas(clips: list[BenchmarkClip], motions: list[np.ndarray | None]) -> float:
    """Mean BAS of `motions[i]` `[1, frames, 52, 3]` to `clips[i]`'s music (as `vermo eval`)."""
    scores = []
    for clip, motion in zip(clips, motions, strict=True):
        if clip.audio is None or motion is None:
            raise ValueError(f"clip {clip.id} has no music or no motion")
        body = motion[0, :, :NUM_BODY_JOINTS]
        beats = music_beats(clip.audio, AUDIO_RATE)
        seconds = body.shape[0] / MOTION_FPS
        scores.append(beat_alignment_score(beats, motion_beats(body), duration_seconds=seconds))
    return float(np.mean(scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=Path, default=Path("corpus/synthetic-tokens"))
    parser.add_argument("--tokenizer", type=Path, default=Path("runs/flowvq-tiny"))
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    data = load_benchmark_data(args.tokens, get_task("m2d"), args.split)
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
        late = half_beat_late(outputs, delays).motions
        on_beat, shifted = mean_bas(data.clips, outputs.motions), mean_bas(data.clips, late)
        table.add_row(name, f"{on_beat:.3f}", f"{shifted:.3f}", f"{on_beat - shifted:+.3f}")
    Console().print(table)


if __name__ == "__main__":
    main()
