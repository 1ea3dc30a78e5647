"""Finding the user's licensed SMPL-H model file in the `--body-model` folder."""

from __future__ import annotations

from pathlib import Path

from vermo_cli.errors import BodyModelError

# SMPL-H model files tried in this order: any gender serves, since the fit adjusts the shape.
SMPLH_GENDERS = ("neutral", "male", "female")
SMPLH_FILES = "smplh/SMPLH_NEUTRAL.pkl or .npz, or SMPLH_MALE / SMPLH_FEMALE"


def smplh_model_path(directory: Path | None) -> Path:
    """The SMPL-H model file in `directory` (the `--body-model` folder); a one-line
    `BodyModelError` saying what to pass when there is none."""
    from vermo_plugins.sources.body_model import model_file

    if directory is None:
        raise BodyModelError(
            "--body smplh needs --body-model DIR, the folder with your licensed SMPL-H model "
            f"files ({SMPLH_FILES})"
        )
    directory = Path(directory)
    if not directory.is_dir():
        raise BodyModelError(f"--body-model {directory}: no such directory")
    for gender in SMPLH_GENDERS:
        path = model_file(directory, "smplh", gender)
        if path is not None:
            return path
    raise BodyModelError(
        f"--body-model {directory}: no SMPL-H model there (expected {SMPLH_FILES}); pass the "
        "folder with your licensed SMPL-H files"
    )
