"""Two-person interactions (handshake, hug, push, high five, following), placed facing each other.

Each person is posed at the origin facing +z; the second person is then turned and moved so that
the contact (hands meeting, arms around the other, hands on the chest) happens where both bodies
really are, and the pair is turned and moved together to a random place on the floor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from vermo_plugins.sources.synthetic.actions import FPS, Act, timeline
from vermo_plugins.sources.synthetic.captions import speed_adverb
from vermo_plugins.sources.synthetic.gait import add_gait, walking_style
from vermo_plugins.sources.synthetic.rig import (
    Body,
    Pose,
    add_idle,
    animate,
    apply_keys,
    both,
    eased_curve,
    keep_feet_flat,
    random_body,
    side_pose,
)

from vermo_cli.motion.kinematics import rotation_about_y
from vermo_cli.motion.skeleton import JOINT_INDEX

_REST: Pose = both(
    shoulder_abd=8.0,
    shoulder_fwd=4.0,
    shoulder_swing=0.0,
    shoulder_twist=0.0,
    elbow_flex=12.0,
    wrist_flex=5.0,
    finger_curl=20.0,
    thumb_curl=10.0,
)


@dataclass
class PairTake:
    """Two people: `joints` `[2, frames, 52, 3]` metres at 30 fps, `tags` and caption `manner`."""

    joints: np.ndarray
    tags: list[str]
    manner: dict[str, str]


def _pose_person(body: Body, act: Act) -> np.ndarray:
    """Joints `[frames, 52, 3]` of one person starting at the origin facing +z."""
    return animate(body, act.channels, FPS, flights=act.flights)


def _face_partner(joints: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Turn a person posed facing +z half a turn (to face -z) and move them by `offset` `[3]`."""
    return joints @ rotation_about_y(np.pi).T + offset


