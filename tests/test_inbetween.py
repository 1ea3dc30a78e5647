"""Tests for the in-betweening specialist: its recipe, samples, mirroring, training with a
best-validation model, the protocol's model row, and the commands' refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import RECIPES, cli_error, run_cli
from lafan1_takes import NAMES, write_take

from vermo_cli.evaluate.lafan1_baselines import interpolation
from vermo_cli.evaluate.lafan1_benchmark import INTERPOLATION, MODEL, Lafan1Request, run_lafan1
from vermo_cli.evaluate.lafan1_windows import ProtocolError, cut_windows, read_takes
from vermo_cli.inbetween.fit import InbetweenRequest, fit_inbetween
from vermo_cli.inbetween.recipe import InbetweenRecipe
from vermo_cli.inbetween.run import InbetweenRun, InbetweenRunError
from vermo_cli.inbetween.samples import make_sample, mirror_joints, reflect, split_takes
from vermo_cli.recipe_files import RecipeError
from vermo_cli.recipes import load_recipe

TINY = {
    "kind": "inbetween",
    "name": "tiny-btwn",
    "network": {"width": 32, "layers": 1, "heads": 2, "feedforward": 64},
    "training": {
        "steps": 400,
        "batch_size": 16,
        "learning_rate": 3e-3,
        "warmup_steps": 10,
        "max_transition": 45,
        "window_every": 2,
        "validate_every": 100,
        "validation_fraction": 0.3,
    },
}


@pytest.fixture(scope="module")
def takes_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three synthetic LAFAN1-skeleton takes: joints swinging at 1.1 Hz along curved walks,
    which interpolation over more than a few frames cannot follow."""
    folder = tmp_path_factory.mktemp("takes")
    for seed in (1, 2, 3):
        write_take(folder / f"walk{seed}_subject{seed}.bvh", 240, seed=seed)
    return folder


