"""The built-in audio codec's recipe: the network's shape and the training settings."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from vermo_cli.recipe_files import load_typed_recipe

# FSQ levels per supported codebook size (the product of the levels): near-equal levels
# quantize each latent dimension about equally finely.
FSQ_LEVELS: dict[int, tuple[int, ...]] = {
    1000: (8, 5, 5, 5),
    1024: (8, 8, 4, 4),
    2048: (8, 8, 8, 4),
    4096: (8, 8, 8, 8),
    4375: (7, 5, 5, 5, 5),
}


class AudioCodecNetworkConfig(BaseModel):
    """Shape of the codec network: everything `codec.json` needs to rebuild it."""

    model_config = ConfigDict(extra="forbid")

    sample_rate: int = 24_000
    """Hz."""
    hop: int = 600
    """Samples per token (24,000 / 600 = 40 tokens per second)."""
    n_fft: int = 2048
    """STFT size (samples) of the frames a token codes; hann window of the same length."""
    n_mels: int = 80
    """Mel bands of the encoder's input."""
    codebook_size: int = 4096
    """Number of tokens; one of the keys of `FSQ_LEVELS`."""
    channels: int = 256
    """Width of the convolutional encoder and decoder."""
    latent_dim: int = 64
    """Channels of the latent that FSQ projects to its few quantized dimensions."""
    residual_units: int = 3
    """Residual units (dilated convolutions over time) in the encoder and in the decoder."""
    griffin_lim_iterations: int = 32
    """Phase-estimation iterations when decoding tokens to a waveform."""

    @model_validator(mode="after")
    def _check_shape(self) -> AudioCodecNetworkConfig:
        if self.n_fft < self.hop:
            raise ValueError(f"n_fft ({self.n_fft}) must be at least hop ({self.hop})")
        if self.codebook_size not in FSQ_LEVELS:
            raise ValueError(f"codebook_size must be one of {sorted(FSQ_LEVELS)}")
        return self

    @property
    def tokens_per_second(self) -> float:
        """Tokens per second of audio."""
        return self.sample_rate / self.hop


class AudioCodecRecipe(AudioCodecNetworkConfig):
    """A training recipe for the built-in codec (a YAML file with `kind: audio-codec`)."""

    kind: Literal["audio-codec"]
    steps: int = 2000
    batch_size: int = 8
    crop_seconds: float = 1.0
    learning_rate: float = 1e-3
    weight_decay: float = 1e-2
    warmup_steps: int = 50
    seed: int = 0
    checkpoint_every: int = 200
    log_every: int = 10
    convergence_loss_weight: float = 1.0
    """Weight of spectral convergence (relative error of magnitudes) beside log-magnitude L1."""
    gradient_clip: float = 1.0
    """Largest gradient norm per step."""

    @model_validator(mode="after")
    def _check_training(self) -> AudioCodecRecipe:
        for name in ("steps", "batch_size", "checkpoint_every", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.crop_seconds * self.sample_rate < 2 * self.hop:
            raise ValueError("crop_seconds must cover at least two hops")
        return self

    def network(self) -> AudioCodecNetworkConfig:
        """The network part of the recipe."""
        return AudioCodecNetworkConfig(
            **self.model_dump(include=set(AudioCodecNetworkConfig.model_fields))
        )


def load_audio_codec_recipe(path: Path) -> AudioCodecRecipe:
    """Read and validate a YAML recipe; `RecipeError` with a one-line message naming the file."""
    return load_typed_recipe(Path(path), "audio-codec", AudioCodecRecipe)
