"""Tests of the two-person sources: the real InterX JSON sample and a tiny InterHuman layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from vermo_plugins.sources.interx import InterHumanSource, InterXSource

from vermo_cli.data.sources import SourceOptions
from vermo_cli.errors import SourceError
from vermo_cli.motion.canonical import canonicalize_motion
from vermo_cli.motion.skeleton import (
    JOINT_INDEX,
    LEFT_JOINTS,
    PARENTS,
    REST_OFFSETS,
    RIGHT_JOINTS,
    body_only_mask,
)


def _pelvis_distance(joints: np.ndarray) -> float:
    """Distance (metres) between the two people's pelvises on frame 0."""
    return float(np.linalg.norm(joints[0, 0, 0] - joints[1, 0, 0]))


def _assert_people_not_mirrored(joints: np.ndarray) -> None:
    """Every person has the left side on their left and the toes in front of the ankles."""
    for person in joints[:, 0]:
        forward = person[JOINT_INDEX["left_foot"]] - person[JOINT_INDEX["left_ankle"]]
        left = person[list(LEFT_JOINTS[:8])].mean(axis=0) - person[list(RIGHT_JOINTS[:8])].mean(
            axis=0
        )
        # Right-handed, y up: left x up points backwards for a person who is not mirrored.
        assert np.dot(np.cross(left, [0.0, 1.0, 0.0]), forward) > 0


@pytest.mark.shared_data
def test_interx_sample_keeps_two_people_and_their_placement(shared_data: Path) -> None:
    source = InterXSource(SourceOptions())
    items = source.discover([shared_data / "interx"])
    assert [Path(item).name for item in items] == ["G021T002A012R014_data.json"]
    (clip,) = source.load(items[0])
    assert clip.take_id == "interx/G021T002A012R014"
    assert clip.joints.shape == (2, 72, 52, 3)
    assert clip.agents == 2 and clip.fps == 30.0
    assert np.array_equal(clip.joint_mask, body_only_mask())
    canonical = canonicalize_motion(clip.joints)
    assert _pelvis_distance(canonical) == pytest.approx(_pelvis_distance(clip.joints), abs=1e-4)
    assert 1.0 < _pelvis_distance(clip.joints) < 3.0
    _assert_people_not_mirrored(clip.joints)
    first = canonical[0, 0]
    assert first[list(LEFT_JOINTS[:8]), 0].mean() > 0


def _standing_person(frames: int, position: tuple[float, float], facing_y: bool) -> np.ndarray:
    """`[frames, 492]` InterHuman vectors of a person standing at `position` (x, y) metres in
    the z-up frame, turned to face +y (toward the other person) or -y."""
    joints = np.zeros((22, 3))
    for joint, parent in enumerate(PARENTS[:22]):
        joints[joint] = REST_OFFSETS[joint] + (joints[parent] if parent >= 0 else 0.0)
    # Rest pose is y up facing +z; stand it up in z-up coordinates facing -y: (x, y, z)->(x,-z,y).
    z_up = np.stack([joints[:, 0], -joints[:, 2], joints[:, 1]], axis=-1)
    if facing_y:
        z_up[:, :2] *= -1.0  # half turn about z
    z_up[:, :2] += position
    vectors = np.zeros((frames, 492), dtype=np.float32)
    vectors[:, :66] = z_up.reshape(-1)
    return vectors


def _write_interhuman(root: Path, frames: int = 40) -> None:
    for folder in ("motions/person1", "motions/person2", "annots"):
        (root / folder).mkdir(parents=True)
    np.save(root / "motions/person1/7.npy", _standing_person(frames, (0.0, 0.0), facing_y=True))
    np.save(root / "motions/person2/7.npy", _standing_person(frames, (0.0, 1.5), facing_y=False))
    (root / "annots/7.txt").write_text(
        "two people greet each other.\n\none person bows to the other.\n"
    )
    (root / "train.txt").write_text("7\n")


def test_interhuman_layout_reads_both_people_captions_and_split(tmp_path: Path) -> None:
    _write_interhuman(tmp_path / "InterHuman")
    source = InterHumanSource(SourceOptions())
    items = source.discover([tmp_path])
    assert items == [str(tmp_path / "InterHuman/motions/person1/7.npy")]
    (clip,) = source.load(items[0])
    assert clip.take_id == "interhuman/7"
    assert clip.joints.shape == (2, 40, 52, 3) and clip.fps == 30.0
    assert [c.text for c in clip.captions] == [
        "two people greet each other.", "one person bows to the other.",
    ]  # fmt: skip
    assert clip.split == "train"
    # z up became y up: heads are well above the pelvises.
    assert np.all(clip.joints[:, 0, JOINT_INDEX["head"], 1] > clip.joints[:, 0, 0, 1] + 0.4)
    canonical = canonicalize_motion(clip.joints)
    assert _pelvis_distance(canonical) == pytest.approx(1.5, abs=1e-4)
    assert _pelvis_distance(clip.joints) == pytest.approx(1.5, abs=1e-4)
    _assert_people_not_mirrored(clip.joints)
    # Facing each other: after canonicalisation the partner stands in front (+z).
    assert canonical[1, 0, 0, 2] == pytest.approx(1.5, abs=1e-3)


def test_interhuman_missing_partner_is_a_one_line_error(tmp_path: Path) -> None:
    _write_interhuman(tmp_path)
    (tmp_path / "motions/person2/7.npy").unlink()
    with pytest.raises(SourceError, match="partner motion") as error:
        InterHumanSource(SourceOptions()).load(str(tmp_path / "motions/person1/7.npy"))
    assert "\n" not in str(error.value)


def test_bad_interx_json_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "A_data.json"
    bad.write_text('{"fps": 30}')
    source = InterXSource(SourceOptions())
    assert source.discover([tmp_path]) == [str(bad)]
    with pytest.raises(SourceError, match=r"A_data\.json: not an InterX sample") as error:
        source.load(str(bad))
    assert "\n" not in str(error.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no InterX"):
        source.discover([tmp_path / "empty"])
