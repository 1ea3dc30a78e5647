"""Tests of the SMPL-parameter source (AMASS .npz, AIST++ .pkl) with a synthetic body model."""

from __future__ import annotations

import io
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
from conftest import CodeRunningPayload
from vermo_plugins.sources.smpl import SmplSource

from vermo_cli.data.sources import SourceOptions
from vermo_cli.errors import BodyModelError, SourceError
from vermo_cli.motion.canonical import canonicalize_motion
from vermo_cli.motion.skeleton import (
    JOINT_INDEX,
    LEFT_JOINTS,
    PARENTS,
    REST_OFFSETS,
    RIGHT_JOINTS,
    body_only_mask,
    full_mask,
)

AISTPP_TAKE = "aistpp/gBR_sBM_cAll_d04_mBR0_ch01.pkl"
# SMPL and SMPL-H share one mesh topology; smplx picks extra joints by these vertex indices.
NUM_VERTICES = 6890
NUM_BETAS = 10


def _rest_joints(model_type: str) -> tuple[np.ndarray, list[int]]:
    """Rest joint positions `[J, 3]` (metres, SMPL frame: y up, facing +z) and parents."""
    joints = np.zeros_like(REST_OFFSETS)
    for joint, parent in enumerate(PARENTS):
        joints[joint] = REST_OFFSETS[joint] + (joints[parent] if parent >= 0 else 0.0)
    # Real SMPL templates put the pelvis a little below the origin.
    joints += np.array([0.0, -0.22, 0.03]) - joints[0]
    if model_type == "smplh":
        return joints, list(PARENTS)
    wrists = joints[[20, 21]]
    hands = wrists + np.array([[0.08, 0.0, 0.0], [-0.08, 0.0, 0.0]])
    return np.concatenate([joints[:22], hands]), [*PARENTS[:22], 20, 21]


def _write_synthetic_model(path: Path, model_type: str) -> None:
    """A body-model pickle with the keys and shapes smplx reads; vertices sit on the joints."""
    joints, parents = _rest_joints(model_type)
    num_joints = len(parents)
    rng = np.random.default_rng(0)
    owner = np.arange(NUM_VERTICES) % num_joints
    vertices = joints[owner] + rng.normal(0.0, 0.01, (NUM_VERTICES, 3))
    weights = np.zeros((NUM_VERTICES, num_joints))
    weights[np.arange(NUM_VERTICES), owner] = 1.0
    regressor = weights.T / weights.sum(axis=0)[:, None]
    model = {
        "v_template": vertices,
        "shapedirs": rng.normal(0.0, 1e-3, (NUM_VERTICES, 3, NUM_BETAS)),
        "posedirs": np.zeros((NUM_VERTICES, 3, 9 * (num_joints - 1)), dtype=np.float32),
        "J_regressor": regressor,
        "weights": weights,
        "kintree_table": np.array([[2**32 - 1, *parents[1:]], list(range(num_joints))]),
        "f": np.arange(3 * 100).reshape(100, 3) % NUM_VERTICES,
    }
    if model_type == "smplh":
        for side in ("l", "r"):
            model[f"hands_components{side}"] = np.eye(45)
            model[f"hands_mean{side}"] = np.zeros(45)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        pickle.dump(model, handle)


@pytest.fixture(scope="module")
def body_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `--body-model` folder in smplx's layout with synthetic SMPL and SMPL-H models."""
    directory = tmp_path_factory.mktemp("body_model")
    _write_synthetic_model(directory / "smpl" / "SMPL_NEUTRAL.pkl", "smpl")
    _write_synthetic_model(directory / "smplh" / "SMPLH_NEUTRAL.pkl", "smplh")
    return directory


def _assert_not_mirrored(joints: np.ndarray) -> None:
    """After canonicalisation the left side is on +x and the toes are in front of the ankles."""
    frame = canonicalize_motion(joints)[0, 0]
    assert frame[list(LEFT_JOINTS[:8]), 0].mean() > 0 > frame[list(RIGHT_JOINTS[:8]), 0].mean()
    for side in ("left", "right"):
        assert frame[JOINT_INDEX[f"{side}_foot"], 2] > frame[JOINT_INDEX[f"{side}_ankle"], 2]


@pytest.mark.shared_data
@pytest.mark.slow
def test_aistpp_pickle_becomes_a_body_only_dance(shared_data: Path, body_model_dir: Path) -> None:
    source = SmplSource(SourceOptions(body_model=body_model_dir))
    items = source.discover([shared_data / "aistpp"])
    assert items == [str(shared_data / AISTPP_TAKE)]
    (clip,) = source.load(items[0])
    assert clip.joints.shape == (1, 720, 52, 3)
    assert clip.fps == 60.0
    assert np.array_equal(clip.joint_mask, body_only_mask())
    assert np.all(np.isfinite(clip.joints))
    assert clip.take_id == "aistpp/gBR_sBM_cAll_d04_mBR0_ch01"
    assert "genre:break" in clip.tags and "music:mBR0" in clip.tags
    assert clip.captions[0].text == "a person dances break dance"
    assert clip.audio is None
    body = clip.joints[0]
    height = body[:, JOINT_INDEX["head"], 1] - body[:, :, 1].min(axis=1)
    assert 1.2 < np.median(height) < 2.0
    _assert_not_mirrored(clip.joints)


