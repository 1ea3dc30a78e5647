"""Tests of the HumanML3D source: real sample joints, captions with sub-ranges, official splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from vermo_plugins.sources.humanml3d import HumanML3DSource

from vermo_cli.data.sources import SourceOptions
from vermo_cli.errors import SourceError
from vermo_cli.motion.canonical import canonicalize_motion
from vermo_cli.motion.skeleton import JOINT_INDEX, LEFT_JOINTS, RIGHT_JOINTS, body_only_mask

OFFICIAL = "humanml3d/official/HumanML3D"


def _assert_not_mirrored(joints: np.ndarray) -> None:
    """After canonicalisation the left side is on +x and the toes are in front of the ankles."""
    frame = canonicalize_motion(joints)[0, 0]
    assert frame[list(LEFT_JOINTS[:8]), 0].mean() > 0 > frame[list(RIGHT_JOINTS[:8]), 0].mean()
    for side in ("left", "right"):
        assert frame[JOINT_INDEX[f"{side}_foot"], 2] > frame[JOINT_INDEX[f"{side}_ankle"], 2]


@pytest.mark.shared_data
def test_official_sample_loads_with_split_and_no_captions(shared_data: Path) -> None:
    source = HumanML3DSource(SourceOptions())
    items = source.discover([shared_data / "humanml3d"])
    assert items == [str(shared_data / OFFICIAL / "new_joints" / "012314.npy")]
    (clip,) = source.load(items[0])
    assert clip.take_id == "humanml3d/012314"
    assert clip.joints.shape == (1, 170, 52, 3)
    assert clip.fps == 20.0
    assert clip.split == "train"
    assert clip.captions == []
    assert np.array_equal(clip.joint_mask, body_only_mask())
    # Hands are copies of the wrists (invalid joints hold their nearest valid ancestor).
    assert np.allclose(clip.joints[0, :, JOINT_INDEX["left_index1"]],
                       clip.joints[0, :, JOINT_INDEX["left_wrist"]])  # fmt: skip
    _assert_not_mirrored(clip.joints)


@pytest.mark.shared_data
def test_protocol_npz_sample_loads(shared_data: Path) -> None:
    path = shared_data / "humanml3d" / "motius_004822_protocol.npz"
    source = HumanML3DSource(SourceOptions())
    assert source.discover([path]) == [str(path)]
    (clip,) = source.load(str(path))
    assert clip.take_id == "humanml3d/004822"
    assert clip.joints.shape == (1, 200, 52, 3)
    height = clip.joints[0, 0, JOINT_INDEX["head"], 1] - clip.joints[0, 0, :, 1].min()
    assert 1.3 < height < 1.9
    _assert_not_mirrored(clip.joints)


def _write_root(root: Path, frames: int = 100) -> None:
    (root / "new_joints").mkdir(parents=True)
    (root / "texts").mkdir()
    rng = np.random.default_rng(0)
    for name in ("000001", "M000001", "000002"):
        np.save(root / "new_joints" / f"{name}.npy", rng.normal(size=(frames, 22, 3)))
    (root / "texts" / "000001.txt").write_text(
        "a person walks forward.#a/DET person/NOUN walk/VERB forward/ADV#0.0#0.0\n"
        "someone strolls ahead.#someone/PRON stroll/VERB ahead/ADV#0.0#0.0\n"
        "a person waves.#a/DET person/NOUN wave/VERB#1.0#2.5\n"
        "the person jumps.#the/DET person/NOUN jump/VERB#nan#nan\n"
    )
    (root / "train.txt").write_text("000001\nM000001\n")
    (root / "test.txt").write_text("000002\n")


def test_captions_sub_ranges_and_splits(tmp_path: Path) -> None:
    _write_root(tmp_path / "HumanML3D")
    source = HumanML3DSource(SourceOptions())
    items = source.discover([tmp_path])
    assert [Path(item).stem for item in items] == ["000001", "000002", "M000001"]
    whole, waving = source.load(items[0])
    assert [c.text for c in whole.captions] == [
        "a person walks forward.", "someone strolls ahead.", "the person jumps.",
    ]  # fmt: skip
    assert whole.frames == 100 and whole.split == "train"
    assert waving.take_id == "humanml3d/000001#20-50"
    assert waving.frames == 30 and [c.text for c in waving.captions] == ["a person waves."]
    assert np.array_equal(waving.joints, whole.joints[:, 20:50])
    (other,) = source.load(items[1])
    assert other.split == "test" and other.captions == []
    (mirrored,) = source.load(items[2])
    assert mirrored.take_id == "humanml3d/M000001" and mirrored.split == "train"


def test_bad_inputs_are_one_line_source_errors(tmp_path: Path) -> None:
    source = HumanML3DSource(SourceOptions())
    with pytest.raises(SourceError, match="no such file"):
        source.discover([tmp_path / "absent"])
    with pytest.raises(SourceError, match="no HumanML3D"):
        source.discover([tmp_path])
    vectors = tmp_path / "vecs.npy"
    np.save(vectors, np.zeros((10, 263)))
    with pytest.raises(SourceError, match=r"vecs\.npy: expected joints \[frames, 22, 3\]"):
        source.load(str(vectors))
    garbage = tmp_path / "garbage.npy"
    garbage.write_bytes(b"not numpy")
    with pytest.raises(SourceError) as error:
        source.load(str(garbage))
    assert "\n" not in str(error.value) and "garbage.npy" in str(error.value)
