"""Tests for the `bvh` source: skeleton maps, units, axes, captions and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from vermo_plugins.sources.bvh import (
    BvhSource,
    dataset_labels,
    load_bvh_as_smplh,
)

from vermo_cli.data.sources import SourceOptions, load_source
from vermo_cli.errors import SourceError, UnknownSkeletonError
from vermo_cli.motion.bvh import BvhMotion, write_bvh
from vermo_cli.motion.bvh_skeletons import builtin_skeletons
from vermo_cli.motion.canonical import canonicalize_motion, facing_direction
from vermo_cli.motion.kinematics import forward_kinematics
from vermo_cli.motion.resample import resample_motion
from vermo_cli.motion.skeleton import (
    BODY_JOINT_NAMES,
    HUMAN_BONE_RANGES,
    JOINT_INDEX,
    NUM_BODY_JOINTS,
    PARENTS,
    REST_OFFSETS,
)

BANDAI_1 = Path("bandai/Bandai-Namco-Research-Motiondataset-1")
BANDAI_2 = Path("bandai/Bandai-Namco-Research-Motiondataset-2")

# One representative take per skeleton in ../shared/data, with the dataset it must be labelled.
SAMPLES: dict[str, tuple[Path, str]] = {
    "lafan1": (Path("lafan1/bvh/walk4_subject1.bvh"), "lafan1"),
    "bandai-1": (BANDAI_1 / "data/dataset-1_bye_happy_001.bvh", "bandai"),
    "bandai-2": (BANDAI_2 / "data/dataset-2_walk_normal_001.bvh", "bandai"),
    "cmu-bvh11": (Path("cmu/bvh11/131_01.bvh"), "cmu"),
    "cmu-fairmotion": (Path("cmu/fairmotion/01_01.bvh"), "cmu"),
    "xia": (Path("xia/neutral_01_000.bvh"), "xia"),
    "beat": (Path("beat2/meeting_1_wayne_0_1_1_30fps_250f.bvh"), "beat"),
}


def _canonical(path: Path) -> np.ndarray:
    """`[frames, 52, 3]` at 30 fps in the canonical frame."""
    take = load_bvh_as_smplh(path)
    return canonicalize_motion(resample_motion(take.joints[None], take.fps))[0]


def _joint(frame: np.ndarray, name: str) -> np.ndarray:
    return frame[JOINT_INDEX[name]]


def _facing_directions(joints: np.ndarray) -> np.ndarray:
    """`facing_direction` of every frame of `[T, 52, 3]`, as `[T, 3]` (vectorised for speed)."""
    across = sum(
        sign * joints[:, JOINT_INDEX[f"{side}_{part}"]]
        for part in ("hip", "shoulder")
        for side, sign in (("left", 1.0), ("right", -1.0))
    )
    forward = np.cross(across, [0.0, 1.0, 0.0]) * [1.0, 0.0, 1.0]
    return forward / np.linalg.norm(forward, axis=-1, keepdims=True)


def _check_body(joints: np.ndarray, name: str) -> None:
    """Assertions that hold for any retargeted, canonicalised take (`[T, 52, 3]` metres)."""
    first = joints[0]
    assert joints[..., 1].min() == pytest.approx(0.0, abs=1e-5), name
    np.testing.assert_allclose(_joint(first, "pelvis")[[0, 2]], 0.0, atol=1e-5)
    np.testing.assert_allclose(facing_direction(first), [0.0, 0.0, 1.0], atol=1e-5)
    # Left of a person facing +z is +x: a mirrored skeleton would put the left hip at -x.
    for part in ("hip", "shoulder"):
        assert _joint(first, f"left_{part}")[0] > _joint(first, f"right_{part}")[0], (name, part)
    for (parent, child), (low, high) in HUMAN_BONE_RANGES.items():
        length = np.linalg.norm(
            joints[:, JOINT_INDEX[child]] - joints[:, JOINT_INDEX[parent]], axis=-1
        )
        assert low <= length.min() and length.max() <= high, (name, parent, child)
        assert length.std() < 0.02 * length.mean(), (name, parent, child)


@pytest.mark.shared_data
@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_every_skeleton_lands_upright_facing_forward_and_unmirrored(
    shared_data: Path, sample: str
) -> None:
    joints = _canonical(shared_data / SAMPLES[sample][0])
    _check_body(joints, sample)
    first = joints[0]
    # Toes lie in front of the ankles: a mirror image that still faced +z would fail this.
    for side in ("left", "right"):
        assert _joint(first, f"{side}_foot")[2] > _joint(first, f"{side}_ankle")[2], side
    head_height = _joint(first, "head")[1] - _joint(first, "pelvis")[1]
    assert 0.4 <= head_height <= 0.8
    standing = joints[0, :, 1].max()
    assert 1.3 <= standing <= 1.9  # head joint height: stature less the top of the skull


@pytest.mark.shared_data
@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_source_clip_fields(shared_data: Path, sample: str) -> None:
    path, dataset = SAMPLES[sample]
    (clip,) = BvhSource(SourceOptions()).load(str(shared_data / path))
    assert clip.dataset == dataset
    assert clip.take_id == f"{dataset}/{path.stem}"
    assert clip.origin == str(shared_data / path)
    assert clip.joints.shape[:3] == (1, clip.frames, 52)
    assert clip.joints.dtype == np.float32
    assert clip.joint_mask[:NUM_BODY_JOINTS].all()
    assert clip.joint_mask[NUM_BODY_JOINTS:].all() == (dataset == "beat")


@pytest.mark.shared_data
@pytest.mark.slow
def test_every_sample_bvh_loads_as_a_plausible_body(shared_data: Path) -> None:
    source = BvhSource(SourceOptions())
    folders = ["lafan1", "bandai", "cmu", "xia", "beat2"]
    items = source.discover([shared_data / folder for folder in folders])
    assert len(items) == 24 + 164 + 70 + 4 + 9 + 1  # lafan1, bandai 1 and 2, cmu, xia, beat
    for item in items:
        (clip,) = source.load(item)
        joints = canonicalize_motion(resample_motion(clip.joints, clip.fps))[0]
        _check_body(joints, item)
        # A foot planted on the floor points the way an upright body faces (in the air it may
        # point down or back, and facing means nothing while lying on the ground).
        # One foot may turn out (a sideways guiding gesture), so both feet are averaged; mirrored
        # data gives about -0.07 m, the sample takes 0.04 m or more.
        head_up = joints[:, JOINT_INDEX["head"], 1] - joints[:, JOINT_INDEX["pelvis"], 1]
        ahead = []
        for side in ("left", "right"):
            toe = joints[:, JOINT_INDEX[f"{side}_foot"]]
            ankle = joints[:, JOINT_INDEX[f"{side}_ankle"]]
            planted = np.nonzero((head_up > 0.3) & (toe[:, 1] < toe[:, 1].min() + 0.05))[0]
            facing = _facing_directions(joints[planted])
            ahead.append(np.median(np.sum((toe - ankle)[planted] * facing, axis=-1)))
        assert np.mean(ahead) > 0.03, (item, ahead)


@pytest.mark.shared_data
def test_lafan1_walk_heads_forward(shared_data: Path) -> None:
    # The take opens with the actor standing still, so look at every one-second stretch in which
    # the pelvis covers more than 0.6 m, each canonicalised as a window would be.
    joints = load_bvh_as_smplh(shared_data / SAMPLES["lafan1"][0]).joints
    pelvis = joints[:, JOINT_INDEX["pelvis"]]
    travel = np.linalg.norm(pelvis[30:, [0, 2]] - pelvis[:-30, [0, 2]], axis=-1)
    starts = np.nonzero(travel > 0.6)[0][::10]
    assert len(starts) > 50
    forward = []
    for start in starts:
        window = canonicalize_motion(joints[None, start : start + 31])[0, :, JOINT_INDEX["pelvis"]]
        step = window[30] - window[0]
        forward.append(step[2] / np.linalg.norm(step[[0, 2]]))
    assert np.median(forward) > 0.9
    assert min(forward) > 0.0


@pytest.mark.shared_data
def test_cmu_120_fps_resamples_to_30_keeping_duration(shared_data: Path) -> None:
    take = load_bvh_as_smplh(shared_data / SAMPLES["cmu-bvh11"][0])
    assert take.fps == 120.0
    resampled = resample_motion(take.joints[None], take.fps)[0]
    source_duration = (len(take.joints) - 1) / take.fps
    assert abs((len(resampled) - 1) / 30.0 - source_duration) < 1 / 30.0


@pytest.mark.shared_data
def test_bandai_bye_happy_captions_and_tags(shared_data: Path) -> None:
    (clip,) = BvhSource(SourceOptions()).load(str(shared_data / SAMPLES["bandai-1"][0]))
    macro = [c.text for c in clip.captions if c.granularity == "macro"]
    meso = [c.text for c in clip.captions if c.granularity == "meso"]
    assert "a person waves goodbye" in macro
    assert "a person waves goodbye cheerfully" in meso
    assert len(set(macro)) >= 3 and len(set(meso)) >= 3
    assert "content:bye" in clip.tags and "style:happy" in clip.tags


@pytest.mark.shared_data
@pytest.mark.parametrize("folder", [BANDAI_1, BANDAI_2])
def test_every_bandai_label_and_file_gets_captions(shared_data: Path, folder: Path) -> None:
    source = BvhSource(SourceOptions())
    prefix = f"{folder.name[-1]}_".replace(folder.name[-1], f"dataset-{folder.name[-1]}")
    for kind, granularity in (("content", "macro"), ("style", "meso")):
        labels = (shared_data / folder / "cfg" / f"{kind}_label.txt").read_text().split()
        for label in labels:
            name = label.removeprefix(prefix)
            stem = (
                f"dataset-{folder.name[-1]}_{name}_normal_001"
                if kind == "content"
                else f"dataset-{folder.name[-1]}_walk_{name}_001"
            )
            captions, tags = dataset_labels("bandai", stem)
            assert any(c.granularity == granularity for c in captions), (kind, name)
            assert f"{kind}:{name}" in tags
    for item in source.discover([shared_data / folder / "data"]):
        captions, _ = dataset_labels("bandai", Path(item).stem)
        assert {c.granularity for c in captions} == {"macro", "meso"}, item


def test_dataset_labels_for_cmu_lafan1_xia_and_beat() -> None:
    captions, tags = dataset_labels("cmu", "131_01")
    assert "a person starts walking, then stops" in [c.text for c in captions]
    assert "trial:131_01" in tags
    assert dataset_labels("cmu", "99_99")[0] == []
    captions, tags = dataset_labels("lafan1", "fallAndGetUp2_subject3")
    assert "a person falls to the ground and gets back up" in [c.text for c in captions]
    assert tags == ["subject:3", "theme:fallAndGetUp"]
    assert dataset_labels("lafan1", "walk4_subject1")[1] == ["subject:1", "theme:walk"]
    captions, tags = dataset_labels("xia", "angry_13_000")
    assert "a person walks angrily" in [c.text for c in captions]
    assert tags == ["style:angry"]
    assert dataset_labels("beat", "meeting_1_wayne_0_1_1_30fps_250f") == ([], ["speaker:wayne"])
    assert dataset_labels("beat", "2_scott_0_1_1") == ([], ["speaker:scott"])


def test_bvh_source_is_registered() -> None:
    assert isinstance(load_source("bvh", SourceOptions()), BvhSource)


def test_builtin_skeletons_map_every_body_joint() -> None:
    for spec in builtin_skeletons():
        assert set(BODY_JOINT_NAMES) <= set(spec.joints), spec.name


# --- a synthetic skeleton with names vermo does not know ---------------------------------------


def _rest_pose_take(tmp_path: Path, frames: int = 4) -> Path:
    """The SMPL-H body rest pose in centimetres with `Bone_<name>` joints, walking along +z."""
    offsets = REST_OFFSETS[:NUM_BODY_JOINTS] * 100.0
    rotations = np.broadcast_to(np.eye(3), (frames, NUM_BODY_JOINTS, 3, 3)).copy()
    root = offsets[0] + np.outer(np.arange(frames), [0.0, 0.0, 2.0])
    motion = BvhMotion(
        joint_names=[f"Bone_{name}" for name in BODY_JOINT_NAMES],
        parents=list(PARENTS[:NUM_BODY_JOINTS]),
        offsets=offsets,
        channels=[["Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation"]]
        + [["Zrotation", "Xrotation", "Yrotation"]] * (NUM_BODY_JOINTS - 1),
        fps=30.0,
        local_rotations=rotations,
        root_positions=root,
    )
    path = tmp_path / "renamed.bvh"
    write_bvh(path, motion)
    return path


def test_unknown_skeleton_lists_joints_and_asks_for_a_joint_map(tmp_path: Path) -> None:
    path = _rest_pose_take(tmp_path)
    with pytest.raises(UnknownSkeletonError) as caught:
        BvhSource(SourceOptions()).load(str(path))
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message and "--joint-map" in message
    assert "Bone_pelvis" in message and "Bone_left_wrist" in message


def test_joint_map_file_loads_an_unknown_skeleton(tmp_path: Path) -> None:
    path = _rest_pose_take(tmp_path)
    joints = "\n".join(f"  {name}: Bone_{name}" for name in BODY_JOINT_NAMES)
    joint_map = tmp_path / "studio.yaml"
    joint_map.write_text(f"name: studio\nscale: 0.01\njoints:\n{joints}\n")
    (clip,) = BvhSource(SourceOptions(joint_map=joint_map)).load(str(path))
    assert clip.dataset == "studio" and clip.take_id == "studio/renamed"
    assert clip.joint_mask.sum() == NUM_BODY_JOINTS
    identity = np.broadcast_to(np.eye(3), (1, NUM_BODY_JOINTS, 3, 3))
    body = REST_OFFSETS[:NUM_BODY_JOINTS]
    rest = forward_kinematics(body, PARENTS[:NUM_BODY_JOINTS], identity, body[:1])[0]
    np.testing.assert_allclose(clip.joints[0, 0, :NUM_BODY_JOINTS], rest, atol=1e-4)


def test_z_up_joint_map_turns_the_body_upright(tmp_path: Path) -> None:
    path = _rest_pose_take(tmp_path)
    joint_map = tmp_path / "zup.yaml"
    joint_map.write_text(
        "up_axis: z\nscale: 0.01\njoints: {pelvis: Bone_pelvis, head: Bone_head}\n"
    )
    take = load_bvh_as_smplh(path, joint_map)
    # The file's y (up in truth) is read as z-up's "forward", so the head ends up along -z.
    head = take.joints[0, JOINT_INDEX["head"]] - take.joints[0, JOINT_INDEX["pelvis"]]
    assert head[2] < -0.5 and abs(head[1]) < 0.1
    assert take.skeleton == "zup"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("joints: {pelvis: NoSuchBone}", "NoSuchBone"),
        ("joints: {hips: Bone_pelvis}", "not an SMPL-H joint"),
        ("joints: {head: Bone_head}", "must map 'pelvis'"),
        ("scale: big\njoints: {pelvis: Bone_pelvis}", "scale"),
        ("up_axis: x\njoints: {pelvis: Bone_pelvis}", "up_axis"),
        ("joints: [", "not valid YAML"),
    ],
)
def test_bad_joint_maps_raise_one_line_errors(tmp_path: Path, content: str, fragment: str) -> None:
    path = _rest_pose_take(tmp_path)
    joint_map = tmp_path / "bad_map.yaml"
    joint_map.write_text(content)
    with pytest.raises(SourceError) as caught:
        load_bvh_as_smplh(path, joint_map)
    assert "\n" not in str(caught.value) and fragment in str(caught.value)


def test_discover_finds_bvh_files_recursively_and_rejects_bad_paths(tmp_path: Path) -> None:
    (tmp_path / "a" / "deep").mkdir(parents=True)
    for name in ("a/deep/z.bvh", "a/b.BVH", "a/notes.txt"):
        (tmp_path / name).write_text("")
    source = BvhSource(SourceOptions())
    assert source.discover([tmp_path / "a"]) == [
        str(tmp_path / "a" / "b.BVH"),
        str(tmp_path / "a" / "deep" / "z.bvh"),
    ]
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match=r"no \.bvh files"):
        source.discover([tmp_path / "empty"])
    with pytest.raises(SourceError, match="no such file"):
        source.discover([tmp_path / "missing"])
    with pytest.raises(SourceError, match=r"not a \.bvh file"):
        source.discover([tmp_path / "a" / "notes.txt"])


def test_load_of_a_broken_file_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.bvh"
    path.write_text("HIERARCHY\nROOT Hips\n{\n")
    with pytest.raises(SourceError, match=r"broken\.bvh"):
        BvhSource(SourceOptions()).load(str(path))
