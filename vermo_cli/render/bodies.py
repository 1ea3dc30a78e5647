"""Which body `vermo render` draws (a skeleton, a mannequin or a fitted SMPL-H mesh), checking
the options that choose it and building the per-person meshes for a motion."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import numpy as np

from vermo_cli.errors import VermoError
from vermo_cli.motion.skeleton import BODY_JOINT_NAMES, BODY_JOINTS
from vermo_cli.render.smplh_files import smplh_model_path


class BodyKind(StrEnum):
    """How each person is drawn."""

    skeleton = "skeleton"
    mannequin = "mannequin"
    smplh = "smplh"


class PersonSurface(Protocol):
    """One person's triangle mesh, whose vertices move every frame (the faces never change)."""

    @property
    def faces(self) -> np.ndarray:
        """`[faces, 3]` vertex indices, counter-clockwise seen from outside."""
        ...

    def surface(self, frame: int) -> tuple[np.ndarray, np.ndarray]:
        """Vertex positions `[vertices, 3]` (metres, y up) and unit normals `[vertices, 3]` on
        `frame`."""
        ...


@dataclass(frozen=True)
class PersonBodies:
    """What draws the people: `surfaces`, one mesh per person (None: the skeleton is drawn),
    and for SMPL-H the `fit_error_mm`, the mean distance (millimetres) from each valid joint
    of the fitted bodies to the motion's over all frames and people, and the `fit_seconds` the
    fit took."""

    surfaces: list[PersonSurface] | None
    fit_error_mm: float | None = None
    fit_seconds: float | None = None


def body_kind(name: str) -> BodyKind:
    """The `BodyKind` called `name`; a one-line `VermoError` for another name."""
    try:
        return BodyKind(name)
    except ValueError:
        choices = ", ".join(kind.value for kind in BodyKind)
        raise VermoError(f"--body must be one of {choices}, got '{name}'") from None


def check_body_options(kind: BodyKind, body_model: Path | None) -> None:
    """One-line `VermoError`s for a body and `--body-model` that do not go together, or a
    `--body-model` folder without SMPL-H files; cheap (no model is loaded)."""
    if kind is not BodyKind.smplh:
        if body_model is not None:
            raise VermoError(
                f"--body-model is for --body smplh only (got --body {kind.value}); drop it or "
                "pass --body smplh"
            )
        return
    smplh_model_path(body_model)


def person_bodies(
    kind: BodyKind, body_model: Path | None, joints: np.ndarray, joint_mask: np.ndarray
) -> PersonBodies:
    """Build what draws each person of `joints` `[agents, frames, 52, 3]` (metres, y up) with
    `joint_mask` `[52]` bool. Mesh bodies need every body joint; SMPL-H loads the model from
    `body_model` and fits it to the joints (seconds on a CPU for a few seconds of motion)."""
    if kind is BodyKind.skeleton:
        return PersonBodies(None)
    missing = [BODY_JOINT_NAMES[joint] for joint in BODY_JOINTS if not joint_mask[joint]]
    if missing:
        raise VermoError(
            f"--body {kind.value} needs all {len(BODY_JOINTS)} body joints, but the motion has no "
            f"{', '.join(missing)}; draw it with --body skeleton"
        )
    if kind is BodyKind.mannequin:
        from vermo_cli.render.mannequin import Mannequin

        return PersonBodies([Mannequin(person, joint_mask) for person in joints])
    from vermo_cli.render.smplh import fit_smplh, load_smplh_model

    fit = fit_smplh(load_smplh_model(body_model), joints, joint_mask)
    return PersonBodies(fit.surfaces(), fit.mean_error_mm, fit.seconds)
