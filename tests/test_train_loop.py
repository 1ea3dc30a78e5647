"""The language-model loop: batching and labels, DeepSpeed ZeRO-3 training in one CPU process,
exact resume, Hugging Face export, --init, recipes and the multi-GPU launch command."""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from conftest import CodeRunningPayload
from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

from vermo_cli.checkpoints import CheckpointError, load_checkpoint
from vermo_cli.messages.training_examples import Example
from vermo_cli.recipes import RecipeError, load_recipe
from vermo_cli.train.batching import (
    IGNORE_INDEX,
    MicroBatchStream,
    bucketed_batches,
    collate,
    validation_batches,
)
from vermo_cli.train.checkpoint_engine import DEEPSPEED_CHECKPOINT_CLASSES
from vermo_cli.train.checkpoint_weights import checkpoint_model, zero3_state_dict
from vermo_cli.train.launch import LaunchError, relaunch_command, strip_launcher_flags
from vermo_cli.train.lm_recipe import LmTrainingConfig, LmTrainRecipe, load_lm_recipe
from vermo_cli.train.loop import (
    LanguageModelTrainer,
    TrainingError,
    counted_positions,
    deepspeed_config,
    summed_token_loss,
    train_language_model,
)
from vermo_cli.train.model import InitModelError, build_model

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
VOCAB = 64
PAD = 0


