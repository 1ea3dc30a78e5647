"""Motion as the tokenizer sees it: normalised positions `[frames, 156]` and a joint mask."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vermo_cli.errors import CorpusError
from vermo_cli.motion.skeleton import HAND_JOINTS, NUM_JOINTS


@dataclass(frozen=True)
class MotionNormalizer:
    """Per-channel mean `[52, 3]` and per-joint std `[52, 3]` (one value per joint group)."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def from_stats(cls, stats: dict[str, Any] | None, what: str) -> MotionNormalizer:
        """Build from a corpus sidecar's `stats`; `CorpusError` naming `what` if absent."""
        if not stats or stats.get("mean") is None or stats.get("std_body") is None:
            raise CorpusError(
                f"{what}: no normalisation statistics (re-run `vermo prepare` to compute them)"
            )
        mean = np.asarray(stats["mean"], dtype=np.float32)
        if mean.shape != (NUM_JOINTS, 3):
            raise CorpusError(
                f"{what}: statistics are for {mean.shape[0]} joints, not {NUM_JOINTS}"
            )
        std = np.full((NUM_JOINTS, 3), float(stats["std_body"]), dtype=np.float32)
        std[HAND_JOINTS] = float(stats.get("std_hand") or stats["std_body"])
        return cls(mean=mean, std=std)

    def to_json(self) -> dict[str, Any]:
        """The form stored with a tokenizer."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_json(cls, content: dict[str, Any]) -> MotionNormalizer:
        """Inverse of `to_json`."""
        return cls(
            mean=np.asarray(content["mean"], dtype=np.float32),
            std=np.asarray(content["std"], dtype=np.float32),
        )

    def normalize(self, joints: np.ndarray, joint_mask: np.ndarray) -> np.ndarray:
        """`[..., frames, 52, 3]` metres -> `[..., frames, 156]`, invalid joints set to 0 so the
        network never sees what a source did not measure."""
        normalised = (joints - self.mean) / self.std * joint_mask[:, None]
        return normalised.reshape(*joints.shape[:-2], NUM_JOINTS * 3).astype(np.float32)

    def denormalize(self, features: np.ndarray) -> np.ndarray:
        """`[..., frames, 156]` -> `[..., frames, 52, 3]` metres."""
        joints = features.reshape(*features.shape[:-1], NUM_JOINTS, 3)
        return (joints * self.std + self.mean).astype(np.float32)
