"""Every recipe kind vermo knows, as one pydantic union tagged by the recipe's `kind` key.

Each recipe under `recipes/` says what it configures in its `kind` key (`flowvq`,
`audio-codec`, `lm`, `evaluator-text-motion`, `evaluator-gesture`, `inbetween`); `load_recipe`
reads any of them. The component modules read their own kind through
`vermo_cli.recipe_files`, so nothing imports this module back.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field, TypeAdapter

from vermo_cli.evaluator_models.recipe import GestureEvaluatorRecipe, TextMotionEvaluatorRecipe
from vermo_cli.inbetween.recipe import InbetweenRecipe
from vermo_cli.recipe_files import RecipeError, overridden_content, read_yaml, validate_recipe
from vermo_cli.tokenizers.audio_codec.recipe import AudioCodecRecipe
from vermo_cli.tokenizers.flowvq.recipe import FlowVQRecipe
from vermo_cli.train.lm_recipe import LmTrainRecipe

__all__ = ["AnyRecipe", "RecipeError", "load_recipe", "recipe_kinds"]

AnyRecipe = Annotated[
    FlowVQRecipe
    | AudioCodecRecipe
    | LmTrainRecipe
    | TextMotionEvaluatorRecipe
    | GestureEvaluatorRecipe
    | InbetweenRecipe,
    Field(discriminator="kind"),
]
_RECIPE = TypeAdapter(AnyRecipe)


def recipe_kinds() -> dict[str, type[BaseModel]]:
    """The recipe model of every known `kind`."""
    members = typing.get_args(typing.get_args(AnyRecipe)[0])
    return {typing.get_args(model.model_fields["kind"].annotation)[0]: model for model in members}


def load_recipe(path: Path) -> BaseModel:
    """Read and validate a recipe of any known kind (the union dispatches on its `kind`), with
    the active `recipe_files.recipe_overrides` applied."""
    content = read_yaml(path)
    kind = content.get("kind")
    if kind not in recipe_kinds():
        known = ", ".join(sorted(recipe_kinds()))
        raise RecipeError(f"{path}: unknown recipe kind {kind!r} (known: {known})")
    content = overridden_content(path, content, recipe_kinds()[kind])
    return validate_recipe(_RECIPE, content, path)
