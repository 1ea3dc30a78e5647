"""Tests of `vermo render`: offscreen mp4s and contact sheets of npz, BVH and corpus motions."""

from __future__ import annotations

import colorsys
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
import soundfile
import typer
from PIL import Image
from test_smpl_source import _write_synthetic_model
from typer.testing import CliRunner
from vermo_plugins.sources.synthetic.source import make_clip

from vermo_cli.errors import VermoError
from vermo_cli.motion.npz import save_motion_npz
from vermo_cli.motion.resample import resampled_frame_count
from vermo_cli.motion.skeleton import (
    JOINT_INDEX,
    JOINT_NAMES,
    PARENTS,
    REST_OFFSETS,
    body_only_mask,
    full_mask,
)
from vermo_cli.render import platform
from vermo_cli.render.command import register
from vermo_cli.render.job import output_stem
from vermo_cli.render.sheet import sheet_frames
from vermo_cli.render.sources import AudioClip, load_render_motion
from vermo_cli.render.video import parse_size, video_audio

runner = CliRunner()
BANDAI_WAVE = "bandai/Bandai-Namco-Research-Motiondataset-1/data/dataset-1_bye_active_001.bvh"
BLUE, ORANGE = (0.15, 0.40, 0.85), (0.95, 0.45, 0.08)


def render_app() -> typer.Typer:
    """A command line holding only `render`, as `register` adds it to `vermo`."""
    app = typer.Typer(add_completion=False)

    @app.callback()
    def main() -> None:
        """Test command line."""

    register(app)
    return app


APP = render_app()


@pytest.fixture(autouse=True)
def _outputs_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test runs in its own folder, where renders without `-o` land (in `outputs/`)."""
    monkeypatch.chdir(tmp_path)


def render(*args: str | Path) -> str:
    """Run `render ARGS`; return its output with line wraps undone, failing on a non-zero exit."""
    result = runner.invoke(APP, ["render", *map(str, args)])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def one_line_error(*args: str | Path) -> str:
    result = runner.invoke(APP, ["render", *map(str, args)])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    return lines[0]


def probe(path: Path) -> tuple[int, float, float, bool]:
    """(video frames, video seconds, container seconds, has an audio stream) of an mp4."""
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    info = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
        capture_output=True,
        text=True,
        check=False,
    ).stderr
    hours, minutes, rest = info.split("Duration: ", 1)[1].split(",", 1)[0].split(":")
    container = 3600 * int(hours) + 60 * int(minutes) + float(rest)
    return frames, seconds, container, "Audio:" in info


def video_frames(path: Path) -> list[np.ndarray]:
    """The decoded frames `[height, width, 3]` uint8 of an mp4."""
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    return [np.frombuffer(frame, np.uint8).reshape(height, width, 3) for frame in reader]


def colour_pixels(image: np.ndarray, colour: tuple[float, float, float]) -> int:
    """Pixels of `image` with the hue of `colour` (sRGB 0-1) and clearly saturated."""
    hsv = np.asarray(Image.fromarray(image).convert("HSV"), dtype=np.int64)
    hue = colorsys.rgb_to_hsv(*colour)[0] * 255
    distance = np.abs(hsv[..., 0] - hue)
    distance = np.minimum(distance, 255 - distance)
    return int(np.sum((distance < 12) & (hsv[..., 1] > 100) & (hsv[..., 2] > 60)))


def assert_drawn(image: np.ndarray, colours: tuple[tuple[float, float, float], ...]) -> None:
    """The frame is not blank and shows each person's colour."""
    assert image.std() > 15.0
    for colour in colours:
        assert colour_pixels(image, colour) > 20, colour


def two_people_npz(path: Path) -> Path:
    """A synthetic handshake: two people, 87 frames at 30 fps, hands included."""
    clip = make_clip(0, 2)
    assert clip.joints.shape[:2] == (2, 87)
    save_motion_npz(path, clip.joints, clip.joint_mask, fps=clip.fps, task="test")
    return path


