"""The licence-free mannequin body: smooth segments in the style of a wooden artist's mannequin,
built once per person and carried rigidly by the bones frame by frame.

Every segment is a superellipsoid (`blob`) in its own frame: the origin on a joint, z along a
bone, x toward a reference direction taken from the torso (across the hips or shoulders, or
facing forward), so the pelvis, chest, head, hands and feet keep facing the person's way. The
segments follow each person's bone lengths (medians over the motion) and their thickness one
body scale (the person's spine and leg length over vermo's rest skeleton). Metres, y up.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import trimesh

from vermo_cli.motion.skeleton import (
    HAND_JOINTS,
    JOINT_INDEX,
    PARENTS,
    REST_OFFSETS,
    bone_lengths,
)

# Bones (by their child joint) whose summed length gives a person's size relative to vermo's rest
# skeleton: the spine, neck and both legs.
SIZE_BONES = tuple(
    JOINT_INDEX[name]
    for name in (
        "spine1",
        "spine2",
        "spine3",
        "neck",
        "head",
        "left_knee",
        "left_ankle",
        "right_knee",
        "right_ankle",
    )
)
FINGER_RADIUS = {"index": 0.0095, "middle": 0.0098, "ring": 0.0092, "pinky": 0.0080}
THUMB_RADIUS = 0.011
# A fingertip reaches this fraction of the finger's previous bone beyond its last joint.
FINGERTIP_LENGTH = 0.8


@dataclass(frozen=True)
class Segment:
    """One rigid piece of the mannequin, sized for body scale 1.

    Its frame: origin on joint `anchor`; z the sum of the unit directions of the joint pairs
    `axes` (from the first joint of a pair toward the second); x toward reference `reference`
    (a name of `references`, `fallback` where that is nearly along z); y = z cross x. The blob
    has `semi_axes` (x, y, z metres) plus, along z, `semi_along` times the length of the first
    axis pair's bone; its centre sits at `centre` (metres) plus `centre_along` bone lengths along
    z. `exponent` and `taper` shape it (see `blob`); `detail` is its icosphere subdivision.
    """

    anchor: int
    axes: tuple[tuple[int, int], ...]
    reference: str
    fallback: str
    semi_axes: tuple[float, float, float]
    semi_along: float = 0.0
    centre: tuple[float, float, float] = (0.0, 0.0, 0.0)
    centre_along: float = 0.0
    exponent: float = 2.0
    taper: float = 0.0
    detail: int = 3


def references(positions: np.ndarray) -> dict[str, np.ndarray]:
    """The directions `[3]` segments turn their x axis toward, from one person's `positions`
    `[52, 3]` metres: across the hips and the shoulders (right to left), the waist (between
    them), forward (the way the torso faces), each shin (ankle to knee) and each palm (pinky to
    index knuckle, from the finger joints even when they are not drawn)."""

    def unit(vector: np.ndarray) -> np.ndarray:
        return vector / max(float(np.linalg.norm(vector)), 1e-9)

    def point(name: str) -> np.ndarray:
        return positions[JOINT_INDEX[name]]

    hips = unit(point("left_hip") - point("right_hip"))
    shoulders = unit(point("left_shoulder") - point("right_shoulder"))
    waist = unit(hips + shoulders)
    directions = {
        "hips": hips,
        "shoulders": shoulders,
        "waist": waist,
        "forward": unit(np.cross(waist, point("neck") - point("pelvis"))),
    }
    for side in ("left", "right"):
        directions[f"{side}_shin"] = point(f"{side}_knee") - point(f"{side}_ankle")
        directions[f"{side}_palm"] = point(f"{side}_index1") - point(f"{side}_pinky1")
    return directions


def _limb(
    start: str, end: str, start_radius: float, end_radius: float, overlap: float = 0.0
) -> Segment:
    """A round tapered segment from joint `start` to `end`, with radii (metres) near each end,
    reaching `overlap` (a fraction of its radius) past both joints."""
    mean = (start_radius + end_radius) / 2
    return Segment(
        anchor=JOINT_INDEX[start],
        axes=((JOINT_INDEX[start], JOINT_INDEX[end]),),
        reference="forward",
        fallback="waist",
        semi_axes=(mean, mean, overlap * mean),
        semi_along=0.5,
        centre_along=0.5,
        taper=(end_radius - start_radius) / (start_radius + end_radius),
        detail=2,
    )


def _ball(joint: str, radius: float) -> Segment:
    """A sphere of `radius` metres on `joint`."""
    index = JOINT_INDEX[joint]
    return Segment(
        anchor=index,
        axes=((PARENTS[index], index),),
        reference="forward",
        fallback="waist",
        semi_axes=(radius, radius, radius),
        detail=2,
    )


def _torso_and_head() -> list[Segment]:
    """Pelvis, belly, chest, neck and head. Their frames have x to the left and y backward."""
    index = JOINT_INDEX
    return [
        Segment(
            anchor=index["pelvis"],
            axes=((index["pelvis"], index["spine1"]),),
            reference="hips",
            fallback="forward",
            semi_axes=(0.145, 0.100, 0.115),
            centre=(0.0, 0.008, -0.02),
            exponent=2.6,
            taper=0.10,
        ),
        Segment(
            anchor=index["spine1"],
            axes=((index["spine1"], index["spine3"]),),
            reference="waist",
            fallback="forward",
            semi_axes=(0.112, 0.080, 0.0),
            semi_along=0.42,
            centre_along=0.3,
            exponent=2.3,
        ),
        Segment(
            anchor=index["spine3"],
            axes=((index["spine3"], index["neck"]),),
            reference="shoulders",
            fallback="forward",
            semi_axes=(0.150, 0.100, 0.160),
            centre=(0.0, -0.005, 0.0),
            exponent=2.5,
            taper=0.22,
        ),
        Segment(
            anchor=index["neck"],
            axes=((index["neck"], index["head"]),),
            reference="shoulders",
            fallback="forward",
            semi_axes=(0.046, 0.046, 0.02),
            semi_along=0.4,
            centre_along=0.35,
        ),
        Segment(
            anchor=index["head"],
            axes=((index["spine3"], index["neck"]), (index["neck"], index["head"])),
            reference="shoulders",
            fallback="forward",
            semi_axes=(0.074, 0.092, 0.110),
            centre=(0.0, 0.012, 0.065),
            exponent=2.1,
            taper=0.12,
        ),
    ]


def _arm_and_leg(side: str) -> list[Segment]:
    """One side's collar, arm and leg: tapered limbs with ball joints, and a foot."""
    joint = JOINT_INDEX
    return [
        _limb(f"{side}_collar", f"{side}_shoulder", 0.040, 0.048, overlap=0.3),
        _ball(f"{side}_shoulder", 0.052),
        _limb(f"{side}_shoulder", f"{side}_elbow", 0.047, 0.036),
        _ball(f"{side}_elbow", 0.039),
        _limb(f"{side}_elbow", f"{side}_wrist", 0.038, 0.027),
        _ball(f"{side}_wrist", 0.029),
        _ball(f"{side}_hip", 0.072),
        _limb(f"{side}_hip", f"{side}_knee", 0.078, 0.052),
        _ball(f"{side}_knee", 0.055),
        _limb(f"{side}_knee", f"{side}_ankle", 0.052, 0.034),
        _ball(f"{side}_ankle", 0.038),
        # x points up the shin, so the sole is on -x; the heel reaches behind the ankle.
        Segment(
            anchor=joint[f"{side}_ankle"],
            axes=((joint[f"{side}_ankle"], joint[f"{side}_foot"]),),
            reference=f"{side}_shin",
            fallback="forward",
            semi_axes=(0.034, 0.046, 0.052),
            semi_along=0.5,
            centre=(-0.014, 0.0, 0.002),
            centre_along=0.5,
            exponent=2.5,
        ),
    ]