class PatternSource:
    """Rows of an arithmetic pattern over tokens 1..63; the first half of each row is masked
    (like a prompt), the second half counts (like a reply). Epochs are seeded by their index."""

    def __init__(self, examples_per_epoch: int = 64, seed: int = 0) -> None:
        self.examples_per_epoch = examples_per_epoch
        self.seed = seed

    def epoch(self, index: int) -> Sequence[Example]:
        return self._examples(np.random.default_rng([self.seed, index]), self.examples_per_epoch)

    def validation(self) -> Sequence[Example]:
        return self._examples(np.random.default_rng([self.seed, 10_000]), 12)

    @staticmethod
    def _examples(rng: np.random.Generator, count: int) -> list[Example]:
        examples = []
        for _ in range(count):
            length = int(rng.integers(8, 25))
            start, stride = int(rng.integers(0, 63)), int(rng.integers(1, 4))
            ids = tuple(1 + (start + stride * k) % 63 for k in range(length))
            mask = tuple(k >= length // 2 for k in range(length))
            examples.append(Example(ids, mask, "toy"))
        return examples


def toy_recipe(steps: int = 20, **training: Any) -> LmTrainRecipe:
    """A model and schedule small enough for a few seconds of CPU."""
    settings: dict[str, Any] = {
        "steps": steps,
        "micro_batch_size": 8,
        "gradient_accumulation": 2,
        "max_length": 20,
        "learning_rate": 1e-2,
        "warmup_steps": 2,
        "final_lr_fraction": 0.1,
        "validate_every": 5,
        "checkpoint_every": 5,
        "log_every": 5,
        "keep_checkpoints": 2,
        "deepspeed": "deepspeed/zero3-cpu.json",
    }
    settings.update(training)
    if "epochs" in training:
        settings.pop("steps")
    return LmTrainRecipe.model_validate(
        {
            "kind": "lm",
            "name": "toy",
            "stage": "sft",
            "seed": 3,
            "model": {
                "hidden_size": 32,
                "num_layers": 2,
                "num_heads": 4,
                "num_kv_heads": 2,
                "intermediate_size": 64,
                "max_position_embeddings": 64,
            },
            "training": settings,
        }
    )


class InterruptedRunError(Exception):
    """Raised from the progress callback to simulate a killed run."""


def test_labels_ignore_exactly_the_unmasked_and_padding_tokens() -> None:
    examples = PatternSource().epoch(0)[:6]
    batch = collate(examples, PAD, max_length=16)
    assert batch.input_ids.shape == batch.labels.shape == batch.attention_mask.shape
    assert batch.input_ids.shape[1] == min(16, max(len(example) for example in examples))
    for row, example in enumerate(examples):
        for position in range(batch.input_ids.shape[1]):
            real = position < min(len(example), 16)
            counted = real and example.loss_mask[position]
            assert bool(batch.attention_mask[row, position]) == real
            expected_id = example.input_ids[position] if real else PAD
            assert int(batch.input_ids[row, position]) == expected_id
            expected_label = example.input_ids[position] if counted else IGNORE_INDEX
            assert int(batch.labels[row, position]) == expected_label
    counted_targets = sum(sum(example.loss_mask[1:16]) for example in examples)
    assert batch.target_tokens == counted_targets


def test_bucketing_is_deterministic_covers_every_example_and_groups_lengths() -> None:
    rng = np.random.default_rng(0)
    lengths = [int(n) for n in rng.integers(1, 500, size=1000)]
    batches = bucketed_batches(lengths, micro_batch_size=8, seed=5)
    assert batches == bucketed_batches(lengths, micro_batch_size=8, seed=5)
    assert batches != bucketed_batches(lengths, micro_batch_size=8, seed=6)
    assert sorted(i for batch in batches for i in batch) == list(range(1000))
    spread = np.mean([max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches])
    assert spread < 60, "batches hold examples of similar length"


def test_stream_position_restores_the_same_batches_across_epochs() -> None:
    def stream(rank: int = 0, world_size: int = 1) -> MicroBatchStream:
        return MicroBatchStream(PatternSource(20), 1, 4, 20, PAD, rank, world_size)

    first = stream()
    for _ in range(4):
        first.next_step(2)
    assert first.epoch == 1, "20 examples = 5 micro batches of 4, so step 3 crosses an epoch"
    resumed = stream()
    resumed.restore(first.state())
    for expected, actual in zip(first.next_step(3), resumed.next_step(3), strict=True):
        assert torch.equal(expected.input_ids, actual.input_ids)
    shards = [stream(rank, 2).next_step(2) for rank in range(2)]
    whole = stream().next_step(4)
    assert all(
        torch.equal(a.input_ids, b.input_ids) for a, b in zip(whole[0::2], shards[0], strict=True)
    )
    assert all(
        torch.equal(a.input_ids, b.input_ids) for a, b in zip(whole[1::2], shards[1], strict=True)
    )


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A 20-step run; the trained engine's logits on a batch are kept for the export test."""
    output = tmp_path_factory.mktemp("uninterrupted")
    calls: list[tuple[int, int, float, float, float | None]] = []
    trainer = LanguageModelTrainer(PatternSource(), VOCAB, PAD, toy_recipe(), output)
    try:
        summary = trainer.train(lambda *values: calls.append(values))
        trainer.export()
        batch = collate(PatternSource().validation()[:4], PAD, 20)
        logits = trainer.logits(batch.input_ids, batch.attention_mask)
        validation_loss = trainer.validate()
    finally:
        trainer.close()
    return {
        "output": output,
        "summary": summary,
        "calls": calls,
        "batch": batch,
        "logits": logits,
        "validation_loss": validation_loss,
    }


@pytest.mark.slow
def test_training_lowers_the_loss_and_logs(uninterrupted: dict[str, Any]) -> None:
    summary, output = uninterrupted["summary"], uninterrupted["output"]
    losses = summary["train_losses"]
    assert summary["steps"] == len(losses) == 20
    assert np.mean(losses[-3:]) < np.mean(losses[:3]) - 1.0
    validation = summary["validation_losses"]
    assert [step for step, _ in validation] == [5, 10, 15, 20]
    assert validation[-1][1] < validation[0][1]
    calls = uninterrupted["calls"]
    assert [call[:2] for call in calls] == [(step, 20) for step in range(1, 21)]
    assert all(call[3] > 0 for call in calls) and calls[4][4] == validation[0][1]
    with (output / "logs" / "train.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["step"]) for row in rows] == list(range(1, 21))
    assert rows[9]["validation_loss"] and not rows[8]["validation_loss"]
    assert all(float(row["step_seconds"]) > 0 for row in rows)
    if not torch.cuda.is_available():
        assert not any(row["mfu"] or row["peak_memory_gib"] for row in rows), "no CPU peak"
    assert list((output / "logs").glob("events.out.tfevents.*"))
    tags = sorted(path.name for path in (output / "checkpoints").glob("step*"))
    assert tags == ["step15", "step20"], "only keep_checkpoints newest are kept"


@pytest.mark.slow
@pytest.mark.parametrize("checkpointing", [True, False])
def test_gradient_checkpointing_follows_the_recipe(checkpointing: bool, tmp_path: Path) -> None:
    recipe = toy_recipe(steps=2, gradient_checkpointing=checkpointing)
    trainer = LanguageModelTrainer(PatternSource(), VOCAB, PAD, recipe, tmp_path)
    try:
        module = trainer.engine.module
        switch = getattr(module, "is_activation_checkpointing", None)
        assert (module.is_gradient_checkpointing if switch is None else switch) is checkpointing
        trainer.train()
    finally:
        trainer.close()
    assert math.isfinite(trainer.train_losses[-1])


@pytest.mark.slow
def test_exported_weights_load_and_match_the_trained_engine(uninterrupted: dict[str, Any]) -> None:
    model_dir = uninterrupted["output"] / "model"
    assert (model_dir / "model.safetensors").is_file()
    model = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True).eval()
    batch = uninterrupted["batch"]
    with torch.no_grad():
        logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
    real = batch.attention_mask.bool()
    torch.testing.assert_close(logits[real], uninterrupted["logits"][real], atol=1e-5, rtol=1e-5)
    assert model.config.vocab_size == VOCAB and model.config.pad_token_id == PAD


def test_loss_from_the_counted_logits_alone_equals_the_loss_from_all_logits() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 6, 11, generator=generator)
    labels = torch.randint(0, 11, (3, 6), generator=generator)
    labels[0, :4] = IGNORE_INDEX  # a prompt
    labels[1] = IGNORE_INDEX  # nothing counts
    labels[2, 5] = IGNORE_INDEX  # padding
    keep = counted_positions(labels)
    assert keep[:, -1].sum() == 0 and keep.sum() == 2 + 0 + 4
    full, count = summed_token_loss(logits, labels)
    kept, kept_count = summed_token_loss(logits[keep], labels)
    expected = sum(
        -torch.log_softmax(logits[row, position], -1)[labels[row, position + 1]]
        for row in range(3)
        for position in range(5)
        if labels[row, position + 1] != IGNORE_INDEX
    )
    assert count == kept_count == 6
    torch.testing.assert_close(full, expected)
    torch.testing.assert_close(kept, expected)


