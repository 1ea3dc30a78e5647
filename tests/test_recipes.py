"""Every shipped recipe validates, names its own command, and bad recipes fail in one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from vermo_cli.recipe_files import recipe_overrides, recipe_text
from vermo_cli.recipes import RecipeError, load_recipe, recipe_kinds
from vermo_cli.tokenizers.audio_codec.recipe import AudioCodecRecipe
from vermo_cli.tokenizers.flowvq.recipe import FlowVQRecipe
from vermo_cli.train.lm_recipe import load_lm_recipe

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
SHIPPED = sorted(RECIPES.glob("*.yaml"))


def test_the_shipped_recipes_are_the_expected_ones() -> None:
    names = {path.name for path in SHIPPED}
    assert {"flowvq.yaml", "flowvq-tiny.yaml", "audio-codec.yaml", "audio-codec-tiny.yaml"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_every_recipe_validates_and_shows_how_to_use_it(path: Path) -> None:
    recipe = load_recipe(path)
    assert isinstance(recipe, tuple(recipe_kinds().values()))
    header = "\n".join(line for line in path.read_text().splitlines() if line.startswith("#"))
    assert f"--recipe recipes/{path.name}" in header, "the header comment shows the command"
    # tiny recipes, and the CPU recipe for real mocap built on the tiny one, have smaller codebooks
    paper_size = "tiny" not in path.name and path.name != "mocap-flowvq.yaml"
    if isinstance(recipe, FlowVQRecipe):
        assert recipe.vqvae.quantizer.size == (4375 if paper_size else 1000)
    if isinstance(recipe, AudioCodecRecipe):
        assert (recipe.sample_rate, recipe.tokens_per_second, recipe.codebook_size) == (
            24_000,
            40.0,
            4096 if paper_size else 1024,
        )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("kind: nope\n", "unknown recipe kind 'nope'"),
        ("steps: 3\n", "unknown recipe kind None"),
        ("- a\n- b\n", "must be a YAML mapping"),
        ("kind: [flowvq\n", "not valid YAML"),
        ("kind: audio-codec\nchannels: wide\n", "channels"),
        ("kind: flowvq\nname: x\nvqvae: {width: -1}\n", "vqvae.width"),
    ],
)
def test_bad_recipes_give_one_line_errors(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "recipe.yaml"
    path.write_text(content)
    with pytest.raises(RecipeError) as error:
        load_recipe(path)
    message = str(error.value)
    assert str(path) in message and problem in message and "\n" not in message


def test_overrides_change_the_named_recipe_only(tmp_path: Path) -> None:
    path = tmp_path / "pretrain.yaml"
    shutil.copyfile(RECIPES / "vermo-tiny-pretrain.yaml", path)
    overrides = ["training.steps=30", "training.betas=[0.9, 0.95]", "model.rope_scaling=null"]
    with recipe_overrides(path, [*overrides, "seed=7", "task_repeats.t2m=2"]):
        recipe = load_lm_recipe(path)
        copy = yaml.safe_load(recipe_text(path))
        untouched = load_lm_recipe(RECIPES / "vermo-tiny-pretrain.yaml")
        assert load_recipe(path) == recipe
    assert recipe.training.steps == 30 and recipe.training.betas == (0.9, 0.95)
    assert recipe.seed == 7 and recipe.task_repeats == {"t2m": 2}
    assert copy["training"]["steps"] == 30 and copy["seed"] == 7
    assert untouched == load_lm_recipe(path) and untouched.training.steps != 30


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ("training.stepz=3", "--set training.stepz: no such recipe key"),
        ("trainer.steps=3", "--set trainer.steps: no such recipe key"),
        ("training.steps.more=3", "--set training.steps.more: no such recipe key"),
        ("kind=flowvq", "--set kind: no such recipe key"),
        ("training.steps", "expected key.sub=value"),
        ("training.steps=0", "training.steps: Input should be greater than or equal to 1"),
    ],
)
def test_bad_overrides_give_one_line_errors(tmp_path: Path, override: str, problem: str) -> None:
    path = shutil.copyfile(RECIPES / "vermo-tiny-pretrain.yaml", tmp_path / "pretrain.yaml")
    with pytest.raises(RecipeError) as error, recipe_overrides(path, [override]):
        load_lm_recipe(path)
    assert problem in str(error.value) and "\n" not in str(error.value)


def test_overrides_need_a_recipe() -> None:
    with pytest.raises(RecipeError, match="--recipe"), recipe_overrides(None, ["seed=1"]):
        pass
