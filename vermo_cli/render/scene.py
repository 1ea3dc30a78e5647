"""The 3D scene of a motion: sphere-and-capsule people (or mesh bodies), a checker floor, a
shadow-casting light and a camera that frames the whole motion; renders one frame at a time
offscreen (pyrender).

Coordinates are the motion's: metres, right-handed, y up. Each person's spheres and bone tubes
are a few instanced meshes built once; a frame only rewrites their instance poses. A mesh body
(mannequin, SMPL-H) is one mesh per person whose vertex buffer a frame rewrites in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

import numpy as np

from vermo_cli.errors import VermoError, first_line
from vermo_cli.render.bodies import PersonSurface
from vermo_cli.render.platform import choose_gl_platform

# PyOpenGL picks its platform once, on first import, so the choice must come before pyrender.
choose_gl_platform()

import pyrender  # noqa: E402
import trimesh  # noqa: E402
from OpenGL import GL  # noqa: E402

from vermo_cli.motion.skeleton import HAND_JOINTS, JOINT_INDEX, NUM_JOINTS, PARENTS  # noqa: E402

# One colour per person (sRGB, 0-1), repeated when there are more people.
AGENT_COLOURS: tuple[tuple[float, float, float], ...] = (
    (0.15, 0.40, 0.85),  # blue
    (0.95, 0.45, 0.08),  # orange
    (0.15, 0.62, 0.25),  # green
    (0.82, 0.12, 0.35),  # crimson
    (0.52, 0.28, 0.80),  # purple
    (0.05, 0.62, 0.66),  # teal
)
BACKGROUND: tuple[float, float, float] = (0.93, 0.94, 0.96)
FLOOR_COLOURS: tuple[tuple[float, float, float], tuple[float, float, float]] = (
    (0.80, 0.80, 0.80),
    (0.66, 0.66, 0.68),
)
# Radii in metres: thick enough to read at 128 px, thin enough that limbs stay apart.
JOINT_RADIUS = 0.035
HEAD_RADIUS = 0.095
HAND_JOINT_RADIUS = 0.011
BONE_RADIUS = 0.026
HAND_BONE_RADIUS = 0.007
FIELD_OF_VIEW = np.radians(40.0)
# Camera direction relative to the first person's facing on frame 0: a 3/4 view from above.
CAMERA_AZIMUTH = np.radians(35.0)
CAMERA_ELEVATION = np.radians(20.0)
LIGHT_AZIMUTH = np.radians(-40.0)
LIGHT_ELEVATION = np.radians(60.0)
FRAMING_MARGIN = 1.08
UP = np.array([0.0, 1.0, 0.0])
# Frames of a mesh body sampled to measure how far its surface reaches beyond its joints.
REACH_SAMPLE_FRAMES = 16


@dataclass(frozen=True)
class Reach:
    """How far (metres) the drawn bodies reach beyond their joints: `below` and `above` `[3]`,
    past the low and the high corner of the joints' bounding box along x, y and z. The floor
    lies `below[1]` under the lowest joint."""

    below: np.ndarray
    above: np.ndarray


# Spheres and tubes: the head sphere is the largest; the feet end in joint spheres.
SKELETON_REACH = Reach(
    below=np.array([HEAD_RADIUS, JOINT_RADIUS, HEAD_RADIUS]), above=np.full(3, HEAD_RADIUS)
)


@dataclass(frozen=True)
class Framing:
    """Where the camera, light and floor go for a whole motion.

    `camera_poses`: `[frames, 4, 4]` camera-to-world transforms, one per frame; `light_pose`:
    `[4, 4]` (each looks along its own -z). `floor_height`: metres (y). `floor_min`,
    `floor_max`: `[2]` x and z corners of the floor, metres. `far`: metres from the camera to
    the farthest point worth drawing.
    """

    camera_poses: np.ndarray
    light_pose: np.ndarray
    floor_height: float
    floor_min: np.ndarray
    floor_max: np.ndarray
    far: float


def _look_pose(back: np.ndarray, position: np.ndarray) -> np.ndarray:
    """`[4, 4]` pose at `position` `[3]` whose +z axis is the unit vector `back` `[3]` (so it
    looks along -back) and whose x axis is horizontal."""
    right = np.cross(UP, back)
    right /= np.linalg.norm(right)
    pose = np.eye(4)
    pose[:3, 0] = right
    pose[:3, 1] = np.cross(back, right)
    pose[:3, 2] = back
    pose[:3, 3] = position
    return pose


def _direction(forward: np.ndarray, azimuth: float, elevation: float) -> np.ndarray:
    """Unit vector `[3]`: horizontal unit `forward` turned by `azimuth` about y, raised by
    `elevation` (radians)."""
    side = np.cross(UP, forward)
    horizontal = np.cos(azimuth) * forward + np.sin(azimuth) * side
    return np.cos(elevation) * horizontal + np.sin(elevation) * UP


def facing(joints: np.ndarray, joint_mask: np.ndarray) -> np.ndarray:
    """Horizontal unit direction `[3]` the first person faces on frame 0 (from the hips), or +z
    when the hips are missing. `joints`: `[agents, frames, 52, 3]` metres."""
    left, right = JOINT_INDEX["left_hip"], JOINT_INDEX["right_hip"]
    if joint_mask[left] and joint_mask[right]:
        across = joints[0, 0, left] - joints[0, 0, right]
        forward = np.cross(across, UP)
        forward[1] = 0.0
        length = np.linalg.norm(forward)
        if length > 1e-6:
            return forward / length
    return np.array([0.0, 0.0, 1.0])


def box_corners(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """The 8 corners `[..., 8, 3]` of axis-aligned boxes from `low` to `high` `[..., 3]`."""
    unit = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], dtype=float)
    return low[..., None, :] + unit * (high - low)[..., None, :]


def fit_distance(
    corners: np.ndarray, targets: np.ndarray, axes: np.ndarray, aspect: float
) -> float:
    """Smallest distance (metres) from each target along the camera's back axis at which every
    corner of its box is in view. `corners`: `[n, 8, 3]`; `targets`: `[n, 3]` the points looked
    at; `axes`: `[3, 3]` the camera's right, up and back axes as columns; `aspect`: width over
    height."""
    local = (corners - targets[:, None, :]) @ axes
    tan_y = np.tan(FIELD_OF_VIEW / 2) / FRAMING_MARGIN
    tan_x = tan_y * aspect
    needed = np.maximum(
        local[..., 2] + np.abs(local[..., 0]) / tan_x,
        local[..., 2] + np.abs(local[..., 1]) / tan_y,
    )
    return float(needed.max())


def frame_motion(
    joints: np.ndarray,
    joint_mask: np.ndarray,
    aspect: float,
    follow_frames: float | None = None,
    reach: Reach = SKELETON_REACH,
) -> Framing:
    """A camera that keeps every valid joint of every person in view, and the floor and light.

    `joints`: `[agents, frames, 52, 3]` metres; `joint_mask`: `[52]` bool; `aspect`: width over
    height; `reach`: how far the bodies drawn reach beyond the joints. The camera looks from a
    3/4 elevated view. Fixed (`follow_frames` None), it aims at the centre of the whole motion's
    bounding box and stands as close as that box allows. With `follow_frames` (a Gaussian's
    standard deviation in frames) it aims at the smoothed centre of each frame's box instead,
    at one distance that fits every frame's box. The floor lies `reach.below[1]` under the
    lowest joint.
    """
    points = joints[:, :, joint_mask].astype(np.float64)  # [agents, frames, valid, 3]
    floor_height = float(points[..., 1].min() - reach.below[1])
    frame_low = points.min(axis=(0, 2)) - reach.below  # [frames, 3]
    frame_high = points.max(axis=(0, 2)) + reach.above
    frame_low[:, 1] = floor_height
    low, high = frame_low.min(axis=0), frame_high.max(axis=0)
    centre = (low + high) / 2

    forward = facing(joints, joint_mask)
    back = _direction(forward, CAMERA_AZIMUTH, CAMERA_ELEVATION)
    axes = _look_pose(back, centre)[:3, :3]
    if follow_frames is None:
        targets = np.repeat(centre[None], joints.shape[1], axis=0)
        distance = fit_distance(box_corners(low, high)[None], centre[None], axes, aspect)
    else:
        from scipy.ndimage import gaussian_filter1d

        targets = gaussian_filter1d(
            (frame_low + frame_high) / 2, follow_frames, axis=0, mode="nearest"
        )
        targets[:, 1] = centre[1]
        distance = fit_distance(box_corners(frame_low, frame_high), targets, axes, aspect)
    camera_poses = np.repeat(_look_pose(back, centre)[None], len(targets), axis=0)
    camera_poses[:, :3, 3] = targets + distance * back

    extent = float(np.max(high[[0, 2]] - low[[0, 2]]))
    margin = max(2.0, 0.5 * extent)
    light_back = _direction(forward, CAMERA_AZIMUTH + LIGHT_AZIMUTH, LIGHT_ELEVATION)
    return Framing(
        camera_poses=camera_poses,
        light_pose=_look_pose(light_back, centre),
        floor_height=floor_height,
        floor_min=low[[0, 2]] - margin,
        floor_max=high[[0, 2]] + margin,
        far=distance + 2.0 * float(np.linalg.norm(high - low)) + 2.0 * margin,
    )


def sphere_poses(centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """`[n, 4, 4]` transforms of the unit sphere onto spheres at `centres` `[n, 3]` with `radii`
    `[n]` (metres)."""
    poses = np.zeros((len(centres), 4, 4))
    poses[:, [0, 1, 2], [0, 1, 2]] = radii[:, None]
    poses[:, :3, 3] = centres
    poses[:, 3, 3] = 1.0
    return poses


def tube_poses(starts: np.ndarray, ends: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """`[n, 4, 4]` transforms of the unit tube (radius 1, from z = -0.5 to 0.5) onto tubes from
    `starts` to `ends` `[n, 3]` with `radii` `[n]` (metres). A zero-length bone collapses to
    nothing."""
    axis = ends - starts
    length = np.linalg.norm(axis, axis=-1)
    direction = np.where(
        length[:, None] > 1e-9, axis / np.maximum(length, 1e-9)[:, None], [0.0, 0.0, 1.0]
    )
    helper = np.where(np.abs(direction[:, 1:2]) < 0.9, [0.0, 1.0, 0.0], [1.0, 0.0, 0.0])
    side = np.cross(helper, direction)
    side /= np.linalg.norm(side, axis=-1, keepdims=True)
    other = np.cross(direction, side)
    poses = np.zeros((len(starts), 4, 4))
    poses[:, :3, 0] = side * radii[:, None]
    poses[:, :3, 1] = other * radii[:, None]
    poses[:, :3, 2] = direction * length[:, None]
    poses[:, :3, 3] = (starts + ends) / 2
    poses[:, 3, 3] = 1.0
    return poses


def unit_tube(sections: int) -> trimesh.Trimesh:
    """An open tube of radius 1 along z from -0.5 to 0.5 with smooth radial normals (the joint
    spheres cap its ends)."""
    angles = np.linspace(0.0, 2 * np.pi, sections, endpoint=False)
    ring = np.stack([np.cos(angles), np.sin(angles), np.zeros(sections)], axis=1)
    half = np.array([0.0, 0.0, 0.5])
    vertices = np.concatenate([ring - half, ring + half])
    index = np.arange(sections)
    following = (index + 1) % sections
    faces = np.concatenate(
        [
            np.stack([index, following, following + sections], axis=1),
            np.stack([index, following + sections, index + sections], axis=1),
        ]
    )
    return trimesh.Trimesh(
        vertices, faces, vertex_normals=np.concatenate([ring, ring]), process=False
    )


class MovingInstances(pyrender.Primitive):
    """A pyrender primitive drawn once per instance pose, whose poses change between frames.

    pyrender uploads instance poses once, when a primitive enters the GL context. `move` keeps
    that buffer and rewrites it in place on the next draw, so a frame costs one draw call per
    primitive instead of one per sphere or bone, and no mesh is ever rebuilt.
    """

    def __init__(
        self, mesh: trimesh.Trimesh, material: pyrender.Material, poses: np.ndarray
    ) -> None:
        super().__init__(
            positions=mesh.vertices,
            normals=mesh.vertex_normals,
            indices=mesh.faces,
            material=material,
            poses=poses,
        )
        self._pose_buffer: int | None = None
        self._pending: np.ndarray | None = None

    def move(self, poses: np.ndarray) -> None:
        """New instance transforms `[n, 4, 4]` (same n as at construction) for the next draw."""
        # GL reads matrices column by column.
        self._pending = np.ascontiguousarray(np.transpose(poses, (0, 2, 1)), dtype=np.float32)

    def _add_to_context(self) -> None:
        super()._add_to_context()
        # pyrender fills the instance-pose buffer last among the array buffers it binds here.
        self._pose_buffer = int(GL.glGetIntegerv(GL.GL_ARRAY_BUFFER_BINDING))

    def _remove_from_context(self) -> None:
        super()._remove_from_context()
        self._pose_buffer = None

    def _bind(self) -> None:
        super()._bind()
        if self._pending is not None and self._pose_buffer is not None:
            GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self._pose_buffer)
            GL.glBufferSubData(GL.GL_ARRAY_BUFFER, 0, self._pending.nbytes, self._pending)
            self._pending = None


class DeformingSurface(pyrender.Primitive):
    """A pyrender triangle mesh whose vertex positions and normals change between frames.

    pyrender uploads the vertices once, when a primitive enters the GL context. `reshape` keeps
    that buffer and rewrites it in place on the next draw, so a frame never rebuilds the mesh
    (nor its GL objects); the faces and the vertex count stay as at construction.
    """

    def __init__(
        self,
        faces: np.ndarray,
        positions: np.ndarray,
        normals: np.ndarray,
        material: pyrender.Material,
    ) -> None:
        super().__init__(positions=positions, normals=normals, indices=faces, material=material)
        self._vertex_buffer: int | None = None
        self._pending: np.ndarray | None = None

    def reshape(self, positions: np.ndarray, normals: np.ndarray) -> None:
        """New vertex `positions` and unit `normals` `[vertices, 3]` for the next draw."""
        # pyrender interleaves each vertex's position and normal in one buffer.
        self._pending = np.ascontiguousarray(
            np.concatenate([positions, normals], axis=1), dtype=np.float32
        )

    def _add_to_context(self) -> None:
        super()._add_to_context()
        # pyrender generates the vertex buffer first among this primitive's buffers.
        self._vertex_buffer = int(self._buffers[0])

    def _remove_from_context(self) -> None:
        super()._remove_from_context()
        self._vertex_buffer = None

    def _bind(self) -> None:
        super()._bind()
        if self._pending is not None and self._vertex_buffer is not None:
            GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self._vertex_buffer)
            GL.glBufferSubData(GL.GL_ARRAY_BUFFER, 0, self._pending.nbytes, self._pending)
            self._pending = None


def surface_reach(
    surfaces: Sequence[PersonSurface], joints: np.ndarray, joint_mask: np.ndarray
) -> Reach:
    """How far the mesh `surfaces` (one per person) reach beyond the valid joints of `joints`
    `[agents, frames, 52, 3]` (metres), measured on a few frames spread over the motion (and the
    frame with each person's lowest joint, so no foot sinks into the floor)."""
    frames = joints.shape[1]
    below = np.zeros(3)
    above = np.zeros(3)
    for agent, surface in enumerate(surfaces):
        points = joints[agent][:, joint_mask]  # [frames, valid, 3]
        lowest = int(np.argmin(points[..., 1].min(axis=1)))
        samples = np.linspace(0, frames - 1, min(frames, REACH_SAMPLE_FRAMES)).round()
        for frame in {lowest, *samples.astype(int).tolist()}:
            vertices = surface.surface(frame)[0]
            below = np.maximum(below, points[frame].min(axis=0) - vertices.min(axis=0))
            above = np.maximum(above, vertices.max(axis=0) - points[frame].max(axis=0))
    return Reach(below=below, above=above)


def _material(colour: tuple[float, float, float]) -> pyrender.MetallicRoughnessMaterial:
    """A matte material of sRGB `colour` (pyrender shades in linear light)."""
    linear = np.power(np.asarray(colour), 2.2)
    return pyrender.MetallicRoughnessMaterial(
        baseColorFactor=(*linear, 1.0), metallicFactor=0.0, roughnessFactor=0.7
    )


def floor_primitive(framing: Framing) -> pyrender.Primitive:
    """A checker floor covering the framing's floor rectangle: tiles of 0.5 m, doubled until at
    most 64 tiles fit along a side."""
    size = framing.floor_max - framing.floor_min
    tile = 0.5
    while np.max(size) / tile > 64:
        tile *= 2
    first = np.floor(framing.floor_min / tile).astype(int)
    last = np.ceil(framing.floor_max / tile).astype(int)
    ix, iz = np.meshgrid(np.arange(first[0], last[0]), np.arange(first[1], last[1]), indexing="ij")
    ix, iz = ix.ravel(), iz.ravel()
    corners = np.array([[0, 0], [0, 1], [1, 1], [1, 0]])
    xz = (np.stack([ix, iz], axis=1)[:, None, :] + corners) * tile  # [tiles, 4, 2]
    positions = np.zeros((len(ix), 4, 3))
    positions[..., 0] = xz[..., 0]
    positions[..., 1] = framing.floor_height
    positions[..., 2] = xz[..., 1]
    colours = np.power(np.array(FLOOR_COLOURS), 2.2)[(ix + iz) % 2]
    colours = np.concatenate([colours, np.ones((len(ix), 1))], axis=1)
    base = 4 * np.arange(len(ix))[:, None]
    indices = np.concatenate([base + np.array([0, 1, 2]), base + np.array([0, 2, 3])])
    return pyrender.Primitive(
        positions=positions.reshape(-1, 3),
        normals=np.tile(UP, (4 * len(ix), 1)),
        color_0=np.repeat(colours, 4, axis=0),
        indices=indices,
        material=pyrender.MetallicRoughnessMaterial(
            baseColorFactor=(1.0, 1.0, 1.0, 1.0), metallicFactor=0.0, roughnessFactor=0.9
        ),
    )


@dataclass(frozen=True)
class Spheres:
    """Spheres on `joints` `[s]` (joint indices) with `radii` `[s]` metres."""

    joints: np.ndarray
    radii: np.ndarray

    def __len__(self) -> int:
        return len(self.joints)

    def poses(self, positions: np.ndarray) -> np.ndarray:
        """`[s, 4, 4]` unit-sphere transforms for one person's `positions` `[52, 3]` metres."""
        return sphere_poses(positions[self.joints], self.radii)


@dataclass(frozen=True)
class Tubes:
    """Bone tubes between `bones` `[b, 2]` (child, parent) joint indices, `radii` `[b]` metres."""

    bones: np.ndarray
    radii: np.ndarray

    def __len__(self) -> int:
        return len(self.bones)

    def poses(self, positions: np.ndarray) -> np.ndarray:
        """`[b, 4, 4]` unit-tube transforms for one person's `positions` `[52, 3]` metres."""
        return tube_poses(positions[self.bones[:, 1]], positions[self.bones[:, 0]], self.radii)


def body_parts(joint_mask: np.ndarray) -> list[tuple[trimesh.Trimesh, Spheres | Tubes]]:
    """What to draw of a skeleton with `joint_mask` `[52]` bool: spheres on valid joints and
    tubes on bones between valid joints, each with the mesh it instances. Hands are thinner and
    use coarser meshes (they cover few pixels); empty groups are left out."""
    hand = np.zeros(NUM_JOINTS, dtype=bool)
    hand[HAND_JOINTS] = True
    body_joints = np.flatnonzero(joint_mask & ~hand)
    hand_joints = np.flatnonzero(joint_mask & hand)
    body_radii = np.where(body_joints == JOINT_INDEX["head"], HEAD_RADIUS, JOINT_RADIUS)
    bones = np.array(
        [
            (child, parent)
            for child, parent in enumerate(PARENTS)
            if parent >= 0 and joint_mask[child] and joint_mask[parent]
        ],
        dtype=np.int64,
    ).reshape(-1, 2)
    body_bones = bones[~hand[bones[:, 0]]]
    hand_bones = bones[hand[bones[:, 0]]]
    parts: list[tuple[trimesh.Trimesh, Spheres | Tubes]] = [
        (trimesh.creation.icosphere(subdivisions=2), Spheres(body_joints, body_radii)),
        (unit_tube(16), Tubes(body_bones, np.full(len(body_bones), BONE_RADIUS))),
        (
            trimesh.creation.icosphere(subdivisions=1),
            Spheres(hand_joints, np.full(len(hand_joints), HAND_JOINT_RADIUS)),
        ),
        (unit_tube(8), Tubes(hand_bones, np.full(len(hand_bones), HAND_BONE_RADIUS))),
    ]
    return [(mesh, group) for mesh, group in parts if len(group)]


class MotionScene:
    """An offscreen renderer for one motion: build once, then `render(frame)` per frame.

    `joints`: `[agents, frames, 52, 3]` metres, y up; `joint_mask`: `[52]` bool (invalid joints,
    e.g. absent hands, are not drawn); `size`: (width, height) pixels; `follow_frames`: None for
    a fixed camera, else how slowly it follows the people (see `frame_motion`); `surfaces`: a
    mesh body per person to draw instead of the skeleton (None: the skeleton). Use as a context
    manager (or call `close`) to free the GL context.
    """

    def __init__(
        self,
        joints: np.ndarray,
        joint_mask: np.ndarray,
        size: tuple[int, int],
        follow_frames: float | None = None,
        surfaces: Sequence[PersonSurface] | None = None,
    ) -> None:
        self.joints = np.asarray(joints, dtype=np.float64)
        mask = np.asarray(joint_mask, dtype=bool)
        if not mask.any():
            raise VermoError("the motion has no valid joints to draw")
        self.parts = body_parts(mask) if surfaces is None else []
        self.surfaces = surfaces
        width, height = size
        reach = SKELETON_REACH if surfaces is None else surface_reach(surfaces, self.joints, mask)
        self.framing = frame_motion(self.joints, mask, width / height, follow_frames, reach)
        self.scene = pyrender.Scene(bg_color=(*BACKGROUND, 1.0), ambient_light=(0.35,) * 3)
        self.scene.add(pyrender.Mesh([floor_primitive(self.framing)]))
        self.people: list[list[MovingInstances]] = []
        self.meshes: list[DeformingSurface] = []
        for agent in range(self.joints.shape[0]):
            material = _material(AGENT_COLOURS[agent % len(AGENT_COLOURS)])
            if surfaces is None:
                first = self.joints[agent, 0]
                primitives = [
                    MovingInstances(mesh, material, group.poses(first))
                    for mesh, group in self.parts
                ]
                self.scene.add(pyrender.Mesh(primitives))
                self.people.append(primitives)
            else:
                surface = surfaces[agent]
                mesh = DeformingSurface(surface.faces, *surface.surface(0), material)
                self.scene.add(pyrender.Mesh([mesh]))
                self.meshes.append(mesh)
        camera = pyrender.PerspectiveCamera(
            yfov=FIELD_OF_VIEW, aspectRatio=width / height, znear=0.05, zfar=self.framing.far
        )
        self.camera = self.scene.add(camera, pose=self.framing.camera_poses[0])
        light = pyrender.DirectionalLight(color=np.ones(3), intensity=2.6)
        self.scene.add(light, pose=self.framing.light_pose)
        self.renderer = _offscreen_renderer(width, height)

    def render(self, frame: int) -> np.ndarray:
        """The image `[height, width, 3]` uint8 RGB of `frame`."""
        for agent, primitives in enumerate(self.people):
            positions = self.joints[agent, frame]
            for primitive, (_, group) in zip(primitives, self.parts, strict=True):
                primitive.move(group.poses(positions))
        for surface, mesh in zip(self.surfaces or (), self.meshes, strict=True):
            mesh.reshape(*surface.surface(frame))
        self.scene.set_pose(self.camera, self.framing.camera_poses[frame])
        colour, _ = self.renderer.render(self.scene, flags=pyrender.RenderFlags.SHADOWS_DIRECTIONAL)
        return np.ascontiguousarray(colour[..., :3])

    def close(self) -> None:
        """Free the GL context."""
        self.renderer.delete()

    def __enter__(self) -> MotionScene:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def _offscreen_renderer(width: int, height: int) -> pyrender.OffscreenRenderer:
    """A pyrender offscreen renderer; a one-line `VermoError` when no GL context can be made."""
    try:
        return pyrender.OffscreenRenderer(width, height)
    except Exception as error:  # any failure here is the machine's GL setup, not a bug
        platform = choose_gl_platform()
        detail = first_line(error)
        hint = (
            "install Debian's libosmesa6 and set PYOPENGL_PLATFORM=osmesa"
            if platform == "egl"
            else "check the Mesa installation (Debian: libosmesa6)"
        )
        raise VermoError(
            f"cannot open an offscreen OpenGL context with {platform} ({detail}); {hint}"
        ) from None
