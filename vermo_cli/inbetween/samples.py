"""What the in-betweening specialist learns from: windows of BVH takes in the protocol's frame,
and per transition length n the network's input (the interpolation baseline in the made
frames) and target (the captured frames).

Frames: a window's frame 9 is the last context frame, frame 10 + n the keyframe. Every window
is turned so that frame 9's root forward points along +x (`lafan1_windows`), and the specialist
moves it so that frame 9's root is above the origin: nothing it sees depends on the made frames.
Positions are file units (LAFAN1: centimetres), divided by the per-coordinate standard
deviation of the training windows (`PositionStatistics`) before the network sees them, so that
the training loss is L2P itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from vermo_cli.evaluate.lafan1_baselines import interpolation
from vermo_cli.evaluate.lafan1_windows import CONTEXT_FRAMES, BvhTake, ProtocolError, Windows

_LATERAL = np.array([1.0, 1.0, -1.0])
"""Mirroring reflects the turned windows' lateral axis (z: forward is +x, up is +y)."""


def window_frames(transition: int) -> int:
    """Frames a sample of transition length n spans: the context, n made frames, the keyframe."""
    return CONTEXT_FRAMES + transition + 1


def split_takes(takes: Sequence[BvhTake], fraction: float) -> tuple[list[BvhTake], list[BvhTake]]:
    """Each take cut in two: its first `1 - fraction` of frames for training, the rest held out
    for validation."""
    training, validation = [], []
    for take in takes:
        cut = round(take.frames * (1.0 - fraction))
        training.append(_frames_of(take, slice(0, cut)))
        validation.append(_frames_of(take, slice(cut, None)))
    return training, validation


def _frames_of(take: BvhTake, frames: slice) -> BvhTake:
    return BvhTake(
        name=take.name,
        joint_names=take.joint_names,
        parents=take.parents,
        offsets=take.offsets,
        rotations=take.rotations[frames],
        root=take.root[frames],
    )


def mirror_joints(joint_names: Sequence[str]) -> np.ndarray:
    """For each joint, the index of its left-right counterpart (itself on the midline), pairing
    names that differ by `Left`/`Right`; `ProtocolError` when a side has no partner."""
    index = {name: position for position, name in enumerate(joint_names)}
    partners = []
    for name in joint_names:
        other = name.replace("Left", "\0").replace("Right", "Left").replace("\0", "Right")
        if other not in index:
            raise ProtocolError(
                f"joint {name!r} has no left-right partner {other!r}; set training.mirror: false"
            )
        partners.append(index[other])
    return np.array(partners)


@dataclass
class Sample:
    """The network's view of windows for one transition length n.

    `known`: `[W, n + 11, J, 3]` positions with the made frames filled by the interpolation
    baseline, frame 9's root x/z at the origin (file units). `origin`: `[W, 1, 1, 3]`, what
    was subtracted. `truth`: `[W, n, J, 3]` the captured made frames in the same frame (None
    when not asked for)."""

    known: np.ndarray
    origin: np.ndarray
    truth: np.ndarray | None = None


def make_sample(windows: Windows, transition: int, with_truth: bool = True) -> Sample:
    """The `Sample` of windows (at least n + 11 frames each) for transition length n."""
    frames = window_frames(transition)
    if windows.positions.shape[1] < frames:
        raise ProtocolError(
            f"windows of {windows.positions.shape[1]} frames are too short for n = {transition}"
        )
    known = windows.positions[:, :frames].copy()
    made = slice(CONTEXT_FRAMES, CONTEXT_FRAMES + transition)
    truth = known[:, made].copy() if with_truth else None
    known[:, made] = interpolation(windows, transition)
    origin = known[:, CONTEXT_FRAMES - 1 : CONTEXT_FRAMES, :1].copy()
    origin[..., 1] = 0.0
    return Sample(known - origin, origin, None if truth is None else truth - origin)


def mirrored(sample: Sample, which: np.ndarray, partners: np.ndarray) -> Sample:
    """`sample` with the windows where `which` `[W]` is true reflected left to right."""

    truth = None if sample.truth is None else reflect(sample.truth, which, partners)
    return Sample(reflect(sample.known, which, partners), sample.origin, truth)


def reflect(positions: np.ndarray, which: np.ndarray, partners: np.ndarray) -> np.ndarray:
    """`positions` `[W, F, J, 3]` (frame 9's root above the origin) with the windows where
    `which` `[W]` is true reflected left to right: the lateral axis negated and each joint
    swapped with its counterpart."""
    result = positions.copy()
    result[which] = positions[which][:, :, partners] * _LATERAL
    return result


def normalised(positions: np.ndarray, scale: np.ndarray) -> torch.Tensor:
    """`[W, F, J, 3]` file units -> `[W, F, J * 3]` each coordinate divided by `scale`
    `[J * 3]`, float32: what the network sees."""
    flat = positions.reshape(*positions.shape[:2], -1) / scale
    return torch.as_tensor(flat, dtype=torch.float32)
