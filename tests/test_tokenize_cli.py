"""End-to-end tests of `vermo tokenize fit | encode | decode | eval` through the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import datasets
import numpy as np
import pytest
import yaml
from conftest import cli_error, run_cli, tiny_recipe

from vermo_cli.motion.npz import load_motion_npz

pytestmark = pytest.mark.slow


invoke = run_cli
one_line_error = cli_error


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tokenize")
    invoke("prepare", "synthetic", "--clips", "24", "--workers", "1", "-o", root / "corpus")
    tiny_recipe(root / "recipe.yaml")
    invoke(
        "tokenize",
        "fit",
        "--data",
        root / "corpus",
        "--recipe",
        root / "recipe.yaml",
        "-o",
        root / "tokenizer",
    )
    return root


def test_fit_writes_a_complete_tokenizer(workspace: Path) -> None:
    tokenizer = workspace / "tokenizer"
    for name in ("tokenizer.json", "recipe.yaml", "stage1.safetensors", "flow.safetensors"):
        assert (tokenizer / name).is_file()
    assert list((tokenizer / "logs" / "stage1").glob("events.out.tfevents.*"))
    assert "already exists" in one_line_error(
        "tokenize",
        "fit",
        "--data",
        workspace / "corpus",
        "--recipe",
        workspace / "recipe.yaml",
        "-o",
        workspace / "tokenizer",
    )


def test_recipe_overrides_are_applied_and_kept_in_the_copy(workspace: Path, tmp_path: Path) -> None:
    recipe = workspace / "recipe.yaml"
    args = ("tokenize", "fit", "--data", workspace / "corpus", "--recipe", recipe)
    invoke(*args, "--stage", "1", "--set", "stage1.steps=3", "-o", tmp_path / "tokenizer")
    copy = yaml.safe_load((tmp_path / "tokenizer" / "recipe.yaml").read_text())
    assert copy["stage1"]["steps"] == 3
    rows = (tmp_path / "tokenizer" / "logs" / "stage1" / "train.csv").read_text().splitlines()
    assert len(rows) == 1 + 3
    assert "--set stage1.stepz: no such recipe key" in one_line_error(
        *args, "--set", "stage1.stepz=3", "-o", tmp_path / "other"
    )


def test_encode_decode_round_trip(workspace: Path) -> None:
    output = invoke(
        "tokenize",
        "encode",
        "--tokenizer",
        workspace / "tokenizer",
        "--data",
        workspace / "corpus",
        "-o",
        workspace / "tokens",
    )
    assert "motion tokens" in output
    tokens = datasets.load_from_disk(str(workspace / "tokens"))
    row = tokens[0]
    assert "motion" not in tokens.column_names
    assert len(row["motion_tokens"]) == row["headcount"]
    assert len(row["motion_tokens"][0]) == -(-row["frames"] // 4)
    sidecar = json.loads((workspace / "tokens" / "vermo_tokens.json").read_text())
    identity = json.loads((workspace / "tokenizer" / "tokenizer.json").read_text())["identity"]
    assert sidecar["tokenizer"]["identity"] == identity
    for decoder in ("flow", "vqvae"):
        target = workspace / f"{decoder}.npz"
        invoke(
            "tokenize",
            "decode",
            "--tokenizer",
            workspace / "tokenizer",
            workspace / "tokens",
            "--clip",
            row["id"],
            "--decoder",
            decoder,
            "-o",
            target,
        )
        motion = load_motion_npz(target)
        assert motion["joints"].shape == (row["headcount"], row["frames"], 52, 3)
        assert float(motion["fps"]) == 30.0 and motion["mask"].shape == (52,)
        assert np.array_equal(motion["tokens"], np.asarray(row["motion_tokens"]))
    codes = workspace / "codes.txt"
    codes.write_text("1 2 3\n4 5 6\n")
    invoke(
        "tokenize",
        "decode",
        "--tokenizer",
        workspace / "tokenizer",
        codes,
        "-o",
        workspace / "codes.npz",
    )
    assert load_motion_npz(workspace / "codes.npz")["joints"].shape == (2, 12, 52, 3)


def test_eval_prints_both_decoders_and_writes_json(workspace: Path) -> None:
    output = invoke(
        "tokenize",
        "eval",
        "--tokenizer",
        workspace / "tokenizer",
        "--data",
        workspace / "corpus",
        "--split",
        "train",
        "--limit",
        "3",
        "--json",
        workspace / "eval.json",
    )
    assert "vqvae" in output and "flow" in output and "mpjpe" in output
    result = json.loads((workspace / "eval.json").read_text())
    assert set(result["decoders"]) == {"vqvae", "flow"}
    for metrics in result["decoders"].values():
        assert 0 < metrics["mpjpe_all"] < 5 and np.isfinite(metrics["ade"])
    assert result["clips"] == 3 and 0 < result["codes_used"] <= 4375


def test_eval_of_a_body_only_corpus_writes_null_hands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hand errors are undefined (NaN) on a corpus without hands: `-` in the table, null in the
    JSON (bare NaN is not JSON)."""
    from vermo_cli.tokenizers.flowvq import evaluation

    metrics = {"mpjpe_body": 0.05, "mpjpe_hand": math.nan, "ade": 0.1}

    def evaluate(*_: object) -> dict:
        return {
            "tokenizer": {"path": "t", "identity": "abc", "recipe": "flowvq-tiny"},
            "clips": 2,
            "codes_used": 7,
            "codebook_size": 1000,
            "encode_frames_per_second": None,
            "decoders": {"vqvae": dict(metrics), "flow": dict(metrics)},
        }

    monkeypatch.setattr(evaluation, "evaluate_tokenizer", evaluate)
    output = invoke(
        "tokenize", "eval", "--tokenizer", tmp_path, "--data", tmp_path,
        "--json", tmp_path / "eval.json",
    )  # fmt: skip
    assert "nan" not in output and "0.0500" in output
    text = (tmp_path / "eval.json").read_text()
    assert "NaN" not in text
    assert json.loads(text)["decoders"]["flow"]["mpjpe_hand"] is None