def _mitten(side: str) -> Segment:
    """A flat hand without fingers, continuing the forearm, its palm toward the body."""
    wrist = JOINT_INDEX[f"{side}_wrist"]
    return Segment(
        anchor=wrist,
        axes=((JOINT_INDEX[f"{side}_elbow"], wrist),),
        reference="forward",
        fallback="waist",
        semi_axes=(0.045, 0.022, 0.085),
        centre=(0.0, 0.0, 0.075),
        exponent=2.4,
        detail=2,
    )


def _hand(side: str) -> list[Segment]:
    """A palm from the wrist to the knuckles, and three thin segments per finger and thumb, the
    last reaching past its finger's last joint."""
    joint = JOINT_INDEX
    wrist = joint[f"{side}_wrist"]
    palm = Segment(
        anchor=wrist,
        axes=((wrist, joint[f"{side}_middle1"]),),
        reference=f"{side}_palm",
        fallback="forward",
        semi_axes=(0.040, 0.016, 0.012),
        semi_along=0.5,
        centre_along=0.5,
        exponent=2.4,
        detail=2,
    )
    segments = [palm]
    radii = {**FINGER_RADIUS, "thumb": THUMB_RADIUS}
    for finger, radius in radii.items():
        names = [f"{side}_{finger}{number}" for number in (1, 2, 3)]
        first, second, third = (joint[name] for name in names)
        for anchor, (start, end), along in (
            (first, (first, second), 1.0),
            (second, (second, third), 1.0),
            (third, (second, third), FINGERTIP_LENGTH),
        ):
            segments.append(
                Segment(
                    anchor=anchor,
                    axes=((start, end),),
                    reference=f"{side}_palm",
                    fallback="forward",
                    semi_axes=(radius, radius, 0.6 * radius),
                    semi_along=along / 2,
                    centre_along=along / 2,
                    detail=1,
                )
            )
    return segments


