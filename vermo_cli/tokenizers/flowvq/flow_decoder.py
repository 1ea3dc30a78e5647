"""Stage 2 of FlowVQ: a flow-matching transformer that decodes quantized latents to motion.

Each block runs cross-attention (queries: the noisy motion frames; keys and values: the timestep
embedding as one token followed by the quantized latents), then self-attention over the frames,
then a feed-forward layer, all pre-norm with residuals. It predicts the rectified-flow velocity
`noise - motion` (the paper's) or the clean motion (`prediction: sample`); sampling integrates
the velocity with diffusers' `FlowMatchEulerDiscreteScheduler`.
"""

from __future__ import annotations

import math

import torch
from diffusers import FlowMatchEulerDiscreteScheduler
from torch import nn

from vermo_cli.tokenizers.flowvq.features import POSITION_CHANNELS
from vermo_cli.tokenizers.flowvq.recipe import FlowDecoderConfig


def sinusoidal_embedding(positions: torch.Tensor, channels: int) -> torch.Tensor:
    """`[..., channels]` sine/cosine features of real-valued `positions` `[...]`."""
    half = channels // 2
    frequencies = torch.exp(
        -math.log(10000.0) * torch.arange(half, device=positions.device, dtype=torch.float32) / half
    )
    angles = positions.float()[..., None] * frequencies
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class FlowBlock(nn.Module):
    """Cross-attention, self-attention, feed-forward; pre-norm residual."""

    def __init__(self, width: int, heads: int, ffn: int) -> None:
        super().__init__()
        self.cross_norm = nn.LayerNorm(width)
        self.context_norm = nn.LayerNorm(width)
        self.cross = nn.MultiheadAttention(width, heads, batch_first=True)
        self.self_norm = nn.LayerNorm(width)
        self.attention = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ffn_norm = nn.LayerNorm(width)
        self.ffn = nn.Sequential(nn.Linear(width, ffn), nn.GELU(), nn.Linear(ffn, width))

    def forward(
        self,
        x: torch.Tensor,
        context: torch.Tensor,
        frame_padding: torch.Tensor | None,
        context_padding: torch.Tensor | None,
    ) -> torch.Tensor:
        query = self.cross_norm(x)
        keys = self.context_norm(context)
        x = (
            x
            + self.cross(query, keys, keys, key_padding_mask=context_padding, need_weights=False)[0]
        )
        normed = self.self_norm(x)
        x = (
            x
            + self.attention(
                normed, normed, normed, key_padding_mask=frame_padding, need_weights=False
            )[0]
        )
        return x + self.ffn(self.ffn_norm(x))