@pytest.mark.slow
def test_validation_through_the_restricted_output_layer_matches_full_logits(
    uninterrupted: dict[str, Any],
) -> None:
    """The engine computes logits only where a reply token counts; the exported model's full
    logits give the same validation loss."""
    model = AutoModelForCausalLM.from_pretrained(
        uninterrupted["output"] / "model", local_files_only=True
    ).eval()
    total, targets = 0.0, 0
    for batch in validation_batches(PatternSource().validation(), 8, 20, PAD):
        with torch.no_grad():
            logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
        loss_sum, count = summed_token_loss(logits, batch.labels)
        total, targets = total + float(loss_sum), targets + count
    assert uninterrupted["validation_loss"] == pytest.approx(total / targets, rel=1e-5)


@pytest.mark.slow
def test_resume_after_an_interruption_repeats_the_uninterrupted_run(
    uninterrupted: dict[str, Any], tmp_path: Path
) -> None:
    def stop_after_checkpoint(step: int, *_: Any) -> None:
        if step == 12:
            raise InterruptedRunError

    with pytest.raises(InterruptedRunError):
        train_language_model(
            PatternSource(), VOCAB, PAD, toy_recipe(), tmp_path, None, False, stop_after_checkpoint
        )
    with pytest.raises(TrainingError, match="earlier run"):
        train_language_model(PatternSource(), VOCAB, PAD, toy_recipe(), tmp_path)
    with pytest.raises(TrainingError, match="recipe differs"):
        train_language_model(
            PatternSource(), VOCAB, PAD, toy_recipe(learning_rate=1e-3), tmp_path, resume=True
        )
    steps_run: list[int] = []
    resumed = train_language_model(
        PatternSource(),
        VOCAB,
        PAD,
        toy_recipe(),
        tmp_path,
        resume=True,
        progress=lambda step, *_: steps_run.append(step),
    )
    assert steps_run == list(range(11, 21)), "continues after the step-10 checkpoint"
    expected = uninterrupted["summary"]
    np.testing.assert_allclose(resumed["train_losses"], expected["train_losses"], rtol=0, atol=1e-6)
    assert [s for s, _ in resumed["validation_losses"]] == [5, 10, 15, 20]
    np.testing.assert_allclose(
        [v for _, v in resumed["validation_losses"]],
        [v for _, v in expected["validation_losses"]],
        rtol=0,
        atol=1e-6,
    )
    with (tmp_path / "logs" / "train.csv").open() as handle:
        assert [int(row["step"]) for row in csv.DictReader(handle)] == list(range(1, 21))
    finished = train_language_model(
        PatternSource(), VOCAB, PAD, toy_recipe(), tmp_path, resume=True
    )
    assert finished["train_losses"] == resumed["train_losses"], "a finished run has nothing to do"


