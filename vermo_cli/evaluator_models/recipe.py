"""Evaluator recipes: the validated settings of the text-motion and gesture evaluators.

Every field has a default, so `fit_evaluator` runs without a recipe file; the shipped files
`recipes/evaluator-text-motion.yaml` and `recipes/evaluator-gesture.yaml` spell the defaults out
(a test keeps them equal).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from vermo_cli.recipe_files import load_typed_recipe

EvaluatorKind = Literal["text-motion", "gesture"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EvaluatorTraining(_Strict):
    """Optimisation shared by both evaluators: AdamW, linear warm-up over `warmup_steps`, then
    cosine decay to `final_lr_fraction` of `learning_rate`. Steps count optimizer updates."""

    seed: int = 0
    steps: int = Field(1000, ge=1)
    batch_size: int = Field(32, ge=2)
    learning_rate: float = Field(5e-4, gt=0.0)
    weight_decay: float = Field(0.01, ge=0.0)
    warmup_steps: int = Field(100, ge=0)
    final_lr_fraction: float = Field(0.05, ge=0.0, le=1.0)
    grad_clip: float = Field(1.0, gt=0.0)


class TextMotionEvaluatorRecipe(EvaluatorTraining):
    """The TMR-style contrastive text-motion evaluator (`kind: evaluator-text-motion`).

    Motion: per-frame pose features -> linear -> two strided convolutions (4 frames per token)
    -> transformer -> mean over tokens -> `embedding_dim`. Text: the frozen MiniLM sentence
    embedding -> a trainable two-layer projection -> `embedding_dim`. Both are L2-normalised and
    trained with a symmetric InfoNCE loss at `temperature`.
    """

    kind: Literal["evaluator-text-motion"] = "evaluator-text-motion"
    name: str = "evaluator-text-motion"
    headcount: Literal[1, 2] = 1
    """1: the single-person evaluator; 2: the two-person one (the agents' features side by
    side on channels, the corpus's first agent first)."""
    max_frames: int = Field(360, ge=4)
    """Longest motion seen, frames at 30 fps (12 s); longer motions are cut to their start."""
    width: int = Field(64, ge=8)
    layers: int = Field(2, ge=1)
    heads: int = Field(4, ge=1)
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    embedding_dim: int = Field(256, ge=2)
    text_hidden: int = Field(512, ge=2)
    """Width of the hidden layer of the text projection head."""
    temperature: float = Field(0.1, gt=0.0)
    similar_caption_threshold: float | None = Field(0.95, ge=-1.0, le=1.0)
    """Negatives whose caption has a MiniLM cosine similarity above this to the positive's are
    left out of the loss (they describe the same motion); null keeps every negative."""
    min_crop_fraction: float = Field(1.0, gt=0.0, le=1.0)
    """Training crops keep a random share between this and all of a clip's frames."""

    @model_validator(mode="after")
    def _heads_divide_width(self) -> TextMotionEvaluatorRecipe:
        if self.width % self.heads:
            raise ValueError(f"width {self.width} is not a multiple of heads {self.heads}")
        if self.max_frames % 4:
            raise ValueError(f"max_frames must be a multiple of 4, got {self.max_frames}")
        return self


class GestureEvaluatorRecipe(EvaluatorTraining):
    """The gesture autoencoder whose latents FGD compares (`kind: evaluator-gesture`).

    Upper-body pose features -> 1-D convolutional encoder (4 frames per latent) -> latents
    `[steps, latent_dim]` -> mirrored decoder; trained to reconstruct random crops.
    """

    kind: Literal["evaluator-gesture"] = "evaluator-gesture"
    name: str = "evaluator-gesture"
    steps: int = Field(600, ge=1)
    batch_size: int = Field(16, ge=2)
    learning_rate: float = Field(1e-3, gt=0.0)
    warmup_steps: int = Field(50, ge=0)
    clips: Literal["speech", "all"] = "speech"
    """Train on single-person clips with speech audio (co-speech gesture), or on all of them."""
    crop_frames: int = Field(120, ge=4)
    """Length of the training crops, frames at 30 fps (shorter clips are used whole)."""
    width: int = Field(64, ge=8)
    blocks: int = Field(1, ge=1)
    """Residual blocks at each temporal resolution."""
    latent_dim: int = Field(64, ge=2)
    velocity_weight: float = Field(1.0, ge=0.0)
    """Weight of the frame-to-frame difference loss beside the position loss."""

    @model_validator(mode="after")
    def _crop_whole_latents(self) -> GestureEvaluatorRecipe:
        if self.crop_frames % 4:
            raise ValueError(f"crop_frames must be a multiple of 4, got {self.crop_frames}")
        return self


EvaluatorRecipe = TextMotionEvaluatorRecipe | GestureEvaluatorRecipe

RECIPE_TYPES: dict[EvaluatorKind, type[EvaluatorRecipe]] = {
    "text-motion": TextMotionEvaluatorRecipe,
    "gesture": GestureEvaluatorRecipe,
}


def load_evaluator_recipe(path: Path, kind: EvaluatorKind) -> EvaluatorRecipe:
    """Load and validate an evaluator recipe of `kind`; one-line `RecipeError` otherwise."""
    return load_typed_recipe(Path(path), f"evaluator-{kind}", RECIPE_TYPES[kind])