def test_user_mistakes_are_one_line(workspace: Path, tmp_path: Path) -> None:
    assert "not a trained FlowVQ tokenizer" in one_line_error(
        "tokenize",
        "encode",
        "--tokenizer",
        tmp_path,
        "--data",
        workspace / "corpus",
        "-o",
        tmp_path / "t",
    )
    assert "not a vermo corpus" in one_line_error(
        "tokenize",
        "fit",
        "--data",
        tmp_path,
        "--recipe",
        workspace / "recipe.yaml",
        "-o",
        tmp_path / "t",
    )
    assert "needs --clip" in one_line_error(
        "tokenize",
        "decode",
        "--tokenizer",
        workspace / "tokenizer",
        workspace / "tokens",
        "-o",
        tmp_path / "x.npz",
    )
    bad = tmp_path / "bad.txt"
    bad.write_text("1 99999\n")
    assert "codes must lie in" in one_line_error(
        "tokenize", "decode", "--tokenizer", workspace / "tokenizer", bad, "-o", tmp_path / "x.npz"
    )
    assert "no clip in split" in one_line_error(
        "tokenize",
        "eval",
        "--tokenizer",
        workspace / "tokenizer",
        "--data",
        workspace / "corpus",
        "--split",
        "nowhere",
    )


def test_fit_audio_codec_on_the_synthetic_corpus_music(workspace: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "codec.yaml"
    settings = {
        "kind": "audio-codec",
        "channels": 16,
        "n_mels": 32,
        "residual_units": 1,
        "latent_dim": 16,
        "codebook_size": 1024,
        "steps": 4,
        "batch_size": 2,
        "crop_seconds": 0.5,
        "warmup_steps": 1,
        "checkpoint_every": 2,
    }
    recipe.write_text(json.dumps(settings))  # JSON is YAML
    codec = tmp_path / "codec"
    args = ("tokenize", "fit", "--modality", "audio", "--data", workspace / "corpus")
    output = invoke(*args, "--recipe", recipe, "-o", codec)
    assert "audio codec builtin:" in " ".join(output.split()) and (codec / "codec.json").is_file()
    assert "already holds files" in one_line_error(*args, "--recipe", recipe, "-o", codec)
    invoke(*args, "--recipe", recipe, "-o", codec, "--overwrite")
    assert "--recipe is required" in one_line_error(*args, "-o", tmp_path / "other")
    assert "not an audio-codec recipe" in one_line_error(
        *args, "--recipe", workspace / "recipe.yaml", "-o", tmp_path / "other"
    )
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    assert "refusing to overwrite" in one_line_error(
        *args, "--recipe", recipe, "-o", tmp_path / "notes", "--overwrite"
    )
    assert (tmp_path / "notes" / "keep.txt").read_text() == "mine"
    assert "exactly one corpus" in one_line_error(
        "tokenize",
        "fit",
        "--data",
        workspace / "corpus",
        "--data",
        workspace / "corpus",
        "-o",
        tmp_path / "motion",
    )
    tokens = tmp_path / "tokens"
    output = invoke(
        "tokenize",
        "encode",
        "--tokenizer",
        workspace / "tokenizer",
        "--data",
        workspace / "corpus",
        "--codec",
        codec,
        "-o",
        tokens,
    )
    assert "audio by codec builtin:" in " ".join(output.split())
    sidecar = json.loads((tokens / "vermo_tokens.json").read_text())
    assert sidecar["codec"]["identity"].startswith("builtin:")
    assert sidecar["codec"]["tokens_per_second"] == 40.0
    rows = datasets.load_from_disk(str(tokens))
    with_audio = 0
    for audio, audio_tokens in zip(rows["audio"], rows["audio_tokens"], strict=True):
        if audio is None:
            assert audio_tokens == []
        else:
            with_audio += 1
            assert len(audio_tokens) == math.ceil(round(audio["duration"] * 24_000) / 600)
            assert min(audio_tokens) >= 0 and max(audio_tokens) < 1024
    assert with_audio > 0
