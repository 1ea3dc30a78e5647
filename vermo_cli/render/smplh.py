"""SMPL-H bodies for `vermo render`: the user's licensed model (through smplx) fitted to a
motion's joints, and its mesh posed frame by frame.

SMPL-H's first 52 joints are vermo's joint set in the same order (22 body joints, then 15 per
hand: index, middle, pinky, ring, thumb) and the same frame (metres, y up, facing +z), so the
fit compares them one to one. Each person's 10 shape coefficients (betas, shared over the
frames) start from the bone lengths and each frame's pose from its bone directions (each bone
turned onto its target, knees and elbows bending about their hinge); L-BFGS then refines every
frame at once: per frame the global orientation, the body pose, the hand pose (when the motion's
hands are valid) and the translation, and the betas. The model's joints depend only on the shape
and the joint rotations, so the fit runs forward kinematics on the 52 joints alone and builds
the 6,890-vertex mesh only for drawing, a few dozen frames at a time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import smplx
import torch
from scipy.sparse import csr_matrix
from smplx.lbs import batch_rodrigues

from vermo_cli.motion.kinematics import (
    axis_angle_to_matrix,
    best_rotation,
    matrix_to_axis_angle,
    rotation_between,
    unit_vectors,
)
from vermo_cli.motion.skeleton import HAND_JOINTS, JOINT_INDEX, NUM_JOINTS, PARENTS
from vermo_cli.render.smplh_files import smplh_model_path

# L-BFGS iterations over all frames together; the analytic start is already within a few
# millimetres for a motion the model can reproduce.
FIT_ITERATIONS = 50
LBFGS_HISTORY = 20
# Joint errors are weighed in units of this many metres, so the shape prior below is relative to
# a 1 cm error.
ERROR_SCALE = 0.01
SHAPE_PRIOR = 1e-3
GAUSS_NEWTON_STEPS = 3
# Frames whose mesh is built in one pass while drawing.
SURFACE_CHUNK_FRAMES = 32
# Knees and elbows: the joint bends about this axis of the rest pose (x left, y up, z forward);
# the hinge sets the twist of the bone above it once the limb bends more than HINGE_FROM.
HINGES: dict[str, tuple[float, float, float]] = {
    "left_knee": (1.0, 0.0, 0.0),
    "right_knee": (1.0, 0.0, 0.0),
    "left_elbow": (0.0, -1.0, 0.0),
    "right_elbow": (0.0, 1.0, 0.0),
}
HINGE_FROM = np.radians(10.0)
HINGE_FULL = np.radians(30.0)


def load_smplh_model(directory: Path | None) -> smplx.SMPLH:
    """The SMPL-H model in `directory`, with full 45-number hand poses relative to its mean
    (relaxed) hand pose, so hands the motion lacks are drawn relaxed; a one-line
    `BodyModelError` when there is none or it cannot be loaded."""
    from vermo_plugins.sources.body_model import load_body_model

    path = smplh_model_path(directory)
    gender = path.stem.split("_", 1)[1].lower()
    return load_body_model(Path(directory), "smplh", gender, path, flat_hand_mean=False)


def initial_rotations(target: np.ndarray, rest: np.ndarray, joint_mask: np.ndarray) -> np.ndarray:
    """A first guess of the local joint rotations `[n, 52, 3, 3]` that put the rest joints `rest`
    `[52, 3]` (metres) along the bones of `target` `[n, 52, 3]`, one pose per row.

    Joints with several valid children (pelvis, upper spine, wrists with fingers) take the
    rotation that best fits all of them; a joint with one child turns its bone onto the target
    with the least rotation from its parent's frame, except that hips and shoulders also turn
    about the bone so the knee or elbow below bends about its hinge; joints without valid
    children keep their parent's frame.
    """
    rows = len(target)
    world = np.zeros((rows, NUM_JOINTS, 3, 3))
    parents = np.array(PARENTS)
    children = [
        [child for child in range(NUM_JOINTS) if parents[child] == joint and joint_mask[child]]
        for joint in range(NUM_JOINTS)
    ]
    hinge_of = {PARENTS[JOINT_INDEX[name]]: name for name in HINGES}
    for joint in range(NUM_JOINTS):
        parent_frame = (
            world[:, parents[joint]] if joint > 0 else np.broadcast_to(np.eye(3), (rows, 3, 3))
        )
        offspring = children[joint]
        if len(offspring) > 1:
            world[:, joint] = best_rotation(
                rest[offspring] - rest[joint], target[:, offspring] - target[:, [joint]]
            )
            continue
        if not offspring:
            world[:, joint] = parent_frame
            continue
        child = offspring[0]
        bone = target[:, child] - target[:, joint]
        rest_bone = parent_frame @ (rest[child] - rest[joint])
        frame = rotation_between(rest_bone, bone) @ parent_frame
        if joint in hinge_of and children[child]:
            frame = _bend_about_hinge(
                frame, bone, target, child, children[child][0], hinge_of[joint]
            )
        world[:, joint] = frame
    local = world.copy()
    local[:, 1:] = np.swapaxes(world[:, parents[1:]], -1, -2) @ world[:, 1:]
    return local


def _bend_about_hinge(
    frame: np.ndarray, bone: np.ndarray, target: np.ndarray, middle: int, end: int, hinge: str
) -> np.ndarray:
    """`frame` `[n, 3, 3]` (of a hip or shoulder, whose bone runs along `bone` `[n, 3]` to
    joint `middle`) turned about the bone so that the limb's bend at `middle` toward `end`
    happens about the rest pose's hinge axis of `hinge`; fully from a bend of HINGE_FULL, not at
    all below HINGE_FROM (a straight limb says nothing about its twist)."""
    upper = unit_vectors(bone)
    lower = unit_vectors(target[:, end] - target[:, middle])
    axis = np.cross(upper, lower)
    bend = np.arctan2(np.linalg.norm(axis, axis=-1), np.sum(upper * lower, axis=-1))
    wanted = unit_vectors(axis)
    current = frame @ np.array(HINGES[hinge])
    current = unit_vectors(current - np.sum(current * upper, axis=-1, keepdims=True) * upper)
    twist = np.arctan2(
        np.sum(np.cross(current, wanted) * upper, axis=-1), np.sum(current * wanted, axis=-1)
    )
    weight = np.clip((bend - HINGE_FROM) / (HINGE_FULL - HINGE_FROM), 0.0, 1.0)
    return axis_angle_to_matrix(upper * (weight * twist)[:, None]) @ frame


def initial_betas(
    joints: np.ndarray, rest: np.ndarray, shape_directions: np.ndarray, joint_mask: np.ndarray
) -> np.ndarray:
    """Shape coefficients `[betas]` whose rest skeleton best matches the median bone lengths
    of `joints` `[frames, 52, 3]` (metres) over the bones between valid joints: a few
    Gauss-Newton steps on the lengths, with the fit's shape prior. `rest`: `[52, 3]` the model's
    rest joints at betas 0; `shape_directions`: `[52, 3, betas]` how each beta moves them."""
    children = np.array(
        [j for j in range(1, NUM_JOINTS) if joint_mask[j] and joint_mask[PARENTS[j]]]
    )
    parents = np.array(PARENTS)[children]
    wanted = np.median(np.linalg.norm(joints[:, children] - joints[:, parents], axis=-1), axis=0)
    bone_directions = shape_directions[children] - shape_directions[parents]  # [bones, 3, betas]
    betas = np.zeros(shape_directions.shape[-1])
    scale = ERROR_SCALE**2 * len(children)
    for _ in range(GAUSS_NEWTON_STEPS):
        offsets = rest[children] - rest[parents] + bone_directions @ betas
        lengths = np.linalg.norm(offsets, axis=-1)
        slope = np.einsum("nk,nkb->nb", offsets / lengths[:, None], bone_directions)
        normal = slope.T @ slope / scale + SHAPE_PRIOR * np.eye(len(betas))
        betas += np.linalg.solve(normal, slope.T @ (wanted - lengths) / scale - SHAPE_PRIOR * betas)
    return betas


@dataclass(frozen=True)
class SmplhFit:
    """SMPL-H bodies fitted to a motion of `agents` people and `frames` frames.

    `poses`: `[agents, frames, 52, 3]` axis-angle (radians) of the global orientation and the 51
    joint rotations, in smplx's convention (hand rotations relative to the model's mean hand
    pose); `translation`: `[agents, frames, 3]` metres; `betas`: `[agents, betas]` each person's
    shape. `mean_error_mm`: the mean distance (millimetres) from each valid joint of the fitted
    bodies to the motion's; `seconds`: how long the fit took.
    """

    model: smplx.SMPLH
    poses: np.ndarray
    translation: np.ndarray
    betas: np.ndarray
    mean_error_mm: float
    seconds: float

    def vertices(self, agent: int, frames: slice) -> np.ndarray:
        """Mesh vertices `[frames, 6890, 3]` (metres) of person `agent` on `frames`."""
        poses = torch.as_tensor(self.poses[agent, frames], dtype=torch.float32)
        count = poses.shape[0]
        flat = poses.reshape(count, -1)
        betas = torch.as_tensor(self.betas[agent], dtype=torch.float32).expand(count, -1)
        with torch.no_grad():
            output = self.model(
                betas=betas,
                global_orient=flat[:, :3],
                body_pose=flat[:, 3:66],
                left_hand_pose=flat[:, 66:111],
                right_hand_pose=flat[:, 111:156],
                transl=torch.as_tensor(self.translation[agent, frames], dtype=torch.float32),
            )
        return output.vertices.numpy()

    def surfaces(self) -> list[SmplhSurface]:
        """One `PersonSurface` per person."""
        faces = np.asarray(self.model.faces, dtype=np.int64)
        incidence = _vertex_face_incidence(faces, int(self.model.v_template.shape[0]))
        return [SmplhSurface(self, agent, faces, incidence) for agent in range(len(self.betas))]


def _vertex_face_incidence(faces: np.ndarray, vertices: int) -> csr_matrix:
    """`[vertices, faces]` sparse matrix with a 1 where a face uses a vertex."""
    columns = np.repeat(np.arange(len(faces)), 3)
    return csr_matrix(
        (np.ones(faces.size), (faces.reshape(-1), columns)), shape=(vertices, len(faces))
    )


class SmplhSurface:
    """One person's fitted SMPL-H mesh (a `PersonSurface`): vertices and normals are built
    SURFACE_CHUNK_FRAMES frames at a time, as frames are asked for in order."""

    def __init__(self, fit: SmplhFit, agent: int, faces: np.ndarray, incidence: csr_matrix) -> None:
        self.fit = fit
        self.agent = agent
        self._faces = faces
        self.incidence = incidence
        self._chunk: tuple[int, np.ndarray, np.ndarray] | None = None

    @property
    def faces(self) -> np.ndarray:
        """`[13776, 3]` vertex indices (the model's triangles)."""
        return self._faces

    def surface(self, frame: int) -> tuple[np.ndarray, np.ndarray]:
        """Vertex positions `[6890, 3]` metres and unit normals `[6890, 3]` on `frame`."""
        start = frame - frame % SURFACE_CHUNK_FRAMES
        if self._chunk is None or self._chunk[0] != start:
            vertices = self.fit.vertices(self.agent, slice(start, start + SURFACE_CHUNK_FRAMES))
            self._chunk = (start, vertices, self._normals(vertices))
        _, vertices, normals = self._chunk
        return vertices[frame - start], normals[frame - start]

    def _normals(self, vertices: np.ndarray) -> np.ndarray:
        """Unit vertex normals `[frames, vertices, 3]` of meshes `vertices` `[frames, vertices, 3]`
        (each the area-weighted mean of its faces' normals)."""
        corners = vertices[:, self._faces]  # [frames, faces, 3 corners, 3]
        face_normals = np.cross(
            corners[:, :, 1] - corners[:, :, 0], corners[:, :, 2] - corners[:, :, 0]
        )
        frames, faces = face_normals.shape[:2]
        summed = self.incidence @ face_normals.transpose(1, 0, 2).reshape(faces, frames * 3)
        return unit_vectors(summed.reshape(-1, frames, 3).transpose(1, 0, 2)).astype(np.float32)


def forward_kinematics(rotations: torch.Tensor, rest: torch.Tensor) -> torch.Tensor:
    """Posed joint positions `[n, 52, 3]` of rest joints `rest` `[n, 52, 3]` (metres) turned by
    local joint rotations `rotations` `[n, 52, 3, 3]` (the first: the global orientation about
    the pelvis), as SMPL-H poses its joints. Walks the tree one depth at a time (ten steps), all
    joints of a depth together."""
    parents = torch.tensor(PARENTS)
    offsets = rest - rest[:, parents.clamp(min=0)]
    world = rotations[:, :1].expand(-1, NUM_JOINTS, -1, -1)
    positions = rest[:, :1].expand(-1, NUM_JOINTS, -1)
    for level in _depth_levels():
        above = world[:, parents[level]]
        world = world.index_copy(1, level, above @ rotations[:, level])
        moved = positions[:, parents[level]] + (above @ offsets[:, level, :, None])[..., 0]
        positions = positions.index_copy(1, level, moved)
    return positions


@cache
def _depth_levels() -> tuple[torch.Tensor, ...]:
    """The joints below the pelvis grouped by depth in the tree: `[level joints]` index tensors,
    shallowest first."""
    depth = [0] * NUM_JOINTS
    for joint in range(1, NUM_JOINTS):
        depth[joint] = depth[PARENTS[joint]] + 1
    return tuple(
        torch.tensor([joint for joint in range(NUM_JOINTS) if depth[joint] == level])
        for level in range(1, max(depth) + 1)
    )


def fit_smplh(
    model: smplx.SMPLH,
    joints: np.ndarray,
    joint_mask: np.ndarray,
    iterations: int = FIT_ITERATIONS,
) -> SmplhFit:
    """Fit SMPL-H `model` to `joints` `[agents, frames, 52, 3]` (metres, y up) on the joints
    valid in `joint_mask` `[52]`: each frame's pose and translation, each person's shape, with
    up to `iterations` L-BFGS steps over all frames at once (0: the analytic start alone). Hand
    poses stay at the model's mean unless every hand joint is valid."""
    started = time.perf_counter()
    threads = torch.get_num_threads()
    # The fit's tensors are small (52 joints a frame), where a thread pool costs more than it
    # saves (several times slower on a busy two-core machine).
    torch.set_num_threads(1)
    try:
        poses, translation, betas, error = _fit(model, joints, joint_mask, iterations)
    finally:
        torch.set_num_threads(threads)
    agents, frames = joints.shape[:2]
    return SmplhFit(
        model=model,
        poses=poses.reshape(agents, frames, NUM_JOINTS, 3),
        translation=translation.reshape(agents, frames, 3),
        betas=betas,
        mean_error_mm=error * 1000.0,
        seconds=time.perf_counter() - started,
    )


def _fit(
    model: smplx.SMPLH, joints: np.ndarray, joint_mask: np.ndarray, iterations: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """`fit_smplh`'s work: poses `[agents * frames, 52, 3]`, translations `[agents * frames, 3]`,
    betas `[agents, betas]` and the mean joint error (metres)."""
    agents, frames = joints.shape[:2]
    rows = agents * frames
    target = np.asarray(joints, dtype=np.float64).reshape(rows, NUM_JOINTS, 3)
    regressor = model.J_regressor.detach().double()[:NUM_JOINTS]
    rest = regressor @ model.v_template.detach().double()  # [52, 3] joints at betas 0
    shape_directions = torch.einsum(
        "jv,vkb->jkb", regressor, model.shapedirs.detach().double()
    )  # [52, 3, betas]: how each beta moves the rest joints
    mean_pose = model.pose_mean.detach().double().reshape(NUM_JOINTS, 3)

    shapes = np.stack(
        [
            initial_betas(motion, rest.numpy(), shape_directions.numpy(), joint_mask)
            for motion in np.asarray(joints, dtype=np.float64)
        ]
    )  # [agents, betas]
    shaped_rest = rest.numpy() + np.einsum("jkb,ab->ajk", shape_directions.numpy(), shapes)
    guess = np.concatenate(
        [
            matrix_to_axis_angle(initial_rotations(motion, shaped, joint_mask))
            for motion, shaped in zip(
                target.reshape(agents, frames, NUM_JOINTS, 3), shaped_rest, strict=True
            )
        ]
    )
    pose = torch.tensor(guess, dtype=torch.float64) - mean_pose
    hands = bool(np.all(joint_mask[HAND_JOINTS]))
    body_pose = pose[:, :22].clone().requires_grad_(True)
    hand_pose = (pose[:, 22:] if hands else torch.zeros_like(pose[:, 22:])).requires_grad_(hands)
    pelvis = np.repeat(shaped_rest[:, 0], frames, axis=0)
    translation = torch.tensor(target[:, 0] - pelvis, requires_grad=True)
    betas = torch.tensor(shapes, requires_grad=True)
    goal = torch.as_tensor(target)
    valid = torch.as_tensor(np.asarray(joint_mask, dtype=bool))
    person = torch.arange(rows) // frames

    def posed_joints() -> torch.Tensor:
        full_pose = torch.cat([body_pose, hand_pose], 1) + mean_pose
        rotations = batch_rodrigues(full_pose.reshape(-1, 3)).reshape(rows, NUM_JOINTS, 3, 3)
        shaped = rest + torch.einsum("jkb,nb->njk", shape_directions, betas[person])
        return forward_kinematics(rotations, shaped) + translation[:, None]

    variables = [body_pose, translation, betas] + ([hand_pose] if hands else [])
    optimiser = torch.optim.LBFGS(
        variables, max_iter=iterations, history_size=LBFGS_HISTORY, line_search_fn="strong_wolfe"
    )

    def loss() -> torch.Tensor:
        optimiser.zero_grad()
        error = (posed_joints() - goal)[:, valid] / ERROR_SCALE
        total = error.square().sum(-1).mean() + SHAPE_PRIOR * betas.square().sum(-1).mean()
        total.backward()
        return total

    if iterations > 0:
        optimiser.step(loss)
    with torch.no_grad():
        distance = (posed_joints() - goal)[:, valid].norm(dim=-1).mean()
        poses = torch.cat([body_pose, hand_pose], 1)
    return poses.numpy(), translation.detach().numpy(), betas.detach().numpy(), float(distance)
