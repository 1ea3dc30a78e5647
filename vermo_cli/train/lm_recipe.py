"""The language-model recipe (`kind: lm`): model shape, stage and optimisation, validated."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vermo_cli.recipe_files import load_typed_recipe

ExportRule = Literal["best_validation", "last"]
"""Which step's weights become a run's model (`LmTrainingConfig.export`)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RopeScaling(_Strict):
    """Llama-3 style RoPE frequency scaling (the `llama3` rope type of transformers): wavelengths
    longer than `original_max_position_embeddings / low_freq_factor` are divided by `factor`,
    those shorter than `... / high_freq_factor` are kept, the band between is interpolated."""

    factor: float = Field(gt=0.0)
    low_freq_factor: float = Field(gt=0.0)
    high_freq_factor: float = Field(gt=0.0)
    original_max_position_embeddings: int = Field(ge=1)

    @model_validator(mode="after")
    def _bands_are_ordered(self) -> RopeScaling:
        if self.high_freq_factor <= self.low_freq_factor:
            raise ValueError("high_freq_factor must be greater than low_freq_factor")
        return self


class LmModelConfig(_Strict):
    """Shape of the decoder (a Llama: RMSNorm, SiLU gated FFN, no biases, grouped-query
    attention). Ignored when training starts from `--init` weights, which bring their own."""

    hidden_size: int = Field(ge=8)
    num_layers: int = Field(ge=1)
    num_heads: int = Field(ge=1)
    num_kv_heads: int = Field(ge=1)
    intermediate_size: int = Field(ge=8)
    max_position_embeddings: int = Field(ge=16)
    rope_theta: float = Field(10_000.0, gt=0.0)
    rope_scaling: RopeScaling | None = None
    rms_norm_eps: float = Field(1e-5, gt=0.0)
    initializer_range: float = Field(0.02, gt=0.0)
    tie_word_embeddings: bool = True

    @model_validator(mode="after")
    def _heads_divide(self) -> LmModelConfig:
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"hidden_size {self.hidden_size} is not divisible by num_heads {self.num_heads}"
            )
        if self.num_heads % self.num_kv_heads:
            raise ValueError(
                f"num_heads {self.num_heads} is not divisible by num_kv_heads {self.num_kv_heads}"
            )
        return self

    @property
    def head_dim(self) -> int:
        """Channels per attention head."""
        return self.hidden_size // self.num_heads


class LmTrainingConfig(_Strict):
    """Optimisation. `steps` counts optimizer updates; give `epochs` instead to derive them from
    the size of the first epoch (`epochs * micro batches per epoch / (gradient_accumulation *
    data-parallel ranks)`, rounded up). Each update sees `micro_batch_size *
    gradient_accumulation` examples per rank; `max_length` (tokens) truncates longer examples.
    AdamW with linear warm-up over `warmup_steps`, then cosine decay to `final_lr_fraction` of
    `learning_rate`. `deepspeed` names a DeepSpeed JSON file, relative to the repository's
    `recipes/` folder unless absolute; vermo fills in batch sizes, clipping, optimizer and bf16.
    `export` chooses the run's model (`RUN/model`): `best_validation` keeps the weights of the step
    with the lowest validation loss (exported whenever a validation pass sets a new best; the
    last step's when nothing validates), `last` those of the final step.
    `gradient_checkpointing` recomputes each decoder layer's activations in the backward pass
    (the Hugging Face model's `gradient_checkpointing_enable`): less memory, about a third more
    compute per step."""

    steps: int | None = Field(None, ge=1)
    epochs: float | None = Field(None, gt=0.0)
    micro_batch_size: int = Field(ge=1)
    gradient_accumulation: int = Field(1, ge=1)
    max_length: int = Field(ge=2)
    learning_rate: float = Field(gt=0.0)
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = Field(0.0, ge=0.0)
    warmup_steps: int = Field(0, ge=0)
    final_lr_fraction: float = Field(1.0, ge=0.0, le=1.0)
    gradient_clip: float = Field(1.0, gt=0.0)
    validate_every: int = Field(500, ge=1)
    checkpoint_every: int = Field(500, ge=1)
    log_every: int = Field(10, ge=1)
    keep_checkpoints: int = Field(2, ge=1)
    deepspeed: str = "deepspeed/zero3-cpu.json"
    export: ExportRule = "best_validation"
    gradient_checkpointing: bool = False

    @model_validator(mode="after")
    def _one_length(self) -> LmTrainingConfig:
        if (self.steps is None) == (self.epochs is None):
            raise ValueError("give exactly one of steps and epochs")
        return self


class LmTrainRecipe(_Strict):
    """A whole language-model recipe file (`kind: lm`).

    `stage` says which command it is for (pretrain: loss on every token of every task; sft:
    loss on replies of the benchmark tasks; specialize: replies of one task, named on the
    command line). `tasks` restricts the task mix (all of the stage's tasks when absent);
    `task_repeats` weights it: a task named there appears that many times per epoch, each time
    with fresh random choices (caption, instruction, crop), the others once.
    `text_vocab_size` is the size of the byte-level BPE trained on the corpus text when no
    `--init` model brings its own tokenizer.
    """

    kind: Literal["lm"]
    name: str
    stage: Literal["pretrain", "sft", "specialize"]
    seed: int = 0
    text_vocab_size: int = Field(4000, ge=256)
    tasks: tuple[str, ...] | None = None
    task_repeats: dict[str, int] = Field(default_factory=dict)
    model: LmModelConfig
    training: LmTrainingConfig

    @field_validator("task_repeats")
    @classmethod
    def _positive_repeats(cls, repeats: dict[str, int]) -> dict[str, int]:
        for task, count in repeats.items():
            if count < 1:
                raise ValueError(f"task_repeats.{task} must be at least 1")
        return repeats

    def dump(self) -> dict[str, Any]:
        """The recipe as plain JSON-able data (stored in checkpoints to detect changes)."""
        return self.model_dump(mode="json")


def load_lm_recipe(path: Path) -> LmTrainRecipe:
    """Load and validate a language-model recipe; one-line `RecipeError` naming the first
    problem."""
    return load_typed_recipe(Path(path), "lm", LmTrainRecipe)