@pytest.fixture(scope="module")
def trained(takes_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny specialist trained on `takes_dir` through the command line."""
    folder = tmp_path_factory.mktemp("inbetween")
    recipe = folder / "tiny-btwn.yaml"
    recipe.write_text(yaml.safe_dump(TINY))
    output = run_cli("specialize", "btwn", "--data", takes_dir, "--recipe", recipe,
                     "-o", folder / "run")  # fmt: skip
    assert "specialist" in output and "interpolation" in output
    return folder / "run"


def test_the_shipped_recipe_validates() -> None:
    recipe = load_recipe(RECIPES / "mocap-btwn.yaml")
    assert isinstance(recipe, InbetweenRecipe)
    assert (recipe.training.min_transition, recipe.training.max_transition) == (5, 45)


def test_bad_recipes_name_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump({**TINY, "training": {"min_transition": 30, "max_transition": 20}})
    )
    with pytest.raises(RecipeError, match="min_transition 30 exceeds max_transition 20"):
        load_recipe(bad)
    bad.write_text(yaml.safe_dump({**TINY, "network": {"width": 30, "heads": 4}}))
    with pytest.raises(RecipeError, match="not a multiple of heads"):
        load_recipe(bad)


def test_mirroring_pairs_left_and_right() -> None:
    partners = mirror_joints(NAMES)
    assert NAMES[partners[NAMES.index("LeftHand")]] == "RightHand"
    assert NAMES[partners[NAMES.index("Spine1")]] == "Spine1"
    with pytest.raises(ProtocolError, match="no left-right partner 'RightEar'"):
        mirror_joints([*NAMES, "LeftEar"])
    positions = np.random.default_rng(0).normal(size=(3, 5, 22, 3))
    which = np.array([True, False, True])
    once = reflect(positions, which, partners)
    np.testing.assert_array_equal(once[1], positions[1])
    np.testing.assert_allclose(once[0, :, NAMES.index("RightHand"), 2],
                               -positions[0, :, NAMES.index("LeftHand"), 2])  # fmt: skip
    np.testing.assert_allclose(reflect(once, which, partners), positions)


def test_a_sample_is_interpolation_seen_from_frame_9(takes_dir: Path) -> None:
    windows = cut_windows(read_takes(takes_dir, "--data"), 26, 10)
    sample = make_sample(windows, 15)
    assert sample.known.shape == (len(windows.takes), 26, 22, 3)
    np.testing.assert_allclose(sample.known[:, 9, 0, [0, 2]], 0.0, atol=1e-9)
    restored = sample.known + sample.origin
    np.testing.assert_allclose(restored[:, 10:25], interpolation(windows, 15))
    np.testing.assert_allclose(restored[:, :10], windows.positions[:, :10])
    np.testing.assert_allclose(restored[:, 25], windows.positions[:, 25])
    np.testing.assert_allclose(sample.truth + sample.origin, windows.positions[:, 10:25])
    with pytest.raises(ProtocolError, match="too short for n = 16"):
        make_sample(windows, 16)


def test_validation_holds_out_each_takes_end(takes_dir: Path) -> None:
    takes = read_takes(takes_dir, "--data")
    training, held_out = split_takes(takes, 0.3)
    assert [take.frames for take in training] == [168] * 3
    assert [take.frames for take in held_out] == [72] * 3
    np.testing.assert_array_equal(held_out[0].root, takes[0].root[168:])


def test_training_beats_interpolation_and_keeps_the_best_step(trained: Path) -> None:
    info = json.loads((trained / "inbetween.json").read_text())
    history = info["history"]
    assert [entry["step"] for entry in history] == [100, 200, 300, 400]
    best = min(history, key=lambda entry: entry["l2p"])
    assert info["step"] == best["step"]
    scores, baseline = info["validation"]["per_transition"], info["validation"]["interpolation"]
    assert list(scores) == ["5", "15", "30", "45"]
    # an untrained network is interpolation itself (ratio 1); this one has learnt the swing
    assert scores["5"] < 0.85 * baseline["5"] and scores["15"] < 0.92 * baseline["15"]
    assert (trained / "train.csv").read_text().count("\n") == 401


def test_an_untrained_specialist_is_interpolation(trained: Path, takes_dir: Path) -> None:
    run = InbetweenRun.load(trained)
    for parameter in (run.network.head.weight, run.network.head.bias):
        parameter.data.zero_()
    windows = cut_windows(read_takes(takes_dir, "--data"), 65, 40)
    np.testing.assert_allclose(run.transitions(windows, 15), interpolation(windows, 15), atol=1e-6)


def test_the_protocol_scores_the_specialist(trained: Path, takes_dir: Path, tmp_path: Path) -> None:
    pattern = takes_dir / "walk[12]_*.bvh"
    report = run_lafan1(Lafan1Request(pattern, takes_dir / "walk3_*.bvh", trained))
    assert report.protocol["model_kind"] == "inbetween"
    assert report.rows[MODEL][15] < report.rows[INTERPOLATION][15]
    export = tmp_path / "frames.npz"
    run_cli("eval", "btwn", "--protocol", "lafan1", "--train-bvh", pattern,
            "--test-bvh", takes_dir / "walk3_*.bvh", "--checkpoint", trained,
            "--json", tmp_path / "r.json", "--export", export)  # fmt: skip
    frames = np.load(export)
    assert frames["walk3_subject3_f0_n15"].shape == (15, 22, 3)
    # longer transitions than the network was built for are refused
    with pytest.raises(InbetweenRunError, match="at most 45 frames, not 46"):
        InbetweenRun.load(trained).transitions(cut_windows(read_takes(pattern, "x"), 60, 40), 46)


def test_commands_refuse_what_a_specialist_cannot_do(
    trained: Path, takes_dir: Path, tmp_path: Path
) -> None:
    recipe = tmp_path / "tiny-btwn.yaml"
    recipe.write_text(yaml.safe_dump(TINY))
    common = ("--data", takes_dir, "--recipe", recipe, "-o", tmp_path / "run")
    assert "run `vermo specialize btwn`, not pred" in cli_error("specialize", "pred", *common)
    assert "drop --from" in cli_error("specialize", "btwn", *common, "--from", trained)
    assert "retrain with --overwrite" in cli_error("specialize", "btwn", *common, "--resume")
    assert "drop --gpus" in cli_error("specialize", "btwn", *common, "--gpus", "2")
    assert "already exists" in cli_error(
        "specialize", "btwn", "--data", takes_dir, "--recipe", recipe, "-o", trained
    )
    assert "no .bvh files there" in cli_error(
        "specialize", "btwn", "--data", tmp_path, "--recipe", recipe, "-o", tmp_path / "run"
    )
    assert "an in-betweening specialist, not a language model" in cli_error(
        "generate", "t2m", "a person waves", "--checkpoint", trained
    )


@pytest.mark.slow
def test_a_short_run_beats_interpolation_on_unseen_lafan1(
    shared_data: Path, tmp_path: Path
) -> None:
    """Subjects 1-3 for training, subject 4 never seen: 400 steps of a small network (under a
    minute) already beat interpolation from n = 15 on; the full recipe's figures are in
    docs/BENCHMARKS.md."""
    folder = shared_data / "lafan1" / "bvh"
    recipe = tmp_path / "small-btwn.yaml"
    small = {
        "kind": "inbetween",
        "network": {"width": 64, "layers": 2, "heads": 4, "feedforward": 256},
        "training": {"steps": 400, "batch_size": 32, "learning_rate": 2e-3,
                     "warmup_steps": 50, "validate_every": 200, "window_every": 8},
    }  # fmt: skip
    recipe.write_text(yaml.safe_dump(small))
    training = folder / "*subject[123].bvh"
    fit_inbetween(InbetweenRequest(training, recipe, tmp_path / "run"))
    report = run_lafan1(Lafan1Request(training, folder / "*subject4.bvh", tmp_path / "run"))
    for n in (15, 30, 45):
        assert report.rows[MODEL][n] < 0.95 * report.rows[INTERPOLATION][n], n
