"""Resampling motion from any frame rate to the canonical 30 fps."""

from __future__ import annotations

import numpy as np

CANONICAL_FPS: float = 30.0


def resampled_frame_count(frames: int, source_fps: float, target_fps: float) -> int:
    """Frames after resampling: the last output frame never lies past the last input frame."""
    if frames <= 0:
        return 0
    duration = (frames - 1) / source_fps
    return int(np.floor(duration * target_fps + 1e-6)) + 1


def resample_motion(
    joints: np.ndarray, source_fps: float, target_fps: float = CANONICAL_FPS
) -> np.ndarray:
    """Resample `[..., frames, J, 3]` positions from `source_fps` to `target_fps` by linear
    interpolation in time; the frame axis is the third from the end. Output frame k lies at
    k / target_fps seconds, so a take keeps its duration to within one output frame.
    """
    if source_fps <= 0 or target_fps <= 0:
        raise ValueError(f"frame rates must be positive, got {source_fps} -> {target_fps}")
    frames = joints.shape[-3]
    if abs(source_fps - target_fps) < 1e-9 or frames < 2:
        return np.asarray(joints, dtype=np.float32).copy()
    count = resampled_frame_count(frames, source_fps, target_fps)
    position = np.arange(count) * (source_fps / target_fps)
    lower = np.clip(np.floor(position).astype(np.int64), 0, frames - 1)
    upper = np.clip(lower + 1, 0, frames - 1)
    weight = (position - lower).reshape(-1, 1, 1).astype(np.float64)
    before = np.take(joints, lower, axis=-3).astype(np.float64)
    after = np.take(joints, upper, axis=-3).astype(np.float64)
    return ((1.0 - weight) * before + weight * after).astype(np.float32)
