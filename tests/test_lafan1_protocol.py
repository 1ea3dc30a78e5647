"""Tests for `vermo eval btwn --protocol lafan1`: windows, centring, baselines, L2P, the model
row, the export, and the published baselines' sizes on the shared LAFAN1 takes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import cli_error, run_cli
from lafan1_takes import NAMES, PARENTS, write_take
from scipy.spatial.transform import Rotation

from vermo_cli.evaluate.lafan1_baselines import interpolation, zero_velocity
from vermo_cli.evaluate.lafan1_benchmark import (
    INTERPOLATION,
    MODEL,
    PUBLISHED_L2P,
    ZERO_VELOCITY,
    Lafan1Request,
    run_lafan1,
)
from vermo_cli.evaluate.lafan1_windows import (
    PositionStatistics,
    ProtocolError,
    cut_windows,
    l2p,
    read_take,
    read_takes,
)
from vermo_cli.motion.bvh_skeletons import builtin_skeletons
from vermo_cli.motion.kinematics import quaternion_to_matrix, slerp_quaternions
from vermo_cli.motion.retarget import retarget_positions, source_positions_from_smplh


@pytest.fixture(scope="module")
def bvh_folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """`train/` with two takes (200 and 130 frames) and `test/` with one of 150 frames."""
    root = tmp_path_factory.mktemp("lafan1")
    (root / "train").mkdir()
    (root / "test").mkdir()
    write_take(root / "train" / "walk1_subject1.bvh", 200, seed=1)
    write_take(root / "train" / "walk2_subject2.bvh", 130, seed=2)
    write_take(root / "test" / "walk1_subject5.bvh", 150, seed=5)
    return root / "train", root / "test"


def test_windows_follow_the_protocol(bvh_folders: tuple[Path, Path]) -> None:
    train_dir = bvh_folders[0]
    takes = read_takes(train_dir, "--train-bvh")
    assert [take.name for take in takes] == ["walk1_subject1", "walk2_subject2"]
    assert len(takes[0].joint_names) == 22  # the end sites are dropped
    windows = cut_windows(takes, 50, 20)
    # a window starts at i while i + 50 < frames: 0..140 for 200 frames, 0..60 for 130
    assert list(windows.starts) == [0, 20, 40, 60, 80, 100, 120, 140, 0, 20, 40, 60]
    assert windows.positions.shape == (12, 50, 22, 3)
    # centred: the root's mean x/z over each window is 0
    np.testing.assert_allclose(windows.root[:, :, [0, 2]].mean(axis=1), 0.0, atol=1e-9)
    # turned: the root's forward (its local +y) on frame 9, made horizontal, points along +x
    forward = quaternion_to_matrix(windows.rotations[:, 9, 0]) @ np.array([0.0, 1.0, 0.0])
    np.testing.assert_allclose(forward[:, 2], 0.0, atol=1e-9)
    assert np.all(forward[:, 0] > 0)
    # and the map back to the file's world frame gives the file's own forward kinematics
    original = read_take(train_dir / "walk1_subject1.bvh")
    from vermo_cli.evaluate.lafan1_windows import global_positions

    whole = global_positions(
        original.rotations[None], original.root[None], original.offsets, original.parents
    )[0]
    back = windows.to_file_frame(windows.positions)
    np.testing.assert_allclose(back[3], whole[60:110], atol=1e-6)


def test_a_file_pattern_selects_takes(bvh_folders: tuple[Path, Path]) -> None:
    train_dir, _ = bvh_folders
    takes = read_takes(train_dir / "*subject2.bvh", "--train-bvh")
    assert [take.name for take in takes] == ["walk2_subject2"]
    with pytest.raises(ProtocolError, match="no \\.bvh files"):
        read_takes(train_dir / "*subject9.bvh", "--train-bvh")


def test_takes_shorter_than_a_window_are_refused(tmp_path: Path) -> None:
    short = read_takes(write_take(tmp_path / "short.bvh", 65, seed=0), "x")
    with pytest.raises(ProtocolError, match="no take is longer than 65 frames"):
        cut_windows(short, 65, 40)


def test_baselines_are_exact_where_they_should_be(tmp_path: Path) -> None:
    still = read_takes(write_take(tmp_path / "still.bvh", 120, seed=0, still=True), "x")
    windows = cut_windows(still, 65, 40)
    statistics = PositionStatistics(np.zeros(66), np.ones(66))
    target = windows.positions[:, 10:40]
    assert l2p(zero_velocity(windows, 30), target, statistics) < 1e-9
    assert l2p(interpolation(windows, 30), target, statistics) < 1e-9


def test_interpolation_meets_both_ends_and_slerps(bvh_folders: tuple[Path, Path]) -> None:
    takes = read_takes(bvh_folders[0], "x")
    windows = cut_windows(takes, 65, 40)
    made = interpolation(windows, 5)
    # (k + 1) / (n + 1) of the way: no made frame repeats frame 9 or the keyframe
    assert not np.allclose(made[:, 0], windows.positions[:, 9])
    assert not np.allclose(made[:, -1], windows.positions[:, 15])
    start = Rotation.random(4, random_state=0).as_quat()
    end = Rotation.random(4, random_state=1).as_quat()
    halfway = slerp_quaternions(start, end, np.array([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(np.abs(np.sum(halfway[0] * start, axis=-1)), 1.0, atol=1e-9)
    np.testing.assert_allclose(np.abs(np.sum(halfway[2] * end, axis=-1)), 1.0, atol=1e-9)
    to_start = (Rotation.from_quat(halfway[1]).inv() * Rotation.from_quat(start)).magnitude()
    to_end = (Rotation.from_quat(halfway[1]).inv() * Rotation.from_quat(end)).magnitude()
    np.testing.assert_allclose(to_start, to_end, atol=1e-9)


def test_l2p_normalises_each_coordinate() -> None:
    target = np.zeros((2, 3, 22, 3))
    predicted = target.copy()
    predicted[..., 0, 0] = 4.0  # the root's x is 4 units off on every frame
    statistics = PositionStatistics(np.zeros(66), np.full(66, 2.0))
    assert l2p(predicted, target, statistics) == pytest.approx(2.0)


def test_the_lafan1_joint_map_is_inverted_exactly() -> None:
    lafan1 = next(spec for spec in builtin_skeletons() if spec.name == "lafan1")
    positions = np.random.default_rng(0).normal(size=(7, 22, 3))
    smplh, _ = retarget_positions(positions, NAMES, lafan1.joints)
    back = source_positions_from_smplh(smplh.astype(np.float64), lafan1.joints, NAMES)
    np.testing.assert_allclose(back, positions, atol=1e-5)


def test_baselines_only_from_the_command_line(
    bvh_folders: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no runs/sft here: no model row
    train_dir, test_dir = bvh_folders
    output = run_cli("eval", "btwn", "--protocol", "lafan1", "--train-bvh", train_dir,
                     "--test-bvh", test_dir, "--json", tmp_path / "report.json")  # fmt: skip
    assert "interpolation" in output and "no model row" in output
    import json

    report = json.loads((tmp_path / "report.json").read_text())
    assert set(report["rows"]) == {ZERO_VELOCITY, INTERPOLATION}
    assert report["protocol"]["test_windows"]["count"] == 3  # starts 0, 40, 80 of 150 frames
    assert "must be vermo or lafan1" in cli_error("eval", "btwn", "--protocol", "bvh")
    assert "needs --train-bvh DIR and --test-bvh DIR" in cli_error(
        "eval", "btwn", "--protocol", "lafan1", "--train-bvh", train_dir
    )
    assert "belong to 'vermo eval btwn --protocol lafan1'" in cli_error(
        "eval", "pred", "--train-bvh", train_dir
    )
    assert "--export writes a model's frames" in cli_error(
        "eval", "btwn", "--protocol", "lafan1", "--train-bvh", train_dir,
        "--test-bvh", test_dir, "--export", tmp_path / "frames.npz",
    )  # fmt: skip


def test_the_model_row_and_its_export(
    bvh_folders: tuple[Path, Path], trained_runs: Path, tmp_path: Path
) -> None:
    train_dir, test_dir = bvh_folders
    export = tmp_path / "frames.npz"
    output = run_cli(
        "eval", "btwn", "--protocol", "lafan1", "--train-bvh", train_dir, "--test-bvh", test_dir,
        "--checkpoint", trained_runs / "sft", "--json", tmp_path / "report.json",
        "--export", export,
    )  # fmt: skip
    assert "model" in output
    frames = np.load(export)
    assert sorted(frames.files)[:3] == ["walk1_subject5_f0_n15", "walk1_subject5_f0_n30",
                                        "walk1_subject5_f0_n45"]  # fmt: skip
    assert len(frames.files) == 3 * 4
    assert frames["walk1_subject5_f40_n30"].shape == (30, 22, 3)
    # in the file's world frame: the made frames lie near the take's own frames there
    truth = read_take(test_dir / "walk1_subject5.bvh")
    from vermo_cli.evaluate.lafan1_windows import global_positions

    whole = global_positions(truth.rotations[None], truth.root[None], truth.offsets, PARENTS)[0]
    gap = np.linalg.norm(frames["walk1_subject5_f40_n5"][:, 0] - whole[50:55, 0], axis=-1)
    assert gap.max() < 150.0  # cm: a model trained on synthetic motion, but placed right


@pytest.mark.slow
def test_baselines_on_real_lafan1_are_the_published_size(shared_data: Path) -> None:
    folder = shared_data / "lafan1" / "bvh"
    report = run_lafan1(Lafan1Request(folder / "*subject[123].bvh", folder / "*subject4.bvh"))
    assert MODEL not in report.rows
    for system in (ZERO_VELOCITY, INTERPOLATION):
        for n, published in zip((5, 15, 30, 45), PUBLISHED_L2P[system], strict=True):
            # subject 4 instead of 5, statistics of subjects 1-3: the same size, not the same
            assert 0.6 * published < report.rows[system][n] < 1.4 * published, (system, n)
    for n in (5, 15, 30, 45):
        assert report.rows[INTERPOLATION][n] < report.rows[ZERO_VELOCITY][n] / 2
