"""Stage 1 of FlowVQ: the convolutional motion autoencoder around a quantizer.

Motion enters as normalised features `[batch, frames, channels]` (156 for joint positions, 158
for the trajectory features; `motion_features`) and becomes one code per `compression` frames.
The `flowvq` layout follows the paper (appendix A.1): ResNet blocks at full resolution, then a
strided convolution, no dilation, no normalisation layers, ReLU, and a mirrored decoder with
nearest-neighbour upsampling. The `vanilla` layout is the earlier motion-VQ design kept for
ablations: downsample first, then dilated blocks.
"""

from __future__ import annotations

import torch
from loguru import logger
from torch import nn
from torch.nn import functional
from vector_quantize_pytorch import FSQ, ResidualVQ, VectorQuantize

from vermo_cli.tokenizers.flowvq.recipe import QuantizerConfig, VqVaeConfig

# vector-quantize-pytorch warns through loguru on every small k-means init; vermo reports itself.
logger.disable("vector_quantize_pytorch")


class ResidualBlock(nn.Module):
    """`x + conv1x1(relu(conv3(relu(x))))` over `[batch, channels, frames]`."""

    def __init__(self, channels: int, dilation: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.mix = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mix(functional.relu(self.conv(functional.relu(x))))


def _blocks(config: VqVaeConfig, reverse: bool = False) -> list[nn.Module]:
    dilations = [config.dilation_growth**i for i in range(config.blocks_per_level)]
    if not reverse:
        dilations = dilations[::-1]
    return [ResidualBlock(config.width, d) for d in dilations]


class MotionEncoder(nn.Module):
    """`[batch, channels, frames]` -> latents `[batch, width, frames / compression]`."""

    def __init__(self, config: VqVaeConfig) -> None:
        super().__init__()
        width = config.width
        layers: list[nn.Module] = [nn.Conv1d(config.channels, width, 3, padding=1), nn.ReLU()]
        for level in range(config.levels):
            downsample = level < config.downsampling_levels
            down = [nn.Conv1d(width, width, 4, stride=2, padding=1)] if downsample else []
            blocks = _blocks(config)
            layers += down + blocks if config.architecture == "vanilla" else blocks + down
        layers += [ResidualBlock(width) for _ in range(config.quantizer_blocks)]
        layers.append(nn.Conv1d(width, width, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, motion: torch.Tensor) -> torch.Tensor:
        return self.net(motion)


class MotionDecoder(nn.Module):
    """Latents `[batch, width, frames / compression]` -> `[batch, channels, frames]`."""

    def __init__(self, config: VqVaeConfig) -> None:
        super().__init__()
        width = config.width
        layers: list[nn.Module] = [nn.Conv1d(width, width, 3, padding=1), nn.ReLU()]
        layers += [ResidualBlock(width) for _ in range(config.quantizer_blocks)]
        for level in reversed(range(config.levels)):
            upsample = level < config.downsampling_levels
            up = [nn.Upsample(scale_factor=2, mode="nearest")] if upsample else []
            conv = [nn.Conv1d(width, width, 3, padding=1)]
            blocks = _blocks(config, reverse=True)
            layers += blocks + up + conv if config.architecture == "vanilla" else up + conv + blocks
        layers += [
            nn.Conv1d(width, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv1d(width, config.channels, 3, padding=1),
        ]
        self.net = nn.Sequential(*layers)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        return self.net(latents)


class MotionQuantizer(nn.Module):
    """Wraps one vector-quantize-pytorch quantizer behind a channel-first interface."""

    def __init__(self, width: int, config: QuantizerConfig) -> None:
        super().__init__()
        self.config = config
        if config.kind == "fsq":
            self.quantizer: nn.Module = FSQ(levels=list(config.levels), dim=width)
        elif config.kind == "vq":
            self.quantizer = VectorQuantize(
                dim=width,
                codebook_size=config.codebook_size,
                decay=0.99,
                commitment_weight=config.commitment_weight,
                kmeans_init=True,
                threshold_ema_dead_code=config.dead_code_threshold,
            )
        else:
            self.quantizer = ResidualVQ(
                dim=width,
                num_quantizers=config.num_quantizers,
                codebook_size=config.codebook_size,
                decay=0.99,
                commitment_weight=config.commitment_weight,
                kmeans_init=True,
                threshold_ema_dead_code=config.dead_code_threshold,
            )

    def forward(
        self, latents: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Quantize `[batch, width, steps]`; `mask` `[batch, steps]` marks real (unpadded) steps
        so padding never updates a codebook. Returns quantized latents (same shape), codes
        (`[batch, steps]`, or `[batch, steps, quantizers]` for rvq) and the auxiliary loss."""
        channels_last = latents.transpose(1, 2)
        if self.config.kind == "fsq":
            quantized, codes = self.quantizer(channels_last)
            auxiliary = latents.new_zeros(())
        else:
            quantized, codes, commitment = self.quantizer(channels_last, mask=mask)
            auxiliary = commitment.sum()
        return quantized.transpose(1, 2), codes, auxiliary

    def codes_to_latents(self, codes: torch.Tensor) -> torch.Tensor:
        """Quantized latents `[batch, width, steps]` from codes `[batch, steps(, quantizers)]`."""
        if self.config.kind == "fsq":
            latents = self.quantizer.indices_to_codes(codes)
        else:
            latents = self.quantizer.get_output_from_indices(codes)
        return latents.transpose(1, 2)


class MotionVqVae(nn.Module):
    """Encoder, quantizer and stage-1 decoder over normalised motion `[batch, frames, channels]`."""

    def __init__(self, config: VqVaeConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = MotionEncoder(config)
        self.quantizer = MotionQuantizer(config.width, config.quantizer)
        self.decoder = MotionDecoder(config)

    def quantize(
        self, motion: torch.Tensor, frame_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`[batch, frames, channels]` (frames a multiple of the compression) -> quantized latents
        `[batch, width, steps]`, codes and auxiliary loss."""
        latents = self.encoder(motion.transpose(1, 2))
        step_mask = None
        if frame_mask is not None:
            step_mask = frame_mask[:, :: self.config.compression]
        return self.quantizer(latents, step_mask)

    def decode_latents(self, quantized: torch.Tensor) -> torch.Tensor:
        """Quantized latents `[batch, width, steps]` -> `[batch, steps * compression, channels]`."""
        return self.decoder(quantized).transpose(1, 2)

    def forward(
        self, motion: torch.Tensor, frame_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reconstruction `[batch, frames, channels]`, codes, auxiliary loss."""
        quantized, codes, auxiliary = self.quantize(motion, frame_mask)
        return self.decode_latents(quantized), codes, auxiliary
