"""`vermo tokenize eval`: reconstruction error of a FlowVQ tokenizer on a corpus split.

Each clip (each person separately) is encoded and decoded by the stage-1 decoder and by the flow
decoder; errors are measured in metres against the corpus motion, on valid joints only.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from vermo_cli.data.store import motion_arrays, open_corpus
from vermo_cli.errors import CorpusError
from vermo_cli.metrics.reconstruction import ReconstructionAccumulator
from vermo_cli.tokenizers.flowvq.tokenizer import FlowVQTokenizer
from vermo_cli.tokenizers.token_corpus import EncodeProgress


def select_clips(corpus_path: Path, split: str, limit: int | None) -> Any:
    """Rows of a split, or of a source (`--split lafan1`), or of a tag (`--split subject:4`)."""
    corpus = open_corpus(corpus_path)
    clips = corpus.clips
    if split in set(clips["split"]):
        chosen = clips.filter(
            lambda value: value == split, input_columns="split", keep_in_memory=True
        )
    elif split in set(clips["source"]):
        chosen = clips.filter(
            lambda value: value == split, input_columns="source", keep_in_memory=True
        )
    else:
        chosen = clips.filter(lambda tags: split in tags, input_columns="tags", keep_in_memory=True)
    if len(chosen) == 0:
        raise CorpusError(f"{corpus_path}: no clip in split, source or tag '{split}'")
    if limit is not None:
        chosen = chosen.select(range(min(limit, len(chosen))))
    return corpus, chosen


def evaluate_tokenizer(
    tokenizer_path: Path,
    corpus_path: Path,
    split: str = "test",
    limit: int | None = None,
    flow_steps: int | None = None,
    seed: int = 0,
    progress: EncodeProgress | None = None,
) -> dict[str, Any]:
    """Metrics of both decoders (`vqvae`, and `flow` when trained) plus encode speed."""
    tokenizer = FlowVQTokenizer.load(tokenizer_path)
    corpus, clips = select_clips(corpus_path, split, limit)
    tokenizer.check_joint_set(
        corpus.info.get("skeleton", {}).get("joint_names", []), str(corpus.path)
    )
    decoders = ["vqvae"] + (["flow"] if tokenizer.flow is not None else [])
    accumulators = {name: ReconstructionAccumulator() for name in decoders}
    codes_seen: set[int] = set()
    encode_seconds = 0.0
    frames = 0
    if progress:
        progress.start(len(clips))
    for motion, joint_mask in zip(motion_arrays(clips), clips["joint_mask"], strict=True):
        mask = np.asarray(joint_mask, dtype=bool)
        began = time.perf_counter()
        if tokenizer.recipe.vqvae.quantizer.kind != "rvq":
            codes_seen.update(np.unique(tokenizer.encode(motion, mask)).tolist())
        encode_seconds += time.perf_counter() - began
        frames += motion.shape[0] * motion.shape[1]
        for name in decoders:
            rebuilt = tokenizer.reconstruct(motion, mask, name, flow_steps, seed)
            accumulators[name].add(rebuilt, motion, mask)
        if progress:
            progress.advance(1)
    return {
        "tokenizer": {
            "path": str(tokenizer_path),
            "identity": tokenizer.identity,
            "recipe": tokenizer.recipe.name,
        },
        "corpus": {"path": str(corpus_path), "identity": corpus.identity},
        "split": split,
        "clips": len(clips),
        "frames": frames,
        "seed": seed,
        "flow_steps": flow_steps or tokenizer.recipe.flow.sampling_steps,
        "codes_used": len(codes_seen),
        "codebook_size": tokenizer.codebook_size,
        "encode_frames_per_second": frames / encode_seconds if encode_seconds else None,
        "decoders": {name: accumulator.result() for name, accumulator in accumulators.items()},
    }
