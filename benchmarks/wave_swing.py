"""Benchmark: does a waving hand still wave after the tokenizer (and in a generated motion)?

    .venv/bin/python benchmarks/wave_swing.py --tokenizer tiny=runs/flowvq-tiny \
        --motion wave=outputs/quickstart/wave.npz

A wave in the synthetic corpus is a hand raised above the head with the forearm swinging side to
side. Its swing is measured as the spread (root of the summed x and z variances, metres) of the
wrist's ground-plane position relative to the pelvis over the frames where that wrist is above
the head, for the higher wrist of each clip. The script measures it on the corpus's
single-person clips whose first caption mentions waving (val and test splits, not seen by the
tokenizer in training): the ground truth, and each `--tokenizer`'s reconstruction with both
decoders (encode, decode). Each `--motion` (a vermo `.npz`, e.g. `vermo generate t2m "a person
waves"`) is measured the same way. A hand raised and held still has a swing near 0; the corpus's
waves have about 0.09 m. Prints one table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from vermo_cli.data.store import open_corpus
from vermo_cli.motion.npz import load_motion_npz
from vermo_cli.motion.skeleton import JOINT_INDEX
from vermo_cli.tokenizers.flowvq.tokenizer import FlowVQTokenizer

WRISTS = (JOINT_INDEX["left_wrist"], JOINT_INDEX["right_wrist"])
HEAD = JOINT_INDEX["head"]
PELVIS = JOINT_INDEX["pelvis"]


def swing(joints: np.ndarray) -> float:
    """Side-to-side spread (m) of the higher wrist while above the head, `joints` `[frames, 52,
    3]` (y up); nan when no wrist is above the head for at least 6 frames."""
    wrist = max(WRISTS, key=lambda index: float(joints[:, index, 1].max()))
    raised = joints[:, wrist, 1] > joints[:, HEAD, 1]
    if raised.sum() < 6:
        return float("nan")
    relative = joints[raised, wrist] - joints[raised, PELVIS]
    return float(np.sqrt(relative[:, 0].var() + relative[:, 2].var()))


def pairs(values: list[str], parser: argparse.ArgumentParser, flag: str) -> dict[str, Path]:
    named = {}
    for value in values:
        name, separator, path = value.partition("=")
        if not separator:
            parser.error(f"{flag} takes NAME=PATH, got {value!r}")
        named[name] = Path(path)
    return named


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("corpus/synthetic"))
    parser.add_argument("--tokenizer", action="append", default=[], metavar="NAME=DIR")
    parser.add_argument("--motion", action="append", default=[], metavar="NAME=NPZ")
    args = parser.parse_args()
    tokenizers = pairs(args.tokenizer, parser, "--tokenizer")
    motions = pairs(args.motion, parser, "--motion")

    clips = open_corpus(args.corpus).clips
    chosen = [
        index
        for index, (split, people, captions) in enumerate(
            zip(clips["split"], clips["headcount"], clips["captions"], strict=True)
        )
        if split in ("val", "test") and people == 1 and captions and "wav" in captions[0]["text"]
    ]
    if not chosen:
        parser.error(f"{args.corpus}: no waving clips in the val and test splits")
    rows = clips.select(chosen).with_format("numpy", columns=["motion", "joint_mask"])
    table = Table(title=f"wave swing (m) over {len(chosen)} waving val/test clips")
    for column in ("motion", "swing mean", "swing min", "swing max"):
        table.add_column(column, justify="left" if column == "motion" else "right")

    def add(name: str, values: list[float]) -> None:
        finite = np.array([value for value in values if np.isfinite(value)])
        if finite.size == 0:
            table.add_row(name, "no raised hand", "", "")
            return
        table.add_row(name, f"{finite.mean():.3f}", f"{finite.min():.3f}", f"{finite.max():.3f}")

    add("ground truth", [swing(row["motion"][0]) for row in rows])
    for name, directory in tokenizers.items():
        tokenizer = FlowVQTokenizer.load(directory)
        for decoder in ("vqvae", "flow"):
            add(
                f"{name}, {decoder} decoder",
                [
                    swing(tokenizer.reconstruct(row["motion"], row["joint_mask"], decoder)[0])
                    for row in rows
                ],
            )
    for name, path in motions.items():
        add(name, [swing(agent) for agent in load_motion_npz(path)["joints"]])
    Console().print(table)


if __name__ == "__main__":
    main()
