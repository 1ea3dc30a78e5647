"""Built-in BVH skeletons and users' joint maps: how to recognise a skeleton by its joint names,
its units and axes, and how its joints map onto SMPL-H (`bvh_skeletons.yaml`: LAFAN1, Bandai
Namco, CMU, Xia, BEAT). Used by the `bvh` source and by benchmarks that score BVH skeletons
(the LAFAN1 in-betweening protocol)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from vermo_cli.errors import SourceError, UnknownSkeletonError, first_line
from vermo_cli.motion.retarget import JointMap


@dataclass(frozen=True)
class SkeletonSpec:
    """How to turn one BVH skeleton into SMPL-H: units (`scale` metres per file unit), axes
    (`up_axis` "y" or "z", `handedness` "right" or "left") and the joint map. `dataset` names the
    corpus source the clips belong to."""

    name: str
    dataset: str
    signature: tuple[str, ...]
    scale: float
    up_axis: str
    handedness: str
    joints: JointMap


def _spec_from_mapping(name: str, entry: Mapping[str, Any], what: str) -> SkeletonSpec:
    """Validate one skeleton entry (built-in or a user's joint map file named by `what`)."""
    joints = entry.get("joints")
    if not isinstance(joints, Mapping) or not joints:
        raise SourceError(f"{what}: joint map needs a 'joints' mapping of SMPL-H joint -> name")
    for target, source in joints.items():
        # Blend weights are normalised by their sum; a negative one extrapolates past a joint.
        blend_ok = (
            isinstance(source, Mapping)
            and all(isinstance(k, str) and isinstance(w, int | float) for k, w in source.items())
            and sum(source.values()) > 0
        )
        if not (isinstance(source, str) or blend_ok):
            raise SourceError(
                f"{what}: joints.{target} must be a joint name or {{name: weight}} with a "
                "positive sum"
            )
    try:
        scale = float(entry.get("scale", 1.0))
    except (TypeError, ValueError):
        raise SourceError(f"{what}: scale must be a number (metres per file unit)") from None
    up_axis = str(entry.get("up_axis", "y")).lower()
    handedness = str(entry.get("handedness", "right")).lower()
    if not scale > 0:
        raise SourceError(f"{what}: scale must be positive (metres per file unit)")
    if up_axis not in ("y", "z"):
        raise SourceError(f"{what}: up_axis must be 'y' or 'z', got '{up_axis}'")
    if handedness not in ("right", "left"):
        raise SourceError(f"{what}: handedness must be 'right' or 'left', got '{handedness}'")
    return SkeletonSpec(
        name=name,
        dataset=str(entry.get("dataset", name)),
        signature=tuple(entry.get("signature", ())),
        scale=scale,
        up_axis=up_axis,
        handedness=handedness,
        joints=dict(joints),
    )


@functools.cache
def builtin_skeletons() -> tuple[SkeletonSpec, ...]:
    """The skeletons in `bvh_skeletons.yaml`, in matching order."""
    text = resources.files("vermo_cli.motion").joinpath("bvh_skeletons.yaml").read_text()
    entries = yaml.safe_load(text)["skeletons"]
    return tuple(
        _spec_from_mapping(name, entry, f"bvh_skeletons.yaml:{name}")
        for name, entry in entries.items()
    )


def load_joint_map(path: Path) -> SkeletonSpec:
    """A user's joint map (YAML or JSON: `joints`, optional `scale`, `up_axis`, `handedness`,
    `name`). Raises a one-line `SourceError` naming the file when it is missing or invalid."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: joint map file not found")
    try:
        entry = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        reason = first_line(error)
        raise SourceError(f"{path}: joint map is not valid YAML ({reason})") from None
    if not isinstance(entry, Mapping):
        raise SourceError(f"{path}: joint map must be a mapping with a 'joints' key")
    name = str(entry.get("name", path.stem))
    return _spec_from_mapping(name, {"dataset": name, **entry}, str(path))


def identify_skeleton(joint_names: list[str], path: Path) -> SkeletonSpec:
    """The built-in skeleton whose signature the file's joints match, else
    `UnknownSkeletonError` listing the joints."""
    present = set(joint_names)
    for spec in builtin_skeletons():
        if present.issuperset(spec.signature):
            return spec
    real = [name for name in joint_names if not name.endswith("_end_site")]
    raise UnknownSkeletonError(
        f"{path}: unknown BVH skeleton with joints [{', '.join(real)}]; pass --joint-map FILE.yaml "
        "mapping SMPL-H joint names to these"
    )


def to_metres_y_up(positions: np.ndarray, spec: SkeletonSpec) -> np.ndarray:
    """`[..., 3]` file-unit positions in the spec's axes -> metres, right-handed, y up."""
    metres = positions * spec.scale
    if spec.handedness == "left":
        metres = metres * np.array([-1.0, 1.0, 1.0])
    if spec.up_axis == "z":
        # A quarter turn about x takes right-handed z-up to y-up: (x, y, z) -> (x, z, -y).
        metres = np.stack([metres[..., 0], metres[..., 2], -metres[..., 1]], axis=-1)
    return metres
