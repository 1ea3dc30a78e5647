"""Cutting long takes into clips of at most 12 seconds."""

from __future__ import annotations

import math

from vermo_cli.motion.resample import CANONICAL_FPS

MAX_CLIP_SECONDS: float = 12.0


def window_bounds(
    frames: int, max_frames: int = int(MAX_CLIP_SECONDS * CANONICAL_FPS)
) -> list[tuple[int, int]]:
    """Split `frames` into the fewest equal windows of at most `max_frames` each.

    Returns `[(start, end), ...]` half-open frame ranges that cover the take without overlap.
    Equal windows avoid a short leftover clip at the end of every take.
    """
    if frames <= 0:
        return []
    if max_frames <= 0:
        raise ValueError("max_frames must be positive")
    count = math.ceil(frames / max_frames)
    edges = [round(i * frames / count) for i in range(count + 1)]
    return [(edges[i], edges[i + 1]) for i in range(count)]
