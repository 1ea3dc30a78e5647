"""`vermo generate` for every task with a briefly trained tiny model: outputs open and honour
the request (duration, headcount, lengths), and mistakes are one-line errors."""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from conftest import CodeRunningPayload, cli_error, run_cli
from safetensors.torch import load_file, save_file
from vermo_plugins.sources.bvh import load_bvh_as_smplh

from vermo_cli.data.store import open_corpus
from vermo_cli.generate.prompt import PromptInputs
from vermo_cli.generate.session import GenerationModel, SamplingOptions
from vermo_cli.generate.stitching import seam_gap
from vermo_cli.motion.npz import load_motion_npz, save_motion_npz
from vermo_cli.tokenizers.flowvq.tokenizer import FlowVQTokenizer, tokenizer_identity

pytestmark = pytest.mark.slow


invoke = run_cli
one_line_error = cli_error


@pytest.fixture(scope="module")
def model(token_workspace: Path, trained_runs: Path) -> Path:
    """The tiny model after pretrain and sft, and input files next to it."""
    root, runs = token_workspace, trained_runs
    corpus = open_corpus(root / "corpus")
    clips = corpus.clips.with_format("numpy", columns=["motion", "joint_mask", "headcount"])
    kinds = [(audio or {}).get("kind") for audio in corpus.clips["audio"]]
    single = next(i for i, row in enumerate(clips) if row["headcount"] == 1)
    pair = next(i for i, row in enumerate(clips) if row["headcount"] == 2)
    for name, index in (("walk", single), ("pair", pair)):
        row = clips[index]
        save_motion_npz(runs / f"{name}.npz", row["motion"][:, :90], row["joint_mask"])
    for kind in ("music", "speech"):
        audio = corpus.clips[kinds.index(kind)]["audio"]
        waveform, rate = soundfile.read(corpus.audio_path(audio["path"]))
        first = int(audio["offset"] * rate)
        soundfile.write(runs / f"{kind}.wav", waveform[first : first + 3 * rate], rate)
    return runs


def generate(model: Path, task: str, *args: object) -> Path:
    output = model / "out" / task
    sft = ("--checkpoint", model / "sft")
    invoke("generate", task, *args, *sft, "-o", output, "--seed", "1", "--overwrite")
    return output


def motion_of(stem: Path) -> np.ndarray:
    content = load_motion_npz(stem.with_suffix(".npz"))
    assert {"joints", "fps", "mask", "task", "prompt", "tokens"} <= set(content)
    assert float(content["fps"]) == 30.0 and content["mask"].shape == (52,)
    assert np.isfinite(content["joints"]).all()
    return content["joints"]


def test_text_to_motion_honours_duration_and_headcount(model: Path) -> None:
    stem = generate(model, "t2m", "a person waves", "--duration", "2", "--bvh")
    joints = motion_of(stem)
    assert joints.shape == (1, 60, 52, 3)  # 2 s = 15 codes x 4 frames
    content = load_motion_npz(stem.with_suffix(".npz"))
    assert str(content["task"]) == "t2m" and str(content["prompt"]) == "a person waves"
    reimported = load_bvh_as_smplh(stem.with_suffix(".bvh"))
    assert np.abs(reimported.joints - joints[0]).max() < 1e-3
    stem = generate(model, "mt2m", "two people shake hands", "--headcount", "2", "--duration", "1")
    assert motion_of(stem).shape[:2] == (2, 32)  # ceil(7.5) = 8 codes
    stem = generate(model, "n2tm", "--num-samples", "3", "--batch-size", "2")
    for index in (1, 2, 3):
        sample = stem.with_name(f"n2tm_{index}")
        assert motion_of(sample).shape[0] == 1
        assert json.loads(sample.with_suffix(".json").read_text())["caption"].strip()


def test_motion_to_text_from_npz_and_bvh(model: Path, tmp_path: Path) -> None:
    output = invoke(
        "generate", "m2t", "--motion", model / "walk.npz", "--checkpoint", model / "sft",
        "-o", tmp_path / "caption",
    )  # fmt: skip
    caption = json.loads((tmp_path / "caption.json").read_text())["caption"]

    def visible(text: str) -> str:  # the terminal wraps lines and drops control characters
        return "".join(ch for ch in text if ch.isprintable() and not ch.isspace())

    assert caption.strip() and visible(caption) in visible(output)
    stem = generate(model, "mm2t", "--motion", model / "pair.npz")
    assert json.loads(stem.with_suffix(".json").read_text())["caption"].strip()
    walk = load_motion_npz(model / "walk.npz")["joints"]
    from vermo_cli.motion.bvh_export import write_joints_bvh

    write_joints_bvh(tmp_path / "walk.bvh", walk[0], 30.0)
    generate(model, "m2t", "--motion", tmp_path / "walk.bvh")


