"""Tests of the FlowVQ tokenizer: shapes, codes, masking, determinism, resume and errors."""

from __future__ import annotations

import csv
import itertools
import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import RECIPES, CodeRunningPayload, cli_error, tiny_recipe
from safetensors.torch import load_file, save_file

from vermo_cli.data.prepare import SourceRequest, prepare_corpus
from vermo_cli.data.sources import SourceOptions
from vermo_cli.data.store import SIDECAR_NAME, open_corpus
from vermo_cli.errors import CorpusError
from vermo_cli.motion.skeleton import HAND_JOINTS, body_only_mask
from vermo_cli.recipes import RecipeError
from vermo_cli.tokenizers.flowvq.data import MotionBatch
from vermo_cli.tokenizers.flowvq.features import (
    ROOT_POSITION,
    ROOT_VELOCITY,
    MotionNormalizer,
    channel_mask,
    loss_weights,
)
from vermo_cli.tokenizers.flowvq.flow_decoder import (
    FlowMatchingDecoder,
    decoding_windows,
    sample_motion,
)
from vermo_cli.tokenizers.flowvq.recipe import (
    FlowDecoderConfig,
    QuantizerConfig,
    VqVaeConfig,
    load_flowvq_recipe,
)
from vermo_cli.tokenizers.flowvq.tokenizer import (
    FlowVQTokenizer,
    TokenizerError,
    tokenizer_identity,
)
from vermo_cli.tokenizers.flowvq.train import (
    fit_flowvq,
    latest_checkpoint,
    masked_mean,
    reconstruction_loss,
)
from vermo_cli.tokenizers.flowvq.vqvae import MotionQuantizer, MotionVqVae


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("flowvq") / "corpus"
    prepare_corpus([SourceRequest("synthetic")], output, SourceOptions(clips=24, seed=2))
    return output


@pytest.fixture(scope="module")
def tokenizer_dir(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tok")
    output = root / "tokenizer"
    fit_flowvq(corpus, output, tiny_recipe(root / "recipe.yaml"))
    return output


def test_shipped_recipes_validate() -> None:
    recipes = sorted(RECIPES.glob("flowvq*.yaml"))
    assert {p.name for p in recipes} >= {"flowvq.yaml", "flowvq-tiny.yaml"}
    for path in recipes:
        recipe = load_flowvq_recipe(path)
        assert path.read_text().startswith("#") and "vermo tokenize fit" in path.read_text()
        assert recipe.vqvae.compression == 4
    paper = load_flowvq_recipe(RECIPES / "flowvq.yaml")
    assert paper.vqvae.width == 512 and paper.vqvae.quantizer.size == 4375
    assert (paper.flow.blocks, paper.flow.heads, paper.flow.head_dim, paper.flow.ffn) == (
        8,
        4,
        128,
        1024,
    )


def test_bad_recipes_are_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "kind: flowvq\nname: x\nstage1: {steps: 1, batch_size: 1, learning_rate: 1}\n"
        "stage2: {steps: 1, batch_size: 1, learning_rate: 1}\nvqvae: {widht: 3}\n"
    )
    with pytest.raises(RecipeError, match=r"vqvae\.widht"):
        load_flowvq_recipe(path)
    path.write_text("kind: flowvq\n  bad: [")
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_flowvq_recipe(path)
    path.write_text(
        (RECIPES / "flowvq-tiny.yaml").read_text().replace("compression: 4", "compression: 3")
    )
    with pytest.raises(RecipeError, match="power of two"):
        load_flowvq_recipe(path)


