"""Benchmark prompts and batched generation: evaluation asks what training taught, replies of
pred/btwn have the ground truth's length, and prompts of different lengths batch correctly."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from vermo_cli.evaluate.systems import baseline_outputs, reply_frames
from vermo_cli.generate.prompt import benchmark_prompt
from vermo_cli.generate.session import GenerationModel, SamplingOptions
from vermo_cli.messages.builder import build_message, can_use, split_steps
from vermo_cli.messages.message import prompt_ids
from vermo_cli.messages.tasks import get_task
from vermo_cli.messages.training_examples import read_clips

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model(trained_runs: Path) -> GenerationModel:
    return GenerationModel.load(trained_runs / "pre")


@pytest.mark.parametrize("name", ["t2m", "mt2m", "m2t", "m2d", "d2m", "s2g", "pred", "btwn"])
def test_benchmark_prompt_is_the_evaluation_message(
    name: str, token_workspace: Path, model: GenerationModel
) -> None:
    task = get_task(name)
    clips, _ = read_clips(token_workspace / "tokens")
    clip = next(c for c in clips if can_use(task, c))
    prompt = benchmark_prompt(task, clip, model)
    expected = build_message(task, clip, "eval", random.Random(5))
    assert prompt.message.conditions == expected.conditions
    assert prompt.message.instruction == task.instructions[0] and prompt.message.reply == ()
    assert prompt_ids(prompt.message, model.vocabulary)  # encodes
    motion_rules = [rule for rule in prompt.rules if rule.kind == "motion"]
    if name in ("pred", "btwn"):
        past, future = split_steps(task, clip.steps, "eval", random.Random(0))
        assert motion_rules[0].steps == clip.steps - past - future
        assert prompt.before is not None and prompt.before.shape[1] == past
        assert (prompt.after is not None) == (name == "btwn")
    if name == "d2m":
        audio_rule = next(rule for rule in prompt.rules if rule.kind == "audio")
        assert audio_rule.steps == round(clip.frames / 30 * model.tokens_per_second)


def test_prompts_of_different_lengths_batch_like_single_ones(
    token_workspace: Path, model: GenerationModel
) -> None:
    clips, _ = read_clips(token_workspace / "tokens")
    m2t, t2m = get_task("m2t"), get_task("t2m")
    long = benchmark_prompt(m2t, next(c for c in clips if can_use(m2t, c)), model)
    short = benchmark_prompt(t2m, next(c for c in clips if can_use(t2m, c)), model)
    assert len(prompt_ids(long.message, model.vocabulary)) > len(
        prompt_ids(short.message, model.vocabulary)
    )
    greedy = SamplingOptions(temperature=0.0, decoder="vqvae", batch_size=4)
    together = model.generate_many([(m2t, long), (t2m, short)], greedy)
    alone = [model.generate(m2t, long, greedy), model.generate(t2m, short, greedy)]
    for batched, single in zip(together, alone, strict=True):
        assert batched.samples[0].reply_ids == single.samples[0].reply_ids


def test_completion_baselines(token_workspace: Path) -> None:
    from vermo_cli.evaluate.clips import load_benchmark_data

    for name, label in (("btwn", "linear interpolation"), ("pred", "zero velocity")):
        task = get_task(name)
        data = load_benchmark_data(token_workspace / "tokens", task, "train", limit=3)
        baseline = baseline_outputs(task, data.clips, data.training_captions)
        assert baseline is not None and baseline.name == label
        for clip, motion in zip(data.clips, baseline.motions, strict=True):
            assert motion is not None
            first, last = reply_frames(task, clip)
            assert 0 < first < last <= clip.joints.shape[1]
            np.testing.assert_array_equal(motion[:, :first], clip.joints[:, :first])
            np.testing.assert_array_equal(motion[:, last:], clip.joints[:, last:])
            if name == "btwn":  # halfway between the last given and the next given pose
                middle = (first - 1 + last) / 2
                if middle.is_integer():
                    halfway = (clip.joints[:, first - 1] + clip.joints[:, last]) / 2
                    np.testing.assert_allclose(motion[:, int(middle)], halfway, atol=1e-5)
            else:
                np.testing.assert_array_equal(motion[:, -1], clip.joints[:, first - 1])
    m2t = get_task("m2t")
    data = load_benchmark_data(token_workspace / "tokens", m2t, "train", limit=3)
    baseline = baseline_outputs(m2t, data.clips, data.training_captions)
    assert baseline is not None and len(set(baseline.captions)) == 1
