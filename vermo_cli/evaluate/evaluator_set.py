"""The evaluator models one benchmark needs, found and checked before any generation starts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vermo_cli.errors import VermoError

TEXT_MOTION_METRICS = frozenset(
    {"fid", "diversity", "multimodality", "r_precision_top1", "r_precision_top2",
     "r_precision_top3", "mm_dist"}
)  # fmt: skip
"""Metrics computed on text-motion evaluator embeddings."""
GESTURE_METRICS = frozenset({"fgd"})
"""Metrics computed on gesture-autoencoder latents."""
DEFAULT_TEXT_MOTION = {
    1: Path("runs/evaluator-text-motion"),
    2: Path("runs/evaluator-text-motion-2"),
}
"""Where `vermo eval` looks for the text-motion evaluator of one and of two people."""
DEFAULT_GESTURE = Path("runs/evaluator-gesture")
"""Where `vermo eval` looks for the gesture evaluator."""


class EvaluatorMissingError(VermoError):
    """A benchmark needs an evaluator model that has not been trained."""


@dataclass
class EvaluatorSet:
    """Lazily loaded evaluators: text-motion ones by headcount, and the gesture autoencoder."""

    text_motion_paths: dict[int, Path] = field(default_factory=dict)
    gesture_path: Path | None = None
    _loaded: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def for_metrics(
        cls,
        metrics: Sequence[str],
        headcount: int,
        text_motion: Path | None = None,
        gesture: Path | None = None,
    ) -> EvaluatorSet:
        """The evaluators `metrics` need for motions of `headcount` people (the given
        directories, else the defaults), each checked to exist and be of the right kind."""
        chosen = cls()
        if TEXT_MOTION_METRICS & set(metrics):
            path = text_motion or DEFAULT_TEXT_MOTION.get(headcount)
            chosen.text_motion_paths[headcount] = _existing(
                path, "text-motion", f"--kind text-motion --headcount {headcount}"
            )
        if GESTURE_METRICS & set(metrics):
            chosen.gesture_path = _existing(gesture or DEFAULT_GESTURE, "gesture", "--kind gesture")
        for name in chosen.describe():
            chosen._evaluator(name)
        return chosen

    def _evaluator(self, name: str) -> Any:
        from vermo_cli.evaluator_models import load_evaluator

        if name not in self._loaded:
            if name == "gesture":
                path = self.gesture_path
            else:
                path = self.text_motion_paths[int(name.rsplit("-", 1)[1])]
            self._loaded[name] = load_evaluator(path)
        return self._loaded[name]

    def embed_motion(self, motions: Sequence[np.ndarray], headcount: int) -> np.ndarray:
        """Text-motion embeddings `[n, d]` of motions `[agents, frames, 52, 3]`."""
        return self._evaluator(f"text-motion-{headcount}").embed_motion(list(motions))

    def embed_text(self, captions: Sequence[str], headcount: int) -> np.ndarray:
        """Text-motion embeddings `[n, d]` of captions."""
        return self._evaluator(f"text-motion-{headcount}").embed_text(list(captions))

    def embed_gesture(self, motions: Sequence[np.ndarray]) -> np.ndarray:
        """Gesture-autoencoder latents `[n, d]` of motions."""
        return self._evaluator("gesture").embed_gesture(list(motions))

    def describe(self) -> dict[str, dict[str, Any]]:
        """Each evaluator's path and identity, for the report."""
        described: dict[str, dict[str, Any]] = {}
        for headcount, path in self.text_motion_paths.items():
            described[f"text-motion-{headcount}"] = {"path": str(path)}
        if self.gesture_path is not None:
            described["gesture"] = {"path": str(self.gesture_path)}
        for name, entry in described.items():
            if name in self._loaded:
                entry.update(self._loaded[name].describe())
                entry["summary"] = self._loaded[name].summary
        return described


def _existing(path: Path | None, kind: str, how: str) -> Path:
    if path is None or not Path(path).is_dir():
        raise EvaluatorMissingError(
            f"no {kind} evaluator at {path}; train one with `vermo eval fit-evaluator "
            f"--data CORPUS {how} -o {path}` or pass its directory"
        )
    return Path(path)
