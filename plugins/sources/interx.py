"""Sources for two-person interactions: InterX JSON samples and the InterHuman release layout.

InterX samples (`<id>_data.json`) hold `representations.interhuman.positions`
`[frames, 2, 22, 3]` (metres, y up, SMPL body joint order) with `parents` and `fps`.
InterHuman keeps one `[frames, 492]` vector file per person (`person1/<id>.npy`,
`person2/<id>.npy`) whose first 22 x 3 numbers are the body joint positions (metres, z up, 30 fps),
and captions one per line in `annots/<id>.txt` beside the motion folder. Both people share one
world frame, so their placement relative to each other is kept.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from vermo_cli.data.sources import MotionSource
from vermo_cli.errors import SourceError
from vermo_cli.motion.clip import Caption, SourceClip
from vermo_cli.motion.retarget import retarget_positions
from vermo_cli.motion.skeleton import BODY_JOINT_NAMES, NUM_BODY_JOINTS, PARENTS, body_only_mask

INTERHUMAN_FPS = 30.0
_BODY_MAP = {name: name for name in BODY_JOINT_NAMES}
_INTERX_SUFFIX = "_data.json"
# InterHuman is z up; (x, y, z) -> (x, z, -y) is the proper rotation to y up.
_Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]], dtype=np.float32)
_SPLITS = ("train", "val", "test")


class InterXSource(MotionSource):
    """InterX two-person samples as JSON (`<id>_data.json`)."""

    name = "interx"
    summary = "InterX two-person JSON samples (22-joint positions of both people)"

    def discover(self, paths: list[Path]) -> list[str]:
        """Every `*_data.json` file in `paths`, sorted."""
        return _discover(paths, lambda folder: folder.rglob(f"*{_INTERX_SUFFIX}"), "InterX")

    def load(self, item: str) -> list[SourceClip]:
        """One two-person take."""
        path = Path(item)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            representation = data["representations"]["interhuman"]
            positions = np.asarray(representation["positions"], dtype=np.float32)
            parents = tuple(representation.get("parents", PARENTS[:NUM_BODY_JOINTS]))
            fps = float(data.get("fps", INTERHUMAN_FPS))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise SourceError(
                f"{path}: not an InterX sample ({type(error).__name__}: {error})"
            ) from error
        if parents != PARENTS[:NUM_BODY_JOINTS]:
            raise SourceError(f"{path}: joint parents are not the SMPL body tree")
        if positions.ndim != 4 or positions.shape[1:] != (2, NUM_BODY_JOINTS, 3):
            raise SourceError(
                f"{path}: expected positions [frames, 2, 22, 3], got {positions.shape}"
            )
        name = str(data.get("sample_id", path.name.removesuffix(_INTERX_SUFFIX)))
        return [
            SourceClip(
                take_id=f"interx/{name}",
                dataset="interx",
                joints=_two_people(positions.transpose(1, 0, 2, 3), path),
                fps=fps,
                joint_mask=body_only_mask(),
                captions=_captions(path.parent / "texts" / f"{name}.txt"),
                tags=["headcount:2"],
                origin=str(path),
            )
        ]


class InterHumanSource(MotionSource):
    """InterHuman release: `person1/`, `person2/` motion vectors and `annots/` captions."""

    name = "interhuman"
    summary = "InterHuman two-person motions (person1/ person2/ .npy, annots/ captions), 30 fps"

    def discover(self, paths: list[Path]) -> list[str]:
        """Every `person1/*.npy` file in `paths` (its partner is read from `person2/`), sorted."""
        return _discover(
            paths,
            lambda folder: (f for d in folder.rglob("person1") for f in d.glob("*.npy")),
            "InterHuman person1/",
        )

    def load(self, item: str) -> list[SourceClip]:
        """One two-person take from `person1/<id>.npy` and its partner `person2/<id>.npy`."""
        first = Path(item)
        second = first.parent.parent / "person2" / first.name
        if not second.is_file():
            raise SourceError(f"{first}: partner motion {second} not found")
        people = [_interhuman_positions(path) for path in (first, second)]
        frames = min(len(person) for person in people)
        positions = np.stack([person[:frames] for person in people]) @ _Z_UP_TO_Y_UP.T
        # The release puts annots/ and the split lists beside the motion folder.
        root = first.parent.parent.parent
        return [
            SourceClip(
                take_id=f"interhuman/{first.stem}",
                dataset="interhuman",
                joints=_two_people(positions, first),
                fps=INTERHUMAN_FPS,
                joint_mask=body_only_mask(),
                captions=_captions(root / "annots" / f"{first.stem}.txt"),
                tags=["headcount:2"],
                origin=str(first),
                split=_official_splits(str(root)).get(first.stem),
            )
        ]


def _discover(paths: list[Path], find, what: str) -> list[str]:
    """Sorted files from each path: the path itself when it is a file, else `find(folder)`."""
    items: list[str] = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise SourceError(f"{path}: no such file or folder")
        found = [path] if path.is_file() else sorted(find(path))
        if not found:
            raise SourceError(f"{path}: no {what} files found")
        items += [str(f) for f in found]
    return sorted(set(items))


def _interhuman_positions(path: Path) -> np.ndarray:
    """Body joint positions `[frames, 22, 3]` (metres, z up) from one person's vector file."""
    try:
        vectors = np.asarray(np.load(path, allow_pickle=False), dtype=np.float32)
    except (OSError, ValueError) as error:
        raise SourceError(f"{path}: cannot read .npy ({error})") from error
    if vectors.ndim != 2 or vectors.shape[1] < NUM_BODY_JOINTS * 3:
        raise SourceError(f"{path}: expected [frames, 492] motion vectors, got {vectors.shape}")
    return vectors[:, : NUM_BODY_JOINTS * 3].reshape(-1, NUM_BODY_JOINTS, 3)


def _two_people(positions: np.ndarray, path: Path) -> np.ndarray:
    """`[2, frames, 22, 3]` body positions -> `[2, frames, 52, 3]` (hands at the wrists)."""
    if positions.shape[1] < 2:
        raise SourceError(f"{path}: fewer than 2 frames")
    if not np.all(np.isfinite(positions)):
        raise SourceError(f"{path}: joints hold NaN or infinite values")
    return np.stack(
        [retarget_positions(person, BODY_JOINT_NAMES, _BODY_MAP)[0] for person in positions]
    )


def _captions(path: Path) -> list[Caption]:
    """One caption per non-empty line of `path`; none when the file is absent."""
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [Caption(line.strip()) for line in lines if line.strip()]


@lru_cache(maxsize=8)
def _official_splits(root: str) -> dict[str, str]:
    """Take id -> split from the lists `<root>/<split>.txt` or `<root>/split/<split>.txt`.

    Cached because every take of a root asks for the same lists.
    """
    splits: dict[str, str] = {}
    for split in _SPLITS:
        for listing in (Path(root) / f"{split}.txt", Path(root) / "split" / f"{split}.txt"):
            if listing.is_file():
                splits.update(dict.fromkeys(listing.read_text(encoding="utf-8").split(), split))
    return splits
