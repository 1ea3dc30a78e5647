"""On real motion capture (Bandai Namco, labels as captions) the text-motion evaluator vermo
trains retrieves held-out motions from their captions far above chance, and shuffled captions
fall to chance: the t2m Real row measures something."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vermo_cli.data.prepare import SourceRequest, prepare_corpus
from vermo_cli.data.sources import SourceOptions
from vermo_cli.data.store import open_corpus
from vermo_cli.data.takes import TakeSettings
from vermo_cli.evaluator_models import fit_evaluator, load_evaluator
from vermo_cli.metrics.retrieval import r_precision

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]
HELD_OUT_STYLES = ("active", "feminine", "sad", "tired", "happy")


def test_bandai_captions_retrieve_their_motions(shared_data: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "bandai"
    settings = TakeSettings(split_by_tag=tuple((f"style:{s}", "test") for s in HELD_OUT_STYLES))
    prepare_corpus(
        [SourceRequest("bvh", (shared_data / "bandai",))], corpus, SourceOptions(), settings, 2
    )
    fit_evaluator(corpus, "text-motion", tmp_path / "evaluator", steps=400)
    evaluator = load_evaluator(tmp_path / "evaluator")
    clips = open_corpus(corpus).clips.with_format(
        "numpy", columns=["motion"], output_all_columns=True
    )
    held_out = [row for row in clips if row["split"] == "test"]
    assert len(held_out) >= 64
    motions = evaluator.embed_motion([row["motion"] for row in held_out])
    texts = evaluator.embed_text([str(row["captions"][0]["text"]) for row in held_out])
    real = np.mean([r_precision(texts, motions, seed=seed)[2] for seed in range(10)])
    shuffled_texts = texts[np.random.default_rng(0).permutation(len(texts))]
    shuffled = np.mean([r_precision(shuffled_texts, motions, seed=seed)[2] for seed in range(10)])
    assert real > 0.5  # chance is 3/32 = 0.094
    assert shuffled < 0.2
