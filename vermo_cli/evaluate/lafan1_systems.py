"""The token language model as a system the LAFAN1 in-betweening protocol scores (the
baselines are in `lafan1_baselines`, the in-betweening specialist in `vermo_cli.inbetween`).

Each system fills frames 10 .. 9+n of every test window from frames 0-9 and the keyframe 10+n,
and returns global joint positions `[W, n, J, 3]` in the windows' frame (file units).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vermo_cli.evaluate.lafan1_baselines import transition_weights
from vermo_cli.evaluate.lafan1_windows import CONTEXT_FRAMES, ProtocolError, Windows
from vermo_cli.generate.prompt import motion_gap_prompt
from vermo_cli.generate.session import GenerationModel, SamplingOptions
from vermo_cli.messages.tasks import get_task
from vermo_cli.motion.bvh_skeletons import SkeletonSpec, to_metres_y_up
from vermo_cli.motion.canonical import canonical_transform
from vermo_cli.motion.retarget import retarget_positions, source_positions_from_smplh

ProgressCallback = Callable[[int, int], None]
"""Called with (windows done, windows in all)."""


@dataclass
class ModelSystem:
    """A vermo model that in-betweens on the SMPL-H joint set: windows are retargeted to it
    with the skeleton's joint map, put in the model's canonical frame, and the made frames
    mapped back to the skeleton's joints by the least-squares inverse of the map.

    The model is given the last `compression * floor(10 / compression)` context frames as the
    past and the keyframe held for `compression` frames as the future (its codes cover
    `compression` frames each); it makes `ceil(n / compression)` codes, and the made frames are
    resampled in time to the n frames between frame 9 and the keyframe.
    """

    model: GenerationModel
    skeleton: SkeletonSpec
    joint_names: list[str]
    options: SamplingOptions

    @property
    def directory(self) -> Path:
        """Where the model was loaded from."""
        return self.model.directory

    def transitions(
        self, windows: Windows, frames: int, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        """The model's frames `[W, n, J, 3]` for transition length n = `frames`."""
        task = get_task("btwn")
        compression = self.model.compression
        past_frames = compression * (CONTEXT_FRAMES // compression)
        if past_frames == 0:
            raise ProtocolError(
                f"the tokenizer's codes cover {compression} frames, more than the protocol's "
                f"{CONTEXT_FRAMES} context frames"
            )
        steps = -(-frames // compression)
        key = CONTEXT_FRAMES + frames
        requests, transforms = [], []
        for window in range(len(windows.takes)):
            smplh = self._smplh(windows.positions[window])  # [L, 52, 3] metres
            past = smplh[CONTEXT_FRAMES - past_frames : CONTEXT_FRAMES]
            future = np.repeat(smplh[key : key + 1], compression, axis=0)
            rotation, origin = canonical_transform(past[None])
            past_c = (past - origin) @ rotation.T
            future_c = (future - origin) @ rotation.T
            transforms.append((rotation, origin))
            prompt = motion_gap_prompt(
                task,
                past_c[None].astype(np.float32),
                future_c[None].astype(np.float32),
                steps,
                self.model,
                self.model.tokenizer.trained_joint_mask,
            )
            requests.append((task, prompt))
        generations = self.model.generate_many(requests, self.options, progress)
        made = np.empty((len(windows.takes), frames, len(self.joint_names), 3))
        for window, (generation, (rotation, origin)) in enumerate(
            zip(generations, transforms, strict=True)
        ):
            joints = generation.samples[0].joints[0]  # [past + steps * c + c, 52, 3]
            between = joints[past_frames - 1 : past_frames + steps * compression + 1]
            retimed = _retime(between, frames)  # [n, 52, 3]
            world = retimed @ rotation + origin
            made[window] = self._skeleton_positions(world)
        return made

    def _smplh(self, positions: np.ndarray) -> np.ndarray:
        """`[F, J, 3]` file-unit positions -> `[F, 52, 3]` SMPL-H positions in metres, y up."""
        metres = to_metres_y_up(positions, self.skeleton)
        joints, _ = retarget_positions(metres, self.joint_names, self.skeleton.joints)
        return joints.astype(np.float64)

    def _skeleton_positions(self, smplh: np.ndarray) -> np.ndarray:
        """`[F, 52, 3]` metres -> `[F, J, 3]` the skeleton's joints in file units."""
        metres = source_positions_from_smplh(smplh, self.skeleton.joints, self.joint_names)
        return from_metres_y_up(metres, self.skeleton)


def _retime(between: np.ndarray, frames: int) -> np.ndarray:
    """The n made frames of a motion `[M + 2, 52, 3]` that runs from the last context frame
    (first) to the keyframe (last): sampled at the protocol's times (k + 1) / (n + 1) of the
    way, linearly between neighbouring frames."""
    source_times = np.linspace(0.0, 1.0, len(between))
    targets = transition_weights(frames)
    upper = np.clip(np.searchsorted(source_times, targets, side="right"), 1, len(between) - 1)
    lower = upper - 1
    span = source_times[upper] - source_times[lower]
    share = ((targets - source_times[lower]) / span)[:, None, None]
    return (1.0 - share) * between[lower] + share * between[upper]


def from_metres_y_up(positions: np.ndarray, skeleton: SkeletonSpec) -> np.ndarray:
    """Undo `to_metres_y_up`: metres, y up, right-handed -> the skeleton's file units and axes."""
    result = np.asarray(positions, dtype=np.float64)
    if skeleton.up_axis == "z":
        result = np.stack([result[..., 0], -result[..., 2], result[..., 1]], axis=-1)
    if skeleton.handedness == "left":
        result = result * np.array([-1.0, 1.0, 1.0])
    return result / skeleton.scale
