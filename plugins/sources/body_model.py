"""SMPL-family body models (the user's licensed files, through smplx) turned into SMPL-H joints.

The SMPL, SMPL-H and SMPL-X kinematic trees share their first 22 joints with vermo's body joint
set; SMPL-H's 30 finger joints are vermo's hand joints in the same order, and SMPL-X has them
after its three face joints (jaw, eyes).
"""

from __future__ import annotations

import contextlib
import copyreg
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from vermo_cli.data.pickles import ARRAY_GLOBALS, RestrictedUnpickler, check_npz_pickles
from vermo_cli.errors import BodyModelError, first_line
from vermo_cli.motion.skeleton import NUM_BODY_JOINTS, body_only_mask, full_mask

ModelType = Literal["smpl", "smplh", "smplx"]

# Extensions smplx reads for each model type (its SMPL class reads pickles only).
_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "smpl": ("pkl",),
    "smplh": ("pkl", "npz"),
    "smplx": ("npz", "pkl"),
}
# Index of the first hand joint in the model's joint order.
_FIRST_HAND_JOINT: dict[str, int] = {"smplh": NUM_BODY_JOINTS, "smplx": NUM_BODY_JOINTS + 3}
_HAND_JOINTS_PER_SIDE = 15
# Frames per forward pass: bounds memory (the vertices of every frame are computed) and speed.
_CHUNK_FRAMES = 512


@dataclass(frozen=True)
class BodyParameters:
    """One take's body-model parameters (angles in radians, axis-angle).

    `global_orient`: `[T, 3]`; `body_pose`: `[T, 63]` (21 joints below the pelvis);
    `hand_pose`: `[T, 90]` (left then right hand, 15 joints each) or None for SMPL;
    `translation`: `[T, 3]` metres; `betas`: `[B]` shape coefficients.
    """

    global_orient: np.ndarray
    body_pose: np.ndarray
    translation: np.ndarray
    betas: np.ndarray
    hand_pose: np.ndarray | None = None


def model_file(directory: Path, model_type: ModelType, gender: str) -> Path | None:
    """The model file smplx would load for `model_type` and `gender`, or None when absent.

    Looks in `directory/<model_type>/` (the layout `smplx.create` expects) and in `directory`
    itself; a missing gender falls back to the neutral model.
    """
    prefix = model_type.upper()
    # BEAT2 names the SMPL-X 2020 neutral model SMPLX_NEUTRAL_2020.npz.
    extra = ["NEUTRAL_2020"] if model_type == "smplx" else []
    genders = dict.fromkeys([gender.upper(), "NEUTRAL", *extra])
    for folder in (directory / model_type, directory):
        # MANO ships SMPLH_female.pkl, other releases SMPLH_FEMALE.pkl: match names in any case.
        files = {path.name.lower(): path for path in folder.iterdir()} if folder.is_dir() else {}
        for gender_name in genders:
            for extension in _EXTENSIONS[model_type]:
                candidate = files.get(f"{prefix}_{gender_name}.{extension}".lower())
                if candidate is not None and candidate.is_file():
                    return candidate
    return None


def load_body_model(
    directory: Path | None,
    model_type: ModelType,
    gender: str,
    needed_by: Path,
    flat_hand_mean: bool = True,
):  # -> smplx.SMPL | smplx.SMPLH | smplx.SMPLX, kept untyped so smplx loads lazily
    """Load the user's body model; `BodyModelError` naming `needed_by` when it is not usable.

    `flat_hand_mean=False` makes the model add its mean hand pose to the given hand poses
    (datasets differ in which convention their hand poses follow).
    """
    hint = "pass --body-model DIR with your licensed model files"
    if directory is None:
        raise BodyModelError(
            f"{needed_by}: {model_type.upper()} parameters need a body model; {hint}"
        )
    path = model_file(Path(directory), model_type, gender)
    if path is None:
        raise BodyModelError(
            f"{needed_by}: no {model_type.upper()} model in {directory} "
            f"(expected {model_type}/{model_type.upper()}_{gender.upper()}.pkl or .npz); {hint}"
        )
    return _cached_model(str(path), model_type, flat_hand_mean)


@lru_cache(maxsize=4)
def _cached_model(path: str, model_type: ModelType, flat_hand_mean: bool):
    """Build a smplx model once per process: loading a real model takes about a second."""
    import smplx

    options: dict[str, object] = {"batch_size": 1}
    if model_type != "smpl":
        # Full 45-number hand poses as the datasets store them, not PCA coefficients.
        options.update(use_pca=False, flat_hand_mean=flat_hand_mean, ext=Path(path).suffix[1:])
    if model_type == "smplx":
        options.update(use_face_contour=False)
    try:
        _check_model_pickles(Path(path))
        # smplx prints warnings (e.g. about 10-beta models) to stdout; they would break progress
        # bars.
        with contextlib.redirect_stdout(io.StringIO()):
            return smplx.create(path, model_type=model_type, **options)
    except Exception as error:  # smplx raises anything from pickle, numpy and torch on a bad file
        reason = first_line(error)
        raise BodyModelError(
            f"{path}: cannot load the body model ({reason}); pass --body-model DIR with your "
            "licensed model files"
        ) from error


