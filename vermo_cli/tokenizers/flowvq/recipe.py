"""The FlowVQ recipe: a validated YAML description of the tokenizer networks and both stages."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from vermo_cli.recipe_files import load_typed_recipe
from vermo_cli.tokenizers.flowvq.features import FeatureKind, feature_channels


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QuantizerConfig(_Strict):
    """Which quantizer sits between encoder and decoder (all from vector-quantize-pytorch).

    `fsq`: finite scalar quantization with `levels` (codebook = their product, no commitment
    loss). `vq`: a learned codebook of `codebook_size` with commitment loss and dead-code
    replacement. `rvq`: `num_quantizers` residual codebooks (several codes per step, so for
    ablations only: the language model needs one token per step).
    """

    kind: Literal["fsq", "vq", "rvq"] = "fsq"
    levels: tuple[int, ...] = (7, 5, 5, 5, 5)
    codebook_size: int = Field(512, ge=2)
    commitment_weight: float = Field(0.02, ge=0.0)
    num_quantizers: int = Field(3, ge=1)
    dead_code_threshold: float = Field(2.0, ge=0.0)

    @property
    def size(self) -> int:
        """Number of distinct codes per step."""
        return math.prod(self.levels) if self.kind == "fsq" else self.codebook_size


class VqVaeConfig(_Strict):
    """The stage-1 convolutional autoencoder.

    `flowvq`: ResNet blocks first, then a strided downsampling conv (paper A.1), no dilation.
    `vanilla`: the earlier motion-VQ layout: downsampling first, then dilated blocks
    (dilations 1, `dilation_growth`, `dilation_growth`^2, ...).

    `features`: what the networks see per frame (`vermo_cli.tokenizers.flowvq.features`):
    `positions`, the paper's joint positions, `trajectory`, root velocity and
    root-relative joints plus the root position, or `velocity`, the same without the root
    position. `root_weight` multiplies the training loss on
    the channels that place the person (`motion_features.root_channels`).
    """

    architecture: Literal["flowvq", "vanilla"] = "flowvq"
    width: int = Field(512, ge=8)
    levels: int = Field(3, ge=1)
    blocks_per_level: int = Field(3, ge=1)
    quantizer_blocks: int = Field(2, ge=0)
    compression: int = Field(4, ge=1)
    dilation_growth: int = Field(1, ge=1)
    quantizer: QuantizerConfig = QuantizerConfig()
    features: FeatureKind = "positions"
    root_weight: float = Field(1.0, gt=0.0)
    root_anchor_iterations: int = Field(0, ge=0)
    """`trajectory` and `velocity` only: how many times encoding corrects its input by the
    root path that the stage-1 decoder returns, so that the codes keep the root on long takes
    (0: plain encoding; see `FlowVQTokenizer.encode` and docs/design-notes.md#root-anchoring)."""

    @property
    def channels(self) -> int:
        """Feature channels per frame."""
        return feature_channels(self.features)

    @model_validator(mode="after")
    def _compression_fits(self) -> VqVaeConfig:
        if self.compression & (self.compression - 1):
            raise ValueError(f"compression must be a power of two, got {self.compression}")
        if self.downsampling_levels > self.levels:
            raise ValueError(f"compression {self.compression} needs more than {self.levels} levels")
        return self

    @property
    def downsampling_levels(self) -> int:
        """How many levels halve the frame rate."""
        return int(math.log2(self.compression))


class FlowDecoderConfig(_Strict):
    """The stage-2 flow-matching transformer decoder and its scheduler."""

    blocks: int = Field(8, ge=1)
    heads: int = Field(4, ge=1)
    head_dim: int = Field(128, ge=4)
    ffn: int = Field(1024, ge=4)
    train_timesteps: int = Field(1000, ge=2)
    sampling_steps: int = Field(28, ge=1)
    shift: float = Field(3.0, gt=0.0)
    condition_on_stage1: bool = False
    """Also give the transformer the stage-1 decoder's reconstruction, added to each frame's
    input (vermo's addition, on in the shipped recipes; False is the paper's design, latents
    through cross-attention only). With it the decoder starts from the stage-1 motion and
    learns the detail to add, which it does within a CPU budget; without it, it must first
    learn to read the latents."""
    prediction: Literal["velocity", "sample"] = "velocity"
    """What the transformer outputs. `velocity`: the rectified-flow velocity `noise - motion`
    (the paper's). `sample`: the clean motion itself (and, with `condition_on_stage1`, as a
    correction added to the stage-1 reconstruction), trained with squared error on the motion
    and turned into a velocity `(x_t - motion) / sigma` for the same Euler sampler (vermo's,
    on in the shipped recipes). Velocity prediction must copy the noise of its input through
    the network to remove it; when it cannot do that exactly the leftover noise stays in the
    decoded motion as per-frame jitter. A sample-predicting decoder's last step returns its
    prediction, which has no such leftover."""


class StageConfig(_Strict):
    """Optimisation of one stage. Steps count optimizer updates; `crop_frames` is the longest
    random crop (30 fps); AdamW with linear warm-up, then cosine decay to `final_lr_fraction`."""

    steps: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    crop_frames: int = Field(256, ge=4)
    learning_rate: float = Field(gt=0.0)
    betas: tuple[float, float] = (0.9, 0.99)
    weight_decay: float = Field(0.0, ge=0.0)
    warmup_steps: int = Field(0, ge=0)
    final_lr_fraction: float = Field(1.0, ge=0.0, le=1.0)
    grad_clip: float = Field(1.0, gt=0.0)
    checkpoint_every: int = Field(500, ge=1)
    validate_every: int = Field(500, ge=1)
    log_every: int = Field(10, ge=1)
    keep_checkpoints: int = Field(3, ge=1)


class FlowVQRecipe(_Strict):
    """A whole FlowVQ recipe file (`kind: flowvq`)."""

    kind: Literal["flowvq"]
    name: str
    seed: int = 0
    vqvae: VqVaeConfig = VqVaeConfig()
    flow: FlowDecoderConfig = FlowDecoderConfig()
    stage1: StageConfig
    stage2: StageConfig


def load_flowvq_recipe(path: Path) -> FlowVQRecipe:
    """Load and validate a FlowVQ recipe; one-line `RecipeError` naming the first problem."""
    return load_typed_recipe(Path(path), "flowvq", FlowVQRecipe)
