"""Reading and writing BVH motion capture files as numpy arrays.

Hand-written rather than built on a PyPI package: the maintained BVH readers there (`bvh`,
`bvhio`, PyMO) walk the file joint by joint in Python objects or pandas frames, and none returns
vectorised `[frames, joints, 3, 3]` rotations while honouring a different channel order on every
joint, translation channels on non-root joints, CRLF line ends and end sites. This reader
tokenises the hierarchy, parses the MOTION block in one numpy call and converts Euler angles
with `scipy.spatial.transform.Rotation`, grouped by channel order.

Conventions: rotation channels are intrinsic rotations applied in the order the file lists them,
in degrees. A joint with position channels takes those values as its offset from its parent on
that frame (axes it has no channel for keep the OFFSET value); the root's position channels are
its absolute position. End sites become joints named `<parent>_end_site` with no channels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from vermo_cli.errors import SourceError
from vermo_cli.files import write_text_atomically
from vermo_cli.motion.kinematics import forward_kinematics

_POSITION_CHANNELS = {"Xposition": 0, "Yposition": 1, "Zposition": 2}
_ROTATION_CHANNELS = {"Xrotation": "X", "Yrotation": "Y", "Zrotation": "Z"}
_END_SITE_SUFFIX = "_end_site"


@dataclass
class BvhMotion:
    """One BVH take.

    `joint_names`, `parents` (-1 for the root, parents before children) and `channels` (the
    file's channel names per joint; `[]` for end sites) describe the hierarchy. `offsets`: `[J, 3]`
    rest offsets from the parent, file units. `fps`: frames per second. `local_rotations`:
    `[T, J, 3, 3]` rotation of each joint relative to its parent. `root_positions`: `[T, 3]` file
    units. `translations`: `[T, J, 3]` per-frame offsets, set only when a non-root joint has
    position channels (else None, and `offsets` hold on every frame).
    """

    joint_names: list[str]
    parents: list[int]
    offsets: np.ndarray
    channels: list[list[str]]
    fps: float
    local_rotations: np.ndarray
    root_positions: np.ndarray
    translations: np.ndarray | None = None

    @property
    def frames(self) -> int:
        """Number of frames."""
        return int(self.local_rotations.shape[0])

    def positions(self) -> np.ndarray:
        """Global joint positions `[T, J, 3]` in file units, by forward kinematics."""
        offsets = self.offsets if self.translations is None else self.translations
        return forward_kinematics(offsets, self.parents, self.local_rotations, self.root_positions)


@dataclass
class _Hierarchy:
    joint_names: list[str]
    parents: list[int]
    offsets: list[tuple[float, float, float]]
    channels: list[list[str]]


def read_bvh(path: Path) -> BvhMotion:
    """Parse a BVH file. Raises a one-line `SourceError` naming the file when it is missing,
    truncated, malformed, non-numeric or has no frames."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: no such BVH file")
    text = path.read_bytes().decode("utf-8", errors="replace")
    match = re.search(r"^\s*MOTION\b", text, flags=re.MULTILINE)
    if match is None:
        raise SourceError(f"{path}: no MOTION section (truncated or not a BVH file)")
    hierarchy = _parse_hierarchy(text[: match.start()].split(), path)
    frames, frame_time, values = _parse_motion_header(text[match.end() :], path)
    channel_count = sum(len(channels) for channels in hierarchy.channels)
    data = _parse_values(values, frames, channel_count, path)
    return _motion_from_channels(hierarchy, data, _frame_rate(frame_time))


def _frame_rate(frame_time: float) -> float:
    """Frames per second from a frame time in seconds. Files print the frame time with few
    digits (0.033333), so a rate within 0.05% of a whole number is taken to be that number;
    otherwise resampling would see 30.0003 fps and drop a frame."""
    rate = 1.0 / frame_time
    whole = round(rate)
    return float(whole) if whole > 0 and abs(rate - whole) <= 5e-4 * whole else rate