def test_audio_tasks(model: Path) -> None:
    stem = generate(model, "m2d", "--music", model / "music.wav", "--genre", "pop")
    joints = motion_of(stem)
    assert joints.shape[1] == math.ceil(3 * 7.5) * 4  # as long as the 3 s of music
    assert "audio" in load_motion_npz(stem.with_suffix(".npz"))  # the music, for rendering
    stem = generate(model, "s2g", "--speech", model / "speech.wav")
    assert motion_of(stem).shape[1] == math.ceil(3 * 7.5) * 4
    stem = generate(model, "d2m", "--motion", model / "walk.npz")
    waveform, rate = soundfile.read(stem.with_suffix(".wav"))
    assert rate == 24_000 and len(waveform) == round(3.0 * 40) * 600  # 90 frames = 3 s
    stem = generate(model, "g2s", "--motion", model / "walk.npz")
    assert len(soundfile.read(stem.with_suffix(".wav"))[0]) == 120 * 600
    stem = generate(model, "n2dm", "--duration", "2")
    audio, _ = soundfile.read(stem.with_suffix(".wav"))
    assert len(audio) == 80 * 600 and motion_of(stem).shape[1] == 60
    stem = generate(model, "n2sg", "--duration", "1")
    assert len(soundfile.read(stem.with_suffix(".wav"))[0]) == 40 * 600
    assert motion_of(stem).shape[1] == 32
    stem = generate(model, "mn2tm", "--headcount", "2")
    assert motion_of(stem).shape[0] == 2


def test_prediction_and_inbetweening_keep_the_protocol_lengths(model: Path) -> None:
    walk = load_motion_npz(model / "walk.npz")["joints"]
    stem = generate(model, "pred", "--past", model / "walk.npz")
    # 90 frames given = 23 codes (the last partly padded); 60 % made -> 1.5 x 23 = 34 codes.
    predicted = motion_of(stem)
    assert predicted.shape[1] == (23 + 34) * 4
    np.testing.assert_allclose(predicted[:, :90], walk, atol=1e-6)  # the given past, kept
    given = ("--past", model / "walk.npz", "--future", model / "walk.npz")
    stem = generate(model, "btwn", *given)
    # The future's 23 codes start at code 23 + 69; its 90 given frames end the motion.
    between = motion_of(stem)
    assert between.shape[1] == (23 + 69) * 4 + 90
    np.testing.assert_allclose(between[:, :90], walk, atol=1e-6)
    np.testing.assert_allclose(between[:, -90:], walk, atol=1e-6)
    stem = generate(model, "btwn", *given, "--no-keep-given")
    decoded = motion_of(stem)
    assert decoded.shape[1] == (23 + 69 + 23) * 4
    assert not np.allclose(decoded[:, :90], walk, atol=1e-3)


def test_candidates_keep_the_reply_that_meets_the_given_motion_best(model: Path) -> None:
    session = GenerationModel.load(model / "sft")
    given = PromptInputs(past=model / "walk.npz", future=model / "walk.npz")
    task, prompt = session.prepare("btwn", given)
    options = SamplingOptions(num_samples=4, seed=3, keep_given=False)
    (every,) = session.generate_many([(task, prompt)], options)
    gaps = []
    for sample in every.samples:
        start = sample.joints.shape[1] - prompt.after.shape[1] * session.compression
        gaps.append(seam_gap(sample.joints, prompt.given_before, prompt.given_after, start))
    assert len(set(gaps)) > 1, "the four replies should differ"
    best = every.samples[int(np.argmin(gaps))]
    for keep_given in (False, True):
        chosen = replace(options, num_samples=1, candidates=4, keep_given=keep_given)
        (result,) = session.generate_many([(task, prompt)], chosen)
        (sample,) = result.samples
        assert sample.reply_ids == best.reply_ids
    walk = load_motion_npz(model / "walk.npz")["joints"]
    np.testing.assert_allclose(sample.joints[:, :90], walk, atol=1e-6)  # the given past, kept
    # Tasks without given motion sample once per sample, whatever `candidates` says.
    task, prompt = session.prepare("t2m", PromptInputs(caption="a person waves", duration=1.0))
    (result,) = session.generate_many([(task, prompt)], replace(options, candidates=3))
    assert len(result.samples) == 4