class Python2Pickler(pickle._Pickler):
    """Pickles as Python 2 did: byte and text strings both as `str` (BINSTRING)."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_string(self, text: str | bytes) -> None:
        data = text.encode("latin1") if isinstance(text, str) else text
        self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(text)

    dispatch[bytes] = save_string
    dispatch[str] = save_string


def _aistpp_pickles(content: dict[str, np.ndarray]) -> dict[str, bytes]:
    """`content` pickled the ways AIST++ files come: protocols 0, 2, 4 and 5 of this Python and
    numpy, and Python 2 with numpy 1.x's module names."""
    pickles = {f"protocol {p}": pickle.dumps(content, protocol=p) for p in (0, 2, 4, 5)}
    buffer = io.BytesIO()
    Python2Pickler(buffer, protocol=2).dump(content)
    pickles["python 2"] = buffer.getvalue().replace(b"numpy._core.", b"numpy.core.")
    return pickles


def test_aistpp_pickles_of_every_protocol_and_python_2_load(
    tmp_path: Path, body_model_dir: Path
) -> None:
    frames = 30
    rng = np.random.default_rng(0)
    content = {
        "smpl_poses": rng.normal(0.0, 0.2, (frames, 72)).astype(np.float32),
        "smpl_trans": rng.normal(0.0, 50.0, (frames, 3)),
        "smpl_scaling": np.array([93.5]),
    }
    source = SmplSource(SourceOptions(body_model=body_model_dir))
    joints = {}
    for kind, data in _aistpp_pickles(content).items():
        path = tmp_path / kind.replace(" ", "_") / "gBR_sBM_cAll_d04_mBR0_ch01.pkl"
        path.parent.mkdir()
        path.write_bytes(data)
        (clip,) = source.load(str(path))
        joints[kind] = clip.joints
    assert len(joints) == 5 and joints["python 2"].shape == (1, frames, 52, 3)
    for kind, positions in joints.items():
        np.testing.assert_array_equal(positions, joints["protocol 4"], err_msg=kind)


@pytest.mark.parametrize("via", ["os.system", "builtins.exec"])
def test_a_crafted_aistpp_pickle_runs_no_code(tmp_path: Path, via: str) -> None:
    marker = tmp_path / "marker"
    take = tmp_path / "dances" / "gBR_sBM_cAll_d04_mBR0_ch01.pkl"
    take.parent.mkdir()
    take.write_bytes(pickle.dumps({"smpl_poses": CodeRunningPayload(marker, via)}))
    with pytest.raises(SourceError) as error:
        SmplSource(SourceOptions()).load(str(take))
    refused = "posix.system" if via == "os.system" else "builtins.exec"
    assert str(error.value) == (
        f"{take}: cannot read the pickle (refused {refused}: a data pickle may hold only "
        "arrays, numbers, strings and containers)"
    )
    assert not marker.exists()


@pytest.mark.parametrize("suffix", [".pkl", ".npz"])
def test_a_crafted_body_model_runs_no_code(tmp_path: Path, suffix: str) -> None:
    """smplx unpickles model files (`.npz` ones with `allow_pickle=True`); vermo reads them with
    the restricted unpickler first."""
    marker = tmp_path / "marker"
    model = tmp_path / "models" / "smplh" / f"SMPLH_NEUTRAL{suffix}"
    model.parent.mkdir(parents=True)
    payload = {"v_template": np.zeros((3, 3)), "J_regressor": CodeRunningPayload(marker)}
    if suffix == ".pkl":
        model.write_bytes(pickle.dumps(payload))
    else:
        np.savez(model, v_template=np.zeros((3, 3)), joint2num=np.array(payload, dtype=object))
    take = tmp_path / "take.npz"
    np.savez(take, poses=np.zeros((3, 156)), trans=np.zeros((3, 3)), mocap_framerate=60.0)
    with pytest.raises(BodyModelError, match=r"refused posix\.system") as error:
        SmplSource(SourceOptions(body_model=tmp_path / "models")).load(str(take))
    assert "\n" not in str(error.value) and str(model) in str(error.value)
    assert not marker.exists()


