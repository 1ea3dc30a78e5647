"""Quality control of canonical clips: NaN frames, velocity spikes, broken bones, sinking bodies.

Each check returns the reason a clip must be dropped (one line, with the numbers that failed) or
None. Thresholds are generous on purpose: they catch capture and conversion failures (teleporting
markers, wrong units, a skeleton that falls apart), not unusual but real movement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vermo_cli.motion.skeleton import (
    HUMAN_BONE_RANGES,
    JOINT_INDEX,
    JOINT_NAMES,
    NUM_JOINTS,
    PARENTS,
)

MAX_JOINT_SPEED: float = 20.0  # m/s; fast kicks and punches stay below about 14 m/s
MAX_BONE_VARIATION: float = 0.3  # (max - min) / median length of one bone over a clip
MIN_BONE_VARIATION_METRES: float = 0.03  # ignore variation below this on short (finger) bones
MAX_SINK_METRES: float = 0.25  # lowest frame below the body's usual lowest point


@dataclass(frozen=True)
class QcThresholds:
    """The limits QC applies; defaults suit human motion capture at 30 fps."""

    max_joint_speed: float = MAX_JOINT_SPEED
    max_bone_variation: float = MAX_BONE_VARIATION
    max_sink: float = MAX_SINK_METRES


def finite_frame_runs(joints: np.ndarray) -> list[tuple[int, int]]:
    """Half-open frame ranges `[(start, end)]` where every value of `[agents, frames, J, 3]` is
    finite; frames with any NaN or infinity separate the runs."""
    finite = np.isfinite(joints).all(axis=(0, 2, 3))
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for frame, ok in enumerate(finite):
        if ok and start is None:
            start = frame
        elif not ok and start is not None:
            runs.append((start, frame))
            start = None
    if start is not None:
        runs.append((start, len(finite)))
    return runs


def velocity_spike(
    joints: np.ndarray, joint_mask: np.ndarray, fps: float, limit: float = MAX_JOINT_SPEED
) -> str | None:
    """Reason if any valid joint of `[agents, frames, 52, 3]` moves faster than `limit` m/s."""
    if joints.shape[1] < 2:
        return None
    speed = np.linalg.norm(np.diff(joints[:, :, joint_mask], axis=1), axis=-1) * fps
    worst = np.unravel_index(np.argmax(speed), speed.shape)
    if speed[worst] <= limit:
        return None
    joint_name = np.array(JOINT_NAMES)[joint_mask][worst[2]]
    return (
        f"velocity spike: {joint_name} moves {speed[worst]:.1f} m/s at frame {worst[1] + 1} "
        f"(limit {limit:g} m/s)"
    )


def broken_bones(
    joints: np.ndarray, joint_mask: np.ndarray, max_variation: float = MAX_BONE_VARIATION
) -> str | None:
    """Reason if a bone of `[agents, frames, 52, 3]` changes length too much over the clip or a
    long bone's median length lies outside adult human ranges (wrong units, wrong map)."""
    for child in range(1, NUM_JOINTS):
        parent = PARENTS[child]
        if not (joint_mask[child] and joint_mask[parent]):
            continue
        lengths = np.linalg.norm(joints[:, :, child] - joints[:, :, parent], axis=-1)
        median = float(np.median(lengths))
        spread = float(lengths.max() - lengths.min())
        if spread > max(max_variation * median, MIN_BONE_VARIATION_METRES):
            return (
                f"broken bone: {JOINT_NAMES[parent]}-{JOINT_NAMES[child]} length varies "
                f"{lengths.min():.2f}-{lengths.max():.2f} m"
            )
    for (parent_name, child_name), (low, high) in HUMAN_BONE_RANGES.items():
        parent, child = JOINT_INDEX[parent_name], JOINT_INDEX[child_name]
        if not (joint_mask[child] and joint_mask[parent]):
            continue
        median = float(
            np.median(np.linalg.norm(joints[:, :, child] - joints[:, :, parent], axis=-1))
        )
        if not low <= median <= high:
            return (
                f"implausible bone: {parent_name}-{child_name} is {median:.2f} m "
                f"(human range {low:g}-{high:g} m; wrong units?)"
            )
    return None


def sinks_below_floor(
    joints: np.ndarray, joint_mask: np.ndarray, limit: float = MAX_SINK_METRES
) -> str | None:
    """Reason if, in canonical `[agents, frames, 52, 3]`, some frames sink more than `limit`
    metres below where the bodies' lowest joint usually is (the 5th percentile over frames)."""
    lowest = joints[:, :, joint_mask, 1].min(axis=(0, 2))
    usual = float(np.percentile(lowest, 5))
    depth = usual - float(lowest.min())
    if depth <= limit:
        return None
    sunk = int(np.sum(lowest < usual - limit))
    return (
        f"body below the floor: sinks {depth:.2f} m under its usual floor contact on {sunk} frames"
    )


def quality_problem(
    joints: np.ndarray,
    joint_mask: np.ndarray,
    fps: float,
    thresholds: QcThresholds = QcThresholds(),
) -> str | None:
    """The first reason to drop a canonical clip `[agents, frames, 52, 3]`, or None if it passes."""
    return (
        velocity_spike(joints, joint_mask, fps, thresholds.max_joint_speed)
        or broken_bones(joints, joint_mask, thresholds.max_bone_variation)
        or sinks_below_floor(joints, joint_mask, thresholds.max_sink)
    )