def test_generation_mistakes_are_one_line_errors(model: Path, tmp_path: Path) -> None:
    sft = ("--checkpoint", model / "sft")
    assert "t2m needs a caption" in one_line_error("generate", "t2m", *sft)
    assert "does not take --music" in one_line_error(
        "generate", "t2m", "hi", "--music", model / "music.wav", *sft
    )
    assert "takes 1 person(s), not 2" in one_line_error(
        "generate", "m2t", "--motion", model / "pair.npz", *sft
    )
    assert "motion file not found" in one_line_error(
        "generate", "m2t", "--motion", tmp_path / "none.npz", *sft
    )
    assert "unknown task 'dance'" in one_line_error("generate", "dance", *sft)
    assert "--candidates applies to tasks given motion to meet (pred, btwn), not t2m" in (
        one_line_error("generate", "t2m", "hi", "--candidates", "2", *sft)
    )
    assert "checkpoint not found" in one_line_error(
        "generate", "t2m", "hi", "--checkpoint", tmp_path / "nothing"
    )
    assert "no finished model" in one_line_error("generate", "t2m", "hi", "--checkpoint", tmp_path)


def test_a_run_is_read_from_safetensors_and_its_tokenizer_from_its_weights(
    model: Path, token_workspace: Path, tmp_path: Path
) -> None:
    """A pickled weights file in a run is never unpickled; a tokenizer whose weights were
    swapped (and whose tokenizer.json was edited to match) is not the one the model was built
    for."""
    tokenizer = FlowVQTokenizer.load(token_workspace / "tokenizer")
    swapped = tmp_path / "tokenizer"
    shutil.copytree(
        token_workspace / "tokenizer", swapped, ignore=shutil.ignore_patterns("checkpoints")
    )
    weights = load_file(str(swapped / "stage1.safetensors"))
    first = next(iter(weights))
    save_file({**weights, first: weights[first] + 0.01}, str(swapped / "stage1.safetensors"))
    info = json.loads((swapped / "tokenizer.json").read_text())
    info["identity"] = tokenizer_identity(
        swapped / "stage1.safetensors", tokenizer.normalizer, tokenizer.recipe
    )
    (swapped / "tokenizer.json").write_text(json.dumps(info))
    message = one_line_error(
        "generate", "t2m", "hi", "--checkpoint", model / "sft", "--tokenizer", swapped
    )
    assert f"built for FlowVQ tokenizer {tokenizer.identity}, but given {info['identity']}" in (
        message
    )
    run = tmp_path / "run"
    shutil.copytree(model / "sft", run, ignore=shutil.ignore_patterns("checkpoints", "logs"))
    (run / "model" / "model.safetensors").unlink()
    marker = tmp_path / "marker"
    torch.save({"weight": CodeRunningPayload(marker)}, run / "model" / "pytorch_model.bin")
    message = one_line_error("generate", "t2m", "hi", "--checkpoint", run)
    assert message.startswith(f"error: {run / 'model'}: no loadable safetensors weights")
    assert not marker.exists()


def test_an_intermediate_training_checkpoint_generates(model: Path, tmp_path: Path) -> None:
    """`--checkpoint RUN/checkpoints/step<N>` consolidates that step's ZeRO-3 weights: the step
    the run exported loads the same model as the run, another step another one."""
    run = model / "pre"
    record = json.loads((run / "vermo_run.json").read_text())
    assert record["best_validation"]["step"] == record["model_step"]
    kept = sorted(path.name for path in (run / "checkpoints").glob("step*"))
    assert kept == ["step2", "step4"]
    exported = GenerationModel.load(run)
    assert exported.step == record["model_step"]
    same = GenerationModel.load(run / "checkpoints" / f"step{record['model_step']}")
    other = GenerationModel.load(run / "checkpoints" / f"step{6 - record['model_step']}")
    assert same.step == record["model_step"] and same.directory.parent.name == "checkpoints"
    weights = dict(exported.model.named_parameters())
    for name, parameter in same.model.named_parameters():
        torch.testing.assert_close(parameter, weights[name], rtol=0, atol=0)
    assert not torch.equal(other.model.model.norm.weight, exported.model.model.norm.weight)
    step2 = run / "checkpoints" / "step2"
    printed = invoke("generate", "t2m", "a person waves", "--duration", "1", "--checkpoint",
                     step2, "-o", tmp_path / "wave")  # fmt: skip
    assert f"wrote {tmp_path / 'wave.npz'}" in " ".join(printed.split())
    missing = one_line_error("generate", "t2m", "a person waves", "--checkpoint",
                             run / "checkpoints" / "step9", "-o", tmp_path / "none")  # fmt: skip
    assert missing.endswith(f"step9: no such checkpoint; {run / 'checkpoints'} holds step2, step4")
