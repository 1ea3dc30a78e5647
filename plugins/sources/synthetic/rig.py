"""Posing the procedural body: joint-angle channels to rotations, forward kinematics, floor contact.

A pose is a dict of named angle channels, each `[frames]` in degrees (anatomical conventions:
positive flexion bends a joint the way a human joint bends). `local_rotations` turns them into
SMPL-H local rotations on the rest skeleton, and `animate` runs forward kinematics and places the
body on the floor: the root height comes from the lowest heel or toe, and the root travels so that
the foot in contact with the floor does not slide.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from vermo_cli.motion.kinematics import axis_angle_to_matrix, forward_kinematics
from vermo_cli.motion.skeleton import JOINT_INDEX, NUM_JOINTS, PARENTS, REST_OFFSETS

Channels = dict[str, np.ndarray]
Pose = Mapping[str, float]

SIDES: tuple[tuple[str, float], ...] = (("left", 1.0), ("right", -1.0))
_LONG_FINGERS: tuple[str, ...] = ("index", "middle", "ring", "pinky")
# How much of the finger curl each phalanx joint takes; the pinky curls a little more.
_CURL_SHARE: dict[str, tuple[float, float, float]] = {
    "index": (0.6, 1.0, 0.7),
    "middle": (0.7, 1.0, 0.7),
    "ring": (0.8, 1.0, 0.7),
    "pinky": (0.9, 1.1, 0.8),
}

# Two virtual heel joints (children of the ankles) give the sole a back contact point; they are
# used for grounding only and dropped from the output.
_LEFT_HEEL = NUM_JOINTS
_RIGHT_HEEL = NUM_JOINTS + 1
_RIG_PARENTS: tuple[int, ...] = (*PARENTS, JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"])
_HEEL_OFFSET = np.array([0.0, -0.06, -0.05])
_CONTACTS = np.array([_LEFT_HEEL, _RIGHT_HEEL, JOINT_INDEX["left_foot"], JOINT_INDEX["right_foot"]])
# Width (metres) of the soft choice of which contact point carries the weight.
_CONTACT_SOFTNESS = 0.004

_GLOBAL_DEFAULTS: dict[str, float] = {
    "yaw": 0.0,
    "pelvis_pitch": 0.0,
    "pelvis_roll": 0.0,
    "pelvis_twist": 0.0,
    "spine_flex": 2.0,
    "spine_side": 0.0,
    "spine_twist": 0.0,
    "neck_flex": 0.0,
    "head_flex": 0.0,
    "head_turn": 0.0,
    "head_tilt": 0.0,
}
# Relaxed standing: arms hang beside the body with a slight elbow bend, fingers loosely curled.
_SIDE_DEFAULTS: dict[str, float] = {
    "collar_raise": 0.0,
    "shoulder_abd": 8.0,
    "shoulder_fwd": 4.0,
    "shoulder_swing": 0.0,
    "shoulder_twist": 0.0,
    "elbow_flex": 12.0,
    "wrist_flex": 5.0,
    "wrist_side": 0.0,
    "finger_curl": 20.0,
    "thumb_curl": 10.0,
    "hip_flex": 0.0,
    "hip_abd": 0.0,
    "hip_twist": 0.0,
    "knee_flex": 2.0,
    "ankle_flex": 0.0,
}
_ARM_BONES = ("left_elbow", "right_elbow", "left_wrist", "right_wrist")
_LEG_BONES = ("left_knee", "right_knee", "left_ankle", "right_ankle")


@dataclass(frozen=True)
class Body:
    """One person's skeleton: `offsets` `[54, 3]` metres (52 SMPL-H joints plus two heels)."""

    offsets: np.ndarray


def random_body(rng: np.random.Generator) -> Body:
    """A body scaled 0.9-1.1 from the rest skeleton, with arms and legs varied by +-3 %."""
    offsets = np.concatenate([REST_OFFSETS, [_HEEL_OFFSET, _HEEL_OFFSET]]) * rng.uniform(0.9, 1.1)
    for names, factor in (
        (_ARM_BONES, rng.uniform(0.97, 1.03)),
        (_LEG_BONES, rng.uniform(0.97, 1.03)),
    ):
        offsets[[JOINT_INDEX[name] for name in names]] *= factor
    return Body(offsets=offsets)


def neutral_channels(frames: int) -> Channels:
    """Channels `[frames]` (degrees) of a relaxed standing pose facing +z."""
    channels = {name: np.full(frames, value) for name, value in _GLOBAL_DEFAULTS.items()}
    for side, _ in SIDES:
        for name, value in _SIDE_DEFAULTS.items():
            channels[f"{side}_{name}"] = np.full(frames, value)
    return channels


def both(**values: float) -> dict[str, float]:
    """The same side channel values for the left and the right side, e.g. `both(knee_flex=30)`."""
    return side_pose("left", **values) | side_pose("right", **values)


def side_pose(side: str, **values: float) -> dict[str, float]:
    """Side channel values for one side (`"left"` or `"right"`)."""
    return {f"{side}_{name}": value for name, value in values.items()}


