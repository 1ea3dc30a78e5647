"""Given motion kept exactly: the generated part of pred and btwn is blended onto it.

The language model continues (pred) or fills in (btwn) codes, and the whole code sequence is
decoded, so the given frames come back only as their tokenizer reconstruction and the made
frames carry the same reconstruction error. Here the given frames are put back as they were,
and the made frames are shifted by the difference between the given and the decoded motion
at the seams: for btwn the shift blends linearly from the last given past frame to the first
given future frame (the standard offset blending of in-betweening), for pred the past's seam
offset is held. Joints are moved in metres in the canonical frame, per joint.

`seam_gap` measures how far a decoded motion is from the given one at those seams: with
several candidate replies (`SamplingOptions.candidates`), the one that meets the given motion
best needs the smallest shift and is kept.
"""

from __future__ import annotations

import numpy as np

from vermo_cli.motion.skeleton import NUM_BODY_JOINTS


def stitch_given_motion(
    decoded: np.ndarray,
    before: np.ndarray | None,
    after: np.ndarray | None,
    after_start: int | None = None,
) -> np.ndarray:
    """`decoded` `[agents, frames, 52, 3]` (the whole decoded motion) with `before`
    `[agents, b, 52, 3]` written over its first `b` frames and `after` `[agents, a, 52, 3]` over
    frames `after_start .. after_start + a` (the decoded motion is cut there); the frames in
    between are shifted to meet both. `after_start` defaults to `frames - a`."""
    motion = decoded.astype(np.float32, copy=True)
    if before is None and after is None:
        return motion
    first = 0 if before is None else before.shape[1]
    if after is not None:
        start = _future_start(motion, after, after_start)
        motion = motion[:, : start + after.shape[1]]
    else:
        start = motion.shape[1]
    if start < first:
        raise ValueError(f"the given future starts at frame {start}, inside the past (0-{first})")
    start_offset = before[:, -1] - motion[:, first - 1] if before is not None and first else None
    end_offset = after[:, 0] - motion[:, start] if after is not None else None
    gap = np.arange(first, start)
    if start_offset is not None and end_offset is not None:
        weights = ((gap - (first - 1)) / (start - (first - 1)))[None, :, None, None]
        motion[:, gap] += start_offset[:, None] * (1 - weights) + end_offset[:, None] * weights
    elif start_offset is not None:
        motion[:, gap] += start_offset[:, None]
    elif end_offset is not None:
        motion[:, gap] += end_offset[:, None]
    if before is not None:
        motion[:, :first] = before
    if after is not None:
        motion[:, start:] = after
    return motion


def seam_gap(
    decoded: np.ndarray,
    before: np.ndarray | None,
    after: np.ndarray | None,
    after_start: int | None = None,
) -> float:
    """Metres between `decoded` `[agents, frames, 52, 3]` and the given motion at the seams: the
    mean over people and the 22 body joints of the distance from `before`'s last frame to
    decoded frame `b - 1` plus that from `after`'s first frame to decoded frame `after_start`
    (as in `stitch_given_motion`); 0 without given motion."""
    gap = 0.0
    body = slice(0, NUM_BODY_JOINTS)
    if before is not None and before.shape[1]:
        seam = decoded[:, before.shape[1] - 1, body] - before[:, -1, body]
        gap += float(np.linalg.norm(seam, axis=-1).mean())
    if after is not None and after.shape[1]:
        seam = decoded[:, _future_start(decoded, after, after_start), body] - after[:, 0, body]
        gap += float(np.linalg.norm(seam, axis=-1).mean())
    return gap


def _future_start(decoded: np.ndarray, after: np.ndarray, after_start: int | None) -> int:
    """The decoded frame where the given future begins: `after_start`, else its last frames."""
    return decoded.shape[1] - after.shape[1] if after_start is None else after_start
