"""Normalisation statistics: mean per channel, one shared std per joint group ("avg-std").

Positions are `[frames, 52, 3]` = 156 channels per agent. The mean is kept per channel; the std is
pooled over all channels of a group (22 body joints, 30 hand joints), which the paper found to
train better than per-channel std or min-max scaling. Invalid joints do not count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vermo_cli.motion.skeleton import BODY_JOINTS, HAND_JOINTS, NUM_JOINTS


@dataclass
class NormalisationStats:
    """Accumulates `[agents, frames, 52, 3]` clips and yields mean `[52, 3]` and group stds."""

    total: np.ndarray = field(default_factory=lambda: np.zeros((NUM_JOINTS, 3)))
    total_squares: np.ndarray = field(default_factory=lambda: np.zeros((NUM_JOINTS, 3)))
    count: np.ndarray = field(default_factory=lambda: np.zeros(NUM_JOINTS))

    def add(self, joints: np.ndarray, joint_mask: np.ndarray) -> None:
        """Add a clip `[agents, frames, 52, 3]` with validity mask `[52]`."""
        values = joints.reshape(-1, NUM_JOINTS, 3).astype(np.float64)
        self.total[joint_mask] += values[:, joint_mask].sum(axis=0)
        self.total_squares[joint_mask] += np.square(values[:, joint_mask]).sum(axis=0)
        self.count[joint_mask] += values.shape[0]

    def merge(self, other: NormalisationStats) -> None:
        """Fold in statistics accumulated elsewhere (another worker or shard)."""
        self.total += other.total
        self.total_squares += other.total_squares
        self.count += other.count

    def mean(self) -> np.ndarray:
        """Per-channel mean `[52, 3]` metres; zero where a joint was never valid."""
        return np.divide(
            self.total,
            self.count[:, None],
            out=np.zeros_like(self.total),
            where=self.count[:, None] > 0,
        )

    def group_std(self, joints: np.ndarray) -> float | None:
        """Pooled within-channel std (metres) over the given joint indices; None if no data."""
        count = self.count[joints]
        if count.sum() == 0:
            return None
        mean = self.mean()[joints]
        variance = self.total_squares[joints] / np.maximum(count, 1)[:, None] - mean**2
        pooled = float(np.sum(np.maximum(variance, 0.0) * count[:, None]) / (3 * count.sum()))
        return max(float(np.sqrt(pooled)), 1e-6)

    def to_json(self) -> dict[str, object]:
        """The sidecar form: mean `[52][3]`, `std_body`, `std_hand` (null without hand data)."""
        return {
            "mean": np.round(self.mean(), 6).tolist(),
            "std_body": self.group_std(BODY_JOINTS),
            "std_hand": self.group_std(HAND_JOINTS),
            "frames": int(self.count.max()) if self.count.size else 0,
        }