def eased_curve(
    times: np.ndarray, key_times: Sequence[float], values: Sequence[float]
) -> np.ndarray:
    """Pose-to-pose curve `[frames]` through `values` at `key_times` (seconds, increasing).

    Each segment is cosine-eased, so the curve's velocity is zero at every key: motion built
    from such curves has its speed minima exactly on the keys. Holds the end values outside.
    """
    key_times = np.asarray(key_times, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if len(key_times) == 1:
        return np.full(len(times), values[0])
    segment = np.clip(np.searchsorted(key_times, times, side="right") - 1, 0, len(key_times) - 2)
    span = np.maximum(key_times[segment + 1] - key_times[segment], 1e-9)
    progress = np.clip((times - key_times[segment]) / span, 0.0, 1.0)
    ease = 0.5 - 0.5 * np.cos(np.pi * progress)
    return values[segment] + (values[segment + 1] - values[segment]) * ease


def apply_keys(channels: Channels, times: np.ndarray, keys: Sequence[tuple[float, Pose]]) -> None:
    """Replace every channel named in `keys` by an eased curve through the key poses.

    `keys`: `(time in seconds, pose)` in time order. A key that leaves a channel out holds its
    previous value; before its first mention a channel holds its value at frame 0.
    """
    names = set().union(*(pose.keys() for _, pose in keys))
    key_times = [time for time, _ in keys]
    for name in names:
        value = float(channels[name][0])
        values = []
        for _, pose in keys:
            value = pose.get(name, value)
            values.append(value)
        channels[name] = eased_curve(times, key_times, values)


def keep_feet_flat(channels: Channels) -> None:
    """Set the ankles so the soles stay parallel to the floor (for stance without rolling feet).

    The sole's pitch is the sum of pelvis pitch, hip, knee and ankle angles along the leg.
    """
    for side, _ in SIDES:
        channels[f"{side}_ankle_flex"] = (
            channels["pelvis_pitch"] - channels[f"{side}_hip_flex"] + channels[f"{side}_knee_flex"]
        )


def add_idle(
    channels: Channels, times: np.ndarray, rng: np.random.Generator, amount: float
) -> None:
    """Add breathing, small sway, head drift and mild finger curling (`amount` 0-1 scales it)."""

    def wobble(frequency: float, amplitude: float) -> np.ndarray:
        phase = rng.uniform(0.0, 2.0 * np.pi)
        return (
            amount
            * amplitude
            * np.sin(2.0 * np.pi * frequency * rng.uniform(0.8, 1.2) * times + phase)
        )

    channels["spine_flex"] = channels["spine_flex"] + wobble(0.25, 1.5)
    channels["spine_side"] = channels["spine_side"] + wobble(0.17, 1.0)
    channels["head_turn"] = channels["head_turn"] + wobble(0.13, 4.0)
    channels["head_flex"] = channels["head_flex"] + wobble(0.21, 2.0)
    for side, _ in SIDES:
        channels[f"{side}_finger_curl"] = channels[f"{side}_finger_curl"] + wobble(0.3, 6.0)
        channels[f"{side}_thumb_curl"] = channels[f"{side}_thumb_curl"] + wobble(0.27, 4.0)
        channels[f"{side}_shoulder_fwd"] = channels[f"{side}_shoulder_fwd"] + wobble(0.23, 1.5)


def _turn(axis: Sequence[float], degrees: np.ndarray) -> np.ndarray:
    """Rotations `[frames, 3, 3]` about a fixed axis `[3]` (unit) by `degrees` `[frames]`."""
    return axis_angle_to_matrix(np.radians(degrees)[:, None] * np.asarray(axis, dtype=np.float64))


_X, _Y, _Z = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)