def scripted_validation(monkeypatch: pytest.MonkeyPatch, losses: dict[int, float]) -> None:
    """Make `validate` return `losses[step]`, so that which step is best is known."""
    monkeypatch.setattr(LanguageModelTrainer, "validate", lambda self: losses[self.step])


def exported_weights(output: Path) -> dict[str, torch.Tensor]:
    return load_file(str(output / "model" / "model.safetensors"))


def assert_same_weights(model: dict[str, torch.Tensor], other: dict[str, torch.Tensor]) -> None:
    for name, tensor in model.items():
        torch.testing.assert_close(tensor, other[name], rtol=0, atol=0)


@pytest.mark.slow
def test_the_model_is_the_best_validation_step_and_any_checkpoint_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validation is best at step 5 of 10: `model/` holds step 5 (equal to the consolidated
    step-5 checkpoint), the summary and `vermo_model.json` say so; with `export: last` the
    model is step 10. Both checkpoints load as models."""
    scripted_validation(monkeypatch, {5: 2.0, 10: 3.0})
    summary = train_language_model(PatternSource(), VOCAB, PAD, toy_recipe(10), tmp_path / "best")
    assert summary["model_step"] == 5
    assert summary["best_validation"] == {"step": 5, "loss": 2.0}
    record = json.loads((tmp_path / "best" / "model" / "vermo_model.json").read_text())
    assert record == {"step": 5, "validation_loss": 2.0, "export": "best_validation"}
    step5, step10 = (tmp_path / "best" / "checkpoints" / f"step{n}" for n in (5, 10))
    assert_same_weights(exported_weights(tmp_path / "best"), zero3_state_dict(step5))
    assert not torch.equal(zero3_state_dict(step5)["model.norm.weight"],
                           zero3_state_dict(step10)["model.norm.weight"])  # fmt: skip

    last = train_language_model(
        PatternSource(), VOCAB, PAD, toy_recipe(10, export="last"), tmp_path / "last"
    )
    assert last["model_step"] == 10 and last["best_validation"]["step"] == 5
    assert_same_weights(exported_weights(tmp_path / "last"), zero3_state_dict(step10))
    model = checkpoint_model(step5).eval()
    batch = collate(PatternSource().validation()[:4], PAD, 20)
    exported = AutoModelForCausalLM.from_pretrained(tmp_path / "best" / "model").eval()
    with torch.no_grad():
        expected = exported(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
        logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
    torch.testing.assert_close(logits, expected.logits)


def write_zero3_checkpoint(folder: Path, weights: dict[str, torch.Tensor], ranks: int) -> None:
    """Lay `weights` out as a `ranks`-rank ZeRO-3 checkpoint: each parameter padded to a
    multiple of `ranks` and split evenly, each rank's pieces concatenated into two optimizer
    sub-groups (DeepSpeed forms them of whole parameters)."""
    folder.mkdir(parents=True)
    shapes = {name: tensor.shape for name, tensor in weights.items()}
    pieces: list[list[torch.Tensor]] = [[] for _ in range(ranks)]
    for tensor in weights.values():
        flat = tensor.flatten()
        padded = torch.cat([flat, flat.new_zeros(-len(flat) % ranks)])
        for rank, piece in enumerate(padded.chunk(ranks)):
            pieces[rank].append(piece)
    model_states = {"module": {}, "buffer_names": [], "param_shapes": [shapes],
                    "shared_params": {"lm_head.weight": "embed.weight"}}  # fmt: skip
    torch.save(model_states, folder / "zero_pp_rank_0_mp_rank_00_model_states.pt")
    for rank in range(ranks):
        groups = [torch.cat(pieces[rank][:1]), torch.cat(pieces[rank][1:])]
        optimizer = {"zero_stage": 3, "partition_count": ranks, "fp32_flat_groups": groups}
        path = folder / f"bf16_zero_pp_rank_{rank}_mp_rank_00_optim_states.pt"
        torch.save({"optimizer_state_dict": optimizer}, path)


@pytest.mark.parametrize("ranks", [1, 2, 3, 8])
def test_zero3_weights_are_consolidated_from_any_number_of_ranks(
    tmp_path: Path, ranks: int
) -> None:
    generator = torch.Generator().manual_seed(ranks)
    weights = {
        "embed.weight": torch.randn(7, 5, generator=generator),
        "norm.weight": torch.randn(3, generator=generator),
        "proj.weight": torch.randn(4, 11, generator=generator),
    }
    write_zero3_checkpoint(tmp_path / "step3", weights, ranks)
    state = zero3_state_dict(tmp_path / "step3")
    assert set(state) == {*weights, "lm_head.weight"}
    for name, tensor in weights.items():
        torch.testing.assert_close(state[name], tensor, rtol=0, atol=0)
    assert state["lm_head.weight"] is state["embed.weight"]
    # DeepSpeed's own reader (which unpickles anything: used only on the files this test wrote)
    # reads the laid-out checkpoint the same way
    reference = get_fp32_state_dict_from_zero_checkpoint(str(tmp_path), "step3")
    assert set(reference) == set(state)
    for name, tensor in reference.items():
        torch.testing.assert_close(state[name], tensor, rtol=0, atol=0)
    (tmp_path / "step3" / "bf16_zero_pp_rank_0_mp_rank_00_optim_states.pt").unlink()
    if ranks > 1:
        with pytest.raises(CheckpointError, match="but the weights were split over"):
            zero3_state_dict(tmp_path / "step3")


@pytest.mark.slow
def test_resume_keeps_the_best_validation_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Best at step 5, interrupted at 7, resumed to 10 (worse): the model stays step 5, with the
    files `model_files` writes (the vocabulary, in a stage)."""
    scripted_validation(monkeypatch, {5: 2.0, 10: 3.0})

    def stop(step: int, *_: Any) -> None:
        if step == 7:
            raise InterruptedRunError

    def extra_files(directory: Path) -> None:
        (directory / "extra.txt").write_text("vocabulary")

    with pytest.raises(InterruptedRunError):
        train_language_model(PatternSource(), VOCAB, PAD, toy_recipe(10), tmp_path, None,
                             False, stop, extra_files)  # fmt: skip
    step5 = zero3_state_dict(tmp_path / "checkpoints" / "step5")
    assert_same_weights(exported_weights(tmp_path), step5)
    resumed = train_language_model(
        PatternSource(), VOCAB, PAD, toy_recipe(10), tmp_path, resume=True,
        model_files=extra_files,
    )  # fmt: skip
    assert resumed["model_step"] == 5 and resumed["best_validation"] == {"step": 5, "loss": 2.0}
    assert_same_weights(exported_weights(tmp_path), step5)
    assert (tmp_path / "model" / "extra.txt").read_text() == "vocabulary"