def _parse_hierarchy(tokens: list[str], path: Path) -> _Hierarchy:
    """Walk the HIERARCHY tokens (whitespace-split, so CRLF and tabs do not matter)."""
    hierarchy = _Hierarchy([], [], [], [])
    stack: list[int] = []
    pending_parent: int | None = None
    position = 1 if tokens[:1] == ["HIERARCHY"] else 0
    if position == 0:
        raise SourceError(f"{path}: malformed hierarchy: file does not start with HIERARCHY")

    def need(count: int, what: str) -> list[str]:
        if position + count > len(tokens):
            raise SourceError(f"{path}: malformed hierarchy: file ends inside {what}")
        return tokens[position : position + count]

    while position < len(tokens):
        token = tokens[position]
        if token in ("ROOT", "JOINT", "End") and pending_parent is not None:
            raise SourceError(f"{path}: malformed hierarchy: a joint lacks its '{{'")
        if token in ("ROOT", "JOINT"):
            if (token == "ROOT") != (not hierarchy.joint_names):
                raise SourceError(f"{path}: malformed hierarchy: unexpected {token} (one ROOT)")
            (name,) = need(2, token)[1:]
            if name in ("{", "}"):
                raise SourceError(f"{path}: malformed hierarchy: {token} without a name")
            parent = stack[-1] if stack else -1
            _add_joint(hierarchy, name, parent, path)
            pending_parent = len(hierarchy.joint_names) - 1
            position += 2
        elif token == "End":
            if need(2, "End Site")[1] != "Site" or not stack:
                raise SourceError(f"{path}: malformed hierarchy: misplaced 'End' keyword")
            parent_name = hierarchy.joint_names[stack[-1]]
            _add_joint(
                hierarchy, _unique_name(hierarchy, parent_name + _END_SITE_SUFFIX), stack[-1], path
            )
            pending_parent = len(hierarchy.joint_names) - 1
            position += 2
        elif token == "{":
            if pending_parent is None:
                raise SourceError(f"{path}: malformed hierarchy: '{{' without a joint")
            stack.append(pending_parent)
            pending_parent = None
            position += 1
        elif token == "}":
            if not stack:
                raise SourceError(f"{path}: malformed hierarchy: unbalanced '}}'")
            stack.pop()
            position += 1
        elif token == "OFFSET":
            if not stack:
                raise SourceError(f"{path}: malformed hierarchy: OFFSET outside a joint")
            hierarchy.offsets[stack[-1]] = _floats(need(4, "OFFSET")[1:], path, "OFFSET")
            position += 4
        elif token == "CHANNELS":
            if not stack:
                raise SourceError(f"{path}: malformed hierarchy: CHANNELS outside a joint")
            count_token = need(2, "CHANNELS")[1]
            if not count_token.isdigit():
                raise SourceError(f"{path}: malformed hierarchy: bad channel count '{count_token}'")
            names = need(2 + int(count_token), "CHANNELS")[2:]
            unknown = [
                n for n in names if n not in _POSITION_CHANNELS and n not in _ROTATION_CHANNELS
            ]
            if unknown:
                raise SourceError(f"{path}: malformed hierarchy: unknown channel '{unknown[0]}'")
            hierarchy.channels[stack[-1]] = names
            position += 2 + int(count_token)
        else:
            raise SourceError(f"{path}: malformed hierarchy: unexpected token '{token}'")
    if stack or pending_parent is not None or not hierarchy.joint_names:
        raise SourceError(f"{path}: malformed hierarchy: missing ROOT or unbalanced braces")
    return hierarchy


def _add_joint(hierarchy: _Hierarchy, name: str, parent: int, path: Path) -> None:
    if name in hierarchy.joint_names:
        raise SourceError(f"{path}: malformed hierarchy: joint '{name}' appears twice")
    hierarchy.joint_names.append(name)
    hierarchy.parents.append(parent)
    hierarchy.offsets.append((0.0, 0.0, 0.0))
    hierarchy.channels.append([])


def _unique_name(hierarchy: _Hierarchy, name: str) -> str:
    candidate, suffix = name, 1
    while candidate in hierarchy.joint_names:
        suffix += 1
        candidate = f"{name}{suffix}"
    return candidate


def _floats(tokens: list[str], path: Path, what: str) -> tuple[float, float, float]:
    try:
        x, y, z = (float(token) for token in tokens)
    except ValueError:
        raise SourceError(f"{path}: malformed hierarchy: non-numeric {what} {tokens}") from None
    return x, y, z


def _parse_motion_header(text: str, path: Path) -> tuple[int, float, str]:
    """Frame count, frame time (seconds) and the rest of the text (the channel values)."""
    match = re.match(r"\s*Frames:\s*(\S+)\s*Frame\s+Time:\s*(\S+)", text)
    if match is None:
        raise SourceError(f"{path}: MOTION section lacks 'Frames:' and 'Frame Time:' lines")
    try:
        frames, frame_time = int(match.group(1)), float(match.group(2))
    except ValueError:
        raise SourceError(f"{path}: non-numeric frame count or frame time in MOTION") from None
    if frames <= 0:
        raise SourceError(f"{path}: declares {frames} frames; a BVH take needs at least one")
    if not (np.isfinite(frame_time) and frame_time > 0):
        raise SourceError(f"{path}: frame time must be positive, got {match.group(2)}")
    return frames, frame_time, text[match.end() :]