def _place_pair(first: np.ndarray, second: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Stack two people `[frames, 52, 3]` and turn and move the pair to a random floor spot."""
    pair = np.stack([first, second])
    turned = pair @ rotation_about_y(rng.uniform(-np.pi, np.pi)).T
    return turned + np.array([rng.uniform(-2.0, 2.0), 0.0, rng.uniform(-2.0, 2.0)])


def _keyed(duration: float, keys: list[tuple[float, Pose]], rng: np.random.Generator) -> Act:
    times, channels = timeline(duration)
    apply_keys(channels, times, keys)
    keep_feet_flat(channels)
    add_idle(channels, times, rng, 0.7)
    return Act(channels)


def _stretch(rng: np.random.Generator) -> tuple[str, float]:
    speed = str(rng.choice(["slow", "normal", "fast"]))
    return speed, {"slow": 1.3, "normal": 1.0, "fast": 0.75}[speed] * rng.uniform(0.9, 1.1)


def handshake(rng: np.random.Generator) -> PairTake:
    """Two people facing each other reach out with their right hands, shake three to five times
    and let go; the taller one reaches lower so the hands meet at one height, and the second
    person stands where the two right hands meet."""
    speed, stretch = _stretch(rng)
    start = rng.uniform(0.3, 0.7)
    reach = start + 0.7 * stretch
    shakes = int(rng.integers(3, 6))
    duration = reach + (2 * shakes + 1) * 0.16 * stretch + 0.7 * stretch + rng.uniform(0.4, 1.0)
    idle_seed = int(rng.integers(2**31))

    def performance(body: Body, forward: float) -> np.ndarray:
        grip = side_pose(
            "right",
            shoulder_abd=10.0,
            shoulder_fwd=forward,
            shoulder_twist=20.0,
            elbow_flex=45.0,
            wrist_flex=0.0,
            finger_curl=45.0,
            thumb_curl=30.0,
        )
        keys: list[tuple[float, Pose]] = [(start, _REST), (reach, grip)]
        time = reach
        for index in range(2 * shakes):
            time += 0.16 * stretch
            lift = 8.0 if index % 2 == 0 else -4.0
            keys.append(
                (
                    time,
                    grip | side_pose("right", shoulder_fwd=forward + lift, elbow_flex=45.0 + lift),
                )
            )
        time += 0.16 * stretch
        keys += [(time, grip), (time + 0.7 * stretch, _REST)]
        return _pose_person(body, _keyed(duration, keys, np.random.default_rng(idle_seed)))

    frame = round(reach * FPS)
    hand = JOINT_INDEX["right_middle1"]
    bodies = (random_body(rng), random_body(rng))
    heights = [performance(body, 45.0)[frame, hand, 1] for body in bodies]
    # One Newton step: near 45 degrees the hand rises about 0.45 m per radian of flexion.
    middle = 0.5 * (heights[0] + heights[1])
    first, second = (
        performance(body, 45.0 + np.degrees((middle - height) / 0.45))
        for body, height in zip(bodies, heights, strict=True)
    )
    meeting = first[frame, hand] - _face_partner(second[frame, hand], np.zeros(3))
    second = _face_partner(second, meeting * np.array([1.0, 0.0, 1.0]) + [0.0, 0.0, 0.06])
    return PairTake(
        _place_pair(first, second, rng),
        [f"speed:{speed}", f"count:{shakes}"],
        {"speed": speed_adverb(speed)},
    )


def hug(rng: np.random.Generator) -> PairTake:
    """Two people standing close wrap their arms around each other, hold and let go."""
    speed, stretch = _stretch(rng)
    start = rng.uniform(0.3, 0.7)
    hold = start + 0.8 * stretch
    release = hold + rng.uniform(1.0, 2.0)
    embrace = both(
        shoulder_abd=55.0,
        shoulder_fwd=65.0,
        shoulder_twist=45.0,
        elbow_flex=95.0,
        wrist_flex=10.0,
        finger_curl=30.0,
        thumb_curl=15.0,
    )
    tight = {"spine_flex": 8.0, "neck_flex": 6.0}
    warm = bool(rng.random() < 0.5)

    def keys(turn: float) -> list[tuple[float, Pose]]:
        sway = [
            (hold + (release - hold) * f, embrace | tight | {"spine_side": 4.0 * s * float(warm)})
            for f, s in ((0.33, 1.0), (0.66, -1.0))
        ]
        return [
            (start, _REST | {"head_turn": 0.0, "spine_flex": 2.0, "neck_flex": 0.0}),
            (hold, embrace | tight | {"head_turn": turn}),
            *sway,
            (release, embrace | tight | {"head_turn": turn, "spine_side": 0.0}),
            (
                release + 0.8 * stretch,
                _REST | {"head_turn": 0.0, "spine_flex": 2.0, "neck_flex": 0.0},
            ),
        ]

    duration = release + 0.8 * stretch + rng.uniform(0.4, 1.0)
    first = _pose_person(random_body(rng), _keyed(duration, keys(30.0), rng))
    second = _pose_person(random_body(rng), _keyed(duration, keys(30.0), rng))
    second = _face_partner(second, np.array([0.0, 0.0, rng.uniform(0.42, 0.5)]))
    return PairTake(
        _place_pair(first, second, rng),
        [f"speed:{speed}", f"style:{'warm' if warm else 'brief'}"],
        {"speed": speed_adverb(speed), "style": "warmly" if warm else ""},
    )


def push(rng: np.random.Generator) -> PairTake:
    """One person pushes the other on the chest with both hands; the other stumbles back."""
    speed, stretch = _stretch(rng)
    start = rng.uniform(0.4, 0.8)
    windup = start + 0.5 * stretch
    contact = windup + 0.25 * stretch
    cocked = both(
        shoulder_abd=20.0,
        shoulder_fwd=55.0,
        shoulder_twist=20.0,
        elbow_flex=100.0,
        wrist_flex=-30.0,
        finger_curl=10.0,
    )
    shove = both(
        shoulder_abd=18.0,
        shoulder_fwd=82.0,
        shoulder_twist=15.0,
        elbow_flex=12.0,
        wrist_flex=-40.0,
        finger_curl=10.0,
    )
    pusher = [
        (start, _REST | {"spine_flex": 2.0}),
        (windup, cocked | {"spine_flex": 4.0}),
        (contact, shove | {"spine_flex": 14.0}),
        (contact + 0.5, shove | {"spine_flex": 8.0}),
        (contact + 1.2 * stretch, _REST | {"spine_flex": 2.0}),
    ]
    steps = rng.uniform(0.9, 1.3)
    duration = contact + steps + rng.uniform(1.0, 1.6)
    pusher_joints = _pose_person(random_body(rng), _keyed(duration, pusher, rng))
    flail = both(shoulder_abd=30.0, shoulder_fwd=45.0, elbow_flex=40.0, finger_curl=10.0)
    pushed_keys = [
        (contact, _REST | {"spine_flex": 2.0, "neck_flex": 0.0}),
        (contact + 0.2, flail | {"spine_flex": -12.0, "neck_flex": 12.0}),
        (contact + steps, _REST | {"spine_flex": 2.0, "neck_flex": 0.0}),
    ]
    times, channels = timeline(duration)
    apply_keys(channels, times, pushed_keys)
    weight = eased_curve(
        times,
        [contact, contact + 0.15, contact + steps - 0.3, contact + steps],
        [0.0, 1.0, 1.0, 0.0],
    )
    gait = walking_style(1.15)
    add_gait(channels, -gait.cadence * np.cumsum(weight) / FPS, gait, weight)
    add_idle(channels, times, rng, 0.7)
    pushed = _pose_person(random_body(rng), Act(channels))
    frame = round(contact * FPS)
    reach = pusher_joints[frame, JOINT_INDEX["left_wrist"], 2]
    chest = pushed[frame, JOINT_INDEX["spine3"], 2] + 0.12
    pushed = _face_partner(pushed, np.array([0.0, 0.0, reach + chest + 0.05]))
    return PairTake(
        _place_pair(pusher_joints, pushed, rng), [f"speed:{speed}"], {"speed": speed_adverb(speed)}
    )


def high_five(rng: np.random.Generator) -> PairTake:
    """Two people raise their hands (first person's right, second's left) and slap them together
    above head height."""
    speed, stretch = _stretch(rng)
    start = rng.uniform(0.3, 0.7)
    raised = start + 0.6 * stretch
    slap = raised + 0.25 * stretch

    def keys(side: str) -> list[tuple[float, Pose]]:
        cocked = side_pose(
            side,
            shoulder_abd=140.0,
            shoulder_fwd=0.0,
            shoulder_swing=30.0,
            shoulder_twist=-60.0,
            elbow_flex=70.0,
            wrist_flex=-20.0,
            finger_curl=3.0,
            thumb_curl=0.0,
        )
        hit = side_pose(
            side,
            shoulder_abd=135.0,
            shoulder_fwd=0.0,
            shoulder_swing=70.0,
            shoulder_twist=-60.0,
            elbow_flex=20.0,
            wrist_flex=-10.0,
            finger_curl=3.0,
            thumb_curl=0.0,
        )
        return [
            (start, _REST),
            (raised, cocked),
            (slap, hit),
            (slap + 0.25, hit),
            (slap + 0.9 * stretch, _REST),
        ]

    duration = slap + 0.9 * stretch + rng.uniform(0.4, 1.0)
    first = _pose_person(random_body(rng), _keyed(duration, keys("right"), rng))
    second = _pose_person(random_body(rng), _keyed(duration, keys("left"), rng))
    frame = round(slap * FPS)
    meeting = first[frame, JOINT_INDEX["right_middle1"]] - _face_partner(
        second[frame, JOINT_INDEX["left_middle1"]], np.zeros(3)
    )
    second = _face_partner(second, meeting * np.array([1.0, 0.0, 1.0]) + [0.0, 0.0, 0.05])
    return PairTake(
        _place_pair(first, second, rng), [f"speed:{speed}"], {"speed": speed_adverb(speed)}
    )


def follow(rng: np.random.Generator) -> PairTake:
    """One person walks and the other walks behind, starting a moment later on the same heading."""
    speed, _ = _stretch(rng)
    factor = {"slow": 0.8, "normal": 1.0, "fast": 1.15}[speed]
    direction = str(rng.choice(["forward", "forward", "left", "right"]))
    turn_rate = {"forward": 0.0, "left": 20.0, "right": -20.0}[direction]
    duration = rng.uniform(5.0, 9.0)
    delay = rng.uniform(0.2, 0.5)
    bodies = (random_body(rng), random_body(rng))
    legs = [-body.offsets[JOINT_INDEX["left_knee"], 1] for body in bodies]
    people = []
    for lag, body, leg in zip((0.0, delay), bodies, legs, strict=True):
        times, channels = timeline(duration)
        begin, end = 0.4 + lag, duration - 0.5
        weight = eased_curve(times, [begin, begin + 0.6, end - 0.6, end], [0.0, 1.0, 1.0, 0.0])
        gait = walking_style(factor)
        # Step frequency scaled by leg length so both walk at the same speed and the gap holds.
        cadence = gait.cadence * legs[0] / leg
        add_gait(channels, cadence * np.cumsum(weight) / FPS, gait, weight)
        channels["yaw"] = channels["yaw"] + turn_rate * np.cumsum(weight) / FPS
        add_idle(channels, times, rng, 1.0)
        people.append(_pose_person(body, Act(channels)))
    gap = rng.uniform(0.8, 1.2)
    follower = people[1] + np.array([rng.uniform(-0.2, 0.2), 0.0, -gap])
    phrase = {"forward": "forward", "left": "along a left curve", "right": "along a right curve"}
    return PairTake(
        _place_pair(people[0], follower, rng),
        [f"speed:{speed}", f"direction:{direction}"],
        {"speed": speed_adverb(speed), "direction": phrase[direction]},
    )


INTERACTIONS: dict[str, Callable[[np.random.Generator], PairTake]] = {
    "handshake": handshake,
    "hug": hug,
    "push": push,
    "high five": high_five,
    "follow": follow,
}