@pytest.mark.slow
def test_a_resumed_run_whose_model_is_not_the_best_step_exports_the_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When `model/` does not hold the best step (here removed, as in a run started before
    best-validation exports), the last step is exported and recorded as such."""
    scripted_validation(monkeypatch, {5: 2.0, 10: 3.0})

    def stop(step: int, *_: Any) -> None:
        if step == 7:
            raise InterruptedRunError

    with pytest.raises(InterruptedRunError):
        train_language_model(PatternSource(), VOCAB, PAD, toy_recipe(10), tmp_path, progress=stop)
    shutil.rmtree(tmp_path / "model")
    resumed = train_language_model(
        PatternSource(), VOCAB, PAD, toy_recipe(10), tmp_path, resume=True
    )
    assert resumed["model_step"] == 10 and resumed["best_validation"]["step"] == 5
    record = json.loads((tmp_path / "model" / "vermo_model.json").read_text())
    assert record == {"step": 10, "validation_loss": 3.0, "export": "last"}
    step10 = zero3_state_dict(tmp_path / "checkpoints" / "step10")
    assert_same_weights(exported_weights(tmp_path), step10)


@pytest.mark.slow
def test_a_checkpoint_from_before_the_export_setting_resumes(tmp_path: Path) -> None:
    """A recipe stored without `training.export` is the same recipe with its default."""
    train_language_model(PatternSource(), VOCAB, PAD, toy_recipe(steps=5), tmp_path)
    path = tmp_path / "checkpoints" / "step5" / "zero_pp_rank_0_mp_rank_00_model_states.pt"
    state = load_checkpoint(path, "cpu", DEEPSPEED_CHECKPOINT_CLASSES)
    del state["vermo"]["recipe"]["training"]["export"]
    torch.save(state, path)
    resumed = train_language_model(
        PatternSource(), VOCAB, PAD, toy_recipe(steps=5), tmp_path, resume=True
    )
    assert resumed["steps"] == 5 and resumed["model_step"] == 5


@pytest.mark.slow
def test_resume_reads_no_code_from_crafted_checkpoint_files(tmp_path: Path) -> None:
    """DeepSpeed's files are read by `RestrictedCheckpointEngine`: one whose unpickling would run
    code is refused naming the file, and the code never runs; `latest` must name a step folder."""
    train_language_model(PatternSource(), VOCAB, PAD, toy_recipe(steps=5), tmp_path)
    marker = tmp_path / "marker"
    tag = tmp_path / "checkpoints" / "step5"
    for name, via in (("model_states", "os.system"), ("optim_states", "builtins.exec")):
        state_file = tag / f"zero_pp_rank_0_mp_rank_00_{name}.pt"
        original = state_file.read_bytes()
        torch.save({"optimizer_state_dict": CodeRunningPayload(marker, via)}, state_file)
        with pytest.raises(CheckpointError, match="may hold only tensors and plain data") as error:
            train_language_model(
                PatternSource(), VOCAB, PAD, toy_recipe(steps=5), tmp_path, resume=True
            )
        assert str(error.value).startswith(f"{state_file}: not loaded: it names ")
        assert not marker.exists()
        state_file.write_bytes(original)
    (tmp_path / "checkpoints" / "latest").write_text("../../elsewhere")
    with pytest.raises(TrainingError, match=r"names '\.\./\.\./elsewhere', which is no"):
        train_language_model(
            PatternSource(), VOCAB, PAD, toy_recipe(steps=5), tmp_path, resume=True
        )
    (tmp_path / "checkpoints" / "latest").write_text("step5")
    resumed = train_language_model(
        PatternSource(), VOCAB, PAD, toy_recipe(steps=5), tmp_path, resume=True
    )
    assert resumed["steps"] == 5, "the restored files resume as before"


@pytest.mark.slow
def test_init_from_a_local_causal_lm_resizes_its_embeddings(tmp_path: Path) -> None:
    torch.manual_seed(0)
    small = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=48,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=4,
            num_key_value_heads=4,
            max_position_embeddings=64,
        )
    )
    small.save_pretrained(tmp_path / "init")
    recipe = toy_recipe(epochs=0.25)
    model = build_model(recipe.model, VOCAB, PAD, tmp_path / "init")
    assert model.get_input_embeddings().weight.shape == (VOCAB, 32)
    assert model.config.num_hidden_layers == 1, "the --init model's shape wins over the recipe's"
    torch.testing.assert_close(
        model.get_input_embeddings().weight[:48], small.get_input_embeddings().weight
    )
    summary = train_language_model(
        PatternSource(), VOCAB, PAD, recipe, tmp_path / "run", tmp_path / "init"
    )
    assert summary["steps"] == 1, "64 examples = 8 micro batches; a quarter epoch = 1 step of 2"
    exported = AutoModelForCausalLM.from_pretrained(tmp_path / "run" / "model")
    assert exported.get_input_embeddings().weight.shape == (VOCAB, 32)


def test_init_that_is_not_a_causal_lm_is_a_clear_error(tmp_path: Path) -> None:
    shape = toy_recipe().model
    with pytest.raises(InitModelError, match="no such directory"):
        build_model(shape, VOCAB, PAD, tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InitModelError, match=r"no config\.json"):
        build_model(shape, VOCAB, PAD, tmp_path / "empty")
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "config.json").write_text('{"model_type": "no-such-model"}')
    with pytest.raises(InitModelError, match="not a loadable causal LM") as error:
        build_model(shape, VOCAB, PAD, tmp_path / "odd")
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"stage": "finetune"}, "stage"),
        ({"model": {"hidden_size": 30, "num_heads": 4}}, "model"),
        ({"training": {"micro_batch_size": 0}}, "training.micro_batch_size"),
        ({"training": {"epochs": 3}}, "exactly one of steps and epochs"),
        ({"optimizer": "sgd"}, "optimizer"),
    ],
)
def test_bad_lm_recipes_are_one_line_errors(
    tmp_path: Path, change: dict[str, Any], problem: str
) -> None:
    content = yaml.safe_load((RECIPES / "vermo-tiny-sft.yaml").read_text())
    for key, value in change.items():
        content[key] = {**content[key], **value} if isinstance(value, dict) else value
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(content))
    with pytest.raises(RecipeError) as error:
        load_lm_recipe(path)
    assert str(path) in str(error.value) and problem in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("path", sorted(RECIPES.glob("vermo-*.yaml")), ids=lambda p: p.name)
def test_shipped_lm_recipes_validate_and_their_deepspeed_config_builds(path: Path) -> None:
    recipe = load_recipe(path)
    assert isinstance(recipe, LmTrainRecipe)
    assert recipe.stage == path.stem.rsplit("-", 1)[1]
    config = deepspeed_config(recipe.training, use_bf16=False)
    assert config["zero_optimization"]["stage"] == 3
    assert config["train_micro_batch_size_per_gpu"] == recipe.training.micro_batch_size
    if "-1b-" in path.name:
        shape = recipe.model
        assert (shape.num_layers, shape.hidden_size, shape.num_heads, shape.head_dim) == (
            16,
            2048,
            32,
            64,
        )
        assert (shape.num_kv_heads, shape.intermediate_size, shape.rope_theta) == (8, 8192, 5e5)
        assert shape.rope_scaling is not None and shape.rope_scaling.factor == 32
        assert deepspeed_config(recipe.training, use_bf16=True)["bf16"]["enabled"] is True


def test_deepspeed_values_the_recipe_owns_cannot_disagree(tmp_path: Path) -> None:
    config = tmp_path / "ds.json"
    config.write_text('{"zero_optimization": {"stage": 3}, "train_micro_batch_size_per_gpu": 4}')
    training = LmTrainingConfig.model_validate(
        {**toy_recipe().training.model_dump(), "deepspeed": str(config)}
    )
    with pytest.raises(TrainingError, match="train_micro_batch_size_per_gpu is set by the recipe"):
        deepspeed_config(training, use_bf16=False)
    for key, setting in (
        ("checkpoint", {"load_universal": True}),
        ("checkpoint", {"writer": {"type": "fast"}}),
        ("datastates_ckpt", {}),
    ):
        config.write_text(json.dumps({"zero_optimization": {"stage": 3}, key: setting}))
        with pytest.raises(TrainingError, match="its own checkpoint engine"):
            deepspeed_config(training, use_bf16=False)
    missing = training.model_copy(update={"deepspeed": "deepspeed/none.json"})
    with pytest.raises(TrainingError, match=r"training\.deepspeed"):
        deepspeed_config(missing, use_bf16=False)


def test_relaunch_command_hands_the_rest_of_the_command_line_to_deepspeed(tmp_path: Path) -> None:
    hostfile = tmp_path / "hostfile"
    hostfile.write_text("node1 slots=8\nnode2 slots=8\n")
    argv = [
        "pretrain",
        "--gpus",
        "8",
        "--recipe",
        "r.yaml",
        f"--hostfile={hostfile}",
        "--nodes",
        "2",
    ]
    assert strip_launcher_flags(argv) == ["pretrain", "--recipe", "r.yaml"]
    command = relaunch_command(argv, gpus=8, nodes=2, hostfile=hostfile)
    assert Path(command[0]).name == "deepspeed"
    assert command[1:] == [
        "--num_gpus",
        "8",
        "--num_nodes",
        "2",
        "--hostfile",
        str(hostfile),
        "--no_local_rank",
        "--module",
        "vermo_cli.cli",
        "pretrain",
        "--recipe",
        "r.yaml",
    ]
    assert relaunch_command(["sft"], gpus=2, nodes=None, hostfile=None)[1:4] == [
        "--num_gpus",
        "2",
        "--no_local_rank",
    ]
    with pytest.raises(LaunchError, match="--hostfile"):
        relaunch_command(["sft"], gpus=None, nodes=2, hostfile=None)


def test_a_one_process_cpu_group_does_not_compile_shared_memory_collectives() -> None:
    """The shared-memory all-reduce extension (a ~45 s compile) is for several processes."""
    script = (
        "from vermo_cli.train.launch import init_distributed\n"
        "init_distributed()\n"
        "from deepspeed.comm import comm\n"
        "import torch.distributed as dist\n"
        "print(comm.cdb.shm_comm_op is None, dist.get_world_size(), dist.get_backend())\n"
    )
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
    }
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environment, check=True
    )
    assert done.stdout.split()[-3:] == ["True", "1", "gloo"]


def test_importing_the_training_code_keeps_deepspeeds_cpu_notice_out_of_the_output() -> None:
    """Every language-model command imported DeepSpeed, which warned on every CPU run that it
    was "Setting accelerator to CPU"; its other warnings still show."""
    script = (
        "import logging\n"
        "import vermo_cli.train.loop\n"
        "logging.getLogger('DeepSpeed').warning('another DeepSpeed warning')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    printed = done.stdout + done.stderr
    assert "Setting accelerator to CPU" not in printed
    assert "another DeepSpeed warning" in printed
