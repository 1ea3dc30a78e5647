"""Shared test fixtures: the location of the real sample datasets in ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ../shared/data; tests that use it are skipped when it is absent (a user's clone)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real sample data not found at {SHARED_DATA}")
    return SHARED_DATA


def tiny_recipe(path: Path, steps: int = 4, checkpoint_every: int = 2) -> Path:
    """Write a FlowVQ recipe small enough to train in seconds (from the shipped tiny one)."""
    recipe = yaml.safe_load((RECIPES / "flowvq-tiny.yaml").read_text())
    recipe["vqvae"].update(width=16, blocks_per_level=1, quantizer_blocks=1)
    recipe["flow"].update(blocks=1, heads=2, head_dim=8, ffn=32, sampling_steps=4)
    for stage in ("stage1", "stage2"):
        recipe[stage].update(
            steps=steps,
            batch_size=4,
            crop_frames=24,
            warmup_steps=1,
            checkpoint_every=checkpoint_every,
            validate_every=2,
            log_every=1,
        )
    path.write_text(yaml.safe_dump(recipe))
    return path
