"""Forward kinematics for skeletons given as rest offsets plus per-frame local rotations."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.spatial.transform import Rotation


def forward_kinematics(
    offsets: np.ndarray,
    parents: Sequence[int],
    local_rotations: np.ndarray,
    root_positions: np.ndarray,
) -> np.ndarray:
    """Global joint positions from local rotations.

    `offsets`: `[J, 3]` (or `[T, J, 3]` for per-frame offsets) position of each joint in its
    parent's frame at rest; the root's offset is ignored. `parents`: `[J]`, parent index or -1 for
    the root; every parent must come before its children. `local_rotations`: `[T, J, 3, 3]`
    rotation matrices of each joint relative to its parent. `root_positions`: `[T, 3]`.
    Returns `[T, J, 3]` in the units of the offsets.
    """
    local_rotations = np.asarray(local_rotations, dtype=np.float64)
    frames, num_joints = local_rotations.shape[:2]
    offsets = np.broadcast_to(np.asarray(offsets, dtype=np.float64), (frames, num_joints, 3))
    global_rotations = np.empty_like(local_rotations)
    positions = np.empty((frames, num_joints, 3), dtype=np.float64)
    for joint, parent in enumerate(parents):
        if parent < 0:
            global_rotations[:, joint] = local_rotations[:, joint]
            positions[:, joint] = root_positions
            continue
        if parent >= joint:
            raise ValueError("parents must be topologically ordered (parent index < child index)")
        global_rotations[:, joint] = global_rotations[:, parent] @ local_rotations[:, joint]
        positions[:, joint] = positions[:, parent] + np.einsum(
            "tij,tj->ti", global_rotations[:, parent], offsets[:, joint]
        )
    return positions


def unit_vectors(vectors: np.ndarray) -> np.ndarray:
    """`vectors` `[..., 3]` scaled to unit length (zero vectors stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def rotation_between(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Smallest rotation matrices `[..., 3, 3]` turning direction `source` onto `target`.

    Both `[..., 3]`, any length (a zero vector gives the identity). Opposite vectors get a
    half turn about an axis perpendicular to `source`.
    """
    a = unit_vectors(source)
    b = unit_vectors(target)
    axis = np.cross(a, b)
    sin = np.linalg.norm(axis, axis=-1)
    cos = np.sum(a * b, axis=-1)
    angle = np.arctan2(sin, cos)
    opposite = (sin < 1e-8) & (cos < 0)
    if np.any(opposite):
        helper = np.where(np.abs(a[..., :1]) < 0.9, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
        axis = np.where(opposite[..., None], np.cross(a, helper), axis)
        angle = np.where(opposite, np.pi, angle)
    return axis_angle_to_matrix(unit_vectors(axis) * angle[..., None])


def axis_angle_to_matrix(rotation_vectors: np.ndarray) -> np.ndarray:
    """Rotation matrices `[..., 3, 3]` from rotation vectors `[..., 3]` (radians, Rodrigues)."""
    rotation_vectors = np.asarray(rotation_vectors, dtype=np.float64)
    angle = np.linalg.norm(rotation_vectors, axis=-1, keepdims=True)
    axis = rotation_vectors / np.maximum(angle, 1e-12)
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    zero = np.zeros_like(x)
    skew = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], axis=-1).reshape(
        (*axis.shape[:-1], 3, 3)
    )
    sin = np.sin(angle)[..., None]
    cos = np.cos(angle)[..., None]
    identity = np.broadcast_to(np.eye(3), skew.shape)
    return identity + sin * skew + (1.0 - cos) * (skew @ skew)


def rotation_about_y(angle: np.ndarray | float) -> np.ndarray:
    """Rotation matrices `[..., 3, 3]` about the vertical (y) axis by `angle` radians."""
    angle = np.asarray(angle, dtype=np.float64)
    cos, sin = np.cos(angle), np.sin(angle)
    zero, one = np.zeros_like(angle), np.ones_like(angle)
    return np.stack([cos, zero, sin, zero, one, zero, -sin, zero, cos], axis=-1).reshape(
        (*angle.shape, 3, 3)
    )


def matrix_to_axis_angle(rotations: np.ndarray) -> np.ndarray:
    """Rotation vectors `[..., 3]` (radians) of rotation matrices `[..., 3, 3]`."""
    rotations = np.asarray(rotations, dtype=np.float64)
    vectors = Rotation.from_matrix(rotations.reshape(-1, 3, 3)).as_rotvec()
    return vectors.reshape(*rotations.shape[:-2], 3)


def best_rotation(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotations `[..., 3, 3]` (det +1; reflections excluded) minimising
    sum_k ||R source_k - target_k||^2 over the vectors of `source` and `target` `[..., k, 3]`
    (broadcast against each other): the Kabsch solution, an SVD of the cross-covariance with
    the last singular direction flipped when the best orthogonal map would be a reflection.

    Hand-written because SciPy's `Rotation.align_vectors` takes one set at a time and
    `scipy.linalg.orthogonal_procrustes` allows reflections; this one is batched.
    """
    source, target = np.broadcast_arrays(
        np.asarray(source, dtype=np.float64), np.asarray(target, dtype=np.float64)
    )
    covariance = np.swapaxes(source, -1, -2) @ target  # sum_k s_k t_k^T
    left, _, right_transposed = np.linalg.svd(covariance)
    right = np.swapaxes(right_transposed, -1, -2)
    left_transposed = np.swapaxes(left, -1, -2)
    correction = np.ones(covariance.shape[:-1])
    correction[..., 2] = np.sign(np.linalg.det(right @ left_transposed))
    return (right * correction[..., None, :]) @ left_transposed


def matrix_to_quaternion(rotations: np.ndarray) -> np.ndarray:
    """Unit quaternions `[..., 4]` (x, y, z, w: SciPy's order) of rotation matrices
    `[..., 3, 3]`, each with w >= 0."""
    rotations = np.asarray(rotations, dtype=np.float64)
    quaternions = Rotation.from_matrix(rotations.reshape(-1, 3, 3)).as_quat(canonical=True)
    return quaternions.reshape(*rotations.shape[:-2], 4)


def quaternion_to_matrix(quaternions: np.ndarray) -> np.ndarray:
    """Rotation matrices `[..., 3, 3]` of quaternions `[..., 4]` (x, y, z, w; any length)."""
    quaternions = np.asarray(quaternions, dtype=np.float64)
    matrices = Rotation.from_quat(quaternions.reshape(-1, 4)).as_matrix()
    return matrices.reshape(*quaternions.shape[:-1], 3, 3)


def sign_continuous(quaternions: np.ndarray) -> np.ndarray:
    """Quaternions `[frames, ..., 4]` with each one's sign chosen so that it lies in the same
    hemisphere as the previous frame's (q and -q are the same rotation; learning and blending
    want the one nearest in time)."""
    result = np.array(quaternions, dtype=np.float64, copy=True)
    for frame in range(1, len(result)):
        flip = np.sum(result[frame] * result[frame - 1], axis=-1) < 0
        result[frame][flip] *= -1.0
    return result


def slerp_quaternions(start: np.ndarray, end: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Spherical linear interpolation along the shorter arc.

    `start`, `end`: `[..., 4]` unit quaternions; `weights`: `[K]` in [0, 1]. Returns
    `[K, ..., 4]`: weight 0 gives `start`, 1 gives `end` (or its negative, the same rotation).
    Hand-written because SciPy's `Slerp` interpolates one sequence of key rotations at a time,
    and here every joint of every window has its own pair.
    """
    start = np.asarray(start, dtype=np.float64)
    end = np.asarray(end, dtype=np.float64)
    dot = np.sum(start * end, axis=-1, keepdims=True)
    end = np.where(dot < 0, -end, end)
    dot = np.abs(dot)
    angle = np.arccos(np.clip(dot, -1.0, 1.0))
    sin = np.sin(angle)
    weights = np.asarray(weights, dtype=np.float64).reshape(-1, *([1] * start.ndim))
    near = sin < 1e-6  # almost the same rotation: a normalised linear blend is exact enough
    safe = np.where(near, 1.0, sin)
    start_weight = np.where(near, 1.0 - weights, np.sin((1.0 - weights) * angle) / safe)
    end_weight = np.where(near, weights, np.sin(weights * angle) / safe)
    blended = start_weight * start + end_weight * end
    return blended / np.linalg.norm(blended, axis=-1, keepdims=True)
