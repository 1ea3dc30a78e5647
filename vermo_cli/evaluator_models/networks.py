"""The evaluator networks: the text-motion contrastive pair and the gesture autoencoder.

Motion enters as pose features `[batch, frames, channels]` with a frame mask `[batch, frames]`
(True on real frames, frames a multiple of 4). Padded positions are zeroed after every layer,
and attention never looks at them, so a clip's embedding does not depend on the other clips
padded into the same batch.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

from vermo_cli.evaluator_models.recipe import GestureEvaluatorRecipe, TextMotionEvaluatorRecipe
from vermo_cli.evaluator_models.text_encoder import TEXT_EMBEDDING_DIM

FRAMES_PER_TOKEN = 4


def _masked(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """`[batch, channels, steps]` with the steps where `mask` `[batch, steps]` is False zeroed."""
    return x * mask[:, None, :].to(x.dtype)


def downsampled_mask(frame_mask: torch.Tensor, factor: int) -> torch.Tensor:
    """`[batch, frames]` -> `[batch, frames / factor]`: a step is real if its first frame is."""
    return frame_mask[:, ::factor]


class FeatureNormalizer(nn.Module):
    """Subtracts the training mean and divides by the training std `[channels]` (both saved with
    the weights as buffers)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("std", torch.ones(channels))

    def set_statistics(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Store the statistics of the training features."""
        self.mean.copy_(mean)
        self.std.copy_(std)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return (features - self.mean) / self.std


class MotionEncoder(nn.Module):
    """`[batch, frames, channels]` features -> `[batch, embedding_dim]` unit vectors."""

    def __init__(self, recipe: TextMotionEvaluatorRecipe, channels: int) -> None:
        super().__init__()
        width = recipe.width
        self.normalizer = FeatureNormalizer(channels)
        self.downsample = nn.ModuleList(
            [
                nn.Conv1d(
                    channels if level == 0 else width, width, kernel_size=4, stride=2, padding=1
                )
                for level in range(2)
            ]
        )
        self.position = nn.Parameter(
            torch.randn(recipe.max_frames // FRAMES_PER_TOKEN, width) * 0.02
        )
        # Dropout on the tokens only: inside attention it costs a fifth of a CPU step.
        self.token_dropout = nn.Dropout(recipe.dropout)
        layer = nn.TransformerEncoderLayer(
            width, recipe.heads, 2 * width, 0.0, batch_first=True, norm_first=True
        )
        self.transformer = nn.TransformerEncoder(layer, recipe.layers, enable_nested_tensor=False)
        self.output_norm = nn.LayerNorm(width)
        self.output = nn.Linear(width, recipe.embedding_dim)

    def forward(self, features: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        x = _masked(self.normalizer(features).transpose(1, 2), frame_mask)
        mask = frame_mask
        for convolution in self.downsample:
            mask = downsampled_mask(mask, 2)
            x = _masked(functional.gelu(convolution(x)), mask)
        tokens = self.token_dropout(x.transpose(1, 2) + self.position[: x.shape[-1]])
        tokens = self.transformer(tokens, src_key_padding_mask=~mask)
        weights = mask.unsqueeze(-1).to(tokens.dtype)
        pooled = (tokens * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        return functional.normalize(self.output(self.output_norm(pooled)), dim=-1)


class TextProjection(nn.Module):
    """`[batch, 384]` frozen sentence embeddings -> `[batch, embedding_dim]` unit vectors."""

    def __init__(self, recipe: TextMotionEvaluatorRecipe) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(TEXT_EMBEDDING_DIM, recipe.text_hidden),
            nn.GELU(),
            nn.Dropout(recipe.dropout),
            nn.Linear(recipe.text_hidden, recipe.embedding_dim),
        )

    def forward(self, sentence_embeddings: torch.Tensor) -> torch.Tensor:
        return functional.normalize(self.layers(sentence_embeddings), dim=-1)


class TextMotionModel(nn.Module):
    """The two trainable towers of the text-motion evaluator."""

    def __init__(self, recipe: TextMotionEvaluatorRecipe, channels: int) -> None:
        super().__init__()
        self.motion_encoder = MotionEncoder(recipe, channels)
        self.text_projection = TextProjection(recipe)


def contrastive_loss(
    text: torch.Tensor,
    motion: torch.Tensor,
    temperature: float,
    same_meaning: torch.Tensor | None = None,
) -> torch.Tensor:
    """Symmetric InfoNCE over a batch of matching `[batch, d]` unit vectors (row i of `text`
    describes row i of `motion`). `same_meaning` `[batch, batch]` bool marks off-diagonal pairs
    left out as negatives because their captions say the same thing."""
    logits = text @ motion.T / temperature
    if same_meaning is not None:
        diagonal = torch.eye(len(logits), dtype=torch.bool)
        logits = logits.masked_fill(same_meaning & ~diagonal, float("-inf"))
    targets = torch.arange(len(logits))
    return 0.5 * (
        functional.cross_entropy(logits, targets) + functional.cross_entropy(logits.T, targets)
    )


class _ResidualBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.first = nn.Conv1d(width, width, kernel_size=3, padding=1)
        self.second = nn.Conv1d(width, width, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        y = _masked(self.first(functional.gelu(x)), mask)
        return x + _masked(self.second(functional.gelu(y)), mask)


class GestureAutoencoder(nn.Module):
    """Upper-body features `[batch, frames, 39]` <-> latents `[batch, frames / 4, latent_dim]`.

    Encoder: linear, then at each of three resolutions `blocks` residual convolution blocks,
    with a strided convolution halving the frame rate between them; a last convolution to the
    latent. The decoder mirrors it with nearest-neighbour upsampling.
    """

    def __init__(self, recipe: GestureEvaluatorRecipe, channels: int) -> None:
        super().__init__()
        width = recipe.width
        self.normalizer = FeatureNormalizer(channels)
        self.encoder_input = nn.Linear(channels, width)
        self.encoder_blocks = nn.ModuleList(
            [nn.ModuleList([_ResidualBlock(width) for _ in range(recipe.blocks)]) for _ in range(3)]
        )
        self.downsample = nn.ModuleList(
            [nn.Conv1d(width, width, kernel_size=4, stride=2, padding=1) for _ in range(2)]
        )
        self.to_latent = nn.Conv1d(width, recipe.latent_dim, kernel_size=3, padding=1)
        self.from_latent = nn.Conv1d(recipe.latent_dim, width, kernel_size=3, padding=1)
        self.decoder_blocks = nn.ModuleList(
            [nn.ModuleList([_ResidualBlock(width) for _ in range(recipe.blocks)]) for _ in range(3)]
        )
        self.upsample = nn.ModuleList(
            [nn.Conv1d(width, width, kernel_size=3, padding=1) for _ in range(2)]
        )
        self.decoder_output = nn.Linear(width, channels)

    def encode(self, features: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """`[batch, frames, channels]` -> latents `[batch, frames / 4, latent_dim]` (zero on
        padding)."""
        x = _masked(self.encoder_input(self.normalizer(features)).transpose(1, 2), frame_mask)
        mask = frame_mask
        for level, blocks in enumerate(self.encoder_blocks):
            for block in blocks:
                x = block(x, mask)
            if level < len(self.downsample):
                mask = downsampled_mask(mask, 2)
                x = _masked(self.downsample[level](functional.gelu(x)), mask)
        return _masked(self.to_latent(functional.gelu(x)), mask).transpose(1, 2)

    def decode(self, latents: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """Latents `[batch, frames / 4, latent_dim]` -> normalised features `[batch, frames,
        channels]`."""
        masks = [frame_mask, downsampled_mask(frame_mask, 2), downsampled_mask(frame_mask, 4)]
        x = _masked(self.from_latent(latents.transpose(1, 2)), masks[2])
        for level, blocks in enumerate(self.decoder_blocks):
            mask = masks[2 - level]
            for block in blocks:
                x = block(x, mask)
            if level < len(self.upsample):
                x = functional.interpolate(x, scale_factor=2.0, mode="nearest")
                x = _masked(self.upsample[level](functional.gelu(x)), masks[1 - level])
        return self.decoder_output(functional.gelu(x).transpose(1, 2))

    def forward(self, features: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """Reconstruction `[batch, frames, channels]` of normalised features."""
        return self.decode(self.encode(features, frame_mask), frame_mask)
