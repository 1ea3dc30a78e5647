"""The specialist's transformer: per frame, the (interpolated) pose and its velocity plus where
the frame lies in the transition; out, the correction of every coordinate of every frame."""

from __future__ import annotations

import torch
from torch import nn

from vermo_cli.evaluate.lafan1_windows import CONTEXT_FRAMES
from vermo_cli.inbetween.recipe import InbetweenNetwork

VELOCITY_GAIN = 5.0
"""Frame-to-frame differences are small next to positions; this scales them up."""


class InbetweenTransformer(nn.Module):
    """Bidirectional transformer over the frames of one window.

    `forward(poses, transition)`: `poses` `[B, n + 11, J * 3]` normalised positions (context,
    interpolated made frames, keyframe) -> `[B, n + 11, J * 3]` corrections in the same units;
    only the made frames' are used. The output layer starts at zero, so an untrained network
    is the interpolation baseline.
    """

    def __init__(self, joints: int, settings: InbetweenNetwork, max_frames: int) -> None:
        super().__init__()
        coordinates = joints * 3
        self.max_frames = max_frames
        self.max_transition = max_frames - CONTEXT_FRAMES - 1
        self.project = nn.Linear(2 * coordinates + 3, settings.width)
        self.frame_index = nn.Embedding(max_frames, settings.width)
        self.frames_to_key = nn.Embedding(max_frames, settings.width)
        block = nn.TransformerEncoderLayer(
            settings.width,
            settings.heads,
            settings.feedforward,
            settings.dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.blocks = nn.TransformerEncoder(block, settings.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(settings.width)
        self.head = nn.Linear(settings.width, coordinates)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, poses: torch.Tensor, transition: int) -> torch.Tensor:
        batch, frames, _ = poses.shape
        if frames != transition + CONTEXT_FRAMES + 1 or frames > self.max_frames:
            raise ValueError(
                f"{frames} frames do not fit transition {transition} "
                f"(at most {self.max_transition})"
            )
        index = torch.arange(frames, device=poses.device)
        given = ((index < CONTEXT_FRAMES) | (index == frames - 1)).to(poses.dtype)
        progress = ((index - (CONTEXT_FRAMES - 1)).to(poses.dtype) / (transition + 1)).clamp(0, 1)
        length = torch.full_like(progress, transition / self.max_transition)
        velocity = torch.diff(poses, dim=1, prepend=poses[:, :1])
        per_frame = torch.stack([given, progress, length], dim=-1).expand(batch, frames, 3)
        features = torch.cat([poses, VELOCITY_GAIN * velocity, per_frame], dim=-1)
        hidden = (
            self.project(features)
            + self.frame_index(index)
            + self.frames_to_key(frames - 1 - index)
        )
        return self.head(self.norm(self.blocks(hidden)))
