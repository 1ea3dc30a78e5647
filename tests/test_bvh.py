"""Tests for the BVH reader and writer (vermo_cli.motion.bvh)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from vermo_cli.errors import SourceError
from vermo_cli.motion.bvh import BvhMotion, read_bvh, write_bvh

# A root with Z-X-Y rotations, a child with its own X-Y-Z order and translation channels, an end
# site; tabs and CRLF line ends as some exporters write them.
_SMALL_BVH = """HIERARCHY
ROOT Hips
{
\tOFFSET 0 0 0
\tCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
\tJOINT Chest
\t{
\t\tOFFSET 0 10 0
\t\tCHANNELS 6 Xposition Yposition Zposition Xrotation Yrotation Zrotation
\t\tEnd Site
\t\t{
\t\t\tOFFSET 0 5 0
\t\t}
\t}
}
MOTION
Frames: 2
Frame Time: 0.0083333
1 2 3 0 0 0 0 10 0 0 0 0
1 2 3 90 90 0 0 20 0 0 0 0
"""


def _write(tmp_path: Path, text: str, name: str = "take.bvh", crlf: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((text.replace("\n", "\r\n") if crlf else text).encode())
    return path


def test_small_file_parses_hierarchy_channels_and_crlf(tmp_path: Path) -> None:
    motion = read_bvh(_write(tmp_path, _SMALL_BVH, crlf=True))
    assert motion.joint_names == ["Hips", "Chest", "Chest_end_site"]
    assert motion.parents == [-1, 0, 1]
    assert motion.channels[2] == []
    assert motion.fps == 120.0  # 0.0083333 s is a rounded 1/120
    np.testing.assert_allclose(motion.offsets[1], [0, 10, 0])
    np.testing.assert_allclose(motion.root_positions, [[1, 2, 3], [1, 2, 3]])


def test_rotations_are_intrinsic_in_channel_order(tmp_path: Path) -> None:
    motion = read_bvh(_write(tmp_path, _SMALL_BVH))
    expected = Rotation.from_euler("Z", 90, degrees=True) * Rotation.from_euler(
        "X", 90, degrees=True
    )
    np.testing.assert_allclose(motion.local_rotations[1, 0], expected.as_matrix(), atol=1e-12)


def test_positions_follow_rotations_and_child_translation_channels(tmp_path: Path) -> None:
    positions = read_bvh(_write(tmp_path, _SMALL_BVH)).positions()
    # Frame 0: identity rotations; the chest's translation channels say (0, 10, 0).
    np.testing.assert_allclose(positions[0], [[1, 2, 3], [1, 12, 3], [1, 17, 3]], atol=1e-9)
    # Frame 1: root Rz(90) Rx(90) takes the chest's (0, 20, 0) to (0, 0, 20) and so the chest
    # (no rotation of its own) and its end site lie along +z.
    np.testing.assert_allclose(positions[1], [[1, 2, 3], [1, 2, 23], [1, 2, 28]], atol=1e-9)


def _random_motion(seed: int) -> BvhMotion:
    rng = np.random.default_rng(seed)
    frames = 7
    channels = [
        ["Xposition", "Yposition", "Zposition", "Yrotation", "Xrotation", "Zrotation"],
        ["Zrotation", "Yrotation", "Xrotation"],
        ["Xposition", "Yposition", "Zposition", "Xrotation", "Zrotation", "Yrotation"],
        [],
    ]
    return BvhMotion(
        joint_names=["Root", "Spine", "Arm", "Arm_end_site"],
        parents=[-1, 0, 1, 2],
        offsets=np.array([[0, 0, 0], [0, 12, 1], [5, 0, 0], [0, 0, 7.5]]),
        channels=channels,
        fps=30.0,
        local_rotations=Rotation.random(frames * 4, random_state=seed)
        .as_matrix()
        .reshape(frames, 4, 3, 3),
        root_positions=rng.normal(size=(frames, 3)) * 50,
        translations=np.broadcast_to(
            [[0, 0, 0], [0, 12, 1], [5, 0, 0], [0, 0, 7.5]], (frames, 4, 3)
        )
        + rng.normal(size=(frames, 4, 3)) * np.array([0, 0, 1, 0])[None, :, None],
    )


def test_write_then_read_gives_the_same_positions(tmp_path: Path) -> None:
    motion = _random_motion(seed=3)
    path = tmp_path / "out" / "round_trip.bvh"
    write_bvh(path, motion)
    again = read_bvh(path)
    assert again.joint_names == motion.joint_names
    assert again.channels == motion.channels
    assert again.fps == 30.0
    np.testing.assert_allclose(again.positions(), motion.positions(), atol=1e-4)
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


@pytest.mark.shared_data
def test_lafan1_take_round_trips(shared_data: Path, tmp_path: Path) -> None:
    motion = read_bvh(shared_data / "lafan1" / "bvh" / "push1_subject2.bvh")
    write_bvh(tmp_path / "copy.bvh", motion)
    again = read_bvh(tmp_path / "copy.bvh")
    np.testing.assert_allclose(again.positions(), motion.positions(), atol=1e-4)


@pytest.mark.shared_data
def test_lafan1_take_has_its_declared_frames_and_crlf_parses(shared_data: Path) -> None:
    path = shared_data / "lafan1" / "bvh" / "walk4_subject1.bvh"
    assert b"\r\n" in path.read_bytes()[:200]
    motion = read_bvh(path)
    assert motion.frames == 4918
    assert motion.fps == 30.0
    assert len(motion.joint_names) == 22 + 5  # 22 joints and 5 end sites
    positions = motion.positions()
    assert positions.shape == (4918, 27, 3)
    assert np.isfinite(positions).all()


def _cut_motion(text: str) -> str:
    return text[: text.index("1 2 3 90")] + "1 2 3 90 9"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (_cut_motion(_SMALL_BVH), "truncated"),
        (_SMALL_BVH[: _SMALL_BVH.index("MOTION")], "no MOTION"),
        (_SMALL_BVH.replace("\t}\n}", "\t}\n"), "malformed hierarchy"),
        (_SMALL_BVH.replace("JOINT Chest", "JOINT"), "JOINT without a name"),
        (_SMALL_BVH.replace("OFFSET 0 10 0", "OFFSET 0 ten 0"), "non-numeric"),
        (_SMALL_BVH.replace("Zrotation Xrotation", "Zrotation Wrotation"), "unknown channel"),
        (_SMALL_BVH.replace("1 2 3 90 90", "1 2 3 90 abc"), "non-numeric value 'abc'"),
        (_SMALL_BVH.replace("Frames: 2", "Frames: 0"), "0 frames"),
        (_SMALL_BVH.replace("Frame Time: 0.0083333", "Frame Time: 0"), "frame time"),
    ],
    ids=[
        "truncated",
        "no-motion",
        "unbalanced",
        "unnamed-joint",
        "bad-offset",
        "bad-channel",
        "non-numeric",
        "zero-frames",
        "zero-frame-time",
    ],
)
def test_bad_files_raise_one_line_errors_naming_the_file(
    tmp_path: Path, text: str, fragment: str
) -> None:
    path = _write(tmp_path, text, name="bad.bvh")
    with pytest.raises(SourceError) as caught:
        read_bvh(path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    assert fragment in message


def test_missing_file_raises_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such BVH file"):
        read_bvh(tmp_path / "absent.bvh")