def mannequin_segments(hands: bool) -> list[Segment]:
    """Every segment of the mannequin: fingers when `hands` (the motion's finger joints are
    valid), else mittens."""
    segments = _torso_and_head()
    for side in ("left", "right"):
        segments += _arm_and_leg(side)
        segments += _hand(side) if hands else [_mitten(side)]
    return segments


@cache
def _unit_sphere(subdivisions: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertices `[n, 3]` and faces `[f, 3]` of an icosphere of radius 1."""
    sphere = trimesh.creation.icosphere(subdivisions=subdivisions)
    return np.asarray(sphere.vertices), np.asarray(sphere.faces)


def blob(
    semi_axes: tuple[float, float, float], exponent: float, taper: float, subdivisions: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A smooth closed solid centred on the origin: the superellipsoid |x/a|^p + |y/b|^p +
    |z/c|^p = 1 with semi-axes (a, b, c) = `semi_axes` metres and p = `exponent` (2: an
    ellipsoid; larger: boxier), its cross-section scaled by 1 + `taper` z / c (wider toward +z
    for a positive taper). Vertices `[n, 3]`, unit normals `[n, 3]`, faces `[f, 3]`."""
    directions, faces = _unit_sphere(subdivisions)
    norm = np.sum(np.abs(directions) ** exponent, axis=1) ** (1.0 / exponent)
    vertices = directions / norm[:, None] * np.asarray(semi_axes)
    vertices[:, :2] *= 1.0 + taper * (vertices[:, 2:] / semi_axes[2])
    normals = trimesh.Trimesh(vertices, faces, process=False).vertex_normals
    return vertices, np.asarray(normals), faces


def _frames(positions: np.ndarray, segments: SegmentTable) -> np.ndarray:
    """Rotations `[segments, 3, 3]` (columns: the local x, y, z axes in world coordinates) of
    every segment for one person's `positions` `[52, 3]`."""
    pairs = positions[segments.axis_ends] - positions[segments.axis_starts]  # [s, pairs, 3]
    lengths = np.linalg.norm(pairs, axis=-1, keepdims=True)
    z = np.sum(segments.axis_weights[..., None] * pairs / np.maximum(lengths, 1e-9), axis=1)
    z = _normalised(z, np.array([0.0, 1.0, 0.0]))
    directions = references(positions)
    table = np.stack([directions[name] for name in segments.reference_names])
    x = _perpendicular(table[segments.references], z)
    backup = _perpendicular(table[segments.fallbacks], z)
    # Lean on the fallback as the reference nears the z axis, so x never flips.
    sine = np.linalg.norm(x, axis=-1, keepdims=True)
    x = _normalised(x + np.clip((0.5 - sine) / 0.3, 0.0, 1.0) * backup, np.array([1.0, 0.0, 0.0]))
    x = _normalised(_perpendicular(x, z), np.array([1.0, 0.0, 0.0]))
    return np.stack([x, np.cross(z, x), z], axis=-1)


def _normalised(vectors: np.ndarray, default: np.ndarray) -> np.ndarray:
    """`vectors` `[n, 3]` scaled to unit length; `default` where one is (nearly) zero."""
    length = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.where(length > 1e-9, vectors / np.maximum(length, 1e-9), default)


def _perpendicular(vectors: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """The parts `[n, 3]` of unit `vectors` `[n, 3]` perpendicular to unit `axes` `[n, 3]`."""
    vectors = _normalised(vectors, np.zeros(3))
    return vectors - np.sum(vectors * axes, axis=-1, keepdims=True) * axes


@dataclass(frozen=True)
class SegmentTable:
    """The segments of one mannequin as arrays for posing all of them at once: per segment its
    `anchors` `[s]` joint, axis pairs `axis_starts` / `axis_ends` `[s, pairs]` joints with
    `axis_weights` `[s, pairs]` (0 for padding), and indices into `reference_names` of its
    `references` and `fallbacks` `[s]`."""

    anchors: np.ndarray
    axis_starts: np.ndarray
    axis_ends: np.ndarray
    axis_weights: np.ndarray
    reference_names: tuple[str, ...]
    references: np.ndarray
    fallbacks: np.ndarray

    @classmethod
    def of(cls, segments: list[Segment]) -> SegmentTable:
        """The table of `segments`."""
        pairs = max(len(segment.axes) for segment in segments)
        starts = np.zeros((len(segments), pairs), dtype=np.int64)
        ends = np.zeros((len(segments), pairs), dtype=np.int64)
        weights = np.zeros((len(segments), pairs))
        for row, segment in enumerate(segments):
            for column, (start, end) in enumerate(segment.axes):
                starts[row, column], ends[row, column] = start, end
                weights[row, column] = 1.0
        names = tuple(sorted({s.reference for s in segments} | {s.fallback for s in segments}))
        return cls(
            anchors=np.array([segment.anchor for segment in segments]),
            axis_starts=starts,
            axis_ends=ends,
            axis_weights=weights,
            reference_names=names,
            references=np.array([names.index(segment.reference) for segment in segments]),
            fallbacks=np.array([names.index(segment.fallback) for segment in segments]),
        )


def body_scale(joints: np.ndarray) -> float:
    """How large a person is next to vermo's rest skeleton (about 1.75 m tall): their median
    spine, neck and leg bone lengths over the rest skeleton's, kept within 0.4 to 2.
    `joints`: `[frames, 52, 3]` metres."""
    lengths = np.median(bone_lengths(joints), axis=0)
    rest = np.linalg.norm(REST_OFFSETS, axis=-1)
    return float(np.clip(lengths[list(SIZE_BONES)].sum() / rest[list(SIZE_BONES)].sum(), 0.4, 2))


class Mannequin:
    """One person drawn as a mannequin (a `PersonSurface`): the mesh of every segment is built
    once, sized for this person; `surface(frame)` only turns and moves the segments onto the
    bones of that frame.

    `joints`: `[frames, 52, 3]` metres, y up; `joint_mask`: `[52]` bool (every body joint valid;
    fingers are drawn when all hand joints are valid).
    """

    def __init__(self, joints: np.ndarray, joint_mask: np.ndarray) -> None:
        self.joints = np.asarray(joints, dtype=np.float64)
        segments = mannequin_segments(hands=bool(np.all(joint_mask[HAND_JOINTS])))
        self.table = SegmentTable.of(segments)
        scale = body_scale(self.joints)
        first = self.table.axis_starts[:, 0]
        last = self.table.axis_ends[:, 0]
        bones = np.median(
            np.linalg.norm(self.joints[:, last] - self.joints[:, first], axis=-1), axis=0
        )
        vertices, normals, faces, owners = [], [], [], []
        count = 0
        for index, (segment, bone) in enumerate(zip(segments, bones, strict=True)):
            semi = scale * np.array(segment.semi_axes)
            semi[2] += segment.semi_along * bone
            shape, shape_normals, shape_faces = blob(
                (float(semi[0]), float(semi[1]), float(semi[2])),
                segment.exponent,
                segment.taper,
                segment.detail,
            )
            centre = scale * np.array(segment.centre)
            centre[2] += segment.centre_along * bone
            vertices.append(shape + centre)
            normals.append(shape_normals)
            faces.append(shape_faces + count)
            owners.append(np.full(len(shape), index))
            count += len(shape)
        self.local_vertices = np.concatenate(vertices)  # [vertices, 3] in segment frames
        self.local_normals = np.concatenate(normals)
        self._faces = np.concatenate(faces)
        self.owners = np.concatenate(owners)  # [vertices] the segment each vertex belongs to

    @property
    def faces(self) -> np.ndarray:
        """`[faces, 3]` vertex indices of every segment's mesh."""
        return self._faces

    def surface(self, frame: int) -> tuple[np.ndarray, np.ndarray]:
        """Vertex positions `[vertices, 3]` metres and unit normals `[vertices, 3]` on `frame`."""
        positions = self.joints[frame]
        rotations = _frames(positions, self.table)[self.owners]  # [vertices, 3, 3]
        origins = positions[self.table.anchors][self.owners]
        vertices = np.einsum("vij,vj->vi", rotations, self.local_vertices) + origins
        return vertices, np.einsum("vij,vj->vi", rotations, self.local_normals)
