"""Reading recipe files: YAML mappings that a pydantic model validates, with one-line errors
that name the file and, where there is one, the offending key, and command-line overrides
(`--set key.sub=value`) applied to the recipe a command was given, before validation.

This module knows no recipe kind; each component's recipe module uses it, and
`vermo_cli.recipes` puts the kinds together.
"""

from __future__ import annotations

import copy
import typing
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
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

OVERRIDE_HELP = (
    "Override a recipe key, e.g. --set training.steps=30 (value read as YAML; repeatable; "
    "recorded in the run's copy of the recipe)."
)

Override = tuple[tuple[str, ...], Any]
"""One `--set` override: the key's path (`("training", "steps")`) and its parsed value."""

_ACTIVE_OVERRIDES: ContextVar[tuple[Path, tuple[Override, ...]] | None] = ContextVar(
    "recipe_overrides", default=None
)


def parse_override(text: str) -> Override:
    """`key.sub=value` as `((key, sub), value)`, the value read as a YAML scalar or flow
    collection (`30` an int, `1e-4` a float, `null` None, `[0.9, 0.95]` a list)."""
    key, equals, value = text.partition("=")
    parts = tuple(key.strip().split("."))
    if not equals or not all(parts):
        raise RecipeError(f"--set {text}: expected key.sub=value (e.g. training.steps=30)")
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError as error:
        raise RecipeError(f"--set {text}: value is not YAML ({first_line(error)})") from error
    return parts, parsed


def apply_overrides(
    content: dict[str, Any], overrides: Sequence[Override], model: type[BaseModel]
) -> dict[str, Any]:
    """`content` (a recipe mapping) with each override's value set at its key path, later
    overrides winning; `RecipeError` naming the first key that `model` has no field for."""
    for parts, _ in overrides:
        if parts == ("kind",) or not _names_field(model, parts):
            raise RecipeError(f"--set {'.'.join(parts)}: no such recipe key")
    return _with_values(content, overrides)


def _with_values(content: dict[str, Any], overrides: Sequence[Override]) -> dict[str, Any]:
    """A copy of `content` with each override's value set at its key path (sections that are
    absent are created)."""
    changed = copy.deepcopy(content)
    for parts, value in overrides:
        section = changed
        for part in parts[:-1]:
            if not isinstance(section.get(part), dict):
                section[part] = {}
            section = section[part]
        section[parts[-1]] = value
    return changed


def _names_field(model: type[BaseModel], parts: tuple[str, ...]) -> bool:
    """Whether `parts` is a field of `model`, a field of a nested model (also an optional
    one), or a key of a mapping-valued field."""
    field = model.model_fields.get(parts[0])
    if field is None:
        return False
    if len(parts) == 1:
        return True
    for candidate in (field.annotation, *typing.get_args(field.annotation)):
        if typing.get_origin(candidate) is dict:
            return len(parts) == 2
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return _names_field(candidate, parts[1:])
    return False


@contextmanager
def recipe_overrides(path: Path | None, overrides: Sequence[str] | None) -> Iterator[None]:
    """Within the block, every load of the recipe at `path` (the command's `--recipe`) applies
    `overrides` (`key.sub=value` texts) before validation; loads of other recipe files (a run's
    or a tokenizer's saved copy) are untouched. Malformed overrides, or overrides without a
    recipe, fail on entry."""
    parsed = tuple(parse_override(text) for text in overrides or ())
    if not parsed:
        yield
        return
    if path is None:
        raise RecipeError("--set overrides keys of a recipe; give the recipe with --recipe")
    token = _ACTIVE_OVERRIDES.set((Path(path).resolve(), parsed))
    try:
        yield
    finally:
        _ACTIVE_OVERRIDES.reset(token)


def overridden_content(
    path: Path, content: dict[str, Any], model: type[BaseModel]
) -> dict[str, Any]:
    """`content` read from `path`, with the active `recipe_overrides` applied when `path` is
    the recipe they are for."""
    overrides = _overrides_for(path)
    return apply_overrides(content, overrides, model) if overrides else content


def recipe_text(path: Path) -> str:
    """The text of the recipe at `path` for a run's copy: the file as written, or, while
    overrides apply to it, the overridden mapping as YAML (so the copy is what ran)."""
    overrides = _overrides_for(path)
    if not overrides:
        return Path(path).read_text()
    return yaml.safe_dump(_with_values(read_yaml(path), overrides), sort_keys=False)


def _overrides_for(path: Path) -> tuple[Override, ...]:
    """The active overrides when they are for the recipe at `path`, else none."""
    active = _ACTIVE_OVERRIDES.get()
    if active is None or Path(path).resolve() != active[0]:
        return ()
    return active[1]


def load_typed_recipe(path: Path, kind: str, model: type[RecipeModel]) -> RecipeModel:
    """Read a recipe that must be of `kind`, apply the active `recipe_overrides` to it and
    validate it with `model`."""
    content = read_yaml(path)
    if content.get("kind") != kind:
        raise RecipeError(f"{path}: not {_article(kind)} {kind} recipe (expected `kind: {kind}`)")
    return validate_recipe(model, overridden_content(path, content, model), path)


def _article(word: str) -> str:
    """`a` or `an` before `word` (by its first letter)."""
    return "an" if word[:1].lower() in "aeiou" else "a"
