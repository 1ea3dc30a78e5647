"""Benchmark: does the text-motion evaluator vermo trains retrieve real motion from its caption?

    .venv/bin/python benchmarks/evaluator_retrieval.py --workdir runs/evaluator-retrieval

Prepares real motion capture from ../shared/data (Bandai Namco 1 and 2 with their content x
style captions, and LAFAN1 subjects 1-3 with their theme captions) into one corpus whose test
split is every Bandai take in five held-out styles, trains the text-motion evaluator on the
training split, and scores the t2m "Real" row on the held-out Bandai clips: R-precision
top-1/2/3 in batches of 32 (each clip's first caption against the ground-truth motions), over
`--rounds` random batchings, then the same with the captions shuffled among the clips, which
must drop to chance (k/32). Prints one table and writes WORKDIR/retrieval.json.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from vermo_cli.data.prepare import SourceRequest, prepare_corpus
from vermo_cli.data.sources import SourceOptions
from vermo_cli.data.store import open_corpus
from vermo_cli.data.takes import TakeSettings
from vermo_cli.evaluator_models import fit_evaluator, load_evaluator
from vermo_cli.files import json_text
from vermo_cli.metrics.retrieval import r_precision, r_precision_chance

HELD_OUT_STYLES = ("active", "feminine", "sad", "tired", "happy")
BATCH = 32


def prepare(shared: Path, corpus: Path) -> None:
    """The real-data corpus: Bandai test styles held out, LAFAN1 subject 4 left out."""
    split_by_tag = tuple((f"style:{style}", "test") for style in HELD_OUT_STYLES)
    split_by_tag += (("subject:4", "val"),)
    # every other take to train by a tag (the first matching tag decides): left to the hash
    # split, a few Bandai takes of other styles would land in test
    split_by_tag += tuple((f"subset:dataset-{number}", "train") for number in (1, 2))
    split_by_tag += tuple((f"subject:{number}", "train") for number in (1, 2, 3))
    sources = [
        SourceRequest("bvh", (shared / "bandai", shared / "lafan1" / "bvh")),
    ]
    settings = TakeSettings(split_by_tag=split_by_tag)
    prepare_corpus(sources, corpus, SourceOptions(), settings, workers=2, overwrite=True)


def held_out_clips(corpus: Path) -> tuple[list[np.ndarray], list[str]]:
    """Motions `[1, frames, 52, 3]` and first captions of the held-out Bandai clips."""
    opened = open_corpus(corpus)
    rows = opened.clips.with_format("numpy", columns=["motion"], output_all_columns=True)
    motions, captions = [], []
    for row in rows:
        if row["split"] == "test" and row["source"] == "bandai" and len(row["captions"]):
            motions.append(np.asarray(row["motion"], dtype=np.float32))
            captions.append(str(row["captions"][0]["text"]))
    return motions, captions


def mean_r_precision(texts: np.ndarray, motions: np.ndarray, rounds: int) -> np.ndarray:
    """Top-1/2/3 R-precision averaged over `rounds` seeded batchings."""
    return np.mean(
        [
            r_precision(texts, motions, batch_size=BATCH, top_k=3, seed=seed)
            for seed in range(rounds)
        ],
        axis=0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--workdir", type=Path, default=Path("runs/evaluator-retrieval"))
    parser.add_argument("--steps", type=int, default=1000, help="evaluator training steps")
    parser.add_argument("--rounds", type=int, default=20, help="random batchings averaged")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    corpus, evaluator_dir = args.workdir / "corpus", args.workdir / "evaluator"
    began = time.perf_counter()
    prepare(args.shared, corpus)
    shutil.rmtree(evaluator_dir, ignore_errors=True)
    fit_evaluator(corpus, "text-motion", evaluator_dir, steps=args.steps)
    trained = time.perf_counter() - began
    evaluator = load_evaluator(evaluator_dir)
    motions, captions = held_out_clips(corpus)
    motion_embeddings = evaluator.embed_motion(motions)
    text_embeddings = evaluator.embed_text(captions)
    real = mean_r_precision(text_embeddings, motion_embeddings, args.rounds)
    shuffled_order = np.random.default_rng(0).permutation(len(captions))
    shuffled = mean_r_precision(text_embeddings[shuffled_order], motion_embeddings, args.rounds)
    chance = [r_precision_chance(BATCH, k) for k in (1, 2, 3)]
    table = Table(
        title=f"t2m Real row on real mocap: {len(motions)} held-out Bandai clips "
        f"({', '.join(HELD_OUT_STYLES)}), {len(set(captions))} distinct captions, batches of "
        f"{BATCH}, {args.rounds} batchings; evaluator trained {args.steps} steps "
        f"({trained:.0f} s with preparing)",
        title_justify="left",
    )
    for column in ("captions", "top-1", "top-2", "top-3"):
        table.add_column(column, justify="right" if column != "captions" else "left")
    for name, values in (("real", real), ("shuffled", shuffled), ("chance", chance)):
        table.add_row(name, *(f"{v:.3f}" for v in values))
    Console().print(table)
    print(evaluator.summary)
    record = {
        "clips": len(motions),
        "distinct_captions": len(set(captions)),
        "real": list(map(float, real)),
        "shuffled": list(map(float, shuffled)),
        "chance": chance,
        "evaluator": evaluator.describe(),
    }
    (args.workdir / "retrieval.json").write_text(json_text(record))


if __name__ == "__main__":
    main()