def _parse_values(text: str, frames: int, channel_count: int, path: Path) -> np.ndarray:
    """The MOTION values as `[frames, channels]` float64."""
    tokens = text.split()
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError:
        bad = next(token for token in tokens if not _is_number(token))
        raise SourceError(f"{path}: non-numeric value '{bad[:20]}' in MOTION data") from None
    expected = frames * channel_count
    if values.size < expected:
        raise SourceError(
            f"{path}: truncated: {values.size} values for {frames} frames x "
            f"{channel_count} channels ({expected})"
        )
    if channel_count and values.size % channel_count:
        raise SourceError(
            f"{path}: {values.size} MOTION values are not a whole number of "
            f"{channel_count}-channel frames"
        )
    return values[:expected].reshape(frames, channel_count)


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _motion_from_channels(hierarchy: _Hierarchy, data: np.ndarray, fps: float) -> BvhMotion:
    """Turn `[T, channels]` values into rotations `[T, J, 3, 3]` and positions."""
    frames, joints = data.shape[0], len(hierarchy.joint_names)
    offsets = np.array(hierarchy.offsets, dtype=np.float64).reshape(joints, 3)
    rotations = np.broadcast_to(np.eye(3), (frames, joints, 3, 3)).copy()
    translations = np.broadcast_to(offsets, (frames, joints, 3)).copy()
    # Joints sharing a rotation order are converted in one scipy call.
    by_order: dict[str, list[tuple[int, list[int]]]] = {}
    column = 0
    for joint, channels in enumerate(hierarchy.channels):
        order = "".join(_ROTATION_CHANNELS.get(name, "") for name in channels)
        rotation_columns = [column + i for i, n in enumerate(channels) if n in _ROTATION_CHANNELS]
        for i, name in enumerate(channels):
            if name in _POSITION_CHANNELS:
                translations[:, joint, _POSITION_CHANNELS[name]] = data[:, column + i]
        if order:
            by_order.setdefault(order, []).append((joint, rotation_columns))
        column += len(channels)
    for order, members in by_order.items():
        indices = [joint for joint, _ in members]
        angles = data[:, [c for _, cols in members for c in cols]].reshape(-1, len(order))
        matrices = Rotation.from_euler(order.upper(), angles, degrees=True).as_matrix()
        rotations[:, indices] = matrices.reshape(frames, len(indices), 3, 3)
    moving = [
        joint
        for joint, channels in enumerate(hierarchy.channels)
        if hierarchy.parents[joint] >= 0 and any(n in _POSITION_CHANNELS for n in channels)
    ]
    return BvhMotion(
        joint_names=hierarchy.joint_names,
        parents=hierarchy.parents,
        offsets=offsets,
        channels=hierarchy.channels,
        fps=fps,
        local_rotations=rotations,
        root_positions=translations[:, 0].copy(),
        translations=translations if moving else None,
    )


def write_bvh(path: Path, motion: BvhMotion) -> None:
    """Write `motion` as a BVH file (atomically: a temporary file, then a rename).

    Joints with no channels and no children are written as End Sites. A joint with fewer than
    three rotation channels keeps only the part of its rotation those channels can express.
    """
    path = Path(path)
    lines = ["HIERARCHY", *_hierarchy_lines(motion, 0, 0)]
    lines += ["MOTION", f"Frames: {motion.frames}", f"Frame Time: {1.0 / motion.fps:.8f}"]
    values = _channel_values(motion)
    body = "\n".join(" ".join(f"{v:.6f}" for v in row) for row in values)
    write_text_atomically(path, "\n".join(lines) + "\n" + body + "\n")


def _hierarchy_lines(motion: BvhMotion, joint: int, depth: int) -> list[str]:
    indent = "\t" * depth
    children = [j for j, parent in enumerate(motion.parents) if parent == joint]
    x, y, z = (float(v) for v in motion.offsets[joint])
    offset_line = f"{indent}\tOFFSET {x:.6f} {y:.6f} {z:.6f}"
    if not children and not motion.channels[joint] and motion.parents[joint] >= 0:
        return [f"{indent}End Site", f"{indent}{{", offset_line, f"{indent}}}"]
    keyword = "ROOT" if motion.parents[joint] < 0 else "JOINT"
    channels = motion.channels[joint]
    lines = [f"{indent}{keyword} {motion.joint_names[joint]}", f"{indent}{{", offset_line]
    lines.append(f"{indent}\tCHANNELS {len(channels)} {' '.join(channels)}".rstrip())
    for child in children:
        lines += _hierarchy_lines(motion, child, depth + 1)
    lines.append(f"{indent}}}")
    return lines


def _channel_values(motion: BvhMotion) -> np.ndarray:
    """`[T, channels]` values in the file's channel order (degrees, file units)."""
    translations = (
        motion.translations
        if motion.translations is not None
        else np.broadcast_to(motion.offsets, (motion.frames, len(motion.joint_names), 3))
    )
    columns: list[np.ndarray] = []
    for joint, channels in enumerate(motion.channels):
        position = motion.root_positions if motion.parents[joint] < 0 else translations[:, joint]
        order = "".join(_ROTATION_CHANNELS.get(name, "") for name in channels)
        # scipy needs three axes; complete a partial order with the missing axes, whose angles
        # are zero for any rotation the channels themselves produced.
        full_order = order + "".join(axis for axis in "XYZ" if axis not in order)
        rotation = Rotation.from_matrix(motion.local_rotations[:, joint])
        angles = rotation.as_euler(full_order, degrees=True)
        rotation_index = 0
        for name in channels:
            if name in _POSITION_CHANNELS:
                columns.append(position[:, _POSITION_CHANNELS[name]])
            else:
                columns.append(angles[:, rotation_index])
                rotation_index += 1
    if not columns:
        return np.zeros((motion.frames, 0))
    return np.stack(columns, axis=1)
