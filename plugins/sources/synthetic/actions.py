"""Single-person actions (walk, run, jump, wave, ...) as key poses and gait curves with variations.

Every action returns an `Act`: angle channels for one person facing +z at the origin, airborne
phases, tags and the manner words its captions use. Timing, amplitudes and variations are drawn
from the generator passed in, so one seed gives one clip.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from vermo_plugins.sources.synthetic.captions import speed_adverb, style_word
from vermo_plugins.sources.synthetic.gait import (
    add_gait,
    running_style,
    stepping_style,
    walking_style,
)
from vermo_plugins.sources.synthetic.rig import (
    SIDES,
    Channels,
    Flight,
    Pose,
    add_idle,
    apply_keys,
    both,
    eased_curve,
    keep_feet_flat,
    neutral_channels,
    side_pose,
)

FPS: float = 30.0
# Time stretch per speed tag: slow takes longer.
_TEMPO: dict[str, float] = {"slow": 1.35, "normal": 1.0, "fast": 0.72}
_STYLES: tuple[str, ...] = ("neutral", "happy", "tired", "energetic")


@dataclass
class Act:
    """One person's performance: `channels` `[frames]` degrees, airborne `flights`, `tags`
    (`"key:value"`) and `manner` words for the caption templates."""

    channels: Channels
    flights: list[Flight] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    manner: dict[str, str] = field(default_factory=dict)

    @property
    def frames(self) -> int:
        """Number of frames at 30 fps."""
        return len(self.channels["yaw"])


def timeline(duration: float) -> tuple[np.ndarray, Channels]:
    """Frame times `[frames]` (seconds, 30 fps) and neutral channels for `duration` seconds."""
    frames = round(duration * FPS) + 1
    return np.arange(frames) / FPS, neutral_channels(frames)


def apply_style(channels: Channels, style: str) -> None:
    """Posture of a style: tired slumps the back and head, happy and energetic stand tall."""
    slump = {"tired": 9.0, "happy": -2.0, "energetic": -1.0}.get(style, 0.0)
    channels["spine_flex"] = channels["spine_flex"] + slump
    channels["head_flex"] = channels["head_flex"] + 0.8 * slump


def _choose(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return str(options[int(rng.integers(len(options)))])


def _variation(rng: np.random.Generator) -> tuple[str, str, float]:
    """Speed tag, style tag and time stretch; tired is slower, energetic faster."""
    speed = _choose(rng, ("slow", "normal", "fast"))
    style = _choose(rng, _STYLES)
    stretch = _TEMPO[speed] * {"tired": 1.1, "energetic": 0.9}.get(style, 1.0)
    return speed, style, stretch * rng.uniform(0.92, 1.08)


def _finish(channels: Channels, times: np.ndarray, rng: np.random.Generator, style: str) -> None:
    apply_style(channels, style)
    add_idle(channels, times, rng, 1.0)


def _gait_act(rng: np.random.Generator, running: bool) -> Act:
    speed, style, _ = _variation(rng)
    direction = _choose(rng, ("forward", "forward", "backward", "left", "right", "circle"))
    if running and direction == "backward":
        direction = "forward"
    factor = {"slow": 0.8, "normal": 1.0, "fast": 1.18}[speed]
    gait = running_style(factor) if running else walking_style(factor)
    duration = rng.uniform(3.0, 7.0) if running else rng.uniform(4.0, 9.0)
    times, channels = timeline(duration)
    ramp = 0.4 if running else 0.6
    begin = rng.uniform(0.2, 0.6)
    end = duration - rng.uniform(0.2, 0.5)
    weight = eased_curve(times, [begin, begin + ramp, end - ramp, end], [0.0, 1.0, 1.0, 0.0])
    sign = -1.0 if direction == "backward" else 1.0
    phase = sign * gait.cadence * np.cumsum(weight) / FPS
    add_gait(channels, phase, gait, weight)
    if direction in ("left", "right", "circle"):
        turn_sign = {"left": 1.0, "right": -1.0}.get(direction, float(rng.choice([-1.0, 1.0])))
        rate = rng.uniform(40.0, 60.0) if direction == "circle" else rng.uniform(18.0, 30.0)
        channels["yaw"] = channels["yaw"] + turn_sign * rate * np.cumsum(weight) / FPS
    _finish(channels, times, rng, style)
    phrase = {
        "forward": "forward",
        "backward": "backwards",
        "left": "while turning left",
        "right": "while turning right",
        "circle": "in a circle",
    }[direction]
    pace = {"slow": "slow", "normal": "steady", "fast": "brisk"}[speed]
    return Act(
        channels,
        tags=[f"speed:{speed}", f"direction:{direction}", f"style:{style}"],
        manner={
            "speed": speed_adverb(speed),
            "direction": phrase,
            "pace": pace,
            "style": style_word(style),
        },
    )


def walk(rng: np.random.Generator) -> Act:
    """Walking forward, backwards, turning or in a circle, slow to brisk."""
    return _gait_act(rng, running=False)


def run(rng: np.random.Generator) -> Act:
    """Running (jog to fast run) straight, turning or in a circle."""
    return _gait_act(rng, running=True)


_STAND: Pose = both(hip_flex=0.0, knee_flex=2.0) | {"pelvis_pitch": 0.0, "spine_flex": 2.0}


def _arm_rest(side: str) -> dict[str, float]:
    return side_pose(
        side,
        shoulder_abd=8.0,
        shoulder_fwd=4.0,
        shoulder_swing=0.0,
        shoulder_twist=0.0,
        elbow_flex=12.0,
        wrist_flex=5.0,
        wrist_side=0.0,
        finger_curl=20.0,
        thumb_curl=10.0,
    )


def _arms_rest() -> dict[str, float]:
    return _arm_rest("left") | _arm_rest("right")


def jump(rng: np.random.Generator) -> Act:
    """One to three jumps in place or forward, small or high: crouch, take-off, flight, landing."""
    speed, style, stretch = _variation(rng)
    forward = bool(rng.random() < 0.5)
    high = bool(rng.random() < 0.5)
    count = int(rng.integers(1, 4))
    keys: list[tuple[float, Pose]] = [(0.0, _STAND | _arms_rest())]
    flights = []
    time = rng.uniform(0.3, 0.7)
    for _ in range(count):
        crouch = time + 0.45 * stretch
        # 0.25 s from crouch to take-off keeps the arm swing near 900 deg/s (fingertips about
        # 12 m/s), as in real jumps; faster swings fail QC's velocity check.
        takeoff = crouch + 0.25
        airtime = rng.uniform(0.45, 0.55) if high else rng.uniform(0.32, 0.4)
        landing = takeoff + airtime
        keys += [
            (time, _STAND | _arms_rest()),
            (
                crouch,
                both(hip_flex=60, knee_flex=75, shoulder_fwd=-25, elbow_flex=15)
                | {"pelvis_pitch": 10.0, "spine_flex": 18.0},
            ),
            (
                takeoff,
                both(hip_flex=0, knee_flex=0, shoulder_fwd=120 if high else 70, elbow_flex=10)
                | {"pelvis_pitch": 0.0, "spine_flex": 0.0},
            ),
            (
                takeoff + airtime * 0.5,
                both(hip_flex=40, knee_flex=55, shoulder_fwd=110 if high else 50),
            ),
            (landing, both(hip_flex=8, knee_flex=6, shoulder_fwd=60)),
            (
                landing + 0.18,
                both(hip_flex=45, knee_flex=60, shoulder_fwd=35, elbow_flex=25)
                | {"pelvis_pitch": 8.0, "spine_flex": 12.0},
            ),
        ]
        height = 9.81 * airtime**2 / 8.0
        flights.append(Flight(takeoff, landing, height, rng.uniform(0.4, 0.8) if forward else 0.0))
        time = landing + 0.18 + rng.uniform(0.35, 0.6) * stretch
    keys.append((time, _STAND | _arms_rest()))
    times, channels = timeline(time + rng.uniform(0.3, 0.8))
    apply_keys(channels, times, keys)
    keep_feet_flat(channels)
    # Toes point down from take-off to touch-down; the ankles otherwise keep the soles flat.
    for flight in flights:
        airborne = eased_curve(
            times,
            [flight.takeoff - 0.12, flight.takeoff, flight.landing, flight.landing + 0.1],
            [0.0, 1.0, 1.0, 0.0],
        )
        for side, _ in SIDES:
            name = f"{side}_ankle_flex"
            channels[name] = (1.0 - airborne) * channels[name] - airborne * 35.0
    _finish(channels, times, rng, style)
    count_words = {1: "once", 2: "twice", 3: "three times"}[count]
    return Act(
        channels,
        flights,
        tags=[
            f"speed:{speed}",
            f"direction:{'forward' if forward else 'in-place'}",
            f"height:{'high' if high else 'small'}",
            f"count:{count}",
            f"style:{style}",
        ],
        manner={
            "direction": "forward" if forward else "in place",
            "count": count_words,
            "height": "high" if high else "a little",
            "style": style_word(style),
        },
    )


def _wave_arm(side: str, flex: float, raised: bool) -> dict[str, float]:
    """Arm raised to the side above the shoulder, forearm up, palm forward (`raised`), or at rest.
    `flex` tilts the forearm: below 90 it leans out, above 90 in towards the head."""
    if not raised:
        return _arm_rest(side)
    return side_pose(
        side,
        shoulder_abd=110.0,
        shoulder_fwd=0.0,
        shoulder_swing=20.0,
        shoulder_twist=-80.0,
        elbow_flex=flex,
        wrist_flex=-5.0,
        wrist_side=(flex - 90.0) * 0.3,
        finger_curl=4.0,
        thumb_curl=0.0,
        collar_raise=8.0,
    )


def wave(rng: np.random.Generator) -> Act:
    """Waving: a hand (left, right or both) raised above the shoulder, the forearm swinging side
    to side three to six times, then lowered."""
    speed, style, stretch = _variation(rng)
    hand = _choose(rng, ("right", "right", "left", "both"))
    sides = ("left", "right") if hand == "both" else (hand,)
    half_period = {"slow": 0.36, "normal": 0.26, "fast": 0.18}[speed] * rng.uniform(0.9, 1.1)
    swing = rng.uniform(28.0, 38.0) if style in ("happy", "energetic") else rng.uniform(22.0, 30.0)
    swings = int(rng.integers(3, 7))
    start = rng.uniform(0.3, 0.8)
    raised = start + rng.uniform(0.5, 0.7) * stretch

    def pose(flex: float, up: bool) -> dict[str, float]:
        arms: dict[str, float] = _arms_rest()
        for side in sides:
            arms |= _wave_arm(side, flex, up)
        return arms | {
            "head_turn": 0.0,
            "head_tilt": 6.0 * float(up) * (1 if hand == "left" else -1),
        }

    keys: list[tuple[float, Pose]] = [(0.0, pose(12.0, False)), (start, pose(12.0, False))]
    keys.append((raised, pose(90.0, True)))
    time = raised
    for index in range(2 * swings):
        time += half_period
        keys.append((time, pose(90.0 + swing * (1 if index % 2 == 0 else -1), True)))
    time += half_period * 0.7
    keys.append((time, pose(90.0, True)))
    lowered = time + rng.uniform(0.5, 0.7) * stretch
    keys.append((lowered, pose(12.0, False)))
    times, channels = timeline(lowered + rng.uniform(0.4, 1.0))
    apply_keys(channels, times, keys)
    if style in ("happy", "energetic"):
        bounce = 4.0 * (1.0 - np.cos(2.0 * np.pi * times / (4.0 * half_period)))
        inside = (times > raised) & (times < time)
        for side, _ in SIDES:
            channels[f"{side}_knee_flex"] = channels[f"{side}_knee_flex"] + bounce * inside
            channels[f"{side}_hip_flex"] = channels[f"{side}_hip_flex"] + 0.6 * bounce * inside
        keep_feet_flat(channels)
    _finish(channels, times, rng, style)
    hand_words = "both hands" if hand == "both" else f"the {hand} hand"
    return Act(
        channels,
        tags=[f"hand:{hand}", f"speed:{speed}", f"count:{swings}", f"style:{style}"],
        manner={"hand": hand_words, "speed": speed_adverb(speed), "style": style_word(style)},
    )


def bow(rng: np.random.Generator) -> Act:
    """A slight or deep bow from the hips, held briefly, then upright again."""
    speed, style, stretch = _variation(rng)
    deep = bool(rng.random() < 0.5)
    pitch = rng.uniform(40.0, 50.0) if deep else rng.uniform(18.0, 26.0)
    start = rng.uniform(0.4, 0.9)
    down = start + rng.uniform(0.7, 1.0) * stretch
    hold = down + rng.uniform(0.4, 1.2)
    up = hold + rng.uniform(0.7, 1.0) * stretch
    bent = both(hip_flex=pitch + 8.0, knee_flex=6.0, shoulder_fwd=0.3 * pitch, elbow_flex=8.0)
    keys: list[tuple[float, Pose]] = [
        (start, _STAND | _arms_rest() | {"neck_flex": 0.0}),
        (down, bent | {"pelvis_pitch": pitch, "spine_flex": 0.4 * pitch, "neck_flex": 12.0}),
        (hold, bent | {"pelvis_pitch": pitch, "spine_flex": 0.4 * pitch, "neck_flex": 12.0}),
        (up, _STAND | _arms_rest() | {"neck_flex": 0.0}),
    ]
    times, channels = timeline(up + rng.uniform(0.4, 1.0))
    apply_keys(channels, times, keys)
    keep_feet_flat(channels)
    _finish(channels, times, rng, style)
    depth = "deeply" if deep else "slightly"
    return Act(
        channels,
        tags=[f"depth:{'deep' if deep else 'slight'}", f"speed:{speed}", f"style:{style}"],
        manner={"depth": depth, "speed": speed_adverb(speed), "style": style_word(style)},
    )


def kick(rng: np.random.Generator) -> Act:
    """One or two kicks to the front or the side with the left or right leg."""
    speed, style, stretch = _variation(rng)
    leg = _choose(rng, ("left", "right"))
    support = "right" if leg == "left" else "left"
    sideways = bool(rng.random() < 0.35)
    count = int(rng.integers(1, 3))
    guard = both(shoulder_abd=25.0, shoulder_fwd=40.0, elbow_flex=90.0, finger_curl=70.0)
    lean = (1.0 if leg == "left" else -1.0) * (-14.0 if sideways else 0.0)
    keys: list[tuple[float, Pose]] = [(0.0, _STAND | _arms_rest())]
    time = rng.uniform(0.4, 0.8)
    keys.append((time, _STAND | _arms_rest()))
    time += 0.4 * stretch
    keys.append((time, guard | side_pose(support, knee_flex=12.0, hip_flex=8.0)))
    for _ in range(count):
        chamber = side_pose(leg, hip_flex=65.0, knee_flex=95.0, hip_abd=0.0)
        if sideways:
            extend = side_pose(leg, hip_flex=25.0, hip_abd=60.0, knee_flex=8.0)
        else:
            extend = side_pose(leg, hip_flex=rng.uniform(70.0, 90.0), knee_flex=6.0, hip_abd=0.0)
        keys += [
            (time + 0.3 * stretch, chamber | {"spine_flex": -4.0, "spine_side": 0.4 * lean}),
            (time + 0.48 * stretch, extend | {"spine_flex": -10.0, "spine_side": lean}),
            (time + 0.7 * stretch, chamber | {"spine_flex": -4.0, "spine_side": 0.4 * lean}),
        ]
        time += 0.7 * stretch
    time += 0.35 * stretch
    keys.append(
        (
            time,
            side_pose(leg, hip_flex=8.0, knee_flex=12.0, hip_abd=0.0)
            | {"spine_flex": 2.0, "spine_side": 0.0},
        )
    )
    time += 0.45 * stretch
    keys.append((time, _STAND | _arms_rest()))
    times, channels = timeline(time + rng.uniform(0.4, 0.9))
    apply_keys(channels, times, keys)
    flat = {name: values.copy() for name, values in channels.items()}
    keep_feet_flat(flat)
    channels[f"{support}_ankle_flex"] = flat[f"{support}_ankle_flex"]
    lifted = np.clip(channels[f"{leg}_hip_flex"] / 40.0, 0.0, 1.0)
    channels[f"{leg}_ankle_flex"] = (1 - lifted) * flat[f"{leg}_ankle_flex"] - lifted * 25.0
    _finish(channels, times, rng, style)
    return Act(
        channels,
        tags=[
            f"leg:{leg}",
            f"direction:{'side' if sideways else 'front'}",
            f"speed:{speed}",
            f"count:{count}",
            f"style:{style}",
        ],
        manner={
            "leg": f"{leg} leg",
            "direction": "to the side" if sideways else "forward",
            "speed": speed_adverb(speed),
            "style": style_word(style),
        },
    )


def _guard(side: str) -> dict[str, float]:
    return side_pose(
        side,
        shoulder_abd=20.0,
        shoulder_fwd=50.0,
        shoulder_twist=25.0,
        elbow_flex=115.0,
        wrist_flex=0.0,
        finger_curl=85.0,
        thumb_curl=50.0,
    )


def punch(rng: np.random.Generator) -> Act:
    """Two to five straight punches from a guard with the left, right or alternating hands."""
    speed, style, stretch = _variation(rng)
    hand = _choose(rng, ("left", "right", "alternating"))
    count = int(rng.integers(2, 6))
    stance = both(knee_flex=14.0, hip_flex=10.0) | {"spine_flex": 6.0}
    guard = _guard("left") | _guard("right") | stance | {"spine_twist": 0.0}
    time = rng.uniform(0.4, 0.8)
    keys: list[tuple[float, Pose]] = [(0.0, _STAND | _arms_rest()), (time, _STAND | _arms_rest())]
    time += 0.5 * stretch
    keys.append((time, guard))
    for index in range(count):
        side = hand if hand != "alternating" else ("left", "right")[index % 2]
        extended = side_pose(
            side, shoulder_abd=8.0, shoulder_fwd=88.0, shoulder_twist=0.0, elbow_flex=5.0
        )
        twist = 18.0 if side == "right" else -18.0
        time += rng.uniform(0.15, 0.3) * stretch
        keys.append((time, guard | extended | {"spine_twist": twist}))
        time += rng.uniform(0.2, 0.3) * stretch
        keys.append((time, guard))
        time += rng.uniform(0.1, 0.4) * stretch
        keys.append((time, guard))
    time += 0.5 * stretch
    keys.append((time, _STAND | _arms_rest()))
    times, channels = timeline(time + rng.uniform(0.3, 0.8))
    apply_keys(channels, times, keys)
    keep_feet_flat(channels)
    _finish(channels, times, rng, style)
    hand_words = "both hands in turn" if hand == "alternating" else f"the {hand} hand"
    return Act(
        channels,
        tags=[f"hand:{hand}", f"count:{count}", f"speed:{speed}", f"style:{style}"],
        manner={
            "hand": hand_words,
            "count": f"{count} times",
            "speed": speed_adverb(speed),
            "style": style_word(style),
        },
    )


def clap(rng: np.random.Generator) -> Act:
    """Four to ten claps in front of the chest, then the arms go down."""
    speed, style, stretch = _variation(rng)
    count = int(rng.integers(4, 11))
    period = {"slow": 0.6, "normal": 0.42, "fast": 0.3}[speed] * rng.uniform(0.9, 1.1)
    closed = both(
        shoulder_abd=10.0,
        shoulder_fwd=55.0,
        shoulder_twist=50.0,
        elbow_flex=65.0,
        wrist_flex=0.0,
        finger_curl=5.0,
        thumb_curl=0.0,
    )
    opened = both(
        shoulder_abd=18.0,
        shoulder_fwd=55.0,
        shoulder_twist=32.0,
        elbow_flex=70.0,
        wrist_flex=0.0,
        finger_curl=8.0,
        thumb_curl=2.0,
    )
    time = rng.uniform(0.3, 0.8)
    keys: list[tuple[float, Pose]] = [(0.0, _arms_rest()), (time, _arms_rest())]
    time += 0.5 * stretch
    keys.append((time, opened))
    for _ in range(count):
        keys += [(time + 0.5 * period, closed), (time + period, opened)]
        time += period
    time += 0.5 * stretch
    keys.append((time, _arms_rest()))
    times, channels = timeline(time + rng.uniform(0.3, 0.8))
    apply_keys(channels, times, keys)
    _finish(channels, times, rng, style)
    return Act(
        channels,
        tags=[f"count:{count}", f"speed:{speed}", f"style:{style}"],
        manner={
            "count": f"{count} times",
            "speed": speed_adverb(speed),
            "style": style_word(style),
        },
    )


def turn(rng: np.random.Generator) -> Act:
    """Turning on the spot by 90, 180 or 360 degrees to the left or right with small steps."""
    speed, style, stretch = _variation(rng)
    direction = _choose(rng, ("left", "right"))
    angle = float(rng.choice([90.0, 180.0, 180.0, 360.0]))
    start = rng.uniform(0.3, 0.7)
    span = angle / rng.uniform(100.0, 140.0) * stretch + 0.5
    times, channels = timeline(start + span + rng.uniform(0.5, 1.0))
    weight = eased_curve(
        times, [start, start + 0.3, start + span - 0.3, start + span], [0.0, 1.0, 1.0, 0.0]
    )
    gait = stepping_style()
    add_gait(channels, gait.cadence / stretch * np.cumsum(weight) / FPS, gait, weight)
    sign = 1.0 if direction == "left" else -1.0
    channels["yaw"] = eased_curve(times, [start, start + span], [0.0, sign * angle])
    channels["head_turn"] = channels["head_turn"] + sign * 12.0 * weight
    _finish(channels, times, rng, style)
    phrase = {90.0: f"to the {direction}", 180.0: "around", 360.0: "in a full circle"}[angle]
    return Act(
        channels,
        tags=[f"direction:{direction}", f"angle:{int(angle)}", f"speed:{speed}", f"style:{style}"],
        manner={"direction": phrase, "speed": speed_adverb(speed), "style": style_word(style)},
    )


def sit_down(rng: np.random.Generator) -> Act:
    """Sitting down onto a chair-height seat (the seat is not part of the motion) and staying."""
    speed, style, stretch = _variation(rng)
    start = rng.uniform(0.4, 0.9)
    lean = start + 0.7 * stretch
    seated = lean + 0.7 * stretch
    settled = seated + 0.5 * stretch
    hands = both(shoulder_fwd=32.0, shoulder_abd=10.0, elbow_flex=50.0, shoulder_twist=10.0)
    keys: list[tuple[float, Pose]] = [
        (start, _STAND | _arms_rest()),
        (
            lean,
            both(hip_flex=50.0, knee_flex=50.0, shoulder_fwd=25.0, elbow_flex=20.0)
            | {"pelvis_pitch": 12.0, "spine_flex": 25.0},
        ),
        (
            seated,
            both(hip_flex=92.0, knee_flex=90.0) | hands | {"pelvis_pitch": 8.0, "spine_flex": 16.0},
        ),
        (
            settled,
            both(hip_flex=88.0, knee_flex=88.0) | hands | {"pelvis_pitch": 0.0, "spine_flex": 6.0},
        ),
    ]
    times, channels = timeline(settled + rng.uniform(0.8, 2.0))
    apply_keys(channels, times, keys)
    keep_feet_flat(channels)
    _finish(channels, times, rng, style)
    return Act(
        channels,
        tags=[f"speed:{speed}", f"style:{style}"],
        manner={"speed": speed_adverb(speed), "style": style_word(style)},
    )


def squat(rng: np.random.Generator) -> Act:
    """One to three half or deep squats with the arms reaching forward for balance."""
    speed, style, stretch = _variation(rng)
    deep = bool(rng.random() < 0.5)
    # Slow squats come in fewer repetitions so the clip stays within 10 seconds.
    count = int(rng.integers(1, 4 if stretch < 1.2 else 3))
    hip, knee = (95.0, 110.0) if deep else (60.0, 70.0)
    low = both(hip_flex=hip, knee_flex=knee, shoulder_fwd=80.0, elbow_flex=10.0, shoulder_abd=10.0)
    low |= {"pelvis_pitch": 10.0, "spine_flex": 22.0 if deep else 15.0}
    time = rng.uniform(0.4, 0.8)
    keys: list[tuple[float, Pose]] = [(0.0, _STAND | _arms_rest()), (time, _STAND | _arms_rest())]
    for _ in range(count):
        keys.append((time + 0.9 * stretch, low))
        keys.append((time + 0.9 * stretch + rng.uniform(0.1, 0.4), low))
        time += 1.8 * stretch + 0.25
        keys.append((time, _STAND | _arms_rest()))
    times, channels = timeline(time + rng.uniform(0.4, 0.9))
    apply_keys(channels, times, keys)
    keep_feet_flat(channels)
    _finish(channels, times, rng, style)
    count_words = {1: "once", 2: "twice", 3: "three times"}[count]
    return Act(
        channels,
        tags=[
            f"depth:{'deep' if deep else 'half'}",
            f"count:{count}",
            f"speed:{speed}",
            f"style:{style}",
        ],
        manner={
            "depth": "deeply" if deep else "halfway",
            "count": count_words,
            "speed": speed_adverb(speed),
            "style": style_word(style),
        },
    )


# The eleven actions built here; "dance" comes from the dance module (it shares the music code).
ACTIONS: dict[str, Callable[[np.random.Generator], Act]] = {
    "walk": walk,
    "run": run,
    "jump": jump,
    "wave": wave,
    "bow": bow,
    "kick": kick,
    "punch": punch,
    "clap": clap,
    "turn": turn,
    "sit down": sit_down,
    "squat": squat,
}
