"""The data side of the LAFAN1 in-betweening protocol (Harvey et al. 2020, "Robust Motion
In-betweening"): BVH takes as local quaternions, the protocol's windows, each centred and turned
to face one axis, global positions by forward kinematics, and the training windows' statistics
that normalise positions for L2P.

Facts of the protocol (docs/benchmarks/lafan1.md): 30 fps takes; training windows of 50 frames
every 20, test windows of 65 frames every 40 (a window starts at i while i + length < frames);
each window's root x/z moved so their mean over the window is 0, then the window turned about
the vertical so that the root's forward direction on frame 9 (its local +y axis, made
horizontal) points along +x; test windows use the first training take's bone offsets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vermo_cli.errors import VermoError
from vermo_cli.motion.bvh import read_bvh
from vermo_cli.motion.kinematics import (
    forward_kinematics,
    matrix_to_quaternion,
    quaternion_to_matrix,
    rotation_about_y,
    sign_continuous,
    unit_vectors,
)

PROTOCOL_FPS = 30.0
TRAIN_WINDOW, TRAIN_OFFSET = 50, 20
TEST_WINDOW, TEST_OFFSET = 65, 40
CONTEXT_FRAMES = 10
"""Frames 0-9 are given; frame 9 is the last context frame."""
TRANSITIONS = (5, 15, 30, 45)
"""Transition lengths n: frames 10 .. 9+n are made, frame 10+n is the target keyframe."""
_FORWARD_AXIS = np.array([0.0, 1.0, 0.0])
"""The root's local axis that points forward (LAFAN1's hips)."""
_END_SITE_SUFFIX = "_end_site"


class ProtocolError(VermoError):
    """The BVH folders or options cannot be scored by the protocol."""


@dataclass
class BvhTake:
    """One take as the protocol reads it (end sites dropped).

    `name`: the file name without extension. `joint_names`, `parents` (-1 for the root).
    `offsets`: `[J, 3]` bone offsets, file units (LAFAN1: centimetres). `rotations`: `[T, J, 4]`
    local quaternions (x, y, z, w), sign-continuous over the take. `root`: `[T, 3]` absolute
    root positions, file units.
    """

    name: str
    joint_names: list[str]
    parents: list[int]
    offsets: np.ndarray
    rotations: np.ndarray
    root: np.ndarray

    @property
    def frames(self) -> int:
        """Number of frames."""
        return int(self.root.shape[0])


def read_take(path: Path) -> BvhTake:
    """A BVH file as a `BvhTake`; `ProtocolError` unless it is at 30 fps."""
    motion = read_bvh(path)
    if abs(motion.fps - PROTOCOL_FPS) > 1e-3:
        raise ProtocolError(
            f"{path}: the LAFAN1 protocol is defined at 30 fps; this take is at {motion.fps:g}"
        )
    if motion.translations is not None:
        raise ProtocolError(
            f"{path}: joints other than the root have position channels; the protocol reads "
            "rotations"
        )
    keep = [i for i, name in enumerate(motion.joint_names) if not name.endswith(_END_SITE_SUFFIX)]
    new_index = {old: new for new, old in enumerate(keep)}
    parents = [new_index[motion.parents[i]] if motion.parents[i] >= 0 else -1 for i in keep]
    rotations = matrix_to_quaternion(motion.local_rotations[:, keep])
    return BvhTake(
        name=path.stem,
        joint_names=[motion.joint_names[i] for i in keep],
        parents=parents,
        offsets=np.asarray(motion.offsets[keep], dtype=np.float64),
        rotations=sign_continuous(rotations),
        root=np.asarray(motion.root_positions, dtype=np.float64),
    )


def read_takes(where: Path, option: str) -> list[BvhTake]:
    """The takes of a folder (every `*.bvh` in it), a file, or a file pattern (`DIR/*4.bvh`),
    sorted by file name, all on one skeleton; `option` names the command-line option in
    errors."""
    where = Path(where)
    if where.is_dir():
        paths = sorted(where.glob("*.bvh"))
    elif where.is_file():
        paths = [where]
    elif any(character in where.name for character in "*?["):
        paths = sorted(path for path in where.parent.glob(where.name) if path.is_file())
    else:
        raise ProtocolError(f"{option} {where}: no such folder or file")
    if not paths:
        raise ProtocolError(f"{option} {where}: no .bvh files there")
    takes = [read_take(path) for path in paths]
    for take, path in zip(takes[1:], paths[1:], strict=True):
        if take.joint_names != takes[0].joint_names or take.parents != takes[0].parents:
            raise ProtocolError(f"{path}: its skeleton differs from {paths[0].name}'s")
    return takes


@dataclass
class Windows:
    """Protocol windows, centred and turned.

    `takes`/`starts`: `[W]` the take name and first frame of each window in its file.
    `rotations`: `[W, L, J, 4]` local quaternions (the root's turned). `root`: `[W, L, 3]` root
    positions after centring and turning. `positions`: `[W, L, J, 3]` global joint positions by
    forward kinematics with `offsets` `[J, 3]` on the skeleton `parents`, `joint_names`.
    `turn`: `[W, 3, 3]` and `shift`: `[W, 3]`, the map back to the file's world frame:
    `file = window @ turn + shift` (row vectors).
    """

    takes: list[str]
    starts: np.ndarray
    rotations: np.ndarray
    root: np.ndarray
    positions: np.ndarray
    offsets: np.ndarray
    parents: list[int]
    joint_names: list[str]
    turn: np.ndarray
    shift: np.ndarray

    def subset(self, indices: np.ndarray | slice, frames: int | None = None) -> Windows:
        """The windows at `indices`, their first `frames` frames only when set."""
        keep = [self.takes[i] for i in np.arange(len(self.takes))[indices]]
        cut = slice(0, frames)
        return Windows(
            takes=keep,
            starts=self.starts[indices],
            rotations=self.rotations[indices, cut],
            root=self.root[indices, cut],
            positions=self.positions[indices, cut],
            offsets=self.offsets,
            parents=self.parents,
            joint_names=self.joint_names,
            turn=self.turn[indices],
            shift=self.shift[indices],
        )

    def to_file_frame(self, positions: np.ndarray) -> np.ndarray:
        """`[W, F, J, 3]` positions in the windows' frames -> the BVH files' world frames."""
        return positions @ self.turn[:, None] + self.shift[:, None, None]


def cut_windows(
    takes: Sequence[BvhTake], length: int, offset: int, offsets: np.ndarray | None = None
) -> Windows:
    """The protocol's windows of `length` frames every `offset` frames over `takes`; forward
    kinematics with `offsets` `[J, 3]` (default: each take's own)."""
    names: list[str] = []
    starts: list[int] = []
    rotations, roots, bones = [], [], []
    for take in takes:
        for start in range(0, take.frames - length, offset):
            names.append(take.name)
            starts.append(start)
            rotations.append(take.rotations[start : start + length])
            roots.append(take.root[start : start + length])
            bones.append(take.offsets if offsets is None else offsets)
    if not names:
        raise ProtocolError(f"no take is longer than {length} frames: no window to score")
    return _centre_and_turn(
        names, np.array(starts), np.stack(rotations), np.stack(roots), np.stack(bones), takes
    )


def _centre_and_turn(
    names: list[str],
    starts: np.ndarray,
    rotations: np.ndarray,
    roots: np.ndarray,
    bones: np.ndarray,
    takes: Sequence[BvhTake],
) -> Windows:
    """Move each window's mean root x/z to 0 and turn it so frame 9's forward is +x."""
    shift = roots.mean(axis=1) * np.array([1.0, 0.0, 1.0])  # [W, 3]
    root_matrix = quaternion_to_matrix(rotations[:, CONTEXT_FRAMES - 1, 0])  # [W, 3, 3]
    forward = root_matrix @ _FORWARD_AXIS
    forward[:, 1] = 0.0
    forward = unit_vectors(forward)
    turn = rotation_about_y(
        np.arctan2(forward[:, 2], forward[:, 0])
    )  # forward onto +x  # window = (file - shift) @ turn.T
    turned_root = np.einsum("wij,wtj->wti", turn, roots - shift[:, None])
    turned_rotations = rotations.copy()
    root_rotations = quaternion_to_matrix(rotations[:, :, 0])
    turned_rotations[:, :, 0] = sign_continuous(
        np.swapaxes(matrix_to_quaternion(turn[:, None] @ root_rotations), 0, 1)
    ).swapaxes(0, 1)
    parents = takes[0].parents
    positions = global_positions(turned_rotations, turned_root, bones, parents)
    return Windows(
        takes=names,
        starts=starts,
        rotations=turned_rotations,
        root=turned_root,
        positions=positions,
        offsets=bones[0],
        parents=parents,
        joint_names=takes[0].joint_names,
        turn=turn,
        shift=shift,
    )


def global_positions(
    rotations: np.ndarray, root: np.ndarray, offsets: np.ndarray, parents: list[int]
) -> np.ndarray:
    """Forward kinematics of windows: `rotations` `[W, F, J, 4]`, `root` `[W, F, 3]`,
    `offsets` `[J, 3]` or `[W, J, 3]` -> `[W, F, J, 3]` in the offsets' units."""
    windows, frames, joints = rotations.shape[:3]
    bones = np.broadcast_to(offsets, (windows, joints, 3))
    per_frame = np.repeat(bones[:, None], frames, axis=1).reshape(-1, joints, 3)
    positions = forward_kinematics(
        per_frame,
        parents,
        quaternion_to_matrix(rotations.reshape(-1, joints, 4)),
        root.reshape(-1, 3),
    )
    return positions.reshape(windows, frames, joints, 3)


@dataclass(frozen=True)
class PositionStatistics:
    """Mean and standard deviation `[J * 3]` of each global coordinate over the training
    windows' frames (file units), which L2P divides by."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def of(cls, windows: Windows) -> PositionStatistics:
        """The statistics of `windows` (the protocol uses the training windows)."""
        flat = windows.positions.reshape(-1, windows.positions.shape[2] * 3)
        return cls(mean=flat.mean(axis=0), std=flat.std(axis=0))


def l2p(predicted: np.ndarray, target: np.ndarray, statistics: PositionStatistics) -> float:
    """L2P: the L2 norm over a frame's normalised global coordinates
    `(x - mean) / std` of the difference, averaged over frames and windows.

    `predicted`, `target`: `[W, F, J, 3]` file units."""
    windows, frames = target.shape[:2]
    scale = np.maximum(statistics.std, 1e-8)
    difference = (predicted - target).reshape(windows, frames, -1) / scale
    return float(np.linalg.norm(difference, axis=-1).mean())