def test_a_body_model_with_a_sparse_joint_regressor_loads(
    tmp_path: Path, body_model_dir: Path
) -> None:
    """Official SMPL pickles hold the joint regressor as a scipy sparse matrix; protocol 0 names
    it through `copy_reg._reconstructor`."""
    import scipy.sparse

    model = pickle.loads((body_model_dir / "smpl" / "SMPL_NEUTRAL.pkl").read_bytes())
    model["J_regressor"] = scipy.sparse.csc_matrix(model["J_regressor"])
    sparse_dir = tmp_path / "sparse"
    (sparse_dir / "smpl").mkdir(parents=True)
    (sparse_dir / "smpl" / "SMPL_NEUTRAL.pkl").write_bytes(pickle.dumps(model, protocol=0))
    take = tmp_path / "gBR_sBM_cAll_d04_mBR0_ch01.pkl"
    poses = np.random.default_rng(1).normal(0.0, 0.2, (10, 72))
    take.write_bytes(pickle.dumps({"smpl_poses": poses, "smpl_trans": np.zeros((10, 3))}))
    (dense,) = SmplSource(SourceOptions(body_model=body_model_dir)).load(str(take))
    (sparse,) = SmplSource(SourceOptions(body_model=sparse_dir)).load(str(take))
    np.testing.assert_allclose(sparse.joints, dense.joints, atol=1e-6)


def test_amass_npz_is_turned_from_z_up_to_y_up(tmp_path: Path, body_model_dir: Path) -> None:
    frames = 50
    poses = np.zeros((frames, 156), dtype=np.float32)
    # AMASS bodies carry a root rotation of +90 degrees about x, which stands SMPL's y-up body
    # along z.
    poses[:, 0] = np.pi / 2
    trans = np.zeros((frames, 3), dtype=np.float32)
    trans[:, 0] = np.linspace(0.0, 1.0, frames)
    trans[:, 2] = 0.95
    take = tmp_path / "Subject_1" / "walk_poses.npz"
    take.parent.mkdir()
    np.savez(
        take, poses=poses, trans=trans, betas=np.zeros(16), gender=np.array("female"),
        mocap_framerate=np.array(120.0),
    )  # fmt: skip
    source = SmplSource(SourceOptions(body_model=body_model_dir))
    assert source.discover([tmp_path]) == [str(take)]
    (clip,) = source.load(str(take))
    assert clip.joints.shape == (1, frames, 52, 3)
    assert clip.fps == 120.0
    assert np.array_equal(clip.joint_mask, full_mask())
    assert clip.take_id == "amass/Subject_1/walk_poses"
    body = clip.joints[0]
    # The body stands along +y: head well above the ankles, and the walk goes along +x.
    assert np.all(body[:, JOINT_INDEX["head"], 1] - body[:, JOINT_INDEX["left_ankle"], 1] > 1.2)
    assert body[-1, 0, 0] - body[0, 0, 0] == pytest.approx(1.0, abs=1e-4)
    _assert_not_mirrored(clip.joints)


@pytest.mark.parametrize("give_folder", [False, True])
def test_missing_body_model_is_a_one_line_error(tmp_path: Path, give_folder: bool) -> None:
    take = tmp_path / "take.npz"
    np.savez(take, poses=np.zeros((3, 156)), trans=np.zeros((3, 3)), mocap_framerate=60.0)
    options = SourceOptions(body_model=tmp_path / "empty" if give_folder else None)
    with pytest.raises(BodyModelError) as error:
        SmplSource(options).load(str(take))
    message = str(error.value)
    assert "\n" not in message and str(take) in message and "--body-model DIR" in message


def test_unreadable_model_file_is_a_body_model_error(tmp_path: Path) -> None:
    (tmp_path / "smplh").mkdir()
    (tmp_path / "smplh" / "SMPLH_NEUTRAL.pkl").write_bytes(b"not a pickle")
    take = tmp_path / "take.npz"
    np.savez(take, poses=np.zeros((3, 156)), trans=np.zeros((3, 3)), mocap_framerate=60.0)
    with pytest.raises(BodyModelError, match="--body-model DIR") as error:
        SmplSource(SourceOptions(body_model=tmp_path)).load(str(take))
    assert "\n" not in str(error.value)


def test_discover_rejects_missing_and_empty_paths(tmp_path: Path) -> None:
    source = SmplSource(SourceOptions())
    with pytest.raises(SourceError, match="no such file"):
        source.discover([tmp_path / "absent"])
    with pytest.raises(SourceError, match="no SMPL parameter files"):
        source.discover([tmp_path])


def test_model_files_are_found_in_any_case(tmp_path: Path) -> None:
    from vermo_plugins.sources.body_model import model_file

    (tmp_path / "smplh").mkdir()
    (tmp_path / "smplh" / "SMPLH_female.pkl").write_bytes(b"")
    assert model_file(tmp_path, "smplh", "female") == tmp_path / "smplh" / "SMPLH_female.pkl"
    assert model_file(tmp_path, "smplh", "male") is None