def tone(path: Path, seconds: float, rate: int = 16000) -> Path:
    """A 440 Hz tone of `seconds` written as wav."""
    times = np.arange(round(seconds * rate)) / rate
    soundfile.write(str(path), 0.3 * np.sin(2 * np.pi * 440 * times), rate)
    return path


@pytest.fixture(scope="module")
def smplh_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `--body-model` folder holding a synthetic SMPL-H model (never a licensed one): its
    vertices sit on vermo's rest joints, with small random shape directions."""
    directory = tmp_path_factory.mktemp("smplh")
    _write_synthetic_model(directory / "smplh" / "SMPLH_NEUTRAL.pkl", "smplh")
    return directory


def rest_motion(frames: int = 1) -> np.ndarray:
    """vermo's rest skeleton (T-pose, facing +z) standing still: `[1, frames, 52, 3]` metres."""
    joints = np.zeros_like(REST_OFFSETS)
    for joint, parent in enumerate(PARENTS):
        joints[joint] = REST_OFFSETS[joint] + (joints[parent] if parent >= 0 else 0.0)
    return np.repeat(joints[None, None], frames, axis=1)


def posed_by_model(model, frames: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Joints `[1, frames, 52, 3]` of `model` moving smoothly through random poses, and the
    body pose `[frames, 21, 3]` it was given: knees bend about x and elbows about y (hinges),
    other joints turn up to about 0.3 rad, hands too, with a random shape."""
    import torch

    rng = np.random.default_rng(seed)
    times = np.linspace(0.0, 1.0, frames)[:, None]

    def wander(size: int, scale: float) -> np.ndarray:
        start, end = rng.normal(0.0, scale, (2, size))
        return start + times * (end - start)

    body = wander(63, 0.3).reshape(frames, 21, 3)
    for knee in ("left_knee", "right_knee"):
        body[:, JOINT_INDEX[knee] - 1] = np.outer(wander(1, 0.2)[:, 0] + 1.0, [1.0, 0.0, 0.0])
    for elbow, sign in (("left_elbow", -1.0), ("right_elbow", 1.0)):
        bend = wander(1, 0.2)[:, 0] + 1.0
        body[:, JOINT_INDEX[elbow] - 1] = np.outer(bend, [0.0, sign, 0.0])
    inputs = {
        "global_orient": wander(3, 1.0),
        "body_pose": body.reshape(frames, 63),
        "left_hand_pose": wander(45, 0.3),
        "right_hand_pose": wander(45, 0.3),
        "transl": wander(3, 1.0),
        "betas": np.broadcast_to(rng.normal(0.0, 1.0, 10), (frames, 10)),
    }
    tensors = {name: torch.tensor(value, dtype=torch.float32) for name, value in inputs.items()}
    with torch.no_grad():
        joints = model(**tensors).joints[:, : len(JOINT_NAMES)].numpy()
    return joints[None], body


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A six-clip synthetic corpus (clip 5 is a dance with music)."""
    from vermo_cli.cli import app

    directory = tmp_path_factory.mktemp("render") / "corpus"
    arguments = ["prepare", "synthetic", "-o", str(directory), "--clips", "6", "--workers", "1"]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    return directory


def test_parse_size() -> None:
    assert parse_size("512", even=True) == (512, 512)
    assert parse_size("640x480", even=True) == (640, 480)
    assert parse_size("101x50", even=False) == (101, 50)
    for bad in ("big", "0", "640x", "99999"):
        with pytest.raises(VermoError, match="--size"):
            parse_size(bad, even=False)
    with pytest.raises(VermoError, match="even"):
        parse_size("101x50", even=True)


def test_output_paths_and_sheet_frames(tmp_path: Path) -> None:
    assert output_stem(None, Path("runs/walk")) == Path("runs/walk")
    assert output_stem(tmp_path, Path("runs/walk")) == tmp_path / "walk"
    assert output_stem(Path("out.mp4"), Path("x")) == Path("out")
    assert output_stem(Path("out.PNG"), Path("x")) == Path("out")
    assert output_stem(Path("take.v2"), Path("x")) == Path("take.v2")
    assert sheet_frames(100, 8).tolist() == [0, 14, 28, 42, 57, 71, 85, 99]
    assert sheet_frames(3, 8).tolist() == [0, 1, 2]


def test_audio_is_cut_to_the_span_and_the_video() -> None:
    audio = AudioClip(np.arange(1000, dtype=np.float32), 100)
    span = audio.span(offset=2.0, duration=3.0)
    assert span.waveform[0] == 200 and len(span.waveform) == 300
    assert len(video_audio(audio, frames=30, fps=15.0).waveform) == 200
    assert video_audio(audio.span(20.0, None), frames=30, fps=15.0) is None


def test_npz_audio_comes_along(tmp_path: Path) -> None:
    joints = np.zeros((1, 4, 52, 3), dtype=np.float32)
    waveform = np.zeros(800, dtype=np.float32)
    path = tmp_path / "m.npz"
    save_motion_npz(path, joints, body_only_mask(), audio=waveform, audio_rate=np.int32(8000))
    motion = load_render_motion(path)
    assert motion.audio is not None and motion.audio.rate == 8000 and motion.audio.seconds == 0.1
    assert motion.fps == 30.0 and motion.stem == Path("outputs") / "m"  # never beside the input
    assert motion.at_fps(15.0).joints.shape[1] == resampled_frame_count(4, 30.0, 15.0)


@pytest.mark.parametrize("follow_frames", [None, 30.0])
def test_camera_frames_every_joint(follow_frames: float | None) -> None:
    from vermo_cli.render.scene import FIELD_OF_VIEW, frame_motion

    clip = make_clip(0, 0)  # a walk: the person crosses the floor
    aspect = 640 / 480
    framing = frame_motion(clip.joints, clip.joint_mask, aspect, follow_frames)
    poses = framing.camera_poses
    assert poses.shape == (clip.joints.shape[1], 4, 4)
    assert np.allclose(poses[0], poses[-1]) == (follow_frames is None)
    points = clip.joints[0]  # [frames, 52, 3]
    local = np.einsum("fjk,fkl->fjl", points - poses[:, None, :3, 3], poses[:, :3, :3])
    depth = -local[..., 2]
    assert np.all(depth > 0.1)
    tan_y = np.tan(FIELD_OF_VIEW / 2)
    assert np.all(np.abs(local[..., 1] / depth) <= tan_y)
    assert np.all(np.abs(local[..., 0] / depth) <= tan_y * aspect)
    assert framing.floor_height < points[..., 1].min()


def test_tube_poses_join_the_joints() -> None:
    from vermo_cli.render.scene import tube_poses

    starts = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    ends = np.array([[0.0, 1.0, 0.5], [1.0, 2.0, 0.0]])
    poses = tube_poses(starts, ends, np.array([0.1, 0.2]))
    bottom, top = np.array([0.0, 0.0, -0.5, 1.0]), np.array([0.0, 0.0, 0.5, 1.0])
    np.testing.assert_allclose((poses @ bottom)[:, :3], starts, atol=1e-9)
    np.testing.assert_allclose((poses @ top)[:, :3], ends, atol=1e-9)
    rim = np.array([1.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(np.linalg.norm((poses @ rim)[:, :3], axis=1), [0.1, 0.2])


def test_platform_falls_back_to_osmesa(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(platform.PLATFORM_VARIABLE, raising=False)
    monkeypatch.setattr(platform, "library_available", lambda name: name == "OSMesa")
    assert platform.choose_gl_platform() == "osmesa"
    monkeypatch.setattr(platform, "library_available", lambda name: False)
    with pytest.raises(VermoError, match="libosmesa6"):
        platform.choose_gl_platform()


def test_bad_inputs_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "no such file" in one_line_error(tmp_path / "missing.npz")
    (tmp_path / "notes.txt").write_text("hello")
    assert "unknown format" in one_line_error(tmp_path / "notes.txt")
    np.savez(tmp_path / "other.npz", poses=np.zeros((4, 72)))
    assert "no 'joints' array" in one_line_error(tmp_path / "other.npz")
    motion = two_people_npz(tmp_path / "pair.npz")
    assert "--clip needs a corpus" in one_line_error(motion, "--clip", "a")
    assert "even" in one_line_error(motion, "--size", "101x100")
    (tmp_path / "noise.wav").write_bytes(b"not audio")
    assert "cannot decode audio" in one_line_error(motion, "--audio", tmp_path / "noise.wav")
    monkeypatch.delenv(platform.PLATFORM_VARIABLE, raising=False)
    monkeypatch.setattr(platform, "library_available", lambda name: False)
    assert "no offscreen OpenGL" in one_line_error(motion, "--sheet")
    assert not list(tmp_path.glob("*.mp4")) and not list(tmp_path.glob("*.png"))


def test_unknown_clip_is_one_line(corpus: Path) -> None:
    message = one_line_error(corpus, "--clip", "synthetic/00005-dance/000009")
    assert "no clip 'synthetic/00005-dance/000009'" in message and "did you mean" in message
    assert "needs --clip" in one_line_error(corpus)


@pytest.mark.slow
def test_bvh_take_to_mp4(shared_data: Path, tmp_path: Path) -> None:
    """A real Bandai take (30 fps, no hands), without audio."""
    output = render(shared_data / BANDAI_WAVE, "-o", tmp_path / "wave.mp4", "--size", "128")
    frames, seconds, _, has_audio = probe(tmp_path / "wave.mp4")
    source = load_render_motion(shared_data / BANDAI_WAVE)
    assert frames == source.joints.shape[1] and abs(seconds - source.seconds) < 0.05
    assert not has_audio and "no audio" in output
    images = video_frames(tmp_path / "wave.mp4")
    assert images[0].shape == (128, 128, 3)
    assert_drawn(images[len(images) // 2], (BLUE,))
    assert not list(tmp_path.glob(".*"))  # no temporary files left


@pytest.mark.slow
def test_two_people_with_audio_and_resampling(tmp_path: Path) -> None:
    motion = two_people_npz(tmp_path / "pair.npz")
    audio = tone(tmp_path / "tone.wav", seconds=5.0)
    output = render(motion, "--video", "--audio", audio, "--fps", "20", "--size", "160x128")
    assert "2 people" in output and "with audio" in output
    frames, seconds, container, has_audio = probe(tmp_path / "outputs" / "pair.mp4")
    expected = resampled_frame_count(87, 30.0, 20.0)
    assert frames == expected and abs(seconds - expected / 20) < 0.06
    assert has_audio and container < expected / 20 + 0.1  # the 5 s tone is cut to the video
    images = video_frames(tmp_path / "outputs" / "pair.mp4")
    assert images[0].shape == (128, 160, 3)
    assert_drawn(images[len(images) // 2], (BLUE, ORANGE))
    assert np.abs(images[0].astype(int) - images[-1].astype(int)).mean() > 0.5  # people move


@pytest.mark.slow
def test_corpus_clip_with_its_music_and_a_sheet(corpus: Path, tmp_path: Path) -> None:
    clip = "synthetic/00005-dance/000000"
    output = render(
        corpus,
        "--clip",
        clip,
        "--video",
        "--sheet",
        "--fps",
        "10",
        "--size",
        "96",
        "-o",
        tmp_path / "dance",
    )
    assert "with audio" in output
    frames, _, _, has_audio = probe(tmp_path / "dance.mp4")
    assert frames == resampled_frame_count(187, 30.0, 10.0) and has_audio
    with Image.open(tmp_path / "dance.png") as sheet:
        assert sheet.size == (4 * 96, 2 * 96)
        assert_drawn(np.asarray(sheet.convert("RGB")), (BLUE,))


@pytest.mark.slow
def test_sheet_alone(tmp_path: Path) -> None:
    motion = two_people_npz(tmp_path / "pair.npz")
    arguments = ["--sheet", "--sheet-frames", "6", "--size", "101x64", "--follow"]
    render(motion, *arguments, "-o", tmp_path / "s.png")
    assert not (tmp_path / "s.mp4").exists()
    with Image.open(tmp_path / "s.png") as sheet:
        assert sheet.size == (4 * 101, 2 * 64)
        tile = np.asarray(sheet.convert("RGB"))[:64, :101]
        assert_drawn(tile, (BLUE, ORANGE))


def test_smplh_joints_are_vermos_joint_set() -> None:
    from smplx.joint_names import SMPLH_JOINT_NAMES

    assert tuple(SMPLH_JOINT_NAMES[: len(JOINT_NAMES)]) == JOINT_NAMES


def test_mannequin_is_carried_rigidly_by_the_bones() -> None:
    from scipy.spatial.transform import Rotation

    from vermo_cli.render.mannequin import Mannequin

    clip = make_clip(0, 2)
    person = clip.joints[1].astype(np.float64)
    turn = Rotation.from_euler("yx", [70.0, 20.0], degrees=True).as_matrix()
    shift = np.array([1.0, 0.5, -2.0])
    mannequin = Mannequin(person, clip.joint_mask)
    moved = Mannequin(person @ turn.T + shift, clip.joint_mask)
    for frame in (0, 40):
        vertices, normals = mannequin.surface(frame)
        moved_vertices, moved_normals = moved.surface(frame)
        np.testing.assert_allclose(moved_vertices, vertices @ turn.T + shift, atol=1e-6)
        np.testing.assert_allclose(moved_normals, normals @ turn.T, atol=1e-6)
        np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-6)
        distance = np.linalg.norm(vertices[:, None] - person[frame][None], axis=-1).min(axis=1)
        assert distance.max() < 0.25  # every piece hugs the skeleton
    assert len(Mannequin(person, body_only_mask()).faces) < len(mannequin.faces)  # mittens


def test_mannequin_faces_the_way_the_person_does() -> None:
    from vermo_cli.render.mannequin import Mannequin

    rest = rest_motion()[0]  # faces +z, left on +x
    vertices, _ = Mannequin(rest, body_only_mask()).surface(0)
    chest = vertices[np.abs(vertices[:, 1] - rest[0, JOINT_INDEX["spine3"], 1]) < 0.02]
    assert np.ptp(chest[:, 0]) > 1.3 * np.ptp(chest[:, 2])  # wide across, shallow front to back
    feet = vertices[vertices[:, 1] < rest[0, JOINT_INDEX["left_ankle"], 1]]
    assert feet[:, 2].max() > rest[0, JOINT_INDEX["left_foot"], 2] + 0.03  # toes point forward
    assert feet[:, 1].min() < rest[0, JOINT_INDEX["left_foot"], 1] - 0.02  # soles below the joints


def test_smplh_forward_kinematics_matches_the_model(smplh_model_dir: Path) -> None:
    import torch
    from smplx.lbs import batch_rodrigues

    from vermo_cli.render.smplh import forward_kinematics, load_smplh_model

    model = load_smplh_model(smplh_model_dir)
    rng = np.random.default_rng(1)
    pose = torch.tensor(rng.normal(0.0, 0.5, (4, 52, 3)), dtype=torch.float32)
    betas = torch.tensor(rng.normal(0.0, 1.0, (4, 10)), dtype=torch.float32)
    expected = model(
        betas=betas,
        global_orient=pose[:, 0],
        body_pose=pose[:, 1:22].reshape(4, -1),
        left_hand_pose=pose[:, 22:37].reshape(4, -1),
        right_hand_pose=pose[:, 37:].reshape(4, -1),
    ).joints[:, :52]
    rotations = batch_rodrigues((pose + model.pose_mean.reshape(52, 3)).reshape(-1, 3))
    shaped = model.J_regressor @ (
        model.v_template + torch.einsum("vkb,nb->nvk", model.shapedirs, betas)
    )
    posed = forward_kinematics(rotations.reshape(4, 52, 3, 3), shaped)
    torch.testing.assert_close(posed, expected, atol=1e-5, rtol=0.0)


@pytest.mark.slow
def test_smplh_fit_recovers_a_motion_of_the_model(smplh_model_dir: Path) -> None:
    from vermo_cli.render.smplh import fit_smplh, load_smplh_model

    model = load_smplh_model(smplh_model_dir)
    joints, body_pose = posed_by_model(model, frames=24)
    fit = fit_smplh(model, joints, full_mask())
    assert fit.mean_error_mm < 20.0
    assert fit.poses.shape == (1, 24, 52, 3) and fit.translation.shape == (1, 24, 3)
    surface = fit.surfaces()[0]
    vertices, normals = surface.surface(23)
    assert vertices.shape == normals.shape == (6890, 3)
    # The fitted mesh's own joints (through smplx, not the fit's kinematics) are on the motion's.
    regressed = (model.J_regressor.numpy() @ fit.vertices(0, slice(0, 24)))[:, :52]
    assert np.linalg.norm(regressed - joints[0], axis=-1).mean() < 0.02
    # Knees and elbows bend about their hinge, as the motion was made: the thigh's and upper
    # arm's twist is recovered from the bend.
    for joint in ("left_knee", "right_knee", "left_elbow", "right_elbow"):
        index = JOINT_INDEX[joint]
        np.testing.assert_allclose(fit.poses[0, :, index], body_pose[:, index - 1], atol=0.1)
    body_only = fit_smplh(model, joints, body_only_mask())
    assert body_only.mean_error_mm < 20.0
    assert np.all(body_only.poses[0, :, 22:] == 0.0)  # hands stay at the model's mean pose


def test_body_options_are_one_line_errors(tmp_path: Path, smplh_model_dir: Path) -> None:
    motion = two_people_npz(tmp_path / "pair.npz")
    message = one_line_error(motion, "--sheet", "--body", "smplh")
    assert "--body-model DIR" in message and "SMPLH_NEUTRAL.pkl" in message
    (tmp_path / "empty").mkdir()
    message = one_line_error(
        motion, "--sheet", "--body", "smplh", "--body-model", tmp_path / "empty"
    )
    assert "no SMPL-H model" in message
    message = one_line_error(motion, "--sheet", "--body-model", smplh_model_dir)
    assert "--body-model is for --body smplh only" in message
    no_collar = body_only_mask()
    no_collar[JOINT_INDEX["left_collar"]] = False
    partial = tmp_path / "partial.npz"
    save_motion_npz(partial, rest_motion(3), no_collar)
    message = one_line_error(partial, "--sheet", "--body", "mannequin")
    assert "needs all 22 body joints" in message and "left_collar" in message
    assert not list(tmp_path.glob("*.mp4")) and not list(tmp_path.glob("*.png"))


@pytest.mark.slow
def test_mannequins_of_two_people(tmp_path: Path) -> None:
    motion = two_people_npz(tmp_path / "pair.npz")
    arguments = ["--sheet", "--sheet-frames", "4", "--size", "128", "--body", "mannequin"]
    render(motion, *arguments)
    with Image.open(tmp_path / "outputs" / "pair.png") as sheet:
        assert sheet.size == (4 * 128, 128)
        for column in range(4):
            assert_drawn(
                np.asarray(sheet.convert("RGB"))[:, 128 * column : 128 * (column + 1)],
                (BLUE, ORANGE),
            )


@pytest.mark.slow
def test_smplh_bodies_fitted_and_drawn(tmp_path: Path, smplh_model_dir: Path) -> None:
    from vermo_cli.render.smplh import load_smplh_model

    joints, _ = posed_by_model(load_smplh_model(smplh_model_dir), frames=20, seed=2)
    motion = tmp_path / "posed.npz"
    save_motion_npz(motion, joints, full_mask())
    arguments = ["--video", "--sheet", "--sheet-frames", "2", "--size", "96"]
    output = render(motion, *arguments, "--body", "smplh", "--body-model", smplh_model_dir)
    assert "fitted SMPL-H to 1 person" in output
    error = float(output.split("mean joint error ")[1].split(" mm")[0])
    assert error < 20.0
    assert video_frames(tmp_path / "outputs" / "posed.mp4")[0].shape == (96, 96, 3)
    with Image.open(tmp_path / "outputs" / "posed.png") as sheet:
        assert_drawn(np.asarray(sheet.convert("RGB"))[:, :96], (BLUE,))
