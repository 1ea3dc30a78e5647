"""Source for HumanML3D: 22-joint positions (`new_joints/*.npy`, 20 fps) with their captions.

A HumanML3D root holds `new_joints/<id>.npy` (`[frames, 22, 3]` metres, y up, SMPL body joint
order, left side on the person's left), `texts/<id>.txt` (lines `caption#tokens#start#end`,
seconds; `0.0#0.0` means the whole clip, a sub-range makes its own take cut to that range) and
`train.txt` / `val.txt` / `test.txt` with the official split. Ids starting with `M` are the
dataset's mirrored copies (with left and right relabelled, so they are not mirror images on our
skeleton). A single `.npz` holding `joints` `[frames, 22, 3]` (and optionally `caption`) at 20 fps
is read as one take too.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np

from vermo_cli.data.sources import MotionSource
from vermo_cli.errors import SourceError
from vermo_cli.motion.clip import Caption, SourceClip
from vermo_cli.motion.retarget import retarget_positions
from vermo_cli.motion.skeleton import BODY_JOINT_NAMES, NUM_BODY_JOINTS, body_only_mask

HUMANML3D_FPS = 20.0
SPLITS = ("train", "val", "test")
_JOINTS_FOLDER = "new_joints"
_TEXTS_FOLDER = "texts"
# HumanML3D's own loader drops sub-range captions shorter than this many frames at 20 fps.
_MIN_RANGE_FRAMES = 2
_BODY_MAP = {name: name for name in BODY_JOINT_NAMES}


class HumanML3DSource(MotionSource):
    """HumanML3D roots (`new_joints/`, `texts/`, split lists) and single 22-joint `.npz` files."""

    name = "humanml3d"
    summary = "HumanML3D 22-joint positions at 20 fps with captions and the official split"

    def discover(self, paths: list[Path]) -> list[str]:
        """`new_joints/*.npy` files under each folder, or the `.npy`/`.npz` files given, sorted."""
        items: list[str] = []
        for path in paths:
            path = Path(path)
            if not path.exists():
                raise SourceError(f"{path}: no such file or folder")
            if path.is_file():
                if path.suffix not in (".npy", ".npz"):
                    raise SourceError(f"{path}: not a HumanML3D joints file (.npy or .npz)")
                items.append(str(path))
                continue
            folders = [path] if path.name == _JOINTS_FOLDER else sorted(path.rglob(_JOINTS_FOLDER))
            found = [str(f) for folder in folders for f in sorted(folder.glob("*.npy"))]
            if not found:
                raise SourceError(f"{path}: no HumanML3D {_JOINTS_FOLDER}/*.npy files found")
            items += found
        return sorted(set(items))

    def load(self, item: str) -> list[SourceClip]:
        """One take per whole-clip caption set plus one per captioned sub-range."""
        path = Path(item)
        if path.suffix == ".npz":
            return [_load_npz(path)]
        joints = _smplh_joints(_read_npy(path), path)
        root = path.parent.parent
        split = official_splits(str(root)).get(path.stem)
        whole, ranges = _read_captions(root / _TEXTS_FOLDER / f"{path.stem}.txt")
        clips = [
            SourceClip(
                take_id=f"humanml3d/{path.stem}",
                dataset="humanml3d",
                joints=joints,
                fps=HUMANML3D_FPS,
                joint_mask=body_only_mask(),
                captions=whole,
                origin=str(path),
                split=split,
            )
        ]
        for (start, end), captions in sorted(ranges.items()):
            first, last = start, min(end, joints.shape[1])
            if last - first < _MIN_RANGE_FRAMES:
                continue
            clips.append(
                SourceClip(
                    take_id=f"humanml3d/{path.stem}#{first}-{last}",
                    dataset="humanml3d",
                    joints=joints[:, first:last],
                    fps=HUMANML3D_FPS,
                    joint_mask=body_only_mask(),
                    captions=captions,
                    origin=str(path),
                    split=split,
                )
            )
        return clips


@lru_cache(maxsize=8)
def official_splits(root: str) -> dict[str, str]:
    """Clip id -> "train" / "val" / "test" from the split lists in a HumanML3D `root` folder.

    Cached because every clip of a root asks for the same lists.
    """
    splits: dict[str, str] = {}
    for split in SPLITS:
        listing = Path(root) / f"{split}.txt"
        if listing.is_file():
            for line in listing.read_text(encoding="utf-8").split():
                splits[line.strip()] = split
    return splits


def _read_captions(
    path: Path,
) -> tuple[list[Caption], dict[tuple[int, int], list[Caption]]]:
    """Whole-clip captions and captions per `(start, end)` frame range (20 fps) of a text file.

    A missing file means an uncaptioned clip.
    """
    whole: list[Caption] = []
    ranges: dict[tuple[int, int], list[Caption]] = {}
    if not path.is_file():
        return whole, ranges
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.strip().split("#")
        if len(fields) != 4:
            raise SourceError(f"{path}: line {number} is not 'caption#tokens#start#end'")
        text = fields[0].strip()
        try:
            start, end = float(fields[2]), float(fields[3])
        except ValueError as error:
            raise SourceError(f"{path}: line {number} has a bad start/end time") from error
        # HumanML3D writes NaN for "no range" in a few files; it means the whole clip.
        start = 0.0 if math.isnan(start) else start
        end = 0.0 if math.isnan(end) else end
        if start == 0.0 and end == 0.0:
            whole.append(Caption(text))
        else:
            frames = (int(start * HUMANML3D_FPS), int(end * HUMANML3D_FPS))
            ranges.setdefault(frames, []).append(Caption(text))
    return whole, ranges


def _load_npz(path: Path) -> SourceClip:
    """A single take stored as `.npz` with `joints` `[frames, 22, 3]` (20 fps)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "joints" not in archive.files:
                raise SourceError(f"{path}: no 'joints' array (HumanML3D [frames, 22, 3])")
            positions = np.asarray(archive["joints"], dtype=np.float32)
            caption = str(archive["caption"]) if "caption" in archive.files else ""
            name = str(archive["sample_id"]) if "sample_id" in archive.files else path.stem
    except (OSError, ValueError) as error:
        raise SourceError(f"{path}: cannot read .npz ({error})") from error
    return SourceClip(
        take_id=f"humanml3d/{name}",
        dataset="humanml3d",
        joints=_smplh_joints(positions, path),
        fps=HUMANML3D_FPS,
        joint_mask=body_only_mask(),
        captions=[Caption(caption)] if caption else [],
        origin=str(path),
    )


def _read_npy(path: Path) -> np.ndarray:
    try:
        return np.asarray(np.load(path, allow_pickle=False), dtype=np.float32)
    except (OSError, ValueError) as error:
        raise SourceError(f"{path}: cannot read .npy ({error})") from error


def _smplh_joints(positions: np.ndarray, path: Path) -> np.ndarray:
    """`[frames, 22, 3]` HumanML3D positions -> `[1, frames, 52, 3]` (hands at the wrists)."""
    if positions.ndim != 3 or positions.shape[1:] != (NUM_BODY_JOINTS, 3):
        raise SourceError(f"{path}: expected joints [frames, 22, 3], got {positions.shape}")
    if positions.shape[0] < 2:
        raise SourceError(f"{path}: fewer than 2 frames")
    if not np.all(np.isfinite(positions)):
        raise SourceError(f"{path}: joints hold NaN or infinite values")
    joints, _ = retarget_positions(positions, BODY_JOINT_NAMES, _BODY_MAP)
    return joints[None]
