"""Tests of the audio codec interface, the built-in codec and its training, and the plugins."""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import datasets
import librosa
import numpy as np
import pytest
import soundfile
import torch
from conftest import CodeRunningPayload, cli_error, codec_recipe
from safetensors.torch import load_file
from transformers import EncodecConfig, EncodecFeatureExtractor, EncodecModel
from vermo_plugins.codecs.builtin import BuiltinAudioCodec
from vermo_plugins.codecs.transformers_codec import TransformersAudioCodec

from vermo_cli.data.store import write_sidecar
from vermo_cli.recipes import RecipeError
from vermo_cli.tokenizers.audio_codec.data import collect_training_audio
from vermo_cli.tokenizers.audio_codec.interface import CodecError, codec_plugins, load_codec
from vermo_cli.tokenizers.audio_codec.network import SpectralCodecNetwork
from vermo_cli.tokenizers.audio_codec.recipe import AudioCodecRecipe, load_audio_codec_recipe
from vermo_cli.tokenizers.audio_codec.train import fit_audio_codec

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
RATE = 24_000


def click_track(seconds: float, rate: int = RATE, bpm: float = 120.0) -> np.ndarray:
    """`[samples]` float32: a 5 ms click (decaying 3 kHz burst) on every beat over a quiet
    220 Hz tone."""
    time = np.arange(round(seconds * rate)) / rate
    signal = 0.05 * np.sin(2 * np.pi * 220.0 * time)
    click_time = np.arange(round(0.02 * rate)) / rate
    click = 0.8 * np.sin(2 * np.pi * 3000.0 * click_time) * np.exp(-click_time / 0.005)
    for beat in np.arange(0.25, seconds - 0.05, 60.0 / bpm):
        first = round(beat * rate)
        piece = click[: len(signal) - first]
        signal[first : first + len(piece)] += piece
    return signal.astype(np.float32)


def small_recipe(**overrides: object) -> AudioCodecRecipe:
    """A codec small enough to train in seconds on a CPU."""
    settings: dict[str, object] = {
        "kind": "audio-codec",
        "channels": 16,
        "n_mels": 32,
        "residual_units": 1,
        "latent_dim": 16,
        "codebook_size": 1024,
        "steps": 6,
        "batch_size": 2,
        "crop_seconds": 0.5,
        "warmup_steps": 2,
        "checkpoint_every": 3,
        "log_every": 1,
    }
    settings.update(overrides)
    return AudioCodecRecipe(**settings)


def untrained_codec(seed: int = 0) -> BuiltinAudioCodec:
    torch.manual_seed(seed)
    return BuiltinAudioCodec(SpectralCodecNetwork(small_recipe().network()))


def write_wav(path: Path, waveform: np.ndarray, rate: int = RATE) -> Path:
    soundfile.write(str(path), waveform, rate)
    return path


