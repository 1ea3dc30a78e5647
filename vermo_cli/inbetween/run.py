"""A trained in-betweening specialist (its files: `train/run_layout.py`): loading it, and its
frames for protocol windows."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file

from vermo_cli.errors import VermoError
from vermo_cli.evaluate.lafan1_windows import CONTEXT_FRAMES, Windows
from vermo_cli.inbetween.network import InbetweenTransformer
from vermo_cli.inbetween.recipe import InbetweenRecipe
from vermo_cli.inbetween.samples import (
    make_sample,
    mirror_joints,
    normalised,
    reflect,
    window_frames,
)
from vermo_cli.train.run_layout import (
    INBETWEEN_FORMAT,
    INBETWEEN_INFO,
    INBETWEEN_VERSION,
    INBETWEEN_WEIGHTS,
)

BATCH_WINDOWS = 256
"""Windows per forward pass when making frames."""

ProgressCallback = Callable[[int, int], None]
"""Called with (windows done, windows in all)."""


class InbetweenRunError(VermoError):
    """A directory is not a usable in-betweening run, or does not fit the windows given."""


def is_inbetween_run(directory: Path) -> bool:
    """Whether `directory` holds an in-betweening specialist."""
    return (Path(directory) / INBETWEEN_INFO).is_file()


@dataclass
class InbetweenRun:
    """A loaded specialist: its network, the skeleton it was trained on and the per-coordinate
    position scale `[J * 3]` (file units) its inputs are divided by."""

    directory: Path
    network: InbetweenTransformer
    joint_names: list[str]
    scale: np.ndarray
    info: dict[str, Any]
    partners: np.ndarray | None
    """Each joint's left-right counterpart when the network was trained with mirroring."""

    @classmethod
    def load(cls, directory: Path) -> InbetweenRun:
        """Read a run written by `vermo specialize btwn` with an `inbetween` recipe."""
        directory = Path(directory)
        info_path = directory / INBETWEEN_INFO
        if not info_path.is_file():
            raise InbetweenRunError(f"{directory}: not an in-betweening run (no {INBETWEEN_INFO})")
        info = json.loads(info_path.read_text())
        if info.get("format") != INBETWEEN_FORMAT or info.get("version") != INBETWEEN_VERSION:
            raise InbetweenRunError(
                f"{directory}: {INBETWEEN_INFO} is not a version-{INBETWEEN_VERSION} "
                f"{INBETWEEN_FORMAT} record; retrain it with this vermo"
            )
        weights = directory / INBETWEEN_WEIGHTS
        if not weights.is_file():
            raise InbetweenRunError(f"{directory}: {INBETWEEN_WEIGHTS} is missing")
        recipe = InbetweenRecipe.model_validate(info["recipe"])
        joint_names = list(info["joint_names"])
        network = InbetweenTransformer(len(joint_names), recipe.network, info["max_frames"])
        network.load_state_dict(load_file(str(weights)))
        network.eval()
        scale = np.asarray(info["scale"], dtype=np.float64)
        partners = mirror_joints(joint_names) if recipe.training.mirror else None
        return cls(directory, network, joint_names, scale, info, partners)

    @property
    def max_transition(self) -> int:
        """The longest transition n the network was built for."""
        return self.network.max_transition

    def transitions(
        self, windows: Windows, frames: int, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        """The made frames `[W, n, J, 3]` (the windows' frame and units) for n = `frames`."""
        if windows.joint_names != self.joint_names:
            raise InbetweenRunError(
                f"{self.directory}: trained on another skeleton than these windows' "
                f"({len(self.joint_names)} joints from {self.joint_names[0]!r}, the windows have "
                f"{len(windows.joint_names)} from {windows.joint_names[0]!r})"
            )
        if frames > self.max_transition:
            raise InbetweenRunError(
                f"{self.directory}: made for transitions of at most {self.max_transition} "
                f"frames, not {frames}"
            )
        count = len(windows.takes)
        made = np.empty((count, frames, len(self.joint_names), 3))
        for start in range(0, count, BATCH_WINDOWS):
            chunk = np.arange(start, min(start + BATCH_WINDOWS, count))
            sample = make_sample(windows.subset(chunk, window_frames(frames)), frames, False)
            corrected = self.correct(sample.known, frames)
            made[chunk] = corrected[:, CONTEXT_FRAMES : CONTEXT_FRAMES + frames] + sample.origin
            if progress:
                progress(int(chunk[-1]) + 1, count)
        return made

    def correct(self, known: np.ndarray, frames: int) -> np.ndarray:
        """`known` `[W, n + 11, J, 3]` (file units, made frames interpolated) with the
        network's corrections added to every frame. A network trained with mirroring also
        corrects the mirror image, and the two results (the second mirrored back) are
        averaged."""
        result = corrected(self.network, self.scale, known, frames)
        if self.partners is None:
            return result
        every = np.ones(len(known), dtype=bool)
        mirror = reflect(known, every, self.partners)
        reflection = corrected(self.network, self.scale, mirror, frames)
        return 0.5 * (result + reflect(reflection, every, self.partners))


def corrected(
    network: InbetweenTransformer, scale: np.ndarray, known: np.ndarray, transition: int
) -> np.ndarray:
    """`known` `[W, n + 11, J, 3]` (file units, made frames interpolated) plus the network's
    corrections, scaled back to file units by `scale` `[J * 3]` (the network in eval mode)."""
    network.eval()
    with torch.no_grad():
        corrections = network(normalised(known, scale), transition).double().numpy()
    return known + (corrections * scale).reshape(known.shape)
