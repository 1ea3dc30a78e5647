"""Source for SMPL-family parameter files: AMASS SMPL-H `.npz` and AIST++ SMPL `.pkl` dances.

Both need the user's licensed body model (`--body-model DIR`); joints come from smplx.
AMASS is z-up and is turned to y-up; AIST++ is y-up with translations scaled by `smpl_scaling`.
AIST++ pickles are read by a restricted unpickler that builds numpy arrays and plain containers
only (`vermo_cli.data.pickles`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from vermo_plugins.sources.body_model import BodyParameters, body_joint_positions, load_body_model

from vermo_cli.data.pickles import load_array_pickle
from vermo_cli.data.sources import MotionSource
from vermo_cli.errors import SourceError
from vermo_cli.motion.clip import Caption, SourceClip

AISTPP_FPS = 60.0
# Rotation taking AMASS's z-up frame to y-up: (x, y, z) -> (x, z, -y), a proper rotation.
_Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
# AMASS keeps per-subject body shapes in files of this name; they hold no motion.
_AMASS_SHAPE_FILE = "shape.npz"
AISTPP_GENRES: dict[str, str] = {
    "gBR": "break",
    "gPO": "pop",
    "gLO": "lock",
    "gMH": "middle hip-hop",
    "gLH": "LA hip-hop",
    "gHO": "house",
    "gWA": "waack",
    "gKR": "krump",
    "gJS": "street jazz",
    "gJB": "ballet jazz",
}
_AISTPP_NAME = re.compile(r"^(g[A-Z]{2})_.*_(m[A-Z]{2}\d+)_")


class SmplSource(MotionSource):
    """AMASS SMPL-H `.npz` takes and AIST++ `.pkl` dances (needs `--body-model DIR`)."""

    name = "smpl"
    summary = "SMPL/SMPL-H parameters: AMASS .npz (z-up) and AIST++ .pkl; needs --body-model DIR"

    def discover(self, paths: list[Path]) -> list[str]:
        """Every `.npz` / `.pkl` file in `paths` (AMASS `shape.npz` files skipped), sorted."""
        items: list[str] = []
        for path in paths:
            path = Path(path)
            if not path.exists():
                raise SourceError(f"{path}: no such file or folder")
            files = [path] if path.is_file() else sorted(path.rglob("*"))
            found = [
                f for f in files
                if f.is_file() and f.suffix in (".npz", ".pkl") and f.name != _AMASS_SHAPE_FILE
            ]  # fmt: skip
            if not found:
                raise SourceError(f"{path}: no SMPL parameter files (.npz or .pkl) found")
            items += [str(f) for f in found]
        return sorted(set(items))

    def load(self, item: str) -> list[SourceClip]:
        """One take from an AMASS `.npz` or an AIST++ `.pkl`."""
        path = Path(item)
        if path.suffix == ".pkl":
            return [self._load_aistpp(path)]
        return [self._load_amass(path)]

    def _load_amass(self, path: Path) -> SourceClip:
        data = _read_npz(path)
        poses = _array(data, "poses", path)
        if poses.ndim != 2 or poses.shape[1] < 66:
            raise SourceError(f"{path}: 'poses' must be [frames, 156], got {poses.shape}")
        fps = float(_first(data, ("mocap_framerate", "mocap_frame_rate"), path))
        gender = _text(data.get("gender", "neutral"))
        model_type = "smplh" if poses.shape[1] >= 156 else "smpl"
        # AMASS stores full hand rotations, with no mean hand pose to add.
        model = load_body_model(self.options.body_model, model_type, gender, path)
        parameters = BodyParameters(
            global_orient=poses[:, :3],
            body_pose=poses[:, 3:66] if model_type == "smplh" else poses[:, 3:72],
            hand_pose=poses[:, 66:156] if model_type == "smplh" else None,
            translation=_array(data, "trans", path),
            betas=np.asarray(data.get("betas", np.zeros(0)), dtype=np.float32).ravel(),
        )
        joints, mask = body_joint_positions(model, parameters)
        joints = joints @ _Z_UP_TO_Y_UP.T.astype(np.float32)
        return SourceClip(
            take_id=f"amass/{_take_name(path)}",
            dataset="amass",
            joints=joints[None],
            fps=fps,
            joint_mask=mask,
            origin=str(path),
        )

    def _load_aistpp(self, path: Path) -> SourceClip:
        data = load_array_pickle(path)
        if not isinstance(data, dict):
            raise SourceError(f"{path}: not an AIST++ pickle (expected a dict of SMPL arrays)")
        poses = _array(data, "smpl_poses", path)
        if poses.ndim != 2 or poses.shape[1] != 72:
            raise SourceError(f"{path}: 'smpl_poses' must be [frames, 72], got {poses.shape}")
        scaling = float(np.asarray(data.get("smpl_scaling", 1.0)).ravel()[0])
        model = load_body_model(self.options.body_model, "smpl", "neutral", path)
        # SMPL's last two pose joints are the hands; the SMPL-H body tree stops at the wrists.
        parameters = BodyParameters(
            global_orient=poses[:, :3],
            body_pose=poses[:, 3:72],
            translation=_array(data, "smpl_trans", path) / scaling,
            betas=np.zeros(0, dtype=np.float32),
        )
        joints, mask = body_joint_positions(model, parameters)
        genre, music = _aistpp_genre_and_music(path)
        tags = [f"genre:{genre}"] if genre else []
        tags += [f"music:{music}"] if music else []
        captions = [Caption(f"a person dances {genre} dance")] if genre else []
        return SourceClip(
            take_id=f"aistpp/{path.stem}",
            dataset="aistpp",
            joints=joints[None],
            fps=AISTPP_FPS,
            joint_mask=mask,
            captions=captions,
            tags=tags,
            origin=str(path),
        )


def _aistpp_genre_and_music(path: Path) -> tuple[str | None, str | None]:
    """Dance genre and music id from an AIST++ name like `gBR_sBM_cAll_d04_mBR0_ch01`."""
    match = _AISTPP_NAME.match(path.stem)
    if match is None:
        return None, None
    return AISTPP_GENRES.get(match.group(1)), match.group(2)


def _take_name(path: Path) -> str:
    """AMASS take id: subject folder plus file stem, unique within a sub-dataset."""
    return f"{path.parent.name}/{path.stem}"


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, ValueError) as error:
        raise SourceError(f"{path}: cannot read .npz ({error})") from error


def _array(data: dict, key: str, path: Path) -> np.ndarray:
    if key not in data:
        raise SourceError(f"{path}: missing '{key}'")
    array = np.asarray(data[key], dtype=np.float32)
    if not np.all(np.isfinite(array)):
        raise SourceError(f"{path}: '{key}' holds NaN or infinite values")
    return array


def _first(data: dict, keys: tuple[str, ...], path: Path) -> np.ndarray:
    for key in keys:
        if key in data:
            return np.asarray(data[key]).ravel()[0]
    raise SourceError(f"{path}: missing '{keys[0]}'")


def _text(value: object) -> str:
    """A string stored as str, bytes or a 0-d numpy array (AMASS stores gender all three ways)."""
    value = np.asarray(value).ravel()[0] if isinstance(value, np.ndarray) else value
    return value.decode() if isinstance(value, bytes) else str(value)
