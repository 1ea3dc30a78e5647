"""The in-betweening specialist's recipe (`kind: inbetween`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from vermo_cli.recipe_files import load_typed_recipe


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InbetweenNetwork(_Strict):
    """The transformer: `layers` pre-norm encoder blocks of `width` channels and `heads`
    attention heads over the frames of one window (context, made frames, keyframe)."""

    width: int = Field(256, ge=8)
    layers: int = Field(4, ge=1)
    heads: int = Field(8, ge=1)
    feedforward: int = Field(1024, ge=8)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _heads_divide_width(self) -> InbetweenNetwork:
        if self.width % self.heads:
            raise ValueError(f"width {self.width} is not a multiple of heads {self.heads}")
        return self


class InbetweenTraining(_Strict):
    """Optimisation: AdamW, linear warm-up over `warmup_steps`, then cosine decay to
    `final_lr_fraction` of `learning_rate`. Each step draws one transition length n in
    [`min_transition`, `max_transition`] and `batch_size` windows; `mirror` reflects half of
    them left to right. The last `validation_fraction` of every take's frames is held out and
    scored (L2P averaged over n = 5, 15, 30, 45) every `validate_every` steps; the best
    validation step's weights are the run's model."""

    seed: int = 0
    steps: int = Field(3000, ge=1)
    batch_size: int = Field(64, ge=1)
    learning_rate: float = Field(1e-3, gt=0.0)
    weight_decay: float = Field(1e-4, ge=0.0)
    warmup_steps: int = Field(200, ge=0)
    final_lr_fraction: float = Field(0.0, ge=0.0, le=1.0)
    grad_clip: float = Field(1.0, gt=0.0)
    min_transition: int = Field(5, ge=1)
    max_transition: int = Field(45, ge=1)
    window_every: int = Field(4, ge=1)
    """Frames between the starts of consecutive training windows."""
    mirror: bool = True
    validation_fraction: float = Field(0.1, gt=0.0, lt=1.0)
    validate_every: int = Field(500, ge=1)

    @model_validator(mode="after")
    def _transition_range(self) -> InbetweenTraining:
        if self.min_transition > self.max_transition:
            raise ValueError(
                f"min_transition {self.min_transition} exceeds max_transition {self.max_transition}"
            )
        return self


class InbetweenRecipe(_Strict):
    """An in-betweening specialist (`vermo specialize btwn --recipe`)."""

    kind: Literal["inbetween"] = "inbetween"
    name: str = "inbetween"
    network: InbetweenNetwork = InbetweenNetwork()
    training: InbetweenTraining = InbetweenTraining()


def load_inbetween_recipe(path: Path) -> InbetweenRecipe:
    """Read and validate an `inbetween` recipe; `RecipeError` naming the file otherwise."""
    return load_typed_recipe(path, "inbetween", InbetweenRecipe)