class FlowMatchingDecoder(nn.Module):
    """Predicts velocity or clean motion `[batch, frames, channels]` (per `config.prediction`) from
    noisy motion, timestep and latents; `velocity` always gives the velocity."""

    def __init__(
        self,
        config: FlowDecoderConfig,
        latent_width: int,
        compression: int,
        channels: int = POSITION_CHANNELS,
    ) -> None:
        super().__init__()
        self.config = config
        self.compression = compression
        self.channels = channels
        width = config.heads * config.head_dim
        self.width = width
        self.motion_in = nn.Linear(channels, width)
        self.prior_in = nn.Linear(channels, width) if config.condition_on_stage1 else None
        self.latent_in = nn.Linear(latent_width, width)
        self.time_mlp = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
        self.blocks = nn.ModuleList(
            FlowBlock(width, config.heads, config.ffn) for _ in range(config.blocks)
        )
        self.out_norm = nn.LayerNorm(width)
        self.motion_out = nn.Linear(width, channels)
        nn.init.zeros_(self.motion_out.weight)
        nn.init.zeros_(self.motion_out.bias)

    def forward(
        self,
        noisy: torch.Tensor,
        timesteps: torch.Tensor,
        latents: torch.Tensor,
        frame_mask: torch.Tensor | None = None,
        prior: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """`noisy` `[batch, frames, channels]`; `timesteps` `[batch]` on the scheduler's scale
        (0-1000); `latents` `[batch, width, steps]` quantized; `frame_mask` `[batch, frames]`
        True on real frames; `prior` `[batch, frames, channels]` the stage-1 reconstruction
        (required when the config conditions on it). Latent i is placed at frame
        `compression * (i + 0.5)` so that the two sequences share one time axis. Returns what
        `config.prediction` names; a sample prediction conditioned on the stage-1
        reconstruction is that reconstruction plus the network's correction."""
        batch, frames, _ = noisy.shape
        steps = latents.shape[-1]
        frame_positions = torch.arange(frames, device=noisy.device)
        latent_positions = (torch.arange(steps, device=noisy.device) + 0.5) * self.compression
        x = self.motion_in(noisy) + sinusoidal_embedding(frame_positions, self.width)
        if self.prior_in is not None:
            if prior is None:
                raise ValueError("this flow decoder needs the stage-1 reconstruction (prior)")
            x = x + self.prior_in(prior)
        memory = self.latent_in(latents.transpose(1, 2)) + sinusoidal_embedding(
            latent_positions, self.width
        )
        time_token = self.time_mlp(sinusoidal_embedding(timesteps, self.width))[:, None]
        context = torch.cat([time_token, memory], dim=1)
        frame_padding = context_padding = None
        if frame_mask is not None:
            frame_padding = ~frame_mask
            step_padding = ~frame_mask[:, :: self.compression][:, :steps]
            context_padding = torch.cat([step_padding.new_zeros(batch, 1), step_padding], dim=1)
        for block in self.blocks:
            x = block(x, context, frame_padding, context_padding)
        output = self.motion_out(self.out_norm(x))
        if self.config.prediction == "sample" and prior is not None:
            output = output + prior
        return output

    def velocity(
        self,
        noisy: torch.Tensor,
        timesteps: torch.Tensor,
        latents: torch.Tensor,
        frame_mask: torch.Tensor | None = None,
        prior: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The velocity `noise - motion` `[batch, frames, channels]` whatever the decoder predicts:
        a predicted motion m gives `(noisy - m) / sigma` with sigma = timestep / train steps."""
        output = self(noisy, timesteps, latents, frame_mask, prior)
        if self.config.prediction == "velocity":
            return output
        sigma = (timesteps.float() / self.config.train_timesteps).clamp(min=1e-4)
        return (noisy - output) / sigma.to(noisy)[:, None, None]


def make_scheduler(config: FlowDecoderConfig) -> FlowMatchEulerDiscreteScheduler:
    """A fresh scheduler (it keeps a step counter, so one per sampling run)."""
    return FlowMatchEulerDiscreteScheduler(
        num_train_timesteps=config.train_timesteps, shift=config.shift
    )


def flow_matching_targets(
    motion: torch.Tensor, scheduler: FlowMatchEulerDiscreteScheduler, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Noisy inputs, timesteps `[batch]` and velocity targets for clean `motion`
    `[batch, frames, channels]`: a training timestep is drawn uniformly for each sequence,
    `x_t = (1 - sigma) * motion + sigma * noise` and the target is `noise - motion` (a
    sample-predicting decoder is trained against `motion` itself instead)."""
    batch = motion.shape[0]
    index = torch.randint(0, len(scheduler.timesteps), (batch,), generator=generator)
    sigma = scheduler.sigmas[index].to(motion)[:, None, None]
    noise = torch.randn(motion.shape, generator=generator).to(motion)
    noisy = (1.0 - sigma) * motion + sigma * noise
    return noisy, scheduler.timesteps[index].to(motion), noise - motion


@torch.no_grad()
def sample_motion(
    decoder: FlowMatchingDecoder,
    latents: torch.Tensor,
    frames: int,
    steps: int | None = None,
    generator: torch.Generator | None = None,
    frame_mask: torch.Tensor | None = None,
    window_frames: int | None = None,
    prior: torch.Tensor | None = None,
) -> torch.Tensor:
    """Decode quantized latents `[batch, width, steps]` to normalised motion
    `[batch, frames, channels]` by Euler integration from Gaussian noise (seeded by `generator`).

    The decoder is trained on crops of `window_frames` frames, and attention with absolute
    positions does not carry over to much longer sequences. So longer motions are decoded in
    windows of that length overlapping by half, each seeing positions from 0 as in training;
    at every Euler step the windows' velocities are blended with triangular weights into one
    velocity for the whole sequence, so the windows share one trajectory and join smoothly.
    `frames` must be `compression` times the latent steps; `prior` `[batch, frames, channels]` is
    the stage-1 reconstruction, for decoders that condition on it.
    """
    scheduler = make_scheduler(decoder.config)
    scheduler.set_timesteps(steps or decoder.config.sampling_steps)
    shape = (latents.shape[0], frames, decoder.channels)
    x = torch.randn(shape, generator=generator).to(latents)
    windows = decoding_windows(frames, window_frames or frames, decoder.compression)
    weights = torch.zeros(frames, device=latents.device)
    ramps = []
    for start, stop in windows:
        ramp = _triangle(stop - start, latents.device)
        weights[start:stop] += ramp
        ramps.append(ramp)
    for timestep in scheduler.timesteps:
        batch_timestep = timestep.expand(latents.shape[0]).to(latents)
        velocity = torch.zeros_like(x)
        for (start, stop), ramp in zip(windows, ramps, strict=True):
            first, last = start // decoder.compression, stop // decoder.compression
            mask = frame_mask[:, start:stop] if frame_mask is not None else None
            window_prior = prior[:, start:stop] if prior is not None else None
            part = decoder.velocity(
                x[:, start:stop], batch_timestep, latents[..., first:last], mask, window_prior
            )
            velocity[:, start:stop] += part * ramp[None, :, None]
        velocity = velocity / weights[None, :, None]
        x = scheduler.step(velocity, timestep, x).prev_sample
    return x


def decoding_windows(frames: int, window: int, compression: int) -> list[tuple[int, int]]:
    """`(start, stop)` frame ranges of at most `window` frames covering `[0, frames)`,
    overlapping by about half a window, with starts on multiples of `compression`."""
    window = max(compression, window // compression * compression)
    if frames <= window:
        return [(0, frames)]
    hop = max(compression, window // 2 // compression * compression)
    starts = list(range(0, frames - window, hop))
    starts.append(frames - window)
    return [(start, start + window) for start in starts]


def _triangle(length: int, device: torch.device) -> torch.Tensor:
    """Weights `[length]` rising from the edges to 1 in the middle (never 0)."""
    position = torch.arange(length, device=device, dtype=torch.float32)
    distance = torch.minimum(position + 1, length - position)
    return distance / distance.max()
