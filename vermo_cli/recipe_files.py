"""Reading recipe files: YAML mappings that a pydantic model validates, with one-line errors
that name the file and, where there is one, the offending key.

This module knows no recipe kind; each component's recipe module uses it, and
`vermo_cli.recipes` puts the kinds together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from vermo_cli.errors import VermoError, first_line

Validated = TypeVar("Validated")


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
        raise RecipeError(f"{path}: not valid YAML ({first_line(error)})") from error
    except (OSError, UnicodeDecodeError) as error:
        raise RecipeError(f"{path}: cannot read the recipe ({error})") from error
    if not isinstance(content, dict):
        raise RecipeError(f"{path}: a recipe must be a YAML mapping")
    return content


def validate_recipe(
    model: type[Validated] | TypeAdapter[Validated], content: dict[str, Any], path: Path
) -> Validated:
    """`content` validated by `model` (a pydantic model or a type adapter); `RecipeError`
    naming `path` and the first bad key otherwise."""
    adapter = model if isinstance(model, TypeAdapter) else TypeAdapter(model)
    try:
        return adapter.validate_python(content)
    except ValidationError as error:
        first = error.errors()[0]
        location = [str(part) for part in first["loc"]]
        if location and location[0] == content.get("kind"):
            location = location[1:]  # a tagged union puts the tag first; the file has no such key
        where = ".".join(location) or "recipe"
        raise RecipeError(f"{path}: {where}: {first['msg']}") from None


RecipeModel = TypeVar("RecipeModel", bound=BaseModel)


def load_typed_recipe(path: Path, kind: str, model: type[RecipeModel]) -> RecipeModel:
    """Read a recipe that must be of `kind` and validate it with `model`."""
    content = read_yaml(path)
    if content.get("kind") != kind:
        raise RecipeError(f"{path}: not {_article(kind)} {kind} recipe (expected `kind: {kind}`)")
    return validate_recipe(model, content, path)


def _article(word: str) -> str:
    """`a` or `an` before `word` (by its first letter)."""
    return "an" if word[:1].lower() in "aeiou" else "a"
