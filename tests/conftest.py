"""Shared test fixtures: the location of the real sample datasets in ../shared/data."""

from __future__ import annotations

import builtins
import os
import shlex
from pathlib import Path
from typing import Any

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


def tiny_recipe(
    path: Path, steps: int = 4, checkpoint_every: int = 2, features: str | None = None
) -> Path:
    """Write a FlowVQ recipe small enough to train in seconds (from the shipped tiny one;
    `features` replaces its feature set)."""
    recipe = yaml.safe_load((RECIPES / "flowvq-tiny.yaml").read_text())
    recipe["vqvae"].update(width=16, blocks_per_level=1, quantizer_blocks=1)
    if features is not None:
        recipe["vqvae"]["features"] = features
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


def lm_recipe(path: Path, stage: str, steps: int) -> Path:
    """A shipped tiny language-model recipe, smaller still (trains in seconds)."""
    recipe = yaml.safe_load((RECIPES / f"vermo-tiny-{stage}.yaml").read_text())
    recipe["text_vocab_size"] = 300
    recipe["model"].update(hidden_size=32, num_layers=1, num_heads=2, num_kv_heads=2)
    recipe["model"].update(intermediate_size=64)
    recipe["training"].update(
        steps=steps, micro_batch_size=8, max_length=512, warmup_steps=1, validate_every=2
    )
    recipe["training"].update(checkpoint_every=2, log_every=1)
    path.write_text(yaml.safe_dump(recipe))
    return path


def codec_recipe(path: Path) -> Path:
    """Write an audio-codec recipe that trains in about a second."""
    codec = {
        "kind": "audio-codec", "channels": 16, "n_mels": 32, "residual_units": 1,
        "latent_dim": 16, "codebook_size": 1024, "steps": 2, "batch_size": 2,
        "crop_seconds": 0.5, "warmup_steps": 1,
    }  # fmt: skip
    path.write_text(yaml.safe_dump(codec))
    return path


@pytest.fixture(scope="session")
def token_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic corpus, a tiny FlowVQ tokenizer and audio codec, its token corpus
    (`tokens`) and tiny recipes for the three stages (`pretrain.yaml`, ...)."""
    root = tmp_path_factory.mktemp("tokens")
    invoke = run_cli
    invoke("prepare", "synthetic", "--clips", "60", "--workers", "1", "-o", root / "corpus")
    invoke(
        "tokenize", "fit", "--data", root / "corpus", "--recipe",
        tiny_recipe(root / "flowvq.yaml"), "-o", root / "tokenizer",
    )  # fmt: skip
    codec_recipe(root / "codec.yaml")
    invoke(
        "tokenize", "fit", "--modality", "audio", "--data", root / "corpus", "--recipe",
        root / "codec.yaml", "-o", root / "codec",
    )  # fmt: skip
    invoke(
        "tokenize", "encode", "--tokenizer", root / "tokenizer", "--data", root / "corpus",
        "--codec", root / "codec", "-o", root / "tokens",
    )  # fmt: skip
    for stage, steps in (("pretrain", 4), ("sft", 2), ("specialize", 2)):
        lm_recipe(root / f"{stage}.yaml", stage, steps)
    return root


@pytest.fixture(scope="session")
def trained_runs(token_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with the tiny model trained on `token_workspace`: `pre` (pretrain) and `sft`
    (from it). Tests add their own files beside them under distinct names."""
    from vermo_cli.train.stages import StageRequest, run_stage

    root = token_workspace
    runs = tmp_path_factory.mktemp("runs")
    run_stage(StageRequest("pretrain", root / "tokens", root / "pretrain.yaml", runs / "pre"))
    run_stage(StageRequest("sft", root / "tokens", root / "sft.yaml", runs / "sft", runs / "pre"))
    return runs


def run_cli(*args: object) -> str:
    """Run `vermo ARGS` in-process; assert it succeeded; its output."""
    from typer.testing import CliRunner

    from vermo_cli.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def cli_error(*args: object) -> str:
    """Run `vermo ARGS`; assert it failed with exactly one `error: ...` line; that line."""
    from typer.testing import CliRunner

    from vermo_cli.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    return lines[0]


class CodeRunningPayload:
    """Stands in for a crafted file: unpickling it creates `marker`, through `os.system` or
    `builtins.exec` (`via`). A test that unpickles it safely finds no marker afterwards."""

    def __init__(self, marker: Path, via: str = "os.system") -> None:
        self.marker, self.via = Path(marker), via

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        if self.via == "builtins.exec":
            return builtins.exec, (f"open({str(self.marker)!r}, 'w').close()",)
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)