@pytest.mark.parametrize("architecture", ["flowvq", "vanilla"])
@pytest.mark.parametrize("frames", [4, 37, 64])
def test_autoencoder_keeps_length(architecture: str, frames: int) -> None:
    config = VqVaeConfig(
        architecture=architecture,
        width=16,
        blocks_per_level=1,
        dilation_growth=3 if architecture == "vanilla" else 1,
    )
    model = MotionVqVae(config)
    padded = -(-frames // 4) * 4
    reconstruction, codes, _ = model(torch.randn(2, padded, 156))
    assert reconstruction.shape == (2, padded, 156) and codes.shape == (2, padded // 4)


def test_fsq_codes_cover_0_to_4374() -> None:
    quantizer = MotionQuantizer(8, QuantizerConfig(kind="fsq"))
    latents = torch.randn(4, 8, 4096) * 50.0
    quantized, codes, auxiliary = quantizer(latents)
    assert codes.min() >= 0 and codes.max() <= 4374 and float(auxiliary) == 0.0
    assert codes.min() == 0 or codes.max() == 4374  # extreme latents reach the corners
    assert len(torch.unique(codes)) > 100
    # Decoding from codes sees exactly the latents the quantizer produced.
    assert torch.allclose(quantizer.codes_to_latents(codes), quantized, atol=1e-5)


def test_root_weight_weighs_the_root_channels() -> None:
    weights = torch.from_numpy(loss_weights("trajectory", 30.0))
    assert weights[ROOT_VELOCITY].tolist() == [30.0, 30.0]
    assert weights[ROOT_POSITION].tolist() == [30.0, 30.0]
    assert float(weights[3:156].max()) == 1.0 and weights[1] == 1.0
    assert loss_weights("positions", 5.0)[:3].tolist() == [5.0] * 3
    motion = torch.zeros(1, 8, 158)
    batch = MotionBatch(
        motion,
        torch.ones(1, 8, dtype=torch.bool),
        torch.ones(1, 52, dtype=torch.bool),
        torch.ones(1, 158, dtype=torch.bool),
    )
    shifted = motion.clone()
    shifted[..., ROOT_VELOCITY[0]] += 0.1
    plain = float(masked_mean(shifted - motion, batch))
    weighted = float(masked_mean(shifted - motion, batch, weights))
    assert plain == pytest.approx(0.1 / 158)
    assert weighted == pytest.approx(30 * 0.1 / (154 + 4 * 30))


def test_invalid_joints_give_no_loss_and_no_gradient() -> None:
    torch.manual_seed(0)
    model = MotionVqVae(VqVaeConfig(width=16, blocks_per_level=1))
    mask = torch.from_numpy(body_only_mask())[None].repeat(2, 1)
    motion = torch.randn(2, 16, 156)
    motion[:, :, 66:] = 0.0  # invalid hand channels are zero after normalisation
    channels = torch.from_numpy(channel_mask(body_only_mask(), "positions"))[None].repeat(2, 1)
    batch = MotionBatch(motion, torch.ones(2, 16, dtype=torch.bool), mask, channels)
    reconstruction = model(batch.motion)[0].detach().requires_grad_(True)
    masked_mean((reconstruction - batch.motion) ** 2, batch).backward()
    assert torch.all(reconstruction.grad[:, :, 66:] == 0)
    assert torch.any(reconstruction.grad[:, :, :66] != 0)
    # Whatever the decoder puts on hand channels, the loss does not change.
    loss = reconstruction_loss(model)
    with torch.no_grad():
        before = loss(batch, 0).item()
        model.decoder.net[-1].bias[66:] += 5.0
        after_hands = loss(batch, 0).item()
        model.decoder.net[-1].bias[:66] += 5.0
        after_body = loss(batch, 0).item()
    assert after_hands == pytest.approx(before, rel=1e-6)
    assert after_body > before + 1.0
    assert HAND_JOINTS[0] * 3 == 66


@pytest.mark.slow
def test_round_trip_lengths_for_one_and_two_people(tokenizer_dir: Path) -> None:
    tokenizer = FlowVQTokenizer.load(tokenizer_dir)
    rng = np.random.default_rng(0)
    for agents, frames in ((1, 37), (2, 37), (1, 40), (2, 1)):
        joints = rng.normal(size=(agents, frames, 52, 3)).astype(np.float32)
        codes = tokenizer.encode(joints, body_only_mask())
        assert codes.shape == (agents, -(-frames // 4)) and codes.dtype == np.int64
        assert codes.min() >= 0 and codes.max() < 4375
        for decoder in ("vqvae", "flow"):
            decoded = tokenizer.decode(codes, frames, decoder)
            assert decoded.shape == (agents, frames, 52, 3)
            assert tokenizer.reconstruct(joints, body_only_mask(), decoder).shape == decoded.shape


@pytest.mark.slow
def test_encode_is_deterministic_and_flow_sampling_is_seeded(tokenizer_dir: Path) -> None:
    tokenizer = FlowVQTokenizer.load(tokenizer_dir)
    clips = open_corpus(tokenizer.corpus_path).clips.with_format("numpy")
    motion, mask = clips[0]["motion"], clips[0]["joint_mask"]
    assert np.array_equal(tokenizer.encode(motion, mask), tokenizer.encode(motion, mask))
    codes = tokenizer.encode(motion, mask)
    first = tokenizer.decode(codes, decoder="flow", seed=1)
    assert np.array_equal(first, tokenizer.decode(codes, decoder="flow", seed=1))
    assert not np.allclose(first, tokenizer.decode(codes, decoder="flow", seed=2))


class StopAt:
    """Progress receiver that interrupts training after a given step (like Ctrl-C)."""

    def __init__(self, stage: int, step: int) -> None:
        self.stage, self.step = stage, step

    def stage_started(self, stage: int, total_steps: int, first_step: int) -> None: ...

    def validated(self, stage: int, step: int, loss: float) -> None: ...

    def step_done(self, stage: int, step: int, loss: float) -> None:
        if (stage, step) == (self.stage, self.step):
            raise KeyboardInterrupt


def logged_losses(path: Path) -> list[tuple[str, ...]]:
    """The deterministic columns of a stage's `train.csv` (the timings differ between runs);
    also checks that every row has a positive throughput."""
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert all(float(row["frames_per_second"]) > 0 for row in rows)
    columns = ("step", "loss", "learning_rate", "validation_loss")
    return [tuple(row[column] for column in columns) for row in rows]


@pytest.mark.slow
@pytest.mark.parametrize("stage", [1, 2])
def test_resume_continues_the_same_loss_curve(corpus: Path, tmp_path: Path, stage: int) -> None:
    recipe = tiny_recipe(tmp_path / "recipe.yaml", steps=6, checkpoint_every=3)
    fit_flowvq(corpus, tmp_path / "straight", recipe)
    with pytest.raises(KeyboardInterrupt):
        fit_flowvq(corpus, tmp_path / "resumed", recipe, progress=StopAt(stage, 5))
    fit_flowvq(corpus, tmp_path / "resumed", resume=True, stages=(stage, 2) if stage == 1 else (2,))
    for number in (1, 2):
        straight = logged_losses(tmp_path / f"straight/logs/stage{number}/train.csv")
        resumed = logged_losses(tmp_path / f"resumed/logs/stage{number}/train.csv")
        assert resumed == straight
    straight_info = json.loads((tmp_path / "straight/tokenizer.json").read_text())
    resumed_info = json.loads((tmp_path / "resumed/tokenizer.json").read_text())
    assert resumed_info["identity"] == straight_info["identity"]


@pytest.mark.parametrize(
    ("via", "writer"), [("os.system", "torch"), ("builtins.exec", "pickle"), (None, "cut")]
)
def test_resume_reads_no_code_from_a_crafted_checkpoint(
    corpus: Path, tokenizer_dir: Path, tmp_path: Path, via: str | None, writer: str
) -> None:
    """A `step-*.pt` whose unpickling would run code is refused in one line, and the code never
    runs; a damaged one is a one-line error too."""
    run = tmp_path / "run"
    shutil.copytree(tokenizer_dir, run)
    checkpoint = latest_checkpoint(run, 1)
    assert checkpoint is not None
    marker = tmp_path / "marker"
    state = {"step": 4, "model": CodeRunningPayload(marker, str(via))}
    if writer == "torch":
        torch.save(state, checkpoint)
    elif writer == "pickle":
        checkpoint.write_bytes(pickle.dumps(state))
    else:
        checkpoint.write_bytes(checkpoint.read_bytes()[:100])
    line = cli_error("tokenize", "fit", "--data", corpus, "-o", run, "--resume")
    assert not marker.exists()
    if writer == "cut":
        assert line.startswith(f"error: {checkpoint}: not a readable checkpoint (")
    else:
        assert line.startswith(f"error: {checkpoint}: not loaded: ")
        assert "may hold only tensors and plain data" in line
    if writer == "torch":
        assert "it names posix.system" in line


def _perturb_weights(path: Path) -> None:
    """Replace a safetensors file with other weights of the same shapes."""
    weights = load_file(str(path))
    first = next(iter(weights))
    save_file({**weights, first: weights[first] + 0.01}, str(path))


@pytest.mark.slow
def test_swapped_weights_never_pass_as_the_original_tokenizer(
    corpus: Path, tokenizer_dir: Path, tmp_path: Path
) -> None:
    """The identity is computed from the weights: weights swapped under a kept tokenizer.json
    are refused, and with the json edited to match them they are another tokenizer, whose codes
    the original's token corpus does not accept."""
    from vermo_cli.tokenizers.flowvq.decode_file import decode_to_npz
    from vermo_cli.tokenizers.token_corpus import encode_corpus

    original = FlowVQTokenizer.load(tokenizer_dir)
    swapped = tmp_path / "swapped"
    shutil.copytree(tokenizer_dir, swapped, ignore=shutil.ignore_patterns("checkpoints", "logs"))
    for name in ("stage1.safetensors", "flow.safetensors"):
        _perturb_weights(swapped / name)
        message = cli_error(
            "tokenize", "encode", "--tokenizer", swapped, "--data", corpus, "-o", tmp_path / "t"
        )
        assert message.startswith(f"error: {swapped / name}: weights changed since tokenizer.json")
        shutil.copyfile(tokenizer_dir / name, swapped / name)
    _perturb_weights(swapped / "stage1.safetensors")
    info = json.loads((swapped / "tokenizer.json").read_text())
    info["identity"] = tokenizer_identity(
        swapped / "stage1.safetensors", original.normalizer, original.recipe
    )
    (swapped / "tokenizer.json").write_text(json.dumps(info))
    assert FlowVQTokenizer.load(swapped).identity == info["identity"] != original.identity
    encode_corpus(tokenizer_dir, corpus, tmp_path / "tokens")
    clip = open_corpus(corpus).clips[0]["id"]
    with pytest.raises(TokenizerError, match=f"encoded by tokenizer {original.identity}, not by"):
        decode_to_npz(swapped, tmp_path / "tokens", tmp_path / "decoded.npz", clip)


@pytest.mark.slow
def test_corpus_without_stats_and_joint_set_mismatch(
    corpus: Path, tmp_path: Path, tokenizer_dir: Path
) -> None:
    broken = tmp_path / "no-stats"
    shutil.copytree(corpus, broken)
    sidecar = json.loads((broken / SIDECAR_NAME).read_text())
    del sidecar["stats"]
    (broken / SIDECAR_NAME).write_text(json.dumps(sidecar))
    with pytest.raises(CorpusError, match="no normalisation statistics"):
        fit_flowvq(broken, tmp_path / "out", tiny_recipe(tmp_path / "r.yaml", features="positions"))
    # trajectory features fit their statistics on the training split instead
    info = fit_flowvq(
        broken, tmp_path / "own", tiny_recipe(tmp_path / "t.yaml", features="trajectory")
    )
    assert info["normalizer"]["kind"] == "trajectory" and len(info["normalizer"]["std"]) == 158
    sidecar = json.loads((corpus / SIDECAR_NAME).read_text())
    sidecar["skeleton"]["joint_names"] = sidecar["skeleton"]["joint_names"][:22]
    (broken / SIDECAR_NAME).write_text(json.dumps(sidecar))
    with pytest.raises(TokenizerError, match="joint set"):
        fit_flowvq(broken, tmp_path / "out2", tiny_recipe(tmp_path / "r.yaml"))
    from vermo_cli.tokenizers.token_corpus import encode_corpus

    with pytest.raises(TokenizerError, match="joint set"):
        encode_corpus(tokenizer_dir, broken, tmp_path / "tokens")
    with pytest.raises(TokenizerError, match="not a trained FlowVQ tokenizer"):
        FlowVQTokenizer.load(tmp_path)


def test_decoding_windows_cover_long_motions_with_overlap() -> None:
    assert decoding_windows(48, 64, 4) == [(0, 48)]
    windows = decoding_windows(360, 64, 4)
    assert windows[0] == (0, 64) and windows[-1] == (296, 360)
    assert all(stop - start == 64 and start % 4 == 0 for start, stop in windows)
    for (_, stop), (start, _) in itertools.pairwise(windows):
        assert start < stop  # consecutive windows overlap
    covered = np.zeros(360, dtype=bool)
    for start, stop in windows:
        covered[start:stop] = True
    assert covered.all()


def test_windowed_flow_sampling_matches_one_pass_on_short_motions() -> None:
    config = FlowDecoderConfig(blocks=1, heads=2, head_dim=8, ffn=32, condition_on_stage1=False)
    torch.manual_seed(0)
    decoder = FlowMatchingDecoder(config, latent_width=16, compression=4).eval()
    latents = torch.randn(1, 16, 10)
    whole = sample_motion(decoder, latents, 40, 3, torch.Generator().manual_seed(1))
    windowed = sample_motion(
        decoder, latents, 40, 3, torch.Generator().manual_seed(1), window_frames=64
    )
    torch.testing.assert_close(whole, windowed)
    long = sample_motion(
        decoder, torch.randn(1, 16, 50), 200, 3, torch.Generator().manual_seed(1), window_frames=32
    )
    assert long.shape == (1, 200, 156) and torch.isfinite(long).all()


def test_flow_decoder_conditioned_on_stage1_needs_the_reconstruction() -> None:
    assert not FlowDecoderConfig().condition_on_stage1  # the paper's design unless asked
    config = FlowDecoderConfig(blocks=1, heads=2, head_dim=8, ffn=32, condition_on_stage1=True)
    decoder = FlowMatchingDecoder(config, latent_width=16, compression=4).eval()
    latents, prior = torch.randn(1, 16, 20), torch.randn(1, 80, 156)
    with pytest.raises(ValueError, match="stage-1 reconstruction"):
        sample_motion(decoder, latents, 80, 2, torch.Generator().manual_seed(0))
    a = sample_motion(decoder, latents, 80, 2, torch.Generator().manual_seed(0), prior=prior)
    b = sample_motion(
        decoder, latents, 80, 2, torch.Generator().manual_seed(0), window_frames=32, prior=prior
    )
    assert a.shape == b.shape == (1, 80, 156)


def test_sample_predicting_decoder_starts_from_the_stage1_reconstruction() -> None:
    """Zero-initialised, a sample-predicting decoder conditioned on stage 1 predicts exactly the
    reconstruction, so sampling returns it whatever the noise: stage 2 starts where stage 1 is."""
    config = FlowDecoderConfig(
        blocks=1, heads=2, head_dim=8, ffn=32, condition_on_stage1=True, prediction="sample"
    )
    decoder = FlowMatchingDecoder(config, latent_width=16, compression=4).eval()
    latents, prior = torch.randn(2, 16, 10), torch.randn(2, 40, 156)
    for seed in (0, 1):
        decoded = sample_motion(
            decoder, latents, 40, 5, torch.Generator().manual_seed(seed), prior=prior
        )
        torch.testing.assert_close(decoded, prior)


def test_sample_prediction_is_turned_into_the_velocity_the_sampler_integrates() -> None:
    config = FlowDecoderConfig(blocks=1, heads=2, head_dim=8, ffn=32, prediction="sample")
    torch.manual_seed(0)
    decoder = FlowMatchingDecoder(config, latent_width=16, compression=4).eval()
    torch.nn.init.normal_(decoder.motion_out.weight, std=0.1)
    noisy, latents = torch.randn(2, 40, 156), torch.randn(2, 16, 10)
    timesteps = torch.tensor([750.0, 250.0])
    with torch.no_grad():
        motion = decoder(noisy, timesteps, latents)
        velocity = decoder.velocity(noisy, timesteps, latents)
    sigma = torch.tensor([0.75, 0.25])[:, None, None]
    torch.testing.assert_close(velocity, (noisy - motion) / sigma)
    # an Euler step to sigma = 0 lands on the predicted motion
    torch.testing.assert_close(noisy - sigma * velocity, motion)


def test_overwrite_deletes_only_a_tokenizer_run(corpus: Path, tmp_path: Path) -> None:
    """`--overwrite` never deletes a folder that is not a FlowVQ run (a mistyped -o)."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    line = cli_error(
        "tokenize", "fit", "--data", corpus, "--recipe", tiny_recipe(tmp_path / "r.yaml"),
        "-o", mine, "--overwrite",
    )  # fmt: skip
    assert line == f"error: {mine}: not a FlowVQ tokenizer run; refusing to overwrite it"
    assert [path.name for path in mine.iterdir()] == ["notes.txt"]


def test_stage_two_alone_retrains_the_flow_decoder_and_keeps_stage_one(
    corpus: Path, tokenizer_dir: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(tokenizer_dir, run)
    stage1 = (run / "stage1.safetensors").read_bytes()
    recipe = tiny_recipe(tmp_path / "recipe.yaml")
    line = cli_error(
        "tokenize", "fit", "--data", corpus, "--recipe", recipe, "-o", run, "--stage", "2"
    )
    assert "already has a stage 2 (pass --overwrite" in line
    info = fit_flowvq(corpus, run, recipe, stages=(2,), overwrite=True)
    assert (run / "stage1.safetensors").read_bytes() == stage1
    assert set(info["stages"]) == {"1", "2"}
    assert FlowVQTokenizer.load(run).identity == FlowVQTokenizer.load(tokenizer_dir).identity
    fresh = tmp_path / "fresh"
    line = cli_error(
        "tokenize", "fit", "--data", corpus, "--recipe", recipe, "-o", fresh, "--stage", "2"
    )
    assert "stage 2 needs stage 1 first" in line and not fresh.exists()


def _long_walk(pose: np.ndarray, frames: int = 360, speed: float = 0.03) -> np.ndarray:
    """`[1, frames, 52, 3]`: `pose` `[52, 3]` carried forward (+z, the canonical facing) at
    `speed` metres per frame on average (12 s, 11 m at 30 fps), surging by a quarter and
    bobbing 2 cm with each of two steps a second."""
    time = np.arange(frames)
    shift = np.zeros((frames, 1, 3), dtype=np.float32)
    step_phase = 2 * np.pi * 2 * time / 30
    shift[:, 0, 2] = speed * (time + 0.25 * 30 / (2 * np.pi * 2) * np.sin(step_phase))
    shift[:, 0, 1] = 0.02 * np.sin(step_phase)
    return (pose[None] + shift)[None].astype(np.float32)


class RoundingAutoencoder(torch.nn.Module):
    """A stand-in stage 1 whose only loss is quantisation: each normalised channel is rounded
    to a grid of `step`, one code per frame, and decoded as it is."""

    def __init__(self, step: float) -> None:
        super().__init__()
        self.step = step
        self.anchor = torch.nn.Parameter(torch.zeros(()))  # gives the tokenizer a device

    def quantize(self, motion: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rounded = torch.round(motion / self.step) * self.step
        return rounded.transpose(1, 2), torch.zeros(motion.shape[:2], dtype=torch.long), motion

    def decode_latents(self, quantized: torch.Tensor) -> torch.Tensor:
        return quantized.transpose(1, 2)


def test_root_anchoring_keeps_the_root_of_a_long_walk(corpus: Path) -> None:
    """With velocities quantised to 0.5 standard deviation (11 mm a frame), a 12 s walk at
    30 mm a frame drifts by half a metre when encoded in one pass; closed-loop encoding (the
    `mocap-flowvq` recipe's) cancels the drift and ends the walk where it ended."""
    recipe = load_flowvq_recipe(RECIPES / "mocap-flowvq.yaml")
    assert recipe.vqvae.features == "velocity" and recipe.vqvae.root_anchor_iterations > 0
    std = np.ones(156, dtype=np.float32)
    std[ROOT_VELOCITY] = 0.0225
    normalizer = MotionNormalizer(np.zeros(156, dtype=np.float32), std, kind="velocity")
    info = {"normalizer": normalizer.to_json()}
    tokenizer = FlowVQTokenizer(Path("."), recipe, info, RoundingAutoencoder(0.5), None, "x")
    clip = open_corpus(corpus).clips.with_format("numpy")[0]
    walk, mask = _long_walk(clip["motion"][0, 0]), clip["joint_mask"]

    def end_error(iterations: int) -> float:
        vqvae = recipe.vqvae.model_copy(update={"root_anchor_iterations": iterations})
        tokenizer.recipe = recipe.model_copy(update={"vqvae": vqvae})
        decoded = tokenizer.reconstruct(walk, mask, "vqvae")
        return float(np.linalg.norm(decoded[0, -1, 0, [0, 2]] - walk[0, -1, 0, [0, 2]]))

    plain, anchored = end_error(0), end_error(recipe.vqvae.root_anchor_iterations)
    assert plain > 0.4 and anchored < 0.05
