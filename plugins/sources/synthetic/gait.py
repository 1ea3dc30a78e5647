"""Walking, running and stepping in place as periodic joint-angle curves over the gait cycle."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from vermo_plugins.sources.synthetic.rig import Channels


@dataclass(frozen=True)
class GaitStyle:
    """Shape of one gait. Angles in degrees; `cadence` in gait cycles (two steps) per second."""

    cadence: float
    stride: float
    knee_lift: float
    stance_knee: float
    arm_swing: float
    elbow: float
    lean: float


def walking_style(speed: float) -> GaitStyle:
    """A walk; `speed` 0.75 (slow) to 1.2 (fast) scales cadence and stride together."""
    return GaitStyle(
        cadence=0.9 * speed,
        stride=speed,
        knee_lift=52.0 + 10.0 * (speed - 1.0),
        stance_knee=14.0,
        arm_swing=14.0 * speed,
        elbow=8.0 * speed,
        lean=3.0 + 3.0 * (speed - 1.0),
    )


def running_style(speed: float) -> GaitStyle:
    """A run; `speed` 0.8 (jog) to 1.2 (fast run)."""
    return GaitStyle(
        cadence=1.35 * speed,
        stride=1.25 * speed,
        knee_lift=95.0 * speed,
        stance_knee=32.0,
        arm_swing=32.0 * speed,
        elbow=75.0,
        lean=10.0 * speed,
    )


def stepping_style() -> GaitStyle:
    """Short steps in place, used for turning on the spot."""
    return GaitStyle(
        cadence=1.0,
        stride=0.15,
        knee_lift=40.0,
        stance_knee=6.0,
        arm_swing=3.0,
        elbow=0.0,
        lean=2.0,
    )


def _bump(phase: np.ndarray, centre: float, width: float) -> np.ndarray:
    """Periodic Gaussian bump over the gait cycle (phase in cycles)."""
    offset = (phase - centre + 0.5) % 1.0 - 0.5
    return np.exp(-0.5 * (offset / width) ** 2)


def add_gait(channels: Channels, phase: np.ndarray, style: GaitStyle, weight: np.ndarray) -> None:
    """Add a gait to `channels` in place.

    `phase`: `[frames]` gait cycles elapsed (the left heel strikes at whole cycles; decreasing
    phase walks backwards). `weight`: `[frames]` 0-1 fades the gait in and out of standing.
    """
    cycle = {"left": phase % 1.0, "right": (phase + 0.5) % 1.0}
    for side, other in (("left", "right"), ("right", "left")):
        leg = cycle[side]
        channels[f"{side}_hip_flex"] = channels[f"{side}_hip_flex"] + weight * style.stride * (
            6.0 + 20.0 * np.cos(2.0 * np.pi * leg)
        )
        channels[f"{side}_knee_flex"] = channels[f"{side}_knee_flex"] + weight * (
            style.stance_knee * _bump(leg, 0.12, 0.06) + style.knee_lift * _bump(leg, 0.72, 0.12)
        )
        channels[f"{side}_ankle_flex"] = channels[f"{side}_ankle_flex"] + weight * (
            -6.0 * _bump(leg, 0.06, 0.04)
            + 8.0 * _bump(leg, 0.40, 0.10)
            - 18.0 * style.stride * _bump(leg, 0.62, 0.05)
            + 14.0 * _bump(leg, 0.86, 0.09)
        )
        # Each arm swings with the opposite leg.
        swing = np.cos(2.0 * np.pi * cycle[other])
        channels[f"{side}_shoulder_fwd"] = channels[f"{side}_shoulder_fwd"] + weight * (
            style.arm_swing * swing
        )
        channels[f"{side}_elbow_flex"] = channels[f"{side}_elbow_flex"] + weight * (
            style.elbow + 0.4 * style.arm_swing * (1.0 + swing)
        )
    left = np.cos(2.0 * np.pi * cycle["left"])
    channels["pelvis_twist"] = channels["pelvis_twist"] - weight * 5.0 * style.stride * left
    channels["spine_twist"] = channels["spine_twist"] + weight * 8.0 * style.stride * left
    channels["pelvis_roll"] = channels["pelvis_roll"] + weight * 2.0 * np.sin(
        2.0 * np.pi * cycle["left"]
    )
    channels["spine_flex"] = channels["spine_flex"] + weight * style.lean
