"""Recipe files: YAML that a pydantic model validates, and the dispatch on their `kind`.

Every recipe under `recipes/` says what it configures in its `kind` key (`flowvq`,
`audio-codec`, ...); `load_recipe` reads any of them. Errors are one line naming the file and,
where there is one, the offending key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from vermo_cli.errors import VermoError

RecipeModel = TypeVar("RecipeModel", bound=BaseModel)


class RecipeError(VermoError):
    """A recipe file is missing, not YAML, of another kind, or does not validate."""


def read_yaml(path: Path) -> dict[str, Any]:
    """Parse a YAML mapping; `RecipeError` naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"{path}: recipe not found")
    try:
        content = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise RecipeError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from error
    if not isinstance(content, dict):
        raise RecipeError(f"{path}: a recipe must be a YAML mapping")
    return content


def validate_recipe(model: type[RecipeModel], content: dict[str, Any], path: Path) -> RecipeModel:
    """`model` validated from `content`; `RecipeError` naming `path` and the first bad key."""
    try:
        return model.model_validate(content)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "recipe"
        raise RecipeError(f"{path}: {where}: {first['msg']}") from None


def load_typed_recipe(path: Path, kind: str, model: type[RecipeModel]) -> RecipeModel:
    """Read a recipe that must be of `kind` and validate it with `model`."""
    content = read_yaml(path)
    if content.get("kind") != kind:
        raise RecipeError(f"{path}: not {_article(kind)} {kind} recipe (expected `kind: {kind}`)")
    return validate_recipe(model, content, path)


def recipe_kinds() -> dict[str, type[BaseModel]]:
    """The recipe model of every known `kind`."""
    from vermo_cli.evaluators.recipe import GestureEvaluatorRecipe, TextMotionEvaluatorRecipe
    from vermo_cli.tokenizers.audio_codec_model import AudioCodecRecipe
    from vermo_cli.tokenizers.flowvq_recipe import FlowVQRecipe
    from vermo_cli.train.lm_recipe import LmTrainRecipe

    return {
        "flowvq": FlowVQRecipe,
        "audio-codec": AudioCodecRecipe,
        "lm": LmTrainRecipe,
        "evaluator-text-motion": TextMotionEvaluatorRecipe,
        "evaluator-gesture": GestureEvaluatorRecipe,
    }


def load_recipe(path: Path) -> BaseModel:
    """Read and validate a recipe of any known kind (dispatching on its `kind` key)."""
    content = read_yaml(path)
    kinds = recipe_kinds()
    kind = content.get("kind")
    if kind not in kinds:
        known = ", ".join(sorted(kinds))
        raise RecipeError(f"{path}: unknown recipe kind {kind!r} (known: {known})")
    return validate_recipe(kinds[kind], content, path)


def _article(word: str) -> str:
    """`a` or `an` before `word` (by its first letter)."""
    return "an" if word[:1].lower() in "aeiou" else "a"