def test_every_audio_codec_recipe_loads_and_names_its_command() -> None:
    paths = sorted(RECIPES.glob("audio-codec*.yaml"))
    assert [p.name for p in paths] == ["audio-codec-tiny.yaml", "audio-codec.yaml"]
    for path in paths:
        recipe = load_audio_codec_recipe(path)
        assert recipe.tokens_per_second == 40.0
        assert recipe.sample_rate == 24_000
        first_line = path.read_text().splitlines()[0]
        assert first_line.startswith("# vermo tokenize fit --modality audio")
        assert f"--recipe recipes/{path.name}" in first_line


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("kind: flowvq\n", "not an audio-codec recipe"),
        ("kind: audio-codec\nn_fft: 512\n", "must be at least hop"),
        ("kind: audio-codec\ncodebook_size: 3000\n", "codebook_size"),
        ("kind: audio-codec\nsteps: 0\n", "steps"),
        ("kind: audio-codec\nbatch: 4\n", "batch"),
        ("kind: [audio\n", "not valid YAML"),
    ],
)
def test_bad_recipes_give_one_line_errors(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "recipe.yaml"
    path.write_text(content)
    with pytest.raises(RecipeError) as error:
        load_audio_codec_recipe(path)
    message = str(error.value)
    assert str(path) in message and problem in message and "\n" not in message
    with pytest.raises(RecipeError, match="recipe not found"):
        load_audio_codec_recipe(tmp_path / "missing.yaml")


def test_builtin_codec_round_trips_length_range_and_is_deterministic() -> None:
    codec = untrained_codec()
    assert (codec.sample_rate, codec.tokens_per_second, codec.codebook_size) == (24_000, 40, 1024)
    rate = 22_050
    waveform = click_track(1.3, rate)
    tokens = codec.encode(waveform, rate)
    resampled_length = round(len(waveform) * RATE / rate)
    assert tokens.dtype == np.int64 and tokens.ndim == 1
    assert len(tokens) == math.ceil(resampled_length / 600)
    assert tokens.min() >= 0 and tokens.max() < codec.codebook_size
    np.testing.assert_array_equal(codec.encode(waveform, rate), tokens)
    decoded = codec.decode(tokens)
    assert decoded.dtype == np.float32 and len(decoded) == len(tokens) * 600
    # Padding to a whole token: never shorter than the input, at most one hop longer.
    assert resampled_length <= len(decoded) < resampled_length + 600
    assert len(codec.decode(codec.encode(np.zeros(0, np.float32), RATE))) == 0


def test_long_audio_is_coded_in_windows_like_one_pass() -> None:
    codec = untrained_codec()
    waveform = np.random.default_rng(0).normal(0, 0.1, 45 * RATE).astype(np.float32)
    tokens = codec.encode(waveform, RATE)
    with torch.no_grad():
        _, whole = codec.network.quantize(torch.from_numpy(waveform[None]))
    assert len(tokens) == 1800 and np.mean(tokens == whole[0].numpy()) > 0.99
    assert len(codec.decode(tokens)) == 1800 * 600


def test_decode_rejects_tokens_out_of_range() -> None:
    codec = untrained_codec()
    with pytest.raises(CodecError, match=r"tokens must lie in \[0, 1024\)"):
        codec.decode(np.array([0, 1024]))
    with pytest.raises(CodecError, match="1-D integer"):
        codec.decode(np.zeros((2, 2), dtype=np.int64))


def test_load_codec_dispatches_through_entry_points(tmp_path: Path) -> None:
    assert {"builtin", "transformers"} <= set(codec_plugins())
    codec = untrained_codec()
    codec.save(tmp_path / "a")
    manifest = json.loads((tmp_path / "a" / "codec.json").read_text())
    assert manifest["plugin"] == "builtin" and manifest["config"]["codebook_size"] == 1024
    loaded = load_codec(tmp_path / "a")
    assert isinstance(loaded, BuiltinAudioCodec)
    assert loaded.identity == codec.identity and loaded.identity.startswith("builtin:")
    waveform = click_track(1.0)
    np.testing.assert_array_equal(loaded.encode(waveform, RATE), codec.encode(waveform, RATE))
    other = untrained_codec(seed=1)
    other.save(tmp_path / "b")
    assert load_codec(tmp_path / "b").identity != codec.identity
    # the identity comes from the weights loaded, not from codec.json: swapped weights under a
    # kept codec.json are another codec
    (tmp_path / "a" / "model.safetensors").write_bytes(
        (tmp_path / "b" / "model.safetensors").read_bytes()
    )
    assert load_codec(tmp_path / "a").identity == load_codec(tmp_path / "b").identity


def test_bad_codec_directories_give_one_line_errors(tmp_path: Path) -> None:
    cases = {
        tmp_path / "missing": "codec directory not found",
        tmp_path / "empty": "no codec.json",
        tmp_path / "foreign": "not a vermo-codec v1 manifest",
        tmp_path / "garbled": "unreadable codec manifest",
        tmp_path / "unknown": "unknown codec plugin 'wavtokenizer'",
        tmp_path / "noweights": "codec weights missing",
    }
    for name in ("empty", "foreign", "garbled", "unknown", "noweights"):
        (tmp_path / name).mkdir()
    (tmp_path / "foreign" / "codec.json").write_text('{"format": "other"}')
    (tmp_path / "garbled" / "codec.json").write_text("{")
    for name, plugin in (("unknown", "wavtokenizer"), ("noweights", "builtin")):
        config = small_recipe().network().model_dump() if plugin == "builtin" else {}
        manifest = {"format": "vermo-codec", "version": 1, "plugin": plugin, "config": config}
        (tmp_path / name / "codec.json").write_text(json.dumps(manifest))
    for directory, problem in cases.items():
        with pytest.raises(CodecError) as error:
            load_codec(directory)
        message = str(error.value)
        assert str(directory) in message and problem in message and "\n" not in message


def test_training_audio_comes_from_files_folders_and_corpus_train_clips(tmp_path: Path) -> None:
    write_wav(tmp_path / "clicks.wav", click_track(2.0, 16_000), 16_000)
    corpus = tmp_path / "corpus"
    (corpus / "audio").mkdir(parents=True)
    write_wav(corpus / "audio" / "take.flac", click_track(4.0))
    audio = {"path": "audio/take.flac", "duration": 1.5, "sample_rate": RATE}
    rows = {
        "audio": [
            {**audio, "offset": 0.5, "kind": "music", "genre": "pop"},
            {**audio, "offset": 0.5, "kind": "music", "genre": "pop"},
            {**audio, "offset": 2.0, "kind": "music", "genre": "pop"},
            None,
        ],
        "split": ["train", "train", "test", "train"],
    }
    datasets.Dataset.from_dict(rows).save_to_disk(str(corpus))
    write_sidecar(corpus, {})
    waveforms = collect_training_audio([tmp_path / "clicks.wav", corpus], RATE)
    assert [len(w) for w in waveforms] == [2 * RATE, round(1.5 * RATE)]
    assert len(collect_training_audio([tmp_path], RATE)) == 2  # the wav and the corpus flac
    with pytest.raises(CodecError, match="training audio not found"):
        collect_training_audio([tmp_path / "nothing"], RATE)
    (tmp_path / "silent").mkdir()
    with pytest.raises(CodecError, match="holds no audio"):
        collect_training_audio([tmp_path / "silent"], RATE)


class InterruptedRunError(Exception):
    """Stands in for a run killed right after a checkpoint."""


def test_resumed_training_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    data = [write_wav(tmp_path / "clicks.wav", click_track(3.0))]
    recipe = small_recipe()
    whole_losses: list[float] = []
    fit_audio_codec(
        data,
        recipe,
        tmp_path / "whole",
        progress=lambda step, steps, losses: whole_losses.append(losses["loss"]),
    )

    def stop_at_three(step: int, steps: int, losses: dict[str, float]) -> None:
        if step == 3:
            raise InterruptedRunError

    with pytest.raises(InterruptedRunError):
        fit_audio_codec(data, recipe, tmp_path / "split", progress=stop_at_three)
    with pytest.raises(CodecError, match="already holds files"):
        fit_audio_codec(data, recipe, tmp_path / "split")
    resumed_losses: list[float] = []
    fit_audio_codec(
        data,
        recipe,
        tmp_path / "split",
        progress=lambda step, steps, losses: resumed_losses.append(losses["loss"]),
        resume=True,
    )
    assert resumed_losses == whole_losses[3:]
    whole = load_file(str(tmp_path / "whole" / "model.safetensors"))
    split = load_file(str(tmp_path / "split" / "model.safetensors"))
    assert whole.keys() == split.keys()
    for name, tensor in whole.items():
        assert torch.equal(tensor, split[name]), name
    assert load_codec(tmp_path / "whole").identity == load_codec(tmp_path / "split").identity
    assert any((tmp_path / "whole" / "logs").iterdir())
    with pytest.raises(CodecError, match="another recipe"):
        fit_audio_codec(data, small_recipe(seed=1), tmp_path / "split", resume=True)


@pytest.mark.parametrize(("via", "writer"), [("os.system", "torch"), ("builtins.exec", "pickle")])
def test_resume_reads_no_code_from_a_crafted_checkpoint(
    tmp_path: Path, via: str, writer: str
) -> None:
    """`checkpoint.pt` is read with torch's restricted unpickler: a file whose unpickling would
    run code is refused in one line and the code never runs."""
    data = write_wav(tmp_path / "clicks.wav", click_track(1.0))
    run = tmp_path / "run"
    run.mkdir()
    marker = tmp_path / "marker"
    state = {"step": 1, "recipe": CodeRunningPayload(marker, via)}
    if writer == "torch":
        torch.save(state, run / "checkpoint.pt")
    else:
        (run / "checkpoint.pt").write_bytes(pickle.dumps(state))
    line = cli_error(
        "tokenize", "fit", "--modality", "audio", "--data", data,
        "--recipe", codec_recipe(tmp_path / "codec.yaml"), "-o", run, "--resume",
    )  # fmt: skip
    assert not marker.exists()
    assert line.startswith(f"error: {run / 'checkpoint.pt'}: not loaded: ")


@pytest.mark.slow
def test_a_briefly_trained_codec_keeps_the_beat(tmp_path: Path) -> None:
    """Clicks at 120 BPM over a tone: after a short CPU run (250 steps, a few seconds on two
    cores), the decoded audio has an onset within 50 ms of most clicks, and librosa's beat
    tracker finds the same tempo and beats (within 50 ms) in it as in the original."""
    data = [write_wav(tmp_path / "clicks.wav", click_track(8.0))]
    recipe = small_recipe(
        channels=64,
        n_mels=64,
        residual_units=2,
        codebook_size=4096,
        steps=250,
        batch_size=4,
        learning_rate=3e-3,
        warmup_steps=10,
        checkpoint_every=250,
        log_every=50,
    )
    fit_audio_codec(data, recipe, tmp_path / "codec")
    codec = load_codec(tmp_path / "codec")
    original = click_track(6.0)
    decoded = codec.decode(codec.encode(original, RATE))[: len(original)]
    clicks = np.arange(0.25, 6.0 - 0.05, 0.5)
    onsets = librosa.onset.onset_detect(y=decoded, sr=RATE, units="time")
    nearest = np.array([np.min(np.abs(onsets - click)) for click in clicks])
    assert np.mean(nearest <= 0.05) >= 0.8, nearest
    original_tempo, original_beats = librosa.beat.beat_track(y=original, sr=RATE, units="time")
    decoded_tempo, decoded_beats = librosa.beat.beat_track(y=decoded, sr=RATE, units="time")
    assert np.atleast_1d(decoded_tempo)[0] == pytest.approx(
        np.atleast_1d(original_tempo)[0], rel=0.05
    )
    offsets = np.array([np.min(np.abs(decoded_beats - beat)) for beat in original_beats])
    assert np.mean(offsets <= 0.05) >= 0.8, offsets


def tiny_encodec(directory: Path) -> Path:
    """A randomly initialised EnCodec with 2 codebooks of 64 at its lowest bandwidth (4 in
    all), 1,500 frames per second, saved like a downloaded model."""
    config = EncodecConfig(
        target_bandwidths=[18.0, 36.0],
        sampling_rate=RATE,
        hidden_size=16,
        num_filters=4,
        upsampling_ratios=[4, 4],
        num_lstm_layers=1,
        codebook_size=64,
    )
    torch.manual_seed(0)
    EncodecModel(config).save_pretrained(directory)
    EncodecFeatureExtractor(feature_size=1, sampling_rate=RATE).save_pretrained(directory)
    return directory


def test_transformers_codec_flattens_codebooks_into_one_stream(tmp_path: Path) -> None:
    directory = tiny_encodec(tmp_path / "encodec")
    codec = load_codec(directory, plugin="transformers")
    assert isinstance(codec, TransformersAudioCodec)
    assert (codec.quantizers, codec.codebook_size, codec.tokens_per_second) == (2, 128, 3000.0)
    waveform = click_track(0.5, 16_000)
    tokens = codec.encode(waveform, 16_000)
    frames = math.ceil(0.5 * RATE / 16)
    assert tokens.dtype == np.int64 and tokens.shape == (frames * 2,)
    assert tokens[0::2].max() < 64 and tokens[1::2].min() >= 64 and tokens.max() < 128
    np.testing.assert_array_equal(codec.encode(waveform, 16_000), tokens)
    decoded = codec.decode(tokens)
    assert decoded.dtype == np.float32 and decoded.shape == (frames * 16,)
    with pytest.raises(CodecError, match="multiple of 2"):
        codec.decode(tokens[:-1])
    with pytest.raises(CodecError, match="another codebook"):
        codec.decode(tokens[::-1].copy())

    codec.save(tmp_path / "saved")
    reloaded = load_codec(tmp_path / "saved")
    assert isinstance(reloaded, TransformersAudioCodec)
    assert reloaded.identity == codec.identity
    np.testing.assert_array_equal(reloaded.encode(waveform, 16_000), tokens)


def test_transformers_codec_bad_directories(tmp_path: Path) -> None:
    with pytest.raises(CodecError, match="codec directory not found"):
        TransformersAudioCodec.load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CodecError, match="no supported transformers codec") as error:
        load_codec(tmp_path / "empty", plugin="transformers")
    assert str(tmp_path / "empty") in str(error.value) and "\n" not in str(error.value)
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(CodecError, match="model_type 'bert'"):
        TransformersAudioCodec.load(tmp_path / "bert")
    (tmp_path / "noweights").mkdir()
    (tmp_path / "noweights" / "config.json").write_text('{"model_type": "encodec"}')
    with pytest.raises(CodecError, match="no model weights"):
        TransformersAudioCodec.load(tmp_path / "noweights")
    untrained_codec().save(tmp_path / "builtin")
    with pytest.raises(CodecError, match="holds a 'builtin' codec"):
        TransformersAudioCodec.load(tmp_path / "builtin")
