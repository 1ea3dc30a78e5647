"""Normalisation statistics: mean per channel, one shared std per joint group ("avg-std").

Positions are `[frames, 52, 3]` = 156 channels per agent. The mean is kept per channel; the std of a
group (22 body joints = 66 channels, 30 hand joints = 90 channels) is the average of its channels'
stds, as HumanML3D does and as the paper's "avg-std", which trained better than per-channel std or
min-max scaling. Invalid joints do not count.
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
        """Average of the per-channel stds (metres) of the given joints' channels that have
        data; None if none has."""
        joints = np.asarray(joints)[self.count[joints] > 0]
        if joints.size == 0:
            return None
        count = self.count[joints][:, None]
        variance = self.total_squares[joints] / count - self.mean()[joints] ** 2
        return max(float(np.sqrt(np.maximum(variance, 0.0)).mean()), 1e-6)

    def to_json(self) -> dict[str, object]:
        """The sidecar form: mean `[52][3]`, `std_body`, `std_hand` (null without hand data)."""
        return {
            "mean": np.round(self.mean(), 6).tolist(),
            "std_body": self.group_std(BODY_JOINTS),
            "std_hand": self.group_std(HAND_JOINTS),
            "frames": int(self.count.max()) if self.count.size else 0,
        }