def _model_globals() -> dict[tuple[str, str], Any]:
    """What body-model pickles name: numpy arrays and plain containers (`ARRAY_GLOBALS`), scipy's
    sparse matrices (SMPL's joint regressor), and the `copyreg` reconstruction that protocol-0
    pickles of them use, under their Python 2 and 3 names."""
    import scipy.sparse

    sparse = {
        (f"scipy.sparse.{private}{kind}", f"{kind}_matrix"): getattr(scipy.sparse, f"{kind}_matrix")
        for kind in ("csc", "csr")
        for private in ("", "_")  # scipy < 1.8 and later module names
    }
    python_2_and_3 = {
        **{
            (module, "_reconstructor"): copyreg._reconstructor for module in ("copyreg", "copy_reg")
        },
        **{(module, "object"): object for module in ("builtins", "__builtin__")},
    }
    return {**ARRAY_GLOBALS, **sparse, **python_2_and_3}


def _check_model_pickles(path: Path) -> None:
    """Read what smplx would unpickle from `path` with the restricted unpickler first (the whole
    `.pkl`; an `.npz`'s object arrays, which smplx loads with `allow_pickle=True`): a file that
    names anything but arrays, sparse matrices and containers raises before smplx opens it. This
    reads a `.pkl` model twice, once per process (about a second for a real one)."""
    if path.suffix == ".pkl":
        with path.open("rb") as handle:
            RestrictedUnpickler(handle, _model_globals()).load()
    else:
        check_npz_pickles(path, _model_globals())


def body_joint_positions(model, parameters: BodyParameters) -> tuple[np.ndarray, np.ndarray]:
    """Posed joint positions `[T, 52, 3]` float32 (model units, metres) and the `[52]` mask.

    SMPL models give the 22 body joints (hands invalid, copies of the wrists); SMPL-H and SMPL-X
    give all 52.
    """
    import torch

    model_type = _model_type(model)
    frames = parameters.global_orient.shape[0]
    num_betas = int(model.num_betas)
    betas = np.zeros(num_betas, dtype=np.float32)
    count = min(num_betas, parameters.betas.shape[0])
    betas[:count] = parameters.betas[:count]
    chunks: list[np.ndarray] = []
    with torch.no_grad():
        for start in range(0, frames, _CHUNK_FRAMES):
            span = slice(start, min(start + _CHUNK_FRAMES, frames))
            length = span.stop - span.start
            inputs = {
                "global_orient": _tensor(parameters.global_orient[span]),
                "body_pose": _tensor(parameters.body_pose[span]),
                "transl": _tensor(parameters.translation[span]),
                "betas": _tensor(np.broadcast_to(betas, (length, num_betas))),
            }
            if model_type != "smpl":
                hands = (
                    parameters.hand_pose[span]
                    if parameters.hand_pose is not None
                    else np.zeros((length, 90), dtype=np.float32)
                )
                inputs["left_hand_pose"] = _tensor(hands[:, :45])
                inputs["right_hand_pose"] = _tensor(hands[:, 45:])
            if model_type == "smplx":
                for name, size in (("jaw_pose", 3), ("leye_pose", 3), ("reye_pose", 3)):
                    inputs[name] = torch.zeros(length, size)
                inputs["expression"] = torch.zeros(length, int(model.num_expression_coeffs))
            joints = model(**inputs).joints.numpy()
            chunks.append(_to_joint_set(joints, model_type))
    joints = np.concatenate(chunks, axis=0).astype(np.float32)
    mask = body_only_mask() if model_type == "smpl" else full_mask()
    return joints, mask


def _model_type(model) -> ModelType:
    name = type(model).__name__.lower()
    if name.startswith("smplx"):
        return "smplx"
    if name.startswith("smplh"):
        return "smplh"
    return "smpl"


def _to_joint_set(joints: np.ndarray, model_type: ModelType) -> np.ndarray:
    """Model joints `[T, J, 3]` (with smplx's extra vertex joints) to `[T, 52, 3]`."""
    body = joints[:, :NUM_BODY_JOINTS]
    if model_type == "smpl":
        wrists = body[:, [20, 21]]
        hands = np.repeat(wrists, _HAND_JOINTS_PER_SIDE, axis=1)
    else:
        first = _FIRST_HAND_JOINT[model_type]
        hands = joints[:, first : first + 2 * _HAND_JOINTS_PER_SIDE]
    return np.concatenate([body, hands], axis=1)


def _tensor(array: np.ndarray):
    import torch

    return torch.as_tensor(np.ascontiguousarray(array, dtype=np.float32))