def local_rotations(channels: Channels) -> np.ndarray:
    """Local rotations `[frames, 54, 3, 3]` of the rig's joints from angle channels (degrees).

    The rest skeleton is a T-pose facing +z with palms down, so shoulder abduction is measured
    from the arm hanging down (0) to horizontal (90) to overhead (180); forward flexion turns the
    arm about the across-body axis (for a lowered arm: forwards), swing turns it about the
    vertical (for a raised arm: forwards); elbow flexion bends the forearm towards the front of
    the upper arm; positive shoulder twist is internal rotation.
    """
    frames = len(channels["yaw"])
    rotations = np.broadcast_to(np.eye(3), (frames, NUM_JOINTS + 2, 3, 3)).copy()

    def set_joint(name: str, rotation: np.ndarray) -> None:
        rotations[:, JOINT_INDEX[name]] = rotation

    set_joint(
        "pelvis",
        _turn(_Y, channels["yaw"])
        @ _turn(_X, channels["pelvis_pitch"])
        @ _turn(_Z, -channels["pelvis_roll"])
        @ _turn(_Y, channels["pelvis_twist"]),
    )
    spine = (
        _turn(_X, channels["spine_flex"] / 3.0)
        @ _turn(_Z, -channels["spine_side"] / 3.0)
        @ _turn(_Y, channels["spine_twist"] / 3.0)
    )
    for name in ("spine1", "spine2", "spine3"):
        set_joint(name, spine)
    set_joint("neck", _turn(_X, channels["neck_flex"]))
    set_joint(
        "head",
        _turn(_X, channels["head_flex"])
        @ _turn(_Y, channels["head_turn"])
        @ _turn(_Z, -channels["head_tilt"]),
    )
    for side, sign in SIDES:

        def angle(name: str, side: str = side) -> np.ndarray:
            return channels[f"{side}_{name}"]

        set_joint(f"{side}_collar", _turn(_Z, sign * angle("collar_raise")))
        set_joint(
            f"{side}_shoulder",
            _turn(_Y, -sign * angle("shoulder_swing"))
            @ _turn(_X, -angle("shoulder_fwd"))
            @ _turn(_Z, -sign * (90.0 - angle("shoulder_abd")))
            @ _turn(_X, angle("shoulder_twist")),
        )
        set_joint(f"{side}_elbow", _turn(_Y, -sign * angle("elbow_flex")))
        set_joint(
            f"{side}_wrist",
            _turn(_Z, -sign * angle("wrist_flex")) @ _turn(_Y, -sign * angle("wrist_side")),
        )
        for finger in _LONG_FINGERS:
            for segment, share in enumerate(_CURL_SHARE[finger], start=1):
                set_joint(
                    f"{side}_{finger}{segment}", _turn(_Z, -sign * share * angle("finger_curl"))
                )
        thumb_axis = np.array([1.0, 0.0, -sign]) / np.sqrt(2.0)
        for segment in (1, 2, 3):
            set_joint(f"{side}_thumb{segment}", _turn(thumb_axis, angle("thumb_curl")))
        set_joint(
            f"{side}_hip",
            _turn(_X, -angle("hip_flex"))
            @ _turn(_Z, sign * angle("hip_abd"))
            @ _turn(_Y, sign * angle("hip_twist")),
        )
        set_joint(f"{side}_knee", _turn(_X, angle("knee_flex")))
        set_joint(f"{side}_ankle", _turn(_X, -angle("ankle_flex")))
    return rotations


@dataclass(frozen=True)
class Flight:
    """An airborne phase: take-off and landing in seconds, apex height above the straight line
    between take-off and landing heights (metres), and forward travel in the facing direction."""

    takeoff: float
    landing: float
    height: float
    distance: float = 0.0


def animate(
    body: Body,
    channels: Channels,
    fps: float,
    start: tuple[float, float] = (0.0, 0.0),
    flights: Sequence[Flight] = (),
) -> np.ndarray:
    """Joint positions `[frames, 52, 3]` (metres, y up) of `body` posed by `channels`.

    The root height keeps the lowest heel or toe on the floor (y = 0) except during `flights`,
    which follow a parabola. On the ground the root moves so that the contact point carrying the
    weight keeps still (no foot sliding); `start` is the root's x/z position on frame 0.
    """
    rotations = local_rotations(channels)
    frames = rotations.shape[0]
    relative = forward_kinematics(body.offsets, _RIG_PARENTS, rotations, np.zeros((frames, 3)))
    contacts = relative[:, _CONTACTS]
    heights = contacts[..., 1]
    root_height = -heights.min(axis=1)
    weights = np.exp(-(heights - heights.min(axis=1, keepdims=True)) / _CONTACT_SOFTNESS)
    weights /= weights.sum(axis=1, keepdims=True)
    step_weights = 0.5 * (weights[1:] + weights[:-1])
    contact_steps = np.diff(contacts[..., [0, 2]], axis=0)
    root_steps = -(step_weights[..., None] * contact_steps).sum(axis=1)
    times = np.arange(frames) / fps
    for flight in flights:
        first = min(int(np.ceil(flight.takeoff * fps)), frames - 1)
        last = min(int(np.floor(flight.landing * fps)), frames - 1)
        if last <= first:
            continue
        progress = (times[first : last + 1] - flight.takeoff) / (flight.landing - flight.takeoff)
        ballistic = (
            (1.0 - progress) * root_height[first]
            + progress * root_height[last]
            + 4.0 * flight.height * progress * (1.0 - progress)
        )
        # Never lower than standing: the feet must not dip below the floor in the air.
        root_height[first : last + 1] = np.maximum(ballistic, root_height[first : last + 1])
        yaw = np.radians(channels["yaw"][first:last])
        heading = np.stack([np.sin(yaw), np.cos(yaw)], axis=-1)
        root_steps[first:last] = heading * flight.distance / (last - first)
    root_xz = np.concatenate([np.zeros((1, 2)), np.cumsum(root_steps, axis=0)]) + np.asarray(start)
    root = np.stack([root_xz[:, 0], root_height, root_xz[:, 1]], axis=-1)
    return (relative + root[:, None, :])[:, :NUM_JOINTS]
